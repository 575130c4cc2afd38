"""The Continue panel: style-conditioned melody continuation of the current selection.

A plain QWidget meant for a dock; ``ui/continuation.py`` wires it to the window. The wiring
calls :meth:`ContinuePanel.set_seed` with the selected notes, the song and their track whenever
the selection changes, and listens to:

* ``variationsReady(list)``: a list of ``generator.Variation`` (best first) after Generate or
  Regenerate;
* ``currentVariationChanged(int, object)``: index and ``Variation`` now shown (also sent right
  after ``variationsReady`` with index 0, and with ``(-1, None)`` when the variations are cleared);
* ``writeModeChanged(str)``: the user chose another :class:`~gtzcomposer.core.continuation.WriteMode`;
* ``auditionRequested(object)`` and ``acceptRequested(object)``: the current
  :class:`~gtzcomposer.core.continuation.Offer`: its parts carry the track they were made for
  (the seed's track when Generate was pressed), whatever track is current now;
* ``errorOccurred(str)``: a message to show (the panel also shows it in its status line).

With band parts ticked (``band_controls.BandControls``, docs/band.md) the Offer also carries the
band's Drums, Bass and Chords parts (existing tracks of those names continue, else new tracks),
and ``bandChanged(take)`` follows the variation shown (None: no band).

Its settings are one :class:`~gtzcomposer.core.generation.GenerationSettings`
(:meth:`settings`, :meth:`set_settings`), kept in the project. Generation runs on a worker
(services.TaskRunner) with progress and Cancel; the model is loaded lazily on the worker the
first time (or by :meth:`preload` at start-up).
"""

from __future__ import annotations

import random

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..core.continuation import Offer, Part, WriteMode
from ..core.generation import DEFAULT_STYLE_STRENGTH, MAX_STRENGTH, GenerationSettings
from ..core.transforms import top_line
from ..services import band as band_service
from ..services import models
from ..services.tasks import TaskRunner


def _chords_text(result, song) -> str:
    """"Chords (proposed): bar 5: C | bar 6: Am F ..." for the continued bars."""
    rows = result.chords_per_bar(song) if song is not None and getattr(result, "chords", ()) else []
    if not rows:
        return ""
    source = {"chord track": "from the Chords track", "proposed": f"proposed in {result.model_style}"}.get(
        result.chord_source, result.chord_source)
    bars = "; ".join(f"bar {r['bar']}: " + " ".join(c["chord"] for c in r["chords"]) for r in rows)
    return f"Chords ({source}): {bars}"


