"""Controller lanes below the velocity lane: the sustain-pedal lane, and a lane for another
controller of the current track (modulation, expression, volume, pan or pitch bend), chosen in
the chooser on its left.

A controller's value holds from one change to the next, so the lane draws steps: the pedal as
filled spans where it is down, the others as a line with a dot at each change. Every gesture is
one :class:`~gtzcomposer.core.edits.ReplaceControls` edit at release (one undo step):

- **Sustain pedal**: drag across a span to press the pedal there (it goes up at the end of the
  span, unless it was down there already); drag with Shift (or the right button) to lift it
  over the span.
- **Other controllers**: drag to draw the values, one change per grid step; the value in force
  after the stroke is put back where the stroke ends, so the rest of the song keeps its sound.
  Shift-drag (or right-drag) erases the changes under the span.

The lane knows nothing of MIDI: what a value means is the song model's
(:class:`~gtzcomposer.core.song.ControlChange`).
"""

from __future__ import annotations

from PySide6.QtCore import QLine, QPointF, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QComboBox, QVBoxLayout, QWidget

from ...core.song import CONTROLLER_NAMES, PITCH_BEND, ControlChange
from .colors import RollColors
from .controller import RollController
from .view import lane_bar_lines

HEIGHT = 70
PEDAL_HEIGHT = 36
PAD = 4
SUSTAIN = 64

SHORT_NAMES = {64: "Pedal", 1: "Mod", 11: "Expr", 7: "Vol", 10: "Pan", PITCH_BEND: "Bend"}
"""The chooser's labels, short enough for the keyboard's width (each entry's tooltip and
accessible text hold the full name)."""


def value_range(controller: int) -> tuple[int, int]:
    return (-8192, 8191) if controller == PITCH_BEND else (0, 127)


def resting_value(controller: int, volume: int = 100, pan: int = 64) -> int:
    """The value before a controller's first change (the track's own volume and pan)."""
    return {7: volume, 10: pan, 11: 127}.get(controller, 0)


