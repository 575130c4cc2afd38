"""The melody model and the style critic as the app runs them (numpy: ``StepModel``, ``CriticStep``)
against Keras, on real melodies (the MIDI fixtures' top lines, encoded as the app encodes them).

Needs the ``training`` extra (Keras + TensorFlow); skipped with the reason below without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras", reason="Keras comes with the training extra (pip install '.[training]'); "
                                    "these tests compare the numpy runtime with it")

from gtzcomposer.io.midi import midi_to_song  # noqa: E402
from gtzcomposer.ml.melody import encoding as enc  # noqa: E402
from gtzcomposer.ml.melody import model as M  # noqa: E402
from gtzcomposer.resources import model_path  # noqa: E402

pytestmark = pytest.mark.keras
DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = ("music21_bwv66_6.mid", "music21_test06.mid", "music21_test12.mid", "pretty_midi_band.mid")


def _sequences(max_steps: int = 96):
    """One encoded sequence per fixture track: its melody, key-normalised, 4/4, with the chords
    inferred bar by bar from all of the song's pitched tracks (the fixtures' own harmony)."""
    from gtzcomposer.core.chords import ChordSpan, infer_chords

    out = []
    for i, name in enumerate(FIXTURES):
        song = midi_to_song(DATA / name)
        pitched = [n for t in song.tracks if not t.is_drum for n in t.notes]
        bar = 4 * song.ppq
        spans = [(b * bar, (b + 1) * bar) for b in range(max(n.end for n in pitched) // bar + 1)]
        chords = [ChordSpan(a, b, c) for (a, b), c in zip(spans, infer_chords(pitched, spans))]
        for track in song.tracks:
            if not track.notes or track.is_drum:
                continue
            tonic, _ = enc.estimate_key(track.notes)
            seq = enc.piece_sequence(track.notes, 4, 4, tonic, style=(i + len(out)) % 5, chords=chords)
            n = min(max_steps, len(seq.inputs))
            if (seq.tokens[:n] >= enc.FIRST_NOTE).sum() >= 8:  # a line with some notes in it
                out.append((seq.inputs[:n], seq.pos[:n], seq.meter[:n], seq.chord[:n], seq.style, seq.tokens[:n]))
    assert len(out) >= 4
    return out


def test_step_model_equals_keras_on_real_melodies():
    km = M.load_keras_model(model_path("melody"))
    step = M.StepModel.load(model_path("melody"))
    for inputs, pos, meter, chord, style, _ in _sequences():
        args = [a[None].astype(np.int32) for a in (inputs, pos, meter, chord)] + [np.array([[style]], np.int32)]
        ref = np.asarray(km.predict_on_batch(args))
        got, _ = step.run(*args)
        assert got.shape == ref.shape
        assert np.max(np.abs(got - ref)) <= 1e-4


def test_critic_equals_keras_on_real_melodies():
    km = M.load_keras_model(model_path("style_classifier"))
    step = M.CriticStep.load(model_path("style_classifier"))
    feats = []
    for _, pos, _, _, _, tokens in _sequences(192):
        for a in range(0, len(tokens) - 63, 32):  # 4-bar windows, as the critic scores continuations
            feats.append(enc.style_features(tokens[a:a + 64], pos[a:a + 64]))
    x = np.stack(feats).astype(np.float32)
    assert len(x) >= 8
    logits = np.asarray(km.predict_on_batch(x), np.float64)
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert np.max(np.abs(step.probabilities(x) - p)) <= 1e-5
