"""The largest song the app accepts, checked once when a song is read from any file.

A song is refused when it has more than :data:`MAX_SONG_NOTES` notes, or when anything in it lies beyond :data:`MAX_SONG_TICK` (about 559,000 quarter
notes: far past any real music, yet small enough that the piano roll at its closest zoom, 2 px a
tick, still fits Qt's 32-bit pixel coordinates) or lasts longer than :data:`MAX_SONG_SECONDS`
(3 hours, the render's limit). Notes, their ends, tempo, meter and key changes and a project's
loop region all count. The message names the offending event and its bar.beat position, so the
user can find it (most often one stray note far out).
"""

from __future__ import annotations

from .errors import GtzError
from .song import Song

MAX_SONG_SECONDS = 3 * 3600
"""Longest song read, played or rendered (3 hours)."""

MAX_SONG_TICK = 2**28
"""Largest tick anything in a song may reach (268,435,456 ticks = 559,240 quarter notes)."""

MAX_SONG_NOTES = 500_000
"""Most notes in one song (the piano roll stays fluid far below; a 2 MB MIDI file holds half)."""


class SongTooLongError(GtzError):
    """A song that reaches further than the app accepts."""


def _last_events(song: Song, loop: tuple[int, int] | None) -> list[tuple[int, str]]:
    """The furthest tick of each kind of event, with words for it."""
    out: list[tuple[int, str]] = []
    for index, track in enumerate(song.tracks):
        if track.notes:
            last = max(track.notes, key=lambda n: n.end)
            out.append((last.end, f"a note of track {index + 1} ({track.name!r}) that ends"))
    for events, label in ((song.tempos, "a tempo change"), (song.time_signatures, "a time signature"),
                          (song.key_signatures, "a key signature")):
        if events:
            out.append((events[-1].tick, label))
    if loop is not None:
        out.append((int(loop[1]), "the loop region, which ends"))
    return out


def check_song_extent(song: Song, name: str = "the song", loop: tuple[int, int] | None = None,
                      error: type[Exception] | None = None) -> None:
    """Raise ``error`` (default :class:`SongTooLongError`; a reader passes its format's error) with
    one sentence when ``song`` (or ``loop``) reaches beyond the limits."""
    error = error or SongTooLongError
    from .timing import TempoMap, format_position

    count = song.note_count
    if count > MAX_SONG_NOTES:
        raise error(f"{name}: the song has {count:,} notes; songs may have at most {MAX_SONG_NOTES:,}")
    events = _last_events(song, loop)
    if not events:
        return
    tick, what = max(events)
    if tick > MAX_SONG_TICK:
        raise error(
            f"{name}: {what} at tick {tick:,} (bar {format_position(song, tick)}), beyond the last tick a song may "
            f"reach ({MAX_SONG_TICK:,}, about {MAX_SONG_TICK // (4 * song.ppq):,} bars of 4/4); "
            "delete or move what lies that far out"
        )
    tempo = TempoMap.of(song)
    for tick, what in sorted(events, reverse=True):
        seconds = tempo.seconds(tick)
        if seconds <= MAX_SONG_SECONDS:
            break
        raise error(
            f"{name}: {what} at {_clock(seconds)} (bar {format_position(song, tick)}), but songs may last at most "
            f"{MAX_SONG_SECONDS // 3600} hours; delete or move what lies that far out"
        )


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
