"""Shared bits of the main-window tests."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from gtzcomposer.ui.document import SongDocument
from gtzcomposer.ui.main_window import MainWindow
from gtzcomposer.ui.settings import Settings


def make_window(qtbot, song=None, autosave=False) -> MainWindow:
    doc = SongDocument(song) if song is not None else None
    window = MainWindow(Settings(), doc, autosave=autosave)
    # Teardown closes the window: no unsaved-changes dialog may block it.
    qtbot.addWidget(window, before_close_func=lambda w: w.document.mark_saved())
    return window


class Dialogs:
    """Records message boxes instead of showing them; answers with preset buttons."""

    def __init__(self, monkeypatch, warning=QMessageBox.StandardButton.Discard,
                 question=QMessageBox.StandardButton.Yes) -> None:
        self.errors: list[tuple[str, str]] = []
        self.warnings: list[str] = []
        self.questions: list[str] = []
        self.warning_answer, self.question_answer = warning, question
        monkeypatch.setattr(QMessageBox, "critical", self._critical)
        monkeypatch.setattr(QMessageBox, "warning", self._warning)
        monkeypatch.setattr(QMessageBox, "question", self._question)

    def _critical(self, _parent, title, text, *a, **k):
        self.errors.append((title, text))
        return QMessageBox.StandardButton.Ok

    def _warning(self, _parent, _title, text, *a, **k):
        self.warnings.append(text)
        return self.warning_answer

    def _question(self, _parent, _title, text, *a, **k):
        self.questions.append(text)
        return self.question_answer


def needs(module: str):
    """Skip where a module from another branch is not merged yet (the lead removes this once
    the branches are together)."""
    return pytest.importorskip(module, reason=f"{module} is not part of this branch yet")
