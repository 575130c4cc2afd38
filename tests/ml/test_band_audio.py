"""The band as sound: a rendered band continuation has bass energy and drum onsets in every bar."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from gtzcomposer.core import Song, TempoChange, TimeSignature
from gtzcomposer.core.chords import Chord, ChordSpan
from gtzcomposer.ml.band import play_band, with_band
from tests.helpers import melody_song

SR = 22050
pytestmark = pytest.mark.skipif(shutil.which("mma") is None, reason="the program mma is not installed")


@pytest.fixture(scope="module")
def soundfont():
    from gtzcomposer.audio.soundfont import bundled_soundfont

    sf = bundled_soundfont()
    if sf is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    return sf


def _per_bar(audio: np.ndarray, bar_s: float, bars: int):
    """(low-frequency share of energy under 150 Hz, onsets) per bar."""
    import librosa

    spec = np.abs(librosa.stft(audio, n_fft=2048, hop_length=512)) ** 2
    freqs = librosa.fft_frequencies(sr=SR, n_fft=2048)
    times = librosa.frames_to_time(np.arange(spec.shape[1]), sr=SR, hop_length=512)
    onsets = librosa.onset.onset_detect(y=audio, sr=SR, units="time")
    out = []
    for b in range(bars):
        m = (times >= b * bar_s) & (times < (b + 1) * bar_s)
        low = spec[(freqs >= 30) & (freqs < 150)][:, m].sum() / (spec[:, m].sum() + 1e-12)
        out.append((float(low), int(((onsets >= b * bar_s) & (onsets < (b + 1) * bar_s)).sum())))
    return out


@pytest.mark.parametrize("genre", ["rock", "reggae", "jazz"])
def test_rendered_band_has_bass_energy_and_more_onsets_than_the_melody(genre, soundfont):
    from gtzcomposer.audio.render import render_song

    melody = melody_song(pitches=(67, 69, 71, 72, 74, 72, 71, 69) * 2, bpm=120)  # 4 bars of 4/4
    song = Song(tracks=melody.tracks, tempos=(TempoChange.from_bpm(0, 120),),
                time_signatures=(TimeSignature(0, 4, 4),), key_signatures=melody.key_signatures)
    prog = [Chord(7, "maj"), Chord(4, "min"), Chord(0, "maj"), Chord(2, "7")]
    spans = [ChordSpan(i * 1920, (i + 1) * 1920, c) for i, c in enumerate(prog)]
    take = play_band(song, [spans], genre, ["chords", "bass", "drums"], 0, 4 * 1920, seed=3)[0]
    plain = _per_bar(render_song(song, soundfont=soundfont, sample_rate=SR, tail=0.5).audio.mean(axis=1), 2.0, 4)
    band = _per_bar(render_song(with_band(song, take), soundfont=soundfont, sample_rate=SR,
                                tail=0.5).audio.mean(axis=1), 2.0, 4)
    for b in range(4):
        assert band[b][0] > 0.05 > plain[b][0], f"{genre} bar {b + 1}: low-frequency share {band[b][0]:.3f}"
        assert band[b][1] > plain[b][1], f"{genre} bar {b + 1}: {band[b][1]} onsets vs {plain[b][1]} of the melody"
