"""Main window: layout, edit/undo wiring, unsaved-changes prompt, settings remembered,
transport availability, themes."""

from dataclasses import replace

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QDockWidget, QMessageBox

from gtzcomposer.core import AddNotes, Note
from gtzcomposer.ui import main_window as mw
from gtzcomposer.ui import transport as transport_mod
from gtzcomposer.ui.settings import Settings
from tests.helpers import melody_song, two_track_song
from tests.ui.mw_helpers import Dialogs, make_window, needs


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
    w.new_file()
    assert dialogs.warnings and w.document.song == edited  # cancelled: nothing changes
    dialogs.warning_answer = QMessageBox.StandardButton.Discard
    w.new_file()
    assert w.document.song == mw.default_song() and not w.document.modified
    assert len(dialogs.warnings) == 2
    w.new_file()  # nothing unsaved now: no question
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
    saved = []
    monkeypatch.setattr(w, "save", lambda: saved.append(True) or False)  # the save fails / is cancelled
    w.new_file()
    assert saved == [True] and w.document.modified  # a failed save keeps the song


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


def test_editor_receives_tool_snap_grid(qtbot):
    w = make_window(qtbot)
    calls = []
    for name in ("set_tool", "set_snap", "set_grid", "quantize_selection"):
        monkeypatch_method(w.editor, name, calls)
    w.tool_actions["select"].trigger()
    w.snap_action.setChecked(not w.snap_action.isChecked())
    w.grid_combo.setCurrentIndex(w.grid_combo.findData(4))
    w.quick_quantize_action.trigger()
    assert ("set_tool", ("select",)) in calls
    assert any(c[0] == "set_snap" for c in calls)
    assert ("set_grid", (4, False)) in calls
    assert ("quantize_selection", (480, 1.0, False)) in calls


def monkeypatch_method(obj, name, calls):
    def record(*args):
        calls.append((name, args))
    setattr(obj, name, record)


class FakePlayback(QObject):
    positionChanged = Signal(float)
    stateChanged = Signal(str)
    finished = Signal()
    availabilityChanged = Signal(bool, str)

    def __init__(self, ok=True, reason=""):
        super().__init__()
        self.ok, self.reason, self.calls, self.song = ok, reason, [], None

    def available(self):
        return self.ok, self.reason

    def setSong(self, song):
        self.song = song

    def play(self, from_tick=None):
        self.calls.append(("play", from_tick))
        return True

    def stop(self):
        self.calls.append(("stop",))

    def seek(self, tick):
        self.calls.append(("seek", tick))

    def setLoop(self, start, end):
        self.calls.append(("loop", start, end))

    def clearLoop(self):
        self.calls.append(("noloop",))

    def preview(self, pitch, velocity=100, program=0, is_drum=False):
        self.calls.append(("preview", pitch, velocity, program, is_drum))
        return True


def test_playback_controls_disabled_with_the_reason_when_no_audio(qtbot, monkeypatch):
    fake = FakePlayback(ok=False, reason="no audio device found")
    monkeypatch.setattr(transport_mod, "create_playback", lambda parent=None, soundfont=None: (fake, ""))
    w = make_window(qtbot)
    w.init_playback()
    t = w.transport
    assert not t.play_action.isEnabled() and not t.play_cursor_action.isEnabled()
    assert "no audio device found" in t.play_action.toolTip()
    assert not t.metronome_action.isEnabled()  # the fake has no metronome
    w.play()
    assert fake.calls == [] and not t.play_action.isChecked()


def test_audio_check_runs_in_the_background(qtbot, monkeypatch):
    fake = FakePlayback(ok=True)
    monkeypatch.setattr(transport_mod, "create_playback", lambda parent=None, soundfont=None: (fake, ""))
    w = make_window(qtbot)
    assert not w.transport.play_action.isEnabled()  # until the check is done
    assert "checking" in w.transport.play_action.toolTip()
    w.init_playback(background=True)
    qtbot.waitUntil(w.transport.play_action.isEnabled, timeout=5000)
    assert w.transport.play_action.toolTip() == "Play / Stop (Space)"


def test_playback_not_in_build_disables_with_reason(qtbot, monkeypatch):
    monkeypatch.setattr(transport_mod, "create_playback", lambda parent=None, soundfont=None: (None, "gone"))
    w = make_window(qtbot)
    w.init_playback()
    assert not w.transport.play_action.isEnabled()
    assert "not available in this build" in w.transport.play_action.toolTip()


