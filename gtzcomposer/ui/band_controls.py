"""The Continue panel's band controls (docs/band.md): Chords, Bass and Drums checkboxes, the
band's genre ("as the style" or one of the 10 GTZAN genres), "under the seed", and a line saying
when the program ``mma`` is missing (the checkboxes are then off and the melody works as before).
The panel turns a take into Parts of its Offer (``services.band.offer_parts``); the continuation
wiring shows, auditions and accepts them with the melody.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

AS_STYLE = "as the style"


class BandControls(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BandControls")
        from ..services import band

        self.chords = QCheckBox("Chords")
        self.bass = QCheckBox("Bass")
        self.drums = QCheckBox("Drums")
        self.under_seed = QCheckBox("Under the seed too")
        self.genre_box = QComboBox()
        self.genre_box.addItems([AS_STYLE, *band.GENRES])
        self.genre_box.setToolTip("the genre the band plays; 'as the style' uses the melody style "
                                  "(a folk style gets a stand-in band, named after generating)")
        row = QHBoxLayout()
        for box in (self.chords, self.bass, self.drums):
            row.addWidget(box)
        row.addStretch(1)
        form = QFormLayout()
        form.addRow("Band", row)
        form.addRow("Band genre", self.genre_box)
        form.addRow("", self.under_seed)
        self.message = QLabel()
        self.message.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.message)
        self.available = band.available()
        for box in (self.chords, self.bass, self.drums):
            box.toggled.connect(self._warm)
        if not self.available:
            self.message.setText(band.missing_hint())
            for w in (self.chords, self.bass, self.drums, self.under_seed, self.genre_box):
                w.setEnabled(False)

    def _warm(self, on: bool) -> None:
        """A band part was ticked: start MMA now, so that the band's first run does not wait for it."""
        if on and self.available:
            from ..services import band

            band.prestart()

    def parts(self) -> tuple[str, ...]:
        if not self.available:
            return ("melody",)
        chosen = [name for name, box in (("chords", self.chords), ("bass", self.bass), ("drums", self.drums))
                  if box.isChecked()]
        return ("melody", *chosen)

    def set_parts(self, parts) -> None:
        for name, box in (("chords", self.chords), ("bass", self.bass), ("drums", self.drums)):
            box.setChecked(name in parts)

    def genre(self) -> str | None:
        text = self.genre_box.currentText()
        return None if text == AS_STYLE else text
