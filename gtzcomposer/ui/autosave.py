"""Autosave to a recovery file on a timer, for recovery after a crash.

While the song has unsaved changes, :class:`Autosaver` writes it every ``interval_s`` seconds to
``recovery-<pid>.gtzc`` in the app's data folder (with a small ``.json`` record beside it naming
the file the song came from). A clean save, New/Open and a normal quit remove both files, so a
recovery file whose process is gone means that process crashed; the main window offers to
restore it at the next start. The records and their validation live in
:mod:`gtzcomposer.io.recovery` (no Qt there); this module only adds the timer.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..core import GtzError, Song
from ..io.recovery import (
    PREFIX,
    Recovery,
    RecoveryError,
    discard_recovery,
    find_recoveries,
    load_recovery,
    remove_own,
    scan_recoveries,
    set_aside,
    song_name,
    write_recovery,
)
from .document import SongDocument

__all__ = ["PREFIX", "Autosaver", "Recovery", "RecoveryError", "discard_recovery", "find_recoveries",
           "load_recovery", "scan_recoveries", "set_aside"]


class Autosaver(QObject):
    """Writes the document to a recovery file on a timer while it has unsaved changes."""

    saved = Signal(object)  # Path of the recovery file
    failed = Signal(str)

    def __init__(self, document: SongDocument, directory: str | Path, interval_s: float = 60,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._doc = document
        self._dir = Path(directory)
        self._base = self._dir / song_name(os.getpid())
        self._written: Path | None = None
        self._saved_song: Song | None = None
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.save_now)
        self.set_interval(interval_s)
        document.undo_stack.cleanChanged.connect(self._on_clean_changed)

    @property
    def directory(self) -> Path:
        """The folder recovery files are written to (and looked for)."""
        return self._dir

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
            path = write_recovery(self._dir, song, self._doc.path)
        except (OSError, GtzError) as exc:
            self.failed.emit(f"Autosave failed: {exc}")
            return None
        self._written, self._saved_song = path, song
        self.saved.emit(path)
        return path

    def discard(self) -> None:
        """Remove this process's recovery files (after a clean save, New/Open, a normal quit)."""
        remove_own(self._dir)
        self._written = self._saved_song = None

    def _on_clean_changed(self, clean: bool) -> None:
        if clean:
            self.discard()