class ControllerLane(QWidget):
    """The lane itself; :class:`ControllerPanel` adds the chooser."""

    controllerChanged = Signal(int)

    def __init__(self, controller: RollController, parent: QWidget | None = None, number: int = SUSTAIN) -> None:
        super().__init__(parent)
        if number not in CONTROLLER_NAMES:
            raise ValueError(f"the lane shows no controller {number}")
        self.roll = controller
        self.geometry = controller.geometry
        self.controller_number = number
        self.setMinimumHeight(20)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.colors = RollColors.from_palette(self.palette())
        self._drag: dict | None = None
        controller.changed.connect(self.update)
        controller.viewChanged.connect(self.update)
        self._set_tooltip()

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, PEDAL_HEIGHT if self.controller_number == SUSTAIN else HEIGHT)

    def changeEvent(self, event) -> None:  # noqa: N802
        self.colors = RollColors.from_palette(self.palette())
        super().changeEvent(event)

    def set_controller(self, number: int) -> None:
        if number not in CONTROLLER_NAMES:
            raise ValueError(f"the lane shows no controller {number}")
        if number != self.controller_number:
            self.controller_number = number
            self._drag = None
            self._set_tooltip()
            self.update()
            self.controllerChanged.emit(number)

    def _set_tooltip(self) -> None:
        if self.controller_number == SUSTAIN:
            self.setToolTip("Drag to hold the sustain pedal over a span; Shift-drag to lift it")
        else:
            self.setToolTip(f"Drag to draw {CONTROLLER_NAMES[self.controller_number].lower()}; "
                            "Shift-drag to erase its changes")

    # --- data ------------------------------------------------------------------------------------
    def changes(self) -> tuple[ControlChange, ...]:
        """The shown controller's changes on the current track."""
        if not self.roll.has_track():
            return ()
        return self.roll.song.tracks[self.roll.track_index].controls_of(self.controller_number)

    def resting(self) -> int:
        if not self.roll.has_track():
            return resting_value(self.controller_number)
        t = self.roll.song.tracks[self.roll.track_index]
        return resting_value(self.controller_number, t.volume, t.pan)

    def value_at(self, tick: int, changes: tuple[ControlChange, ...] | None = None) -> int:
        """The value in force at ``tick`` (a change at ``tick`` counts)."""
        value = self.resting()
        for c in self.changes() if changes is None else changes:
            if c.tick > tick:
                break
            value = c.value
        return value

    # --- mapping ---------------------------------------------------------------------------------
    def value_to_y(self, v: float) -> int:
        low, high = value_range(self.controller_number)
        span = self.height() - 2 * PAD
        return int(round(self.height() - PAD - (v - low) / (high - low) * span))

    def y_to_value(self, y: float) -> int:
        low, high = value_range(self.controller_number)
        span = max(1, self.height() - 2 * PAD)
        return int(min(high, max(low, round(low + (self.height() - PAD - y) / span * (high - low)))))

    def x_to_tick(self, x: float) -> int:
        return max(0, self.roll.snap_tick(self.geometry.x_to_tick(x)))

    # --- painting ------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        ctl, g, c = self.roll, self.geometry, self.colors
        w, h = self.width(), self.height()
        p = QPainter(self)
        p.fillRect(0, 0, w, h, c.base)
        low, high = value_range(self.controller_number)
        p.setPen(c.grid_line)
        middle = 0 if self.controller_number == PITCH_BEND else 64
        p.drawLines([QLine(0, self.value_to_y(v), w, self.value_to_y(v)) for v in (low, middle, high)])
        t0, t1 = g.visible_ticks(w)
        bars = lane_bar_lines(ctl, g, w, h)
        if bars:
            p.setPen(c.beat_line)
            p.drawLines(bars)
        color = QColor(ctl.song.tracks[ctl.track_index].color) if ctl.has_track() else QColor("#4e79a7")
        changes = self._drag["preview"] if self._drag is not None else self.changes()
        steps = self._steps(changes, t0, t1)
        if self.controller_number == SUSTAIN:
            fill = QColor(color)
            fill.setAlpha(150)
            p.setPen(QPen(color, 1))
            p.setBrush(fill)
            top = self.value_to_y(127)
            for a, b, v in steps:
                if v >= 64:
                    xa, xb = int(round(g.tick_to_x(a))), int(round(g.tick_to_x(b)))
                    p.drawRect(QRect(xa, top, max(1, xb - xa), h - PAD - top))
        else:
            p.setPen(QPen(color, 2))
            last_y = None
            for a, b, v in steps:
                xa, xb, y = g.tick_to_x(a), g.tick_to_x(b), self.value_to_y(v)
                if last_y is not None:
                    p.drawLine(QPointF(xa, last_y), QPointF(xa, y))
                p.drawLine(QPointF(xa, y), QPointF(xb, y))
                last_y = y
            p.setBrush(color)
            for ch in changes:
                if t0 <= ch.tick <= t1:
                    p.drawEllipse(QPointF(g.tick_to_x(ch.tick), self.value_to_y(ch.value)), 2.5, 2.5)
        if self._drag is not None:
            a, b = sorted((self._drag["t0"], self._drag["t1"]))
            p.setPen(QPen(c.playhead, 1, Qt.PenStyle.DashLine))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(QRect(int(g.tick_to_x(a)), 1, max(1, int(g.tick_to_x(b) - g.tick_to_x(a))), h - 3))
        p.setPen(c.octave_line)
        p.drawLine(0, 0, w, 0)
        p.end()

    def _steps(self, changes, t0: int, t1: int) -> list[tuple[int, int, int]]:
        """(from, to, value) spans covering the visible ticks."""
        value = self.resting()
        out = []
        start = t0
        for ch in changes:
            if ch.tick <= t0:
                value = ch.value
                continue
            if ch.tick > t1:
                break
            out.append((start, ch.tick, value))
            start, value = ch.tick, ch.value
        out.append((start, t1, value))
        return out

    # --- editing -------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton) or not self.roll.has_track():
            return
        pos = event.position()
        erase = event.button() == Qt.MouseButton.RightButton or bool(
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        tick = self.x_to_tick(pos.x())
        self._drag = {"erase": erase, "t0": tick, "t1": tick, "points": [(tick, self.y_to_value(pos.y()))],
                      "preview": self.changes()}
        self._update_preview()
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        pos = event.position()
        tick = self.x_to_tick(pos.x())
        self._drag["t1"] = tick
        self._drag["points"].append((tick, self.y_to_value(pos.y())))
        self._update_preview()
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if self._drag is None:
            return
        self.mouseMoveEvent(event)
        drag, self._drag = self._drag, None
        old = self.changes()
        new = drag["preview"]
        if new != old:
            removed = tuple(c for c in old if c not in set(new))
            added = tuple(c for c in new if c not in set(old))
            name = CONTROLLER_NAMES[self.controller_number].lower()
            label = ("Lift sustain pedal" if drag["erase"] else "Hold sustain pedal") if self.controller_number == SUSTAIN \
                else (f"Erase {name}" if drag["erase"] else f"Draw {name}")
            self.roll.replace_controls(removed, added, label)
        self.update()

    def _update_preview(self) -> None:
        d = self._drag
        self._drag["preview"] = self.edited(d["t0"], d["t1"], d["points"], d["erase"])

    def edited(self, t0: int, t1: int, points: list[tuple[int, int]], erase: bool) -> tuple[ControlChange, ...]:
        """The shown controller's changes after a stroke over ``t0..t1`` (in either order)."""
        number = self.controller_number
        a, b = sorted((t0, t1))
        old = self.changes()
        outside = [c for c in old if not a <= c.tick <= b]
        after = self.value_at(b, old)  # in force at the end of the span before the stroke
        before = self.value_at(a - 1, old) if a > 0 else self.resting()
        if number == SUSTAIN:
            if b == a:
                return old
            down = not erase
            new = [ControlChange(a, number, 127 if down else 0)]
            if (after >= 64) != down:
                new.append(ControlChange(b, number, after))
            merged = outside + new
        elif erase:
            merged = outside
        else:
            step = max(1, self.roll.grid)
            pts = sorted(points)
            samples = []
            for tick in range(a, b + 1, step):
                samples.append(ControlChange(tick, number, _interpolate(pts, tick)))
            new, last = [], before
            for s in samples:
                if s.value != last:
                    new.append(s)
                    last = s.value
            end = b + step  # where the value in force before the stroke comes back
            if last != after and not any(b < c.tick <= end for c in outside):
                new.append(ControlChange(end, number, after))
            merged = outside + new
        return _without_repeats(sorted(merged, key=lambda c: c.tick), self.resting())

    def wheelEvent(self, event) -> None:  # noqa: N802
        dy = event.angleDelta().y() or event.angleDelta().x()
        self.roll.scroll_by(dx=-dy / 120 * self.width() / 8)
        event.accept()


def _interpolate(points: list[tuple[int, int]], tick: int) -> int:
    """The stroke's value at ``tick`` (points sorted by tick; linear between them)."""
    if tick <= points[0][0]:
        return points[0][1]
    for (ta, va), (tb, vb) in zip(points, points[1:]):
        if ta <= tick <= tb:
            return va if tb == ta else int(round(va + (vb - va) * (tick - ta) / (tb - ta)))
    return points[-1][1]


def _without_repeats(changes: list[ControlChange], resting: int) -> tuple[ControlChange, ...]:
    """Drop changes that set the value already in force (and keep one change per tick)."""
    by_tick: dict[int, ControlChange] = {}
    for c in changes:
        by_tick[c.tick] = c
    out, value = [], resting
    for tick in sorted(by_tick):
        c = by_tick[tick]
        if c.value != value:
            out.append(c)
            value = c.value
    return tuple(out)


class ControllerPanel(QWidget):
    """The chooser that sits left of the controller lane (every controller but the pedal, which
    has its own lane)."""

    def __init__(self, lane: ControllerLane, width: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.chooser = QComboBox(self)
        for number in (n for n in CONTROLLER_NAMES if n != SUSTAIN):
            self.chooser.addItem(SHORT_NAMES[number], number)
            self.chooser.setItemData(self.chooser.count() - 1, CONTROLLER_NAMES[number], Qt.ItemDataRole.ToolTipRole)
        self.chooser.setToolTip("Which controller the lane shows and edits")
        font = self.chooser.font()  # the keyboard's width is narrow: a smaller face fits "Expr"
        font.setPointSizeF(font.pointSizeF() * 0.85)
        self.chooser.setFont(font)
        self.chooser.setAccessibleName("Controller lane")
        self.chooser.setCurrentIndex(max(0, self.chooser.findData(lane.controller_number)))
        self.chooser.currentIndexChanged.connect(lambda i: lane.set_controller(self.chooser.itemData(i)))
        lane.controllerChanged.connect(self._follow)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(1, 2, 1, 0)
        lay.addWidget(self.chooser)
        lay.addStretch(1)
        self.setFixedWidth(width)

    def _follow(self, number: int) -> None:
        i = self.chooser.findData(number)
        if i != self.chooser.currentIndex():
            self.chooser.setCurrentIndex(i)
