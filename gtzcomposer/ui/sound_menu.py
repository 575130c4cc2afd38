"""The Sound menu: which soundfont plays and renders, where playback goes (the built-in
FluidSynth synth or an external MIDI output), and recording from a MIDI input into the current
track.

The soundfont is a setting (``audio/soundfont``: a path, or empty for the default one that
:func:`gtzcomposer.audio.soundfont.resolve_soundfont` picks). A newly chosen file is loaded by
FluidSynth on a worker thread before it is accepted, so a file FluidSynth refuses is reported
and the soundfont in use stays. MIDI ports are listed each time their submenu opens (devices
come and go); without a MIDI system the submenus say why.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from ..services import sound
from ..services.tasks import TaskRunner
from .dialogs import show_error

if TYPE_CHECKING:  # pragma: no cover
    from .playback_control import PlaybackControl

SOUNDFONT_FILTER = "SoundFonts (*.sf2 *.sf3);;All files (*)"


class SoundMenu(QMenu):
    def __init__(self, playback: PlaybackControl, parent: QWidget) -> None:
        super().__init__("&Sound", parent)
        self.setObjectName("SoundMenu")
        self.playback = playback
        settings = playback.settings
        self.loader = TaskRunner(self)
        self.loader.finished.connect(self._soundfont_loaded)
        self.loader.failed.connect(self._soundfont_failed)
        self._loading: str | None = None

        self.soundfont_info = QAction("Soundfont: …", self)
        self.soundfont_info.setEnabled(False)
        self.choose_soundfont_action = QAction("Choose &Soundfont…", self)
        self.choose_soundfont_action.setStatusTip("Play and export with another General MIDI soundfont (.sf2/.sf3)")
        self.choose_soundfont_action.triggered.connect(self.choose_soundfont)
        self.default_soundfont_action = QAction("Use the &Default Soundfont", self)
        self.default_soundfont_action.triggered.connect(self.use_default_soundfont)
        for a in (self.soundfont_info, self.choose_soundfont_action, self.default_soundfont_action):
            self.addAction(a)
        self.addSeparator()

        self.output_menu = self.addMenu("MIDI &Output")
        self.output_menu.aboutToShow.connect(self.fill_outputs)
        self.record_menu = self.addMenu("&Record from MIDI Input")
        self.record_menu.aboutToShow.connect(self.fill_inputs)
        self.quantize_record_action = QAction("&Quantize Recorded Notes to the Grid", self)
        self.quantize_record_action.setCheckable(True)
        self.quantize_record_action.setChecked(bool(settings.get("audio/record_quantize")))
        self.quantize_record_action.toggled.connect(lambda on: settings.set("audio/record_quantize", on))
        self.stop_record_action = QAction("S&top Recording", self)
        self.stop_record_action.triggered.connect(playback.stop_recording)
        self.stop_record_action.setEnabled(False)
        self.addAction(self.quantize_record_action)
        self.addAction(self.stop_record_action)
        self.aboutToShow.connect(self.update_soundfont_info)  # (not at start-up: it reads soundfont files)

    # --- soundfont ------------------------------------------------------------------------------
    def soundfont_setting(self) -> str:
        return str(self.playback.settings.get("audio/soundfont") or "")

    def update_soundfont_info(self) -> None:
        text, tip = sound.describe_soundfont(self.soundfont_setting())
        if self._loading:
            text = f"{text}; loading {Path(self._loading).name}…"
        self.soundfont_info.setText(f"Soundfont: {text}")
        self.soundfont_info.setToolTip(tip)
        self.soundfont_info.setStatusTip(tip)
        self.default_soundfont_action.setEnabled(bool(self.soundfont_setting()))

    def choose_soundfont(self) -> None:
        current = self.soundfont_setting()
        start = str(Path(current).parent) if current else str(self.playback.settings.get("files/last_dir") or "")
        path, _ = QFileDialog.getOpenFileName(self.parentWidget(), "Choose a Soundfont", start, SOUNDFONT_FILTER)
        if path:
            self.load_soundfont(path)

    def load_soundfont(self, path: str) -> None:
        """Load ``path`` on a worker; it becomes the soundfont in use once FluidSynth accepts it."""
        if self.playback.is_recording():
            show_error(self.parentWidget(), "Soundfont", "Stop recording before changing the soundfont.")
            return
        self._loading = path
        self.update_soundfont_info()
        self.playback.message.emit(f"Loading soundfont {Path(path).name}…", 0)
        self.loader.start(sound.load_soundfont, path, label=f"Loading {Path(path).name}")

    def _soundfont_loaded(self, soundfont) -> None:
        self._loading = None
        self.playback.settings.set("audio/soundfont", str(soundfont.path))
        self.playback.apply_soundfont()
        self.update_soundfont_info()
        self.playback.message.emit(f"Soundfont: {soundfont.path.name}", 5000)

    def _soundfont_failed(self, exc: object) -> None:
        path, self._loading = self._loading, None
        self.update_soundfont_info()
        kept, _ = sound.describe_soundfont(self.soundfont_setting())
        self.playback.message.emit("", 0)
        show_error(self.parentWidget(), "Soundfont",
                                f"{Path(path or '').name} cannot be used: {exc}\n\nThe soundfont in use stays: {kept}.")

    def use_default_soundfont(self) -> None:
        if self.playback.is_recording():
            show_error(self.parentWidget(), "Soundfont", "Stop recording before changing the soundfont.")
            return
        self.playback.settings.set("audio/soundfont", "")
        self.playback.apply_soundfont()
        self.update_soundfont_info()

    # --- MIDI ports -----------------------------------------------------------------------------
    def _ports(self):
        return self.playback.service.midiPorts()

    def fill_outputs(self) -> None:
        menu = self.output_menu
        menu.clear()
        group = QActionGroup(menu)
        current = self.playback.service.outputName()
        builtin = menu.addAction("Built-in Synth (FluidSynth)")
        builtin.setCheckable(True)
        builtin.setChecked(current is None)
        builtin.triggered.connect(lambda: self.playback.set_midi_output(None))
        group.addAction(builtin)
        ports = self._ports()
        menu.addSeparator()
        if not ports.outputs:
            _note(menu, ports.reason or "no MIDI outputs found")
        for name in ports.outputs:
            a = menu.addAction(name)
            a.setCheckable(True)
            a.setChecked(name == current)
            a.triggered.connect(lambda _c=False, n=name: self.playback.set_midi_output(n))
            group.addAction(a)

    def fill_inputs(self) -> None:
        menu = self.record_menu
        menu.clear()
        ports = self._ports()
        if not ports.inputs:
            _note(menu, ports.reason or "no MIDI inputs found")
        recording = self.playback.is_recording()
        for name in ports.inputs:
            a = menu.addAction(name)
            a.setStatusTip(f"Record from {name} into the current track, from the cursor")
            a.setEnabled(not recording)
            a.triggered.connect(lambda _c=False, n=name: self.playback.start_recording(n))

    def set_recording(self, recording: bool) -> None:
        self.stop_record_action.setEnabled(recording)
        self.choose_soundfont_action.setEnabled(not recording)


def _note(menu: QMenu, reason: str) -> QAction:
    """A disabled entry saying why a submenu is empty: the reason's first part as its text (a
    menu entry must stay short), all of it as the tooltip and status tip."""
    short = reason.split(" (")[0].split(": ")[0]
    a = menu.addAction(short[:1].upper() + short[1:])
    a.setEnabled(False)
    a.setToolTip(reason)
    a.setStatusTip(reason)
    menu.setToolTipsVisible(True)
    return a
