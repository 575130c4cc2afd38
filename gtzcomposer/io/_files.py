"""File plumbing shared by the format modules: bounded reads with human errors, atomic writes,
and a guess at what a file really is when it is not what its name says."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
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
            size = path.stat().st_size
            if path.is_dir():
                raise error(f"{name}: is a folder, not a {kind} file")
            if size > limit:
                raise error(f"{too_big} ({size / MB:.1f} MB)")
            with open(path, "rb") as fh:
                data = fh.read(limit + 1)
        except FileNotFoundError:
            raise error(f"{name}: no such file ({path})") from None
        except PermissionError:
            raise error(f"{name}: permission denied") from None
        except OSError as exc:
            raise error(f"{name}: could not be read ({exc.strerror or exc})") from None
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


def atomic_write(path: str | os.PathLike, write: Callable[[IO[bytes]], None], error: type[Exception]) -> None:
    """Write a file so that a crash part-way never leaves a broken or half-written ``path``.

    ``write(fh)`` fills a temporary file in the same folder; it is flushed and fsynced, then
    renamed over ``path`` (``os.replace``, atomic on POSIX and Windows) and the folder is fsynced so
    the rename itself survives a power cut. On any failure the temporary file is removed, the old
    file is untouched, and OSErrors become ``error`` with a sentence that names the file.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise error(f"{path.name}: cannot write in {folder} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
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
            raise error(f"{path.name}: could not be saved ({exc.strerror or exc}); the previous file is unchanged") from exc
        raise
    _fsync_folder(folder)


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
