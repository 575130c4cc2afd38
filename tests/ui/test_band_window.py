"""The band in the real main window: part checkboxes, ghost notes of every part, Accept as one undo
step creating Drums/Bass/Chords (or continuing them), Audition with the band."""

from __future__ import annotations

import shutil

import pytest

from gtzcomposer.core.song import new_track
from gtzcomposer.resources import model_path
from tests.helpers import melody_song
from tests.ui.mw_helpers import make_window

needs_mma = pytest.mark.skipif(shutil.which("mma") is None,
                               reason="the program mma (Debian package mma) is not installed")
pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")


def _window(qtbot, song):
    w = make_window(qtbot, song)
    w.resize(1200, 800)
    w.show()
    w.editor.select_all()
    w.continue_dock.show()
    panel = w.continue_dock.ensure_panel()
    qtbot.waitUntil(lambda: w.continue_dock.panel is panel, timeout=5000)
    return w, panel


@needs_mma
def test_band_ghosts_accept_in_one_undo_step_and_audition(qtbot, monkeypatch, tmp_path):
    from gtzcomposer.audio.events import NOTE_ON
    from gtzcomposer.audio.player import Player
    from gtzcomposer.services.playback import PlaybackService
    from gtzcomposer.ui import transport as transport_mod
    from tests.audio.fakes import ListSink

    sink = ListSink()  # the real playback service and scheduler; only the sound card is a list
    service = PlaybackService(player=Player(sink), poll_ms=10)
    monkeypatch.setattr(transport_mod, "create_playback", lambda parent=None, soundfont=None: (service, ""))
    song = melody_song([67, 69, 71, 72, 74, 72, 71, 69, 67, 71, 74, 79, 74, 71, 69, 67])
    w, panel = _window(qtbot, song)
    w.init_playback()
    w.transport.metronome_action.setChecked(True)
    panel.bars.setValue(2)
    panel.band.chords.setChecked(True)
    panel.band.bass.setChecked(True)
    panel.band.drums.setChecked(True)
    panel.band.genre_box.setCurrentText("rock")
    with qtbot.waitSignal(panel.variationsReady, timeout=60000):
        panel.generate(seed=3)
    take = panel.current_take
    assert take is not None and set(take.parts) == {"chords", "bass", "drums"}
    assert "Band: rock" in panel.notice.text()
    # every part is drawn as ghost notes, in the colour of the track it will land on
    ghost = w.editor.controller.ghost_band
    assert len(ghost) == 3 and all(notes for _, notes in ghost)
    assert sorted(len(n) for _, n in ghost) == sorted(len(p.notes) for p in take.parts.values())
    panel.next_variation()
    assert panel.current_take is not take and w.editor.controller.ghost_band
    panel.previous_variation()

    # Audition plays the band, metronome off: drum notes reach the output on channel 10
    assert w.playback is service and not w._playback_reason
    panel.audition_button.click()
    assert service.isPlaying() and not service._metronome
    qtbot.waitUntil(lambda: any(e.kind == NOTE_ON and e.channel == 9 for e in sink.events), timeout=10000)
    service.stop()
    assert service._metronome  # the user's metronome setting is back
    service.close()

    before = w.document.song
    panel.accept_button.click()
    after = w.document.song
    names = [t.name for t in after.tracks]
    assert names[0] == "Melody" and set(names[1:]) == {"Drums", "Bass", "Chords"}
    drums = after.tracks[names.index("Drums")]
    assert drums.is_drum and drums.channel == 9 and drums.notes == take.parts["drums"].notes
    assert len(after.tracks[0].notes) > len(before.tracks[0].notes)
    assert w.editor.controller.ghost_band == () and w.editor.controller.ghost_variation is None
    w.document.undo_stack.undo()  # ONE step takes melody and band away
    assert w.document.song == before
    w.document.undo_stack.redo()
    assert w.document.song == after
    # MIDI export keeps the drums on channel 10
    import mido

    from gtzcomposer.io.formats import save_song

    save_song(w.document.song, tmp_path / "band.mid")
    channels = {next((m.name for m in t if m.type == "track_name"), ""): {m.channel for m in t if m.type == "note_on"}
                for t in mido.MidiFile(tmp_path / "band.mid").tracks}
    assert channels["Drums"] == {9} and 9 not in channels["Bass"] | channels["Chords"]


def test_without_mma_the_band_is_greyed_out_with_the_package_named_and_the_melody_works(qtbot, monkeypatch, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # a machine without the program mma
    w, panel = _window(qtbot, melody_song([60, 62, 64, 65, 67, 65, 64, 62]))
    assert not panel.band.drums.isEnabled() and not panel.band.bass.isEnabled()
    assert "package `mma`" in panel.band.message.text()
    panel.band.drums.setChecked(True)  # even if ticked programmatically, only the melody is asked
    assert panel.band.parts() == ("melody",)
    panel.bars.setValue(1)
    with qtbot.waitSignal(panel.variationsReady, timeout=60000):
        panel.generate(seed=2)
    assert panel.current_take is None and w.editor.controller.ghost_variation
    panel.accept()
    assert [t.name for t in w.document.song.tracks] == ["Melody"]


@needs_mma
def test_accept_continues_existing_band_tracks(qtbot):
    song = melody_song([60, 62, 64, 65, 67, 65, 64, 62])
    song = song.add_track(new_track(1, "Bass", program=33))
    w, panel = _window(qtbot, song)
    panel.bars.setValue(1)
    panel.band.bass.setChecked(True)
    panel.band.genre_box.setCurrentText("jazz")
    with qtbot.waitSignal(panel.variationsReady, timeout=60000):
        panel.generate(seed=5)
    take = panel.current_take
    assert take is not None and set(take.parts) == {"bass"}
    panel.accept()
    after = w.document.song
    assert [t.name for t in after.tracks] == ["Melody", "Bass"]  # the existing Bass track, continued
    assert after.tracks[1].notes == take.parts["bass"].notes and after.tracks[1].program == 33
