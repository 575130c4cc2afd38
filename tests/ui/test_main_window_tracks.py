"""Track list and song panel: every change is one undo step that undoes and redoes exactly."""

from PySide6.QtCore import Qt

from gtzcomposer.core import DRUM_CHANNEL, GM_FAMILIES, KeySignature, TempoChange, TimeSignature
from gtzcomposer.ui.track_list import DRUM_KIT, build_instrument_menu
from tests.helpers import two_track_song
from tests.ui.mw_helpers import make_window


def check_undo_redo(doc, before, after):
    """The document holds ``after``; undo gives ``before`` exactly, redo ``after`` again."""
    assert doc.song == after and after != before
    doc.undo_stack.undo()
    assert doc.song == before
    doc.undo_stack.redo()
    assert doc.song == after


def test_instrument_menu_has_128_programs_in_16_families_and_drums(qtbot):
    menu = build_instrument_menu()
    subs = [a.menu() for a in menu.actions() if a.menu()]
    assert [m.title() for m in subs] == list(GM_FAMILIES)
    programs = [a.data() for m in subs for a in m.actions()]
    assert programs == list(range(128))
    assert subs[0].actions()[0].text() == "1  Acoustic Grand Piano"
    assert menu.actions()[-1].data() == DRUM_KIT


def test_add_track_with_the_button_then_undo_redo(qtbot):
    w = make_window(qtbot, two_track_song())
    doc, tl = w.document, w.track_list
    doc.current_track = 0
    before = doc.song
    qtbot.mouseClick(tl.add_button, Qt.MouseButton.LeftButton)
    after = doc.song
    assert len(after.tracks) == 4 and after.tracks[1].notes == ()
    assert after.tracks[1].channel not in {t.channel for i, t in enumerate(after.tracks) if i != 1}
    assert doc.current_track == 1 and tl.list.count() == 4 and tl.list.currentRow() == 1
    check_undo_redo(doc, before, after)
    assert doc.undo_stack.count() == 1


def test_remove_track_then_undo_restores_it_with_its_notes(qtbot):
    w = make_window(qtbot, two_track_song())
    doc = w.document
    doc.current_track = 1
    before = doc.song
    qtbot.mouseClick(w.track_list.remove_button, Qt.MouseButton.LeftButton)
    assert [t.name for t in doc.song.tracks] == ["Lead", "Drums"]
    check_undo_redo(doc, before, doc.song)
    doc.undo_stack.undo()
    assert w.track_list.list.count() == 3


def test_rename_by_typing_in_the_name_field(qtbot):
    w = make_window(qtbot, two_track_song())
    w.show()
    doc = w.document
    before = doc.song
    edit = w.track_list.row_widget(1).name_edit
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "Walking bass")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert doc.song.tracks[1].name == "Walking bass"
    assert doc.undo_stack.undoText() == "Rename track" and doc.undo_stack.count() == 1
    check_undo_redo(doc, before, doc.song)
    doc.undo_stack.undo()
    assert w.track_list.row_widget(1).name_edit.text() == "Bass"


def test_instrument_from_the_menu_and_drum_kit(qtbot):
    w = make_window(qtbot, two_track_song())
    doc, tl = w.document, w.track_list
    before = doc.song
    tl.row_widget(1).instrument_button.click()  # the menu pops up for track 2
    qtbot.waitUntil(tl.instrument_menu.isVisible, timeout=2000)
    strings = [a.menu() for a in tl.instrument_menu.actions() if a.menu()][5]
    strings.actions()[2].trigger()  # Cello
    assert doc.song.tracks[1].program == 42
    assert tl.row_widget(1).instrument_button.text().strip() == "43 Cello"
    check_undo_redo(doc, before, doc.song)

    before = doc.song
    tl.set_instrument(1, DRUM_KIT)
    t = doc.song.tracks[1]
    assert t.is_drum and t.channel == DRUM_CHANNEL
    check_undo_redo(doc, before, doc.song)
    before = doc.song
    tl.set_instrument(1, 0)  # back to a melodic program: a free melodic channel
    t = doc.song.tracks[1]
    assert not t.is_drum and t.program == 0 and t.channel != DRUM_CHANNEL
    check_undo_redo(doc, before, doc.song)