class ContinuePanel(QWidget):
    variationsReady = Signal(list)
    currentVariationChanged = Signal(int, object)
    acceptRequested = Signal(object)
    auditionRequested = Signal(object)
    writeModeChanged = Signal(str)
    errorOccurred = Signal(str)
    bandChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ContinuePanel")
        self._seed: tuple = ()
        self._song = None
        self._track = 0  # the seed's track
        self._job_track = 0  # the seed's track when Generate was pressed
        self._result_track = 0  # ... for the variations shown
        self._result = None
        self._band = None  # ml.band.BandResult of the variations shown, when the band played
        self._index = -1
        self._last_seed: int | None = None
        self._generating = False  # the runner's task is a generation (not the preload)
        self.runner = TaskRunner(self)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.busyChanged.connect(self._update_enabled)

        styles, self._unavailable = models.melody_style_names()
        self.style_box = QComboBox()
        self.style_box.addItems(styles)
        self.style_note = QLabel()  # says when a genre is written in a stand-in style
        self.style_note.setObjectName("styleNote")
        self.style_note.setWordWrap(True)
        self.style_box.currentTextChanged.connect(self._show_style_note)
        self.chords_label = QLabel()  # the chords of the continued bars
        self.chords_label.setObjectName("chordsLabel")
        self.chords_label.setWordWrap(True)
        self.bars = QSpinBox(minimum=1, maximum=32, value=4)
        self.variations = QSpinBox(minimum=1, maximum=16, value=4)
        self.temperature = QDoubleSpinBox(minimum=0.1, maximum=2.0, singleStep=0.05, value=1.0)
        self.top_p = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, value=0.95)
        self.style_strength = QDoubleSpinBox(minimum=0.0, maximum=MAX_STRENGTH, singleStep=0.25,
                                             value=DEFAULT_STYLE_STRENGTH)
        self.style_strength.setToolTip("how hard to push towards the style (0 = plain sampling)")
        self.seed_box = QSpinBox(minimum=-1, maximum=2**31 - 1, value=-1)
        self.seed_box.setSpecialValueText("random")
        self.seed_box.setToolTip("random seed; the same seed and settings give the same variations")
        self.key_lock = QCheckBox("Only notes of the song's key")
        self.write_box = QComboBox()
        for mode in WriteMode:
            self.write_box.addItem(mode.label, mode.value)
        self.write_box.setToolTip("Where Accept writes the continuation; the ghost notes show the result")
        self.write_box.currentIndexChanged.connect(lambda _i: self.writeModeChanged.emit(self.write_mode().value))

        form = QFormLayout()
        form.addRow("Style", self.style_box)
        form.addRow("", self.style_note)
        form.addRow("Bars", self.bars)
        form.addRow("Variations", self.variations)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-p", self.top_p)
        form.addRow("Style strength", self.style_strength)
        form.addRow("Seed", self.seed_box)
        form.addRow("Key lock", self.key_lock)
        form.addRow("Accept", self.write_box)

        self.generate_button = QPushButton("Generate")
        self.cancel_button = QPushButton("Cancel")
        self.generate_button.clicked.connect(lambda: self.generate())  # clicked(bool) is no seed
        self.cancel_button.clicked.connect(self.cancel)
        row1 = QHBoxLayout()
        row1.addWidget(self.generate_button)
        row1.addWidget(self.cancel_button)

        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.notice = QLabel()
        self.notice.setWordWrap(True)

        self.prev_button = QPushButton("◀")
        self.prev_button.setToolTip("previous variation")
        self.next_button = QPushButton("▶")
        self.next_button.setToolTip("next variation")
        self.variation_label = QLabel("no variations")
        self.variation_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.prev_button.clicked.connect(self.previous_variation)
        self.next_button.clicked.connect(self.next_variation)
        row2 = QHBoxLayout()
        row2.addWidget(self.prev_button)
        row2.addWidget(self.variation_label, 1)
        row2.addWidget(self.next_button)

        self.audition_button = QPushButton("Audition")
        self.accept_button = QPushButton("Accept")
        self.regenerate_button = QPushButton("Regenerate")
        self.audition_button.clicked.connect(self.audition)
        self.accept_button.clicked.connect(self.accept)
        self.regenerate_button.clicked.connect(self.regenerate)
        row3 = QHBoxLayout()
        row3.addWidget(self.audition_button)
        row3.addWidget(self.accept_button)
        row3.addWidget(self.regenerate_button)

        from .band_controls import BandControls

        self.band = BandControls()
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.band)
        layout.addLayout(row1)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status)
        layout.addWidget(self.notice)
        layout.addWidget(self.chords_label)
        layout.addLayout(row2)
        layout.addLayout(row3)
        layout.addStretch(1)
        if self._unavailable:
            self.status.setText(self._unavailable)
        self._update_enabled()

    # --- public API ------------------------------------------------------------------------------
    def set_seed(self, notes, song, track: int = 0) -> None:
        """The current selection (notes of track ``track``) and the song it belongs to."""
        self._seed = tuple(notes)
        self._song = song
        self._track = track
        mono = top_line(self._seed) if self._seed else ()
        if self._seed and len(mono) < len(set(self._seed)):
            self.notice.setText("The selection is polyphonic: only its top line will be continued.")
        else:
            self.notice.setText("")
        if not self._seed and not self._unavailable:
            self.status.setText("Select some notes of one track to continue them.")
        elif not self._unavailable:
            self.status.setText("")
        self._update_enabled()

    def preload(self) -> None:
        """Load the model in the background (call at start-up)."""
        if not self._unavailable and not self.runner.busy:
            self.runner.start(models.load_melody_model, label="loading the melody model")

    @property
    def current_variation(self):
        if self._result is None or self._index < 0:
            return None
        return self._result.variations[self._index]

    @property
    def result(self):
        return self._result

    def generate(self, seed: int | None = None) -> None:
        if not self._seed or self._song is None:
            self._show_error("Select some notes of one track to continue them.")
            return
        settings = self.settings()
        if seed is None:
            seed = settings.seed if settings.seed is not None else random.randrange(2**31)
        self._last_seed = seed
        self._job_track = self._track
        self.progress_bar.setValue(0)
        self.status.setText("Generating…")
        self._generating = True
        settings = settings.replace(seed=seed)
        if settings.band_parts:
            self.runner.start(band_service.continue_with_band, self._seed, self._song, settings, self.band.genre(),
                              self.band.under_seed.isChecked(), label="continuing the melody with the band")
        else:
            self.runner.start(models.continue_melody, self._seed, self._song, settings, label="continuing the melody")

    def settings(self) -> GenerationSettings:
        """What the panel's controls say (``seed`` None: a new random one each time)."""
        return GenerationSettings(
            style=self.style_box.currentText(), bars=self.bars.value(), variations=self.variations.value(),
            temperature=self.temperature.value(), top_p=self.top_p.value(),
            seed=self.seed_box.value() if self.seed_box.value() >= 0 else None,
            key_lock=self.key_lock.isChecked(), strength=self.style_strength.value(), parts=self.band.parts())

    def set_settings(self, settings: GenerationSettings) -> None:
        """Show ``settings`` (from a project); a style the model does not know is reported and
        the style choice stays."""
        index = self.style_box.findText(settings.style)
        if index >= 0:
            self.style_box.setCurrentIndex(index)
        else:
            self.notice.setText(f"The melody model has no style {settings.style!r}; "
                                f"{self.style_box.currentText()} is used.")
        self.bars.setValue(settings.bars)
        self.variations.setValue(settings.variations)
        self.temperature.setValue(settings.temperature)
        self.top_p.setValue(settings.top_p)
        self.style_strength.setValue(settings.strength)
        self.seed_box.setValue(-1 if settings.seed is None else min(settings.seed, self.seed_box.maximum()))
        self.key_lock.setChecked(settings.key_lock)
        self.band.set_parts(settings.parts)

    def write_mode(self) -> WriteMode:
        return WriteMode(self.write_box.currentData())

    def set_write_mode(self, mode: WriteMode | str) -> None:
        self.write_box.setCurrentIndex(max(0, self.write_box.findData(WriteMode(mode).value)))

    def current_offer(self) -> Offer | None:
        """The variation shown, as what Accept would write, with the track it was made for."""
        v = self.current_variation
        if v is None:
            return None
        r = self._result
        parts = (Part(self._result_track, tuple(v.notes)),)
        take = self.current_take
        if take is not None and self._song is not None:
            parts += band_service.offer_parts(self._song, take)
        return Offer(parts, r.start, r.end, self.write_mode())

    @property
    def current_take(self):
        """The band of the variation shown (``ml.band.BandTake``), or None."""
        if self._band is None or not self._band.takes or self._index < 0:
            return None
        return self._band.takes[self._index]

    def regenerate(self) -> None:
        self.generate(seed=random.randrange(2**31))

    def cancel(self) -> None:
        if self.runner.busy:
            self.runner.cancel()
            self._generating = False
            self.status.setText("Cancelled.")
            self.progress_bar.setValue(0)

    def next_variation(self) -> None:
        self._select(self._index + 1)

    def previous_variation(self) -> None:
        self._select(self._index - 1)

    def audition(self) -> None:
        offer = self.current_offer()
        if offer is not None:
            self.auditionRequested.emit(offer)

    def accept(self) -> None:
        offer = self.current_offer()
        if offer is None:
            return
        self.acceptRequested.emit(offer)
        self.clear_variations()
        self.status.setText("Accepted.")

    def clear_variations(self) -> None:
        self._result = None
        self._band = None
        self._index = -1
        self.variation_label.setText("no variations")
        self.bandChanged.emit(None)
        self.currentVariationChanged.emit(-1, None)
        self._update_enabled()

    # --- internals -------------------------------------------------------------------------------
    def _select(self, index: int) -> None:
        if self._result is None or not self._result.variations:
            return
        index = max(0, min(index, len(self._result.variations) - 1))
        self._index = index
        v = self._result.variations[index]
        label = f"{index + 1} / {len(self._result.variations)}  (style score {v.score:.2f}"
        take = self.current_take
        if take is not None:
            label += f", fit {self._band.fits[index].fit:.2f}"
        self.variation_label.setText(label + ")")
        self._update_enabled()
        self.bandChanged.emit(take)
        self.currentVariationChanged.emit(index, v)

    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress_bar.setValue(round(100 * fraction))

    def _show_style_note(self, style: str) -> None:
        choice = models.melody_style_choice(style)
        self.style_note.setText(choice.note if choice is not None else "")

    def _on_finished(self, result) -> None:
        if not self._generating:  # a preload finished
            self._update_enabled()
            return
        self._generating = False
        band = None
        if hasattr(result, "takes"):  # melody + band (ml.band.BandResult)
            band, result = result, result.continuation
        self._result = result
        self._band = band if band is not None and band.takes else None
        self._result_track = self._job_track
        self.progress_bar.setValue(100)
        written = f" (written in the {result.model_style} style)" if result.stand_in_note else ""
        self.status.setText(f"{len(result.variations)} variations in {result.style}{written} (seed {self._last_seed}).")
        notices = []
        if result.reduced_to_top_line:
            notices.append("The selection is polyphonic: only its top line was continued.")
        if band is not None and band.error:
            notices.append(f"The band did not play: {band.error}.")
        elif band is not None:
            notices.append(f"Band: {band.genre} ({', '.join(band.parts)})" + (f"; {band.note}." if band.note else "."))
        self.notice.setText(" ".join(notices))
        self.chords_label.setText(_chords_text(result, self._song))
        self.variationsReady.emit(list(result.variations))
        self._select(0)

    def _on_failed(self, exc) -> None:
        self._generating = False
        self.progress_bar.setValue(0)
        self._show_error(str(exc) or type(exc).__name__)

    def _show_error(self, message: str) -> None:
        self.status.setText(message)
        self.errorOccurred.emit(message)

    def _update_enabled(self, *_):
        busy = self.runner.busy
        ready = not self._unavailable
        has = self._result is not None and self._index >= 0
        n = len(self._result.variations) if self._result is not None else 0
        self.generate_button.setEnabled(ready and bool(self._seed) and not busy)
        self.regenerate_button.setEnabled(ready and bool(self._seed) and not busy and has)
        self.cancel_button.setEnabled(busy)
        self.prev_button.setEnabled(has and self._index > 0)
        self.next_button.setEnabled(has and self._index < n - 1)
        self.audition_button.setEnabled(has)
        self.accept_button.setEnabled(has and not busy)
