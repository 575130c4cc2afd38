"""The Sound menu, driven through the real main window: choosing a soundfont (playback and WAV
export use it; a file FluidSynth refuses is reported and changes nothing), sending playback to a
MIDI output, and recording from a MIDI input into the current track as one undo step."""

from __future__ import annotations

import shutil
from pathlib import Path

import mido
import numpy as np
import pytest
from PySide6.QtWidgets import QFileDialog

from gtzcomposer.audio import render as R
from gtzcomposer.audio.soundfont import bundled_soundfont
from gtzcomposer.core import PPQ, TempoMap
from tests.audio.fakes import FakePort
from tests.helpers import two_track_song
from tests.ui.mw_helpers import Dialogs, make_window


@pytest.fixture
def own_soundfont(tmp_path) -> Path:
    sf = bundled_soundfont()
    if sf is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    return Path(shutil.copy(sf, tmp_path / "My Font.sf2"))


@pytest.fixture(autouse=True)
def _release_kept_soundfont():
    yield
    R.release_soundfont()


def _choose(qtbot, window, monkeypatch, path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(path), ""))
    menu = window.sound_menu
    menu.choose_soundfont_action.trigger()
    assert menu._loading == str(path)  # loading on a worker thread
    qtbot.waitUntil(lambda: menu._loading is None, timeout=10000)


def test_the_sound_menu_is_in_the_menu_bar(qtbot):
    w = make_window(qtbot)
    titles = [a.text() for a in w.menuBar().actions()]
    assert "&Sound" in titles
    w.sound_menu.update_soundfont_info()
    assert w.sound_menu.soundfont_info.text().startswith("Soundfont: ")
    assert "default" in w.sound_menu.soundfont_info.text()
    assert not w.sound_menu.default_soundfont_action.isEnabled()  # the default is in use already


def test_a_chosen_soundfont_is_remembered_and_used_for_playback_and_export(qtbot, monkeypatch, tmp_path,
                                                                          own_soundfont):
    import soundfile

    w = make_window(qtbot, two_track_song())
    w.playback.start_probe(background=False)
    _choose(qtbot, w, monkeypatch, own_soundfont)
    assert w.settings.get("audio/soundfont") == str(own_soundfont)
    assert w.playback.service.soundfont() == str(own_soundfont)
    w.sound_menu.update_soundfont_info()
    assert "My Font.sf2 (your choice)" in w.sound_menu.soundfont_info.text()
    assert w.sound_menu.default_soundfont_action.isEnabled()

    out = tmp_path / "song.wav"
    with qtbot.waitSignal(w.files.exportFinished, timeout=30000):
        w.files.export_to(out)
    assert R.kept_soundfont() == own_soundfont  # the render used (and kept) the chosen file
    audio, rate = soundfile.read(str(out))
    assert rate == 44100 and np.sqrt(np.mean(audio ** 2)) > 1e-3

    # A new session reads the choice back.
    w.settings.sync()
    again = make_window(qtbot)  # reads the same settings file
    again.playback.start_probe(background=False)
    assert again.playback.service.soundfont() == str(own_soundfont)


def test_a_file_fluidsynth_refuses_is_reported_and_the_soundfont_in_use_stays(qtbot, monkeypatch, tmp_path):
    dialogs = Dialogs(monkeypatch)
    w = make_window(qtbot, two_track_song())
    w.playback.start_probe(background=False)
    song = w.document.song
    for name, data in (("notes.sf2", b"these are not samples"),
                       ("empty.sf2", b"RIFF\x04\x00\x00\x00sfbk")):  # a header and nothing else
        bad = tmp_path / name
        bad.write_bytes(data)
        _choose(qtbot, w, monkeypatch, bad)
        assert dialogs.errors, name
        title, text = dialogs.errors.pop()
        assert title == "Soundfont" and name in text and "stays" in text
        assert w.settings.get("audio/soundfont") == ""
        assert w.playback.service.soundfont() is None
    assert w.document.song is song


