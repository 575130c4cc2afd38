"""Import Keras without the parts gtzcomposer never uses at run time.

``import keras`` (3.x) imports its whole public API, including ``keras.wrappers`` (scikit-learn
estimator wrappers), which does ``try: import sklearn except ImportError: ...`` — and importing
scikit-learn (with the parts of SciPy it pulls in) costs ~0.7 s of a ~3 s cold start.  No
run-time code of gtzcomposer uses Keras' scikit-learn wrappers, so :func:`import_keras` makes
``import sklearn`` fail *only while Keras is being imported* (Keras then leaves its wrappers
without scikit-learn, exactly as when scikit-learn is not installed) and removes the block
straight after, so a later ``import sklearn`` (training code, tests) works normally.  When Keras
or scikit-learn is already imported, it changes nothing.

TensorFlow's C++ side also prints start-up notices on the process's stderr while it loads
("oneDNN custom operations are on", which CPU instructions it could use, absl's "All log messages
before absl::InitializeLog()"), which ``TF_CPP_MIN_LOG_LEVEL`` does not silence. They say
nothing to a user of ``gtzcomposer genre``, so the import runs with file descriptor 2 sent to a
temporary file; afterwards those notices are dropped and every other line is written to stderr
as it came (and everything is, if the import fails).

Use ``keras = import_keras()`` (inside a function: this module itself imports nothing heavy).
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading

_lock = threading.Lock()

# TensorFlow's start-up notices (C++ logging, written straight to file descriptor 2).
_NOTICES = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\s+\d+ (port|cpu_feature_guard)\.cc:\d+\] .*"
    r"|To enable the following instructions: .*, in other operations, rebuild TensorFlow .*"
    r"|.*oneDNN custom operations are on.*)$"
)


def drop_notices(text: str) -> str:
    """``text`` without TensorFlow's start-up notices (the lines :data:`_NOTICES` matches)."""
    return "".join(line for line in text.splitlines(keepends=True) if not _NOTICES.match(line.rstrip("\n")))


@contextlib.contextmanager
def _quiet_startup():
    """Send file descriptor 2 to a temporary file for the block; then write back what was not
    a start-up notice (everything, if the block raised)."""
    fd = 2  # where C++ code writes, whatever sys.stderr is
    try:
        os.fstat(fd)
    except OSError:  # no stderr at all (pythonw)
        yield
        return
    with tempfile.TemporaryFile() as sink:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        saved = os.dup(fd)
        os.dup2(sink.fileno(), fd)
        failed = True
        try:
            yield
            failed = False
        finally:
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            rest = text if failed else drop_notices(text)
            if rest:
                os.write(fd, rest.encode("utf-8"))


def import_keras():
    """``import keras``, skipping its optional scikit-learn import; returns the module."""
    if "keras" in sys.modules:
        import keras

        return keras
    with _lock:
        block = "sklearn" not in sys.modules
        if block:
            sys.modules["sklearn"] = None  # makes `import sklearn` raise ImportError
        try:
            with _quiet_startup():
                import keras
        finally:
            if block and sys.modules.get("sklearn", 0) is None:
                del sys.modules["sklearn"]
    return keras
