"""Recovery records: the autosaved song of a session that may crash, and finding them again.

A running app writes its unsaved song to ``recovery-<pid>.gtzc`` in its data folder, with a
small record ``recovery-<pid>.json`` beside it (``pid``, ``file``, ``original``, ``saved_at``,
``title``). A normal end removes both, so a record whose process is gone means that process
crashed, and the next start offers the song back.

Everything in the folder is treated as untrusted input (another program, a damaged disk or a
hostile user may have written it):

- only files named as the app names them are ever opened, moved or deleted: the song file is
  always ``recovery-<pid>.gtzc`` beside its record, whatever the record's ``file`` field says (a
  field naming anything else, such as ``../my_song.mid`` or an absolute path, makes the record
  invalid); links, folders and FIFOs are never followed;
- every field is validated (pid a whole number 1..2^22 equal to the one in the name, ``saved_at``
  a finite time, ``original`` text or null); a bad record is skipped and reported, and never hides
  the good ones;
- a record or song file that is damaged is moved aside into ``damaged/`` with a note saying why
  (:func:`set_aside`), so it is reported once, not at every start.

No Qt here: the window's Autosaver (``ui/autosave.py``) and its recovery dialog call these.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..core import GtzError, Song
from ._files import atomic_write

log = logging.getLogger(__name__)

PREFIX = "recovery-"
DAMAGED_FOLDER = "damaged"
MAX_RECORD_BYTES = 64 * 1024
MAX_PID = 2**22  # Linux's pid_max ceiling; other systems stay far below it
MAX_ORIGINAL = 4096
_LATEST_TIME = 4_102_444_800.0  # 2100-01-01: later "saved_at" values are nonsense
_RECORD_NAME = re.compile(r"recovery-([1-9][0-9]{0,6})\.json")


class RecoveryError(GtzError):
    """A recovery record or file that cannot be used."""


@dataclass(frozen=True)
class Recovery:
    """A recovery file left by a process that is gone."""

    path: Path  # always <folder>/recovery-<pid>.gtzc
    original: Path | None  # the file the song was opened from / saved to, if any
    saved_at: float  # time.time() of the autosave
    pid: int
    title: str = field(default="", compare=False)

    @property
    def meta_path(self) -> Path:
        return self.path.with_suffix(".json")


@dataclass(frozen=True)
class Scan:
    """What :func:`scan_recoveries` found: usable recoveries (newest first) and sentences about the
    records that were skipped (each also moved aside, so it is reported once)."""

    recoveries: list[Recovery]
    problems: list[str]


def song_name(pid: int) -> str:
    return f"{PREFIX}{pid}.gtzc"


def record_name(pid: int) -> str:
    return f"{PREFIX}{pid}.json"


def _check_pid(pid: object) -> int:
    if type(pid) is not int or not 1 <= pid <= MAX_PID:
        raise RecoveryError(f"the process id {_show(pid)} is not a whole number 1..{MAX_PID}")
    return pid


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _regular(path: Path) -> os.stat_result | None:
    """lstat of ``path`` when it is a plain file (not a link, folder, FIFO...); None when missing."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        raise RecoveryError(f"{path.name} is not a plain file")
    return info


def _read_record(path: Path) -> dict:
    info = _regular(path)
    if info is None:
        raise FileNotFoundError(path)
    if info.st_size > MAX_RECORD_BYTES:
        raise RecoveryError(f"the record is {info.st_size:,} bytes, far more than a recovery record holds")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as fh:
        raw = fh.read(MAX_RECORD_BYTES + 1)
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise RecoveryError(f"the record is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise RecoveryError("the record is not a JSON object")
    return data


def parse_record(directory: Path, meta: Path, data: dict) -> Recovery:
    """The :class:`Recovery` a record describes; raises :class:`RecoveryError` for any bad field."""
    match = _RECORD_NAME.fullmatch(meta.name)
    if match is None:
        raise RecoveryError(f"{meta.name} is not named as the app names recovery records")
    pid = _check_pid(data.get("pid"))
    if pid != int(match.group(1)):
        raise RecoveryError(f"the record names process {pid}, its file name process {match.group(1)}")
    expected = song_name(pid)
    if data.get("file", expected) != expected:
        raise RecoveryError(f"the record points at {_show(data.get('file'))}, not at {expected} beside it")
    saved_at = data.get("saved_at")
    if type(saved_at) not in (int, float) or not math.isfinite(saved_at) or not 0 <= saved_at <= _LATEST_TIME:
        raise RecoveryError(f"the save time {_show(saved_at)} is not a time")
    original = data.get("original")
    if original is not None:
        if not isinstance(original, str) or not original or len(original) > MAX_ORIGINAL or "\x00" in original:
            raise RecoveryError(f"the original file name {_show(original)} is not a file name")
        original = Path(original)
    title = data.get("title")
    title = title[:200] if isinstance(title, str) else ""
    return Recovery(directory / expected, original, float(saved_at), pid, title)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id runs (this process counts as alive)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OSError, OverflowError, ValueError):
        return False
    return True


