"""Continuation notes fit their chords about as often as real held-out melodies fit theirs.

For the styles with real harmony (jazz, blues, pop, classical) a few held-out pieces (the
training split) give the real rate: the share of notes starting on a beat whose pitch class is a
tone of the chord sounding there. Their 2-bar openings are continued for 4 bars (4 variations,
default settings) under the chords the generator proposes; the continuations' rate must lie
within 15 points of the real one."""

from __future__ import annotations

import json

import pytest

from gtzcomposer.core import KeySignature, Note, Song, TimeSignature, new_track
from gtzcomposer.core.chords import chord_index
from gtzcomposer.core.generation import GenerationSettings
from gtzcomposer.resources import model_card_path, model_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built"),
]
PIECES = 6


def _held_out(style: str):
    pytest.importorskip("music21")
    from training import melody_data

    card = json.loads(model_card_path("melody").read_text())
    tasks, _ = melody_data.corpus_tasks(card["training_data"]["max_per_style"], card["seed"])
    out = []
    for t in tasks:
        if t[1] != style or melody_data.split_of(melody_data.task_group(t), card["seed"]) != "test":
            continue
        if style == "classical" and t[2] != "bach":
            continue  # the chorales parse fast; the Lieder take seconds each
        _, rec, _ = melody_data._parse_task(t)
        if rec is not None:
            out.append(rec)
        if len(out) == PIECES:
            break
    return out


@pytest.mark.parametrize("style", ["jazz", "blues", "pop", "classical"])
def test_continuations_fit_their_chords_like_real_melodies(style, shared_data):
    from gtzcomposer.ml.melody.encoding import unswing_notes
    from gtzcomposer.ml.melody.generator import MelodyGenerator
    from training.melody_eval import chord_tone_rate

    gen = MelodyGenerator.load()
    pieces = _held_out(style)
    assert len(pieces) >= 3
    hit = n = 0
    for p in pieces:
        h, m = chord_tone_rate(p["notes"], p["chords"], 1920 // p["meter"][1])
        hit, n = hit + h, n + m
    real = hit / n
    ghit = gn = 0
    for k, p in enumerate(pieces):
        num, den = p["meter"]
        bar = num * 1920 // den
        notes = [Note(start=s, pitch=pi, duration=max(1, d)) for s, pi, d in p["notes"]]
        first = (notes[0].start // bar) * bar
        seed = [x for x in notes if first <= x.start < first + 2 * bar]
        song = Song(tracks=(new_track(0, notes=tuple(seed)),), time_signatures=(TimeSignature(0, num, den),),
                    key_signatures=(KeySignature(0, p["key"][0], p["key"][1]),))
        c = gen.continue_melody(seed, song, GenerationSettings(style, bars=4, variations=4, seed=k))
        assert c.chords, "the continuation has chords"
        spans = [(x.start, x.end, chord_index(x.chord)) for x in c.chords]
        for v in c.variations:
            straight = unswing_notes(v.notes, c.swing)
            h, m = chord_tone_rate([(x.start, x.pitch, x.duration) for x in straight], spans, 1920 // den)
            ghit, gn = ghit + h, gn + m
    generated = ghit / gn
    assert abs(generated - real) <= 0.15, f"{style}: generated {generated:.2f} vs real {real:.2f}"
