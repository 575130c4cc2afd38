"""File plumbing shared by the format modules: bounded reads with human errors, atomic writes,
and a guess at what a file really is when it is not what its name says."""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Union

Source = Union[str, os.PathLike, bytes, bytearray, memoryview, IO[bytes]]  # noqa: UP007 - a runtime alias on 3.10

MB = 1024 * 1024

# The process umask, read once at import (reading it means setting it, which is not thread-safe).
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def display_name(source) -> str:
    """A short name for messages: the file name, or what kind of object was given."""
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name or str(source)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<data>"
    name = getattr(source, "name", None)
    if isinstance(name, (str, os.PathLike)):
        return Path(name).name or str(name)
    return "<stream>"


def read_limited(source: Source, limit: int, error: type[Exception], kind: str) -> tuple[str, bytes]:
    """Return ``(name, data)`` read from a path, bytes or a binary file object.

    Files larger than ``limit`` bytes are refused before reading them; a missing or unreadable
    file, or an object that is none of the above, raises ``error`` with a sentence that names it.
    """
    name = display_name(source)
    too_big = f"{name}: the file is larger than {limit // MB} MB, the most a {kind} file may be here"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            info = path.stat()
            size = info.st_size
            if stat.S_ISDIR(info.st_mode):
                raise error(f"{name}: is a folder, not a {kind} file")
            if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
                raise error(f"{name}: is {_special_kind(info.st_mode)}, not a regular {kind} file")
            if size > limit:
                raise error(f"{too_big} ({size / MB:.1f} MB)")
            with open(path, "rb") as fh:
                if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):  # swapped since the stat
                    raise error(f"{name}: is not a regular {kind} file")
                data = fh.read(limit + 1)
        except OSError as exc:
            raise _unreadable(exc, name, path, error) from None
    elif isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif hasattr(source, "read"):
        try:
            data = source.read(limit + 1)
        except OSError as exc:
            raise error(f"{name}: could not be read ({exc})") from None
        if isinstance(data, str):
            raise error(f"{name}: the stream is open in text mode; open it in binary mode ('rb')")
        if not isinstance(data, (bytes, bytearray)):
            raise error(f"{name}: the stream returned {type(data).__name__}, not bytes")
        data = bytes(data)
    else:
        raise error(f"cannot read a {kind} file from a {type(source).__name__}; give a path, bytes or a binary file")
    if len(data) > limit:
        raise error(too_big)
    return name, data


def _unreadable(exc: OSError, name: str, path, error: type[Exception]) -> Exception:
    """The one sentence for a file that could not be opened or examined."""
    if isinstance(exc, FileNotFoundError):
        return error(f"{name}: no such file ({path})")
    if isinstance(exc, PermissionError):
        return error(f"{name}: permission denied")
    return error(f"{name}: could not be read ({exc.strerror or exc})")


def _special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def check_regular_file(path: str | os.PathLike, error: type[Exception], kind: str) -> os.stat_result:
    """``stat`` of ``path`` when it is a regular file (symbolic links followed); otherwise raise
    ``error`` with a sentence: missing, a folder, a FIFO or device (which would block a reader or
    never end), a link loop, unreadable."""
    path = Path(path)
    name = path.name or str(path)
    try:
        info = path.stat()
    except OSError as exc:
        raise _unreadable(exc, name, path, error) from None
    if stat.S_ISDIR(info.st_mode):
        raise error(f"{name}: is a folder, not a {kind} file")
    if not stat.S_ISREG(info.st_mode):
        raise error(f"{name}: is {_special_kind(info.st_mode)}, not a regular {kind} file")
    return info


def sniff(data: bytes) -> str | None:
    """What the bytes look like, in words, or None when unknown."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data.startswith(b"MThd") or (data.startswith(b"RIFF") and data[8:12] == b"RMID"):
        return "a MIDI file"
    if data.startswith(b"PK\x03\x04"):
        return "a ZIP archive (such as a compressed .mxl MusicXML file)"
    if head.startswith(b"<"):
        if b"score-partwise" in data[:4096] or b"score-timewise" in data[:4096]:
            return "a MusicXML file"
        return "an XML or HTML document"
    if head.startswith(b"{"):
        if b"gtzcomposer-project" in data[:4096]:
            return "a gtzcomposer project (.gtzc)"
        return "a JSON document"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "a WAV audio file"
    if data.startswith((b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2")):
        return "an MP3 audio file"
    if data.startswith(b"fLaC"):
        return "a FLAC audio file"
    if data.startswith(b"OggS"):
        return "an Ogg audio file"
    if data.startswith(b"%PDF"):
        return "a PDF document"
    return None


STALE_TEMP_SECONDS = 15 * 60
"""A temporary file of an atomic write untouched this long was left by a save that was killed
(a write in progress touches its file all the time); the next save of the same file removes it."""


def _temp_pattern(name: str) -> re.Pattern:
    # tempfile.mkstemp(prefix=".NAME.", suffix=".tmp") adds 8 characters of [a-z0-9_]
    return re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}" + re.escape(".tmp"))


def remove_stale_temps(path: str | os.PathLike, older_than: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Remove the temporary files ``.NAME.xxxxxxxx.tmp`` that killed saves of ``path`` left beside
    it, when they are older than ``older_than`` seconds. Returns what was removed."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    pattern = _temp_pattern(path.name)
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and now - info.st_mtime >= older_than:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, error: type[Exception]) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write the new file to (by name, e.g. through a
    library that writes files itself); when the block ends without an error, the file is fsynced
    and renamed over ``path`` (``os.replace``, atomic on POSIX and Windows) and the folder is
    fsynced so the rename itself survives a power cut. On any failure the temporary file is
    removed, the old file is untouched, and OSErrors become ``error`` with a sentence that names
    the file. Stale temporary files of killed earlier saves of ``path`` are removed first."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    remove_stale_temps(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise error(f"{path.name}: cannot write in {folder} ({exc.strerror or exc})") from None
    os.close(fd)
    try:
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        with contextlib.suppress(OSError):  # keep the permissions of the file we replace
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        if not path.exists():  # a new file gets the usual permissions, not mkstemp's 0600
            with contextlib.suppress(OSError):
                os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise error(f"{path.name}: could not be saved ({_why(exc)}); the previous file is unchanged") from exc
        raise
    _fsync_folder(folder)


def _why(exc: OSError) -> str:
    import errno

    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full" if exc.errno != errno.EFBIG else "the file is larger than this disk or system allows"
    return exc.strerror or str(exc)


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None], error: type[Exception]) -> None:
    """Write a file so that a crash part-way never leaves a broken or half-written ``path``.

    ``write(fh)`` fills a temporary file in the same folder (see :func:`atomic_path`: flushed,
    fsynced, renamed over ``path``; on failure the old file is untouched and the temporary file
    removed; OSErrors become ``error`` with a sentence that names the file)."""
    with atomic_path(path, error) as tmp, os.fdopen(os.open(tmp, os.O_WRONLY | os.O_TRUNC), "wb") as fh:
        write(fh)
        fh.flush()


def _fsync_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
