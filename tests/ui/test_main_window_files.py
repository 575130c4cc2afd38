"""Files: open/save/reopen, bad files, drag and drop in and out, autosave and recovery, export."""

import json
import os
import subprocess
import sys
from dataclasses import replace

import mido
import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton, QWidget

from gtzcomposer.core import AddNotes, Note
from gtzcomposer.ui.autosave import Autosaver, find_recoveries
from gtzcomposer.ui.dialogs import AudioExportDialog
from gtzcomposer.ui.settings import Settings, data_dir
from tests.helpers import melody_song, two_track_song
from tests.ui.mw_helpers import Dialogs, make_window


def write_midi(path, pitches=(60, 64, 67, 72)):
    """A small type-1 MIDI file built with mido (no gtzcomposer code involved)."""
    mf = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500000, time=0),
                           mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0)])
    notes = mido.MidiTrack([mido.MetaMessage("track_name", name="Dropped", time=0),
                            mido.Message("program_change", program=40, channel=0, time=0)])
    for p in pitches:
        notes.append(mido.Message("note_on", note=p, velocity=80, channel=0, time=0))
        notes.append(mido.Message("note_off", note=p, velocity=0, channel=0, time=480))
    mf.tracks += [meta, notes]
    mf.save(path)
    return path


def drop_files(window, *paths):
    """Drag files over the piano roll and drop them there (the events travel up to the window,
    as a real drop does)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    target = window.centralWidget()
    for child in target.findChildren(QWidget):  # the innermost widget under the drop point
        if child.isVisible() and child.width() > 100 and child.height() > 100:
            target = child
            break
    pos = QPointF(target.rect().center())
    actions = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(pos.toPoint(), actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    drop = QDropEvent(pos, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, drop)
    return enter.isAccepted(), drop.isAccepted()


# --- bad files: an error dialog, and the song stays -------------------------------------------


@pytest.mark.parametrize("name, data", [
    ("broken.mid", b"MThd\x00\x00\x00\x06garbage"),
    ("notes.txt", b"not a song"),
    ("empty.gtzc", b""),
    ("truncated.musicxml", b"<?xml version='1.0'?><score-partwise><part"),
])
def test_bad_file_shows_an_error_and_keeps_the_song(qtbot, monkeypatch, tmp_path, name, data):
    w = make_window(qtbot, two_track_song())
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    song, stack_count = w.document.song, w.document.undo_stack.count()
    dialogs = Dialogs(monkeypatch)
    bad = tmp_path / name
    bad.write_bytes(data)
    with qtbot.waitSignal(w.files.fileFailed, timeout=10000) as failed:
        w.files.open_file(bad, ask=False)
    assert len(dialogs.errors) == 1
    title, text = dialogs.errors[0]
    assert name in title and text == failed.args[0] and text
    assert w.document.song == song and w.document.undo_stack.count() == stack_count
    assert w.document.modified  # still the user's unsaved work


def test_missing_file_shows_an_error(qtbot, monkeypatch, tmp_path):
    w = make_window(qtbot)
    dialogs = Dialogs(monkeypatch)
    with qtbot.waitSignal(w.files.fileFailed, timeout=5000):
        w.files.open_file(tmp_path / "nothing.mid", ask=False)
    assert "no such file" in dialogs.errors[0][1]


# --- open, save, reopen -------------------------------------------------------------------------


def test_save_then_reopen_gives_the_same_song(qtbot, monkeypatch, tmp_path):
    Dialogs(monkeypatch)
    w = make_window(qtbot, two_track_song())
    w.document.push(AddNotes(1, [Note(100, 50, 200, 77)]))
    w.editor.set_loop((0, 1920))
    w.document.current_track = 2
    w.grid_combo.setCurrentIndex(w.grid_combo.findData(8))
    song = w.document.song
    path = tmp_path / "song.gtzc"
    with qtbot.waitSignal(w.files.fileSaved):
        assert w.files.save_to(path)
    assert not w.document.modified and w.document.path == path
    assert w.windowTitle().startswith("song[*]")
    assert Settings().recent_files()[0] == str(path.resolve())
    w2 = make_window(qtbot)
    with qtbot.waitSignal(w2.files.fileLoaded, timeout=10000):
        w2.files.open_file(path, ask=False)
    assert w2.document.song == song
    assert w2.document.path == path and not w2.document.modified
    assert w2.document.current_track == w.document.current_track
    assert w2.grid() == (8, False)  # the project remembers its view
    if type(w.editor).__name__ != "_MissingEditor":
        assert w2.editor.loop() == (0, 1920)
    # Open Recent lists it.
    w2.recent_menu.aboutToShow.emit()
    assert [a.toolTip() for a in w2.recent_menu.actions()][0] == str(path.resolve())


def test_a_save_the_disk_refuses_is_reported_and_keeps_the_song(qtbot, monkeypatch, tmp_path):
    w = make_window(qtbot, melody_song())
    dialogs = Dialogs(monkeypatch)
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    folder = tmp_path / "not-a-folder"
    folder.write_text("a file where the folder should be")  # the disk says no
    assert not w.files.save_to(folder / "song.gtzc")
    assert len(dialogs.errors) == 1 and dialogs.errors[0][0] == "Cannot save song.gtzc"
    assert dialogs.errors[0][1] and folder.read_text() == "a file where the folder should be"
    assert w.document.modified and w.document.path is None


def test_import_midi_keeps_no_path_and_save_asks_for_a_project_name(qtbot, monkeypatch, tmp_path):
    w = make_window(qtbot)
    with qtbot.waitSignal(w.files.fileLoaded, timeout=10000):
        w.files.open_file(write_midi(tmp_path / "tune.mid"), ask=False)
    assert w.document.path is None and w.windowTitle().startswith("tune[*]")
    asked = []
    monkeypatch.setattr("PySide6.QtWidgets.QFileDialog.getSaveFileName",
                        lambda *a, **k: (asked.append(a[2]) or "", ""))
    assert not w.files.save()  # cancelled in the dialog
    assert asked and asked[0].endswith("tune.gtzc")


# --- drag and drop ------------------------------------------------------------------------------


def test_dropping_a_midi_file_opens_it(qtbot, monkeypatch, tmp_path):
    Dialogs(monkeypatch)
    w = make_window(qtbot, melody_song())
    w.show()
    path = write_midi(tmp_path / "dropped.mid")
    with qtbot.waitSignal(w.files.fileLoaded, timeout=10000):
        accepted_enter, accepted_drop = drop_files(w, path)
    assert accepted_enter and accepted_drop
    song = w.document.song
    assert [n.pitch for n in song.tracks[0].notes] == [60, 64, 67, 72]
    assert song.tracks[0].program == 40
    assert song.time_signatures[0].numerator == 3


def test_dropping_other_files_is_refused(qtbot, tmp_path):
    w = make_window(qtbot, melody_song())
    txt = tmp_path / "a.txt"
    txt.write_text("x")
    accepted_enter, _ = drop_files(w, txt)
    assert not accepted_enter


def test_dropping_with_unsaved_changes_asks_first(qtbot, monkeypatch, tmp_path):
    w = make_window(qtbot, melody_song())
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    song = w.document.song
    dialogs = Dialogs(monkeypatch, warning=QMessageBox.StandardButton.Cancel)
    drop_files(w, write_midi(tmp_path / "x.mid"))
    qtbot.waitUntil(lambda: bool(dialogs.warnings), timeout=3000)
    qtbot.wait(50)
    assert w.document.song == song


def test_drag_out_selected_notes_as_a_midi_file(qtbot):
    song = two_track_song()
    w = make_window(qtbot, song)
    w.editor.controller.set_selection(song.tracks[0].notes[:2])
    mime = w.drag_handle.mime_data()
    path = mime.urls()[0].toLocalFile()
    assert path.endswith("Lead.mid") and os.path.isfile(path)
    assert bytes(mime.data("audio/midi")) == open(path, "rb").read()
    mf = mido.MidiFile(path)
    ons = [m for t in mf.tracks for m in t if m.type == "note_on" and m.velocity > 0]
    assert [m.note for m in ons] == [72, 74]
    assert any(m.type == "program_change" and m.program == 73 for t in mf.tracks for m in t)
    # Our own drag is not dropped back onto the window as a file to open.
    accepted_enter, _ = drop_files(w, path)
    assert not accepted_enter
    w.shutdown()
    assert not os.path.exists(path)


# --- autosave and recovery ----------------------------------------------------------------------


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def crash(recovery_json):
    """Make a recovery file look as if its process had died: its record and song file renamed to
    a dead process's id, as that process would have named them. Returns the new song file."""
    info = json.loads(recovery_json.read_text())
    pid = dead_pid()
    song = recovery_json.with_name(f"recovery-{pid}.gtzc")
    recovery_json.with_suffix(".gtzc").rename(song)
    info.update(pid=pid, file=song.name)
    song.with_suffix(".json").write_text(json.dumps(info))
    recovery_json.unlink()
    return song


