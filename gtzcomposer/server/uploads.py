"""Receiving a file: the raw request body with its content type (parameters in the query string)
or ``multipart/form-data`` (field ``file``, parameters as fields), written to a private
temporary folder that is removed, whatever happens, when the request is done.

Errors name the client's file the way the command line names a file given as ``NAME`` in the
current folder: the loaders' sentences are reused and the temporary folder is cut out of them.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

AUDIO_TYPES = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/flac": ".flac", "audio/x-flac": ".flac",
    "audio/ogg": ".ogg", "audio/vorbis": ".ogg", "application/ogg": ".ogg",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3",
}
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3")
SONG_TYPES = {
    "audio/midi": ".mid", "audio/x-midi": ".mid", "audio/mid": ".mid", "application/x-midi": ".mid",
    "application/vnd.recordare.musicxml+xml": ".musicxml", "application/vnd.recordare.musicxml": ".mxl",
    "application/xml": ".musicxml", "text/xml": ".musicxml",
}
SONG_EXTENSIONS = (".mid", ".midi", ".musicxml", ".xml", ".mxl")
MULTIPART = "multipart/form-data"
CHUNK = 64 * 1024


class UploadError(Exception):
    """A request whose file cannot be taken: ``status`` (400, 413, 415) and a sentence."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Upload:
    path: Path  # the file in the temporary folder
    name: str  # the client's file name (made safe), or "upload.<ext>"
    params: Mapping[str, str]  # query string, overridden by form fields
    folder: Path

    def clean(self, message: str) -> str:
        """``message`` with the temporary folder cut out (so it names just the file)."""
        return clean_message(message, self.folder)


def clean_message(message: str, folder) -> str:
    folder = str(folder)
    return message.replace(folder + os.sep, "").replace(folder, ".")


def safe_name(filename: str | None, ext: str) -> str:
    """A file name fit for the temporary folder and for messages: the last path part of what the
    client sent, odd characters replaced, ending in ``ext`` when its own extension is unknown."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")[:100]
    if not base:
        return "upload" + ext
    if Path(base).suffix.lower() != ext:
        base += ext
    return base


def _filename_from_disposition(value: str | None) -> str | None:
    if not value:
        return None
    m = re.search(r'filename="?([^";]+)"?', value)
    return m.group(1) if m else None


def type_list(types: Mapping[str, str]) -> str:
    return ", ".join(sorted(types))


@contextlib.contextmanager
def received(request, types: Mapping[str, str], extensions: tuple[str, ...], max_bytes: int,
             what: str, query: Mapping[str, str] | None = None) -> Iterator[Upload]:
    """The request's file in a temporary folder (removed on exit) as an :class:`Upload`.

    ``types`` maps accepted content types to the extension the loader expects; ``extensions``
    are the file name endings accepted in a multipart upload; ``query`` (default: the query
    string) gives the parameters, which form fields override. Raises :class:`UploadError`."""
    query = request.args.to_dict() if query is None else dict(query)
    mimetype = request.mimetype
    if mimetype != MULTIPART and mimetype not in types:
        shown = f"'{mimetype}'" if mimetype else "no content type"
        raise UploadError(415, f"{what} cannot be sent as {shown}; send the file with one of the content types "
                               f"{type_list(types)}, or as {MULTIPART} with the field 'file'")
    folder = Path(tempfile.mkdtemp(prefix="gtzcomposer-upload-"))
    try:
        if mimetype == MULTIPART:
            part = request.files.get("file")  # werkzeug enforces MAX_CONTENT_LENGTH while parsing
            if part is None:
                raise UploadError(400, f"the {MULTIPART} request has no field 'file'")
            ext = Path(part.filename or "").suffix.lower()
            if ext not in extensions:
                ext = types.get(part.mimetype)
            if ext is None:
                raise UploadError(415, f"'{part.filename or 'the file'}' is not {what} this endpoint takes; "
                                       f"name it with one of {', '.join(extensions)} or give its part one of the "
                                       f"content types {type_list(types)}")
            name = safe_name(part.filename, ext)
            path = folder / name
            part.save(path)
            part.close()
            if path.stat().st_size > max_bytes:  # the form's own limit leaves room for its boundaries
                raise UploadError(413, too_large(max_bytes))
            params = {**query, **request.form.to_dict()}
        else:
            ext = types[mimetype]
            name = safe_name(_filename_from_disposition(request.headers.get("Content-Disposition")), ext)
            path = folder / name
            size = 0
            with open(path, "wb") as out:
                while True:
                    chunk = request.stream.read(CHUNK)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > max_bytes:
                        drain(request.environ, max_bytes)
                        raise UploadError(413, too_large(max_bytes))
                    out.write(chunk)
            params = query
        yield Upload(path, name, params, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def drain(environ, max_bytes: int) -> None:
    """Read and drop up to ``max_bytes`` more of a request body that was refused, so that the
    client's connection stays usable for its next request (gunicorn announces keep-alive but drops
    a connection whose body was left unread); a larger rest is left to the server, which closes."""
    stream = environ.get("wsgi.input")
    left = max_bytes
    try:
        while stream is not None and left > 0:
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
    except (OSError, ValueError):  # the client went away: nothing to keep usable
        pass


def too_large(max_bytes: int) -> str:
    return f"the upload is larger than this server's limit of {format_bytes(max_bytes)}"


def format_bytes(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):g} MB"
    if n >= 1024:
        return f"{n / 1024:g} KB"
    return f"{n} bytes"
