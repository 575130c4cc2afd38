"""The band in the real main window: part checkboxes, ghost notes of every part in its track's
colour, Accept as one undo step creating Drums/Bass/Chords (or continuing them), Audition with the
band and without the metronome, MIDI export with the drums on channel 10, and no mma."""

from __future__ import annotations

import shutil

import pytest

from gtzcomposer.core.song import new_track
from gtzcomposer.resources import model_path
from tests.helpers import melody_song
from tests.ui.mw_helpers import Speaker, make_window

needs_mma = pytest.mark.skipif(shutil.which("mma") is None,
                               reason="the program mma (Debian package mma) is not installed")
pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")


def _window(qtbot, song, **kw):
    w = make_window(qtbot, song, **kw)
    w.resize(1200, 800)
    w.show()
    w.editor.select_all()
    panel = w.continue_dock.ensure_panel()
    w.continue_dock.show()
    return w, panel


def _generate(qtbot, panel, seed):
    panel.seed_box.setValue(seed)
    with qtbot.waitSignal(panel.variationsReady, timeout=60000):
        panel.generate_button.click()


@needs_mma
def test_band_ghosts_audition_and_accept_in_one_undo_step(qtbot, tmp_path):
    speaker = Speaker()
    song = melody_song([67, 69, 71, 72, 74, 72, 71, 69, 67, 71, 74, 79, 74, 71, 69, 67])
    w, panel = _window(qtbot, song, make_playback=speaker)
    w.playback.start_probe(background=False)
    w.transport.metronome_action.setChecked(True)
    panel.bars.setValue(2)
    panel.band.chords.setChecked(True)
    panel.band.bass.setChecked(True)
    panel.band.drums.setChecked(True)
    panel.band.genre_box.setCurrentText("rock")
    _generate(qtbot, panel, 3)
    take = panel.current_take
    assert take is not None and set(take.parts) == {"chords", "bass", "drums"}
    assert "Band: rock" in panel.notice.text()
    # the melody as ghost notes in its track's colour, every band part in the colour of its new track
    ctl = w.editor.controller
    assert ctl.ghost_variation == tuple(sorted(panel.current_variation.notes))
    assert len(ctl.ghost_band) == 3
    assert sorted(len(n) for _, n in ctl.ghost_band) == sorted(len(p.notes) for p in take.parts.values())
    assert len({c for c, _ in ctl.ghost_band} | {ctl.ghost_color}) == 4
    panel.next_variation()
    assert panel.current_take is not take and ctl.ghost_band
    panel.previous_variation()

    # Audition plays the band (drum notes on channel 10 reach the output), without the metronome
    panel.audition_button.click()
    assert speaker.service.isPlaying() and not speaker.service._metronome
    speaker.run(3.0)
    assert any(ch == 9 for ch, _ in speaker.notes_on())
    w.playback.stop()
    assert speaker.service._metronome  # the user's setting is back

    before = w.document.song
    panel.accept_button.click()
    after = w.document.song
    names = [t.name for t in after.tracks]
    assert names[0] == "Melody" and set(names[1:]) == {"Drums", "Bass", "Chords"}
    drums = after.tracks[names.index("Drums")]
    assert drums.is_drum and drums.channel == 9 and drums.notes == take.parts["drums"].notes
    assert len(after.tracks[0].notes) > len(before.tracks[0].notes)
    assert ctl.ghost_band == () and ctl.ghost_variation is None
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


@needs_mma
def test_accept_continues_an_existing_bass_track(qtbot):
    song = melody_song([60, 62, 64, 65, 67, 65, 64, 62]).add_track(new_track(1, "Bass", program=33))
    w, panel = _window(qtbot, song)
    w.editor.select_all()
    panel.bars.setValue(1)
    panel.band.bass.setChecked(True)
    panel.band.genre_box.setCurrentText("jazz")
    _generate(qtbot, panel, 5)
    take = panel.current_take
    assert take is not None and set(take.parts) == {"bass"}
    panel.accept_button.click()
    after = w.document.song
    assert [t.name for t in after.tracks] == ["Melody", "Bass"]  # the existing Bass track, continued
    assert after.tracks[1].notes == take.parts["bass"].notes and after.tracks[1].program == 33


@needs_mma
def test_the_project_keeps_the_band_parts(qtbot):
    w, panel = _window(qtbot, melody_song())
    panel.band.drums.setChecked(True)
    assert panel.settings().parts == ("melody", "drums")
    panel.band.drums.setChecked(False)
    panel.set_settings(panel.settings().replace(parts=("melody", "bass", "chords")))
    assert panel.band.bass.isChecked() and panel.band.chords.isChecked() and not panel.band.drums.isChecked()


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
    _generate(qtbot, panel, 2)
    assert panel.current_take is None and w.editor.controller.ghost_variation
    panel.accept_button.click()
    assert [t.name for t in w.document.song.tracks] == ["Melody"]
