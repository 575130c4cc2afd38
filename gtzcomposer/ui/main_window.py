"""The main window: menus, tool bar, track list, piano roll, transport, status bar, docks.

It owns the :class:`SongDocument` and wires the parts together; every change to the song is an
edit pushed onto the document's undo stack. Files load on a worker thread (a big MIDI file never
freezes the window); WAV export runs on a worker with a progress dialog that can cancel.
Heavy libraries (Keras, TensorFlow, librosa, music21) are never imported here: the genre and
continuation panels are created when their dock is first shown.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDrag, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDockWidget,
    QFileDialog,
    QFormLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressDialog,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import (
    PPQ,
    AddNotes,
    GtzError,
    KeySignature,
    Song,
    TempoChange,
    TimeSignature,
    bar_at,
    format_position,
    grid_ticks,
    new_track,
)
from ..io.formats import SONG_FORMATS
from ..resources import resource
from ..services.tasks import TaskRunner
from . import transport as transport_mod
from .autosave import Autosaver, discard_recovery, find_recoveries, load_recovery
from .document import SongDocument
from .settings import Settings, data_dir
from .sound_menu import SoundMenu
from .track_list import TrackList, build_instrument_menu

APP_NAME = "gtzcomposer"
GRID_CHOICES = (1, 2, 4, 8, 16, 32)
OPEN_FILTER = "Songs (*.gtzc *.mid *.midi *.musicxml *.xml *.mxl);;gtzcomposer projects (*.gtzc);;" \
              "MIDI files (*.mid *.midi);;MusicXML (*.musicxml *.xml *.mxl);;All files (*)"


def default_song() -> Song:
    """What File > New gives: one piano track, 120 bpm, 4/4, C major."""
    return Song(
        tracks=(new_track(0, "Piano", program=0),),
        tempos=(TempoChange.from_bpm(0, 120),),
        time_signatures=(TimeSignature(0, 4, 4),),
        key_signatures=(KeySignature(0, 0, "major"),),
    )


def icon(name: str, fallback: QStyle.StandardPixmap | None = None, style: QStyle | None = None) -> QIcon:
    path = resource("icons", f"{name}.svg")
    if path.is_file():
        return QIcon(str(path))
    if fallback is not None and style is not None:
        return style.standardIcon(fallback)
    return QIcon()


# --- the piano roll, or a placeholder where it is not built in -------------------------------


class _MissingEditor(QLabel):
    """Stands in for the piano roll when it is not part of the build."""

    loopChanged = Signal(object)
    cursorMoved = Signal(int)
    previewNote = Signal(int, int)
    toolChanged = Signal(str)
    selectionChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("The piano roll is not available in this build.", parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._loop = None

    def __getattr__(self, name: str):  # every other editor method: do nothing
        if name.startswith("_"):
            raise AttributeError(name)
        return lambda *a, **k: None

    def selected_notes(self):
        return ()

    def cursor_tick(self) -> int:
        return 0

    def loop(self):
        return self._loop

    def set_loop(self, loop) -> None:
        self._loop = loop
        self.loopChanged.emit(loop)


def make_editor(document: SongDocument, parent: QWidget) -> QWidget:
    try:
        from .pianoroll import PianoRollEditor
    except ImportError:
        return _MissingEditor(parent)
    return PianoRollEditor(document, parent)


# --- side panels from other features, created when first shown --------------------------------


def _missing_panel(what: str, parent: QWidget, text: str | None = None) -> QWidget:
    label = QLabel(text or f"{what} is not available in this build.", parent)
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    label.setWordWrap(True)
    return label


def make_genre_panel(parent: QWidget) -> QWidget:
    try:
        from .genre_panel import GenrePanel
    except ImportError:
        return _missing_panel("Genre detection", parent)
    return GenrePanel(parent)


def make_continue_panel(parent: QWidget) -> QWidget:
    try:
        from .continue_panel import ContinuePanel
    except ImportError:
        return _missing_panel("Melody continuation", parent)
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
                self.panel = _missing_panel(
                    self.windowTitle(), self, f"{self.windowTitle()} could not start: {type(exc).__name__}: {exc}")
                self.setWidget(self.panel)
                return self.panel
            self.setWidget(self.panel)
            self.created.emit(self.panel)
        return self.panel


# --- small dialogs and widgets -----------------------------------------------------------------


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
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

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
        for r in transport_mod.EXPORT_RATES:
            self.rate_combo.addItem(f"{r / 1000:g} kHz", r)
        self.rate_combo.setCurrentIndex(max(0, self.rate_combo.findData(rate)))
        self.bits_combo = QComboBox(self)
        for b in transport_mod.EXPORT_BITS:
            self.bits_combo.addItem(f"{b}-bit", b)
        self.bits_combo.setCurrentIndex(max(0, self.bits_combo.findData(bits)))
        form = QFormLayout()
        form.addRow("File", QLabel(f"{path.name} ({kind})", self))
        form.addRow("Sample rate", self.rate_combo)
        form.addRow("Bit depth", self.bits_combo)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def values(self) -> tuple[int, int]:
        return int(self.rate_combo.currentData()), int(self.bits_combo.currentData())


class NotesDragHandle(QToolButton):
    """Drag from here to another program (a DAW, a file manager) to drop the selected notes as
    a .mid file."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._press: QPoint | None = None
        self.setText("Drag MIDI")
        self.setIcon(icon("drag-midi", QStyle.StandardPixmap.SP_FileIcon, window.style()))
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.setToolTip("Drag the selected notes (or the whole track) out of the window as a .mid file")
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self._press = event.position().toPoint()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        if self._press is not None and (event.position().toPoint() - self._press).manhattanLength() \
                >= QApplication.startDragDistance():
            self._press = None
            self.setDown(False)
            self._window.start_notes_drag()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self._press = None
        super().mouseReleaseEvent(event)


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w\- ]+", "_", text).strip() or "notes"


# --- the window ------------------------------------------------------------------------------


