"""A song as a flat, time-ordered list of MIDI-like events: what the renderer, the real-time
scheduler and the MIDI port sink all play.

Only audible tracks (``Song.audible_tracks``: solo wins over mute) are compiled. Each track
gets channel set-up events at tick 0 (preset, volume CC7, pan CC10), its controller changes
(``Track.controls``: sustain, modulation, expression, volume, pan; pitch bend as a
:data:`PITCH_BEND` event) and one note-on/note-off pair per note. At one tick, controller
changes come first (a pedal pressed or a bend set with a note applies to it), then note-offs,
then note-ons (a repeated pitch re-strikes); the note-off of a zero-length note comes after its
own note-on. :func:`controller_state` gives the controller values in force at a tick, which a
player sends when it starts or jumps there (so a seek into a held pedal holds it).

Two channel layouts:

- ``"synth"`` (FluidSynth, which has up to 256 channels): every track gets a channel of its own,
  so two tracks that share a MIDI channel in the file still keep their own program, volume and
  pan. Drum tracks go to channel 9 (+16k), melodic tracks to the other channels. A song with
  more tracks than that shares channels between tracks that sound alike (see
  :func:`channel_layout`).
- ``"midi"`` (an external port): the track's own MIDI channel (drums always on channel 10,
  zero-based 9), as a DAW sends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

from ..core.errors import GtzError
from ..core.song import DRUM_CHANNEL, PITCH_BEND, Song

NOTE_OFF = 0x80
NOTE_ON = 0x90
CONTROL = 0xB0
PITCH_BEND_EVENT = 0xE0  # data1 = 0, data2 = bend -8192..8191 (0 = none)
PRESET = 0x100  # not a MIDI status: select (bank, program) on a channel; data1 = bank, data2 = program

CC_VOLUME = 7
CC_PAN = 10
CC_MODULATION = 1
CC_EXPRESSION = 11
CC_SUSTAIN = 64
CC_ALL_SOUND_OFF = 120
CC_RESET_ALL_CONTROLLERS = 121
CC_ALL_NOTES_OFF = 123

DRUM_BANK = 128

# Order of events at the same tick.
_ORDER_SETUP, _ORDER_OFF, _ORDER_ON, _ORDER_ZERO_OFF = 0, 1, 2, 3


class Event(NamedTuple):
    tick: int
    order: int
    kind: int  # NOTE_ON, NOTE_OFF, CONTROL, PRESET
    channel: int
    data1: int  # pitch / controller / bank
    data2: int  # velocity / value / program
    track: int  # index of the song track (-1 for none)


@dataclass(frozen=True, slots=True)
class ChannelSetup:
    channel: int
    bank: int
    program: int
    volume: int
    pan: int
    is_drum: bool
    track: int


MELODIC_CHANNELS = tuple(c for c in range(256) if c % 16 != DRUM_CHANNEL)
"""FluidSynth's channels for melodic tracks in the "synth" layout (240)."""
DRUM_CHANNELS = tuple(DRUM_CHANNEL + 16 * k for k in range(16))
"""FluidSynth's channels for drum tracks in the "synth" layout (16: channel 10 of each bank of 16)."""


class ChannelLayoutError(GtzError):
    """A song with more different sounds than the synth has channels."""


def channel_layout(song: Song, mode: str = "synth", tracks: tuple[int, ...] | None = None) -> dict[int, int]:
    """Track index -> channel for the audible tracks (or ``tracks``).

    In the "synth" layout every track has a channel of its own while there are enough (240
    melodic, 16 drum). Beyond that, tracks share: first tracks that sound alike (same kit or
    program, volume and pan), which changes nothing one can hear except that two of them
    playing the same pitch at once end each other's note; if that is still too many, tracks with
    the same program share (the first such track's volume and pan). A song with more than 16
    different drum kits, which cannot be shared out, raises :class:`ChannelLayoutError`.
    """
    indices = song.audible_tracks() if tracks is None else tracks
    if mode == "midi":
        return {i: (DRUM_CHANNEL if song.tracks[i].is_drum else song.tracks[i].channel) for i in indices}
    if mode != "synth":
        raise ValueError(f"unknown channel layout {mode!r}")
    out: dict[int, int] = {}
    for is_drum, pool in ((False, MELODIC_CHANNELS), (True, DRUM_CHANNELS)):
        group = [i for i in indices if song.tracks[i].is_drum == is_drum]
        keys = (lambda i: i,
                lambda i: (song.tracks[i].program, song.tracks[i].volume, song.tracks[i].pan),
                lambda i: song.tracks[i].program)
        for key in keys:
            given: dict[object, int] = {}
            for i in group:
                given.setdefault(key(i), len(given))
            if len(given) <= len(pool):
                out.update({i: pool[given[key(i)]] for i in group})
                break
        else:
            raise ChannelLayoutError(
                f"the song's drum tracks use {len(given)} different drum kits; the synth can play at most "
                f"{len(pool)} at once: give some drum tracks the same kit, or mute some of them"
            )
    return {i: out[i] for i in indices}