def scan_recoveries(directory: str | os.PathLike) -> Scan:
    """Recoveries in ``directory`` left by processes that no longer run (newest first), and the
    bad records found (moved aside, each with a sentence)."""
    directory = Path(directory)
    found: list[Recovery] = []
    problems: list[str] = []
    try:
        entries = sorted(os.scandir(directory), key=lambda e: e.name)
    except OSError:
        return Scan(found, problems)
    for entry in entries:
        if not (entry.name.startswith(PREFIX) and entry.name.endswith(".json")):
            continue
        meta = directory / entry.name
        try:
            rec = parse_record(directory, meta, _read_record(meta))
        except FileNotFoundError:
            continue  # removed meanwhile (its session ended)
        except (RecoveryError, OSError) as exc:
            reason = str(exc) if isinstance(exc, RecoveryError) else (exc.strerror or str(exc))
            problems.append(f"{entry.name}: skipped a bad recovery record ({reason})")
            _move_aside(directory, [meta], reason)
            continue
        if pid_alive(rec.pid):
            continue
        try:
            if _regular(rec.path) is None:
                continue  # the record of a session that had nothing to save yet
        except RecoveryError as exc:
            problems.append(f"{entry.name}: skipped ({exc})")
            _move_aside(directory, [meta], str(exc))
            continue
        found.append(rec)
    for text in problems:
        log.warning("%s", text)
    found.sort(key=lambda r: r.saved_at, reverse=True)
    return Scan(found, problems)


def find_recoveries(directory: str | os.PathLike) -> list[Recovery]:
    """Recovery files in ``directory`` left by processes that no longer run, newest first."""
    return scan_recoveries(directory).recoveries


def _own_paths(recovery: Recovery) -> tuple[Path, Path]:
    """The two files of ``recovery``, checked to be named as the app names them."""
    pid = _check_pid(recovery.pid)
    path = Path(recovery.path)
    if path.name != song_name(pid):
        raise RecoveryError(f"{path.name} is not a recovery file of this app")
    return path, path.with_name(record_name(pid))


def load_recovery(recovery: Recovery) -> Song:
    """The song of a recovery. A damaged file is moved aside (see :func:`set_aside`) and raises
    :class:`RecoveryError` saying where it went, so it is offered only once."""
    from .project import load_project

    path, _meta = _own_paths(recovery)
    try:
        if _regular(path) is None:
            raise RecoveryError(f"the recovery file {path.name} is gone")
        return load_project(path).song
    except GtzError as exc:
        where = set_aside(recovery, str(exc))
        moved = f"; it was moved to {where}" if where else ""
        raise RecoveryError(f"the recovery file {path.name} is damaged ({exc}){moved}") from None


def discard_recovery(recovery: Recovery) -> None:
    """Delete the recovery's two files (and nothing else: only names the app gives them)."""
    for p in _own_paths(recovery):
        try:
            if _regular(p) is not None:
                p.unlink()
        except RecoveryError:  # a link or folder under our name: remove the name only
            if os.path.islink(p):
                p.unlink()
        except FileNotFoundError:
            pass


def set_aside(recovery: Recovery, reason: str) -> Path | None:
    """Move a recovery's files into ``damaged/`` with a note; returns that folder (None if the
    move failed: then the files are deleted, so that they are not offered again)."""
    paths = _own_paths(recovery)
    return _move_aside(paths[0].parent, list(paths), reason)


def _move_aside(directory: Path, paths: list[Path], reason: str) -> Path | None:
    aside = directory / DAMAGED_FOLDER
    stamp = time.strftime("%Y%m%d-%H%M%S")
    try:
        aside.mkdir(exist_ok=True)
        if aside.is_symlink() or not aside.is_dir():
            raise OSError("the damaged/ folder is not a folder")
        for p in paths:
            if os.path.lexists(p):
                os.replace(p, aside / f"{stamp}-{p.name}")
        note = aside / f"{stamp}-{paths[0].stem}.txt"
        note.write_text(f"Moved here by gtzcomposer on {time.ctime()} because it could not be used:\n{reason}\n",
                        encoding="utf-8")
        return aside
    except OSError:
        for p in paths:
            try:
                if os.path.lexists(p) and not os.path.isdir(p):
                    os.unlink(p)
            except OSError:
                pass
        return None


def write_recovery(directory: str | os.PathLike, song: Song, original: str | os.PathLike | None,
                   pid: int | None = None) -> Path:
    """Autosave ``song`` for process ``pid`` (this one by default): the song file first, then its
    record, each written atomically. Returns the song file."""
    from .project import Project, save_project

    directory = Path(directory)
    pid = _check_pid(os.getpid() if pid is None else pid)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / song_name(pid)
    save_project(Project(song=song), path)
    meta = {
        "pid": pid,
        "file": path.name,
        "original": str(original) if original else None,
        "saved_at": time.time(),
        "title": song.title,
    }
    data = json.dumps(meta).encode("utf-8")
    atomic_write(directory / record_name(pid), lambda fh: fh.write(data), RecoveryError)
    return path


def remove_own(directory: str | os.PathLike, pid: int | None = None) -> None:
    """Remove process ``pid``'s (this one's) recovery files, if any."""
    directory = Path(directory)
    pid = _check_pid(os.getpid() if pid is None else pid)
    for name in (song_name(pid), record_name(pid)):
        try:
            (directory / name).unlink()
        except OSError:
            pass
