"""The Qt-free player: a scheduler, a clock and an output sink; and the no-device path."""

from __future__ import annotations

import threading

import pytest

from gtzcomposer.audio.events import CC_ALL_SOUND_OFF, CONTROL, NOTE_OFF, NOTE_ON, PRESET
from gtzcomposer.audio.player import AudioUnavailable, Player, SynthSink, audio_output_available
from gtzcomposer.core import PPQ, Note, Song, TempoChange, TempoMap, new_track
from tests.audio.fakes import FakeClock, ListSink
from tests.helpers import two_track_song


def _player(song=None, **kw):
    clock = FakeClock()
    sink = ListSink(clock)
    player = Player(sink, clock=clock, threaded=False, **kw)
    if song is not None:
        player.set_song(song)
    return player, sink, clock


def _pump_for(player, clock, seconds, step=0.004):
    for _ in range(int(round(seconds / step))):
        clock.advance(step)
        player.pump()


def test_plays_every_note_on_time_and_finishes_silently():
    song = two_track_song()
    tm = TempoMap.of(song)
    finished = []
    positions = []
    player, sink, clock = _player(song, on_finished=lambda: finished.append(True), on_position=positions.append)
    start = clock.t
    assert player.play()
    assert player.is_playing
    _pump_for(player, clock, tm.seconds(song.end_tick) + 0.1)
    ons = [(t - start, e) for t, e in sink.got if e.kind == NOTE_ON]
    assert len(ons) == song.note_count
    for elapsed, e in ons:
        assert tm.seconds(e.tick) <= elapsed + 1e-9 < tm.seconds(e.tick) + 0.004 + 1e-9
    assert finished == [True]
    assert not player.is_playing
    # the end sends note-offs for everything and cuts the sound on every channel
    assert any(e.kind == CONTROL and e.data1 == CC_ALL_SOUND_OFF for e in sink.events[-12:])
    back = positions.index(0.0)  # moves forward while playing, then back to the start at the end
    assert back > 100 and positions[:back] == sorted(positions[:back]) and set(positions[back:]) == {0.0}
    assert positions[back - 1] > song.end_tick - 10  # the pump before the end
    assert player.position == 0


