"""Bars, beats and grid positions from a song's time signatures, found by arithmetic (no walk
from tick 0), so snapping and drawing stay cheap deep into a long song. No Qt.

Bars follow :func:`gtzcomposer.core.timing.iter_bars`: a time-signature change inside a bar
starts a new bar there. Grid positions count from each bar's start, so a 1/8 triplet grid in 7/8
lines up with every bar line.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass

from ...core.song import TimeSignature


@dataclass(frozen=True, slots=True)
class _Segment:
    start: int
    end: int | None  # None: runs forever
    sig: TimeSignature
    first_index: int
    bar_len: int
    beat_len: int


class BarGrid:
    def __init__(self, time_signatures: tuple[TimeSignature, ...]) -> None:
        sigs = tuple(time_signatures) or (TimeSignature(0),)
        self.time_signatures = sigs
        segments = []
        index = 0
        for i, sig in enumerate(sigs):
            end = sigs[i + 1].tick if i + 1 < len(sigs) else None
            segments.append(_Segment(sig.tick, end, sig, index, sig.bar_ticks, sig.beat_ticks))
            if end is not None:
                index += math.ceil((end - sig.tick) / sig.bar_ticks)
        self._segments = segments
        self._starts = [s.start for s in segments]

    def _segment(self, tick: int) -> _Segment:
        i = max(0, bisect.bisect_right(self._starts, tick) - 1)
        return self._segments[i]

    def bar_at(self, tick: int) -> tuple[int, int, int, TimeSignature]:
        """(index, start, end, signature) of the bar holding ``tick``."""
        tick = max(0, int(tick))
        seg = self._segment(tick)
        n = (tick - seg.start) // seg.bar_len
        start = seg.start + n * seg.bar_len
        end = start + seg.bar_len
        if seg.end is not None:
            end = min(end, seg.end)
        return seg.first_index + n, start, end, seg.sig

    def bar_start(self, index: int) -> int:
        for seg in reversed(self._segments):
            if index >= seg.first_index:
                tick = seg.start + (index - seg.first_index) * seg.sig.bar_ticks
                return tick if seg.end is None else min(tick, seg.end)
        return 0

    def bars(self, t0: int, t1: int) -> Iterator[tuple[int, int, int, TimeSignature]]:
        """Every bar overlapping [t0, t1]."""
        segs = self._segments
        index, start, end, sig = self.bar_at(t0)
        seg = max(0, bisect.bisect_right(self._starts, start) - 1)
        bar_len = segs[seg].bar_len
        next_start = segs[seg + 1].start if seg + 1 < len(segs) else None
        while start <= t1:
            yield index, start, end, sig
            index, start = index + 1, end
            if next_start is not None and start >= next_start:
                seg += 1
                sig, bar_len = segs[seg].sig, segs[seg].bar_len
                next_start = segs[seg + 1].start if seg + 1 < len(segs) else None
            end = start + bar_len
            if next_start is not None and end > next_start:
                end = next_start

    def snap(self, tick: float, grid: int, mode: str = "round") -> int:
        """The grid position nearest ``tick`` ('round'), at or before it ('floor') or at or
        after it ('ceil'), counted from the start of the bar that holds it."""
        tick = max(0.0, tick)
        _, start, end, _ = self.bar_at(int(tick))
        steps = (tick - start) / grid
        k = {"round": round, "floor": math.floor, "ceil": math.ceil}[mode](steps)
        out = start + int(k) * grid
        if mode == "round" and end - tick < abs(out - tick):  # the next bar line is nearer
            out = end
        return int(min(out, end))

    def grid_lines(self, t0: int, t1: int, grid: int, beats: bool = True,
                   grids: bool = True, bar_step: int = 1) -> tuple[list[int], list[int], list[int]]:
        """Ticks of bar lines, beat lines and grid lines (each tick in one list only) in
        [t0, t1]; ``beats``/``grids`` False skip those (when they would be too dense to draw);
        ``bar_step`` keeps every n-th bar line only (counted from bar 1)."""
        bar_ticks, beat_ticks, grid_ticks = [], [], []
        for index, start, end, sig in self.bars(t0, t1):
            if t0 <= start <= t1 and index % bar_step == 0:
                bar_ticks.append(start)
            if not (beats or grids):
                continue
            beat = sig.beat_ticks
            lo = max(start, t0)
            stop = min(end - 1, t1)
            if grids:
                t = start + max(1, math.ceil((lo - start) / grid)) * grid
                while t <= stop:
                    if (t - start) % beat:
                        grid_ticks.append(t)
                    elif beats:
                        beat_ticks.append(t)
                    t += grid
            if beats and (not grids or beat % grid or grid > beat):
                # beats the grid did not visit (no grid lines, coarse grid, triplets)
                t = start + max(1, math.ceil((lo - start) / beat)) * beat
                while t <= stop:
                    if not grids or (t - start) % grid:
                        beat_ticks.append(t)
                    t += beat
        beat_ticks.sort()
        return bar_ticks, beat_ticks, grid_ticks
