"""The style critic: a small Keras classifier (see ``model.build_critic``) over
``encoding.style_features`` of a token sequence, run in numpy to rank continuations."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .encoding import style_features
from .model import CriticStep


class StyleCritic:
    def __init__(self, step: CriticStep, styles: Sequence[str]):
        self.step = step
        self.styles = list(styles)

    @classmethod
    def load(cls, path: str | Path, styles: Sequence[str]) -> StyleCritic:
        return cls(CriticStep.load(path), styles)

    def probabilities(self, token_rows: Sequence[np.ndarray], pos_rows: Sequence[np.ndarray]) -> np.ndarray:
        """(N, n_styles) style probabilities of N token sequences (key-normalised frame)."""
        feats = np.stack([style_features(t, p) for t, p in zip(token_rows, pos_rows)])
        return self.step.probabilities(feats)

    def scores(self, token_rows, pos_rows, style: str) -> np.ndarray:
        """Probability that each sequence is in ``style``: the ranking score of a variation."""
        return self.probabilities(token_rows, pos_rows)[:, self.styles.index(style)]
