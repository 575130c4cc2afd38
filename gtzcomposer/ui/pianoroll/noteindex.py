"""Find the notes of a track that overlap a time range, without looking at the others. No Qt.

A track's notes are sorted by start. Any note overlapping [t0, t1] starts in
[t0 - longest, t1], so one bisect on the starts narrows the search; only that slice is checked.
"""

from __future__ import annotations

import bisect

from ...core.song import Note


class NoteIndex:
    __slots__ = ("notes", "starts", "ends", "pitches", "longest", "end")

    def __init__(self, notes: tuple[Note, ...]) -> None:
        self.notes = notes
        self.starts = [n.start for n in notes]
        self.ends = [n.start + n.duration for n in notes]
        self.pitches = [n.pitch for n in notes]
        self.longest = max((n.duration for n in notes), default=0)
        self.end = max(self.ends, default=0)

    def __len__(self) -> int:
        return len(self.notes)

    def overlapping(self, t0: float, t1: float, low: int = 0, high: int = 127) -> list[Note]:
        """Notes with start <= t1 and end >= t0 (touching counts, so zero-length notes and notes
        on the edge are found) and ``low <= pitch <= high``."""
        starts, ends, pitches, notes = self.starts, self.ends, self.pitches, self.notes
        lo = bisect.bisect_left(starts, t0 - self.longest)
        hi = bisect.bisect_right(starts, t1)
        if low <= 0 and high >= 127:
            return [notes[i] for i in range(lo, hi) if ends[i] >= t0]
        return [notes[i] for i in range(lo, hi) if ends[i] >= t0 and low <= pitches[i] <= high]

    def candidates(self, t0: float, t1: float) -> int:
        """How many notes :meth:`overlapping` would look at (an upper bound, two bisects)."""
        return bisect.bisect_right(self.starts, t1) - bisect.bisect_left(self.starts, t0 - self.longest)

    def contains(self, note: Note) -> bool:
        i = bisect.bisect_left(self.notes, note)
        return i < len(self.notes) and self.notes[i] == note
