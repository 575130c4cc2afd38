"""The open song: the one place that holds it, applies edits and keeps the undo stack.

Views and tools never mutate the song: they build a :mod:`gtzcomposer.core.edits` edit and call
:meth:`SongDocument.push`. One generic QUndoCommand wraps every edit; commands pushed with the same
``merge_key`` one after another (a drag, a velocity stroke) merge into one undo step.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from ..core import Edit, Macro, Song, apply


class EditCommand(QUndoCommand):
    _merge_ids: dict[str, int] = {}

    def __init__(self, doc: SongDocument, edit: Edit, merge_key: str | None = None) -> None:
        super().__init__(edit.label)
        self._doc = doc
        self._edit = edit
        self._after, self._inverse = apply(doc.song, edit)  # raises before anything is pushed
        self._merge_key = merge_key
        self._first = True

    def id(self) -> int:  # noqa: A003 - Qt's name
        if self._merge_key is None:
            return -1
        return self._merge_ids.setdefault(self._merge_key, len(self._merge_ids) + 1)

    def redo(self) -> None:
        if self._first:
            self._first = False
            self._doc._set(self._after)
        else:
            song, self._inverse = apply(self._doc.song, self._edit)
            self._doc._set(song)

    def undo(self) -> None:
        song, _ = apply(self._doc.song, self._inverse)
        self._doc._set(song)

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 - Qt's name
        if not isinstance(other, EditCommand) or other.id() != self.id() or self.id() == -1:
            return False
        self._edit = Macro((self._edit, other._edit), self.text())
        self._inverse = Macro((other._inverse, self._inverse), self.text())
        return True


class SongDocument(QObject):
    """The song being edited, its file, its undo stack and the current track."""

    songChanged = Signal(object)  # the new Song
    currentTrackChanged = Signal(int)
    pathChanged = Signal(object)  # Path | None

    def __init__(self, song: Song | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._song = song or Song()
        self._current_track = 0
        self._path: Path | None = None
        self.undo_stack = QUndoStack(self)

    # --- state ---------------------------------------------------------------------------
    @property
    def song(self) -> Song:
        return self._song

    @property
    def path(self) -> Path | None:
        return self._path

    @path.setter
    def path(self, value: str | Path | None) -> None:
        self._path = Path(value) if value else None
        self.pathChanged.emit(self._path)

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def mark_saved(self) -> None:
        self.undo_stack.setClean()

    @property
    def current_track(self) -> int:
        return min(self._current_track, max(0, len(self._song.tracks) - 1))

    @current_track.setter
    def current_track(self, index: int) -> None:
        if index != self._current_track:
            self._current_track = index
            self.currentTrackChanged.emit(index)

    # --- changes ----------------------------------------------------------------------------
    def push(self, edit: Edit, merge_key: str | None = None) -> None:
        """Apply ``edit`` as one undoable step (raises the edit's error and changes nothing if
        it does not fit the song)."""
        self.undo_stack.push(EditCommand(self, edit, merge_key))

    def set_song(self, song: Song, path: str | Path | None = None) -> None:
        """Replace the whole song (New, Open): the undo history starts afresh."""
        self.undo_stack.clear()
        self._current_track = 0
        self._set(song)
        self.path = path
        self.undo_stack.setClean()

    def _set(self, song: Song) -> None:
        self._song = song
        self.songChanged.emit(song)
