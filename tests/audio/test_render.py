"""Offline render, proven by analysing the audio (no sound card needed).

The known song (TimGM6mb from pretty_midi, so the result does not depend on which system fonts
a machine has), at 22.05 kHz:

- 0.5 .. 5.0 s: ten vibraphone notes, one per beat at 120 bpm, over four octaves;
- 6 s: the tempo drops to 60 bpm; four more notes, one per beat (now one per second);
- 11 .. 13 s: nothing written, except a *muted* loud strings track;
- 13, 14, 15 s: kick, snare, closed hi-hat (channel 10).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gtzcomposer.audio.render import RenderCancelled, RenderError, render_song
from gtzcomposer.core import PPQ, Note, Song, TempoChange, TempoMap, new_track

SR = 22050
TOL = 0.030  # seconds

MELODY = (48, 64, 55, 72, 59, 67, 81, 62, 40, 76)
SLOW = (60, 52, 69, 57)
TEMPO_TICK = 12 * PPQ
QUIET_START, QUIET_END = 11.0, 13.0
DRUM_HITS = (36, 38, 42)


def _song(mute_strings: bool = True) -> Song:
    melody = [Note((i + 1) * PPQ, p, PPQ // 2, 100) for i, p in enumerate(MELODY)]
    melody += [Note(TEMPO_TICK + i * PPQ, p, PPQ // 2, 100) for i, p in enumerate(SLOW)]
    quiet_tick = TEMPO_TICK + 5 * PPQ  # 11 s
    strings = [Note(quiet_tick, p, PPQ, 127) for p in (60, 64, 67)]
    drum_tick = TEMPO_TICK + 7 * PPQ  # 13 s
    drums = [Note(drum_tick + i * PPQ, p, PPQ // 4, 120) for i, p in enumerate(DRUM_HITS)]
    return Song(
        tracks=(
            new_track(0, "Vibes", program=11, notes=tuple(melody)),
            new_track(1, "Strings", program=48, notes=tuple(strings), mute=mute_strings),
            new_track(2, is_drum=True, notes=tuple(drums)),
        ),
        tempos=(TempoChange.from_bpm(0, 120), TempoChange.from_bpm(TEMPO_TICK, 60)),
    )


@pytest.fixture(scope="module")
def rendered(soundfont):
    song = _song()
    return song, render_song(song, soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)


@pytest.fixture(scope="module")
def onsets(rendered):
    import librosa

    _, y = rendered
    return librosa.onset.onset_detect(y=y, sr=SR, hop_length=128, units="time", backtrack=False)


def _rms_db(y: np.ndarray, start: float, end: float) -> float:
    seg = y[int(start * SR):int(end * SR)]
    return 20 * np.log10(np.sqrt(np.mean(seg.astype(np.float64) ** 2)) + 1e-12)


def _expected_onsets(song: Song, tracks=(0, 2)) -> list[float]:
    tm = TempoMap.of(song)
    return sorted(tm.seconds(n.start) for i in tracks for n in song.tracks[i].notes)


def test_every_note_and_drum_hit_starts_on_time(rendered, onsets):
    song, _ = rendered
    expected = _expected_onsets(song)
    assert len(expected) == len(MELODY) + len(SLOW) + len(DRUM_HITS)
    for t in expected:
        assert np.min(np.abs(onsets - t)) <= TOL, f"no onset within 30 ms of {t:.3f} s (found {onsets})"
    # ... and nothing sounds where nothing is written: every onset belongs to a written note.
    for o in onsets:
        assert np.min(np.abs(np.asarray(expected) - o)) <= TOL, f"unexpected onset at {o:.3f} s"


def test_tempo_change_moves_onsets_where_the_tempo_map_says(rendered, onsets):
    song, _ = rendered
    tm = TempoMap.of(song)
    # After the change to 60 bpm the notes are one second apart, not half a second.
    expected = [tm.seconds(TEMPO_TICK + i * PPQ) for i in range(len(SLOW))]
    assert expected == pytest.approx([6.0, 7.0, 8.0, 9.0])
    after = onsets[(onsets > 5.9) & (onsets < 10.0)]
    assert len(after) == len(SLOW)
    assert np.max(np.abs(np.sort(after) - expected)) <= TOL
    # Without the change they would be at 6.0, 6.5, 7.0, 7.5: nothing sounds at 6.5 or 7.5.
    for t in (6.5, 7.5):
        assert np.min(np.abs(onsets - t)) > 0.2


def test_every_melodic_note_has_its_pitch_class_and_octave(rendered):
    import librosa

    song, y = rendered
    tm = TempoMap.of(song)
    heard = []
    for n in song.tracks[0].notes:
        t = tm.seconds(n.start)
        seg = y[int((t + 0.03) * SR):int((t + 0.23) * SR)]
        f0, _, _ = librosa.pyin(seg, fmin=30, fmax=2000, sr=SR, frame_length=2048, hop_length=256)
        heard.append(int(round(float(librosa.hz_to_midi(np.nanmedian(f0))))))
    assert heard == [n.pitch for n in song.tracks[0].notes]


def test_drums_are_audible_where_written(rendered):
    song, y = rendered
    tm = TempoMap.of(song)
    for n in song.tracks[2].notes:
        t = tm.seconds(n.start)
        assert _rms_db(y, t, t + 0.05) > -50, f"drum {n.pitch} at {t:.2f} s is not audible"
        assert _rms_db(y, t - 0.25, t - 0.05) < _rms_db(y, t, t + 0.05) - 20


def test_silence_where_nothing_is_written_and_muted_track_is_silent(rendered, soundfont):
    _, y = rendered
    assert _rms_db(y, QUIET_START, QUIET_END) < -70
    # The same song with the strings unmuted is loud there: the check above can fail.
    loud = render_song(_song(mute_strings=False), soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
    assert _rms_db(loud, QUIET_START, QUIET_END) > -40


def test_solo_silences_the_other_tracks(soundfont):
    song = _song()
    solo = song.with_track(2, replace(song.tracks[2], solo=True))
    y = render_song(solo, soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
    assert _rms_db(y, 0.4, 6.0) < -70  # the melody is not soloed
    assert _rms_db(y, 13.0, 13.1) > -40  # the drums are


def test_volume_and_pan(soundfont):
    def rms(volume, pan):
        t = new_track(0, program=11, notes=(Note(PPQ, 60, PPQ, 100),), volume=volume, pan=pan)
        a = render_song(Song(tracks=(t,)), soundfont=soundfont, sample_rate=SR).audio
        seg = a[int(0.5 * SR):int(0.8 * SR)].astype(np.float64)
        return np.sqrt(np.mean(seg ** 2, axis=0))

    full, quiet = rms(127, 64), rms(40, 64)
    assert quiet.sum() < 0.3 * full.sum()
    left = rms(100, 0)
    right = rms(100, 127)
    assert left[0] > 5 * left[1]
    assert right[1] > 5 * right[0]


def test_release_tail_is_kept_then_trimmed(soundfont):
    song = Song(tracks=(new_track(0, program=11, notes=(Note(0, 72, PPQ, 110),)),))
    audio = render_song(song, soundfont=soundfont, sample_rate=SR, tail=2.0).audio
    seconds = audio.shape[0] / SR
    assert 0.5 < seconds <= 0.5 + 2.0 + 1e-6
    after = audio[int(0.55 * SR):int(0.6 * SR)]
    assert np.abs(after).max() > 1e-3  # the note rings on after its note-off
    # Cut where it died away: shorter than the full 2 s when the sound ends sooner
    assert np.abs(audio[-int(0.02 * SR):]).max() < 1e-2


@pytest.mark.parametrize(("name", "rate", "depth", "subtype"), [
    ("out.wav", 44100, 16, "PCM_16"),
    ("out.wav", 48000, 24, "PCM_24"),
    ("out.flac", 44100, 16, "PCM_16"),
    ("out.flac", 48000, 24, "PCM_24"),
])
def test_file_formats(tmp_path, soundfont, name, rate, depth, subtype):
    import soundfile

    song = Song(tracks=(new_track(0, program=0, notes=(Note(0, 60, PPQ, 100), Note(PPQ, 64, PPQ, 100))),))
    result = render_song(song, tmp_path / name, soundfont=soundfont, sample_rate=rate, bit_depth=depth)
    info = soundfile.info(str(tmp_path / name))
    assert info.samplerate == rate
    assert info.channels == 2
    assert info.subtype == subtype
    assert info.frames == result.audio.shape[0]
    back, _ = soundfile.read(str(tmp_path / name), dtype="float32")
    assert np.max(np.abs(back - result.audio)) < 2.0 / 2 ** (depth - 1)


def test_bad_options_are_clear_errors(tmp_path, soundfont):
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ),)),))
    with pytest.raises(RenderError, match="mp3"):
        render_song(song, tmp_path / "out.mp3", soundfont=soundfont)
    with pytest.raises(RenderError, match="12345"):
        render_song(song, tmp_path / "out.wav", soundfont=soundfont, sample_rate=12345)
    with pytest.raises(RenderError, match="bit depth"):
        render_song(song, tmp_path / "out.wav", soundfont=soundfont, bit_depth=12)
    assert not list(tmp_path.iterdir())


def test_progress_and_cancel(tmp_path, soundfont):
    song = Song(tracks=(new_track(0, notes=tuple(Note(i * PPQ, 60, PPQ) for i in range(40))),))
    seen = []
    render_song(song, soundfont=soundfont, sample_rate=SR, progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0
    assert seen == sorted(seen) and len(seen) > 3
    with pytest.raises(RenderCancelled):
        render_song(song, tmp_path / "x.wav", soundfont=soundfont, is_cancelled=lambda: True)
    assert not (tmp_path / "x.wav").exists()


def test_empty_song_renders_silence(soundfont):
    audio = render_song(Song(), soundfont=soundfont, sample_rate=SR).audio
    assert audio.shape[1] == 2
    assert audio.shape[0] <= 2 * SR and (audio.size == 0 or np.abs(audio).max() < 1e-4)


def test_loud_song_is_scaled_not_clipped(soundfont):
    chord = tuple(Note(0, p, PPQ * 2, 127) for p in range(36, 96, 2))
    tracks = tuple(new_track(i, program=p, notes=chord, volume=127) for i, p in enumerate((0, 19, 48, 61, 81)))
    result = render_song(Song(tracks=tracks), soundfont=soundfont, sample_rate=SR)
    assert result.scaled < 1.0
    assert np.abs(result.audio).max() <= 0.99


def test_drum_kit_the_soundfont_lacks_falls_back_to_the_standard_kit(soundfont):
    def level(program):
        drums = new_track(0, is_drum=True, program=program, notes=(Note(0, 38, PPQ, 120),))
        y = render_song(Song(tracks=(drums,)), soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
        return _rms_db(y, 0.0, 0.1)

    assert level(99) > -40  # TimGM6mb has no kit 99: the standard kit plays instead of silence
    assert level(99) == pytest.approx(level(0), abs=0.5)
