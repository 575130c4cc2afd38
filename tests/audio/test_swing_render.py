"""A jazz continuation sounds swung: its off-beat eighths are heard late in the beat.

The continuation is rendered with FluidSynth (vibraphone, 80 bpm) and the onsets are found in the
audio: each off-beat note of the continuation is heard near its swung time (ratio x the beat)
and not at the straight half beat, about 90 ms earlier."""

from __future__ import annotations

import numpy as np
import pytest

from gtzcomposer.core import PPQ, KeySignature, Note, Song, TempoChange, TempoMap, TimeSignature, new_track
from gtzcomposer.core.generation import GenerationSettings
from gtzcomposer.resources import model_path

pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")
SR = 22050


def test_jazz_continuation_is_heard_swung(soundfont):
    import librosa

    from gtzcomposer.audio.render import render_song
    from gtzcomposer.ml.melody.generator import MelodyGenerator

    seed = tuple(Note(i * 240, p, 240, 100) for i, p in enumerate((62, 65, 69, 72, 71, 67, 64, 62, 60, 64, 67, 71,
                                                                    72, 69, 65, 62)))
    song = Song(tracks=(new_track(0, "Vibes", program=11, notes=seed),), tempos=(TempoChange.from_bpm(0, 80),),
                time_signatures=(TimeSignature(0, 4, 4),), key_signatures=(KeySignature(0, 0, "major"),))
    gen = MelodyGenerator.load()
    best = None
    for s in range(6):  # a variation with several off-beat eighths to listen to
        c = gen.continue_melody(seed, song, GenerationSettings("jazz", bars=2, variations=4, seed=s))
        swung_off = round(c.swing * PPQ)
        for v in c.variations:
            offs = [n for n in v.notes if n.start % PPQ == swung_off]
            if best is None or len(offs) > len(best[1]):
                best = (v, offs, c)
    v, offs, c = best
    assert c.swing > 0.55 and len(offs) >= 3
    assert not any(n.start % PPQ == PPQ // 2 for n in v.notes)  # nothing on the straight off-beat
    # play only the continuation, so every onset heard is one of its notes
    played = Song(tracks=(new_track(0, "Vibes", program=11, notes=tuple(
        Note(n.start - c.start + PPQ, n.pitch, n.duration, 100) for n in v.notes)),),
        tempos=song.tempos, time_signatures=song.time_signatures)
    y = render_song(played, soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
    heard = librosa.onset.onset_detect(y=y, sr=SR, hop_length=128, units="time", backtrack=False)
    tm = TempoMap.of(played)
    beat = 60 / 80
    for n in offs:
        t = tm.seconds(n.start - c.start + PPQ)
        straight = t - (c.swing - 0.5) * beat
        d_swung = np.min(np.abs(heard - t))
        d_straight = np.min(np.abs(heard - straight))
        assert d_swung <= 0.03, f"no onset near the swung off-beat at {t:.3f} s"
        assert d_straight > d_swung
