"""PianoRollEditor: ruler, keyboard, note grid, velocity lane, sustain-pedal lane, controller lane
(a chooser on its left picks the controller) and scrollbars in one widget.

The main window embeds this widget and talks to it through the methods and signals below;
everything shares one :class:`RollController` (state and edits) and one geometry.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollBar, QSizePolicy, QSplitter, QVBoxLayout, QWidget

from ...core.song import Note
from ..document import SongDocument
from .controller import RollController
from .controls import HEIGHT as CONTROL_LANE_HEIGHT
from .controls import PEDAL_HEIGHT, SUSTAIN, ControllerLane, ControllerPanel
from .keyboard import WIDTH as KEYBOARD_WIDTH
from .keyboard import Keyboard
from .ruler import Ruler
from .velocity import HEIGHT as LANE_HEIGHT
from .velocity import VelocityLane
from .view import PianoRollView


class PianoRollEditor(QWidget):
    loopChanged = Signal(object)  # (start, end) ticks or None
    cursorMoved = Signal(int)
    previewNote = Signal(int, int)  # pitch, velocity
    toolChanged = Signal(str)
    selectionChanged = Signal()
    pointerMoved = Signal(int, int)  # tick, pitch under the mouse (for a status bar)

    def __init__(self, document: SongDocument, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.controller = ctl = RollController(document, self)
        self.view = PianoRollView(ctl, self)
        self.ruler = Ruler(ctl, self)
        self.keyboard = Keyboard(ctl, self)
        self.velocity_lane = VelocityLane(ctl, self)
        self.sustain_lane = ControllerLane(ctl, self, SUSTAIN)
        self.controller_lane = ControllerLane(ctl, self, 1)  # modulation until another is chosen
        self.controller_panel = ControllerPanel(self.controller_lane, KEYBOARD_WIDTH, self)
        self.hbar = QScrollBar(Qt.Orientation.Horizontal, self)
        self.vbar = QScrollBar(Qt.Orientation.Vertical, self)
        def label(text: str) -> QLabel:
            lab = QLabel(text, self)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            lab.setContentsMargins(0, 4, 6, 0)
            lab.setFixedWidth(KEYBOARD_WIDTH)
            lab.setEnabled(False)  # drawn in the palette's muted text colour
            return lab

        lane_label = label("Velocity")
        self.view.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        # rows: ruler / [keyboard | grid | vertical bar] / velocity lane / horizontal bar; the
        # grid and the lane share a splitter so the lane's height can be dragged
        def row(left: QWidget | None, middle: QWidget, right: QWidget | None) -> QWidget:
            box = QWidget(self)
            lay = QHBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(0)
            spacer_w = self.vbar.sizeHint().width()
            if left is None:
                left = QWidget(box)
                left.setFixedWidth(KEYBOARD_WIDTH)
            lay.addWidget(left)
            lay.addWidget(middle, 1)
            if right is None:
                right = QWidget(box)
                right.setFixedWidth(spacer_w)
            lay.addWidget(right)
            return box

        self.velocity_lane.setMinimumHeight(40)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(row(self.keyboard, self.view, self.vbar))
        self.splitter.addWidget(row(lane_label, self.velocity_lane, None))
        self.splitter.addWidget(row(label("Pedal"), self.sustain_lane, None))
        self.splitter.addWidget(row(self.controller_panel, self.controller_lane, None))
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 0)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setStretchFactor(3, 0)
        self.splitter.setSizes([10_000, LANE_HEIGHT, PEDAL_HEIGHT, CONTROL_LANE_HEIGHT])
        self.splitter.setHandleWidth(4)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(row(None, self.ruler, None))
        outer.addWidget(self.splitter, 1)
        outer.addWidget(row(None, self.hbar, None))

        self._syncing = False
        ctl.viewChanged.connect(self._sync_scrollbars)
        ctl.changed.connect(self._sync_scrollbars)
        self.hbar.valueChanged.connect(lambda v: self._scrolled(x=v))
        self.vbar.valueChanged.connect(lambda v: self._scrolled(y=v))
        ctl.loopChanged.connect(self.loopChanged)
        ctl.cursorMoved.connect(self.cursorMoved)
        ctl.previewNote.connect(self.previewNote)
        ctl.toolChanged.connect(self.toolChanged)
        ctl.selectionChanged.connect(self.selectionChanged)
        ctl.pointerMoved.connect(self.pointerMoved)
        self.setFocusProxy(self.view)

    # --- scrollbars ----------------------------------------------------------------------------
    def _sync_scrollbars(self) -> None:
        ctl, g = self.controller, self.controller.geometry
        w, h = ctl.viewport
        self._syncing = True
        try:
            self.hbar.setRange(0, max(0, int(ctl.content_ticks() * g.px_per_tick) - w))
            self.hbar.setPageStep(max(1, w))
            self.hbar.setSingleStep(max(1, w // 16))
            self.hbar.setValue(int(round(g.scroll_x)))
            self.vbar.setRange(0, max(0, g.content_height - h))
            self.vbar.setPageStep(max(1, h))
            self.vbar.setSingleStep(g.key_height)
            self.vbar.setValue(int(round(g.scroll_y)))
        finally:
            self._syncing = False

    def _scrolled(self, x: int | None = None, y: int | None = None) -> None:
        if not self._syncing:
            self.controller.set_scroll(x, y)

    # --- public API ---------------------------------------------------------------------------
    def set_controller_lane(self, controller: int) -> None:
        """Show and edit ``controller`` (a key of :data:`~gtzcomposer.core.song.CONTROLLER_NAMES`
        other than the sustain pedal, which has its own lane) in the controller lane."""
        self.controller_lane.set_controller(controller)

    def set_tool(self, name: str) -> None:
        """'draw', 'select' or 'erase' (keys 1, 2, 3)."""
        self.controller.set_tool(name)

    def tool(self) -> str:
        return self.controller.tool

    def set_snap(self, on: bool) -> None:
        self.controller.set_snap(on)

    def set_grid(self, division: int, triplet: bool = False) -> None:
        """Grid of 1/``division`` notes (1..64), triplets when ``triplet``."""
        self.controller.set_grid(division, triplet)

    def snap(self) -> bool:
        return self.controller.snap

    def grid(self) -> tuple[int, bool]:
        """(division, triplet) of the grid."""
        return self.controller.division, self.controller.triplet

    def grid_ticks(self) -> int:
        return self.controller.grid

    def set_playhead(self, tick: int | None) -> None:
        self.controller.set_playhead(tick)

    def set_follow(self, on: bool) -> None:
        self.controller.set_follow(on)

    def set_cursor(self, tick: int) -> None:
        self.controller.set_cursor(tick)

    def cursor_tick(self) -> int:
        return self.controller.cursor

    def set_loop(self, loop: tuple[int, int] | None) -> None:
        self.controller.set_loop(loop)

    def loop(self) -> tuple[int, int] | None:
        return self.controller.loop

    def set_ghost_variation(self, notes: Iterable[Note] | None, color: str | None = None,
                            covered: dict[int, Iterable[Note]] | None = None,
                            moved: dict[int, Iterable[Note]] | None = None) -> None:
        self.controller.set_ghost_variation(notes, color, covered, moved)

    def set_ghost_band(self, parts) -> None:
        self.controller.set_ghost_band(parts)

    def selected_notes(self) -> tuple[Note, ...]:
        return self.controller.selected_notes()

    def select_all(self) -> None:
        self.controller.select_all()

    def clear_selection(self) -> None:
        self.controller.clear_selection()

    def quantize_selection(self, grid: int | None = None, strength: float = 1.0, lengths: bool = False) -> None:
        """Quantise the selection (the whole track when nothing is selected) to ``grid`` ticks
        (the editor's grid when None)."""
        self.controller.quantize_selection(grid, strength, lengths)

    def copy(self) -> None:
        self.controller.copy()

    def cut(self) -> None:
        self.controller.cut()

    def paste(self, at_tick: int | None = None) -> None:
        """Paste at ``at_tick`` (the cursor when None)."""
        self.controller.paste(at_tick)

    def duplicate(self) -> None:
        self.controller.duplicate()

    def delete_selection(self) -> None:
        self.controller.delete_selection()

    def transpose_selection(self, semitones: int) -> None:
        self.controller.transpose_selection(semitones)

    def nudge_selection(self, ticks: int) -> None:
        self.controller.nudge_selection(ticks)

    def zoom_in(self) -> None:
        self.controller.zoom_in()

    def zoom_out(self) -> None:
        self.controller.zoom_out()

    def zoom_vertical(self, factor: float) -> None:
        self.controller.zoom_vertical(factor)

    def scroll_to_tick(self, tick: int) -> None:
        self.controller.scroll_to_tick(tick)

    def fit_to_song(self) -> None:
        """Back to the default zoom, scrolled to the current track's notes (after opening a
        file)."""
        self.controller.fit_default()
        self.controller.viewChanged.emit()
