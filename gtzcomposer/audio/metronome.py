"""The metronome: a click track that follows the song's meter map, added to what is played.

Clicks sound on every beat (the denominator's unit; in compound meters such as 6/8, 9/8 and
12/8 on every dotted beat), with an accented click on each downbeat: GM percussion 76 (high
wood block) for downbeats and 77 (low wood block) for the other beats, on the drum channel.
"""

from __future__ import annotations

from dataclasses import replace

from ..core.song import Note, Song, Track
from ..core.timing import iter_bars

ACCENT_PITCH, BEAT_PITCH = 76, 77
ACCENT_VELOCITY, BEAT_VELOCITY = 127, 90
CLICK_TICKS = 60
METRONOME_NAME = "Metronome"


def click_ticks(song: Song, until: int) -> list[tuple[int, bool]]:
    """(tick, is_downbeat) for each click from the start up to ``until`` (exclusive)."""
    out = []
    for bar in iter_bars(song, until):
        sig = bar.signature
        compound = sig.denominator >= 8 and sig.numerator % 3 == 0 and sig.numerator > 3
        step = sig.beat_ticks * (3 if compound else 1)
        tick = bar.start
        while tick < bar.end and tick < until:
            out.append((tick, tick == bar.start))
            tick += step
        if bar.end >= until:
            break
    return out


def click_track(song: Song, until: int) -> Track:
    notes = tuple(
        Note(t, ACCENT_PITCH if down else BEAT_PITCH, CLICK_TICKS, ACCENT_VELOCITY if down else BEAT_VELOCITY)
        for t, down in click_ticks(song, until)
    )
    # Soloing a track must not silence the click.
    return Track(name=METRONOME_NAME, channel=9, is_drum=True, notes=notes,
                 solo=any(t.solo for t in song.tracks), color="#888888")


def with_click(song: Song, until: int | None = None) -> Song:
    """The song with a click track added, lasting to ``until`` or to the end of the bar after
    the last note (at least one bar)."""
    if until is None:
        last = song.end_tick
        bars = list(iter_bars(song, last))
        until = bars[-1].end if bars else song.time_signatures[0].bar_ticks
        until = max(until, song.time_signatures[0].bar_ticks)
    return replace(song, tracks=song.tracks + (click_track(song, until),))
