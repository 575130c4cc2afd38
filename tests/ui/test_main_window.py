"""Main window: layout, edit/undo wiring, unsaved-changes prompt, settings remembered,
transport availability, themes."""

from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QFileDialog, QMessageBox

from gtzcomposer.core import AddNotes, Note
from gtzcomposer.ui import main_window as mw
from gtzcomposer.ui.dialogs import QuantizeDialog
from gtzcomposer.ui.docks import LazyDock
from gtzcomposer.ui.settings import Settings
from tests.helpers import melody_song, two_track_song
from tests.ui.mw_helpers import Dialogs, Speaker, make_window


def menu_titles(window):
    return [a.text().replace("&", "") for a in window.menuBar().actions()]


def test_window_has_menus_toolbars_docks_and_status(qtbot):
    w = make_window(qtbot)
    assert menu_titles(w) == ["File", "Edit", "View", "Track", "Transport", "Sound", "Help"]
    file_items = [a.text().replace("&", "") for a in w.file_menu.actions() if a.text()]
    for item in ("New", "Open…", "Open Recent", "Save", "Save As…", "Import", "Export", "Quit"):
        assert item in file_items
    docks = {d.objectName() for d in w.findChildren(QDockWidget)}
    assert docks == {"TracksDock", "GenreDock", "ContinueDock"}
    assert w.centralWidget() is w.editor
    assert w.grid_combo.count() == 6 and w.grid_combo.itemText(5) == "1/32"
    assert w.selection_label.text() == "No selection"
    assert w.position_label.text() == "Cursor 1.1.000"
    assert w.document.song == mw.default_song()
    assert w.windowTitle() == "Untitled[*] — gtzcomposer"


def test_undo_redo_actions_follow_the_stack_with_the_edit_label(qtbot):
    w = make_window(qtbot)
    assert not w.undo_action.isEnabled()
    w.document.push(AddNotes(0, [Note(0, 60, 480)], "Draw note"))
    assert w.undo_action.isEnabled() and w.undo_action.text() == "&Undo Draw note"
    assert w.isWindowModified()
    w.undo_action.trigger()
    assert w.document.song == mw.default_song() and not w.isWindowModified()
    assert w.redo_action.text() == "&Redo Draw note"
    w.redo_action.trigger()
    assert Note(0, 60, 480) in w.document.song.tracks[0].notes


def test_unsaved_changes_prompt_on_new(qtbot, monkeypatch):
    w = make_window(qtbot, melody_song())
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    edited = w.document.song
    dialogs = Dialogs(monkeypatch, warning=QMessageBox.StandardButton.Cancel)
    w.files.new_file()
    assert dialogs.warnings and w.document.song == edited  # cancelled: nothing changes
    dialogs.warning_answer = QMessageBox.StandardButton.Discard
    w.files.new_file()
    assert w.document.song == mw.default_song() and not w.document.modified
    assert len(dialogs.warnings) == 2
    w.files.new_file()  # nothing unsaved now: no question
    assert len(dialogs.warnings) == 2


def test_unsaved_changes_prompt_on_quit(qtbot, monkeypatch):
    w = make_window(qtbot, melody_song())
    w.show()
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    dialogs = Dialogs(monkeypatch, warning=QMessageBox.StandardButton.Cancel)
    assert not w.close()
    assert w.isVisible() and len(dialogs.warnings) == 1
    dialogs.warning_answer = QMessageBox.StandardButton.Discard
    assert w.close()


def test_unsaved_changes_save_answer_saves_first(qtbot, monkeypatch, tmp_path):
    w = make_window(qtbot, melody_song())
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    Dialogs(monkeypatch, warning=QMessageBox.StandardButton.Save)
    asked = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: asked.append(a[1]) or ("", ""))
    w.files.new_file()  # Save -> Save As -> the user cancels the file dialog
    assert asked == ["Save As"] and w.document.modified  # a cancelled save keeps the song


def test_window_state_and_editor_choices_are_remembered(qtbot):
    w = make_window(qtbot)
    w.set_tool("erase")
    w.grid_combo.setCurrentIndex(w.grid_combo.findData(8))
    w.triplet_action.setChecked(True)
    w.snap_action.setChecked(False)
    w.transport.follow_action.setChecked(False)
    w.track_dock.hide()
    w.save_settings()
    w2 = make_window(qtbot)
    assert w2.current_tool() == "erase"
    assert w2.grid() == (8, True)
    assert not w2.snap_action.isChecked() and not w2.transport.follow_action.isChecked()
    assert w2.track_dock.isHidden()


