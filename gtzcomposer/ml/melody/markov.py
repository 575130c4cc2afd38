"""A token n-gram baseline (default 5-gram) with Witten-Bell interpolated back-off.

    P(w | h) = (c(h, w) + T(h) * P(w | h')) / (c(h) + T(h))

where ``h'`` drops the oldest token of ``h``, ``T(h)`` is the number of distinct tokens seen
after ``h``, and the recursion ends in an add-one unigram. Contexts never seen fall through to
the shorter context. One model per style, trained on the same split as the neural model.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from .encoding import BOS, HOLD, PAD, VOCAB_SIZE


class MarkovModel:
    def __init__(self, order: int = 5, vocab_size: int = VOCAB_SIZE):
        self.order = order
        self.vocab_size = vocab_size
        # counts[k][context of length k] -> Counter(next token)
        self.counts: list[dict[tuple, Counter]] = [defaultdict(Counter) for _ in range(order)]

    def fit(self, sequences: Iterable[Sequence[int]]) -> MarkovModel:
        for seq in sequences:
            hist = [BOS] * (self.order - 1)
            for t in seq:
                t = int(t)
                for k in range(self.order):
                    ctx = tuple(hist[len(hist) - k:]) if k else ()
                    self.counts[k][ctx][t] += 1
                hist.append(t)
        # freeze into (total, types, dense counts) for fast lookups
        self._dense: list[dict[tuple, tuple[float, float, np.ndarray]]] = []
        for k in range(self.order):
            d = {}
            for ctx, c in self.counts[k].items():
                v = np.zeros(self.vocab_size, np.float64)
                for tok, n in c.items():
                    v[tok] = n
                d[ctx] = (float(v.sum()), float(len(c)), v)
            self._dense.append(d)
        return self

    def distribution(self, history: Sequence[int]) -> np.ndarray:
        """P(next | history) over the vocabulary (PAD and BOS get no mass)."""
        p = np.ones(self.vocab_size)
        p[PAD] = p[BOS] = 0.0
        uni = self._dense[0].get(())
        if uni is not None:
            total, _, v = uni
            p = (v + p) / (total + p.sum())
        else:
            p = p / p.sum()
        hist = [BOS] * (self.order - 1) + [int(t) for t in history]
        for k in range(1, self.order):
            entry = self._dense[k].get(tuple(hist[len(hist) - k:]))
            if entry is None:
                break
            total, types, v = entry
            p = (v + types * p) / (total + types)
        return p

    def evaluate(self, sequences: Iterable[Sequence[int]]) -> dict:
        """Summed negative log-likelihood (nats) and counts, for per-event averages; accuracy
        counts only steps whose target is not HOLD."""
        nll, n, correct, n_acc = 0.0, 0, 0, 0
        for seq in sequences:
            seq = [int(t) for t in seq]
            for i, t in enumerate(seq):
                p = self.distribution(seq[max(0, i - self.order + 1):i])
                nll -= float(np.log(max(p[t], 1e-12)))
                n += 1
                if t != HOLD:
                    n_acc += 1
                    correct += int(int(np.argmax(p)) == t)
        return {"nll_sum": nll, "events": n, "correct": correct, "acc_events": n_acc}
