"""The one place where ticks become seconds (tempo map) and bars/beats (meter map)."""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from .song import PPQ, Song, TempoChange, TimeSignature


class TempoMap:
    """Piecewise-linear tick <-> seconds mapping built from a song's tempo changes."""

    def __init__(self, tempos: Sequence[TempoChange], ppq: int = PPQ) -> None:
        if not tempos or tempos[0].tick != 0:
            tempos = (TempoChange(0), *tempos)
        self.ppq = ppq
        self._ticks = [t.tick for t in tempos]
        self._uspq = [t.uspq for t in tempos]
        self._seconds = [0.0]
        for i in range(1, len(tempos)):
            span = self._ticks[i] - self._ticks[i - 1]
            self._seconds.append(self._seconds[-1] + span * self._uspq[i - 1] / (1e6 * ppq))

    @classmethod
    def of(cls, song: Song) -> TempoMap:
        return cls(song.tempos, song.ppq)

    def seconds(self, tick: float) -> float:
        """Seconds from the song start to ``tick``."""
        i = bisect.bisect_right(self._ticks, tick) - 1
        i = max(i, 0)
        return self._seconds[i] + (tick - self._ticks[i]) * self._uspq[i] / (1e6 * self.ppq)

    def tick(self, seconds: float) -> float:
        """Inverse of :meth:`seconds` (fractional ticks)."""
        i = bisect.bisect_right(self._seconds, seconds) - 1
        i = max(i, 0)
        return self._ticks[i] + (seconds - self._seconds[i]) * 1e6 * self.ppq / self._uspq[i]


def tick_to_seconds(song: Song, tick: float) -> float:
    return TempoMap.of(song).seconds(tick)


def seconds_to_tick(song: Song, seconds: float) -> float:
    return TempoMap.of(song).tick(seconds)


@dataclass(frozen=True, slots=True)
class Bar:
    index: int  # 0-based; bar numbers shown to users are index + 1
    start: int
    end: int
    signature: TimeSignature

    @property
    def beat_ticks(self) -> int:
        return self.signature.beat_ticks


def iter_bars(song: Song, until: int | None = None) -> Iterator[Bar]:
    """Bars from tick 0 up to and including the bar that contains ``until`` (or the song end).

    A time-signature change that falls inside a bar starts a new bar there, as notation does.
    """
    limit = song.end_tick if until is None else until
    sigs = song.time_signatures
    tick, index = 0, 0
    for i, sig in enumerate(sigs):
        next_change = sigs[i + 1].tick if i + 1 < len(sigs) else None
        while True:
            end = tick + sig.bar_ticks
            if next_change is not None and end > next_change:
                end = next_change
            if next_change is not None and tick >= next_change:
                break
            yield Bar(index, tick, end, sig)
            index += 1
            tick = end
            if next_change is None and tick > limit:
                return


def bar_at(song: Song, tick: int) -> Bar:
    """The bar that holds ``tick`` (as :func:`iter_bars` counts them), found in one step per
    time signature, however far out ``tick`` is."""
    sigs = song.time_signatures
    start, index = 0, 0
    for i, sig in enumerate(sigs):
        next_change = sigs[i + 1].tick if i + 1 < len(sigs) else None
        if next_change is None or tick < next_change:
            k = max(0, (tick - start) // sig.bar_ticks)
            bar_start_tick = start + k * sig.bar_ticks
            end = bar_start_tick + sig.bar_ticks
            if next_change is not None:
                end = min(end, next_change)
            return Bar(index + k, bar_start_tick, end, sig)
        index += -(-(next_change - start) // sig.bar_ticks)  # bars in this meter, the last one cut short
        start = next_change
    raise AssertionError("unreachable: the last time signature covers every later tick")


def bar_start(song: Song, index: int) -> int:
    """Tick where bar ``index`` (0-based) starts."""
    for bar in iter_bars(song, 2**40):
        if bar.index == index:
            return bar.start
    raise AssertionError("unreachable")


def format_position(song: Song, tick: int) -> str:
    """'bar.beat.tick' as DAWs show it, 1-based bar and beat."""
    bar = bar_at(song, tick)
    beat, rest = divmod(tick - bar.start, bar.beat_ticks)
    return f"{bar.index + 1}.{beat + 1}.{rest:03d}"


def grid_ticks(division: int, triplet: bool = False, ppq: int = PPQ) -> int:
    """Length in ticks of a 1/``division`` note (1 = whole note); triplets are 2/3 of that."""
    if division not in (1, 2, 4, 8, 16, 32, 64):
        raise ValueError(f"grid must be 1/1 .. 1/64, got 1/{division}")
    ticks = ppq * 4 // division
    return ticks * 2 // 3 if triplet else ticks
