"""The window's dialogs: quantize, audio export options, and the message boxes (errors, unsaved
changes, crash recovery, about). One function per question, so tests answer them in one place."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ..core import grid_ticks
from ..services.sound import EXPORT_BITS, EXPORT_RATES

GRID_CHOICES = (1, 2, 4, 8, 16, 32)


def _buttons(dialog: QDialog, ok_text: str | None = None) -> QDialogButtonBox:
    box = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, dialog)
    if ok_text:
        box.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    box.accepted.connect(dialog.accept)
    box.rejected.connect(dialog.reject)
    return box


class QuantizeDialog(QDialog):
    def __init__(self, division: int, triplet: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Quantize")
        self.grid_combo = QComboBox(self)
        for d in GRID_CHOICES:
            self.grid_combo.addItem(f"1/{d}", (d, False))
            self.grid_combo.addItem(f"1/{d} triplet", (d, True))
        self.grid_combo.setCurrentIndex(max(0, self.grid_combo.findText(f"1/{division}" + (" triplet" if triplet else ""))))
        self.strength = QSlider(Qt.Orientation.Horizontal, self)
        self.strength.setRange(10, 100)
        self.strength.setValue(100)
        self.strength_label = QLabel("100 %", self)
        self.strength.valueChanged.connect(lambda v: self.strength_label.setText(f"{v} %"))
        self.lengths = QCheckBox("Quantize note ends too", self)
        form = QFormLayout()
        form.addRow("Grid", self.grid_combo)
        form.addRow("Strength", self.strength)
        form.addRow("", self.strength_label)
        form.addRow("", self.lengths)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_buttons(self))

    def values(self) -> tuple[int, float, bool]:
        division, triplet = self.grid_combo.currentData()
        return grid_ticks(division, triplet), self.strength.value() / 100, self.lengths.isChecked()


class AudioExportDialog(QDialog):
    """Sample rate and bit depth of an audio export (the format follows the file's extension)."""

    def __init__(self, path: Path, rate: int, bits: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export Audio")
        self.setMinimumWidth(340)
        kind = "FLAC" if path.suffix.lower() == ".flac" else "WAV"
        self.rate_combo = QComboBox(self)
        for r in EXPORT_RATES:
            self.rate_combo.addItem(f"{r / 1000:g} kHz", r)
        self.rate_combo.setCurrentIndex(max(0, self.rate_combo.findData(rate)))
        self.bits_combo = QComboBox(self)
        for b in EXPORT_BITS:
            self.bits_combo.addItem(f"{b}-bit", b)
        self.bits_combo.setCurrentIndex(max(0, self.bits_combo.findData(bits)))
        form = QFormLayout()
        form.addRow("File", QLabel(f"{path.name} ({kind})", self))
        form.addRow("Sample rate", self.rate_combo)
        form.addRow("Bit depth", self.bits_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(_buttons(self, "Export"))

    def values(self) -> tuple[int, int]:
        return int(self.rate_combo.currentData()), int(self.bits_combo.currentData())


def show_error(parent: QWidget | None, title: str, message: str) -> None:
    QMessageBox.critical(parent, title, message)


def ask_save_changes(parent: QWidget | None, name: str) -> str:
    """'save', 'discard' or 'cancel' for unsaved changes to ``name``."""
    SB = QMessageBox.StandardButton
    answer = QMessageBox.warning(parent, "Unsaved changes", f"Save the changes to {name} before closing it?",
                                 SB.Save | SB.Discard | SB.Cancel, SB.Save)
    return {SB.Save: "save", SB.Discard: "discard"}.get(answer, "cancel")


def ask_recover(parent: QWidget | None, name: str, when: str) -> bool:
    SB = QMessageBox.StandardButton
    answer = QMessageBox.question(
        parent, "Recover unsaved work?",
        f"gtzcomposer did not close normally. Unsaved changes to {name} were autosaved at {when}.\n\n"
        "Recover them?", SB.Yes | SB.No, SB.Yes)
    return answer == SB.Yes


def about(parent: QWidget | None) -> None:
    from .. import __version__

    QMessageBox.about(
        parent, "About gtzcomposer",
        f"<h3>gtzcomposer {__version__}</h3><p>Compose music with machine help: a piano roll, genre "
        "detection of audio and melody continuation with bundled models.</p><p>Open source (MIT).</p>")
