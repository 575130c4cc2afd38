"""Where an accepted continuation goes: one undoable edit, and what it will change.

A continuation covers the bars ``[start, end)`` after the seed. Continuing from the middle of a
track must not stack the new notes on the ones already there, so the user picks a write mode
(the choices Magenta Studio's Continue and DAWs offer):

* ``REPLACE``: the continuation replaces what its track(s) hold in those bars (a note that starts
  before ``start`` and rings into them is cut at ``start``); at the end of a track it simply adds.
* ``INSERT``: the bars are inserted: every note of every track that starts at or after ``start``,
  and every tempo, meter and key change after it, moves later by ``end - start``, so the song
  stays together; the continuation fills the gap.
* ``NEW_TRACK``: each part goes to a new track after the others (instrument and name from the
  track it continues), the existing tracks untouched.

:func:`place` turns a continuation (one part per target track: a melody today, several when a
band continues) into one :class:`~gtzcomposer.core.edits.Macro`, so Accept is one undo step.
The preview (:attr:`Placement.added` and :attr:`Placement.removed`) is computed by applying
that same edit, so the ghost notes always show exactly what Accept will do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

from .edits import (
    AddNotes,
    AddTrack,
    Edit,
    EditError,
    Macro,
    ReplaceNotes,
    SetKeySignatures,
    SetTempos,
    SetTimeSignatures,
    apply,
)
from .song import Note, Song, Track, free_channel


class WriteMode(str, Enum):
    REPLACE = "replace"
    INSERT = "insert"
    NEW_TRACK = "new_track"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {
    WriteMode.REPLACE: "Replace the bars after the selection",
    WriteMode.INSERT: "Insert bars (later notes move on)",
    WriteMode.NEW_TRACK: "Write to a new track",
}


@dataclass(frozen=True, slots=True)
class Part:
    """The notes a continuation offers for one track (``track`` is the index it continues), or,
    with ``new``, for a track the song does not have yet (a band's Drums, Bass or Chords): that
    track is added (its channel chosen then) in every write mode."""

    track: int
    notes: tuple[Note, ...]
    new: Track | None = None


@dataclass(frozen=True)
class Offer:
    """A continuation on offer: its parts, the ticks they cover and where Accept writes them."""

    parts: tuple[Part, ...]
    start: int
    end: int
    mode: WriteMode = WriteMode.REPLACE

    def place(self, song: Song, label: str = "Accept continuation") -> Placement:
        return place(song, self.parts, self.start, self.end, self.mode, label)

    @property
    def notes(self) -> tuple[Note, ...]:
        return tuple(n for p in self.parts for n in p.notes)


@dataclass(frozen=True)
class Placement:
    """The edit Accept pushes, and per track index (of the song after the edit) the notes it
    adds and, per track index of the song before it, the notes it removes or moves away."""

    edit: Edit
    added: dict[int, tuple[Note, ...]]
    removed: dict[int, tuple[Note, ...]]
    mode: WriteMode


def place(song: Song, parts: Sequence[Part], start: int, end: int, mode: WriteMode | str = WriteMode.REPLACE,
          label: str = "Accept continuation") -> Placement:
    """The one edit that writes ``parts`` (covering ticks ``[start, end)``) into ``song``."""
    mode = WriteMode(mode)
    parts = tuple(p for p in parts if p.notes)
    if not parts:
        raise EditError("the continuation has no notes")
    if end <= start:
        raise EditError(f"a continuation must end after it starts ({start}..{end})")
    for p in parts:
        if p.new is None and not 0 <= p.track < len(song.tracks):
            raise EditError(f"the track this continuation was made for (track {p.track + 1}) is gone")
    existing = tuple(p for p in parts if p.new is None)
    if mode is WriteMode.REPLACE:
        edits = _replace_edits(song, existing, start, end)
    elif mode is WriteMode.INSERT:
        edits = _insert_edits(song, existing, start, end - start)
    else:
        edits = _new_track_edits(song, existing)
    edits += _added_track_edits(apply(song, Macro(tuple(edits)))[0], [p for p in parts if p.new is not None])
    edit = Macro(tuple(edits), label)
    after, _ = apply(song, edit)
    return Placement(edit, *_difference(song, after), mode)


def _replace_edits(song: Song, parts: Sequence[Part], start: int, end: int) -> list[Edit]:
    edits: list[Edit] = []
    for p in parts:
        old, new = [], []
        for n in song.tracks[p.track].notes:
            if start <= n.start < end:
                old.append(n)
            elif n.start < start < n.end:
                old.append(n)
                new.append(replace(n, duration=start - n.start))
        edits.append(ReplaceNotes(p.track, tuple(old), tuple(new) + p.notes))
    return edits


def _insert_edits(song: Song, parts: Sequence[Part], start: int, length: int) -> list[Edit]:
    edits: list[Edit] = []
    for i, t in enumerate(song.tracks):
        later = tuple(n for n in t.notes if n.start >= start)
        if later:
            edits.append(ReplaceNotes(i, later, tuple(n.moved(length) for n in later)))
    for p in parts:
        edits.append(AddNotes(p.track, p.notes))

    def moved(events: Iterable):
        return tuple(replace(e, tick=e.tick + length) if e.tick > start else e for e in events)

    if any(t.tick > start for t in song.tempos):
        edits.append(SetTempos(moved(song.tempos)))
    if any(s.tick > start for s in song.time_signatures):
        edits.append(SetTimeSignatures(moved(song.time_signatures)))
    if any(k.tick > start for k in song.key_signatures):
        edits.append(SetKeySignatures(moved(song.key_signatures)))
    return edits


def _new_track_edits(song: Song, parts: Sequence[Part]) -> list[Edit]:
    edits: list[Edit] = []
    for p in parts:
        source = song.tracks[p.track]
        track = replace(source, name=f"{source.name} (continued)", notes=p.notes, mute=False, solo=False,
                        channel=source.channel if source.is_drum else free_channel(song))
        edits.append(AddTrack(track))
        song = song.add_track(track)  # the next part's channel is chosen after this one
    return edits


def _added_track_edits(song: Song, parts: Sequence[Part]) -> list[Edit]:
    edits: list[Edit] = []
    for p in parts:
        track = replace(p.new, notes=p.notes, mute=False, solo=False,
                        channel=p.new.channel if p.new.is_drum else free_channel(song))
        edits.append(AddTrack(track))
        song = song.add_track(track)
    return edits


def _difference(before: Song, after: Song) -> tuple[dict[int, tuple[Note, ...]], dict[int, tuple[Note, ...]]]:
    added, removed = {}, {}
    for i, t in enumerate(after.tracks):
        old = set(before.tracks[i].notes) if i < len(before.tracks) else set()
        new = tuple(n for n in t.notes if n not in old)
        if new:
            added[i] = new
    for i, t in enumerate(before.tracks):
        new = set(after.tracks[i].notes)
        gone = tuple(n for n in t.notes if n not in new)
        if gone:
            removed[i] = gone
    return added, removed
