"""The main window: layout and wiring. The parts live in their own modules:

=========================  ============================================================
``files.py``               New/Open/Save/Import/Export, recent files, drops, autosave, recovery
``playback_control.py``    the playback service, the audio check, play/stop/loop, recording
``continuation.py``        the Continue panel, ghost notes, Accept as one edit
``docks.py``               the track, Genre and Continue docks (panels built when first shown)
``actions.py``             every action, shortcut and menu entry, in one table
``dialogs.py``             quantize and export dialogs, message boxes
``drag_out.py``            the Drag MIDI button
``themes.py``              light and dark palettes, icons
=========================  ============================================================

Every change to the song is an edit pushed onto the document's undo stack. Heavy libraries
(Keras, TensorFlow, librosa, music21) are never imported on the way here.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QActionGroup, QCloseEvent
from PySide6.QtWidgets import QApplication, QComboBox, QDialog, QLabel, QMainWindow, QWidget

from ..core import grid_ticks
from ..services.playback import PlaybackService
from .actions import build_menus, make_action
from .continuation import ContinuationWiring
from .dialogs import GRID_CHOICES, QuantizeDialog, about, show_error
from .docks import add_docks
from .document import SongDocument
from .drag_out import NotesDragHandle
from .files import FileControl, default_song
from .pianoroll import PianoRollEditor
from .playback_control import PlaybackControl
from .settings import Settings
from .sound_menu import SoundMenu
from .themes import apply_theme
from .track_list import TrackList, build_instrument_menu
from .transport import TransportBar

APP_NAME = "gtzcomposer"
TOOLS = ("draw", "select", "erase")


class MainWindow(QMainWindow):
    themeChanged = Signal(str)

    def __init__(self, settings: Settings | None = None, document: SongDocument | None = None,
                 autosave: bool = True, make_playback=PlaybackService) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.document = document or SongDocument(default_song(), self)
        self.document.setParent(self)
        self.setObjectName("MainWindow")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.resize(1280, 800)

        self.editor = PianoRollEditor(self.document, self)
        self.setCentralWidget(self.editor)
        self.track_list = TrackList(self.document, self)
        self.track_dock, self.genre_dock, self.continue_dock = add_docks(self, self.track_list)
        self.transport = TransportBar(self.document, self)
        self.playback = PlaybackControl(self, self.document, self.editor, self.transport, self.settings,
                                        self.grid, make_playback)
        self.files = FileControl(self, self.document, self.settings, autosave)
        self.continuation = ContinuationWiring(self.continue_dock, self.document, self.editor, self.playback)
        self.files.keeps(self.continuation.restore, self.continuation.collect)
        self.files.keeps(self._restore_view, self._collect_view)
        self.genre_dock.created.connect(lambda panel: panel.useAsStyle.connect(self.use_style))
        self.sound_menu = SoundMenu(self.playback, self)

        self._make_actions()
        self._make_toolbars()
        self._make_menus()
        self._make_statusbar()
        self._connect()
        self._restore_settings()
        self._update_title()

    # ------------------------------------------------------------------------ construction
    def _make_actions(self) -> None:
        ed, f, tl = self.editor, self.files, self.track_list
        slots = {
            "new": f.new_file, "open": lambda: f.open_dialog(), "save": f.save, "save_as": f.save_as,
            "import_midi": lambda: f.open_dialog("MIDI files (*.mid *.midi)"),
            "import_xml": lambda: f.open_dialog("MusicXML (*.musicxml *.xml *.mxl)"),
            "export_midi": lambda: f.export_dialog("mid"), "export_xml": lambda: f.export_dialog("musicxml"),
            "export_wav": lambda: f.export_dialog("wav"), "quit": self.close,
            "cut": ed.cut, "copy": ed.copy, "paste": lambda: ed.paste(None), "duplicate": ed.duplicate,
            "delete": ed.delete_selection, "select_all": ed.select_all, "quantize": self.quantize_dialog,
            "quick_quantize": self.quantize_to_grid,
            "up_semitone": lambda: ed.transpose_selection(1), "down_semitone": lambda: ed.transpose_selection(-1),
            "up_octave": lambda: ed.transpose_selection(12), "down_octave": lambda: ed.transpose_selection(-12),
            "zoom_in": ed.zoom_in, "zoom_out": ed.zoom_out, "zoom_fit": ed.fit_to_song,
            "theme_light": lambda: self.set_theme("light"), "theme_dark": lambda: self.set_theme("dark"),
            "tool_draw": lambda: self.set_tool("draw"), "tool_select": lambda: self.set_tool("select"),
            "tool_erase": lambda: self.set_tool("erase"), "triplet": lambda: self._grid_changed(),
            "add_track": lambda: tl.add_track(), "add_drums": lambda: tl.add_track(is_drum=True),
            "remove_track": lambda: tl.remove_track(), "rename_track": self.focus_track_name,
            "about": lambda: about(self), "about_qt": QApplication.aboutQt,
        }
        self.actions_by_name = {}
        for name, slot in slots.items():
            a = self.actions_by_name[name] = make_action(name, self)
            a.triggered.connect(slot)
        stack = self.document.undo_stack
        self.undo_action = make_action("undo", self, stack.createUndoAction(self, "&Undo"))
        self.redo_action = make_action("redo", self, stack.createRedoAction(self, "&Redo"))
        self.snap_action = make_action("snap", self)
        self.snap_action.toggled.connect(lambda on: self.editor.set_snap(bool(on)))
        t = self.transport
        self.actions_by_name.update(
            undo=self.undo_action, redo=self.redo_action, snap=self.snap_action, play=t.play_action,
            play_cursor=t.play_cursor_action, stop=t.stop_action, rewind=t.rewind_action, loop=t.loop_action,
            follow=t.follow_action, metronome=t.metronome_action)
        a = self.actions_by_name
        self.tool_actions = {name: a[f"tool_{name}"] for name in TOOLS}
        self.tool_group = QActionGroup(self)
        for action in self.tool_actions.values():
            self.tool_group.addAction(action)
        self.theme_group = QActionGroup(self)
        self.light_action, self.dark_action = a["theme_light"], a["theme_dark"]
        for action in (self.light_action, self.dark_action):
            self.theme_group.addAction(action)
        self.triplet_action, self.export_wav_action = a["triplet"], a["export_wav"]

    def _make_toolbars(self) -> None:
        bar = self.edit_toolbar = self.addToolBar("Edit")
        bar.setObjectName("EditToolBar")
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for a in (self.undo_action, self.redo_action, None, *self.tool_actions.values(), None, self.snap_action):
            bar.addAction(a) if a is not None else bar.addSeparator()
        self.grid_combo = QComboBox(self)
        for d in GRID_CHOICES:
            self.grid_combo.addItem(f"1/{d}", d)
        self.grid_combo.setToolTip("Grid")
        self.grid_combo.currentIndexChanged.connect(lambda _i: self._grid_changed())
        bar.addWidget(QLabel(" Grid ", self))
        bar.addWidget(self.grid_combo)
        bar.addAction(self.triplet_action)
        bar.addSeparator()
        bar.addAction(self.actions_by_name["quick_quantize"])
        bar.addSeparator()
        self.drag_handle = NotesDragHandle(self.document, self.editor, self)
        self.drag_handle.message.connect(lambda m: self.statusBar().showMessage(m, 5000))
        bar.addWidget(self.drag_handle)
        self.addToolBarBreak()
        self.transport.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
        self.addToolBar(self.transport)

    def _make_menus(self) -> None:
        def recent(menu) -> None:
            self.recent_menu = menu.addMenu("Open &Recent")
            self.recent_menu.aboutToShow.connect(lambda: self.files.fill_recent_menu(self.recent_menu))

        def instrument(menu) -> None:
            self.track_instrument_menu = build_instrument_menu(self)
            self.track_instrument_menu.setTitle("&Instrument")
            self.track_instrument_menu.triggered.connect(
                lambda a: self.document.song.tracks and self.track_list.set_instrument(
                    self.document.current_track, int(a.data())))
            menu.addMenu(self.track_instrument_menu)

        hooks = {
            "@recent": recent, "@instrument": instrument,
            "@follow": lambda m: m.addAction(self.transport.follow_action),
            "@docks": lambda m: [m.addAction(d.toggleViewAction())
                                 for d in (self.track_dock, self.genre_dock, self.continue_dock)],
        }
        menus = build_menus(self.menuBar(), self.actions_by_name, hooks, before_help=self.sound_menu)
        self.file_menu, self.edit_menu, self.view_menu = menus["File"], menus["Edit"], menus["View"]
        self.track_menu, self.transport_menu = menus["Track"], menus["T&ransport"]

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
        for w in (self.recording_label, self.selection_label, self.position_label):
            sb.addPermanentWidget(w)
        self._show_cursor(0)
        self._update_selection()

    def _connect(self) -> None:
        doc, ed, pb = self.document, self.editor, self.playback
        doc.undo_stack.cleanChanged.connect(lambda _c: self._update_title())
        self.files.nameChanged.connect(self._update_title)
        doc.songChanged.connect(lambda _s: self._update_selection())
        ed.cursorMoved.connect(self._show_cursor)
        ed.selectionChanged.connect(self._update_selection)
        ed.toolChanged.connect(lambda name: name in self.tool_actions and self.tool_actions[name].setChecked(True))
        for part in (self.files, pb, self.continuation):
            part.message.connect(self._status)
        pb.recordingChanged.connect(self._on_recording)
        self.playback.service.positionChanged.connect(self._show_play_position)

    def _status(self, text: str, timeout: int) -> None:
        if text:
            self.statusBar().showMessage(text, timeout)
        else:
            self.statusBar().clearMessage()

    def _restore_settings(self) -> None:
        s = self.settings
        geometry, state = s.get("window/geometry"), s.get("window/state")
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        if not state.isEmpty():
            self.restoreState(state)
        self.set_tool(s.get("editor/tool") if s.get("editor/tool") in self.tool_actions else "draw")
        self.snap_action.setChecked(s.get("editor/snap"))
        self.editor.set_snap(s.get("editor/snap"))
        grid = s.get("editor/grid")
        self.grid_combo.setCurrentIndex(max(0, self.grid_combo.findData(grid if grid in GRID_CHOICES else 16)))
        self.triplet_action.setChecked(s.get("editor/triplet"))
        self._grid_changed()
        self.transport.follow_action.setChecked(s.get("editor/follow"))
        self.editor.set_follow(s.get("editor/follow"))
        self.transport.metronome_action.setChecked(s.get("transport/metronome"))
        (self.dark_action if s.get("appearance/theme") == "dark" else self.light_action).setChecked(True)

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

    def start_background(self) -> None:
        """Work that waits until the window is on screen: the audio output check, the recovery
        offer, the panels of visible docks, the continuation model."""
        QTimer.singleShot(50, self.playback.start_probe)
        QTimer.singleShot(0, self.files.offer_recovery)
        if self.settings.get("models/preload"):
            QTimer.singleShot(1500, lambda: self.continue_dock.ensure_panel().preload())

    # ------------------------------------------------------------------------ what a project keeps of the view
    def _restore_view(self, project) -> None:
        """Loop, current track, grid and snap (unknown or bad values are ignored)."""
        view = project.view
        self.editor.set_loop(project.loop)
        track = view.get("current_track")
        if isinstance(track, int) and 0 <= track < len(self.document.song.tracks):
            self.document.current_track = track
        if view.get("grid") in GRID_CHOICES:
            self.grid_combo.setCurrentIndex(self.grid_combo.findData(view["grid"]))
        if isinstance(view.get("triplet"), bool):
            self.triplet_action.setChecked(view["triplet"])
        if isinstance(view.get("snap"), bool):
            self.snap_action.setChecked(view["snap"])
        self.editor.fit_to_song()

    def _collect_view(self, project):
        from dataclasses import replace

        division, triplet = self.grid()
        view = {**project.view, "current_track": self.document.current_track, "grid": division,
                "triplet": triplet, "snap": self.snap_action.isChecked()}
        loop = self.editor.loop()
        return replace(project, loop=tuple(loop) if loop else None, view=view)

    # ------------------------------------------------------------------------ drops
    def _dropped_file(self, mime: QMimeData) -> Path | None:
        for url in mime.urls() if mime.hasUrls() else ():
            if url.isLocalFile():
                path = Path(url.toLocalFile())
                if self.files.drop_target(path) and not self.drag_handle.is_own_file(path):
                    return path
                return None
        return None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt's name
        event.acceptProposedAction() if self._dropped_file(event.mimeData()) else event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt's name
        path = self._dropped_file(event.mimeData())
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        # Open after the drop returns: a dialog inside a drop handler blocks the source program.
        QTimer.singleShot(0, lambda: self.files.open_file(path))

    # ------------------------------------------------------------------------ editing
    def current_tool(self) -> str:
        return next((name for name, a in self.tool_actions.items() if a.isChecked()), "draw")

    def set_tool(self, name: str) -> None:
        self.tool_actions[name].setChecked(True)
        self.editor.set_tool(name)

    def grid(self) -> tuple[int, bool]:
        return int(self.grid_combo.currentData() or 16), self.triplet_action.isChecked()

    def _grid_changed(self) -> None:
        self.editor.set_grid(*self.grid())

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

    def use_style(self, style: str) -> None:
        """The genre panel's "Use as style": pick it in the Continue panel."""
        panel = self.continue_dock.ensure_panel()
        self.continue_dock.show()
        self.continue_dock.raise_()
        if panel.style_box.findText(style) < 0:
            self.statusBar().showMessage(f"The melody model has no style named {style!r}", 6000)
            return
        panel.style_box.setCurrentText(style)
        self.statusBar().showMessage(f"Continuation style: {style}", 4000)

    # ------------------------------------------------------------------------ status bar
    def _update_selection(self) -> None:
        n = len(self.editor.selected_notes())
        self.selection_label.setText(f"{n} selected" if n else "No selection")

    def _show_cursor(self, tick: int) -> None:
        self.transport.set_cursor(tick)
        if not self.playback.playing:
            self.position_label.setText(f"Cursor {self.playback.position_text(tick)}")

    def _show_play_position(self, tick: float) -> None:
        if self.playback.playing:
            self.position_label.setText(f"Play {self.playback.position_text(tick)}")

    def _on_recording(self, on: bool) -> None:
        self.recording_label.setVisible(on)
        self.sound_menu.set_recording(on)

    # ------------------------------------------------------------------------ theme, title, quitting
    def set_theme(self, name: str) -> None:
        app = QApplication.instance()
        if app is not None:
            apply_theme(app, name)
        (self.dark_action if name == "dark" else self.light_action).setChecked(True)
        self.settings.set("appearance/theme", name)
        self.track_list.refresh()
        for w in (self.editor, *self.editor.findChildren(QWidget)):
            w.update()
        self.themeChanged.emit(name)

    def show_error(self, title: str, message: str) -> None:
        show_error(self, title, message)

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self.files.name()}[*] — {APP_NAME}")
        self.setWindowModified(self.document.modified)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.playback.stop_recording()  # the recorded notes join the song before the unsaved-changes question
        if not self.files.maybe_save():
            event.ignore()
            return
        self.shutdown()
        event.accept()

    def shutdown(self) -> None:
        """Stop playback and background work, remember the window, remove recovery files."""
        self.save_settings()
        self.playback.close()
        self.sound_menu.loader.cancel()
        self.files.close()
        self.drag_handle.cleanup()


__all__ = ["MainWindow", "default_song"]