def test_back_to_the_default_soundfont(qtbot, monkeypatch, own_soundfont):
    w = make_window(qtbot)
    w.playback.start_probe(background=False)
    _choose(qtbot, w, monkeypatch, own_soundfont)
    w.sound_menu.default_soundfont_action.trigger()
    assert w.settings.get("audio/soundfont") == ""
    assert w.playback.service.soundfont() is None


def test_a_chosen_soundfont_that_went_missing_fails_the_export_with_a_clear_message(qtbot, monkeypatch, tmp_path,
                                                                                   own_soundfont):
    dialogs = Dialogs(monkeypatch)
    w = make_window(qtbot, two_track_song())
    w.settings.set("audio/soundfont", str(own_soundfont))
    own_soundfont.unlink()
    w.sound_menu.update_soundfont_info()
    assert "unusable" in w.sound_menu.soundfont_info.text()
    song = w.document.song
    out = tmp_path / "song.wav"
    with qtbot.waitSignal(w.files.exporter.failed, timeout=10000):
        w.files.export_to(out)
    assert dialogs.errors and "no such file" in dialogs.errors[-1][1]
    assert not out.exists() and w.document.song is song


# --- MIDI ports --------------------------------------------------------------------------------


class FakeInput(FakePort):
    def __init__(self, name, callback):
        super().__init__(name)
        self.callback = callback


@pytest.fixture
def fake_ports(monkeypatch):
    opened = {"outputs": [], "inputs": []}

    def open_output(name=None, **_k):
        port = FakePort(name)
        opened["outputs"].append(port)
        return port

    def open_input(name=None, callback=None, **_k):
        port = FakeInput(name, callback)
        opened["inputs"].append(port)
        return port

    monkeypatch.setattr(mido, "get_output_names", lambda: ["Fake Synth"])
    monkeypatch.setattr(mido, "get_input_names", lambda: ["Fake Keys"])
    monkeypatch.setattr(mido, "open_output", open_output)
    monkeypatch.setattr(mido, "open_input", open_input)
    return opened


def _action(menu, text):
    for a in menu.actions():
        if a.text() == text:
            return a
    raise AssertionError(f"no {text!r} in {[a.text() for a in menu.actions()]}")


def test_playback_goes_to_a_midi_output_and_back(qtbot, fake_ports):
    w = make_window(qtbot, two_track_song())
    w.playback.start_probe(background=False)
    menu = w.sound_menu
    menu.fill_outputs()
    assert _action(menu.output_menu, "Built-in Synth (FluidSynth)").isChecked()
    _action(menu.output_menu, "Fake Synth").trigger()
    assert w.playback.service.outputName() == "Fake Synth"
    assert w.transport.play_action.isEnabled()  # a MIDI output plays even without an audio device
    port = fake_ports["outputs"][0]
    w.playback.play()
    qtbot.waitUntil(lambda: any(m.type == "note_on" for m in port.sent), timeout=5000)
    assert any(m.type == "program_change" for m in port.sent)
    w.playback.stop()
    menu.fill_outputs()
    assert _action(menu.output_menu, "Fake Synth").isChecked()
    _action(menu.output_menu, "Built-in Synth (FluidSynth)").trigger()
    assert w.playback.service.outputName() is None and port.closed


def test_without_a_midi_system_the_submenus_say_why(qtbot, monkeypatch):
    def no_alsa():
        raise OSError("ALSA lib seq_hw.c: cannot open /dev/snd/seq")

    monkeypatch.setattr(mido, "get_output_names", no_alsa)
    monkeypatch.setattr(mido, "get_input_names", no_alsa)
    w = make_window(qtbot)
    w.playback.start_probe(background=False)
    w.sound_menu.fill_outputs()
    w.sound_menu.fill_inputs()
    for menu in (w.sound_menu.output_menu, w.sound_menu.record_menu):
        reasons = [a for a in menu.actions() if a.text() == "No MIDI system available"]
        assert len(reasons) == 1 and not reasons[0].isEnabled()
        assert "/dev/snd/seq" in reasons[0].toolTip()  # the whole reason, for who wants it


