"""Playback and recording for the window: owns the playback service, the audio-output check and
the recording state, and drives the transport bar and the piano roll's playhead.

The service is made the first time it is needed (:attr:`PlaybackControl.service`; at the latest
by :meth:`PlaybackControl.start_probe`, just after the window is up), so the sound modules (and
numpy) load after the first paint; whether sound can come out is checked on a worker.
Until then, and where there is no audio device, the Play controls are disabled with the reason
as their tooltip, and Space (or an Audition) says the reason in the status bar instead of doing
nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QWidget

from ..core import AddNotes, Song, bar_at, format_position, grid_ticks
from ..services import sound
from ..services.tasks import TaskRunner
from .dialogs import show_error
from .document import SongDocument
from .settings import Settings
from .transport import TransportBar

if TYPE_CHECKING:  # pragma: no cover
    from ..services.playback import PlaybackService

CHECKING = "checking the audio output…"


class PlaybackControl(QObject):
    message = Signal(str, int)  # text for the status bar, timeout in ms (0: until replaced)
    recordingChanged = Signal(bool)
    serviceCreated = Signal(object)  # the PlaybackService, when first made

    def __init__(self, window: QWidget, document: SongDocument, editor, transport: TransportBar,
                 settings: Settings, grid: Callable[[], tuple[int, bool]],
                 make_service: Callable[..., PlaybackService] | None = None) -> None:
        super().__init__(window)
        self._window, self.document, self.editor, self.transport = window, document, editor, transport
        self.settings, self._grid = settings, grid
        self._make_service = make_service
        self._service: PlaybackService | None = None
        self.reason = CHECKING  # why nothing can play ("" when it can)
        self.playing = False
        self._click_back = False  # a playback ran without the metronome: give it back on stop
        self.probe = TaskRunner(self)
        self.probe.finished.connect(self._checked)
        self.probe.failed.connect(lambda exc: self._checked((False, f"no audio output: {exc}")))
        # A disabled action's shortcut does nothing: these say why instead (only while disabled).
        self._why = [QShortcut(QKeySequence(k), window, self.explain, context=Qt.ShortcutContext.WindowShortcut)
                     for k in ("Space", "Shift+Space")]
        t = transport
        t.playRequested.connect(self.play)
        t.stopRequested.connect(self.stop)
        t.rewind_action.triggered.connect(self.rewind)
        t.followToggled.connect(lambda on: editor.set_follow(bool(on)))
        t.loopToggled.connect(self._on_loop_toggled)
        t.metronomeToggled.connect(lambda on: self._service is not None and self._service.setMetronome(on))
        editor.loopChanged.connect(lambda _loop: self._apply_loop())
        editor.previewNote.connect(self.preview_note)
        document.songChanged.connect(self._on_song_changed)
        self._show_availability(False, CHECKING)

    @property
    def service(self) -> PlaybackService:
        """The playback service (made on first use)."""
        if self._service is None:
            make = self._make_service
            if make is None:
                from ..services.playback import PlaybackService as make
            self._service = make(self, soundfont=self.settings.get("audio/soundfont") or None)
            self._service.positionChanged.connect(self._on_position)
            self._service.stateChanged.connect(lambda s: self._set_playing(s == "playing"))
            self._service.finished.connect(lambda: self._set_playing(False))
            self._service.recordingFinished.connect(self._on_recorded)
            self.serviceCreated.emit(self._service)
        return self._service

    # --- the audio output -------------------------------------------------------------------
    def start_probe(self, background: bool = True) -> None:
        """Check the audio output (on a worker when ``background``)."""
        self._show_availability(False, CHECKING)
        if background:
            self.probe.start(sound.probe_output, self.service, label="Checking the audio output")
        else:
            self._checked(sound.probe_output(self.service))

    def _checked(self, result: tuple[bool, str]) -> None:
        ok, why = result
        self._show_availability(ok, why)
        if ok:
            self.service.setMetronome(self.transport.metronome_action.isChecked())
        else:
            self.message.emit(f"Playback disabled: {why.split(':')[0]} (the Play button's tooltip says more)", 8000)

    def _show_availability(self, ok: bool, why: str) -> None:
        self.reason = "" if ok else (why or "no audio output")
        self.transport.set_available(ok, self.reason)
        for shortcut in self._why:
            shortcut.setEnabled(not ok)

    def explain(self, what: str = "play") -> None:
        self.message.emit(f"Cannot {what}: {self.reason or 'no audio output'}", 6000)

    def apply_soundfont(self) -> None:
        """Play with the soundfont the settings name (exports read the setting themselves); the
        audio output is checked again in the background."""
        self._set_playing(False)
        self.service.setSoundfont(self.settings.get("audio/soundfont") or None)
        self.start_probe()

    def set_midi_output(self, name: str | None) -> bool:
        """Send playback to the MIDI output ``name``, or to the built-in synth with None."""
        self.stop()
        ok, why = self.service.setOutput(name)
        if name is not None and not ok:  # (the built-in synth may be unavailable: no audio device)
            show_error(self._window, "MIDI Output", f"Playback cannot go to {name}: {why}")
            return False
        self._checked((ok, why))
        if ok:
            self.message.emit(f"Playback goes to {why}", 5000)
        return ok

    # --- the transport ------------------------------------------------------------------------
    def play(self, from_cursor: bool = False, song: Song | None = None, start: int | None = None,
             metronome: bool | None = None) -> bool:
        """Play the document's song (or ``song``, e.g. an audition) from ``start``, the cursor
        or where it stopped; while playing, a plain Play stops. ``metronome`` False: no click for
        this playback (a band's audition); the transport's setting returns when it stops."""
        if self.playing and not from_cursor and song is None:
            self.stop()
            return False
        if self.reason:
            self.transport.set_playing(False)
            self.explain("audition" if song is not None else "play")
            return False
        self.service.setSong(song if song is not None else self.document.song)
        self._apply_loop()
        if metronome is not None:
            self.service.setMetronome(metronome)
            self._click_back = True
        if start is None and from_cursor:
            start = self.editor.cursor_tick()
        if self.service.play(start):
            self._set_playing(True)
            return True
        self._set_playing(False)
        self.message.emit(f"Cannot play: {sound.probe_output(self.service)[1]}", 5000)
        return False

    def stop(self) -> None:
        self.stop_recording()
        if self._service is not None:
            self._service.stop()
        self._set_playing(False)

    def rewind(self) -> None:
        if not self.reason:
            self.service.seek(0)
        self.editor.set_cursor(0)
        self.editor.scroll_to_tick(0)

    def preview_note(self, pitch: int, velocity: int) -> None:
        if self.reason or not self.document.song.tracks:
            return
        t = self.document.song.tracks[self.document.current_track]
        self.service.preview(pitch, velocity, t.program, t.is_drum)

    def _set_playing(self, playing: bool) -> None:
        if not playing and self._click_back:
            self._click_back = False
            self.service.setMetronome(self.transport.metronome_action.isChecked())
        self.playing = playing
        self.transport.set_playing(playing)
        if not playing:
            self.editor.set_playhead(None)

    def _on_position(self, tick: float) -> None:
        self.transport.set_position(tick)
        if self.playing:
            self.editor.set_playhead(int(tick))

    def _on_song_changed(self, song: Song) -> None:
        # The engine compiles the song's events on every setSong: while stopped, play() hands it
        # the song instead of recompiling after every edit of a drag.
        if self.playing:
            self.service.setSong(song)

    def _on_loop_toggled(self, on: bool) -> None:
        if on and self.editor.loop() is None:
            bar = bar_at(self.document.song, self.editor.cursor_tick())
            self.editor.set_loop((bar.start, bar.start + 4 * bar.signature.bar_ticks))
        self._apply_loop()

    def _apply_loop(self) -> None:
        if self._service is None:  # (play() applies it)
            return
        loop = self.editor.loop()
        if self.transport.loop_action.isChecked() and loop:
            self.service.setLoop(int(loop[0]), int(loop[1]))
        else:
            self.service.clearLoop()

    def position_text(self, tick: float) -> str:
        return format_position(self.document.song, max(0, int(tick)))

    # --- recording from a MIDI input ------------------------------------------------------------
    def is_recording(self) -> bool:
        return self._service is not None and self._service.isRecording()

    def start_recording(self, port_name: str) -> bool:
        """Record from the MIDI input ``port_name`` into the current track from the cursor (the
        song plays along when playback works); Stop ends it and adds the notes as one undo step."""
        if self.is_recording():
            return False
        if not self.document.song.tracks:
            show_error(self._window, "Record", "Add a track to record into first.")
            return False
        self.stop()
        cursor = max(0, int(self.editor.cursor_tick()))
        grid = grid_ticks(*self._grid()) if self.settings.get("audio/record_quantize") else None
        self.service.setSong(self.document.song)
        self.service.seek(cursor)
        ok, why = self.service.startRecording(port_name, self.document.current_track, grid)
        if not ok:
            show_error(self._window, "Record", f"Cannot record from {port_name}: {why}")
            return False
        self.recordingChanged.emit(True)
        track = self.document.song.tracks[self.document.current_track]
        self.message.emit(f"Recording from {why} into {track.name or 'the current track'}: Stop ends it", 0)
        if not self.reason and self.service.play(cursor):
            self._set_playing(True)
        return True

    def stop_recording(self) -> None:
        if self.is_recording():
            self.service.stopRecording()  # recordingFinished -> _on_recorded

    def _on_recorded(self, track_index: int, notes) -> None:
        self.recordingChanged.emit(False)
        notes = tuple(notes)
        if not notes:
            self.message.emit("Nothing was recorded", 5000)
            return
        tracks = self.document.song.tracks
        if not tracks:
            show_error(self._window, "Record", "The track recorded into is gone; the recorded notes could not be kept.")
            return
        if not 0 <= track_index < len(tracks):
            track_index = self.document.current_track
        self.document.push(AddNotes(track_index, notes, "Record from MIDI input"))
        self.message.emit(f"Recorded {len(notes)} note{'s' if len(notes) != 1 else ''}", 5000)

    def close(self) -> None:
        """Stop sound and the output check (quitting)."""
        self.probe.cancel()
        if self._service is None:
            return
        try:
            self._service.stop()
            self._service.close()
        except Exception:  # noqa: BLE001 - closing must never block quitting
            pass
