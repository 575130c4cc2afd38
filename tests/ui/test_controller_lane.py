"""The sustain-pedal lane and the controller lane under the velocity lane, driven by real mouse
events (pytest-qt); the chooser picks the controller lane's controller; every gesture is one
undo step."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from gtzcomposer.core import PITCH_BEND, ControlChange, Note, Song, TimeSignature, new_track
from gtzcomposer.ui.document import SongDocument
from gtzcomposer.ui.pianoroll import PianoRollEditor

LEFT = Qt.MouseButton.LeftButton
RIGHT = Qt.MouseButton.RightButton
NOBUTTON = Qt.MouseButton.NoButton
NOMOD = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def editor(qtbot):
    lead = new_track(0, "Piano", notes=(Note(0, 60, 480, 100), Note(960, 64, 480, 80)),
                     controls=(ControlChange(1920, 64, 127), ControlChange(2880, 64, 0)))
    doc = SongDocument(Song(tracks=(lead, new_track(1, "Bass")), time_signatures=(TimeSignature(0, 4, 4),)))
    ed = PianoRollEditor(doc)
    qtbot.addWidget(ed)
    ed.resize(900, 700)
    ed.show()
    qtbot.waitExposed(ed)
    g = ed.controller.geometry
    g.px_per_tick = 0.1  # a quarter note is 48 px
    g.scroll_x = 0.0
    ed.set_grid(16)
    ed.controller.viewChanged.emit()
    return ed


def send(widget, kind, pos, button=LEFT, buttons=LEFT, mods=NOMOD):
    p = QPointF(pos)
    QApplication.sendEvent(widget, QMouseEvent(kind, p, QPointF(widget.mapToGlobal(p)), button, buttons, mods))


def drag(widget, start: QPoint, end: QPoint, button=LEFT, mods=NOMOD, steps: int = 8):
    send(widget, QEvent.Type.MouseButtonPress, start, button, button, mods)
    for i in range(1, steps + 1):
        send(widget, QEvent.Type.MouseMove, start + (end - start) * (i / steps), NOBUTTON, button, mods)
    send(widget, QEvent.Type.MouseButtonRelease, end, button, NOBUTTON, mods)


def point(ed, tick, value, lane=None):
    lane = lane or ed.sustain_lane
    return QPoint(int(round(ed.controller.geometry.tick_to_x(tick))), lane.value_to_y(value))


def controls(ed, number=64):
    return ed.document.song.tracks[0].controls_of(number)


def one_undo_step(ed, before, count):
    stack = ed.document.undo_stack
    after = ed.document.song
    assert after != before and stack.index() == count + 1
    stack.undo()
    assert ed.document.song == before
    stack.redo()
    assert ed.document.song == after


def test_the_lanes_sit_under_the_velocity_lane_and_show_the_pedal(qtbot, editor):
    ed = editor
    lane = ed.sustain_lane
    assert lane.isVisible() and lane.controller_number == 64

    def top(w):
        return w.mapTo(ed, QPoint(0, 0)).y()

    assert top(lane) >= top(ed.velocity_lane) + ed.velocity_lane.height()
    assert top(ed.controller_lane) >= top(lane) + lane.height()
    assert ed.controller_panel.chooser.currentText() == "Mod" and ed.controller_lane.controller_number == 1
    assert ed.controller_panel.chooser.findData(64) == -1  # the pedal has its own lane
    image = lane.grab().toImage()
    y = lane.value_to_y(64)
    down = image.pixelColor(int(ed.controller.geometry.tick_to_x(2400)), y)  # pedal held 1920..2880
    up = image.pixelColor(int(ed.controller.geometry.tick_to_x(1200)), y)
    assert down != up


def test_dragging_holds_the_pedal_over_the_span_as_one_undo_step(qtbot, editor):
    ed, doc = editor, editor.document
    before, count = doc.song, doc.undo_stack.index()
    drag(ed.sustain_lane, point(ed, 0, 100), point(ed, 960, 100))
    assert controls(ed) == (ControlChange(0, 64, 127), ControlChange(960, 64, 0),
                            ControlChange(1920, 64, 127), ControlChange(2880, 64, 0))
    assert doc.undo_stack.undoText() == "Hold sustain pedal"
    one_undo_step(ed, before, count)


def test_a_span_reaching_into_a_held_pedal_joins_it_and_shift_drag_lifts_it(qtbot, editor):
    ed = editor
    drag(ed.sustain_lane, point(ed, 1440, 100), point(ed, 2400, 100))
    assert controls(ed) == (ControlChange(1440, 64, 127), ControlChange(2880, 64, 0))
    before, count = ed.document.song, ed.document.undo_stack.index()
    drag(ed.sustain_lane, point(ed, 1920, 100), point(ed, 2400, 100), mods=SHIFT)
    assert controls(ed) == (ControlChange(1440, 64, 127), ControlChange(1920, 64, 0),
                            ControlChange(2400, 64, 127), ControlChange(2880, 64, 0))
    one_undo_step(ed, before, count)
    # the right button lifts it too
    drag(ed.sustain_lane, point(ed, 1000, 100), point(ed, 3000, 100), button=RIGHT)
    assert controls(ed) == ()


def test_the_chooser_switches_to_pitch_bend_and_a_stroke_draws_values_per_grid_step(qtbot, editor):
    ed, doc = editor, editor.document
    chooser = ed.controller_panel.chooser
    chooser.setCurrentIndex(chooser.findData(PITCH_BEND))
    lane = ed.controller_lane
    assert lane.controller_number == PITCH_BEND
    before, count = doc.song, doc.undo_stack.index()
    drag(lane, point(ed, 480, 0, lane), point(ed, 960, 8191, lane), steps=16)  # a rising bend over one beat
    bend = controls(ed, PITCH_BEND)
    ticks = [c.tick for c in bend]
    assert ticks == sorted(ticks) and ticks[0] >= 480 and all(t % 120 == 0 for t in ticks)
    values = [c.value for c in bend]
    assert values[:-1] == sorted(values[:-1]) and values[-2] > 7000  # rises to the top ...
    assert bend[-1] == ControlChange(1080, PITCH_BEND, 0)  # ... and the bend ends after the stroke
    assert controls(ed) == doc.song.tracks[0].controls_of(64) == before.tracks[0].controls_of(64)  # pedal untouched
    assert doc.undo_stack.undoText() == "Draw pitch bend"
    one_undo_step(ed, before, count)
    # Shift-drag erases the changes under the span
    drag(lane, point(ed, 400, 0, lane), point(ed, 1200, 0, lane), mods=SHIFT)
    assert controls(ed, PITCH_BEND) == ()


def test_the_lane_edits_the_current_track_only(qtbot, editor):
    ed, doc = editor, editor.document
    doc.current_track = 1
    drag(ed.sustain_lane, point(ed, 0, 100), point(ed, 480, 100))
    assert doc.song.tracks[1].controls == (ControlChange(0, 64, 127), ControlChange(480, 64, 0))
    assert doc.song.tracks[0].controls == (ControlChange(1920, 64, 127), ControlChange(2880, 64, 0))


def test_a_click_without_a_span_changes_nothing(qtbot, editor):
    ed, doc = editor, editor.document
    count = doc.undo_stack.index()
    p = point(ed, 480, 100)
    send(ed.sustain_lane, QEvent.Type.MouseButtonPress, p)
    send(ed.sustain_lane, QEvent.Type.MouseButtonRelease, p, LEFT, NOBUTTON)
    assert doc.undo_stack.index() == count
