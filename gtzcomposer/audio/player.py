"""Real-time playback, Qt-free: the pure :class:`~gtzcomposer.audio.scheduler.Scheduler` driven by
a clock, sending to an output sink (FluidSynth through a real audio driver, or a MIDI port).

This is the API the GUI uses (through the thin Qt adapter ``services.playback``): ``play``,
``pause``, ``stop``, ``seek``, ``set_loop``, ``position`` (plus an ``on_position`` callback),
``preview`` (one note on demand, for the editor) and the choice of output.

With no audio device the player is still made, but ``available()`` is ``(False, reason)`` and
``play`` does nothing; rendering to WAV does not need a device at all.

Threading: with ``threaded=True`` (the app) a worker thread calls :meth:`Player.pump` every few
milliseconds while something is playing or a preview note is due to end; with
``threaded=False`` (tests) the caller calls ``pump()`` itself, usually with a fake clock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from ..core.errors import GtzError
from ..core.song import Song
from .events import DRUM_BANK, NOTE_OFF, NOTE_ON, PRESET, Event
from .scheduler import Scheduler


class AudioUnavailable(GtzError):
    """No audio output could be opened (the reason says which drivers were tried)."""


class Sink(Protocol):
    layout: str  # "synth" (a channel per track) or "midi" (the tracks' own channels)
    name: str

    def send(self, events: Iterable[Event]) -> None: ...

    def preview_channel(self, is_drum: bool) -> int: ...

    def close(self) -> None: ...


class SynthSink:
    """FluidSynth playing through a real audio driver. Raises :class:`AudioUnavailable` if no
    driver opens (pyfluidsynth would pretend it did)."""

    layout = "synth"
    CHANNELS = 256

    def __init__(self, soundfont=None, sample_rate: int = 44100, drivers: tuple[str, ...] | None = None,
                 settings: dict | None = None) -> None:
        from .synth import Synth, SynthError

        try:
            self.synth = Synth(soundfont, sample_rate=sample_rate, channels=self.CHANNELS, settings=settings)
        except SynthError as exc:
            raise AudioUnavailable(str(exc)) from None
        ok, why = self.synth.open_audio_driver(drivers)
        if not ok:
            self.synth.close()
            raise AudioUnavailable(why)
        self.name = f"FluidSynth ({why}, {self.synth.soundfont.name})"
        self._lock = threading.Lock()

    def send(self, events: Iterable[Event]) -> None:
        with self._lock:
            for e in events:
                self.synth.handle(e.kind, e.channel, e.data1, e.data2)

    def preview_channel(self, is_drum: bool) -> int:
        return self.CHANNELS - 16 + 9 if is_drum else self.CHANNELS - 1

    def close(self) -> None:
        with self._lock:
            self.synth.close()


_probe_lock = threading.Lock()
_probe_result: tuple[bool, str] | None = None


def audio_output_available(refresh: bool = False) -> tuple[bool, str]:
    """(True, driver) if FluidSynth can open an audio device here, else (False, why). Cached."""
    global _probe_result
    with _probe_lock:
        if _probe_result is None or refresh:
            _probe_result = _probe()
        return _probe_result


def _probe() -> tuple[bool, str]:
    from .soundfont import SoundfontError, resolve_soundfont
    from .synth import Synth, SynthError

    try:
        synth = Synth(resolve_soundfont(), channels=16)
    except (SynthError, SoundfontError) as exc:
        return False, str(exc)
    try:
        return synth.open_audio_driver()
    finally:
        synth.close()


class Player:
    """Plays a song on a sink against a clock. All methods are thread-safe and never raise for
    a missing device: check :meth:`available`."""

    def __init__(self, sink: Sink | None = None, unavailable_reason: str = "no audio output",
                 clock: Callable[[], float] = time.monotonic, threaded: bool = True, interval: float = 0.003,
                 on_position: Callable[[float], None] | None = None,
                 on_finished: Callable[[], None] | None = None) -> None:
        self._sink = sink
        self._reason = "" if sink is not None else unavailable_reason
        self.clock = clock
        self.threaded = threaded
        self.interval = interval
        self.on_position = on_position
        self.on_finished = on_finished
        self._lock = threading.RLock()
        self._scheduler = Scheduler(Song(), sink.layout if sink is not None else "synth")
        self._previews: list[tuple[float, Event]] = []
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._closed = False
        self.last_error = ""  # why the worker stopped playback on its own, if it did

    # --- outputs ----------------------------------------------------------------------------
    @classmethod
    def with_fluidsynth(cls, soundfont=None, **kwargs) -> Player:
        """A player on FluidSynth's audio output, or a disabled one that says why."""
        try:
            sink = SynthSink(soundfont)
        except (AudioUnavailable, GtzError) as exc:
            return cls(None, unavailable_reason=str(exc), **kwargs)
        return cls(sink, **kwargs)

    def available(self) -> tuple[bool, str]:
        """(True, output name) or (False, why playback is disabled)."""
        with self._lock:
            if self._sink is None:
                return False, self._reason
            return True, self._sink.name

    @property
    def sink(self) -> Sink | None:
        return self._sink

    def set_sink(self, sink: Sink | None, reason: str = "no output chosen") -> Sink | None:
        """Switch output (e.g. to a MIDI port); playback stops. Returns the previous sink,
        which the caller may close or keep for switching back."""
        with self._lock:
            self.stop()
            old = self._sink
            self._sink = sink
            self._reason = "" if sink is not None else reason
            song = self._scheduler.song
            loop = self._scheduler.loop
            position = self._scheduler.position
            self._scheduler = Scheduler(song, sink.layout if sink is not None else "synth")
            self._scheduler.loop = loop
            self._scheduler.seek(position)
            return old

    # --- transport --------------------------------------------------------------------------
    def set_song(self, song: Song) -> None:
        with self._lock:
            self._send(self._scheduler.set_song(song, self.clock()))

    def play(self, from_tick: float | None = None) -> bool:
        """Start (or restart) playing; False, doing nothing, when no output is available."""
        with self._lock:
            if self._sink is None:
                return False
            self._send(self._scheduler.start(self.clock(), from_tick))
            self._ensure_thread()
            return True

    def pause(self) -> None:
        with self._lock:
            self._send(self._scheduler.pause(self.clock()))

    def stop(self) -> None:
        """Silence everything and go back to where play started."""
        with self._lock:
            self._send(self._scheduler.stop(self.clock()))
        self._report_position()

    def seek(self, tick: float) -> None:
        with self._lock:
            self._send(self._scheduler.seek(tick, self.clock()))
        self._report_position()

    def set_loop(self, start: int | None, end: int | None = None) -> None:
        with self._lock:
            self._scheduler.set_loop(start, end)

    @property
    def loop(self):
        return self._scheduler.loop

    @property
    def position(self) -> float:
        with self._lock:
            return self._scheduler.position

    @property
    def is_playing(self) -> bool:
        return self._scheduler.playing

    # --- note preview -----------------------------------------------------------------------
    def preview(self, pitch: int, velocity: int = 100, program: int = 0, is_drum: bool = False,
                duration: float = 0.4) -> bool:
        """Sound one note now for ``duration`` seconds (on a channel of its own)."""
        with self._lock:
            if self._sink is None:
                return False
            ch = self._sink.preview_channel(is_drum)
            on = [Event(0, 0, PRESET, ch, DRUM_BANK if is_drum else 0, 0 if is_drum else program, -1),
                  Event(0, 2, NOTE_ON, ch, pitch, velocity, -1)]
            self._send(on)
            self._previews.append((self.clock() + duration, Event(0, 1, NOTE_OFF, ch, pitch, 0, -1)))
            self._ensure_thread()
            return True

    # --- the pump ---------------------------------------------------------------------------
    def pump(self) -> bool:
        """Send what is due now; True while there is more to do (playing or previews pending)."""
        finished = False
        with self._lock:
            now = self.clock()
            sched = self._scheduler
            if sched.playing:
                self._send(sched.advance(now))
                if sched.finished:
                    self._send(sched.stop(now))
                    finished = True
            if self._previews:
                due = [e for t, e in self._previews if t <= now]
                self._previews = [(t, e) for t, e in self._previews if t > now]
                self._send(due)
            busy = sched.playing or bool(self._previews)
        self._report_position()
        if finished and self.on_finished is not None:
            self.on_finished()
        return busy

    def _send(self, events: list[Event]) -> None:
        if events and self._sink is not None:
            self._sink.send(events)

    def _report_position(self) -> None:
        if self.on_position is not None:
            self.on_position(self._scheduler.position)

    def _ensure_thread(self) -> None:
        """Start the worker if it is not running (called with the lock held)."""
        if not self.threaded or self._closed:
            return
        self._wake.set()
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="gtzcomposer-player", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._closed:
            try:
                busy = self.pump()
            except Exception as exc:  # noqa: BLE001 - e.g. a MIDI port unplugged while playing
                with self._lock:
                    self.last_error = f"playback stopped: {exc}"
                    self._scheduler.stop()
                    self._previews.clear()
                    self._thread = None
                if self.on_finished is not None:
                    self.on_finished()
                return
            if busy:
                time.sleep(self.interval)
                continue
            self._wake.clear()
            if self._wake.wait(0.5):
                continue
            with self._lock:  # idle: end, unless play() or preview() just came in
                if not (self._scheduler.playing or self._previews) or self._closed:
                    self._thread = None
                    return

    def close(self) -> None:
        """Stop, end the worker thread and close the output."""
        self.stop()
        self._closed = True
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)
        with self._lock:
            if self._sink is not None:
                self._sink.close()
                self._sink = None
                self._reason = "closed"
