"""Piano keyboard left of the grid: note names on every C, a click previews the pitch
(``previewNote(pitch, velocity)``; further right on the key is louder)."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QWidget

from ...core.song import note_name
from .colors import RollColors, mix
from .controller import RollController
from .view import BLACK_KEYS

WIDTH = 64

# General MIDI percussion (channel 10), short enough for the keyboard
DRUM_NAMES = {
    35: "Kick 2", 36: "Kick", 37: "Stick", 38: "Snare", 39: "Clap", 40: "Snare 2", 41: "Tom low2",
    42: "HH closed", 43: "Tom low", 44: "HH pedal", 45: "Tom mid2", 46: "HH open", 47: "Tom mid",
    48: "Tom hi2", 49: "Crash", 50: "Tom hi", 51: "Ride", 52: "China", 53: "Ride bell",
    54: "Tambour.", 55: "Splash", 56: "Cowbell", 57: "Crash 2", 58: "Vibraslap", 59: "Ride 2",
    60: "Bongo hi", 61: "Bongo lo", 62: "Conga mute", 63: "Conga hi", 64: "Conga lo",
    65: "Timbale hi", 66: "Timbale lo", 67: "Agogo hi", 68: "Agogo lo", 69: "Cabasa",
    70: "Maracas", 71: "Whistle s", 72: "Whistle l", 73: "Guiro s", 74: "Guiro l", 75: "Claves",
    76: "Block hi", 77: "Block lo", 78: "Cuica mute", 79: "Cuica open", 80: "Triangle m",
    81: "Triangle o",
}


class Keyboard(QWidget):
    def __init__(self, controller: RollController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.geometry = controller.geometry
        self.setFixedWidth(WIDTH)
        self.colors = RollColors.from_palette(self.palette())
        self.pressed: int | None = None
        self._drawn_for: tuple | None = None
        controller.viewChanged.connect(self._view_changed)
        controller.document.currentTrackChanged.connect(self.update)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(WIDTH, 450)

    def changeEvent(self, event) -> None:  # noqa: N802
        self.colors = RollColors.from_palette(self.palette())
        super().changeEvent(event)

    def _view_changed(self) -> None:
        # a horizontal scroll or zoom does not move the keys
        if self._drawn_for != (self.geometry.scroll_y, self.geometry.key_height):
            self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        g, c = self.geometry, self.colors
        self._drawn_for = (g.scroll_y, g.key_height)
        w, h = self.width(), self.height()
        p = QPainter(self)
        p.fillRect(0, 0, w, h, c.ruler_bg)
        kh = g.key_height
        low, high = g.visible_pitches(h)
        font = QFont(self.font())
        font.setPixelSize(max(8, min(kh - 2, 11)))
        p.setFont(font)
        black_w = int(w * 0.6)
        ctl = self.controller
        drums = ctl.has_track() and ctl.song.tracks[ctl.track_index].is_drum
        line = mix(c.white_key, c.key_text, 0.35)
        pressed = mix(c.white_key, c.playhead, 0.55)
        for pitch in range(low, high + 1):
            y = int(g.pitch_to_y(pitch))
            pc = pitch % 12
            if pc in BLACK_KEYS:
                p.fillRect(0, y, w, kh, c.white_key)
                p.fillRect(0, y, black_w, kh, pressed if pitch == self.pressed else c.black_key)
                p.fillRect(black_w, y + kh // 2, w - black_w, 1, line)
            else:
                p.fillRect(0, y, w, kh, pressed if pitch == self.pressed else c.white_key)
                if pc in (0, 5):  # the B|C and E|F borders are key borders
                    p.fillRect(0, y + kh - 1, w, 1, line)
            if drums and pitch in DRUM_NAMES and kh >= 9:
                p.fillRect(0, y + 1, w, kh - 1, mix(c.white_key, c.black_key, 0.25) if pc in BLACK_KEYS else c.white_key)
                p.setPen(c.key_text)
                p.drawText(QRect(2, y, w - 5, kh), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                           DRUM_NAMES[pitch])
            elif pc == 0:
                p.setPen(c.key_text)
                p.drawText(QRect(black_w // 2, y, w - black_w // 2 - 4, kh),
                           Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, note_name(pitch))
        p.fillRect(w - 1, 0, 1, h, line)
        p.end()

    def _press_at(self, event) -> None:
        pos = event.position()
        pitch = self.geometry.y_to_pitch(pos.y())
        if pitch != self.pressed:
            self.pressed = pitch
            velocity = int(min(127, max(1, 30 + 97 * pos.x() / max(1, self.width()))))
            self.controller.previewNote.emit(pitch, velocity)
            self.update()

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self._press_at(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if event.buttons() & Qt.MouseButton.LeftButton:
            self._press_at(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self.pressed = None
        self.update()

    def wheelEvent(self, event) -> None:  # noqa: N802
        dy = event.angleDelta().y()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.controller.zoom_vertical(1.15 if dy > 0 else 1 / 1.15, event.position().y())
        else:
            self.controller.scroll_by(dy=-dy / 120 * self.geometry.key_height * 3)
        event.accept()
