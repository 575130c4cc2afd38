"""Pure transforms: each takes notes or a song and returns new ones."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from .song import Note, Song, TempoChange, Track


@dataclass(frozen=True, slots=True)
class TransposeResult:
    notes: tuple[Note, ...]
    clamped: int  # how many notes hit 0 or 127 and were held there


def transpose_notes(notes: Iterable[Note], semitones: int) -> TransposeResult:
    out, clamped = [], 0
    for n in notes:
        p = n.pitch + semitones
        if not 0 <= p <= 127:
            clamped += 1
            p = min(127, max(0, p))
        out.append(replace(n, pitch=p))
    return TransposeResult(tuple(out), clamped)


def transpose(song: Song, semitones: int, tracks: Sequence[int] | None = None) -> tuple[Song, int]:
    """Transpose melodic tracks (drum tracks are left alone); returns the song and how many
    notes were clamped to the MIDI range."""
    clamped = 0
    new_tracks = []
    for i, t in enumerate(song.tracks):
        if t.is_drum or (tracks is not None and i not in tracks):
            new_tracks.append(t)
            continue
        r = transpose_notes(t.notes, semitones)
        clamped += r.clamped
        new_tracks.append(t.with_notes(r.notes))
    return replace(song, tracks=tuple(new_tracks)), clamped


def quantize_notes(
    notes: Iterable[Note], grid: int, strength: float = 1.0, lengths: bool = False
) -> tuple[Note, ...]:
    """Move starts (and, with ``lengths``, ends) towards the nearest multiple of ``grid`` ticks.

    ``strength`` is 0..1 (0 leaves notes alone, 1 snaps fully). A quantised length never drops
    below one grid step when ``lengths`` is set.
    """
    if grid <= 0:
        raise ValueError("grid must be positive")
    if not 0.0 <= strength <= 1.0:
        raise ValueError("strength must be between 0 and 1")
    out = []
    for n in notes:
        target = round(n.start / grid) * grid
        start = round(n.start + (target - n.start) * strength)
        duration = n.duration
        if lengths:
            target_len = max(grid, round(n.duration / grid) * grid)
            duration = round(n.duration + (target_len - n.duration) * strength)
        out.append(replace(n, start=max(0, start), duration=max(0, duration)))
    return tuple(out)


def quantize(song: Song, grid: int, strength: float = 1.0, lengths: bool = False,
             tracks: Sequence[int] | None = None) -> Song:
    return replace(song, tracks=tuple(
        t if tracks is not None and i not in tracks else t.with_notes(quantize_notes(t.notes, grid, strength, lengths))
        for i, t in enumerate(song.tracks)
    ))


def shift_notes(notes: Iterable[Note], ticks: int) -> tuple[Note, ...]:
    """Shift in time; notes that would start before 0 start at 0."""
    return tuple(replace(n, start=max(0, n.start + ticks)) for n in notes)


def shift(song: Song, ticks: int) -> Song:
    """Shift every note by ``ticks``; the tempo, meter and key maps stay where they are."""
    return replace(song, tracks=tuple(t.with_notes(shift_notes(t.notes, ticks)) for t in song.tracks))


def slice_notes(notes: Iterable[Note], start: int, end: int, clip: bool = True) -> tuple[Note, ...]:
    """Notes that start in [start, end), moved so that ``start`` becomes 0; with ``clip`` their
    ends are cut at ``end``."""
    out = []
    for n in notes:
        if start <= n.start < end:
            dur = min(n.duration, end - n.start) if clip else n.duration
            out.append(replace(n, start=n.start - start, duration=dur))
    return tuple(out)


def _slice_map(events: tuple, start: int, end: int) -> tuple:
    before = [e for e in events if e.tick <= start]
    inside = [replace(e, tick=e.tick - start) for e in events if start < e.tick < end]
    head = [replace(before[-1], tick=0)] if before else []
    return tuple(head + inside)


def slice_song(song: Song, start: int, end: int) -> Song:
    """The part of the song in [start, end) as a song of its own starting at tick 0."""
    if end <= start:
        raise ValueError("slice end must be after its start")
    return replace(
        song,
        tracks=tuple(t.with_notes(slice_notes(t.notes, start, end)) for t in song.tracks),
        tempos=_slice_map(song.tempos, start, end),
        time_signatures=_slice_map(song.time_signatures, start, end),
        key_signatures=_slice_map(song.key_signatures, start, end),
    )


def merge(song: Song, other: Song, at: int = 0) -> Song:
    """Add ``other``'s tracks to ``song``, starting at tick ``at``; ``song`` keeps its maps."""
    added: list[Track] = [t.with_notes(shift_notes(t.notes, at)) for t in other.tracks]
    return replace(song, tracks=song.tracks + tuple(added))


def top_line(notes: Iterable[Note]) -> tuple[Note, ...]:
    """Reduce polyphony to a monophonic melody: at each onset keep the highest note, and cut a
    note short where the next onset begins."""
    by_start: dict[int, Note] = {}
    for n in notes:
        best = by_start.get(n.start)
        if best is None or n.pitch > best.pitch:
            by_start[n.start] = n
    ordered = [by_start[s] for s in sorted(by_start)]
    out = []
    for i, n in enumerate(ordered):
        if i + 1 < len(ordered) and n.end > ordered[i + 1].start:
            n = replace(n, duration=ordered[i + 1].start - n.start)
        out.append(n)
    return tuple(out)


def excerpt(song: Song, track_index: int, notes: Iterable[Note] = ()) -> Song:
    """``notes`` of one track (the whole track when empty) as a one-track song that starts at
    the bar holding the first note, with the tempo, meter and key in effect there (what the
    "Drag MIDI" button hands to another program)."""
    from .errors import GtzError
    from .timing import bar_at

    if not song.tracks:
        raise GtzError("the song has no tracks")
    track = song.tracks[track_index]
    notes = tuple(notes) or track.notes
    if not notes:
        raise GtzError("there are no notes to drag: select some notes first")
    offset = bar_at(song, min(n.start for n in notes)).start
    key = song.key_at(offset)
    return Song(
        tracks=(replace(track, notes=tuple(n.moved(-offset) for n in notes), mute=False, solo=False),),
        tempos=(TempoChange(0, song.tempo_at(offset).uspq),),
        time_signatures=(replace(song.time_signature_at(offset), tick=0),),
        key_signatures=(replace(key, tick=0),) if key else (),
        title=track.name,
    )