def test_recording_from_a_midi_input_adds_the_notes_as_one_undo_step(qtbot, fake_ports):
    w = make_window(qtbot, two_track_song())
    w.playback.start_probe(background=False)
    w.document.current_track = 1
    before = w.document.song.tracks[1].notes
    menu = w.sound_menu
    menu.quantize_record_action.setChecked(True)
    w.grid_combo.setCurrentIndex(w.grid_combo.findData(4))  # quarter-note grid
    menu.fill_inputs()
    _action(menu.record_menu, "Fake Keys").trigger()
    assert w.playback.is_recording() and w.recording_label.isVisibleTo(w) and menu.stop_record_action.isEnabled()
    menu.fill_inputs()
    assert not _action(menu.record_menu, "Fake Keys").isEnabled()  # one recording at a time

    recorder = w.playback.service.recorder()
    clock = {"t": 0.0}
    recorder.clock = lambda: clock["t"]
    recorder.recorder.start_time = 0.0
    port = fake_ports["inputs"][0]
    port.callback(mido.Message("note_on", note=62, velocity=100))
    clock["t"] = 0.4
    port.callback(mido.Message("note_off", note=62))
    clock["t"] = 0.55  # 100 bpm here: tick 440, quantised to the quarter at 480
    port.callback(mido.Message("note_on", note=65, velocity=90))
    clock["t"] = 1.0
    w.playback.stop()  # Stop ends the recording (a held note ends there)

    assert not w.playback.is_recording() and not w.recording_label.isVisibleTo(w) and port.closed
    added = sorted(set(w.document.song.tracks[1].notes) - set(before))
    assert [(n.start, n.pitch) for n in added] == [(0, 62), (PPQ, 65)]
    assert w.document.undo_stack.undoText() == "Record from MIDI input"
    w.document.undo_stack.undo()
    assert w.document.song.tracks[1].notes == before


def test_recording_starts_at_the_cursor(qtbot, fake_ports):
    w = make_window(qtbot, two_track_song())
    w.playback.start_probe(background=False)
    w.sound_menu.quantize_record_action.setChecked(False)
    w.editor.set_cursor(4 * PPQ)  # bar 2
    assert w.playback.start_recording("Fake Keys")
    recorder = w.playback.service.recorder()
    clock = {"t": 0.0}
    recorder.clock = lambda: clock["t"]
    recorder.recorder.start_time = 0.0
    port = fake_ports["inputs"][0]
    clock["t"] = 0.25  # 120 bpm: half a beat after the cursor
    port.callback(mido.Message("note_on", note=70, velocity=80))
    clock["t"] = 0.75
    port.callback(mido.Message("note_off", note=70))
    w.playback.stop_recording()
    added = set(w.document.song.tracks[0].notes) - set(two_track_song().tracks[0].notes)
    tempo = TempoMap.of(w.document.song)  # the note sounds 0.25-0.75 s after the cursor's time
    at = tempo.seconds(4 * PPQ)
    start, end = round(tempo.tick(at + 0.25)), round(tempo.tick(at + 0.75))
    assert start > 4 * PPQ
    assert [(n.start, n.pitch, n.duration, n.velocity) for n in added] == [(start, 70, end - start, 80)]


def test_recording_that_catches_nothing_changes_nothing(qtbot, fake_ports):
    w = make_window(qtbot, two_track_song())
    w.playback.start_probe(background=False)
    song = w.document.song
    assert w.playback.start_recording("Fake Keys")
    w.playback.stop_recording()
    assert not w.playback.is_recording() and w.document.song is song
    assert "Nothing was recorded" in w.statusBar().currentMessage()
