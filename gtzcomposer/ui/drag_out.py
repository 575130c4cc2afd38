"""The "Drag MIDI" tool button: drag from it into a DAW or a file manager to drop the selected
notes (the whole current track when nothing is selected) as a .mid file.

The excerpt itself is :func:`gtzcomposer.core.transforms.excerpt`; this button writes it to a
temporary folder (removed on quit) and hands the file over as a URL plus ``audio/midi`` bytes.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl, Signal
from PySide6.QtGui import QDrag
from PySide6.QtWidgets import QApplication, QStyle, QToolButton, QWidget

from ..core import GtzError
from ..core.transforms import excerpt
from .document import SongDocument
from .themes import icon


def safe_name(text: str) -> str:
    return re.sub(r"[^\w\- ]+", "_", text).strip() or "notes"


class NotesDragHandle(QToolButton):
    message = Signal(str)  # why nothing could be dragged

    def __init__(self, document: SongDocument, editor, parent: QWidget) -> None:
        super().__init__(parent)
        self.document, self.editor = document, editor
        self._press: QPoint | None = None
        self._dir: str | None = None
        self.setText("Drag MIDI")
        self.setIcon(icon("drag-midi", QStyle.StandardPixmap.SP_FileIcon, parent.style()))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setToolTip("Drag the selected notes (or the whole track) out of the window as a .mid file")
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def excerpt(self):
        """The song the drag carries (see :func:`~gtzcomposer.core.transforms.excerpt`)."""
        return excerpt(self.document.song, self.document.current_track, self.editor.selected_notes())

    def mime_data(self) -> QMimeData:
        from ..io.midi import song_to_midi_bytes

        song = self.excerpt()
        data = song_to_midi_bytes(song)
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix="gtzcomposer-drag-")
        path = Path(self._dir) / f"{safe_name(song.title or 'notes')}.mid"
        path.write_bytes(data)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        mime.setData("audio/midi", data)
        return mime

    def is_own_file(self, path: Path) -> bool:
        """True for a file this button made (dropping it back on the window does nothing)."""
        return self._dir is not None and str(path).startswith(self._dir)

    def start_drag(self) -> None:
        try:
            mime = self.mime_data()
        except GtzError as exc:
            self.message.emit(str(exc))
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        drag.setPixmap(self.icon().pixmap(32, 32))
        drag.exec(Qt.DropAction.CopyAction)

    def cleanup(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._press is not None and (event.position().toPoint() - self._press).manhattanLength() \
                >= QApplication.startDragDistance():
            self._press = None
            self.setDown(False)
            self.start_drag()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._press = None
        super().mouseReleaseEvent(event)