def test_tool_snap_grid_and_quantize_reach_the_piano_roll(qtbot):
    song = melody_song(pitches=[60, 62, 64], step=400)  # off the quarter grid
    w = make_window(qtbot, song)
    ctl = w.editor.controller
    w.tool_actions["select"].trigger()
    assert ctl.tool == "select"
    snap = w.snap_action.isChecked()
    w.snap_action.setChecked(not snap)
    assert ctl.snap is (not snap)
    w.grid_combo.setCurrentIndex(w.grid_combo.findData(4))
    assert (ctl.division, ctl.triplet) == (4, False)
    w.actions_by_name["select_all"].trigger()
    w.actions_by_name["quick_quantize"].trigger()
    assert [n.start for n in w.document.song.tracks[0].notes] == [0, 480, 960]  # 0, 400, 800 -> quarters


def activate(qtbot, w):
    w.show()
    qtbot.waitExposed(w)
    w.windowHandle().requestActivate()  # window shortcuts need the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)


def test_playback_controls_disabled_with_the_reason_and_space_says_why(qtbot):
    speaker = Speaker(audio=False, reason="no audio device found")
    w = make_window(qtbot, melody_song(), make_playback=speaker)
    w.playback.start_probe(background=False)
    t = w.transport
    assert not t.play_action.isEnabled() and not t.play_cursor_action.isEnabled()
    assert "no audio device found" in t.play_action.toolTip()
    activate(qtbot, w)
    w.track_list.list.setFocus()
    w.statusBar().clearMessage()
    qtbot.keyClick(w.track_list.list, Qt.Key.Key_Space)  # once did nothing at all
    assert w.statusBar().currentMessage() == "Cannot play: no audio device found"
    assert not t.play_action.isChecked() and not speaker.service.isPlaying()


def test_audio_check_runs_in_the_background(qtbot):
    w = make_window(qtbot, make_playback=Speaker())
    assert not w.transport.play_action.isEnabled()  # until the check is done
    assert "checking" in w.transport.play_action.toolTip()
    w.playback.start_probe()
    qtbot.waitUntil(w.transport.play_action.isEnabled, timeout=5000)
    assert w.transport.play_action.toolTip() == "Play / Stop (Space)"


def test_space_plays_and_stops_loop_mute_and_preview(qtbot):
    speaker = Speaker()
    song = two_track_song()
    w = make_window(qtbot, song, make_playback=speaker)
    w.playback.start_probe(background=False)
    assert w.transport.play_action.isEnabled()
    activate(qtbot, w)
    w.track_list.list.setFocus()
    qtbot.keyClick(w.track_list.list, Qt.Key.Key_Space)
    assert speaker.service.isPlaying() and w.transport.play_action.isChecked()
    speaker.run(0.5)
    lead, bass = song.tracks[0], song.tracks[1]
    assert (lead.channel, 72) in speaker.notes_on() and (bass.channel, 36) in speaker.notes_on()
    qtbot.waitUntil(lambda: w.transport.position_label.text() != "1.1.000", timeout=2000)  # the playhead moves
    qtbot.keyClick(w.track_list.list, Qt.Key.Key_Space)
    assert not speaker.service.isPlaying() and not w.transport.play_action.isChecked()
    # Loop on without a region: four bars from the cursor's bar are looped.
    w.transport.loop_action.setChecked(True)
    assert w.editor.loop() == (0, 4 * 1920) and (speaker.service.player().loop.start, speaker.service.player().loop.end) == (0, 4 * 1920)
    w.transport.loop_action.setChecked(False)
    assert speaker.service.player().loop is None
    # While playing, edits (a mute) reach the player at once.
    w.playback.play()
    w.track_list.set_mute(1, True)
    speaker.sink.got.clear()
    speaker.service.seek(0)
    speaker.run(1.0)
    heard = speaker.notes_on()
    assert (lead.channel, 72) in heard and not any(ch == bass.channel for ch, _p in heard)
    w.playback.stop()
    speaker.sink.got.clear()
    w.document.current_track = 2
    w.playback.preview_note(38, 90)
    speaker.run(0.05)
    assert any(p == 38 for _ch, p in speaker.notes_on())  # a drum preview


