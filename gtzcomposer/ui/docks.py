"""The side docks: the track list on the left; the Genre and Continue Melody panels on the right,
tabbed together and built the first time they are shown (their modules load the models' code
only then, so they cost nothing at start-up)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFrame, QLabel, QMainWindow, QScrollArea, QWidget


def make_genre_panel(parent: QWidget) -> QWidget:
    from .genre_panel import GenrePanel

    return GenrePanel(parent)


def make_continue_panel(parent: QWidget) -> QWidget:
    from .continue_panel import ContinuePanel

    return ContinuePanel(parent)


class LazyDock(QDockWidget):
    """A dock whose content is built the first time it is shown (keeps start-up fast)."""

    created = Signal(object)

    def __init__(self, title: str, object_name: str, factory: Callable[[QWidget], QWidget],
                 parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setObjectName(object_name)
        self._factory = factory
        self.panel: QWidget | None = None
        self.setWidget(QLabel("Loading…", self))
        self.visibilityChanged.connect(self._on_visible)

    def _on_visible(self, visible: bool) -> None:
        if visible and self.panel is None:
            # After the current event: the window paints before a panel is built.
            QTimer.singleShot(0, self.ensure_panel)

    def ensure_panel(self) -> QWidget:
        if self.panel is None:
            try:
                self.panel = self._factory(self)
            except Exception as exc:  # noqa: BLE001 - a broken panel must not take the window down
                label = QLabel(f"{self.windowTitle()} could not start: {type(exc).__name__}: {exc}", self)
                label.setAlignment(Qt.AlignmentFlag.AlignCenter)
                label.setWordWrap(True)
                self.panel = label
                self.setWidget(label)
                return label
            # in a scroll area: a tall panel (the Continue panel with its band controls) never
            # makes the window taller than a laptop screen
            scroll = QScrollArea(self)
            scroll.setObjectName(f"{self.objectName()}Scroll")
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            scroll.setWidget(self.panel)
            self.setWidget(scroll)
            self.created.emit(self.panel)
        return self.panel


def add_docks(window: QMainWindow, track_list: QWidget) -> tuple[QDockWidget, LazyDock, LazyDock]:
    """The three docks, placed as a first start shows them: tracks on the left, Genre and
    Continue Melody tabbed on the right with Continue in front (a remembered layout replaces
    this later)."""
    tracks = QDockWidget("Tracks", window)
    tracks.setObjectName("TracksDock")
    tracks.setWidget(track_list)
    tracks.setMinimumWidth(290)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, tracks)
    genre = LazyDock("Genre", "GenreDock", make_genre_panel, window)
    cont = LazyDock("Continue Melody", "ContinueDock", make_continue_panel, window)
    for dock in (genre, cont):
        dock.setMinimumWidth(300)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
    window.tabifyDockWidget(genre, cont)
    cont.raise_()
    return tracks, genre, cont
