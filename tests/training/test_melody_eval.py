"""training/melody_eval.py: the style-fidelity seeds and the bootstrap of the nearest-own-style figure."""

from __future__ import annotations

import numpy as np

from training.melody_eval import _histograms, bootstrap_nearest, fidelity_seeds


def _piece(style, notes, meter=(4, 4)):
    return {"style": style, "meter": list(meter), "key": [0, "major"], "notes": notes}


def test_seeds_start_on_bar_lines_whose_two_bars_hold_a_beat_of_notes():
    bar = 1920
    # bars 0-1 hold notes, bars 2-5 are silent, bars 6-7 hold notes
    busy = [[b * bar + i * 480, 60 + i, 480] for b in (0, 1, 6, 7) for i in range(4)]
    sparse = [[3 * bar, 62, 120]]  # a 16th, never a beat's worth of notes
    test = [_piece("jazz", busy), _piece("jazz", sparse), _piece("blues", busy, meter=(3, 4))]
    seeds = fidelity_seeds(test, ["jazz", "blues"], 40, np.random.default_rng(0))
    assert len(seeds) == 80
    jazz = [(p, b) for p, b in seeds if p["style"] == "jazz"]
    assert len(jazz) == 40 and all(p is test[0] for p, _ in jazz)  # the sparse piece gives no seed
    # 2-bar windows from bar 0, 1, 5 (bar 6 inside), 6, 7 hold a beat of notes; 2, 3, 4 do not
    assert {b // bar for _, b in jazz} <= {0, 1, 5, 6, 7} and len({b for _, b in jazz}) >= 3
    blues_bar = 3 * 1920 // 4
    assert all(b % blues_bar == 0 for p, b in seeds if p["style"] == "blues")
    again = fidelity_seeds(test, ["jazz", "blues"], 40, np.random.default_rng(0))
    assert [(id(p), b) for p, b in again] == [(id(p), b) for p, b in seeds]  # seeded


def test_bootstrap_counts_how_often_a_style_is_nearest_its_own():
    rng = np.random.default_rng(1)

    def line(step, pcs):  # (start, pitch, duration) notes: a rhythm and a pitch set
        return [(i * step, 60 + int(rng.choice(pcs)), step) for i in range(16)]

    styles = ["a", "b"]
    real = {"a": _histograms([line(120, [0, 2, 4]) for _ in range(30)]),
            "b": _histograms([line(480, [1, 3, 6]) for _ in range(30)])}
    lists = {"a": [line(120, [0, 2, 4]) for _ in range(20)],  # plays like a
             "b": [line(120, [0, 2, 4]) for _ in range(20)]}  # plays like a too
    got = bootstrap_nearest(lists, real, styles, np.random.default_rng(2), rounds=50)
    assert got == {"a": 1.0, "b": 0.0}
    # half of b's continuations play like b, half like a: nearest b in some resamples, not all
    lists["b"] = [line(480, [1, 3, 6]) for _ in range(10)] + [line(120, [0, 2, 4]) for _ in range(10)]
    mixed = bootstrap_nearest(lists, real, styles, np.random.default_rng(2), rounds=200)["b"]
    assert 0.05 < mixed < 0.95
    assert np.isnan(bootstrap_nearest({"a": [], "b": lists["b"]}, real, styles, rng, rounds=5)["a"])
