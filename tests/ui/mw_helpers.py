"""Shared bits of the main-window tests."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

from gtzcomposer.ui.document import SongDocument
from gtzcomposer.ui.main_window import MainWindow
from gtzcomposer.ui.settings import Settings


def make_window(qtbot, song=None, autosave=False, make_playback=None) -> MainWindow:
    doc = SongDocument(song) if song is not None else None
    kwargs = {"make_playback": make_playback} if make_playback is not None else {}
    window = MainWindow(Settings(), doc, autosave=autosave, **kwargs)
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


class Speaker:
    """The real playback service over a sink that records what it is sent (with a clock the
    test moves), or over no sink at all: a machine without an audio device."""

    def __init__(self, audio: bool = True, reason: str = "no audio device found") -> None:
        from tests.audio.fakes import FakeClock, ListSink

        self.clock = FakeClock()
        self.sink = ListSink(self.clock) if audio else None
        self.reason = reason
        self.service = None

    def __call__(self, parent=None, soundfont=None):
        from gtzcomposer.audio.player import Player
        from gtzcomposer.services.playback import PlaybackService

        player = Player(self.sink, unavailable_reason=self.reason, clock=self.clock, threaded=False)
        self.service = PlaybackService(parent, soundfont=soundfont, player=player)
        return self.service

    def run(self, seconds: float, step: float = 0.005) -> None:
        player = self.service.player()
        for _ in range(int(round(seconds / step))):
            self.clock.advance(step)
            player.pump()

    def notes_on(self) -> list[tuple[int, int]]:
        """(channel, pitch) of every note-on sent so far, previews included."""
        from gtzcomposer.audio.events import NOTE_ON

        return [(e.channel, e.data1) for e in self.sink.events if e.kind == NOTE_ON and e.data2 > 0]
