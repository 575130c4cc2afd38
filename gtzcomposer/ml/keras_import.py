"""Import Keras without the parts gtzcomposer never uses at run time.

``import keras`` (3.x) imports its whole public API, including ``keras.wrappers`` (scikit-learn
estimator wrappers), which does ``try: import sklearn except ImportError: ...`` — and importing
scikit-learn (with the parts of SciPy it pulls in) costs ~0.7 s of a ~3 s cold start.  No
run-time code of gtzcomposer uses Keras' scikit-learn wrappers, so :func:`import_keras` makes
``import sklearn`` fail *only while Keras is being imported* (Keras then leaves its wrappers
without scikit-learn, exactly as when scikit-learn is not installed) and removes the block
straight after, so a later ``import sklearn`` (training code, tests) works normally.  When Keras
or scikit-learn is already imported, it changes nothing.

Use ``keras = import_keras()`` (inside a function: this module itself imports nothing heavy).
"""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()


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
            import keras
        finally:
            if block and sys.modules.get("sklearn", 0) is None:
                del sys.modules["sklearn"]
    return keras
