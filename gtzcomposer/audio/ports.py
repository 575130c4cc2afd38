"""External MIDI ports (mido + python-rtmidi, imported lazily): list them, send playback to an
output, record from an input into a track.

Without an ALSA sequencer (a container, a server) or without python-rtmidi, rtmidi raises
``rtmidi.RtMidiError`` (an ``OSError``) as soon as a port object is made. :func:`midi_ports`
never raises: it returns a :class:`PortsState` whose ``reason`` says why nothing is listed.

Recording is split in two: :class:`Recorder` is pure (feed it messages with their clock times,
it builds notes on the song's tempo map) and :class:`InputRecorder` connects it to a real port.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from ..core.errors import GtzError
from ..core.song import DRUM_CHANNEL, Note, Song, Track
from ..core.timing import TempoMap
from ..core.transforms import quantize_notes
from .events import CONTROL, DRUM_BANK, NOTE_OFF, NOTE_ON, PITCH_BEND_EVENT, PRESET, Event


class PortError(GtzError):
    """A MIDI port that cannot be opened or used."""


@dataclass(frozen=True, slots=True)
class PortsState:
    available: bool
    reason: str  # empty when available
    outputs: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()


def _mido():
    try:
        import mido  # noqa: PLC0415 - lazy on purpose
    except ImportError as exc:  # pragma: no cover - mido is a dependency
        raise PortError(f"MIDI ports need the mido package ({exc})") from None
    return mido


def _why(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if "ALSA" in text or "seq" in text:
        return f"no MIDI system available (the ALSA sequencer /dev/snd/seq cannot be opened: {text})"
    return f"MIDI ports are not available ({text})"


def midi_ports() -> PortsState:
    """The MIDI outputs and inputs; never raises."""
    try:
        mido = _mido()
        outputs = tuple(mido.get_output_names())
        inputs = tuple(mido.get_input_names())
    except PortError as exc:
        return PortsState(False, str(exc))
    except (OSError, ImportError, RuntimeError) as exc:  # rtmidi.RtMidiError is an OSError
        return PortsState(False, _why(exc))
    if not outputs and not inputs:
        return PortsState(True, "no MIDI ports found (connect a device or start a software synth)")
    return PortsState(True, "", outputs, inputs)


def list_outputs() -> tuple[str, ...]:
    return midi_ports().outputs


def list_inputs() -> tuple[str, ...]:
    return midi_ports().inputs


def events_to_messages(events: Iterable[Event]):
    """mido messages for scheduler events (a preset becomes bank select + program change)."""
    mido = _mido()
    out = []
    for e in events:
        if e.kind == NOTE_ON:
            out.append(mido.Message("note_on", channel=e.channel % 16, note=e.data1, velocity=e.data2))
        elif e.kind == NOTE_OFF:
            out.append(mido.Message("note_off", channel=e.channel % 16, note=e.data1, velocity=0))
        elif e.kind == CONTROL:
            out.append(mido.Message("control_change", channel=e.channel % 16, control=e.data1, value=e.data2))
        elif e.kind == PITCH_BEND_EVENT:
            out.append(mido.Message("pitchwheel", channel=e.channel % 16, pitch=e.data2))
        elif e.kind == PRESET:
            if e.data1 not in (0, DRUM_BANK):
                out.append(mido.Message("control_change", channel=e.channel % 16, control=0, value=(e.data1 >> 7) & 127))
                out.append(mido.Message("control_change", channel=e.channel % 16, control=32, value=e.data1 & 127))
            out.append(mido.Message("program_change", channel=e.channel % 16, program=e.data2))
    return out


class MidiOutputSink:
    """Sends playback to an external MIDI output (the track's own channels, drums on 10)."""

    layout = "midi"

    def __init__(self, name: str | None = None, port=None) -> None:
        """Open output ``name`` (or wrap an already open mido port, e.g. in tests)."""
        if port is None:
            mido = _mido()
            try:
                port = mido.open_output(name)
            except (OSError, ImportError, RuntimeError, ValueError) as exc:
                raise PortError(f"MIDI output {name!r} cannot be opened: {_why(exc)}") from None
        self._port = port
        self.name = name or getattr(port, "name", "MIDI output")
        self._lock = threading.Lock()

    def send(self, events: Iterable[Event]) -> None:
        messages = events_to_messages(events)
        with self._lock:
            for m in messages:
                self._port.send(m)

    def preview_channel(self, is_drum: bool) -> int:
        return DRUM_CHANNEL if is_drum else 15

    def close(self) -> None:
        with self._lock:
            if self._port is not None:
                try:
                    self._port.close()
                finally:
                    self._port = None


class Recorder:
    """Turns incoming note messages into notes, on the song's tempo map (pure; no port).

    ``start_tick`` is where the song was when recording began at clock time ``start_time``.
    Notes still held when :meth:`notes` is called end at ``end_time``. Loops are not followed:
    a recording runs straight on through the tempo map.
    """

    def __init__(self, song: Song, start_tick: int, start_time: float, channel: int | None = None) -> None:
        self.tempo = TempoMap.of(song)
        self.start_tick = start_tick
        self.start_time = start_time
        self._origin = self.tempo.seconds(start_tick)
        self.channel = channel
        self._open: dict[int, list[tuple[int, int]]] = {}
        self._done: list[Note] = []
        self.ignored = 0

    def tick_at(self, clock: float) -> int:
        return max(0, round(self.tempo.tick(self._origin + max(0.0, clock - self.start_time))))

    def feed(self, message, clock: float) -> None:
        """One incoming message (a mido message or anything with type/note/velocity/channel)."""
        kind = getattr(message, "type", None)
        if kind not in ("note_on", "note_off"):
            return
        if self.channel is not None and getattr(message, "channel", self.channel) != self.channel:
            self.ignored += 1
            return
        pitch, velocity = message.note, message.velocity
        tick = self.tick_at(clock)
        if kind == "note_on" and velocity > 0:
            self._open.setdefault(pitch, []).append((tick, velocity))
        else:
            starts = self._open.get(pitch)
            if not starts:
                self.ignored += 1  # an off without an on (pressed before recording began)
                return
            start, vel = starts.pop(0)
            self._done.append(Note(start, pitch, tick - start, vel))

    @property
    def held(self) -> tuple[int, ...]:
        return tuple(sorted(p for p, s in self._open.items() if s))

    def notes(self, end_time: float | None = None) -> tuple[Note, ...]:
        """The notes so far; held notes end at ``end_time`` (or are left out if it is None)."""
        out = list(self._done)
        if end_time is not None:
            end = self.tick_at(end_time)
            for pitch, starts in self._open.items():
                out += [Note(s, pitch, max(0, end - s), v) for s, v in starts]
        return tuple(sorted(out))


def record_into_track(track: Track, notes: Iterable[Note], quantize_grid: int | None = None,
                      strength: float = 1.0) -> Track:
    """``track`` with the recorded notes added, optionally input-quantised to ``quantize_grid``
    ticks (``core.transforms.quantize_notes``)."""
    notes = tuple(notes)
    if quantize_grid:
        notes = quantize_notes(notes, quantize_grid, strength)
    return replace(track, notes=tuple(sorted(track.notes + notes)))


class InputRecorder:
    """Records from a MIDI input port (mido callback thread) into a :class:`Recorder`."""

    def __init__(self, name: str | None, song: Song, start_tick: int, clock: Callable[[], float] = time.monotonic,
                 channel: int | None = None, port=None, on_message: Callable[[object], None] | None = None) -> None:
        self.clock = clock
        self.recorder = Recorder(song, start_tick, clock(), channel)
        self._lock = threading.Lock()
        self._on_message = on_message
        if port is None:
            mido = _mido()
            try:
                port = mido.open_input(name, callback=self.receive)
            except (OSError, ImportError, RuntimeError, ValueError) as exc:
                raise PortError(f"MIDI input {name!r} cannot be opened: {_why(exc)}") from None
        self._port = port
        self.name = name or getattr(port, "name", "MIDI input")

    def receive(self, message) -> None:
        with self._lock:
            self.recorder.feed(message, self.clock())
        if self._on_message is not None:
            self._on_message(message)

    def stop(self) -> tuple[Note, ...]:
        """Close the port; the recorded notes (held ones end now)."""
        if self._port is not None:
            try:
                self._port.close()
            finally:
                self._port = None
        with self._lock:
            return self.recorder.notes(end_time=self.clock())
