"""The piano roll driven by real mouse and keyboard events (pytest-qt).

Every gesture must change the song as intended, be ONE undo step, and undo/redo must restore
the song exactly.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPalette, QWheelEvent
from PySide6.QtWidgets import QApplication

from gtzcomposer.core import KeySignature, Note, Song, TimeSignature, new_track
from gtzcomposer.ui.document import SongDocument
from gtzcomposer.ui.pianoroll import PianoRollEditor

LEFT = Qt.MouseButton.LeftButton
NOBUTTON = Qt.MouseButton.NoButton
NOMOD = Qt.KeyboardModifier.NoModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier
CTRL = Qt.KeyboardModifier.ControlModifier


def make_song() -> Song:
    lead = new_track(0, "Lead", notes=(Note(0, 60, 480, 100), Note(960, 64, 480, 80), Note(1920, 67, 960, 60)))
    bass = new_track(1, "Bass", notes=(Note(0, 28, 1920, 90),))
    return Song(tracks=(lead, bass), time_signatures=(TimeSignature(0, 4, 4),),
                key_signatures=(KeySignature(0, 0, "major"),))


@pytest.fixture
def editor(qtbot):
    doc = SongDocument(make_song())
    ed = PianoRollEditor(doc)
    qtbot.addWidget(ed)
    ed.resize(900, 600)
    ed.show()
    qtbot.waitExposed(ed)
    g = ed.controller.geometry
    g.px_per_tick = 0.1  # a quarter note is 48 px
    g.key_height = 12
    g.scroll_x = 0.0
    g.center_pitch(62, ed.view.height())
    ed.controller.viewChanged.emit()
    return ed


# --- event helpers -----------------------------------------------------------------------------
def xy(ed, tick: float, pitch: int) -> QPoint:
    """Point inside ``pitch``'s row at ``tick`` on the view."""
    g = ed.controller.geometry
    return QPoint(int(round(g.tick_to_x(tick))), int(g.pitch_to_y(pitch) + g.key_height // 2))


def send(widget, kind, pos, button=LEFT, buttons=LEFT, mods=NOMOD):
    p = QPointF(pos)
    ev = QMouseEvent(kind, p, QPointF(widget.mapToGlobal(p)), button, buttons, mods)
    QApplication.sendEvent(widget, ev)


def drag(qtbot, widget, start: QPoint, end: QPoint, mods=NOMOD, steps: int = 4):
    qtbot.mousePress(widget, LEFT, mods, start)
    for i in range(1, steps + 1):
        p = start + (end - start) * (i / steps)
        send(widget, QEvent.Type.MouseMove, p, NOBUTTON, LEFT, mods)
    qtbot.mouseRelease(widget, LEFT, mods, end)


def click(qtbot, widget, pos: QPoint, mods=NOMOD):
    qtbot.mouseClick(widget, LEFT, mods, pos)


def key(qtbot, widget, k, mods=NOMOD):
    qtbot.keyClick(widget, k, mods)


def notes_of(ed, track=0):
    return ed.document.song.tracks[track].notes


def check_one_undo_step(ed, before: Song, count_before: int):
    """The gesture made exactly one undo step; undo and redo restore the songs exactly."""
    stack = ed.document.undo_stack
    after = ed.document.song
    assert after != before
    assert stack.index() == count_before + 1
    stack.undo()
    assert ed.document.song == before
    stack.redo()
    assert ed.document.song == after


# --- drawing -----------------------------------------------------------------------------------
def test_draw_a_note_by_dragging_then_a_click_repeats_the_length(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("draw")
    before, count = doc.song, doc.undo_stack.index()
    drag(qtbot, ed.view, xy(ed, 2900, 72), xy(ed, 2880 + 720 + 20, 72))
    assert set(notes_of(ed)) - set(before.tracks[0].notes) == {Note(2880, 72, 720, 100)}
    assert ed.selected_notes() == (Note(2880, 72, 720, 100),)
    check_one_undo_step(ed, before, count)

    before, count = doc.song, doc.undo_stack.index()
    click(qtbot, ed.view, xy(ed, 3900, 70))  # snaps down to 3840 (1/16 grid), repeats 720
    assert Note(3840, 70, 720, 100) in notes_of(ed)
    check_one_undo_step(ed, before, count)
    assert ed.document.song.tracks[1] == before.tracks[1]  # other tracks untouched


def test_draw_without_snap_and_right_click_erases(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_snap(False)
    drag(qtbot, ed.view, xy(ed, 2910, 72), xy(ed, 3410, 72))
    (new,) = set(notes_of(ed)) - set(make_song().tracks[0].notes)
    assert abs(new.start - 2910) <= 10 and abs(new.duration - 500) <= 20
    before, count = doc.song, doc.undo_stack.index()
    qtbot.mouseClick(ed.view, Qt.MouseButton.RightButton, NOMOD, xy(ed, new.start + 100, 72))
    assert new not in notes_of(ed)
    check_one_undo_step(ed, before, count)


def test_drawing_in_an_empty_song_makes_a_track(qtbot):
    doc = SongDocument(Song())
    ed = PianoRollEditor(doc)
    qtbot.addWidget(ed)
    ed.resize(600, 400)
    ed.show()
    qtbot.waitExposed(ed)
    ed.grab()  # the empty-song hint paints
    click(qtbot, ed.view, QPoint(100, 100))
    assert len(doc.song.tracks) == 1 and len(doc.song.tracks[0].notes) == 1
    doc.undo_stack.undo()
    assert doc.song == Song()


# --- moving and resizing -------------------------------------------------------------------------
def test_move_a_note_by_dragging_is_one_step(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("select")
    before, count = doc.song, doc.undo_stack.index()
    drag(qtbot, ed.view, xy(ed, 1100, 64), xy(ed, 1100 + 480, 66), steps=8)
    assert Note(1440, 66, 480, 80) in notes_of(ed) and Note(960, 64, 480, 80) not in notes_of(ed)
    assert ed.selected_notes() == (Note(1440, 66, 480, 80),)
    check_one_undo_step(ed, before, count)


def test_shift_drag_locks_the_axis(qtbot, editor):
    ed = editor
    ed.set_tool("select")
    start = xy(ed, 1100, 64)
    end = start + QPoint(96 + 5, 10)  # mostly right, a little down
    drag(qtbot, ed.view, start, end, mods=SHIFT)
    assert Note(960 + 960, 64, 480, 80) in notes_of(ed)


def test_drag_moves_the_whole_selection_and_draw_tool_moves_too(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("draw")  # pressing on a note with the pencil edits it, as with select
    click(qtbot, ed.view, xy(ed, 100, 60))
    click(qtbot, ed.view, xy(ed, 1100, 64), SHIFT)
    assert set(ed.selected_notes()) == {Note(0, 60, 480, 100), Note(960, 64, 480, 80)}
    before, count = doc.song, doc.undo_stack.index()
    drag(qtbot, ed.view, xy(ed, 1100, 64), xy(ed, 1100 + 240, 63))
    assert {Note(240, 59, 480, 100), Note(1200, 63, 480, 80)} <= set(notes_of(ed))
    check_one_undo_step(ed, before, count)


def test_resize_from_the_right_edge(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("select")
    before, count = doc.song, doc.undo_stack.index()
    x1 = ed.view.note_span(Note(960, 64, 480, 80))[1]
    start = QPoint(x1 - 2, xy(ed, 0, 64).y())
    drag(qtbot, ed.view, start, start + QPoint(24, 0))  # +240 ticks
    assert Note(960, 64, 720, 80) in notes_of(ed)
    check_one_undo_step(ed, before, count)


def test_resize_from_the_left_edge(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("select")
    before, count = doc.song, doc.undo_stack.index()
    x0 = ed.view.note_span(Note(1920, 67, 960, 60))[0]
    start = QPoint(x0 + 1, xy(ed, 0, 67).y())
    drag(qtbot, ed.view, start, start + QPoint(24, 0))
    assert Note(2160, 67, 720, 60) in notes_of(ed)  # the end stays where it was
    check_one_undo_step(ed, before, count)
    # and to the left, past the end of the previous note
    before, count = doc.song, doc.undo_stack.index()
    x0 = ed.view.note_span(Note(2160, 67, 720, 60))[0]
    start = QPoint(x0 + 1, xy(ed, 0, 67).y())
    drag(qtbot, ed.view, start, start - QPoint(72, 0))
    assert Note(1440, 67, 1440, 60) in notes_of(ed)
    check_one_undo_step(ed, before, count)


def test_resize_never_goes_below_one_grid_step(qtbot, editor):
    ed = editor
    ed.set_tool("select")
    x1 = ed.view.note_span(Note(960, 64, 480, 80))[1]
    start = QPoint(x1 - 2, xy(ed, 0, 64).y())
    drag(qtbot, ed.view, start, start - QPoint(200, 0))
    assert Note(960, 64, 120, 80) in notes_of(ed)  # the 1/16 grid


# --- selection -----------------------------------------------------------------------------------
def test_rubber_band_shift_adds_ctrl_toggles(qtbot, editor):
    ed = editor
    ed.set_tool("select")
    seen = []
    ed.selectionChanged.connect(lambda: seen.append(1))
    # a band around the first two notes (pitches 60 and 64, ticks 0..1440)
    drag(qtbot, ed.view, xy(ed, 10, 65) - QPoint(0, 5), xy(ed, 1500, 59))
    assert set(ed.selected_notes()) == {Note(0, 60, 480, 100), Note(960, 64, 480, 80)}
    assert seen
    # Shift+band adds the third
    drag(qtbot, ed.view, xy(ed, 2000, 68), xy(ed, 2400, 66), mods=SHIFT)
    assert len(ed.selected_notes()) == 3
    # Ctrl+click toggles one off, and on again
    click(qtbot, ed.view, xy(ed, 1000, 64), CTRL)
    assert Note(960, 64, 480, 80) not in ed.selected_notes() and len(ed.selected_notes()) == 2
    click(qtbot, ed.view, xy(ed, 1000, 64), CTRL)
    assert len(ed.selected_notes()) == 3
    # a plain click on one of them selects just it; a click on empty space clears
    click(qtbot, ed.view, xy(ed, 100, 60))
    assert ed.selected_notes() == (Note(0, 60, 480, 100),)
    click(qtbot, ed.view, xy(ed, 3000, 80))
    assert ed.selected_notes() == ()
    assert ed.cursor_tick() == 3000  # and the click moved the cursor (snapped)
    # the document was never touched by selecting
    assert ed.document.undo_stack.count() == 0


def test_ctrl_a_and_escape(qtbot, editor):
    ed = editor
    ed.view.setFocus()
    key(qtbot, ed.view, Qt.Key.Key_A, CTRL)
    assert ed.selected_notes() == notes_of(ed)
    key(qtbot, ed.view, Qt.Key.Key_Escape)
    assert ed.selected_notes() == ()


# --- keys --------------------------------------------------------------------------------------------
def test_arrows_transpose_and_nudge(qtbot, editor):
    ed, doc = editor, editor.document
    ed.view.setFocus()
    ed.select_all()
    original = notes_of(ed)
    for k, mods, dtick, dpitch in ((Qt.Key.Key_Up, NOMOD, 0, 1), (Qt.Key.Key_Down, NOMOD, 0, -1),
                                   (Qt.Key.Key_Up, SHIFT, 0, 12), (Qt.Key.Key_Down, SHIFT, 0, -12),
                                   (Qt.Key.Key_Right, NOMOD, 120, 0)):
        before, count = doc.song, doc.undo_stack.index()
        key(qtbot, ed.view, k, mods)
        assert notes_of(ed) == tuple(sorted(n.moved(dtick, dpitch) for n in before.tracks[0].notes))
        assert ed.selected_notes() == notes_of(ed)  # the selection follows
        check_one_undo_step(ed, before, count)
        doc.undo_stack.undo()
        assert notes_of(ed) == original
        ed.select_all()
    # nudging left at tick 0 cannot go before the song start: nothing happens
    count = doc.undo_stack.index()
    key(qtbot, ed.view, Qt.Key.Key_Left)
    assert doc.undo_stack.index() == count and notes_of(ed) == original


def test_delete_and_backspace(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("select")
    click(qtbot, ed.view, xy(ed, 1000, 64))
    before, count = doc.song, doc.undo_stack.index()
    key(qtbot, ed.view, Qt.Key.Key_Delete)
    assert Note(960, 64, 480, 80) not in notes_of(ed) and len(notes_of(ed)) == 2
    check_one_undo_step(ed, before, count)
    click(qtbot, ed.view, xy(ed, 100, 60))
    key(qtbot, ed.view, Qt.Key.Key_Backspace)
    assert len(notes_of(ed)) == 1


def test_number_keys_switch_tools(qtbot, editor):
    ed = editor
    ed.view.setFocus()
    with qtbot.waitSignal(ed.toolChanged) as sig:
        key(qtbot, ed.view, Qt.Key.Key_2)
    assert sig.args == ["select"] and ed.tool() == "select"
    key(qtbot, ed.view, Qt.Key.Key_3)
    assert ed.tool() == "erase"
    key(qtbot, ed.view, Qt.Key.Key_1)
    assert ed.tool() == "draw"
    with pytest.raises(ValueError):
        ed.set_tool("lasso")


def test_erase_tool_drag_over_notes_is_one_step(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("erase")
    extra = (Note(0, 61, 240), Note(480, 61, 240), Note(960, 61, 240), Note(1440, 62, 240))
    ed.controller.replace_notes((), extra, "setup")
    ed.select_all()
    before, count = doc.song, doc.undo_stack.index()
    drag(qtbot, ed.view, xy(ed, 50, 61), xy(ed, 1200, 61), steps=10)
    assert not set(extra[:3]) & set(notes_of(ed)) and extra[3] in notes_of(ed)
    assert ed.controller.selection == set(notes_of(ed))  # erased notes left the selection
    check_one_undo_step(ed, before, count)


# --- clipboard, duplicate, quantize ------------------------------------------------------------------
def test_copy_paste_at_the_cursor_set_on_the_ruler(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("select")
    drag(qtbot, ed.view, xy(ed, 10, 65) - QPoint(0, 5), xy(ed, 1500, 59))
    key(qtbot, ed.view, Qt.Key.Key_C, CTRL)
    with qtbot.waitSignal(ed.cursorMoved) as sig:
        click(qtbot, ed.ruler, QPoint(int(ed.controller.geometry.tick_to_x(3840)) + 2, 10))
    assert sig.args == [3840] and ed.cursor_tick() == 3840
    before, count = doc.song, doc.undo_stack.index()
    ed.view.setFocus()
    key(qtbot, ed.view, Qt.Key.Key_V, CTRL)
    pasted = {Note(3840, 60, 480, 100), Note(3840 + 960, 64, 480, 80)}
    assert pasted <= set(notes_of(ed)) and set(ed.selected_notes()) == pasted
    check_one_undo_step(ed, before, count)
    ed.paste(0)  # pasting onto identical notes duplicates them, and undo removes one copy each
    assert len(notes_of(ed)) == 3 + 2 + 2
    doc.undo_stack.undo()
    assert doc.song == ed.document.song and len(notes_of(ed)) == 5


def test_cut_and_duplicate(qtbot, editor):
    ed, doc = editor, editor.document
    ed.view.setFocus()
    ed.set_tool("select")
    click(qtbot, ed.view, xy(ed, 100, 60))
    before, count = doc.song, doc.undo_stack.index()
    key(qtbot, ed.view, Qt.Key.Key_D, CTRL)
    assert Note(480, 60, 480, 100) in notes_of(ed)
    assert ed.selected_notes() == (Note(480, 60, 480, 100),)
    check_one_undo_step(ed, before, count)
    before, count = doc.song, doc.undo_stack.index()
    key(qtbot, ed.view, Qt.Key.Key_X, CTRL)
    assert Note(480, 60, 480, 100) not in notes_of(ed)
    check_one_undo_step(ed, before, count)
    ed.paste(5000)
    assert Note(5000, 60, 480, 100) in notes_of(ed)


def test_quantize_selection(qtbot, editor):
    ed, doc = editor, editor.document
    loose = (Note(1014, 72, 470, 90), Note(1490, 74, 250, 90))
    ed.controller.replace_notes((), loose, "setup")
    assert set(ed.selected_notes()) == set(loose)
    before, count = doc.song, doc.undo_stack.index()
    ed.quantize_selection(240, lengths=True)
    assert {Note(960, 72, 480, 90), Note(1440, 74, 240, 90)} <= set(notes_of(ed))
    assert set(ed.selected_notes()) == {Note(960, 72, 480, 90), Note(1440, 74, 240, 90)}
    check_one_undo_step(ed, before, count)
    before, count = doc.song, doc.undo_stack.index()
    doc.undo_stack.undo()
    ed.controller.set_selection(loose)
    ed.quantize_selection(240, strength=0.5)
    assert {Note(987, 72, 470, 90), Note(1465, 74, 250, 90)} <= set(notes_of(ed))


# --- velocity lane -------------------------------------------------------------------------------------
def lane_point(ed, tick, velocity):
    lane = ed.velocity_lane
    return QPoint(int(round(ed.controller.geometry.tick_to_x(tick))) + 1, lane.velocity_to_y(velocity))


def test_velocity_drag_on_a_bar(qtbot, editor):
    ed, doc = editor, editor.document
    lane = ed.velocity_lane
    before, count = doc.song, doc.undo_stack.index()
    drag(qtbot, lane, lane_point(ed, 960, 80), lane_point(ed, 960, 120), steps=6)
    (changed,) = set(notes_of(ed)) - set(before.tracks[0].notes)
    assert (changed.start, changed.pitch) == (960, 64) and 116 <= changed.velocity <= 124
    check_one_undo_step(ed, before, count)


def test_velocity_drag_moves_all_selected_bars_together(qtbot, editor):
    ed = editor
    ed.select_all()
    lane = ed.velocity_lane
    drag(qtbot, lane, lane_point(ed, 1920, 60), lane_point(ed, 1920, 40))
    got = {(n.start, n.velocity) for n in notes_of(ed)}
    delta = next(v for s, v in got if s == 1920) - 60
    assert -24 <= delta <= -16
    assert got == {(0, 100 + delta), (960, 80 + delta), (1920, 60 + delta)}
    assert len(ed.selected_notes()) == 3


def test_velocity_line_across_the_selection(qtbot, editor):
    ed, doc = editor, editor.document
    ed.controller.set_selection(notes_of(ed)[1:])  # the notes at 960 and 1920
    lane = ed.velocity_lane
    before, count = doc.song, doc.undo_stack.index()
    a = QPoint(int(ed.controller.geometry.tick_to_x(900)), lane.velocity_to_y(20))
    b = QPoint(int(ed.controller.geometry.tick_to_x(2000)), lane.velocity_to_y(120))
    drag(qtbot, lane, a, b, mods=SHIFT)
    vel = {n.start: n.velocity for n in notes_of(ed)}
    assert vel[0] == 100  # not selected: left alone
    assert vel[960] < vel[1920] and abs(vel[960] - 25) <= 4 and abs(vel[1920] - 113) <= 4
    check_one_undo_step(ed, before, count)


# --- ruler, keyboard, view ---------------------------------------------------------------------------
def test_ruler_drag_sets_the_loop_and_double_click_clears_it(qtbot, editor):
    ed = editor
    g = ed.controller.geometry
    seen = []
    ed.loopChanged.connect(seen.append)
    drag(qtbot, ed.ruler, QPoint(int(g.tick_to_x(1920)) + 1, 10), QPoint(int(g.tick_to_x(3840)) + 1, 10), steps=6)
    assert ed.loop() == (1920, 3840) and seen == [(1920, 3840)]  # told once, where it ended
    qtbot.mouseDClick(ed.ruler, LEFT, NOMOD, QPoint(50, 10))
    assert ed.loop() is None and seen[-1] is None


def test_pointer_position_is_reported_for_the_status_bar(qtbot, editor):
    ed = editor
    with qtbot.waitSignal(ed.pointerMoved) as sig:
        send(ed.view, QEvent.Type.MouseMove, xy(ed, 1440, 67), NOBUTTON, NOBUTTON)
    tick, pitch = sig.args
    assert abs(tick - 1440) <= 10 and pitch == 67


def test_keyboard_click_previews_the_pitch(qtbot, editor):
    ed = editor
    g = ed.controller.geometry
    with qtbot.waitSignal(ed.previewNote) as sig:
        click(qtbot, ed.keyboard, QPoint(ed.keyboard.width() - 4, int(g.pitch_to_y(62)) + 3))
    pitch, velocity = sig.args
    assert pitch == 62 and 100 <= velocity <= 127


def test_zoom_with_keys_and_ctrl_wheel_keeps_the_tick_under_the_mouse(qtbot, editor):
    ed = editor
    g = ed.controller.geometry
    ed.view.setFocus()
    ppt = g.px_per_tick
    key(qtbot, ed.view, Qt.Key.Key_Plus)
    assert g.px_per_tick > ppt
    key(qtbot, ed.view, Qt.Key.Key_Minus)
    assert abs(g.px_per_tick - ppt) < 1e-9
    g.scroll_x = 100
    pos = QPointF(300, 100)
    tick = g.x_to_tick(300)
    ev = QWheelEvent(pos, QPointF(ed.view.mapToGlobal(pos)), QPoint(), QPoint(0, 120), NOBUTTON, CTRL,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(ed.view, ev)
    assert g.px_per_tick > ppt and abs(g.x_to_tick(300) - tick) < 1
    # plain wheel scrolls vertically, Shift+wheel horizontally, and the scrollbars follow
    y, x = g.scroll_y, g.scroll_x
    ev = QWheelEvent(pos, QPointF(ed.view.mapToGlobal(pos)), QPoint(), QPoint(0, -120), NOBUTTON, NOMOD,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(ed.view, ev)
    assert g.scroll_y > y and ed.vbar.value() == int(round(g.scroll_y))
    ev = QWheelEvent(pos, QPointF(ed.view.mapToGlobal(pos)), QPoint(), QPoint(0, -120), NOBUTTON, SHIFT,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(ed.view, ev)
    assert g.scroll_x > x and ed.hbar.value() == int(round(g.scroll_x))
    ed.hbar.setValue(0)
    assert g.scroll_x == 0
    kh = g.key_height
    ed.zoom_vertical(2.0)
    assert g.key_height == 2 * kh


def test_default_view_shows_about_four_bars_around_the_notes(qtbot):
    lead = new_track(0, notes=tuple(Note(19200 + i * 480, 70 + i % 5, 480) for i in range(16)))
    doc = SongDocument(Song(tracks=(lead,)))
    ed = PianoRollEditor(doc)
    qtbot.addWidget(ed)
    ed.resize(1000, 600)
    ed.show()
    qtbot.waitExposed(ed)
    g = ed.controller.geometry
    t0, t1 = g.visible_ticks(ed.view.width())
    assert t0 == 19200 and 3.5 * 1920 <= t1 - t0 <= 4.5 * 1920
    low, high = g.visible_pitches(ed.view.height())
    assert low <= 70 and high >= 74 and high - low >= 30


def test_playhead_follow_scrolls_and_ghost_variation_paints(qtbot, editor):
    ed = editor
    g = ed.controller.geometry
    ed.set_follow(True)
    ed.set_playhead(20_000)
    t0, t1 = g.visible_ticks(ed.view.width())
    assert t0 <= 20_000 <= t1
    ed.set_follow(False)
    ed.set_playhead(100_000)
    assert not g.visible_ticks(ed.view.width())[0] <= 100_000 <= g.visible_ticks(ed.view.width())[1]
    ed.set_playhead(None)
    ed.scroll_to_tick(0)
    assert g.scroll_x == 0
    ed.set_ghost_variation([Note(0, 62, 480), Note(480, 65, 480)])
    img = ed.view.grab().toImage()
    x, y = int(g.tick_to_x(600)), int(g.pitch_to_y(65) + g.key_height / 2)
    ghost = img.pixelColor(x, y)
    ed.set_ghost_variation(None)
    plain = ed.view.grab().toImage().pixelColor(x, y)
    assert ghost != plain


def test_paints_notes_in_the_track_colour_light_and_dark(qtbot, editor):
    ed = editor
    g = ed.controller.geometry
    track_color = QColor(ed.document.song.tracks[0].color)
    for dark in (False, True):
        pal = QPalette()
        if dark:
            for role, c in ((QPalette.ColorRole.Base, "#1e1e1e"), (QPalette.ColorRole.Window, "#2b2b2b"),
                            (QPalette.ColorRole.Text, "#e0e0e0")):
                pal.setColor(role, QColor(c))
        ed.setPalette(pal)
        img = ed.view.grab().toImage()
        loud = img.pixelColor(int(g.tick_to_x(240)), int(g.pitch_to_y(60) + g.key_height / 2))  # velocity 100
        assert abs(loud.hue() - track_color.hue()) <= 12
        empty = img.pixelColor(int(g.tick_to_x(240)), int(g.pitch_to_y(72) + g.key_height / 2))
        assert (empty.lightness() < 100) == dark
        ed.select_all()
        ed.grab()
        ed.clear_selection()


def test_undo_of_an_edit_keeps_a_valid_selection_and_track_switch_clears_it(qtbot, editor):
    ed, doc = editor, editor.document
    ed.select_all()
    ed.transpose_selection(2)
    doc.undo_stack.undo()
    assert ed.selected_notes() == notes_of(ed)  # the notes that came back are selected
    doc.undo_stack.redo()
    assert ed.selected_notes() == notes_of(ed)
    ed.select_all()
    doc.current_track = 1
    assert ed.selected_notes() == ()
    ed.select_all()
    assert ed.selected_notes() == notes_of(ed, 1)


def test_switching_to_a_track_out_of_sight_scrolls_to_its_notes(qtbot, editor):
    ed, doc = editor, editor.document
    g = ed.controller.geometry
    low, high = g.visible_pitches(ed.view.height())
    assert not low <= 28 <= high  # the bass is below the view
    doc.current_track = 1
    low, high = g.visible_pitches(ed.view.height())
    assert low <= 28 <= high


def test_far_out_view_of_many_notes_draws_them_from_prebuilt_rectangles(qtbot):
    # 4,000 notes: sixteenths on pitch 60 for 250 bars, so far out they form a solid band
    lead = new_track(0, notes=tuple(Note(i * 120, 60, 110, 127) for i in range(4000)))
    other = new_track(1, notes=tuple(Note(i * 480, 50, 400, 100) for i in range(1000)))
    doc = SongDocument(Song(tracks=(lead, other)))
    ed = PianoRollEditor(doc)
    qtbot.addWidget(ed)
    ed.resize(1000, 600)
    ed.show()
    qtbot.waitExposed(ed)
    ctl, g = ed.controller, ed.controller.geometry
    for _ in range(30):
        ed.zoom_out()
    assert 1 / g.px_per_tick > 100
    g.center_pitch(60, ed.view.height())
    ctl.viewChanged.emit()
    img = ed.view.grab().toImage()
    assert ed.view._lod  # the far-out path was taken
    y60 = int(g.pitch_to_y(60) + g.key_height / 2)
    y50 = int(g.pitch_to_y(50) + g.key_height / 2)
    x = int(g.tick_to_x(200_000))
    lead_px, ghost_px, empty_px = img.pixelColor(x, y60), img.pixelColor(x, y50), img.pixelColor(x, y60 - 3 * g.key_height)
    assert abs(lead_px.hue() - QColor(lead.color).hue()) <= 12
    assert ghost_px != empty_px and ghost_px != lead_px
    # the velocity lane draws its bars too (loud notes: tall bars)
    lane = ed.velocity_lane.grab().toImage()
    assert lane.pixelColor(x, ed.velocity_lane.velocity_to_y(110)) != lane.pixelColor(x, 1)
    # selecting still shows: the selected note gets an outline in the text colour
    ed.select_all()
    assert ed.view.grab().toImage() != img


def test_triplet_grid_alt_disables_snap_and_drawing_previews_the_pitch(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_grid(8, triplet=True)  # eighth triplets: 160 ticks
    with qtbot.waitSignal(ed.previewNote) as sig:
        drag(qtbot, ed.view, xy(ed, 3850, 70), xy(ed, 3840 + 330, 70))
    assert sig.args == [70, 100]
    assert Note(3840, 70, 320, 100) in notes_of(ed)
    with pytest.raises(ValueError):
        ed.set_grid(12)
    before = set(notes_of(ed))
    alt = Qt.KeyboardModifier.AltModifier
    drag(qtbot, ed.view, xy(ed, 4810, 72), xy(ed, 5010, 72), mods=alt)
    (new,) = set(notes_of(ed)) - before
    assert new.start % 160 != 0 and abs(new.start - 4810) <= 10 and abs(new.duration - 200) <= 20
    assert doc.undo_stack.index() == 2


def test_snapping_follows_a_meter_change(qtbot):
    # 3/4 from bar 2: bars start at 0, 1920, 3360, 4800 ...; a whole-note grid snaps to bar lines
    doc = SongDocument(Song(tracks=(new_track(0),), time_signatures=(TimeSignature(0), TimeSignature(1920, 3, 4))))
    ed = PianoRollEditor(doc)
    qtbot.addWidget(ed)
    ed.resize(900, 500)
    ed.show()
    qtbot.waitExposed(ed)
    g = ed.controller.geometry
    g.px_per_tick, g.scroll_x = 0.05, 0.0
    ed.set_grid(1)
    pos = QPoint(int(g.tick_to_x(3500)), int(g.pitch_to_y(60)) + 3)
    drag(qtbot, ed.view, pos, QPoint(int(g.tick_to_x(4700)), pos.y()))
    assert doc.song.tracks[0].notes == (Note(3360, 60, 1440, 100),)


def test_vertical_zoom_with_ctrl_shift_wheel(qtbot, editor):
    ed = editor
    g = ed.controller.geometry
    kh = g.key_height
    pos = QPointF(200, 200)
    pitch = g.y_to_pitch(200)
    ev = QWheelEvent(pos, QPointF(ed.view.mapToGlobal(pos)), QPoint(), QPoint(0, 120), NOBUTTON, CTRL | SHIFT,
                     Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(ed.view, ev)
    assert g.key_height > kh and g.y_to_pitch(200) == pitch


def test_dragging_selected_notes_past_the_grid_edge_is_an_ordinary_clamped_move(qtbot, editor):
    """(Dragging notes out of the window is the tool bar's Drag MIDI button, not the grid.)"""
    ed, doc = editor, editor.document
    ed.set_tool("select")
    click(qtbot, ed.view, xy(ed, 100, 60))
    click(qtbot, ed.view, xy(ed, 1100, 64), SHIFT)
    start = xy(ed, 1100, 64)
    drag(qtbot, ed.view, start, QPoint(start.x(), -60), steps=8)
    assert doc.undo_stack.index() == 1 and Note(0, 60, 480, 100) not in notes_of(ed)


def test_keys_win_over_a_main_window_shortcut_while_the_grid_has_focus(qtbot):
    from PySide6.QtGui import QAction, QKeySequence
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QMainWindow

    doc = SongDocument(make_song())
    win = QMainWindow()
    qtbot.addWidget(win)
    ed = PianoRollEditor(doc)
    win.setCentralWidget(ed)
    fired = []
    action = QAction("Select all tracks", win)
    action.setShortcut(QKeySequence("Ctrl+A"))
    action.triggered.connect(lambda: fired.append(1))
    win.addAction(action)
    win.resize(900, 600)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    qtbot.waitActive(win)
    ed.setFocus()
    qtbot.waitUntil(ed.view.hasFocus)
    QTest.keyClick(win.windowHandle(), Qt.Key.Key_A, CTRL)  # through the window, as a real key
    assert ed.selected_notes() == notes_of(ed) and not fired
    ed.clear_selection()
    ed.view.clearFocus()  # with the grid unfocused, the window's shortcut gets the key
    assert not ed.view.hasFocus()
    QTest.keyClick(win.windowHandle(), Qt.Key.Key_A, CTRL)
    assert fired and ed.selected_notes() == ()


def test_dragging_past_the_edge_scrolls_and_the_notes_follow(qtbot, editor):
    ed, doc = editor, editor.document
    ed.set_tool("select")
    g = ed.controller.geometry
    start = xy(ed, 1100, 64)
    qtbot.mousePress(ed.view, LEFT, NOMOD, start)
    outside = QPoint(ed.view.width() + 50, start.y())
    send(ed.view, QEvent.Type.MouseMove, QPoint(ed.view.width() - 5, start.y()), NOBUTTON, LEFT)
    send(ed.view, QEvent.Type.MouseMove, outside, NOBUTTON, LEFT)
    qtbot.waitUntil(lambda: g.scroll_x > 400, timeout=3000)
    tick_at_release = g.x_to_tick(outside.x())
    qtbot.mouseRelease(ed.view, LEFT, NOMOD, outside)
    scrolled = g.scroll_x
    qtbot.wait(100)
    assert g.scroll_x == scrolled  # stops with the release
    moved = [n for n in notes_of(ed) if n.pitch == 64]
    assert len(moved) == 1 and abs(moved[0].start - (960 + tick_at_release - 1100)) <= 120
    assert doc.undo_stack.index() == 1


def test_opening_another_song_shows_its_notes_and_save_as_keeps_the_view(qtbot, editor, tmp_path):
    ed, doc = editor, editor.document
    g = ed.controller.geometry
    ed.select_all()
    far = new_track(0, notes=tuple(Note(96_000 + i * 240, 100 + i % 3, 240) for i in range(8)))
    doc.set_song(Song(tracks=(far,)), tmp_path / "other.gtzc")
    t0, t1 = g.visible_ticks(ed.view.width())
    low, high = g.visible_pitches(ed.view.height())
    assert t0 <= 96_000 <= t1 and low <= 101 <= high
    assert ed.selected_notes() == ()
    ed.zoom_in()
    view = (g.px_per_tick, g.scroll_x, g.scroll_y)
    doc.path = tmp_path / "renamed.gtzc"  # Save As
    assert (g.px_per_tick, g.scroll_x, g.scroll_y) == view


def test_the_velocity_lane_height_can_be_dragged(qtbot, editor):
    ed = editor
    total = sum(ed.splitter.sizes())
    ed.splitter.setSizes([total - 200, 200])
    qtbot.waitUntil(lambda: ed.velocity_lane.height() >= 190)
    assert ed.controller.viewport[1] == ed.view.height() and ed.view.height() < total - 180
    # the lane keeps its own mapping: velocity 127 at the top, 1 near the bottom
    assert ed.velocity_lane.y_to_velocity(ed.velocity_lane.velocity_to_y(100)) == 100