def test_light_and_dark_palettes(qtbot):
    w = make_window(qtbot)
    w.set_theme("dark")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Base).lightness() < 80
    assert Settings().get("appearance/theme") == "dark"
    assert w.dark_action.isChecked()
    w.set_theme("light")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Base).lightness() > 200


def test_first_start_shows_the_genre_and_continue_docks_and_builds_them_after_showing(qtbot):
    w = make_window(qtbot)
    assert w.genre_dock.panel is None and w.continue_dock.panel is None  # nothing built before show
    w.show()
    assert not w.genre_dock.isHidden() and not w.continue_dock.isHidden()  # once both were hidden
    assert w.tabifiedDockWidgets(w.continue_dock) == [w.genre_dock]
    qtbot.waitUntil(lambda: w.continue_dock.panel is not None, timeout=5000)
    assert w.continue_dock.widget().widget() is w.continue_dock.panel  # in its scroll area
    w.genre_dock.raise_()
    qtbot.waitUntil(lambda: w.genre_dock.panel is not None, timeout=5000)


def test_notes_for_drag_starts_at_the_bar_of_the_first_note(qtbot):
    song = two_track_song()
    w = make_window(qtbot, song)
    track = song.tracks[0]
    chosen = track.notes[2:]  # start at tick 960 (bar 1)
    w.editor.controller.set_selection(chosen)
    out = w.drag_handle.excerpt()
    assert len(out.tracks) == 1 and out.tracks[0].program == track.program
    assert out.tracks[0].notes == tuple(sorted(chosen))  # bar 1 starts at 0 → no shift
    w.editor.controller.set_selection(track.notes[3:])  # tick 1920 = bar 2
    out = w.drag_handle.excerpt()
    assert out.tracks[0].notes == (replace(track.notes[3], start=0),)
    assert out.time_signatures[0].numerator == 3  # the meter at bar 2
    assert round(out.tempos[0].bpm) == 140


def test_open_recent_menu_lists_remembered_files(qtbot, tmp_path):
    w = make_window(qtbot)
    w.recent_menu.aboutToShow.emit()
    assert [a.text() for a in w.recent_menu.actions()] == ["No recent files"]
    w.settings.add_recent(tmp_path / "a.gtzc")
    w.settings.add_recent(tmp_path / "b.mid")
    w.recent_menu.aboutToShow.emit()
    texts = [a.text() for a in w.recent_menu.actions() if not a.isSeparator()]
    assert texts == ["b.mid", "a.gtzc", "Clear List"]
    w.recent_menu.actions()[-1].trigger()
    assert w.settings.recent_files() == []


def test_quantize_dialog_values(qtbot):
    dialog = QuantizeDialog(8, True)
    qtbot.addWidget(dialog)
    assert dialog.grid_combo.currentText() == "1/8 triplet"
    dialog.strength.setValue(50)
    dialog.lengths.setChecked(True)
    assert dialog.values() == (160, 0.5, True)


def test_edit_menu_drives_the_piano_roll(qtbot):
    w = make_window(qtbot, two_track_song())
    w.show()
    doc = w.document
    before = doc.song
    w.actions_by_name["select_all"].trigger()
    assert w.selection_label.text() == f"{len(before.tracks[0].notes)} selected"
    w.actions_by_name["up_semitone"].trigger()  # up a semitone
    assert [n.pitch for n in doc.song.tracks[0].notes] == [n.pitch + 1 for n in before.tracks[0].notes]
    w.actions_by_name["delete"].trigger()
    assert doc.song.tracks[0].notes == () and doc.song.tracks[1] == before.tracks[1]
    w.undo_action.trigger()
    w.undo_action.trigger()
    assert doc.song == before


def test_a_panel_that_fails_to_start_shows_why(qtbot):
    def broken(parent):
        raise RuntimeError("model file missing")

    dock = LazyDock("Genre", "GenreDock", broken)
    qtbot.addWidget(dock)
    panel = dock.ensure_panel()
    assert "model file missing" in panel.text() and dock.widget() is panel