def channel_setups(song: Song, layout: dict[int, int]) -> list[ChannelSetup]:
    out = []
    for i, ch in layout.items():
        t = song.tracks[i]
        # A drum track's program picks the kit (GM2/GS: 0 standard, 25 TR-808, ...); a soundfont
        # without that kit falls back to kit 0 (Synth.select), as FluidSynth itself does.
        out.append(ChannelSetup(ch, DRUM_BANK if t.is_drum else 0, t.program, t.volume, t.pan, t.is_drum, i))
    return out


def setup_events(setups: list[ChannelSetup], tick: int = 0) -> list[Event]:
    out = []
    for s in setups:
        out.append(Event(tick, _ORDER_SETUP, PRESET, s.channel, s.bank, s.program, s.track))
        out.append(Event(tick, _ORDER_SETUP, CONTROL, s.channel, CC_VOLUME, s.volume, s.track))
        out.append(Event(tick, _ORDER_SETUP, CONTROL, s.channel, CC_PAN, s.pan, s.track))
    return out


def note_events(song: Song, layout: dict[int, int]) -> list[Event]:
    """Note-on/off events of the tracks in ``layout``, sorted."""
    out: list[Event] = []
    append = out.append
    for i, ch in layout.items():
        for n in song.tracks[i].notes:
            append(Event(n.start, _ORDER_ON, NOTE_ON, ch, n.pitch, n.velocity, i))
            append(Event(n.end, _ORDER_OFF if n.duration else _ORDER_ZERO_OFF, NOTE_OFF, ch, n.pitch, 0, i))
    out.sort()
    return out


def control_events(song: Song, layout: dict[int, int]) -> list[Event]:
    """Controller and pitch-bend changes of the tracks in ``layout``, sorted."""
    out: list[Event] = []
    for i, ch in layout.items():
        for c in song.tracks[i].controls:
            if c.controller == PITCH_BEND:
                out.append(Event(c.tick, _ORDER_SETUP, PITCH_BEND_EVENT, ch, 0, c.value, i))
            else:
                out.append(Event(c.tick, _ORDER_SETUP, CONTROL, ch, c.controller, c.value, i))
    out.sort()
    return out


def song_events(song: Song, layout: dict[int, int]) -> list[Event]:
    """Controller changes and notes of the tracks in ``layout``, in playing order."""
    out = note_events(song, layout) + control_events(song, layout)
    out.sort()
    return out


_RESTING = {CC_SUSTAIN: 0, CC_MODULATION: 0, CC_EXPRESSION: 127, PITCH_BEND: 0}
"""Each controller's value before its first change (volume and pan: the track's own)."""


def controller_state(song: Song, layout: dict[int, int], tick: float) -> list[Event]:
    """For each track in ``layout`` and each controller it changes anywhere, one event setting
    the value in force just before ``tick`` (its resting value before the first change). Sent on
    start, seek and loop, it puts the channels in the state the song has there."""
    out: list[Event] = []
    t = int(tick)
    for i, ch in layout.items():
        track = song.tracks[i]
        if not track.controls:
            continue
        state: dict[int, int] = {}
        for c in track.controls:
            if c.tick < tick:
                state[c.controller] = c.value
            else:
                state.setdefault(c.controller, {CC_VOLUME: track.volume, CC_PAN: track.pan}.get(
                    c.controller, _RESTING.get(c.controller, 0)))
        for controller, value in sorted(state.items()):
            if controller == PITCH_BEND:
                out.append(Event(t, _ORDER_SETUP, PITCH_BEND_EVENT, ch, 0, value, i))
            else:
                out.append(Event(t, _ORDER_SETUP, CONTROL, ch, controller, value, i))
    return out


def compile_events(song: Song, mode: str = "synth") -> tuple[list[ChannelSetup], list[Event]]:
    """Channel set-ups and the sorted events (controller changes and notes) of the song's
    audible tracks."""
    layout = channel_layout(song, mode)
    return channel_setups(song, layout), song_events(song, layout)