def test_mute_and_solo_buttons(qtbot):
    w = make_window(qtbot, two_track_song())
    w.show()
    doc = w.document
    row = w.track_list.row_widget(0)
    before = doc.song
    qtbot.mouseClick(row.mute_button, Qt.MouseButton.LeftButton)
    assert doc.song.tracks[0].mute and doc.song.audible_tracks() == (1, 2)
    check_undo_redo(doc, before, doc.song)
    doc.undo_stack.undo()
    assert not w.track_list.row_widget(0).mute_button.isChecked()
    doc.undo_stack.redo()
    before = doc.song
    qtbot.mouseClick(w.track_list.row_widget(2).solo_button, Qt.MouseButton.LeftButton)
    assert doc.song.tracks[2].solo and doc.song.audible_tracks() == (2,)
    check_undo_redo(doc, before, doc.song)


def test_colour_and_channel(qtbot):
    w = make_window(qtbot, two_track_song())
    doc, tl = w.document, w.track_list
    before = doc.song
    tl.set_color(0, "#123456")
    assert doc.song.tracks[0].color == "#123456"
    check_undo_redo(doc, before, doc.song)
    before = doc.song
    spin = tl.row_widget(0).channel_spin
    spin.setValue(5)
    spin.setValue(6)  # arrow clicks in a row merge into one step
    assert doc.song.tracks[0].channel == 5
    check_undo_redo(doc, before, doc.song)
    assert doc.undo_stack.count() == 2


def test_clicking_a_track_makes_it_current(qtbot):
    w = make_window(qtbot, two_track_song())
    w.show()
    qtbot.mouseClick(w.track_list.row_widget(2).mute_button, Qt.MouseButton.LeftButton)
    assert w.document.current_track == 2


def test_tempo_edit_undo_redo(qtbot):
    w = make_window(qtbot, two_track_song())
    doc, panel = w.document, w.transport.song_panel
    before = doc.song
    panel.tempo_spin.setValue(90)
    assert doc.song.tempos == (TempoChange.from_bpm(0, 90), TempoChange.from_bpm(1920, 140))
    check_undo_redo(doc, before, doc.song)
    # At the cursor in bar 2 the second tempo is shown and edited.
    w.transport.set_cursor(2000)
    assert panel.tempo_spin.value() == 140
    before = doc.song
    panel.tempo_spin.setValue(150)
    assert doc.song.tempos[1] == TempoChange.from_bpm(1920, 150)
    check_undo_redo(doc, before, doc.song)


def test_meter_edit_undo_redo(qtbot):
    w = make_window(qtbot, two_track_song())
    doc, panel = w.document, w.transport.song_panel
    before = doc.song
    panel.numerator_spin.setValue(6)
    panel.denominator_combo.setCurrentIndex(panel.denominator_combo.findData(8))
    assert doc.song.time_signatures[0] == TimeSignature(0, 6, 8)
    assert doc.undo_stack.count() == 1  # consecutive meter changes: one step
    check_undo_redo(doc, before, doc.song)
    doc.undo_stack.undo()
    assert (panel.numerator_spin.value(), panel.denominator_combo.currentData()) == (4, 4)


def test_key_edit_undo_redo(qtbot):
    w = make_window(qtbot, two_track_song())
    doc, combo = w.document, w.transport.song_panel.key_combo
    assert combo.currentText() == "D major"
    before = doc.song
    combo.setCurrentIndex(combo.findText("Bb minor"))
    assert doc.song.key_signatures == (KeySignature.parse("Bb minor"),)
    check_undo_redo(doc, before, doc.song)
    before = doc.song
    combo.setCurrentIndex(combo.findText("No key"))
    assert doc.song.key_signatures == ()
    check_undo_redo(doc, before, doc.song)
    doc.undo_stack.undo()
    assert combo.currentText() == "Bb minor"


def test_remove_every_track_then_add_then_undo_all(qtbot):
    w = make_window(qtbot, two_track_song())
    doc, tl = w.document, w.track_list
    before = doc.song
    for _ in range(3):
        tl.remove_track()
    assert doc.song.tracks == () and tl.list.count() == 0 and not tl.remove_button.isEnabled()
    w.track_instrument_menu.actions()[0].menu().actions()[0].trigger()  # no track: nothing happens
    assert tl.add_track() == 0 and len(doc.song.tracks) == 1
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.song == before and tl.list.count() == 3