def test_pause_seek_stop_and_loop_through_the_player():
    song = Song(tracks=(new_track(0, notes=tuple(Note(i * PPQ, 60 + i, PPQ // 2) for i in range(8))),),
                tempos=(TempoChange.from_bpm(0, 120),))
    player, sink, clock = _player(song)
    player.set_loop(0, 2 * PPQ)
    player.play()
    _pump_for(player, clock, 2.2)  # 2.2 passes of a 1 s loop
    pitches = [e.data1 for e in sink.events if e.kind == NOTE_ON]
    assert pitches == [60, 61, 60, 61, 60]
    player.pause()
    pos = player.position
    clock.advance(10)
    player.pump()
    assert player.position == pos
    player.set_loop(None)
    player.seek(6 * PPQ)
    player.play()
    _pump_for(player, clock, 0.6)
    assert [e.data1 for e in sink.events if e.kind == NOTE_ON][-2:] == [66, 67]
    player.stop()
    assert player.position == 6 * PPQ


def test_preview_sounds_one_note_and_releases_it():
    player, sink, clock = _player()
    assert player.preview(64, velocity=90, program=40, duration=0.3)
    kinds = [(e.kind, e.channel, e.data1, e.data2) for e in sink.events]
    assert kinds == [(PRESET, 255, 0, 40), (NOTE_ON, 255, 64, 90)]
    clock.advance(0.2)
    assert player.pump()  # still pending
    assert not any(e.kind == NOTE_OFF for e in sink.events)
    clock.advance(0.2)
    assert not player.pump()
    assert [(e.kind, e.data1) for e in sink.events][-1] == (NOTE_OFF, 64)
    player.preview(38, is_drum=True)
    assert sink.events[-2].kind == PRESET and sink.events[-2].data1 == 128 and sink.events[-2].channel == 249


def test_no_output_disables_playback_with_a_reason():
    player = Player(None, unavailable_reason="no audio output device could be opened (tried alsa)")
    ok, why = player.available()
    assert not ok and "tried alsa" in why
    player.set_song(two_track_song())
    assert player.play() is False
    assert player.preview(60) is False
    player.seek(480)
    player.pause()
    player.stop()
    assert not player.is_playing
    player.close()


def test_switching_output_keeps_song_loop_and_position():
    player, sink, clock = _player(two_track_song())
    player.set_loop(0, 960)
    player.seek(480)
    midi_sink = ListSink(clock, layout="midi")
    old = player.set_sink(midi_sink)
    assert old is sink
    assert player.position == 480 and player.loop.end == 960
    player.play()
    drum_channels = {e.channel for e in midi_sink.events if e.kind == NOTE_ON and e.track == 2}
    _pump_for(player, clock, 0.5)
    drum_channels |= {e.channel for e in midi_sink.events if e.kind == NOTE_ON and e.track == 2}
    assert drum_channels == {9}


def test_threaded_player_plays_a_short_song_with_the_real_clock():
    song = Song(tracks=(new_track(0, notes=tuple(Note(i * PPQ // 4, 60 + i, PPQ // 8) for i in range(6))),),
                tempos=(TempoChange.from_bpm(0, 240),))  # 6 sixteenths at 240 bpm: 0.375 s
    done = threading.Event()
    sink = ListSink()
    player = Player(sink, on_finished=done.set)
    player.set_song(song)
    assert player.play()
    assert done.wait(5.0), "the player thread did not finish the song"
    ons = [e.data1 for e in sink.events if e.kind == NOTE_ON]
    offs = [e.data1 for e in sink.events if e.kind == NOTE_OFF]
    assert ons == [60 + i for i in range(6)] and sorted(offs) == sorted(ons)
    player.close()
    assert sink.closed


def test_fluidsynth_player_without_a_device_says_why():
    """On a machine without sound (CI) no driver opens: the player is disabled, nothing raises."""
    player = Player.with_fluidsynth()
    ok, why = player.available()
    probe_ok, probe_why = audio_output_available()
    assert ok == probe_ok
    if not ok:
        assert why and "audio" in why.lower()
        assert probe_why
        assert player.play() is False
    player.close()


def test_synth_sink_refuses_when_no_driver_opens():
    from gtzcomposer.audio.synth import fluidsynth_available

    if not fluidsynth_available()[0]:
        pytest.skip("FluidSynth not available")
    with pytest.raises(AudioUnavailable, match="no audio output device"):
        SynthSink(drivers=("no-such-driver",))


def test_open_audio_driver_checks_the_driver_for_real():
    from gtzcomposer.audio.soundfont import bundled_soundfont
    from gtzcomposer.audio.synth import Synth, fluidsynth_available

    if not fluidsynth_available()[0] or bundled_soundfont() is None:
        pytest.skip("FluidSynth or the bundled soundfont not available")
    with Synth(bundled_soundfont()) as synth:
        ok, why = synth.open_audio_driver(("no-such-driver",))
        assert not ok and "no-such-driver" in why
        assert not synth.has_audio_driver
        ok, why = synth.open_audio_driver()
        assert ok == synth.has_audio_driver
        assert why


def test_an_output_failing_while_playing_stops_playback_and_says_why():
    class Unplugged(ListSink):
        def send(self, events):
            events = list(events)
            if any(e.kind == NOTE_ON and e.data1 == 62 for e in events):
                raise OSError("device unplugged")
            super().send(events)

    song = Song(tracks=(new_track(0, notes=tuple(Note(i * PPQ // 4, 60 + i, PPQ // 8) for i in range(6))),),
                tempos=(TempoChange.from_bpm(0, 240),))
    done = threading.Event()
    player = Player(Unplugged(), on_finished=done.set)
    player.set_song(song)
    player.play()
    assert done.wait(5.0)
    assert not player.is_playing
    assert "device unplugged" in player.last_error
    player.close()


@pytest.mark.slow
def test_live_playback_through_a_real_fluidsynth_driver(tmp_path):
    """FluidSynth's 'file' audio driver runs in real time like a sound card, but writes a WAV:
    play a song through the real driver path and check the onsets' spacing in what it wrote."""
    import librosa
    import numpy as np
    import soundfile

    from gtzcomposer.audio.soundfont import bundled_soundfont
    from gtzcomposer.audio.synth import fluidsynth_available

    if not fluidsynth_available()[0] or bundled_soundfont() is None:
        pytest.skip("FluidSynth or the bundled soundfont not available")
    song = Song(tracks=(new_track(0, program=11, notes=tuple(Note((i + 1) * PPQ, p, PPQ // 2, 110)
                                                               for i, p in enumerate((60, 67, 64, 72)))),),
                tempos=(TempoChange.from_bpm(0, 200),))  # a beat every 0.3 s

    def play_once(out):
        try:
            sink = SynthSink(bundled_soundfont(), drivers=("file",), settings={"audio.file.name": str(out)})
        except AudioUnavailable as exc:
            pytest.skip(f"this FluidSynth has no file driver: {exc}")
        done = threading.Event()
        player = Player(sink, on_finished=done.set)
        assert player.available()[0]
        player.set_song(song)
        player.play()
        assert done.wait(5.0)
        player.close()
        y, sr = soundfile.read(str(out), dtype="float32")
        mono = y.mean(axis=1)
        env = librosa.onset.onset_strength(y=mono, sr=sr, hop_length=128)
        frames = librosa.onset.onset_detect(onset_envelope=env, sr=sr, hop_length=128)
        # a note's release can register as a faint onset: count the strikes only
        frames = frames[env[frames] >= 0.25 * env[frames].max()]
        return librosa.frames_to_time(frames, sr=sr, hop_length=128)

    # Live timing depends on the OS scheduling two real-time threads; on a loaded 2-core machine
    # one take can be disturbed, so the best of three takes must be right (50 ms of jitter at
    # most; the offline render is held to 30 ms in test_render.py).
    takes = []
    for attempt in range(3):
        onsets = play_once(tmp_path / f"live{attempt}.wav")
        takes.append(onsets)
        if len(onsets) == 4 and np.max(np.abs(np.diff(onsets) - 0.3)) < 0.05:
            break
    else:
        pytest.fail(f"no take had 4 onsets 0.3 s apart: {takes}")