def test_autosave_writes_a_recovery_file_on_its_timer(qtbot):
    w = make_window(qtbot, melody_song())
    w.files.autosaver.set_interval(0.05)
    w.files.autosaver.start()
    qtbot.wait(150)
    assert w.files.autosaver.recovery_path is None  # nothing unsaved: nothing written
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    with qtbot.waitSignal(w.files.autosaver.saved, timeout=3000) as saved:
        pass
    path = saved.args[0]
    assert path.is_file() and path.parent == data_dir()
    assert path.with_suffix(".json").is_file()
    assert find_recoveries(data_dir()) == []  # this process is alive: not a crash
    w.shutdown()  # a normal quit removes it
    assert not path.exists() and not path.with_suffix(".json").exists()


def test_recovery_is_offered_after_a_crash_and_restores_the_song(qtbot, monkeypatch):
    w = make_window(qtbot, two_track_song())
    w.document.push(AddNotes(0, [Note(5000, 90, 10)]))
    edited = w.document.song
    crash(w.files.autosaver.save_now().with_suffix(".json"))
    w.files.autosaver.stop()
    w.files.autosaver._written = None  # the crashed process is gone; its files stay

    dialogs = Dialogs(monkeypatch, question=QMessageBox.StandardButton.Yes)
    w2 = make_window(qtbot)
    assert w2.files.offer_recovery()
    assert len(dialogs.questions) == 1
    assert w2.document.song == edited
    assert w2.document.modified  # recovered work is unsaved until saved
    # The crashed session's file is taken over: a fresh one of this (live) process replaces it.
    assert find_recoveries(data_dir()) == []
    assert w2.files.autosaver.recovery_path is not None and w2.files.autosaver.recovery_path.is_file()
    w2.shutdown()


