"""How well a melody and its band fit: a pure scoring function the critic ranks variations with.

* ``chord_tone_rate``: of the melody notes that start on a strong beat (beats 1 and 3 of 4/4,
  beat 1 of 3/4 and 2/4, the two dotted quarters of 6/8, within a 32nd), the share whose pitch
  class belongs to the chord sounding there;
* ``bass_root_rate``: of the chord changes where the bass sounds (every chord span's first tick,
  the first included; a note starting within a 16th or sounding there), the share on the root;
* ``bass_tone_rate``: of the bars' downbeats where the bass sounds, the share on a chord tone
  (a bass that rests on a downbeat is a rhythm, not a wrong note);
* ``fit``: their mean over the parts present (a rate with nothing to count is left out).

``rank_score`` combines the style critic's probability and the fit (equal weights): a variation
that is in style but clashes with its band ranks below one that is both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...core import Note, Song
from ...core.chords import ChordSpan
from ...core.timing import iter_bars

FIT_WEIGHT = 0.5


@dataclass(frozen=True)
class Fit:
    chord_tone_rate: float | None
    bass_root_rate: float | None
    bass_tone_rate: float | None

    @property
    def fit(self) -> float:
        rates = [r for r in (self.chord_tone_rate, self.bass_root_rate, self.bass_tone_rate) if r is not None]
        return sum(rates) / len(rates) if rates else 0.0

    def to_dict(self) -> dict:
        r = lambda x: None if x is None else round(x, 4)  # noqa: E731
        return {"chord_tone_rate": r(self.chord_tone_rate), "bass_root_rate": r(self.bass_root_rate),
                "bass_tone_rate": r(self.bass_tone_rate), "fit": round(self.fit, 4)}


def _chord_at(chords: Sequence[ChordSpan], tick: int):
    for s in chords:
        if s.start <= tick < s.end:
            return s.chord
    return None


def strong_beats(song: Song, start: int, end: int) -> list[int]:
    out = []
    for bar in iter_bars(song, end):
        if bar.end <= start or bar.start >= end:
            continue
        sig = bar.signature
        if (sig.numerator, sig.denominator) == (4, 4):
            offs = (0, 2 * sig.beat_ticks)
        elif sig.denominator == 8 and sig.numerator % 3 == 0:
            offs = tuple(k * 3 * sig.beat_ticks for k in range(sig.numerator // 3))
        else:
            offs = (0,)
        out += [bar.start + o for o in offs if start <= bar.start + o < end and bar.start + o < bar.end]
    return out


def _sounding(notes: Sequence[Note], tick: int, tolerance: int) -> Note | None:
    best = None
    for n in notes:
        if abs(n.start - tick) <= tolerance or n.start <= tick < n.end:
            if best is None or abs(n.start - tick) < abs(best.start - tick):
                best = n
    return best


def band_fit(song: Song, melody: Sequence[Note], chords: Sequence[ChordSpan], bass: Sequence[Note] | None,
             start: int, end: int) -> Fit:
    ppq = song.ppq
    strong = strong_beats(song, start, end)
    hits = total = 0
    for n in melody:
        if not start <= n.start < end or not any(abs(n.start - t) <= ppq // 8 for t in strong):
            continue
        chord = _chord_at(chords, n.start)
        if chord is None:
            continue
        total += 1
        hits += n.pitch % 12 in chord.pitch_classes
    chord_rate = hits / total if total else None
    root_rate = tone_rate = None
    if bass:
        changes = [s for s in chords if s.chord is not None and start <= s.start < end]
        ok = n_changes = 0
        for s in changes:
            b = _sounding(bass, s.start, ppq // 4)
            if b is not None:
                n_changes += 1
                ok += b.pitch % 12 == s.chord.root
        root_rate = ok / n_changes if n_changes else None
        downs = [bar.start for bar in iter_bars(song, end) if start <= bar.start < end]
        ok = n_down = 0
        for t in downs:
            chord = _chord_at(chords, t)
            if chord is None:
                continue
            b = _sounding(bass, t, ppq // 4)
            if b is not None:
                n_down += 1
                ok += b.pitch % 12 in chord.pitch_classes
        tone_rate = ok / n_down if n_down else None
    return Fit(chord_rate, root_rate, tone_rate)


def rank_score(style_score: float, fit: Fit | None) -> float:
    if fit is None:
        return float(style_score)
    return (1 - FIT_WEIGHT) * float(style_score) + FIT_WEIGHT * fit.fit
