"""Spliced training windows (training/melody.py splice_window): 1-2 bars of another style, then
the window's own style, with the loss on the window's own style only."""

from __future__ import annotations

import numpy as np

from gtzcomposer.core import Note
from gtzcomposer.ml.melody.encoding import HOLD, piece_sequence
from training.melody import splice_window, windows


def _piece(style: int, pitches, num=4, den=4, step=240):
    notes = [Note(start=i * step, pitch=p, duration=step) for i, p in enumerate(pitches)]
    return piece_sequence(notes, num, den, 0, style, [(0, 64 * 1920, 3 * 15)])


def _windows(*seqs):
    return windows(list(seqs), 64, 64)


def _first(x, style: int) -> int:
    return int(np.flatnonzero(x[4][:, 0] == style)[0])


def test_a_spliced_window_opens_with_the_partners_bars_and_learns_only_its_own():
    a = _piece(0, [60, 62, 64, 65] * 16)  # eighth notes, style 0
    b = _piece(1, [72, 71] * 32, step=480)  # quarter notes, style 1
    x, y, w = _windows(a, b)
    i, j = _first(x, 1), _first(x, 0)  # a style-1 window; its partner is style 0's
    for bars in (1, 2):
        (inp, pos, met, cho, sty), tok, wt = splice_window(x, y, w, i, j, bars)
        cut = 16 * bars
        assert np.array_equal(tok[:cut], y[j][:cut]) and np.array_equal(tok[cut:], y[i][cut:])
        assert np.array_equal(inp[1:], tok[:-1])  # inputs are the tokens shifted by one, across the splice too
        assert np.array_equal(cho[:cut], x[3][j][:cut]) and np.array_equal(cho[cut:], x[3][i][cut:])
        assert sty[0] == 1 and np.array_equal(pos, x[1][i]) and np.array_equal(met, x[2][i])
        assert wt[:cut].sum() == 0 and np.array_equal(wt[cut:], w[i][cut:]) and wt[cut:].min() == 1
    # the original arrays are untouched
    assert np.array_equal(y[i], _windows(a, b)[1][i])


def test_windows_that_do_not_fit_are_not_spliced():
    a = _piece(0, [60, 62, 64, 65] * 16)
    waltz = _piece(1, [67, 65, 64] * 16, num=3, den=4)
    x, y, w = _windows(a, waltz)
    assert splice_window(x, y, w, _first(x, 1), 0, 1) is None  # another meter
    # a note of a bar and a half, then a half note: bar 2 starts inside a note, bar 3 on a new one
    tied = piece_sequence([Note(start=0, pitch=72, duration=2880), Note(start=2880, pitch=74, duration=960)]
                          + [Note(start=3840 + 480 * k, pitch=71, duration=480) for k in range(16)], 4, 4, 0, 1,
                          [(0, 64 * 1920, 3 * 15)])
    x, y, w = _windows(a, tied)
    i = _first(x, 1)
    assert y[i][16] == HOLD and splice_window(x, y, w, i, 0, 1) is None
    assert y[i][32] != HOLD and splice_window(x, y, w, i, 0, 2) is not None
    short = _piece(0, [60, 62, 64, 65])  # two beats: padding in the borrowed bar
    x, y, w = _windows(short, _piece(1, [72, 71] * 32, step=480))
    assert splice_window(x, y, w, _first(x, 1), 0, 1) is None


def test_each_epoch_splices_a_share_of_windows_with_partners_of_another_style_and_the_same_meter():
    import pytest

    keras = pytest.importorskip("keras")
    from training.melody import balanced_epochs

    pieces = [_piece(s, [60 + s, 62, 64, 65] * 32) for s in (0, 1, 2)] + [_piece(3, [67, 65, 64] * 32, num=3)]
    x, y, w = windows(pieces, 64, 64)
    data = balanced_epochs(keras, x, y, w, per_style=50, batch=8, seed=1, splice=0.5)
    styles, meters = x[4][:, 0], x[2][:, 0]
    spliced = dict(data.spliced)
    assert 0.2 * len(data.idx) < len(spliced) <= len(data.idx)
    for k, (partner, bars) in spliced.items():
        i = data.idx[k]
        assert styles[partner] != styles[i] and meters[partner] == meters[i] and bars in (1, 2)
    assert all(styles[data.idx[k]] != 3 for k in spliced)  # the only 3/4 style has no partner
    # a batch holds the spliced windows: the partner's bars, then the window's own
    k = min(spliced)
    partner, bars = spliced[k]
    (inp, *_), tok, wt = data[k // 8]
    r = k % 8
    assert np.array_equal(tok[r][:16 * bars], y[partner][:16 * bars]) and wt[r][:16 * bars].sum() == 0
    assert balanced_epochs(keras, x, y, w, per_style=50, batch=8, seed=1, splice=0.5).spliced == spliced  # seeded
