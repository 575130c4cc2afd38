"""One class per tool (draw, select, erase), each with press/move/release/paint.

A tool turns mouse gestures into previews while the button is down and into ONE edit on the
document when it is released, so every drag is a single undo step. Shared gestures (move,
resize, rubber band) are small classes used by more than one tool.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRect, QRectF, Qt
from PySide6.QtGui import QMouseEvent, QPainter, QPen

from ...core.song import Note
from .controller import resized

DRAG_THRESHOLD = 3  # px before a press becomes a drag

Mod = Qt.KeyboardModifier


def _snap_on(ctl, modifiers) -> bool:
    """Snapping as set, turned off while Alt is held."""
    return ctl.snap and not modifiers & Mod.AltModifier


class Gesture:
    """What one press-drag-release does. ``hidden`` notes are not drawn; ``preview`` notes are
    drawn as selected in their place. ``autoscroll``: the view scrolls while the pointer is
    held beyond its edge."""

    autoscroll = True

    def __init__(self, view) -> None:
        self.view = view
        self.ctl = view.controller

    def move(self, pos: QPointF, modifiers) -> None:
        pass

    def release(self, pos: QPointF, modifiers) -> None:
        pass

    def paint(self, painter: QPainter) -> None:
        pass

    hidden: frozenset[Note] = frozenset()
    preview: tuple[Note, ...] = ()


class MoveGesture(Gesture):
    """Drag notes: time snaps the grabbed note's start to the grid; Shift locks to the axis
    moved most."""

    def __init__(self, view, anchor: Note, notes: tuple[Note, ...], pos: QPointF, click_select=None) -> None:
        super().__init__(view)
        self.anchor, self.notes = anchor, notes
        g = view.geometry
        # the press in content coordinates, so that scrolling during the drag moves the notes on
        self.origin_tick, self.origin_cy = g.x_to_tick(pos.x()), pos.y() + g.scroll_y
        self.hidden = frozenset(notes)
        self.preview = notes
        self.delta = (0, 0)
        self.dragged = False
        self.click_select = click_select  # what a click without drag selects

    def move(self, pos, modifiers) -> None:
        g = self.view.geometry
        dx = (g.x_to_tick(pos.x()) - self.origin_tick) * g.px_per_tick
        dy = pos.y() + g.scroll_y - self.origin_cy
        if not self.dragged and abs(dx) < DRAG_THRESHOLD and abs(dy) < DRAG_THRESHOLD:
            return
        self.dragged = True
        if modifiers & Mod.ShiftModifier:
            if abs(dx) >= abs(dy):
                dy = 0.0
            else:
                dx = 0.0
        raw = self.anchor.start + dx / g.px_per_tick
        dtick = self.ctl.snap_tick(raw, "round", _snap_on(self.ctl, modifiers)) - self.anchor.start if dx else 0
        y0 = self.origin_cy - g.scroll_y
        dpitch = g.y_to_pitch(y0 + dy) - g.y_to_pitch(y0) if dy else 0
        dtick = max(dtick, -min(n.start for n in self.notes))
        dpitch = max(-min(n.pitch for n in self.notes), min(127 - max(n.pitch for n in self.notes), dpitch))
        if (dtick, dpitch) != self.delta:
            if dpitch != self.delta[1]:
                self.ctl.previewNote.emit(self.anchor.pitch + dpitch, self.anchor.velocity)
            self.delta = (dtick, dpitch)
            self.preview = tuple(n.moved(dtick, dpitch) for n in self.notes)
            self.view.update()

    def release(self, pos, modifiers) -> None:
        if self.dragged and self.delta != (0, 0):
            self.ctl.move_notes(self.notes, *self.delta)
        elif not self.dragged and self.click_select is not None:
            self.ctl.set_selection(self.click_select)


class ResizeGesture(Gesture):
    """Drag the left or right edge of notes (the grabbed one and the rest of the selection)."""

    def __init__(self, view, edge: str, anchor: Note, notes: tuple[Note, ...], pos: QPointF) -> None:
        super().__init__(view)
        self.edge, self.anchor, self.notes = edge, anchor, notes
        self.origin_tick = view.geometry.x_to_tick(pos.x())
        self.hidden = frozenset(notes)
        self.preview = notes
        self.delta = 0

    def move(self, pos, modifiers) -> None:
        g, a = self.view.geometry, self.anchor
        snap = _snap_on(self.ctl, modifiers)
        min_len = max(1, min(self.ctl.grid, a.duration)) if snap else 1
        raw = g.x_to_tick(pos.x()) - self.origin_tick
        if self.edge == "right":
            delta = self.ctl.snap_tick(a.end + raw, "round", snap) - a.end
            delta = max(delta, min_len - a.duration)
        else:
            delta = self.ctl.snap_tick(a.start + raw, "round", snap) - a.start
            delta = min(delta, a.duration - min_len)
            delta = max(delta, -min(n.start for n in self.notes))
        if delta != self.delta:
            self.delta = delta
            self.preview = self._resized()
            self.view.update()

    def _resized(self) -> tuple[Note, ...]:
        if self.edge == "right":
            return resized(self.notes, 0, self.delta)
        return resized(self.notes, self.delta, 0)

    def release(self, pos, modifiers) -> None:
        if self.delta:
            self.ctl.replace_notes(self.notes, self._resized(), "Resize notes")


class BandGesture(Gesture):
    """Rubber band: select the notes it touches (Shift adds, Ctrl toggles)."""

    def __init__(self, view, pos: QPointF) -> None:
        super().__init__(view)
        g = view.geometry
        self.origin_tick, self.origin_cy = g.x_to_tick(pos.x()), pos.y() + g.scroll_y
        self.current = pos
        self.dragged = False

    def origin(self) -> QPointF:
        """Where the band started, in view coordinates now (the view may have scrolled)."""
        g = self.view.geometry
        return QPointF(g.tick_to_x(self.origin_tick), self.origin_cy - g.scroll_y)

    def rect(self) -> QRect:
        return QRectF(self.origin(), self.current).normalized().toAlignedRect()

    def move(self, pos, modifiers) -> None:
        if not self.dragged and (pos - self.origin()).manhattanLength() < DRAG_THRESHOLD:
            return
        self.dragged = True
        self.current = pos
        self.view.update()

    def release(self, pos, modifiers) -> None:
        mode = "toggle" if modifiers & Mod.ControlModifier else "add" if modifiers & Mod.ShiftModifier else "replace"
        if self.dragged:
            self.current = pos
            self.ctl.set_selection(self.view.notes_in_rect(self.rect()), mode)
        else:  # a click on empty space: move the cursor there, drop the selection
            if mode == "replace":
                self.ctl.clear_selection()
            tick = self.view.geometry.x_to_tick(pos.x())
            self.ctl.set_cursor(self.ctl.snap_tick(tick, "round", _snap_on(self.ctl, modifiers)))

    def paint(self, painter: QPainter) -> None:
        if self.dragged:
            colors = self.view.colors
            painter.setPen(QPen(colors.selection, 1, Qt.PenStyle.DashLine))
            painter.setBrush(colors.rubber_band)
            r = self.rect()
            painter.drawRect(r.adjusted(0, 0, -1, -1))


class DrawGesture(Gesture):
    """Draw a note: the length comes from the drag; a plain click repeats the last length."""

    def __init__(self, view, pos: QPointF, modifiers) -> None:
        super().__init__(view)
        g = view.geometry
        snap = _snap_on(self.ctl, modifiers)
        self.start = self.ctl.snap_tick(g.x_to_tick(pos.x()), "floor", snap)
        self.pitch = g.y_to_pitch(pos.y())
        self.origin = pos
        self.dragged = False
        self.length = max(1, self.ctl.last_length)
        self.preview = (self._note(),)
        self.ctl.previewNote.emit(self.pitch, self.ctl.new_velocity)

    def _note(self) -> Note:
        return Note(self.start, self.pitch, self.length, self.ctl.new_velocity)

    def move(self, pos, modifiers) -> None:
        if not self.dragged and abs(pos.x() - self.origin.x()) < DRAG_THRESHOLD:
            return
        self.dragged = True
        snap = _snap_on(self.ctl, modifiers)
        end = self.ctl.snap_tick(self.view.geometry.x_to_tick(pos.x()), "round", snap)
        # at least one grid step (which a bar line may cut short, e.g. a whole-note grid in 3/4)
        shortest = self.ctl.snap_tick(self.start + 1, "ceil", snap) - self.start if snap else 1
        self.length = max(shortest, end - self.start)
        self.preview = (self._note(),)
        self.view.update()

    def release(self, pos, modifiers) -> None:
        if self.dragged:
            self.ctl.last_length = self.length
        self.ctl.add_note(self._note())


class EraseGesture(Gesture):
    """Erase the notes the pointer passes over; one edit at release."""

    autoscroll = False

    def __init__(self, view, pos: QPointF) -> None:
        super().__init__(view)
        self.erased: list[Note] = []
        self.hidden = frozenset()
        self.last = pos
        self._hit(pos)

    def _hit(self, pos: QPointF) -> None:
        # sample the path so a fast stroke does not jump over short notes
        steps = max(1, int((pos - self.last).manhattanLength() // 3))
        changed = False
        for i in range(1, steps + 1):
            p = self.last + (pos - self.last) * (i / steps)
            note, _ = self.view.note_at(p, exclude=self.hidden)
            if note is not None:
                self.erased.append(note)
                self.hidden = frozenset(self.erased)
                changed = True
        note, _ = self.view.note_at(pos, exclude=self.hidden)
        if note is not None:
            self.erased.append(note)
            self.hidden = frozenset(self.erased)
            changed = True
        self.last = pos
        if changed:
            self.view.update()

    def move(self, pos, modifiers) -> None:
        self._hit(pos)

    def release(self, pos, modifiers) -> None:
        if self.erased:
            self.ctl.erase(self.erased)


class Tool:
    name = ""
    cursor = Qt.CursorShape.ArrowCursor

    def __init__(self, view) -> None:
        self.view = view
        self.ctl = view.controller
        self.gesture: Gesture | None = None

    # the view calls these
    def press(self, event: QMouseEvent) -> None:
        pass

    def move(self, event: QMouseEvent) -> None:
        if self.gesture is not None:
            self.gesture.move(event.position(), event.modifiers())
        else:
            self.view.setCursor(self.hover_cursor(event.position()))

    def release(self, event: QMouseEvent) -> None:
        gesture, self.gesture = self.gesture, None
        if gesture is not None:
            gesture.release(event.position(), event.modifiers())
        self.view.update()

    def cancel(self) -> None:
        self.gesture = None
        self.view.update()

    def paint(self, painter: QPainter) -> None:
        if self.gesture is not None:
            self.gesture.paint(painter)

    @property
    def hidden(self) -> frozenset[Note]:
        return self.gesture.hidden if self.gesture is not None else frozenset()

    @property
    def preview(self) -> tuple[Note, ...]:
        return self.gesture.preview if self.gesture is not None else ()

    def hover_cursor(self, pos: QPointF):
        note, zone = self.view.note_at(pos)
        if note is not None and zone in ("left", "right"):
            return Qt.CursorShape.SizeHorCursor
        if note is not None:
            return Qt.CursorShape.SizeAllCursor
        return self.cursor

    # shared: press on a note starts a move or a resize
    def _edit_note(self, event: QMouseEvent, note: Note, zone: str) -> None:
        mods = event.modifiers()
        pos = event.position()
        if mods & Mod.ControlModifier:
            self.ctl.set_selection((note,), "toggle")
            if not self.ctl.is_selected(note):
                return
        elif mods & Mod.ShiftModifier:
            self.ctl.set_selection((note,), "add")
        elif not self.ctl.is_selected(note):
            self.ctl.set_selection((note,))
        notes = self.ctl.selected_notes()
        if zone in ("left", "right"):
            self.gesture = ResizeGesture(self.view, zone, note, notes, pos)
        else:
            # a click without drag on one of several selected notes selects just that note
            plain = not mods & (Mod.ControlModifier | Mod.ShiftModifier)
            click = (note,) if plain and len(notes) > 1 else None
            self.ctl.previewNote.emit(note.pitch, note.velocity)
            self.gesture = MoveGesture(self.view, note, notes, pos, click)


class SelectTool(Tool):
    name = "select"

    def press(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        note, zone = self.view.note_at(event.position())
        if note is not None:
            self._edit_note(event, note, zone)
        else:
            self.gesture = BandGesture(self.view, event.position())


class DrawTool(Tool):
    name = "draw"
    cursor = Qt.CursorShape.CrossCursor

    def press(self, event: QMouseEvent) -> None:
        note, zone = self.view.note_at(event.position())
        if event.button() == Qt.MouseButton.RightButton:  # right click erases, as in most DAWs
            if note is not None:
                self.ctl.erase((note,))
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        if note is not None:
            self._edit_note(event, note, zone)
        else:
            if not event.modifiers() & (Mod.ShiftModifier | Mod.ControlModifier):
                self.ctl.clear_selection()
            self.gesture = DrawGesture(self.view, event.position(), event.modifiers())


class EraseTool(Tool):
    name = "erase"
    cursor = Qt.CursorShape.PointingHandCursor

    def press(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self.gesture = EraseGesture(self.view, event.position())

    def hover_cursor(self, pos: QPointF):
        return self.cursor


TOOL_CLASSES = {cls.name: cls for cls in (DrawTool, SelectTool, EraseTool)}

__all__ = ["Tool", "DrawTool", "SelectTool", "EraseTool", "TOOL_CLASSES"]