class MainWindow(QMainWindow):
    fileLoaded = Signal(object)  # Path
    fileFailed = Signal(str)  # the message shown
    fileSaved = Signal(object)  # Path
    exportFinished = Signal(object)  # Path
    themeChanged = Signal(str)

    def __init__(self, settings: Settings | None = None, document: SongDocument | None = None,
                 autosave: bool = True) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.document = document or SongDocument(default_song(), self)
        if document is not None:
            document.setParent(self)
        self._display_name = ""  # shown in the title for an imported (not yet saved) song
        self._extras: dict = {}  # style, generation settings and view of an opened project
        self._drag_dir: str | None = None
        self.playback = None
        self._playback_reason = "checking the audio output…"
        self._playing = False

        self.setWindowTitle(APP_NAME)
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.resize(1280, 800)

        self.editor = make_editor(self.document, self)
        self.setCentralWidget(self.editor)

        self.track_list = TrackList(self.document, self)
        self.track_dock = QDockWidget("Tracks", self)
        self.track_dock.setObjectName("TracksDock")
        self.track_dock.setWidget(self.track_list)
        self.track_dock.setMinimumWidth(290)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.track_dock)

        self.genre_dock = LazyDock("Genre", "GenreDock", make_genre_panel, self)
        self.continue_dock = LazyDock("Continue Melody", "ContinueDock", make_continue_panel, self)
        for dock in (self.genre_dock, self.continue_dock):
            self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
        self.tabifyDockWidget(self.genre_dock, self.continue_dock)
        self.genre_dock.created.connect(self._wire_genre_panel)
        self.continue_dock.created.connect(self._wire_continue_panel)

        self.loader = TaskRunner(self)
        self.loader.finished.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.audio_probe = TaskRunner(self)
        self.audio_probe.finished.connect(self._playback_checked)
        self.audio_probe.failed.connect(lambda exc: self._playback_checked((False, f"no audio output: {exc}")))
        self.exporter = TaskRunner(self)
        self.exporter.progress.connect(self._on_export_progress)
        self.exporter.finished.connect(self._on_export_done)
        self.exporter.failed.connect(self._on_export_failed)
        self.exporter.cancelled.connect(self._on_export_cancelled)
        self._export_dialog: QProgressDialog | None = None
        self._loading: Path | None = None
        self._exporting: Path | None = None

        self._make_actions()
        self._make_toolbars()
        self._make_menus()
        self._make_statusbar()
        self._connect()
        self._restore_settings()

        self.autosaver = Autosaver(self.document, data_dir(), self.settings.get("autosave/interval_s"), self)
        self.autosaver.failed.connect(lambda m: self.statusBar().showMessage(m, 8000))
        if autosave and self.settings.get("autosave/enabled"):
            self.autosaver.start()
        self._update_title()
        self.transport.set_available(False, self._playback_reason)

    # ------------------------------------------------------------------------ construction
    def _action(self, text: str, slot=None, shortcut=None, tip: str = "", checkable: bool = False,
                icon_: QIcon | None = None) -> QAction:
        a = QAction(text, self)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
            a.setToolTip(tip)
        a.setCheckable(checkable)
        if icon_ is not None:
            a.setIcon(icon_)
        if slot is not None:
            (a.toggled if checkable else a.triggered).connect(slot)
        return a

    def _make_actions(self) -> None:
        st, SP = self.style(), QStyle.StandardPixmap
        K = QKeySequence.StandardKey
        self.new_action = self._action("&New", self.new_file, K.New, "Start a new song",
                                       icon_=st.standardIcon(SP.SP_FileIcon))
        self.open_action = self._action("&Open…", lambda: self.open_dialog(), K.Open, "Open a song (.gtzc, MIDI, MusicXML)",
                                        icon_=st.standardIcon(SP.SP_DialogOpenButton))
        self.save_action = self._action("&Save", self.save, K.Save, "Save the song as a .gtzc project",
                                        icon_=st.standardIcon(SP.SP_DialogSaveButton))
        self.save_as_action = self._action("Save &As…", self.save_as, K.SaveAs)
        self.import_midi_action = self._action("MIDI File…", lambda: self.open_dialog("MIDI files (*.mid *.midi)"))
        self.import_xml_action = self._action("MusicXML File…",
                                              lambda: self.open_dialog("MusicXML (*.musicxml *.xml *.mxl)"))
        self.export_midi_action = self._action("MIDI File…", lambda: self.export_dialog("mid"), "Ctrl+E")
        self.export_xml_action = self._action("MusicXML File…", lambda: self.export_dialog("musicxml"))
        self.export_wav_action = self._action("Audio (WAV, FLAC)…", lambda: self.export_dialog("wav"), "Ctrl+Shift+E",
                                              "Render the song to a WAV or FLAC file with the soundfont in use")
        self.quit_action = self._action("&Quit", self.close, K.Quit)
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)

        stack = self.document.undo_stack
        self.undo_action = stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(K.Undo)
        self.undo_action.setIcon(icon("undo", SP.SP_ArrowBack, st))
        self.redo_action = stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence(K.Redo), QKeySequence("Ctrl+Y")])
        self.redo_action.setIcon(icon("redo", SP.SP_ArrowForward, st))
        ed = self.editor
        self.cut_action = self._action("Cu&t", ed.cut, K.Cut)
        self.copy_action = self._action("&Copy", ed.copy, K.Copy)
        self.paste_action = self._action("&Paste", lambda: ed.paste(None), K.Paste, "Paste at the cursor")
        self.duplicate_action = self._action("&Duplicate", ed.duplicate, "Ctrl+D")
        self.delete_action = self._action("De&lete", ed.delete_selection, K.Delete)
        self.select_all_action = self._action("Select &All", ed.select_all, K.SelectAll)
        self.quantize_action = self._action("&Quantize…", self.quantize_dialog, "Ctrl+Shift+Q",
                                            "Quantize the selection (the track when nothing is selected)")
        self.quick_quantize_action = self._action("Quantize", self.quantize_to_grid, "Q",
                                                  "Quantize the selection to the grid",
                                                  icon_=icon("quantize"))
        self.transpose_actions = [
            self._action(text, (lambda _c=False, n=n: ed.transpose_selection(n)), tip=text)
            for text, n in (("Up a Semitone", 1), ("Down a Semitone", -1), ("Up an Octave", 12),
                            ("Down an Octave", -12))
        ]

        self.zoom_in_action = self._action("Zoom &In", ed.zoom_in, K.ZoomIn)
        self.zoom_out_action = self._action("Zoom &Out", ed.zoom_out, K.ZoomOut)
        self.zoom_fit_action = self._action("&Default Zoom", ed.fit_to_song, "Ctrl+0")
        self.theme_group = QActionGroup(self)
        self.light_action = self._action("&Light", checkable=True)
        self.dark_action = self._action("&Dark", checkable=True)
        for a, name in ((self.light_action, "light"), (self.dark_action, "dark")):
            self.theme_group.addAction(a)
            a.triggered.connect(lambda _c=False, n=name: self.set_theme(n))

        self.tool_group = QActionGroup(self)
        self.tool_actions: dict[str, QAction] = {}
        for name, text, key in (("draw", "Draw", "1"), ("select", "Select", "2"), ("erase", "Erase", "3")):
            a = self._action(text, tip=f"{text} tool ({key})", shortcut=key, checkable=True, icon_=icon(f"tool-{name}"))
            a.triggered.connect(lambda _c=False, n=name: self.set_tool(n))
            self.tool_group.addAction(a)
            self.tool_actions[name] = a
        self.snap_action = self._action("Snap", self.set_snap, tip="Snap to the grid", checkable=True,
                                        icon_=icon("snap"))
        self.triplet_action = self._action("Triplets", lambda _on: self._grid_changed(), tip="Triplet grid",
                                           checkable=True)

        self.add_track_action = self._action("&Add Track", lambda: self.track_list.add_track(), "Ctrl+T")
        self.add_drums_action = self._action("Add &Drum Track", lambda: self.track_list.add_track(is_drum=True))
        self.remove_track_action = self._action("&Remove Track", lambda: self.track_list.remove_track())
        self.rename_track_action = self._action("Re&name Track", self.focus_track_name, "F2")
        self.about_action = self._action("&About gtzcomposer", self.about)
        self.about_qt_action = self._action("About &Qt", QApplication.aboutQt)

    def _make_toolbars(self) -> None:
        bar = self.addToolBar("Edit")
        bar.setObjectName("EditToolBar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.undo_action, self.redo_action):
            bar.addAction(a)
        bar.addSeparator()
        for a in self.tool_actions.values():
            bar.addAction(a)
        bar.addSeparator()
        bar.addAction(self.snap_action)
        self.grid_combo = QComboBox(self)
        for d in GRID_CHOICES:
            self.grid_combo.addItem(f"1/{d}", d)
        self.grid_combo.setToolTip("Grid")
        self.grid_combo.currentIndexChanged.connect(lambda _i: self._grid_changed())
        bar.addWidget(QLabel(" Grid ", self))
        bar.addWidget(self.grid_combo)
        bar.addAction(self.triplet_action)
        bar.addSeparator()
        bar.addAction(self.quick_quantize_action)
        bar.addSeparator()
        self.drag_handle = NotesDragHandle(self)
        bar.addWidget(self.drag_handle)
        self.edit_toolbar = bar

        self.addToolBarBreak()
        self.transport = transport_mod.TransportBar(self.document, self)
        self.transport.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(self.transport)

    def _make_menus(self) -> None:
        mb = self.menuBar()
        m = mb.addMenu("&File")
        for a in (self.new_action, self.open_action):
            m.addAction(a)
        self.recent_menu = m.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        m.addSeparator()
        m.addAction(self.save_action)
        m.addAction(self.save_as_action)
        m.addSeparator()
        imp = m.addMenu("&Import")
        imp.addAction(self.import_midi_action)
        imp.addAction(self.import_xml_action)
        exp = m.addMenu("&Export")
        for a in (self.export_midi_action, self.export_xml_action, self.export_wav_action):
            exp.addAction(a)
        m.addSeparator()
        m.addAction(self.quit_action)
        self.file_menu = m

        m = mb.addMenu("&Edit")
        m.addAction(self.undo_action)
        m.addAction(self.redo_action)
        m.addSeparator()
        for a in (self.cut_action, self.copy_action, self.paste_action, self.duplicate_action, self.delete_action):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.select_all_action)
        m.addSeparator()
        m.addAction(self.quantize_action)
        tr = m.addMenu("&Transpose")
        for a in self.transpose_actions:
            tr.addAction(a)
        self.edit_menu = m

        m = mb.addMenu("&View")
        for a in (self.zoom_in_action, self.zoom_out_action, self.zoom_fit_action):
            m.addAction(a)
        m.addSeparator()
        m.addAction(self.transport.follow_action)
        m.addSeparator()
        for dock in (self.track_dock, self.genre_dock, self.continue_dock):
            m.addAction(dock.toggleViewAction())
        m.addSeparator()
        theme = m.addMenu("&Theme")
        theme.addAction(self.light_action)
        theme.addAction(self.dark_action)
        self.view_menu = m

        m = mb.addMenu("&Track")
        for a in (self.add_track_action, self.add_drums_action, self.remove_track_action, self.rename_track_action):
            m.addAction(a)
        self.track_instrument_menu = build_instrument_menu(self)
        self.track_instrument_menu.setTitle("&Instrument")
        self.track_instrument_menu.triggered.connect(
            lambda a: self.document.song.tracks and self.track_list.set_instrument(self.document.current_track,
                                                                                   int(a.data())))
        m.addMenu(self.track_instrument_menu)
        self.track_menu = m

        m = mb.addMenu("T&ransport")
        t = self.transport
        for a in (t.play_action, t.play_cursor_action, t.stop_action, t.rewind_action):
            m.addAction(a)
        m.addSeparator()
        for a in (t.loop_action, t.follow_action, t.metronome_action):
            m.addAction(a)
        self.transport_menu = m

        self.sound_menu = SoundMenu(self)
        mb.addMenu(self.sound_menu)

        m = mb.addMenu("&Help")
        m.addAction(self.about_action)
        m.addAction(self.about_qt_action)

    def _make_statusbar(self) -> None:
        sb = self.statusBar()
        self.selection_label = QLabel("", self)
        self.position_label = QLabel("", self)
        self.position_label.setMinimumWidth(120)
        self.selection_label.setMinimumWidth(110)
        self.recording_label = QLabel("● REC", self)
        self.recording_label.setStyleSheet("color: #d32f2f; font-weight: bold;")
        self.recording_label.setToolTip("Recording from a MIDI input: Stop ends it")
        self.recording_label.hide()
        sb.addPermanentWidget(self.recording_label)
        sb.addPermanentWidget(self.selection_label)
        sb.addPermanentWidget(self.position_label)
        self._show_cursor(0)
        self._update_selection()

    def _connect(self) -> None:
        doc, ed, t = self.document, self.editor, self.transport
        doc.undo_stack.cleanChanged.connect(lambda _c: self._update_title())
        doc.pathChanged.connect(lambda _p: self._update_title())
        doc.songChanged.connect(self._on_song_changed)
        ed.cursorMoved.connect(self._show_cursor)
        ed.selectionChanged.connect(self._update_selection)
        ed.toolChanged.connect(self._on_tool_changed)
        ed.loopChanged.connect(self._on_loop_changed)
        ed.previewNote.connect(self.preview_note)
        t.playRequested.connect(self.play)
        t.stopRequested.connect(self.stop)
        t.rewind_action.triggered.connect(self.rewind)
        t.followToggled.connect(self._on_follow)
        t.loopToggled.connect(self._on_loop_toggled)
        t.metronomeToggled.connect(self._on_metronome)

    def _restore_settings(self) -> None:
        s = self.settings
        geometry, state = s.get("window/geometry"), s.get("window/state")
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if not state.isEmpty():
            self.restoreState(state)
        self.set_tool(s.get("editor/tool") if s.get("editor/tool") in self.tool_actions else "draw")
        self.snap_action.setChecked(s.get("editor/snap"))
        self.set_snap(s.get("editor/snap"))
        grid = s.get("editor/grid")
        self.grid_combo.setCurrentIndex(max(0, self.grid_combo.findData(grid if grid in GRID_CHOICES else 16)))
        self.triplet_action.setChecked(s.get("editor/triplet"))
        self._grid_changed()
        self.transport.follow_action.setChecked(s.get("editor/follow"))
        self._on_follow(s.get("editor/follow"))
        self.transport.metronome_action.setChecked(s.get("transport/metronome"))
        theme = s.get("appearance/theme")
        (self.dark_action if theme == "dark" else self.light_action).setChecked(True)

    def save_settings(self) -> None:
        s = self.settings
        s.set("window/geometry", self.saveGeometry())
        s.set("window/state", self.saveState())
        s.set("editor/tool", self.current_tool())
        s.set("editor/snap", self.snap_action.isChecked())
        s.set("editor/grid", int(self.grid_combo.currentData()))
        s.set("editor/triplet", self.triplet_action.isChecked())
        s.set("editor/follow", self.transport.follow_action.isChecked())
        s.set("transport/metronome", self.transport.metronome_action.isChecked())
        s.sync()

    # ------------------------------------------------------------------------ start-up work
    def start_background(self) -> None:
        """Work that waits until the window is on screen: the audio output check, the recovery
        offer, panels whose docks were open last time."""
        QTimer.singleShot(50, lambda: self.init_playback(background=True))
        QTimer.singleShot(0, self.offer_recovery)
        for dock in (self.genre_dock, self.continue_dock):
            if dock.isVisible():
                QTimer.singleShot(100, dock.ensure_panel)
        if self.settings.get("models/preload"):
            # The continuation model loads on a worker once the window is up (the panel's
            # preload()); its dock stays as the user left it.
            QTimer.singleShot(1500, self.continue_dock.ensure_panel)

    def init_playback(self, background: bool = False) -> None:
        """Create the playback service and check the audio output (opening FluidSynth's driver
        takes a few hundred ms: on a worker thread when ``background``)."""
        if self.playback is None:
            self.playback, reason = transport_mod.create_playback(self, self.settings.get("audio/soundfont"))
            if self.playback is not None:
                self.playback.positionChanged.connect(self._on_position)
                self.playback.stateChanged.connect(lambda s: self._set_playing(s == "playing"))
                self.playback.finished.connect(lambda: self._set_playing(False))
                if hasattr(self.playback, "recordingFinished"):
                    self.playback.recordingFinished.connect(self._on_recorded)
        if background and self.playback is not None:
            self.audio_probe.start(_probe_audio, self.playback, label="Checking the audio output")
            return
        self._playback_checked(transport_mod.playback_available(self.playback))

    def _playback_checked(self, result: tuple[bool, str]) -> None:
        ok, why = result
        self._playback_reason = "" if ok else why
        self.transport.set_available(ok, why)
        has_click = self.playback is not None and hasattr(self.playback, "setMetronome")
        self.transport.set_metronome_available(has_click, "" if has_click else "not in this build's sound engine")
        if ok and has_click:
            self.playback.setMetronome(self.transport.metronome_action.isChecked())
        if not ok:
            short = why.split(":")[0]
            self.statusBar().showMessage(f"Playback disabled: {short} (the Play button's tooltip says more)", 8000)

    def offer_recovery(self) -> bool:
        """Offer to restore a song autosaved by a session that crashed. True if restored."""
        found = find_recoveries(self.autosaver._dir)
        if not found:
            return False
        rec = found[0]
        import datetime

        when = datetime.datetime.fromtimestamp(rec.saved_at).strftime("%Y-%m-%d %H:%M")
        name = rec.original.name if rec.original else "an unsaved song"
        answer = QMessageBox.question(
            self, "Recover unsaved work?",
            f"gtzcomposer did not close normally. Unsaved changes to {name} were autosaved at {when}.\n\n"
            "Recover them?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes)
        if answer != QMessageBox.StandardButton.Yes:
            for r in found:
                discard_recovery(r)
            return False
        try:
            song = load_recovery(rec)
        except GtzError as exc:
            self.show_error("Cannot recover", str(exc))
            return False
        original = rec.original if rec.original and rec.original.suffix.lower() == ".gtzc" else None
        self._display_name = rec.original.stem if rec.original else ""
        self.document.set_song(song, original)
        self.document.undo_stack.resetClean()  # recovered work is unsaved work
        for r in found:
            discard_recovery(r)
        self.autosaver.save_now()
        self._update_title()
        self.statusBar().showMessage("Recovered the autosaved song; save it to keep it", 8000)
        return True

    # ------------------------------------------------------------------------ files
    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False means the user cancelled."""
        if not self.document.modified:
            return True
        SB = QMessageBox.StandardButton
        answer = QMessageBox.warning(
            self, "Unsaved changes",
            f"Save the changes to {self._name()} before closing it?",
            SB.Save | SB.Discard | SB.Cancel, SB.Save)
        if answer == SB.Save:
            return self.save()
        return answer == SB.Discard

    def new_file(self) -> None:
        if not self.maybe_save():
            return
        self._display_name = ""
        self._extras = {}
        self.document.set_song(default_song(), None)
        self.editor.set_loop(None)
        self.autosaver.discard()
        self.editor.fit_to_song()

    def open_dialog(self, file_filter: str | None = None) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open", self.settings.get("files/last_dir"),
                                              file_filter or OPEN_FILTER)
        if path:
            self.open_file(path, ask=False)

    def open_file(self, path: str | Path, ask: bool = True, background: bool = True) -> bool:
        """Load ``path`` (a project opens, MIDI/MusicXML import); the current song stays until the
        new one has loaded. Returns False if the user cancelled."""
        if ask and not self.maybe_save():
            return False
        path = Path(path)
        self._loading = path
        self.statusBar().showMessage(f"Opening {path.name}…")
        if background:
            self.loader.start(load_any, path, label=f"Opening {path.name}")
        else:
            try:
                result = load_any(path)
            except Exception as exc:  # noqa: BLE001 - shown to the user
                self._on_load_failed(exc)
            else:
                self._on_loaded(result)
        return True

    def _on_loaded(self, result) -> None:
        path, self._loading = self._loading, None
        song, extras = result
        is_project = path.suffix.lower() == ".gtzc"
        self._extras = extras
        self._display_name = "" if is_project else path.stem
        if not is_project and not song.title:
            song = replace(song, title=path.stem)
        self.document.set_song(song, path if is_project else None)
        self.editor.set_loop(extras.get("loop"))
        self._apply_view(extras.get("view") or {})
        self.editor.fit_to_song()
        self.autosaver.discard()
        self.settings.add_recent(path)
        self.settings.set("files/last_dir", str(path.parent))
        verb = "Opened" if is_project else "Imported"
        self.statusBar().showMessage(f"{verb} {path.name}: {len(song.tracks)} tracks, {song.note_count} notes", 6000)
        self.fileLoaded.emit(path)

    def _on_load_failed(self, exc: object) -> None:
        path, self._loading = self._loading, None
        name = path.name if path else "the file"
        msg = str(exc) if isinstance(exc, GtzError) else f"{name}: unexpected error ({type(exc).__name__}: {exc})"
        self.statusBar().clearMessage()
        self.show_error(f"Cannot open {name}", msg)
        self.fileFailed.emit(msg)

    def save(self) -> bool:
        path = self.document.path
        if path is None or path.suffix.lower() != ".gtzc":
            return self.save_as()
        return self.save_to(path)

    def save_as(self) -> bool:
        start = self.document.path or Path(self.settings.get("files/last_dir") or Path.home()) / \
            f"{self._display_name or 'Untitled'}.gtzc"
        path, _ = QFileDialog.getSaveFileName(self, "Save As", str(start), "gtzcomposer projects (*.gtzc)")
        if not path:
            return False
        if not path.lower().endswith(".gtzc"):
            path += ".gtzc"
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            save_project_file(self.document.song, path, loop=self.editor.loop(), **self._extras_for_save())
        except (GtzError, OSError) as exc:
            self.show_error(f"Cannot save {path.name}", str(exc))
            return False
        self.document.path = path
        self._display_name = ""
        self.document.mark_saved()
        self.autosaver.discard()
        self.settings.add_recent(path)
        self.settings.set("files/last_dir", str(path.parent))
        self.statusBar().showMessage(f"Saved {path.name}", 4000)
        self.fileSaved.emit(path)
        return True

    def _extras_for_save(self) -> dict:
        extras = {k: v for k, v in self._extras.items() if k in ("style", "generation", "view")}
        division, triplet = self.grid()
        view = dict(extras.get("view") or {})
        view.update({"current_track": self.document.current_track, "grid": division, "triplet": triplet,
                     "snap": self.snap_action.isChecked()})
        extras["view"] = view
        return extras

    def _apply_view(self, view: dict) -> None:
        """Restore what a project remembers of the view (unknown or bad values are ignored)."""
        track = view.get("current_track")
        if isinstance(track, int) and 0 <= track < len(self.document.song.tracks):
            self.document.current_track = track
        grid = view.get("grid")
        if grid in GRID_CHOICES:
            self.grid_combo.setCurrentIndex(self.grid_combo.findData(grid))
        if isinstance(view.get("triplet"), bool):
            self.triplet_action.setChecked(view["triplet"])
        if isinstance(view.get("snap"), bool):
            self.snap_action.setChecked(view["snap"])

    def export_dialog(self, kind: str) -> None:
        titles = {"mid": ("Export MIDI", "MIDI files (*.mid)"), "musicxml": ("Export MusicXML", "MusicXML (*.musicxml)"),
                  "wav": ("Export Audio", "WAV audio (*.wav);;FLAC audio (*.flac)")}
        title, flt = titles[kind]
        base = Path(self.settings.get("files/last_dir") or Path.home()) / f"{self._name()}.{kind}"
        path, chosen = QFileDialog.getSaveFileName(self, title, str(base), flt)
        if not path:
            return
        if kind == "wav":
            if Path(path).suffix.lower() not in (".wav", ".flac"):
                path += ".flac" if "flac" in (chosen or "").lower() else ".wav"
            dialog = AudioExportDialog(Path(path), self.settings.get("audio/export_rate"),
                                       self.settings.get("audio/export_bits"), self)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return
            rate, bits = dialog.values()
            self.settings.set("audio/export_rate", rate)
            self.settings.set("audio/export_bits", bits)
        elif not path.lower().endswith(f".{kind}"):
            path += f".{kind}"
        self.export_to(path)

    def export_to(self, path: str | Path) -> bool:
        path = Path(path)
        if path.suffix.lower() in (".wav", ".flac"):
            self._export_wav(path)
            return True
        from ..io.formats import save_song

        try:
            notes = save_song(self.document.song, path)
        except ImportError:
            self.show_error(f"Cannot export {path.name}", f"{path.suffix} export is not available in this build")
            return False
        except (GtzError, OSError) as exc:
            self.show_error(f"Cannot export {path.name}", str(exc))
            return False
        self.settings.set("files/last_dir", str(path.parent))
        msg = f"Exported {path.name}"
        if notes:
            msg += " (" + "; ".join(notes[:3]) + ")"
        self.statusBar().showMessage(msg, 8000)
        self.exportFinished.emit(path)
        return True

    def _export_wav(self, path: Path) -> None:
        dialog = QProgressDialog(f"Rendering {path.name}…", "Cancel", 0, 1000, self)
        dialog.setWindowTitle("Export Audio")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.exporter.cancel)
        self._export_dialog = dialog
        self._exporting = path
        rate, bits = self.settings.get("audio/export_rate"), self.settings.get("audio/export_bits")
        if rate not in transport_mod.EXPORT_RATES:
            rate = 44100
        if bits not in transport_mod.EXPORT_BITS:
            bits = 16
        self.exporter.start(transport_mod.render_wav, self.document.song, path, self.settings.get("audio/soundfont"),
                            rate, bits, label=f"Rendering {path.name}")

    def _on_export_progress(self, fraction: float, message: str) -> None:
        dialog = self._export_dialog
        if dialog is not None:
            if message:
                dialog.setLabelText(message)
            dialog.setValue(int(fraction * 1000))  # a modal dialog processes events here

    def _close_export_dialog(self) -> Path | None:
        if self._export_dialog is not None:
            self._export_dialog.canceled.disconnect()
            self._export_dialog.close()
            self._export_dialog.deleteLater()
            self._export_dialog = None
        path, self._exporting = self._exporting, None
        return path

    def _on_export_done(self, _result) -> None:
        path = self._close_export_dialog()
        if path is not None:
            self.statusBar().showMessage(f"Exported {path.name}", 6000)
            self.exportFinished.emit(path)

    def _on_export_failed(self, exc: object) -> None:
        path = self._close_export_dialog()
        name = path.name if path else "the file"
        if type(exc).__name__ == "RenderCancelled":
            self.statusBar().showMessage("Export cancelled", 4000)
            return
        self.show_error(f"Cannot export {name}", str(exc) if isinstance(exc, GtzError) else f"{type(exc).__name__}: {exc}")

    def _on_export_cancelled(self) -> None:
        path = self._close_export_dialog()
        if path is not None:
            path.unlink(missing_ok=True)
        self.statusBar().showMessage("Export cancelled", 4000)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        for p in recent:
            a = self.recent_menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _c=False, p=p: self.open_file(p))
        if recent:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear List", self.settings.clear_recent)
        else:
            self.recent_menu.addAction("No recent files").setEnabled(False)

    def show_error(self, title: str, message: str) -> None:
        QMessageBox.critical(self, title, message)

    # ------------------------------------------------------------------------ drag and drop
    @staticmethod
    def _dropped_song_file(mime: QMimeData) -> Path | None:
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile():
                return Path(url.toLocalFile())
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        path = self._dropped_song_file(event.mimeData())
        if path is not None and path.suffix.lower() in SONG_FORMATS and not self._is_own_drag(path):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        path = self._dropped_song_file(event.mimeData())
        if path is None or self._is_own_drag(path):
            event.ignore()
            return
        event.acceptProposedAction()
        # Open after the drop returns: a dialog inside a drop handler blocks the source program.
        QTimer.singleShot(0, lambda: self.open_file(path))

    def _is_own_drag(self, path: Path) -> bool:
        return self._drag_dir is not None and str(path).startswith(self._drag_dir)

    def notes_for_drag(self) -> Song:
        """The selected notes (or the current track) as a one-track song, moved to start at the
        bar that holds the first note, with the tempo, meter and key found there."""
        song = self.document.song
        if not song.tracks:
            raise GtzError("the song has no tracks")
        track = song.tracks[self.document.current_track]
        notes = tuple(self.editor.selected_notes()) or track.notes
        if not notes:
            raise GtzError("there are no notes to drag: select some notes first")
        offset = bar_at(song, min(n.start for n in notes)).start
        moved = tuple(n.moved(-offset) for n in notes)
        key = song.key_at(offset)
        return Song(
            tracks=(replace(track, notes=moved, mute=False, solo=False),),
            tempos=(TempoChange(0, song.tempo_at(offset).uspq),),
            time_signatures=(replace(song.time_signature_at(offset), tick=0),),
            key_signatures=(replace(key, tick=0),) if key else (),
            title=track.name,
        )

    def notes_mime_data(self) -> QMimeData:
        """A .mid file of :meth:`notes_for_drag` in a temp folder, as drag data (a file URL plus
        the bytes as audio/midi)."""
        from ..io.midi import song_to_midi_bytes

        song = self.notes_for_drag()
        data = song_to_midi_bytes(song)
        if self._drag_dir is None:
            self._drag_dir = tempfile.mkdtemp(prefix="gtzcomposer-drag-")
        path = Path(self._drag_dir) / f"{_safe_name(song.title or 'notes')}.mid"
        path.write_bytes(data)
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        mime.setData("audio/midi", data)
        return mime

    def start_notes_drag(self) -> None:
        try:
            mime = self.notes_mime_data()
        except ImportError:
            self.statusBar().showMessage("Dragging notes out needs MIDI export, which is not in this build", 6000)
            return
        except GtzError as exc:
            self.statusBar().showMessage(str(exc), 5000)
            return
        drag = QDrag(self.drag_handle)
        drag.setMimeData(mime)
        drag.setPixmap(self.drag_handle.icon().pixmap(32, 32))
        drag.exec(Qt.DropAction.CopyAction)

    # ------------------------------------------------------------------------ editing
    def current_tool(self) -> str:
        for name, a in self.tool_actions.items():
            if a.isChecked():
                return name
        return "draw"

    def set_tool(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)
        self.editor.set_tool(name)

    def set_snap(self, on: bool) -> None:
        self.editor.set_snap(bool(on))

    def grid(self) -> tuple[int, bool]:
        return int(self.grid_combo.currentData() or 16), self.triplet_action.isChecked()

    def _grid_changed(self) -> None:
        division, triplet = self.grid()
        self.editor.set_grid(division, triplet)

    def quantize_to_grid(self) -> None:
        self.editor.quantize_selection(grid_ticks(*self.grid()), 1.0, False)

    def quantize_dialog(self) -> None:
        dialog = QuantizeDialog(*self.grid(), parent=self)
        if dialog.exec() == QDialog.DialogCode.Accepted:
            self.editor.quantize_selection(*dialog.values())

    def focus_track_name(self) -> None:
        if self.document.song.tracks:
            self.track_dock.show()
            edit = self.track_list.row_widget(self.document.current_track).name_edit
            edit.setFocus()
            edit.selectAll()

    def _on_tool_changed(self, name: str) -> None:
        if name in self.tool_actions:
            self.tool_actions[name].setChecked(True)

    def _on_song_changed(self, song: Song) -> None:
        # The engine compiles the song's events on every setSong: while stopped, play() hands it
        # the song instead of recompiling after every edit of a drag.
        if self.playback is not None and self._playing:
            self.playback.setSong(song)
        self._update_selection()

    def _show_cursor(self, tick: int) -> None:
        self.transport.set_cursor(tick)
        if not self._playing:
            self.position_label.setText(f"Cursor {format_position(self.document.song, max(0, int(tick)))}")
            self.transport.set_position(tick)

    def _update_selection(self) -> None:
        controller = getattr(self.editor, "controller", None)
        selection = getattr(controller, "selection", None)
        n = len(selection) if selection is not None else len(self.editor.selected_notes())
        self.selection_label.setText(f"{n} selected" if n else "No selection")

    # ------------------------------------------------------------------------ transport
    def play(self, from_cursor: bool = False) -> None:
        if self._playing and not from_cursor:
            self.stop()
            return
        if self.playback is None or self._playback_reason:
            self.transport.set_playing(False)
            self.statusBar().showMessage(f"Cannot play: {self._playback_reason or 'no playback'}", 5000)
            return
        self.playback.setSong(self.document.song)
        self._apply_loop()
        start = self.editor.cursor_tick() if from_cursor else None
        if self.playback.play(start):
            self._set_playing(True)
        else:
            self._set_playing(False)
            ok, why = transport_mod.playback_available(self.playback)
            self.statusBar().showMessage(f"Cannot play: {why}", 5000)

    def stop(self) -> None:
        if self.is_recording():
            self.stop_recording()
        if self.playback is not None:
            self.playback.stop()
        self._set_playing(False)

    def rewind(self) -> None:
        if self.playback is not None and not self._playback_reason:
            self.playback.seek(0)
        self.editor.set_cursor(0)
        self.editor.scroll_to_tick(0)

    def _set_playing(self, playing: bool) -> None:
        self._playing = playing
        self.transport.set_playing(playing)
        if not playing:
            self.editor.set_playhead(None)

    def _on_position(self, tick: float) -> None:
        self.transport.set_position(tick)
        if self._playing:
            self.editor.set_playhead(int(tick))
            self.position_label.setText(f"Play {format_position(self.document.song, max(0, int(tick)))}")

    def _on_follow(self, on: bool) -> None:
        self.editor.set_follow(bool(on))

    def _on_loop_toggled(self, on: bool) -> None:
        if on and self.editor.loop() is None:
            song = self.document.song
            bar = bar_at(song, self.editor.cursor_tick())
            self.editor.set_loop((bar.start, bar.start + 4 * bar.signature.bar_ticks))
        self._apply_loop()

    def _on_loop_changed(self, loop) -> None:
        self._apply_loop()

    def _apply_loop(self) -> None:
        if self.playback is None or self._playback_reason:
            return
        loop = self.editor.loop()
        if self.transport.loop_action.isChecked() and loop:
            self.playback.setLoop(int(loop[0]), int(loop[1]))
        else:
            self.playback.clearLoop()

    def _on_metronome(self, on: bool) -> None:
        if self.playback is not None and hasattr(self.playback, "setMetronome"):
            self.playback.setMetronome(on)

    def preview_note(self, pitch: int, velocity: int) -> None:
        if self.playback is None or self._playback_reason or not self.document.song.tracks:
            return
        t = self.document.song.tracks[self.document.current_track]
        self.playback.preview(pitch, velocity, t.program, t.is_drum)

    # ------------------------------------------------------------------------ side panels
    def _wire_genre_panel(self, panel: QWidget) -> None:
        if hasattr(panel, "useAsStyle"):
            panel.useAsStyle.connect(self._use_style)

    def _use_style(self, style: str) -> None:
        self._extras["style"] = style
        panel = self.continue_dock.ensure_panel()
        self.continue_dock.show()
        self.continue_dock.raise_()
        setter = getattr(panel, "set_style", None)
        box = getattr(panel, "style_box", None)
        if setter is not None:
            setter(style)
        elif box is not None:
            index = next((i for i in range(box.count()) if box.itemText(i).lower() == style.lower()), -1)
            if index < 0:
                self.statusBar().showMessage(f"The melody model has no style named {style!r}", 6000)
                return
            box.setCurrentIndex(index)
        self.statusBar().showMessage(f"Continuation style: {style}", 4000)

    def _wire_continue_panel(self, panel: QWidget) -> None:
        if not hasattr(panel, "set_seed"):
            return
        panel.currentVariationChanged.connect(self._show_variation)
        panel.acceptRequested.connect(self._accept_variation)
        if hasattr(panel, "auditionRequested"):
            panel.auditionRequested.connect(self._audition)
        if hasattr(panel, "bandChanged"):  # the band: ui/band_controls.py
            from . import band_controls

            panel.bandChanged.connect(lambda take: band_controls.show_band(self, take))
            panel.acceptBandRequested.connect(lambda notes, take: band_controls.accept_band(self, notes, take))
            panel.auditionBandRequested.connect(lambda notes, take: band_controls.audition_band(self, notes, take))
        if hasattr(panel, "errorOccurred"):
            panel.errorOccurred.connect(lambda m: self.statusBar().showMessage(m, 8000))
        if hasattr(panel, "preload"):
            panel.preload()  # the model loads on a worker while the user goes on
        self.editor.selectionChanged.connect(self._update_seed)
        self.document.currentTrackChanged.connect(lambda _i: self._update_seed())
        self._update_seed()

    def _update_seed(self) -> None:
        panel = self.continue_dock.panel
        if panel is None or not hasattr(panel, "set_seed") or not self.document.song.tracks:
            return
        notes = tuple(self.editor.selected_notes()) or self.document.song.tracks[self.document.current_track].notes
        panel.set_seed(notes, self.document.song)

    def _show_variation(self, _index: int, variation) -> None:
        """Show a continuation as ghost notes and scroll to it when it is out of view."""
        notes = None if variation is None else tuple(getattr(variation, "notes", variation))
        self.editor.set_ghost_variation(notes)
        if not notes:
            return
        start = min(n.start for n in notes)
        controller = self.editor.controller
        first, last = controller.geometry.visible_ticks(controller.viewport[0])
        if not first <= start < last:
            self.editor.scroll_to_tick(bar_at(self.document.song, max(0, start - 1)).start)

    def _accept_variation(self, notes) -> None:
        if not self.document.song.tracks or not notes:
            return
        self.editor.set_ghost_variation(None)
        self.document.push(AddNotes(self.document.current_track, tuple(notes), "Accept continuation"))

    def _audition(self, notes) -> None:
        if self.playback is None or self._playback_reason or not notes:
            return
        song = self.document.song
        t = song.tracks[self.document.current_track]
        present = set(t.notes)  # the seed is already in the track: add only the continuation
        trial = song.with_track(self.document.current_track,
                                t.with_notes(t.notes + tuple(n for n in notes if n not in present)))
        self.playback.setSong(trial)
        start = min(n.start for n in notes)
        bar = bar_at(song, max(0, start - 1))
        if self.playback.play(bar.start):
            self._set_playing(True)

    # ------------------------------------------------------------------------ sound setup
    def apply_soundfont(self) -> None:
        """Play with the soundfont the settings name (exports read the setting themselves);
        the audio output is checked again in the background."""
        if self.playback is None or not hasattr(self.playback, "setSoundfont"):
            return
        self._set_playing(False)
        self.playback.setSoundfont(self.settings.get("audio/soundfont") or None)
        self._playback_reason = "checking the audio output…"
        self.transport.set_available(False, self._playback_reason)
        self.audio_probe.start(_probe_audio, self.playback, label="Checking the audio output")

    def set_midi_output(self, name: str | None) -> bool:
        """Send playback to the MIDI output ``name``, or to the built-in synth with None."""
        if self.playback is None:
            return False
        self.stop()
        ok, why = self.playback.setOutput(name)
        if name is not None and not ok:  # (the built-in synth may be unavailable: no audio device)
            self.show_error("MIDI Output", f"Playback cannot go to {name}: {why}")
            return False
        self._playback_checked((ok, why))
        if ok:
            self.statusBar().showMessage(f"Playback goes to {why}", 5000)
        return ok

    def is_recording(self) -> bool:
        return self.playback is not None and hasattr(self.playback, "isRecording") and self.playback.isRecording()

    def start_recording(self, port_name: str) -> bool:
        """Record from the MIDI input ``port_name`` into the current track from the cursor (the
        song plays along when playback works); Stop ends it and adds the notes as one undo step."""
        if self.playback is None or self.is_recording():
            return False
        if not self.document.song.tracks:
            self.show_error("Record", "Add a track to record into first.")
            return False
        self.stop()
        cursor = max(0, int(self.editor.cursor_tick()))
        grid = grid_ticks(*self.grid()) if self.sound_menu.quantize_record_action.isChecked() else None
        self.playback.setSong(self.document.song)
        self.playback.seek(cursor)
        ok, why = self.playback.startRecording(port_name, self.document.current_track, grid)
        if not ok:
            self.show_error("Record", f"Cannot record from {port_name}: {why}")
            return False
        self.recording_label.show()
        self.sound_menu.set_recording(True)
        track = self.document.song.tracks[self.document.current_track]
        self.statusBar().showMessage(f"Recording from {why} into {track.name or 'the current track'}: Stop ends it")
        if not self._playback_reason and self.playback.play(cursor):
            self._set_playing(True)
        return True

    def stop_recording(self) -> None:
        if not self.is_recording():
            return
        self.playback.stopRecording()  # recordingFinished -> _on_recorded

    def _on_recorded(self, track_index: int, notes) -> None:
        self.recording_label.hide()
        self.sound_menu.set_recording(False)
        notes = tuple(notes)
        if not notes:
            self.statusBar().showMessage("Nothing was recorded", 5000)
            return
        tracks = self.document.song.tracks
        if not tracks:
            self.show_error("Record", "The track recorded into is gone; the recorded notes could not be kept.")
            return
        if not 0 <= track_index < len(tracks):
            track_index = self.document.current_track
        self.document.push(AddNotes(track_index, notes, "Record from MIDI input"))
        self.statusBar().showMessage(f"Recorded {len(notes)} note{'s' if len(notes) != 1 else ''}", 5000)

    # ------------------------------------------------------------------------ misc
    def set_theme(self, name: str) -> None:
        from .app import apply_theme

        app = QApplication.instance()
        if app is not None:
            apply_theme(app, name)
        (self.dark_action if name == "dark" else self.light_action).setChecked(True)
        self.settings.set("appearance/theme", name)
        self.track_list._headers = ()
        self.track_list._refresh(self.document.song)
        self.editor.update()
        for w in self.editor.findChildren(QWidget):
            w.update()
        self.themeChanged.emit(name)

    def about(self) -> None:
        from .. import __version__

        QMessageBox.about(
            self, "About gtzcomposer",
            f"<h3>gtzcomposer {__version__}</h3><p>Compose music with machine help: a piano roll, genre "
            "detection of audio and melody continuation with bundled models.</p><p>Open source (MIT).</p>")

    def _name(self) -> str:
        if self.document.path is not None:
            return self.document.path.stem
        return self._display_name or "Untitled"

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self._name()}[*] — {APP_NAME}")
        self.setWindowModified(self.document.modified)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.stop_recording()  # the recorded notes join the song before the unsaved-changes question
        if not self.maybe_save():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback and background work, remember the window, remove recovery files."""
        self.save_settings()
        if self.playback is not None:
            try:
                self.playback.stop()
                if hasattr(self.playback, "close"):
                    self.playback.close()
            except Exception:  # noqa: BLE001 - closing must never block quitting
                pass
        self.loader.cancel()
        self.exporter.cancel()
        self.sound_menu.loader.cancel()
        self.audio_probe.cancel()
        self.autosaver.stop()
        self.autosaver.discard()
        if self._drag_dir is not None:
            shutil.rmtree(self._drag_dir, ignore_errors=True)
            self._drag_dir = None


# --- loading and saving (run on a worker thread for loading) --------------------------------


def _probe_audio(service, progress=None, is_cancelled=None) -> tuple[bool, str]:
    return transport_mod.playback_available(service)


def load_any(path: Path, progress=None, is_cancelled=None) -> tuple[Song, dict]:
    """(song, extras) from any supported file; extras hold a project's loop/style/generation/view."""
    from ..io.formats import load_song, song_format

    path = Path(path)
    if not path.is_file():
        raise GtzError(f"{path.name}: no such file")
    fmt = song_format(path)
    try:
        if fmt == "project":
            from ..io.project import load_project

            project = load_project(path)
            extras = {"loop": project.loop, "style": project.style, "generation": project.generation,
                      "view": project.view}
            return project.song, extras
        return load_song(path), {}
    except ImportError as exc:
        raise GtzError(f"{path.name}: {fmt} files are not supported in this build") from exc


def save_project_file(song: Song, path: Path, loop=None, **extras) -> None:
    try:
        from ..io.project import Project, save_project
    except ImportError as exc:
        raise GtzError(f"{path.name}: saving projects is not supported in this build") from exc
    fields = {k: v for k, v in extras.items() if v is not None}
    save_project(Project(song=song, loop=tuple(loop) if loop else None, **fields), path)


__all__ = ["MainWindow", "default_song", "load_any", "save_project_file", "PPQ"]
