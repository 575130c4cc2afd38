"""Files and the project: New, Open (on a worker), Save/Save As, Import, Export (audio on a worker
behind a progress dialog), Open Recent, dropped files, autosave and crash recovery.

What a project holds besides the song (loop, style, generation settings, view) is one
:class:`gtzcomposer.io.project.Project`. The parts of the window that keep some of it say so
with :meth:`FileControl.keeps`: ``restore(project)`` is called when a file has loaded,
``collect(project) -> project`` when one is saved, so nothing is kept in loose dictionaries.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QMenu, QProgressDialog, QWidget

from ..core import GtzError, KeySignature, Song, TempoChange, TimeSignature, new_track
from ..core.errors import Cancelled
from ..io.formats import load_any, save_song, song_format
from ..io.project import Project, save_project
from ..services import sound
from ..services.tasks import TaskRunner
from .autosave import Autosaver, discard_recovery, find_recoveries, load_recovery
from .dialogs import AudioExportDialog, ask_recover, ask_save_changes, show_error
from .document import SongDocument
from .settings import Settings, data_dir

OPEN_FILTER = "Songs (*.gtzc *.mid *.midi *.musicxml *.xml *.mxl);;gtzcomposer projects (*.gtzc);;" \
              "MIDI files (*.mid *.midi);;MusicXML (*.musicxml *.xml *.mxl);;All files (*)"
EXPORT_KINDS = {"mid": ("Export MIDI", "MIDI files (*.mid)"), "musicxml": ("Export MusicXML", "MusicXML (*.musicxml)"),
                "wav": ("Export Audio", "WAV audio (*.wav);;FLAC audio (*.flac)")}


def default_song() -> Song:
    """What File > New gives: one piano track, 120 bpm, 4/4, C major."""
    return Song(
        tracks=(new_track(0, "Piano", program=0),),
        tempos=(TempoChange.from_bpm(0, 120),),
        time_signatures=(TimeSignature(0, 4, 4),),
        key_signatures=(KeySignature(0, 0, "major"),),
    )


class FileControl(QObject):
    fileLoaded = Signal(object)  # Path
    fileFailed = Signal(str)  # the message shown
    fileSaved = Signal(object)  # Path
    exportFinished = Signal(object)  # Path
    nameChanged = Signal()
    message = Signal(str, int)  # status bar text, timeout in ms

    def __init__(self, window: QWidget, document: SongDocument, settings: Settings, autosave: bool = True) -> None:
        super().__init__(window)
        self._window, self.document, self.settings = window, document, settings
        self.project = Project(song=document.song)  # the open project's state besides the song
        self.display_name = ""  # an imported (not yet saved) song's name
        self._keepers: list[tuple[Callable[[Project], None], Callable[[Project], Project]]] = []
        self.loader = TaskRunner(self)
        self.loader.finished.connect(self._on_loaded)
        self.loader.failed.connect(self._on_load_failed)
        self.exporter = TaskRunner(self)
        self.exporter.progress.connect(self._on_export_progress)
        self.exporter.finished.connect(self._on_export_done)
        self.exporter.failed.connect(self._on_export_failed)
        self.exporter.cancelled.connect(self._on_export_cancelled)
        self.progress_dialog: QProgressDialog | None = None
        self._loading: Path | None = None
        self._exporting: Path | None = None
        self.autosaver = Autosaver(document, data_dir(), settings.get("autosave/interval_s"), self)
        self.autosaver.failed.connect(lambda m: self.message.emit(m, 8000))
        if autosave and settings.get("autosave/enabled"):
            self.autosaver.start()
        document.pathChanged.connect(lambda _p: self.nameChanged.emit())

    def keeps(self, restore: Callable[[Project], None], collect: Callable[[Project], Project]) -> None:
        """Register a part of the window that keeps some of the project's state."""
        self._keepers.append((restore, collect))

    def name(self) -> str:
        if self.document.path is not None:
            return self.document.path.stem
        return self.display_name or "Untitled"

    # --- new and open -----------------------------------------------------------------------
    def maybe_save(self) -> bool:
        """Ask about unsaved changes; False means the user cancelled."""
        if not self.document.modified:
            return True
        answer = ask_save_changes(self._window, self.name())
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_file(self) -> None:
        if not self.maybe_save():
            return
        self._show(Project(song=default_song()), None, "")
        self.autosaver.discard()

    def open_dialog(self, file_filter: str | None = None) -> None:
        if not self.maybe_save():
            return
        path, _ = QFileDialog.getOpenFileName(self._window, "Open", self.settings.get("files/last_dir"),
                                              file_filter or OPEN_FILTER)
        if path:
            self.open_file(path, ask=False)

    def open_file(self, path: str | Path, ask: bool = True) -> bool:
        """Load ``path`` on a worker (a project opens, MIDI/MusicXML import); the current song
        stays until the new one has loaded. Returns False if the user cancelled."""
        if ask and not self.maybe_save():
            return False
        path = Path(path)
        self._loading = path
        self.message.emit(f"Opening {path.name}…", 0)
        self.loader.start(load_any, path, label=f"Opening {path.name}")
        return True

    def show_loaded(self, path: Path, project: Project) -> None:
        """Make ``project``, read from ``path``, the window's song (an imported song has no
        project path yet: Save asks for a .gtzc name beside it)."""
        is_project = song_format(path) == "project"
        self._show(project, path if is_project else None, "" if is_project else path.stem)
        self.autosaver.discard()
        self.settings.add_recent(path)
        self.settings.set("files/last_dir", str(path.parent))
        song = project.song
        verb = "Opened" if is_project else "Imported"
        self.message.emit(f"{verb} {path.name}: {len(song.tracks)} tracks, {song.note_count} notes", 6000)
        self.fileLoaded.emit(path)

    def _show(self, project: Project, path: Path | None, display_name: str) -> None:
        self.project = project
        self.display_name = display_name
        self.document.set_song(project.song, path)
        for restore, _collect in self._keepers:
            restore(project)
        self.nameChanged.emit()

    def _on_loaded(self, project: Project) -> None:
        path, self._loading = self._loading, None
        self.show_loaded(path, project)

    def _on_load_failed(self, exc: object) -> None:
        path, self._loading = self._loading, None
        name = path.name if path else "the file"
        msg = str(exc) if isinstance(exc, GtzError) else f"{name}: unexpected error ({type(exc).__name__}: {exc})"
        self.message.emit("", 0)
        show_error(self._window, f"Cannot open {name}", msg)
        self.fileFailed.emit(msg)

    def drop_target(self, path: Path) -> bool:
        """True when a file dropped on the window should open."""
        try:
            song_format(path)
        except GtzError:
            return False
        return True

    # --- save ---------------------------------------------------------------------------------
    def save(self) -> bool:
        path = self.document.path
        if path is None or path.suffix.lower() != ".gtzc":
            return self.save_as()
        return self.save_to(path)

    def save_as(self) -> bool:
        start = self.document.path or Path(self.settings.get("files/last_dir") or Path.home()) / \
            f"{self.display_name or 'Untitled'}.gtzc"
        path, _ = QFileDialog.getSaveFileName(self._window, "Save As", str(start), "gtzcomposer projects (*.gtzc)")
        if not path:
            return False
        if not path.lower().endswith(".gtzc"):
            path += ".gtzc"
        return self.save_to(path)

    def current_project(self) -> Project:
        """The project as it would be saved now."""
        project = replace(self.project, song=self.document.song)
        for _restore, collect in self._keepers:
            project = collect(project)
        return project

    def save_to(self, path: str | Path) -> bool:
        path = Path(path)
        try:
            project = self.current_project()
            save_project(project, path)
        except (GtzError, OSError) as exc:
            show_error(self._window, f"Cannot save {path.name}", str(exc))
            return False
        self.project = project
        self.document.path = path
        self.display_name = ""
        self.document.mark_saved()
        self.autosaver.discard()
        self.settings.add_recent(path)
        self.settings.set("files/last_dir", str(path.parent))
        self.message.emit(f"Saved {path.name}", 4000)
        self.fileSaved.emit(path)
        self.nameChanged.emit()
        return True

    # --- export -------------------------------------------------------------------------------
    def export_dialog(self, kind: str) -> None:
        title, flt = EXPORT_KINDS[kind]
        base = Path(self.settings.get("files/last_dir") or Path.home()) / f"{self.name()}.{kind}"
        path, chosen = QFileDialog.getSaveFileName(self._window, title, str(base), flt)
        if not path:
            return
        if kind == "wav":
            if Path(path).suffix.lower() not in (".wav", ".flac"):
                path += ".flac" if "flac" in (chosen or "").lower() else ".wav"
            dialog = AudioExportDialog(Path(path), self.settings.get("audio/export_rate"),
                                       self.settings.get("audio/export_bits"), self._window)
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
            self._export_audio(path)
            return True
        try:
            notes = save_song(self.document.song, path)
        except (GtzError, OSError) as exc:
            show_error(self._window, f"Cannot export {path.name}", str(exc))
            return False
        self.settings.set("files/last_dir", str(path.parent))
        self.message.emit(f"Exported {path.name}" + (" (" + "; ".join(notes[:3]) + ")" if notes else ""), 8000)
        self.exportFinished.emit(path)
        return True

    def _export_audio(self, path: Path) -> None:
        dialog = QProgressDialog(f"Rendering {path.name}…", "Cancel", 0, 1000, self._window)
        dialog.setWindowTitle("Export Audio")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.canceled.connect(self.exporter.cancel)
        self.progress_dialog = dialog
        self._exporting = path
        rate, bits = self.settings.get("audio/export_rate"), self.settings.get("audio/export_bits")
        rate = rate if rate in sound.EXPORT_RATES else 44100
        bits = bits if bits in sound.EXPORT_BITS else 16
        self.exporter.start(sound.render_wav, self.document.song, path, self.settings.get("audio/soundfont"),
                            rate, bits, label=f"Rendering {path.name}")

    def _on_export_progress(self, fraction: float, message: str) -> None:
        if self.progress_dialog is not None:
            if message:
                self.progress_dialog.setLabelText(message)
            self.progress_dialog.setValue(int(fraction * 1000))  # a modal dialog processes events here

    def _close_export_dialog(self) -> Path | None:
        if self.progress_dialog is not None:
            self.progress_dialog.canceled.disconnect()
            self.progress_dialog.close()
            self.progress_dialog.deleteLater()
            self.progress_dialog = None
        path, self._exporting = self._exporting, None
        return path

    def _on_export_done(self, _result) -> None:
        path = self._close_export_dialog()
        if path is not None:
            self.message.emit(f"Exported {path.name}", 6000)
            self.exportFinished.emit(path)

    def _on_export_failed(self, exc: object) -> None:
        path = self._close_export_dialog()
        if isinstance(exc, Cancelled):
            self.message.emit("Export cancelled", 4000)
            return
        name = path.name if path else "the file"
        show_error(self._window, f"Cannot export {name}",
                   str(exc) if isinstance(exc, GtzError) else f"{type(exc).__name__}: {exc}")

    def _on_export_cancelled(self) -> None:
        path = self._close_export_dialog()
        if path is not None:
            path.unlink(missing_ok=True)
        self.message.emit("Export cancelled", 4000)

    # --- recent files and recovery ------------------------------------------------------------
    def fill_recent_menu(self, menu: QMenu) -> None:
        menu.clear()
        recent = self.settings.recent_files()
        for p in recent:
            a = menu.addAction(Path(p).name)
            a.setToolTip(p)
            a.setStatusTip(p)
            a.triggered.connect(lambda _c=False, p=p: self.open_file(p))
        if recent:
            menu.addSeparator()
            menu.addAction("Clear List", self.settings.clear_recent)
        else:
            menu.addAction("No recent files").setEnabled(False)

    def offer_recovery(self) -> bool:
        """Offer to restore a song autosaved by a session that crashed. True if restored."""
        found = find_recoveries(self.autosaver._dir)
        if not found:
            return False
        rec = found[0]
        when = datetime.datetime.fromtimestamp(rec.saved_at).strftime("%Y-%m-%d %H:%M")
        if not ask_recover(self._window, rec.original.name if rec.original else "an unsaved song", when):
            for r in found:
                discard_recovery(r)
            return False
        try:
            song = load_recovery(rec)
        except GtzError as exc:
            show_error(self._window, "Cannot recover", str(exc))
            return False
        original = rec.original if rec.original and rec.original.suffix.lower() == ".gtzc" else None
        self.display_name = rec.original.stem if rec.original else ""
        self.document.set_song(song, original)
        self.document.undo_stack.resetClean()  # recovered work is unsaved work
        for r in found:
            discard_recovery(r)
        self.autosaver.save_now()
        self.nameChanged.emit()
        self.message.emit("Recovered the autosaved song; save it to keep it", 8000)
        return True

    def close(self) -> None:
        """Stop background work and remove this session's recovery file (a normal quit)."""
        self.loader.cancel()
        self.exporter.cancel()
        self.autosaver.stop()
        self.autosaver.discard()