def test_space_plays_and_stops_loop_and_preview(qtbot, monkeypatch):
    fake = FakePlayback()
    monkeypatch.setattr(transport_mod, "create_playback", lambda parent=None, soundfont=None: (fake, ""))
    w = make_window(qtbot, two_track_song())
    w.show()
    qtbot.waitExposed(w)
    w.init_playback()
    assert w.transport.play_action.isEnabled()
    w.windowHandle().requestActivate()  # window shortcuts need the active window
    qtbot.waitUntil(lambda: QApplication.activeWindow() is w)
    w.track_list.list.setFocus()
    qtbot.keyClick(w.track_list.list, Qt.Key.Key_Space)
    assert ("play", None) in fake.calls and w.transport.play_action.isChecked()
    assert fake.song == w.document.song
    fake.positionChanged.emit(960.0)
    assert w.transport.position_label.text() == "1.3.000"
    qtbot.keyClick(w.track_list.list, Qt.Key.Key_Space)
    assert fake.calls[-1] == ("stop",) and not w.transport.play_action.isChecked()
    w.transport.play_cursor_action.trigger()
    assert fake.calls[-1] == ("play", w.editor.cursor_tick())
    w.stop()
    # Loop on without a region: four bars from the cursor's bar are looped.
    w.transport.loop_action.setChecked(True)
    assert w.editor.loop() == (0, 4 * 1920)
    assert ("loop", 0, 4 * 1920) in fake.calls
    w.transport.loop_action.setChecked(False)
    assert fake.calls[-1] == ("noloop",)
    # While playing, edits (a mute) reach the player at once; while stopped, at the next play.
    w.play()
    w.track_list.set_mute(1, True)
    assert fake.song.tracks[1].mute
    w.stop()
    w.track_list.set_mute(1, False)
    assert fake.song.tracks[1].mute
    w.play()
    assert not fake.song.tracks[1].mute
    w.stop()
    w.document.current_track = 2
    w.preview_note(38, 90)
    assert fake.calls[-1] == ("preview", 38, 90, 0, True)


def test_light_and_dark_palettes(qtbot):
    w = make_window(qtbot)
    w.set_theme("dark")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Base).lightness() < 80
    assert Settings().get("appearance/theme") == "dark"
    assert w.dark_action.isChecked()
    w.set_theme("light")
    assert QApplication.instance().palette().color(QPalette.ColorRole.Base).lightness() > 200


def test_lazy_docks_build_their_panel_when_shown(qtbot):
    w = make_window(qtbot)
    w.show()
    assert w.genre_dock.panel is None and w.continue_dock.panel is None
    w.genre_dock.show()
    qtbot.waitUntil(lambda: w.genre_dock.panel is not None, timeout=5000)
    assert w.genre_dock.widget() is w.genre_dock.panel
    assert w.continue_dock.panel is None


def test_accepting_a_continuation_adds_its_notes_as_one_step(qtbot):
    w = make_window(qtbot, melody_song())
    before = w.document.song
    notes = (Note(3840, 72, 240), Note(4080, 74, 240))
    w._accept_variation(notes)
    assert set(notes) <= set(w.document.song.tracks[0].notes)
    assert w.document.undo_stack.undoText() == "Accept continuation"
    w.document.undo_stack.undo()
    assert w.document.song == before


def test_notes_for_drag_starts_at_the_bar_of_the_first_note(qtbot, monkeypatch):
    song = two_track_song()
    w = make_window(qtbot, song)
    track = song.tracks[0]
    chosen = track.notes[2:]  # start at tick 960 (bar 1)
    monkeypatch.setattr(w.editor, "selected_notes", lambda: chosen)
    out = w.notes_for_drag()
    assert len(out.tracks) == 1 and out.tracks[0].program == track.program
    assert out.tracks[0].notes == tuple(n for n in chosen)  # bar 1 starts at 0 → no shift
    monkeypatch.setattr(w.editor, "selected_notes", lambda: track.notes[3:])  # tick 1920 = bar 2
    out = w.notes_for_drag()
    assert out.tracks[0].notes == (replace(track.notes[3], start=0),)
    assert out.time_signatures[0].numerator == 3  # the meter at bar 2
    assert round(out.tempos[0].bpm) == 140


def test_open_recent_menu_lists_remembered_files(qtbot, tmp_path):
    w = make_window(qtbot)
    w._fill_recent_menu()
    assert [a.text() for a in w.recent_menu.actions()] == ["No recent files"]
    w.settings.add_recent(tmp_path / "a.gtzc")
    w.settings.add_recent(tmp_path / "b.mid")
    w._fill_recent_menu()
    texts = [a.text() for a in w.recent_menu.actions() if not a.isSeparator()]
    assert texts == ["b.mid", "a.gtzc", "Clear List"]
    w.recent_menu.actions()[-1].trigger()
    assert w.settings.recent_files() == []


def test_quantize_dialog_values(qtbot):
    dialog = mw.QuantizeDialog(8, True)
    qtbot.addWidget(dialog)
    assert dialog.grid_combo.currentText() == "1/8 triplet"
    dialog.strength.setValue(50)
    dialog.lengths.setChecked(True)
    assert dialog.values() == (160, 0.5, True)


def test_edit_menu_drives_the_piano_roll(qtbot):
    needs("gtzcomposer.ui.pianoroll")
    w = make_window(qtbot, two_track_song())
    w.show()
    doc = w.document
    before = doc.song
    w.select_all_action.trigger()
    assert w.selection_label.text() == f"{len(before.tracks[0].notes)} selected"
    w.transpose_actions[0].trigger()  # up a semitone
    assert [n.pitch for n in doc.song.tracks[0].notes] == [n.pitch + 1 for n in before.tracks[0].notes]
    w.delete_action.trigger()
    assert doc.song.tracks[0].notes == () and doc.song.tracks[1] == before.tracks[1]
    w.undo_action.trigger()
    w.undo_action.trigger()
    assert doc.song == before


def test_a_panel_that_fails_to_start_shows_why(qtbot):
    def broken(parent):
        raise RuntimeError("model file missing")

    dock = mw.LazyDock("Genre", "GenreDock", broken)
    qtbot.addWidget(dock)
    panel = dock.ensure_panel()
    assert "model file missing" in panel.text() and dock.widget() is panel
