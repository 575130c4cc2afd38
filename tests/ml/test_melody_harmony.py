"""Chord slots, the numpy chord inference (twin of core.chords.infer_chords) and the chord
progression model."""

from __future__ import annotations

import numpy as np

from gtzcomposer.core import Note
from gtzcomposer.core.chords import N_CHORD_CLASSES, Chord, chord_index, infer_chords, slot_ticks
from gtzcomposer.ml.melody import harmony as H


def test_numpy_inference_agrees_with_core_inference():
    rng = np.random.default_rng(0)
    notes = [Note(start=int(s), pitch=int(p), duration=int(d))
             for s, p, d in zip(rng.integers(0, 7680, 300), rng.integers(40, 84, 300), rng.integers(60, 960, 300))]
    spans = [(t, t + 480) for t in range(0, 8160, 480)] + [(9000, 9480)]  # the last one is silent
    want = [chord_index(c) for c in infer_chords(notes, spans)]
    got = H.infer_chord_indices([n.start for n in notes], [n.end for n in notes], [n.pitch for n in notes], spans)
    assert got == want and got[-1] == H.NO_CHORD
    # a plain triad is found
    triad = [Note(0, 60, 960), Note(0, 64, 960), Note(0, 67, 960)]
    assert H.infer_chord_indices([0] * 3, [960] * 3, [60, 64, 67], [(0, 960)]) == [Chord(0, "maj").index]
    assert infer_chords(triad, [(0, 960)]) == [Chord(0, "maj")]


def test_slots_follow_the_meter():
    assert slot_ticks(4, 4) == 960 and slot_ticks(3, 4) == 1440 and slot_ticks(6, 8) == 720
    assert slot_ticks(2, 4) == 480 and slot_ticks(2, 2) == 960


def test_progression_model_learns_and_round_trips(tmp_path):
    ii_v_i = [Chord(2, "min7").index, Chord(7, "7").index, Chord(0, "maj7").index, Chord(0, "maj7").index]
    m = H.ChordProgressionModel(["jazz", "pop"]).fit("jazz", [ii_v_i * 8])
    m.fit("pop", [[Chord(0, "maj").index, Chord(9, "min").index, Chord(5, "maj").index, Chord(7, "maj").index] * 8])
    p = m.distribution("jazz", [Chord(2, "min7").index])
    assert abs(p.sum() - 1) < 1e-9 and p.argmax() == Chord(7, "7").index
    assert m.distribution("pop", [Chord(0, "maj").index]).argmax() == Chord(9, "min").index
    rng = np.random.default_rng(1)
    out = m.sample("jazz", [Chord(2, "min7").index, Chord(7, "7").index], 6, rng)
    assert len(out) == 6 and H.NO_CHORD not in out and out[0] == Chord(0, "maj7").index
    path = tmp_path / "chords.json.gz"
    m.save(path)
    m2 = H.ChordProgressionModel.load(path)
    assert np.allclose(m2.distribution("jazz", ii_v_i[:2]), m.distribution("jazz", ii_v_i[:2]))
    nll, n = m.nll("jazz", [ii_v_i * 2])
    assert n == 8 and nll / n < np.log(N_CHORD_CLASSES) / 2


def test_transpose_and_slot_sequence():
    g7 = Chord(7, "7").index
    assert Chord.from_index(H.transpose_index(g7, -7)) == Chord(0, "7")
    assert H.transpose_index(H.NO_CHORD, 3) == H.NO_CHORD
    seq = H.slot_sequence([(0, 960, g7), (960, 1920, Chord(0, "maj").index)], 2880, 960, 5)
    assert [Chord.from_index(c) if c != H.NO_CHORD else None for c in seq] == [Chord(0, "7"), Chord(5, "maj"), None]


def test_core_inference_over_a_long_track_sees_notes_held_from_bars_before():
    """core.chords.infer_chords reads each span from only the notes that can reach it (so a long
    comping track stays linear); notes held for many spans must still count, as in the numpy
    twin, which reads every note for every span."""
    rng = np.random.default_rng(4)
    notes = [Note(start=int(s), pitch=int(p), duration=int(d)) for s, p, d in
             zip(rng.integers(0, 40 * 960, 200), rng.integers(36, 84, 200), rng.choice([60, 240, 960], 200))]
    notes += [Note(start=960 * b, pitch=p, duration=8 * 960) for b in (3, 17, 29) for p in (40, 44, 47)]  # E major, held
    spans = [(960 * i, 960 * (i + 1)) for i in range(44)]
    want = H.infer_chord_indices([n.start for n in notes], [n.end for n in notes], [n.pitch for n in notes], spans)
    assert [chord_index(c) for c in infer_chords(notes, spans)] == want
    assert sum(w == Chord(4, "maj").index for w in want) >= 6  # the held chord decides spans long after it began
