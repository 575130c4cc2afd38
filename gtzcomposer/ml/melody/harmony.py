"""Chords for the melody model: fast chord inference, slot chord sequences, and the
style-conditioned chord-progression model that proposes chords for the continued bars.  The
song's own chord track and the chord slots are :mod:`gtzcomposer.core.chords`' (MusicXML export
reads them too).

Decisions:

* One vocabulary: :mod:`gtzcomposer.core.chords` (root + 14 qualities + "no chord"). The model
  sees chords *key-relative* (transposed with the melody, so the tonic is C).
* A **chord slot** is the span one proposed chord lasts (``core.chords.slot_ticks``): half a bar
  in 4/4, one beat in 2/4 and 2/2, a dotted quarter in 6/8, 9/8 and 12/8, the whole bar in 3/4,
  3/8 and other meters. Sources with real chord changes (WJD, OpenEWLD, POP909) keep their own change points;
  slots are only where chords are proposed (the progression model) or inferred.
* :func:`infer_chord_indices` is the numpy twin of :func:`core.chords.infer_chords` (same
  scoring; ``tests/ml/test_melody_harmony.py`` checks they agree) for the bulk work of training.
* The progression model is a per-style chord n-gram (order 3 by default) over slot chords with
  Witten-Bell interpolated back-off, like the melody baseline: small (a JSON file of counts),
  fast, and trained on exactly the pieces and split the melody model sees.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from ...core.chords import N_CHORD_CLASSES, QUALITIES, Chord

NO_CHORD = N_CHORD_CLASSES - 1
CHORD_BOS = N_CHORD_CLASSES  # start of a piece, for the progression model only


def chord_pitch_table() -> np.ndarray:
    """(N_CHORD_CLASSES, 24) float table: chord tones (12) and root (12) of every chord class;
    the "no chord" row is zero. The melody model gets this as a fixed input besides a learned
    chord embedding, so what it learns about one chord carries over to chords it saw less."""
    t = np.zeros((N_CHORD_CLASSES, 24), np.float32)
    for i in range(N_CHORD_CLASSES - 1):
        c = Chord.from_index(i)
        for pc in c.pitch_classes:
            t[i, pc] = 1.0
        t[i, 12 + c.root] = 1.0
    return t


def transpose_index(index: int, semitones: int) -> int:
    if index == NO_CHORD:
        return index
    return (index // 12) * 12 + (index % 12 + semitones) % 12


# --- numpy chord inference (the twin of core.chords.infer_chords) -----------------------------------
_TEMPLATES = None


def _templates():
    global _TEMPLATES
    if _TEMPLATES is None:
        n = N_CHORD_CLASSES - 1
        inside = np.zeros((n, 12))
        root = np.zeros((n, 12))
        penalty = np.zeros(n)
        for qi, ivs in enumerate(QUALITIES.values()):
            for r in range(12):
                i = qi * 12 + r
                for iv in ivs:
                    inside[i, (r + iv) % 12] = 1.0
                root[i, r] = 1.0
                penalty[i] = 0.06 * (len(ivs) - 3) + 0.002 * qi
        _TEMPLATES = inside, root, penalty
    return _TEMPLATES


def infer_chord_indices(starts, ends, pitches, spans: Sequence[tuple[int, int]]) -> list[int]:
    """Chord class index (``NO_CHORD`` where nothing sounds) of each span, from notes given as
    arrays of start ticks, end ticks and MIDI pitches; the same scoring as ``infer_chords``."""
    starts = np.asarray(starts, np.int64)
    ends = np.asarray(ends, np.int64)
    pitches = np.asarray(pitches, np.int64)
    if not len(spans):
        return []
    inside_t, root_t, penalty = _templates()
    sp = np.asarray(spans, np.int64)
    s0, s1 = sp[:, :1], sp[:, 1:]
    overlap = np.minimum(ends[None, :], s1) - np.maximum(starts[None, :], s0)  # (S, N)
    early = (starts[None, :] >= s0) & (starts[None, :] < s0 + (s1 - s0) // 4)
    wgt = np.where(overlap > 0, overlap * np.where(early, 1.5, 1.0), 0.0)
    w = np.zeros((len(sp), 12))
    pcs = pitches % 12
    for pc in range(12):
        m = pcs == pc
        if m.any():
            w[:, pc] = wgt[:, m].sum(axis=1)
    total = w.sum(axis=1)
    inside = w @ inside_t.T  # (S, C)
    score = inside - 0.7 * (total[:, None] - inside) + 0.25 * (w @ root_t.T) - total[:, None] * penalty[None, :]
    sounding = overlap > 0
    big = np.iinfo(np.int64).max
    low_pitch = np.where(sounding, pitches[None, :], big).min(axis=1) if len(pitches) else np.full(len(sp), big)
    has_low = low_pitch != big
    low_pc = np.where(has_low, low_pitch % 12, -1)
    bonus = (root_t.argmax(axis=1)[None, :] == low_pc[:, None]) * (0.05 * total[:, None])
    score = score + bonus
    best = score.argmax(axis=1)
    return [int(b) if t > 0 else NO_CHORD for b, t in zip(best, total)]


# --- chord progression model ------------------------------------------------------------------------
class ChordProgressionModel:
    """Per-style n-gram over key-relative slot chords with Witten-Bell interpolated back-off."""

    def __init__(self, styles: Sequence[str], order: int = 3):
        self.styles = list(styles)
        self.order = order
        self.vocab = N_CHORD_CLASSES  # predicted classes (BOS is context only)
        # counts[style][k][context] -> Counter(next)
        self.counts: dict[str, list[dict[tuple, Counter]]] = {
            s: [defaultdict(Counter) for _ in range(order)] for s in self.styles}
        self._raw: dict[str, list] = {}  # a loaded style's tables as read, turned into counts on first use

    def _levels(self, style: str) -> list[dict[tuple, Counter]]:
        """The style's count tables (a loaded model reads a style's JSON only when it is first used:
        loading all eight took 0.13 s, most of the model's load time)."""
        raw = self._raw.pop(style, None)
        if raw is not None:
            levels = self.counts[style]
            for k, level in enumerate(raw):
                for ctx, c in level.items():
                    key = tuple(int(x) for x in ctx.split()) if ctx else ()
                    levels[k][key] = Counter({int(t): n for t, n in c.items()})
        return self.counts[style]

    def fit(self, style: str, sequences: Iterable[Sequence[int]]) -> ChordProgressionModel:
        counts = self._levels(style)
        for seq in sequences:
            hist = [CHORD_BOS] * (self.order - 1)
            for c in seq:
                c = int(c)
                for k in range(self.order):
                    ctx = tuple(hist[len(hist) - k:]) if k else ()
                    counts[k][ctx][c] += 1
                hist.append(c)
        return self

    def distribution(self, style: str, history: Sequence[int]) -> np.ndarray:
        counts = self._levels(style)
        p = np.ones(self.vocab)
        uni = counts[0].get(())
        if uni:
            v = np.zeros(self.vocab)
            for tok, n in uni.items():
                v[tok] = n
            p = (v + 0.01) / (v.sum() + 0.01 * self.vocab)
        else:
            p = p / p.sum()
        hist = [CHORD_BOS] * (self.order - 1) + [int(t) for t in history]
        for k in range(1, self.order):
            c = counts[k].get(tuple(hist[len(hist) - k:]))
            if not c:
                break
            v = np.zeros(self.vocab)
            for tok, n in c.items():
                v[tok] = n
            types = len(c)
            p = (v + types * p) / (v.sum() + types)
        return p

    def sample(self, style: str, history: Sequence[int], n: int, rng, temperature: float = 1.0,
               allow_no_chord: bool = False) -> list[int]:
        """``n`` slot chords continuing ``history`` (key-relative indices)."""
        hist = [int(h) for h in history]
        out = []
        for _ in range(n):
            p = self.distribution(style, hist)
            if not allow_no_chord:
                p[NO_CHORD] = 0.0
            if temperature != 1.0:
                p = p ** (1.0 / temperature)
            p = p / p.sum()
            c = int(rng.choice(len(p), p=p))
            out.append(c)
            hist.append(c)
        return out

    def nll(self, style: str, sequences: Iterable[Sequence[int]]) -> tuple[float, int]:
        total, n = 0.0, 0
        for seq in sequences:
            for i, c in enumerate(seq):
                p = self.distribution(style, seq[max(0, i - self.order + 1):i])
                total -= float(np.log(max(p[int(c)], 1e-12)))
                n += 1
        return total, n

    def to_json(self) -> dict:
        return {"order": self.order, "styles": self.styles,
                "counts": {s: [{" ".join(map(str, ctx)): {str(t): n for t, n in c.items()}
                                for ctx, c in level.items()} for level in self._levels(s)] for s in self.styles}}

    @classmethod
    def from_json(cls, data: dict) -> ChordProgressionModel:
        m = cls(data["styles"], data["order"])
        m._raw = {s: levels for s, levels in data["counts"].items() if s in m.counts}
        return m

    def save(self, path: str | Path) -> None:
        """Gzipped JSON (``.json.gz``, so that the models folder's ``*.json`` stay model cards)."""
        import gzip

        blob = json.dumps(self.to_json(), separators=(",", ":"), sort_keys=True).encode("utf-8")
        Path(path).write_bytes(gzip.compress(blob, mtime=0))

    @classmethod
    def load(cls, path: str | Path) -> ChordProgressionModel:
        import gzip

        return cls.from_json(json.loads(gzip.decompress(Path(path).read_bytes()).decode("utf-8")))


def slot_sequence(chords: Sequence[tuple[int, int, int]], total_ticks: int, slot: int, shift: int) -> list[int]:
    """Key-relative chord index at the start of every slot of a piece (chords as (start, end, index))."""
    out = []
    j = 0
    ch = sorted(chords)
    for t in range(0, max(slot, total_ticks), slot):
        while j < len(ch) and ch[j][1] <= t:
            j += 1
        c = ch[j][2] if j < len(ch) and ch[j][0] <= t else NO_CHORD
        out.append(transpose_index(c, shift))
    return out


__all__ = ["NO_CHORD", "ChordProgressionModel", "chord_pitch_table", "infer_chord_indices", "slot_sequence",
           "transpose_index"]
