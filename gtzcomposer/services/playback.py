"""Playback service: a thin Qt adapter over the Qt-free :class:`gtzcomposer.audio.player.Player`.

The player's worker thread sends the events; this object only forwards commands and polls the
position with a QTimer on the GUI thread (so every signal is emitted on the GUI thread):

- signals ``positionChanged(float ticks)``, ``stateChanged(str)`` ('playing', 'paused',
  'stopped'), ``finished()``, ``availabilityChanged(bool, str)``, ``recordingFinished(int, object)``
  (track index, tuple of recorded notes);
- ``available()`` -> (bool, reason): no audio device means playback is disabled with a reason;
  rendering to WAV does not go through this service.

The FluidSynth output is opened lazily (first call that needs it), so creating the service at
start-up costs nothing.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from ..audio.player import Player
from ..core.song import Song
from ..core.transforms import quantize_notes


class PlaybackService(QObject):
    positionChanged = Signal(float)
    stateChanged = Signal(str)
    finished = Signal()
    availabilityChanged = Signal(bool, str)
    recordingFinished = Signal(int, object)

    def __init__(self, parent: QObject | None = None, soundfont=None, player: Player | None = None,
                 poll_ms: int = 30) -> None:
        super().__init__(parent)
        self._soundfont = soundfont
        self._player = player
        self._synth_sink = None  # kept while a MIDI port is the output, to switch back
        self._song = Song()
        self._metronome = False
        self._state = "stopped"
        self._recording = None
        self._record_track = -1
        self._record_grid: int | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)
        self._last_position = -1.0

    # --- output -----------------------------------------------------------------------------
    def player(self) -> Player:
        if self._player is None:
            self._player = Player.with_fluidsynth(self._soundfont)
            self._player.set_song(self._audible(self._song))
            ok, why = self._player.available()
            self.availabilityChanged.emit(ok, why)
        return self._player

    def available(self) -> tuple[bool, str]:
        return self.player().available()

    def soundfont(self):
        """The soundfont the built-in synth plays with (None: the default one)."""
        return self._soundfont

    def setSoundfont(self, soundfont) -> None:
        """Play with ``soundfont`` (None: the default one) from now on. Playback stops; the
        built-in synth is rebuilt with the new soundfont the next time it is needed (check
        :meth:`available` then), and an external MIDI output in use gives way to it."""
        if self._recording is not None:
            raise RuntimeError("cannot change the soundfont while recording")
        self.stop()
        self._close_player()
        self._soundfont = soundfont

    def _close_player(self) -> None:
        """Close the player and its outputs; :meth:`player` builds a fresh one when next needed."""
        if self._player is not None:
            self._player.close()
            self._player = None
        if self._synth_sink is not None:
            self._synth_sink.close()
            self._synth_sink = None

    def outputName(self) -> str | None:
        """The external MIDI output playback goes to, or None for the built-in synth."""
        if self._player is None:
            return None
        sink = self._player.sink
        return getattr(sink, "name", None) if sink is not None and getattr(sink, "layout", "") == "midi" else None

    def isRecording(self) -> bool:
        return self._recording is not None

    def midiPorts(self):
        """:class:`gtzcomposer.audio.ports.PortsState` (never raises)."""
        from ..audio.ports import midi_ports

        return midi_ports()

    def setOutput(self, port_name: str | None) -> tuple[bool, str]:
        """Play to the MIDI output ``port_name``, or back to FluidSynth with ``None``."""
        from ..audio.ports import MidiOutputSink, PortError

        player = self.player()
        self._set_state("stopped")
        if port_name is None:
            if self._synth_sink is not None:
                old = player.set_sink(self._synth_sink)
                self._synth_sink = None
                if old is not None:
                    old.close()
            elif self.outputName() is not None:  # no built-in synth was open: start it afresh
                self._close_player()
                player = self.player()
        else:
            try:
                sink = MidiOutputSink(port_name)
            except PortError as exc:
                return False, str(exc)
            old = player.set_sink(sink)
            if old is not None and getattr(old, "layout", "") == "synth":
                self._synth_sink = old
            elif old is not None:
                old.close()
        ok, why = player.available()
        self.availabilityChanged.emit(ok, why)
        return ok, why

    # --- transport --------------------------------------------------------------------------
    def setSong(self, song: Song) -> None:
        self._song = song
        if self._player is not None:
            self._player.set_song(self._audible(song))

    def setMetronome(self, on: bool) -> None:
        """Add a click on every beat (accented downbeats) to what is played; not to the song."""
        self._metronome = bool(on)
        if self._player is not None:
            self._player.set_song(self._audible(self._song))

    def metronome(self) -> bool:
        return self._metronome

    def _audible(self, song: Song) -> Song:
        if not self._metronome:
            return song
        from ..audio.metronome import with_click

        loop = self._player.loop if self._player is not None else None
        return with_click(song, max(loop.end, song.end_tick) if loop is not None else None)

    def play(self, from_tick: float | None = None) -> bool:
        if not self.player().play(from_tick):
            return False
        self._set_state("playing")
        self._timer.start()
        return True

    def pause(self) -> None:
        if self._player is not None and self._player.is_playing:
            self._player.pause()
            self._set_state("paused")
            self._poll()

    def stop(self) -> None:
        if self._player is not None:
            self._player.stop()
        self._set_state("stopped")
        self._poll()

    def seek(self, tick: float) -> None:
        self.player().seek(tick)
        self._poll()

    def setLoop(self, start: int, end: int) -> None:
        self.player().set_loop(start, end)
        if self._metronome:  # the click must reach the loop's end
            self._player.set_song(self._audible(self._song))

    def clearLoop(self) -> None:
        self.player().set_loop(None)

    def position(self) -> float:
        return self._player.position if self._player is not None else 0.0

    def isPlaying(self) -> bool:
        return self._player is not None and self._player.is_playing

    def preview(self, pitch: int, velocity: int = 100, program: int = 0, is_drum: bool = False,
                duration: float = 0.4) -> bool:
        return self.player().preview(pitch, velocity, program, is_drum, duration)

    # --- recording --------------------------------------------------------------------------
    def startRecording(self, port_name: str | None, track_index: int, quantize_grid: int | None = None,
                       port=None) -> tuple[bool, str]:
        """Record from a MIDI input into track ``track_index`` from the current position
        (``port`` lets a caller hand in an already open input)."""
        from ..audio.ports import InputRecorder, PortError

        if self._recording is not None:
            return False, "already recording"
        try:
            self._recording = InputRecorder(port_name, self._song, int(self.position()), port=port)
        except PortError as exc:
            return False, str(exc)
        self._record_track = track_index
        self._record_grid = quantize_grid
        return True, self._recording.name

    def recorder(self):
        return self._recording

    def stopRecording(self) -> tuple:
        """Stop recording; emits and returns the recorded notes (input-quantised if asked).
        The caller turns them into an edit (``core.edits.AddNotes``)."""
        if self._recording is None:
            return ()
        notes = self._recording.stop()
        self._recording = None
        if self._record_grid:
            notes = tuple(sorted(quantize_notes(notes, self._record_grid)))
        self.recordingFinished.emit(self._record_track, notes)
        return notes

    # --- internals --------------------------------------------------------------------------
    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.stateChanged.emit(state)
        if state != "playing":
            self._timer.stop()

    def state(self) -> str:
        return self._state

    def _poll(self) -> None:
        if self._player is None:
            return
        pos = self._player.position
        if pos != self._last_position:
            self._last_position = pos
            self.positionChanged.emit(pos)
        if self._state == "playing" and not self._player.is_playing:
            self._set_state("stopped")
            self.finished.emit()

    def close(self) -> None:
        self._timer.stop()
        if self._recording is not None:
            self._recording.stop()
            self._recording = None
        if self._player is not None:
            self._player.close()
        if self._synth_sink is not None:
            self._synth_sink.close()
            self._synth_sink = None
