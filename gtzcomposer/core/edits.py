"""Edits are data: small frozen commands applied with ``apply(song, edit) -> (song, inverse)``.

The editor's undo stack stores the inverse that ``apply`` returns; applying the inverse restores
the song exactly. Tools build edits and never mutate a song.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

from .errors import GtzError
from .song import ControlChange, KeySignature, Note, Song, TempoChange, TimeSignature, Track


class EditError(GtzError, ValueError):
    """An edit that does not fit the song (a note that is not there, a track out of range)."""


class Edit:
    """Base of all edits. Subclasses are frozen dataclasses with a ``label`` for undo menus."""

    label = "Edit"

    def apply(self, song: Song) -> tuple[Song, Edit]:  # pragma: no cover - abstract
        raise NotImplementedError


def apply(song: Song, edit: Edit) -> tuple[Song, Edit]:
    """Apply ``edit`` to ``song``; return the new song and the edit that undoes it."""
    return edit.apply(song)


def _track(song: Song, index: int) -> Track:
    if not 0 <= index < len(song.tracks):
        raise EditError(f"there is no track {index + 1} (the song has {len(song.tracks)})")
    return song.tracks[index]


def _without(notes: tuple[Note, ...], remove: Iterable[Note]) -> list[Note]:
    want = Counter(remove)
    have = Counter(notes)
    missing = want - have
    if missing:
        n = next(iter(missing))
        raise EditError(f"note {n.pitch} at tick {n.start} is not in the track")
    out = []
    for n in notes:
        if want[n] > 0:
            want[n] -= 1
        else:
            out.append(n)
    return out


@dataclass(frozen=True, slots=True)
class ReplaceNotes(Edit):
    """Replace ``old`` notes of a track by ``new`` ones (the general note edit)."""

    track: int
    old: tuple[Note, ...]
    new: tuple[Note, ...]
    label: str = "Edit notes"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        t = _track(song, self.track)
        notes = _without(t.notes, self.old) + list(self.new)
        return song.with_track(self.track, t.with_notes(notes)), ReplaceNotes(
            self.track, self.new, self.old, self.label
        )


def AddNotes(track: int, notes: Iterable[Note], label: str = "Add notes") -> ReplaceNotes:
    return ReplaceNotes(track, (), tuple(notes), label)


def RemoveNotes(track: int, notes: Iterable[Note], label: str = "Delete notes") -> ReplaceNotes:
    return ReplaceNotes(track, tuple(notes), (), label)


def MoveNotes(track: int, notes: Iterable[Note], dtick: int = 0, dpitch: int = 0,
              label: str = "Move notes") -> ReplaceNotes:
    notes = tuple(notes)
    if any(n.start + dtick < 0 for n in notes):
        raise EditError("notes cannot move before the start of the song")
    if any(not 0 <= n.pitch + dpitch <= 127 for n in notes):
        raise EditError("notes cannot move outside the MIDI pitch range 0..127")
    return ReplaceNotes(track, notes, tuple(n.moved(dtick, dpitch) for n in notes), label)


def ResizeNotes(track: int, notes: Iterable[Note], dstart: int = 0, dend: int = 0,
                min_duration: int = 1, label: str = "Resize notes") -> ReplaceNotes:
    """Move note starts by ``dstart`` and ends by ``dend`` (the left and right edges)."""
    notes = tuple(notes)
    new = []
    for n in notes:
        start = max(0, n.start + dstart)
        end = max(start + min_duration, n.end + dend)
        new.append(replace(n, start=start, duration=end - start))
    return ReplaceNotes(track, notes, tuple(new), label)


def SetVelocities(track: int, notes: Iterable[Note], velocities: Iterable[int],
                  label: str = "Change velocity") -> ReplaceNotes:
    notes = tuple(notes)
    vel = tuple(min(127, max(1, int(v))) for v in velocities)
    if len(vel) != len(notes):
        raise EditError("one velocity per note is needed")
    return ReplaceNotes(track, notes, tuple(replace(n, velocity=v) for n, v in zip(notes, vel)), label)


@dataclass(frozen=True, slots=True)
class ReplaceControls(Edit):
    """Replace ``old`` controller changes of a track by ``new`` ones (the general controller
    edit: the sustain and controller lanes build these). ``old`` must all be in the track; a new
    change at the tick of a kept change of the same controller takes its place."""

    track: int
    old: tuple[ControlChange, ...]
    new: tuple[ControlChange, ...]
    label: str = "Edit controller"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        t = _track(song, self.track)
        have = set(t.controls)
        missing = [c for c in self.old if c not in have]
        if missing:
            c = missing[0]
            raise EditError(f"controller {c.controller} change at tick {c.tick} is not in the track")
        gone = set(self.old)
        slots = {(c.tick, c.controller) for c in self.new}
        displaced = tuple(c for c in t.controls if c not in gone and (c.tick, c.controller) in slots)
        kept = [c for c in t.controls if c not in gone and (c.tick, c.controller) not in slots]
        new_track = t.with_controls(kept + list(self.new))
        return song.with_track(self.track, new_track), ReplaceControls(
            self.track, tuple(self.new), tuple(self.old) + displaced, self.label)


@dataclass(frozen=True, slots=True)
class AddTrack(Edit):
    track: Track
    index: int | None = None
    label: str = "Add track"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        index = len(song.tracks) if self.index is None else self.index
        if not 0 <= index <= len(song.tracks):
            raise EditError(f"cannot insert a track at position {index + 1}")
        return song.add_track(self.track, index), RemoveTrack(index, label=self.label)


@dataclass(frozen=True, slots=True)
class RemoveTrack(Edit):
    index: int
    label: str = "Remove track"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        t = _track(song, self.index)
        return song.remove_track(self.index), AddTrack(t, self.index, label=self.label)


_TRACK_FIELDS = {f.name for f in fields(Track)} - {"notes"}


@dataclass(frozen=True, slots=True)
class UpdateTrack(Edit):
    """Change track properties: ``changes`` is a tuple of (field, value) pairs, e.g.
    ``UpdateTrack(0, (("name", "Lead"), ("program", 73)))``."""

    index: int
    changes: tuple[tuple[str, Any], ...]
    label: str = "Change track"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        t = _track(song, self.index)
        bad = [k for k, _ in self.changes if k not in _TRACK_FIELDS]
        if bad:
            raise EditError(f"tracks have no property {bad[0]!r}")
        old = tuple((k, getattr(t, k)) for k, _ in self.changes)
        new_track = replace(t, **dict(self.changes))
        return song.with_track(self.index, new_track), UpdateTrack(self.index, old, self.label)


@dataclass(frozen=True, slots=True)
class MoveTrack(Edit):
    index: int
    to: int
    label: str = "Move track"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        t = _track(song, self.index)
        if not 0 <= self.to < len(song.tracks):
            raise EditError(f"cannot move a track to position {self.to + 1}")
        return song.remove_track(self.index).add_track(t, self.to), MoveTrack(self.to, self.index, self.label)


@dataclass(frozen=True, slots=True)
class SetTempos(Edit):
    tempos: tuple[TempoChange, ...]
    label: str = "Change tempo"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        return replace(song, tempos=tuple(self.tempos)), SetTempos(song.tempos, self.label)


@dataclass(frozen=True, slots=True)
class SetTimeSignatures(Edit):
    time_signatures: tuple[TimeSignature, ...]
    label: str = "Change time signature"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        new = replace(song, time_signatures=tuple(self.time_signatures))
        return new, SetTimeSignatures(song.time_signatures, self.label)


@dataclass(frozen=True, slots=True)
class SetKeySignatures(Edit):
    key_signatures: tuple[KeySignature, ...]
    label: str = "Change key"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        new = replace(song, key_signatures=tuple(self.key_signatures))
        return new, SetKeySignatures(song.key_signatures, self.label)


@dataclass(frozen=True, slots=True)
class SetTitle(Edit):
    title: str
    label: str = "Rename song"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        return replace(song, title=self.title), SetTitle(song.title, self.label)


@dataclass(frozen=True, slots=True)
class Macro(Edit):
    """Several edits as one undo step; the inverse undoes them in reverse order."""

    edits: tuple[Edit, ...]
    label: str = "Edit"

    def apply(self, song: Song) -> tuple[Song, Edit]:
        inverses = []
        for e in self.edits:
            song, inv = e.apply(song)
            inverses.append(inv)
        return song, Macro(tuple(reversed(inverses)), self.label)