def test_declining_recovery_discards_it(qtbot, monkeypatch):
    w = make_window(qtbot, melody_song())
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    path = crash(w.files.autosaver.save_now().with_suffix(".json"))
    w.files.autosaver._written = None
    Dialogs(monkeypatch, question=QMessageBox.StandardButton.No)
    w2 = make_window(qtbot)
    assert not w2.files.offer_recovery()
    assert w2.document.song != w.document.song
    assert not path.exists() and find_recoveries(data_dir()) == []
    assert not make_window(qtbot).files.offer_recovery()  # asked once only


def test_clean_save_removes_the_recovery_file(qtbot, monkeypatch, tmp_path):
    w = make_window(qtbot, melody_song())
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    path = w.files.autosaver.save_now()
    assert path.is_file()
    assert w.files.save_to(tmp_path / "s.gtzc")
    assert not path.exists()


def test_undo_back_to_clean_removes_the_recovery_file(qtbot):
    w = make_window(qtbot, melody_song())
    w.document.push(AddNotes(0, [Note(0, 90, 10)]))
    path = Autosaver.save_now(w.files.autosaver)
    assert path.is_file()
    w.document.undo_stack.undo()
    assert not path.exists()


def test_autosave_interval_comes_from_settings(qtbot):
    s = Settings()
    s.set("autosave/interval_s", 5)
    w = make_window(qtbot, autosave=True)
    assert w.files.autosaver.interval_s == 5 and w.files.autosaver.is_active()
    s.set("autosave/enabled", False)
    assert not make_window(qtbot, autosave=True).files.autosaver.is_active()


# --- export ------------------------------------------------------------------------------------


def test_export_midi(qtbot, tmp_path):
    w = make_window(qtbot, two_track_song())
    out = tmp_path / "out.mid"
    with qtbot.waitSignal(w.files.exportFinished):
        assert w.files.export_to(out)
    assert len(mido.MidiFile(out).tracks) >= 3


