"""Velocity lane below the grid: one bar per note of the current track.

Drag a bar up or down (when it belongs to a selection of several notes, all of them move by
the same amount); drag from empty space, or with Shift, to draw a line: the selected notes under
it (all notes under it when nothing is selected) take the line's velocity. One edit at release.
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QLine, QLineF, QPointF, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import QWidget

from ...core.song import Note
from .colors import VELOCITY_SHADES, RollColors, velocity_shade
from .controller import RollController
from .view import LOD_MIN_NOTES, LOD_MIN_TICKS_PER_PX, lane_bar_lines

HEIGHT = 90
PAD = 4
BAR_MAX_W = 7


class VelocityLane(QWidget):
    def __init__(self, controller: RollController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.geometry = controller.geometry
        self.setMinimumHeight(40)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.colors = RollColors.from_palette(self.palette())
        self.preview: dict[Note, int] = {}
        self._drag: tuple[str, object] | None = None
        self._far: tuple | None = None  # cached bars for the far-out view
        controller.changed.connect(self.update)
        controller.viewChanged.connect(self.update)
        self.setToolTip("Drag a bar to change a velocity; drag across notes (or Shift-drag) to draw a line")

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, HEIGHT)

    def changeEvent(self, event) -> None:  # noqa: N802
        self.colors = RollColors.from_palette(self.palette())
        super().changeEvent(event)

    # --- mapping ---------------------------------------------------------------------------------
    def velocity_to_y(self, v: float) -> int:
        span = self.height() - 2 * PAD
        return int(round(self.height() - PAD - v / 127 * span))

    def y_to_velocity(self, y: float) -> int:
        span = max(1, self.height() - 2 * PAD)
        return int(min(127, max(1, round((self.height() - PAD - y) / span * 127))))

    def bar_span(self, note: Note) -> tuple[int, int]:
        g = self.geometry
        x0 = int(round(g.tick_to_x(note.start)))
        width = int(round(note.duration * g.px_per_tick)) - 1
        return x0, x0 + min(BAR_MAX_W, max(3, width))

    def visible_notes(self) -> list[Note]:
        g = self.geometry
        t0, t1 = g.visible_ticks(self.width())
        return [n for n in self.controller.index().overlapping(t0, t1) if n.start >= t0 - 8 / g.px_per_tick]

    def bar_at(self, pos: QPointF) -> Note | None:
        g = self.geometry
        x = pos.x()
        cands = self.controller.index().overlapping(g.x_to_tick(x - BAR_MAX_W - 2), g.x_to_tick(x + 2))
        best, best_key = None, None
        for n in cands:
            x0, x1 = self.bar_span(n)
            if not x0 - 2 <= x <= x1 + 2:
                continue
            key = (self.controller.is_selected(n), -abs(self.velocity_to_y(n.velocity) - pos.y()))
            if best_key is None or key > best_key:
                best, best_key = n, key
        return best

    # --- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        ctl, g, c = self.controller, self.geometry, self.colors
        w, h = self.width(), self.height()
        p = QPainter(self)
        p.fillRect(0, 0, w, h, c.base)
        p.setPen(c.grid_line)
        p.drawLines([QLine(0, self.velocity_to_y(v), w, self.velocity_to_y(v)) for v in (32, 64, 96, 127)])
        t0, t1 = g.visible_ticks(w)
        bars = lane_bar_lines(ctl, g, w, h)
        if bars:
            p.setPen(c.beat_line)
            p.drawLines(bars)
        tracks = ctl.song.tracks
        color = QColor(tracks[ctl.track_index].color) if ctl.has_track() else QColor("#4e79a7")
        shades = c.note_shades(color)
        outline = c.note_outline(color)
        sel = ctl.selection
        base_y = h - PAD
        idx = ctl.index()
        if not self.preview and 1 / g.px_per_tick >= LOD_MIN_TICKS_PER_PX and idx.candidates(t0, t1) > LOD_MIN_NOTES:
            self._paint_far(p, t0, t1, shades)
            notes = [n for n in sel if t0 <= n.start <= t1]
        else:
            notes = self.visible_notes()
        groups: list[list[QRect]] = [[] for _ in range(VELOCITY_SHADES)]
        selected = []
        preview = self.preview
        for n in notes:
            v = preview.get(n, n.velocity)
            x0, x1 = self.bar_span(n)
            top = self.velocity_to_y(v)
            r = QRect(x0, top, x1 - x0 - 1, base_y - top)
            if n in sel or n in preview:
                selected.append(r)
            else:
                groups[velocity_shade(v)].append(r)
        p.setPen(QPen(outline, 1))
        for shade, group in zip(shades, groups):
            if group:
                p.setBrush(shade)
                p.drawRects(group)
        if selected:
            p.setPen(QPen(c.selection, 1))
            p.setBrush(color)
            p.drawRects(selected)
        if self._drag is not None and self._drag[0] == "line":
            a, b = self._drag[1]
            p.setPen(QPen(c.playhead, 1, Qt.PenStyle.DashLine))
            p.drawLine(a, b)
        p.setPen(c.octave_line)
        p.drawLine(0, 0, w, 0)
        p.end()

    def _paint_far(self, p: QPainter, t0: int, t1: int, shades: list[QColor]) -> None:
        """Zoomed far out over many notes: one prebuilt 1-px stem per note in (tick, velocity)
        units, drawn through a transform, one call per velocity shade."""
        g = self.geometry
        notes = self.controller.index().notes
        if self._far is None or self._far[0] is not notes:
            groups: list[tuple[list[int], list[QLineF]]] = [([], []) for _ in range(VELOCITY_SHADES)]
            for n in notes:
                starts, lines = groups[velocity_shade(n.velocity)]
                starts.append(n.start)
                lines.append(QLineF(n.start, 127 - n.velocity, n.start, 127))
            self._far = (notes, groups)
        scale = (self.height() - 2 * PAD) / 127
        p.save()
        p.setTransform(QTransform(g.px_per_tick, 0, 0, scale, -g.scroll_x, PAD))
        for shade, (starts, lines) in zip(shades, self._far[1]):
            lo, hi = bisect.bisect_left(starts, t0), bisect.bisect_right(starts, t1)
            if hi > lo:
                p.setPen(QPen(shade, 0))
                p.drawLines(lines[lo:hi])
        p.restore()

    # --- editing -------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton:
            return
        pos = event.position()
        note = None if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else self.bar_at(pos)
        if note is not None:
            sel = self.controller.selected_notes()
            targets = sel if note in sel and len(sel) > 1 else (note,)
            self._drag = ("bar", (note, targets))
            self._bar_to(pos)
        else:
            self._drag = ("line", (pos, pos))
        self.update()

    def _bar_to(self, pos: QPointF) -> None:
        note, targets = self._drag[1]
        delta = self.y_to_velocity(pos.y()) - note.velocity
        self.preview = {n: min(127, max(1, n.velocity + delta)) for n in targets}

    def _line_targets(self) -> dict[Note, int]:
        a, b = self._drag[1]
        g = self.geometry
        x0, x1 = sorted((a.x(), b.x()))
        t0, t1 = g.x_to_tick(x0), g.x_to_tick(x1)
        pool = self.controller.selected_notes() or self.controller.index().notes
        out = {}
        for n in pool:
            if t0 <= n.start <= t1:
                x = g.tick_to_x(n.start)
                f = 0.0 if x1 == x0 else (x - a.x()) / (b.x() - a.x())
                out[n] = self.y_to_velocity(a.y() + (b.y() - a.y()) * f)
        return out

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        pos = event.position()
        if self._drag[0] == "bar":
            self._bar_to(pos)
        else:
            self._drag = ("line", (self._drag[1][0], pos))
            self.preview = self._line_targets()
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        self.mouseMoveEvent(event)
        preview, self.preview, self._drag = self.preview, {}, None
        changed = {n: v for n, v in preview.items() if v != n.velocity}
        if changed:
            self.controller.set_velocities(tuple(changed), tuple(changed.values()))
        self.update()

    def wheelEvent(self, event) -> None:  # noqa: N802
        dy = event.angleDelta().y() or event.angleDelta().x()
        self.controller.scroll_by(dx=-dy / 120 * self.width() / 8)
        event.accept()
