"""A pure, tick-accurate playback scheduler: no Qt, no audio, no threads, no real clock.

The caller (the player's worker thread, or a test with a fake clock) passes the current clock
time in seconds; the scheduler answers with the events that have become due since the previous
call, in song order. Times come from the song's tempo map, so tempo changes are exact.

Behaviour where a choice had to be made:

- **Seek / start in the middle of a note**: melodic notes that span the new position (start
  before it, end after it) are *restarted* there with their own velocity, so a long chord or pad
  sounds when playback starts inside it. Drum notes that span the position are *skipped* (a drum
  hit restarted late sounds wrong). Notes held at the old position get their note-offs first.
- **Loop region** ``[start, end)``: when playback that is before ``end`` reaches ``end``, every
  held note gets its note-off, notes starting at or after ``end`` are not played, and playback
  jumps to ``start`` (which then works like a seek: spanning notes restart). Playback that starts
  after the loop end plays on to the end of the song.
- **Pause** silences (note-offs for held notes, sustain off, all-notes-off) and keeps the
  position; **stop** also cuts the sound (all-sound-off) and returns to where play last started.
- **Edits while playing** (:meth:`Scheduler.set_song`) keep the tick and strike nothing twice
  (see there). Every track keeps its channel when others are muted or soloed.
- A note-off is only sent for a note the scheduler started, so a seek never sends stray offs.
- **Controllers** (sustain pedal, modulation, expression, volume, pan, pitch bend) are chased:
  on start, seek, loop and edits, each track's controllers are set to the values in force at
  the position (resting values before their first change), before spanning notes restart, so
  a seek into a held pedal holds and a seek out of a bend unbends.
- The song is done (``finished``) once the last event has been sent and no loop is active.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..core.song import Song
from ..core.timing import TempoMap
from .events import (
    CC_ALL_NOTES_OFF,
    CC_ALL_SOUND_OFF,
    CC_SUSTAIN,
    CONTROL,
    NOTE_OFF,
    NOTE_ON,
    Event,
    channel_layout,
    channel_setups,
    controller_state,
    setup_events,
    song_events,
)


@dataclass(frozen=True, slots=True)
class Loop:
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start < 0 or self.end <= self.start:
            raise ValueError(f"a loop needs 0 <= start < end, got {self.start}..{self.end}")


class Scheduler:
    """Plays one song against a clock given by the caller. See the module docstring."""

    def __init__(self, song: Song, mode: str = "synth") -> None:
        self.mode = mode
        self._start_mark = 0
        self._pos_tick = 0.0
        self._pos_sec = 0.0
        self._last_clock: float | None = None
        self._playing = False
        self._held: Counter[tuple[int, int]] = Counter()
        self.loop: Loop | None = None
        self._load(song)

    # --- song -------------------------------------------------------------------------------
    def _load(self, song: Song) -> None:
        self.song = song
        self.tempo = TempoMap.of(song)
        # Channels are given to every track, audible or not, so that muting one track does not
        # move the others to other channels while they sound.
        every = channel_layout(song, self.mode, tuple(range(len(song.tracks))))
        layout = {i: every[i] for i in song.audible_tracks()}
        self.layout = layout
        self.setups = channel_setups(song, layout)
        self.events: list[Event] = song_events(song, layout)
        self._event_secs = np.fromiter((self.tempo.seconds(e.tick) for e in self.events), dtype=np.float64,
                                       count=len(self.events))
        self._event_ticks = np.fromiter((e.tick for e in self.events), dtype=np.int64, count=len(self.events))
        # Notes as arrays, for finding the notes that span a position.
        rows = [(n.start, n.end, ch, n.pitch, n.velocity, song.tracks[i].is_drum, i)
                for i, ch in layout.items() for n in song.tracks[i].notes]
        arr = np.array(rows, dtype=np.int64).reshape(-1, 7)
        self._n_start, self._n_end, self._n_ch, self._n_pitch, self._n_vel, self._n_drum, self._n_track = arr.T
        self.channels = sorted({s.channel for s in self.setups})
        self._pos_sec = self.tempo.seconds(self._pos_tick)  # same tick, the new tempo map's time
        self._cursor = self._cursor_at(self._pos_tick)

    def set_song(self, song: Song, now: float | None = None) -> list[Event]:
        """Swap in an edited song (notes, tempo, mute/solo, programs) at the same tick.

        While playing, nothing is struck twice: notes held now that the edited song still has
        sounding here keep sounding, held notes it no longer has get their note-offs, and
        melodic notes that now span the position (an unmuted track, a new long note) start;
        channel set-up is sent again (a program change does not cut held notes).
        """
        out: list[Event] = []
        if self._playing and now is not None:
            out += self.advance(now)
        if not self._playing:
            self._load(song)
            return out
        pos = self._pos_tick
        tick = int(pos)
        old_channels = set(self.channels)
        self._load(song)
        # Events up to the current time have been played already.
        self._cursor = int(np.searchsorted(self._event_secs, self._pos_sec + 1e-9, side="right"))
        spanning = self._spanning(pos, inclusive=True)
        wanted = Counter((ch, p) for ch, p, _, _ in spanning)
        for key in sorted(self._held):
            surplus = self._held[key] - wanted.get(key, 0)
            for _ in range(max(0, surplus)):
                out.append(Event(tick, 1, NOTE_OFF, key[0], key[1], 0, -1))
            if surplus > 0:
                self._held[key] -= surplus
        out += self._silence_events(sorted(old_channels - set(self.channels)), tick, hard=False)
        out += setup_events(self.setups, tick)
        out += controller_state(song, self.layout, pos)
        missing = wanted - +self._held
        for ch, p, vel, track in spanning:
            if missing[(ch, p)] > 0:
                missing[(ch, p)] -= 1
                self._held[(ch, p)] += 1
                out.append(Event(tick, 2, NOTE_ON, ch, p, vel, track))
        return out

    # --- queries ----------------------------------------------------------------------------
    @property
    def position(self) -> float:
        """Current position in (fractional) ticks, for a playhead."""
        return self._pos_tick

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def end_tick(self) -> int:
        return int(self._event_ticks[-1]) if len(self._event_ticks) else 0

    @property
    def finished(self) -> bool:
        return self.loop is None and self._cursor >= len(self.events) and self._pos_tick >= self.end_tick

    @property
    def held_notes(self) -> frozenset[tuple[int, int]]:
        """(channel, pitch) of the notes sounding now (started and not yet released)."""
        return frozenset(k for k, v in self._held.items() if v > 0)

    # --- transport --------------------------------------------------------------------------
    def start(self, now: float, tick: float | None = None) -> list[Event]:
        """Start playing at ``tick`` (default: the current position) at clock time ``now``."""
        out: list[Event] = []
        if self._playing:
            out += self._release_held(int(self._pos_tick))
        if tick is not None:
            self._set_position(tick)
        self._start_mark = int(self._pos_tick)
        self._playing = True
        self._last_clock = now
        out += setup_events(self.setups, int(self._pos_tick))
        out += self._restart_spanning(self._pos_tick)
        out += self._emit(self._pos_sec)  # what starts right at the position sounds at once
        return out

    def pause(self, now: float | None = None) -> list[Event]:
        """Stop sounding and keep the position."""
        out: list[Event] = []
        if self._playing and now is not None:
            out += self.advance(now)
        if not self._playing:
            return out
        self._playing = False
        out += self._release_held(int(self._pos_tick))
        out += self._silence_events(self.channels, int(self._pos_tick), hard=False)
        return out

    def stop(self, now: float | None = None) -> list[Event]:
        """Silence everything (also the release tails) and go back to where play last started."""
        was_playing = self._playing
        self._playing = False
        out = self._release_held(int(self._pos_tick))
        if was_playing or out:
            out += self._silence_events(self.channels, int(self._pos_tick), hard=True)
        self._set_position(self._start_mark)
        return out

    def seek(self, tick: float, now: float | None = None) -> list[Event]:
        """Move to ``tick``; while playing, held notes stop and notes spanning ``tick`` restart."""
        tick = max(0.0, float(tick))
        if not self._playing:
            self._set_position(tick)
            self._start_mark = int(tick)
            return []
        out = self.advance(now) if now is not None else []
        out += self._release_held(int(self._pos_tick))
        self._set_position(tick)
        if now is not None:
            self._last_clock = now
        out += self._restart_spanning(tick)
        return out

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        """Loop ``[start, end)`` ticks; ``set_loop(None)`` turns looping off."""
        self.loop = None if start is None else Loop(int(start), int(end))

    def advance(self, now: float) -> list[Event]:
        """Events due between the previous call and clock time ``now``, in order."""
        if not self._playing:
            return []
        last = self._last_clock if self._last_clock is not None else now
        dt = max(0.0, now - last)
        self._last_clock = now
        target = self._pos_sec + dt
        out: list[Event] = []
        while True:
            loop = self.loop
            if loop is not None and self._pos_tick < loop.end:
                loop_end_sec = self.tempo.seconds(loop.end)
                if target >= loop_end_sec:
                    out += self._emit(loop_end_sec, tick_below=loop.end)
                    out += self._release_held(loop.end)
                    remaining = target - loop_end_sec
                    self._set_position(loop.start)
                    out += self._restart_spanning(loop.start)
                    target = self._pos_sec + remaining
                    if loop_end_sec - self._pos_sec <= 0:
                        break
                    continue
            out += self._emit(target)
            self._pos_sec = target
            self._pos_tick = self.tempo.tick(target)
            break
        return out

    # --- internals --------------------------------------------------------------------------
    def _cursor_at(self, tick: float) -> int:
        """Index of the first event at or after ``tick`` (events exactly at ``tick`` are still due)."""
        return int(np.searchsorted(self._event_ticks, np.ceil(tick - 1e-9), side="left"))

    def _set_position(self, tick: float) -> None:
        self._pos_tick = float(tick)
        self._pos_sec = self.tempo.seconds(tick)
        self._cursor = self._cursor_at(tick)

    def _emit(self, until_sec: float, tick_below: int | None = None) -> list[Event]:
        out: list[Event] = []
        events, secs, n = self.events, self._event_secs, len(self.events)
        i = self._cursor
        while i < n and secs[i] <= until_sec + 1e-9:
            e = events[i]
            if tick_below is not None and e.tick >= tick_below:
                break
            i += 1
            key = (e.channel, e.data1)
            if e.kind == NOTE_ON:
                self._held[key] += 1
                out.append(e)
            elif e.kind == NOTE_OFF:
                if self._held[key] > 0:
                    self._held[key] -= 1
                    out.append(e)
            else:
                out.append(e)
        self._cursor = i
        return out

    def _release_held(self, tick: int) -> list[Event]:
        out = []
        for (ch, pitch), count in sorted(self._held.items()):
            for _ in range(count):
                out.append(Event(tick, 1, NOTE_OFF, ch, pitch, 0, -1))
        self._held.clear()
        return out

    def _spanning(self, tick: float, inclusive: bool = False) -> list[tuple[int, int, int, int]]:
        """(channel, pitch, velocity, track) of the melodic notes sounding across ``tick``:
        start before it (or at it, when ``inclusive``) and end after it."""
        starts = self._n_start <= tick if inclusive else self._n_start < tick
        mask = starts & (self._n_end > tick) & (self._n_drum == 0)
        return [(int(self._n_ch[i]), int(self._n_pitch[i]), int(self._n_vel[i]), int(self._n_track[i]))
                for i in np.flatnonzero(mask)]

    def _restart_spanning(self, tick: float) -> list[Event]:
        """The controller state at ``tick`` (pedal, bend, ...), then the melodic notes that span it."""
        out = controller_state(self.song, self.layout, tick)
        t = int(tick)
        for ch, pitch, vel, track in self._spanning(tick):
            self._held[(ch, pitch)] += 1
            out.append(Event(t, 2, NOTE_ON, ch, pitch, vel, track))
        return out

    @staticmethod
    def _silence_events(channels, tick: int, hard: bool) -> list[Event]:
        out = []
        for ch in channels:
            out.append(Event(tick, 0, CONTROL, ch, CC_SUSTAIN, 0, -1))
            out.append(Event(tick, 0, CONTROL, ch, CC_ALL_NOTES_OFF, 0, -1))
            if hard:
                out.append(Event(tick, 0, CONTROL, ch, CC_ALL_SOUND_OFF, 0, -1))
        return out