def test_export_musicxml_off_the_gui_thread_with_progress_and_the_export_log(qtbot, tmp_path, monkeypatch):
    import threading

    from gtzcomposer.io import musicxml

    song = two_track_song()
    song = song.with_track(0, replace(song.tracks[0], notes=song.tracks[0].notes + (Note(7, 90, 100),)))  # off the grid
    w = make_window(qtbot, song)
    out = tmp_path / "out.musicxml"
    workers = []
    real = musicxml._build_score

    def spy(notated, *args, **kwargs):
        workers.append(threading.current_thread() is threading.main_thread())
        return real(notated, *args, **kwargs)

    monkeypatch.setattr(musicxml, "_build_score", spy)
    with qtbot.waitSignal(w.files.exportFinished, timeout=30000):
        assert w.files.export_to(out)
        assert w.files.progress_dialog is not None  # a progress dialog while music21 works
    assert workers == [False]  # built on a worker thread, never the GUI thread
    assert w.files.progress_dialog is None and out.stat().st_size > 1000
    assert "moved to the nearest sixteenth" in w.statusBar().currentMessage()


def test_cancelled_musicxml_export_writes_nothing(qtbot, tmp_path, monkeypatch):
    import threading

    from gtzcomposer.io import musicxml

    started, release = threading.Event(), threading.Event()
    real = musicxml._build_score

    def slow(notated, *args, **kwargs):
        started.set()
        release.wait(10)
        return real(notated, *args, **kwargs)

    monkeypatch.setattr(musicxml, "_build_score", slow)
    w = make_window(qtbot, two_track_song())
    out = tmp_path / "out.musicxml"
    w.files.export_to(out)
    assert started.wait(10)
    qtbot.mouseClick(w.files.progress_dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)
    assert w.files.progress_dialog is None and not w.files.exporter.busy
    release.set()
    w.files.exporter.wait(10000)
    assert not out.exists()


@pytest.mark.slow
def test_export_wav_off_the_gui_thread_with_progress(qtbot, tmp_path):
    w = make_window(qtbot, two_track_song())
    out = tmp_path / "out.wav"
    with qtbot.waitSignal(w.files.exportFinished, timeout=30000):
        w.files.export_to(out)
        assert w.files.progress_dialog is not None  # the progress dialog is up while it renders
    assert out.stat().st_size > 44 and w.files.progress_dialog is None


def test_cancelled_wav_export_writes_nothing(qtbot, tmp_path, monkeypatch):
    import threading

    from gtzcomposer.services import sound
    from gtzcomposer.services.tasks import Cancelled

    started = threading.Event()

    def slow_render(song, path, soundfont=None, sample_rate=44100, bit_depth=16, progress=None, is_cancelled=None):
        started.set()
        while not is_cancelled():
            progress(0.5, "rendering")
            threading.Event().wait(0.01)
        raise Cancelled()

    monkeypatch.setattr(sound, "render_wav", slow_render)
    w = make_window(qtbot, two_track_song())
    out = tmp_path / "out.wav"
    w.files.export_to(out)
    assert started.wait(5)
    qtbot.mouseClick(w.files.progress_dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)
    assert w.files.progress_dialog is None and not w.files.exporter.busy
    w.files.exporter.wait(5000)
    assert not out.exists()


@pytest.mark.slow
def test_audio_export_asks_rate_and_depth_writes_flac_and_remembers(qtbot, tmp_path, monkeypatch):
    import soundfile
    from PySide6.QtWidgets import QDialog, QFileDialog


    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "song"), "FLAC audio (*.flac)"))
    shown = []

    def choose_48k_24bit(dialog):
        shown.append(dialog.windowTitle())
        dialog.rate_combo.setCurrentIndex(dialog.rate_combo.findData(48000))
        dialog.bits_combo.setCurrentIndex(dialog.bits_combo.findData(24))
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(AudioExportDialog, "exec", choose_48k_24bit)
    w = make_window(qtbot, two_track_song())
    with qtbot.waitSignal(w.files.exportFinished, timeout=30000) as sig:
        w.export_wav_action.trigger()
    out = tmp_path / "song.flac"
    assert shown == ["Export Audio"] and sig.args[0] == out
    info = soundfile.info(str(out))
    assert (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_24", 48000)
    assert (w.settings.get("audio/export_rate"), w.settings.get("audio/export_bits")) == (48000, 24)

    # The next export offers the remembered choice; Cancel there exports nothing.
    offered = []

    def cancel(dialog):
        offered.append(dialog.values())
        return QDialog.DialogCode.Rejected

    monkeypatch.setattr(AudioExportDialog, "exec", cancel)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "again.wav"), ""))
    w.export_wav_action.trigger()
    assert offered == [(48000, 24)] and not (tmp_path / "again.wav").exists() and not w.files.exporter.busy
