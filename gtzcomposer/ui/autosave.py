"""Autosave to a recovery file, and recovery after a crash.

While the song has unsaved changes, :class:`Autosaver` writes it every ``interval_s`` seconds to
``recovery-<pid>.gtzc`` in the app's data folder (with a small ``.json`` beside it naming the
file the song came from). A clean save, New/Open and a normal quit remove both files, so a
recovery file whose process is gone means that process crashed: :func:`find_recoveries` lists
those, and the main window offers to restore them at the next start.
"""

from __future__ import annotations

import json
import os
import pickle
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..core import GtzError, Song
from .document import SongDocument

PREFIX = "recovery-"


class RecoveryError(GtzError):
    pass


@dataclass(frozen=True)
class Recovery:
    """A recovery file left by a process that is gone."""

    path: Path
    original: Path | None  # the file the song was opened from / saved to, if any
    saved_at: float  # time.time() of the autosave
    pid: int

    @property
    def meta_path(self) -> Path:
        return self.path.with_suffix(".json")


# --- the file format -------------------------------------------------------------------------
# The .gtzc project format when it is part of the build (readable, validated); a pickle of the
# immutable Song otherwise (a private file that only this app writes and reads back).
def _write_song(song: Song, path: Path) -> Path:
    try:
        from ..io.project import Project, save_project
    except ImportError:
        path = path.with_suffix(".pickle")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(pickle.dumps(song, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)
        return path
    save_project(Project(song=song), path)  # atomic
    return path


def _read_song(path: Path) -> Song:
    if path.suffix == ".pickle":
        try:
            song = pickle.loads(path.read_bytes())
        except Exception as exc:  # noqa: BLE001 - any damage means: cannot recover this one
            raise RecoveryError(f"the recovery file {path.name} is damaged ({exc})") from exc
        if not isinstance(song, Song):
            raise RecoveryError(f"the recovery file {path.name} holds no song")
        return song
    from ..io.project import load_project

    return load_project(path).song


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


def find_recoveries(directory: str | Path) -> list[Recovery]:
    """Recovery files in ``directory`` left by processes that no longer run, newest first."""
    directory = Path(directory)
    out = []
    if not directory.is_dir():
        return out
    for meta in directory.glob(f"{PREFIX}*.json"):
        try:
            info = json.loads(meta.read_text(encoding="utf-8"))
            pid = int(info["pid"])
            song_file = directory / str(info["file"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if _pid_alive(pid) or not song_file.is_file():
            continue
        original = info.get("original")
        out.append(Recovery(song_file, Path(original) if original else None, float(info.get("saved_at", 0)), pid))
    out.sort(key=lambda r: r.saved_at, reverse=True)
    return out


def load_recovery(recovery: Recovery) -> Song:
    return _read_song(recovery.path)


def discard_recovery(recovery: Recovery) -> None:
    for p in (recovery.path, recovery.meta_path):
        try:
            p.unlink()
        except FileNotFoundError:
            pass


class Autosaver(QObject):
    """Writes the document to a recovery file on a timer while it has unsaved changes."""

    saved = Signal(object)  # Path of the recovery file
    failed = Signal(str)

    def __init__(self, document: SongDocument, directory: str | Path, interval_s: float = 60,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._dir = Path(directory)
        self._base = self._dir / f"{PREFIX}{os.getpid()}.gtzc"
        self._written: Path | None = None
        self._saved_song: Song | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.save_now)
        self.set_interval(interval_s)
        document.undo_stack.cleanChanged.connect(self._on_clean_changed)

    @property
    def recovery_path(self) -> Path | None:
        """The recovery file written last (None when there is none)."""
        return self._written

    @property
    def interval_s(self) -> float:
        return self._timer.interval() / 1000

    def set_interval(self, seconds: float) -> None:
        self._timer.setInterval(max(1, int(seconds * 1000)))

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def is_active(self) -> bool:
        return self._timer.isActive()

    def save_now(self) -> Path | None:
        """Write the recovery file if the song has changes not yet autosaved."""
        if not self._doc.modified:
            self.discard()
            return None
        song = self._doc.song
        if self._written is not None and song is self._saved_song:
            return self._written
        try:
            self._dir.mkdir(parents=True, exist_ok=True)
            path = _write_song(song, self._base)
            meta = {
                "pid": os.getpid(),
                "file": path.name,
                "original": str(self._doc.path) if self._doc.path else None,
                "saved_at": time.time(),
                "title": song.title,
            }
            tmp = self._base.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(meta), encoding="utf-8")
            os.replace(tmp, self._base.with_suffix(".json"))
        except (OSError, GtzError) as exc:
            self.failed.emit(f"Autosave failed: {exc}")
            return None
        self._written, self._saved_song = path, song
        self.saved.emit(path)
        return path

    def discard(self) -> None:
        """Remove this process's recovery files (after a clean save, New/Open, a normal quit)."""
        for p in (self._base, self._base.with_suffix(".pickle"), self._base.with_suffix(".json")):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                pass
        self._written = self._saved_song = None

    def _on_clean_changed(self, clean: bool) -> None:
        if clean:
            self.discard()
