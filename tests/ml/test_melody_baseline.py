"""The bundled model beats a 5-gram Markov baseline on held-out pieces, per style.

Computed here from a small subset parsed from the music21 corpus and ../shared/data (the
full-split figures are in training/reports/melody/eval.md): a few held-out pieces per style (the
same group-hash split as training) and a Markov model trained on a subset of each style's train
pieces. The model sees each piece's chords, as in training.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from gtzcomposer.core import Note
from gtzcomposer.ml.melody.encoding import HOLD, piece_sequence
from gtzcomposer.ml.melody.markov import MarkovModel
from gtzcomposer.ml.melody.model import StepModel
from gtzcomposer.resources import model_card_path, model_path

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built"),
]

TEST_PER_STYLE, TRAIN_PER_STYLE = 4, 20
MAX_STEPS = 512  # score the first 32 bars (4/4) of each held-out piece


def _subset():
    pytest.importorskip("music21")
    import json

    from training import melody_data

    card = json.loads(model_card_path("melody").read_text())
    styles = card["styles"]
    tasks, _ = melody_data.corpus_tasks(card["training_data"]["max_per_style"], card["seed"])
    want = {"test": TEST_PER_STYLE, "train": TRAIN_PER_STYLE}
    chosen: dict[tuple, list] = {}
    for t in tasks:  # a few spare candidates per split, in case some are discarded
        split = melody_data.split_of(melody_data.task_group(t), card["seed"])
        key = (t[1], split)
        if split in want and len(chosen.setdefault(key, [])) < want[split] + 1:
            chosen[key].append(t)
    flat = [t for ts in chosen.values() for t in ts]
    with ProcessPoolExecutor(2) as pool:
        parsed = dict(zip((t[0] for t in flat), pool.map(melody_data._parse_task, flat, chunksize=8)))
    got: dict[tuple, list] = {}
    for key, ts in chosen.items():
        got[key] = []
        for t in ts:
            rec = parsed[t[0]][1]
            if rec is not None and len(got[key]) < want[key[1]]:
                notes = [Note(max(0, s), p, max(0, d)) for s, p, d in rec["notes"]]
                got[key].append(piece_sequence(notes, *rec["meter"], rec["key"][0], styles.index(t[1]),
                                               [tuple(c) for c in rec["chords"]]))
    return styles, got


def test_model_beats_markov_on_held_out_subset():
    styles, got = _subset()
    step = StepModel.load(model_path("melody"))
    for style in styles:
        test = got[(style, "test")]
        assert len(test) == TEST_PER_STYLE
        markov = MarkovModel(5).fit([s.tokens for s in got[(style, "train")]])
        b = markov.evaluate([s.tokens[:MAX_STEPS] for s in test])
        nll, events, correct, acc_events = 0.0, 0, 0, 0
        for s in test:
            n = min(len(s.tokens), MAX_STEPS)
            logits, _ = step.run(s.inputs[None, :n], s.pos[None, :n], s.meter[None, :n], s.chords[None, :n],
                                 np.array([[s.style]]))
            z = logits[0].astype(np.float64)
            logp = z - z.max(1, keepdims=True)
            logp -= np.log(np.exp(logp).sum(1, keepdims=True))
            t = s.tokens[:n]
            nll -= logp[np.arange(n), t].sum()
            events += n
            m = t != HOLD
            correct += int((logp.argmax(1)[m] == t[m]).sum())
            acc_events += int(m.sum())
        model_nll, markov_nll = nll / events, b["nll_sum"] / b["events"]
        assert model_nll < markov_nll, f"{style}: model {model_nll:.3f} vs 5-gram {markov_nll:.3f}"
        assert correct / acc_events > b["correct"] / b["acc_events"], style


def test_markov_model_is_a_distribution_and_backs_off():
    mm = MarkovModel(3).fit([[4, 5, 6, 4, 5, 6, 4, 5, 7]])
    for hist in ([], [4], [4, 5], [9, 9]):
        p = mm.distribution(hist)
        assert abs(p.sum() - 1) < 1e-9 and (p >= 0).all()
    p = mm.distribution([4, 5])
    assert p[6] > p[7] > p[10] > 0  # seen twice > seen once > unseen but smoothed
