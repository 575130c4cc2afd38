"""Bar/beat ruler above the grid: bar numbers, meter and tempo changes, the loop region and the
cursor.

A click sets the cursor (``cursorMoved``); a drag marks the loop (``loopChanged``); a
double-click or right-click clears the loop.
"""

from __future__ import annotations

from PySide6.QtCore import QLine, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPolygon
from PySide6.QtWidgets import QWidget

from .colors import RollColors, mix
from .controller import RollController

HEIGHT = 26


class Ruler(QWidget):
    def __init__(self, controller: RollController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.geometry = controller.geometry
        self.setFixedHeight(HEIGHT)
        self.setMouseTracking(False)
        self.colors = RollColors.from_palette(self.palette())
        self._press: tuple[int, float] | None = None  # (tick, x) of a press
        self._dragging = False
        self.drawn_labels: list[tuple[QRect, str]] = []  # what the last paint wrote (tests read it)
        controller.changed.connect(self.update)
        controller.viewChanged.connect(self.update)
        self.setToolTip("Click: move the cursor. Drag: set the loop. Double-click: clear the loop.")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, HEIGHT)

    def changeEvent(self, event) -> None:  # noqa: N802
        self.colors = RollColors.from_palette(self.palette())
        super().changeEvent(event)

    def paintEvent(self, event) -> None:  # noqa: N802
        ctl, g, c = self.controller, self.geometry, self.colors
        w, h = self.width(), self.height()
        p = QPainter(self)
        p.fillRect(0, 0, w, h, c.ruler_bg)
        t0, t1 = g.visible_ticks(w)
        ppt, sx = g.px_per_tick, g.scroll_x
        if ctl.loop is not None:
            a, b = (int(round(g.tick_to_x(t))) for t in ctl.loop)
            p.fillRect(QRect(a, 0, b - a, h), c.loop)
            edge = QColor(c.loop)
            edge.setAlpha(200)
            p.fillRect(QRect(a, 0, 2, h), edge)
            p.fillRect(QRect(b - 2, 0, 2, h), edge)
        font = QFont(self.font())
        font.setPixelSize(11)
        p.setFont(font)
        fm = p.fontMetrics()
        label_w = fm.horizontalAdvance("8888") + 6
        bars = list(ctl.bars.bars(t0, t1))
        bar_px = min((b[2] - b[1]) for b in bars) * ppt if bars else 1
        every = 1
        while bar_px * every < label_w:
            every *= 2
        beat_lines, bar_lines = [], []
        last_sig = None
        text = mix(c.ruler_bg, c.text, 0.85)
        song = ctl.document.song
        tempo_at = {t.tick: t for t in song.tempos if t.tick > 0 and t0 <= t.tick <= t1}
        labels: list[tuple[int, int, str]] = []  # (x, priority, text): 0 bar number, 1 tempo change
        for index, start, end, sig in bars:
            x = int(round(start * ppt - sx))
            if index % every == 0:
                bar_lines.append(QLine(x, h // 3, x, h))
                label = str(index + 1)
                if sig != last_sig and (last_sig is None or sig.numerator != last_sig.numerator
                                        or sig.denominator != last_sig.denominator) and start == sig.tick:
                    label += f"  {sig.numerator}/{sig.denominator}"
                tempo = tempo_at.pop(start, None)
                if tempo is not None:
                    label += f"  ♩={round(tempo.bpm, 1):g}"
                labels.append((x, 0, label))
            last_sig = sig
            beat = sig.beat_ticks
            if beat * ppt >= 6:
                t = start + beat
                while t < end:
                    bx = int(round(t * ppt - sx))
                    beat_lines.append(QLine(bx, h - h // 4, bx, h))
                    t += beat
        for tick, tempo in tempo_at.items():  # tempo changes inside a bar (or on an unlabelled one)
            x = int(round(tick * ppt - sx))
            bar_lines.append(QLine(x, h // 3, x, h))
            labels.append((x, 1, f"♩={round(tempo.bpm, 1):g}"))
        # Zoomed out, a label with a tempo or meter would run over the next bar number: draw
        # only labels that fit in the space left of the next one drawn (bar numbers first).
        self.drawn_labels = []
        p.setPen(text)
        taken: list[tuple[int, int]] = []
        for x, _prio, label in sorted(labels, key=lambda item: (item[1], item[0])):
            rect = QRect(x + 3, 0, fm.horizontalAdvance(label), fm.height())
            span = (rect.left() - 3, rect.right() + 6)
            if any(a < span[1] and span[0] < b for a, b in taken):
                if "  " in label:  # the bar number alone may still fit
                    label = label.split("  ")[0]
                    rect = QRect(x + 3, 0, fm.horizontalAdvance(label), fm.height())
                    span = (rect.left() - 3, rect.right() + 6)
                    if any(a < span[1] and span[0] < b for a, b in taken):
                        continue
                else:
                    continue
            taken.append(span)
            self.drawn_labels.append((rect, label))
            p.drawText(x + 3, fm.ascent() + 1, label)
        p.setPen(mix(c.ruler_bg, c.text, 0.35))
        if beat_lines:
            p.drawLines(beat_lines)
        p.setPen(mix(c.ruler_bg, c.text, 0.6))
        if bar_lines:
            p.drawLines(bar_lines)
        p.drawLine(0, h - 1, w, h - 1)
        # cursor: a small triangle; playhead: a line
        x = int(round(g.tick_to_x(ctl.cursor)))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(c.cursor)
        p.drawPolygon(QPolygon([QPoint(x - 5, h - 8), QPoint(x + 5, h - 8), QPoint(x, h - 1)]))
        if ctl.playhead is not None:
            x = int(round(g.tick_to_x(ctl.playhead)))
            p.setPen(QPen(c.playhead, 2))
            p.drawLine(x, 0, x, h)
        p.end()

    def _tick(self, x: float) -> int:
        return self.controller.snap_tick(self.geometry.x_to_tick(x), "round")

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.RightButton:
            self.controller.set_loop(None)
            return
        if event.button() == Qt.MouseButton.LeftButton:
            x = event.position().x()
            self._press = (self._tick(x), x)
            self._dragging = False

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is None:
            return
        x = event.position().x()
        if not self._dragging and abs(x - self._press[1]) < 4:
            return
        self._dragging = True
        a, b = self._press[0], self._tick(x)
        if a != b:
            self.controller.set_loop((a, b), final=False)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._press is None:
            return
        if not self._dragging:
            self.controller.set_cursor(self._press[0])
        else:
            self.controller.set_loop(self.controller.loop)  # tell listeners where it ended
        self._press = None
        self._dragging = False

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        self.controller.set_loop(None)

    def wheelEvent(self, event) -> None:  # noqa: N802
        dy = event.angleDelta().y() or event.angleDelta().x()
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.controller.zoom_x(1.25 if dy > 0 else 1 / 1.25, event.position().x())
        else:
            self.controller.scroll_by(dx=-dy / 120 * self.width() / 8)
        event.accept()
