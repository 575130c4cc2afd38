"""The continuation workflow in the window: the Continue panel, the piano roll's ghost notes,
the document and playback, wired together.

* The seed is the selection (or the current track) and carries its track; a continuation keeps
  the track it was made for, so Accept after switching tracks still writes there.
* What Accept will do is one :class:`~gtzcomposer.core.continuation.Placement` (replace the bars
  after the selection, insert bars, or a new track, as the panel's choice says); the ghost
  notes show its result (the notes it adds in the target track's colour, the notes it replaces
  or moves hidden), Audition plays it, and Accept pushes its edit as one undo step.
* The panel's settings (the project's :class:`~gtzcomposer.core.generation.GenerationSettings`)
  and the write mode (``view["continue_write"]``) are kept in the project.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QObject, Signal

from ..core import EditError, bar_at
from ..core.continuation import Offer, WriteMode
from ..core.generation import GenerationSettings
from ..io.project import Project
from .docks import LazyDock
from .document import SongDocument
from .playback_control import PlaybackControl


class ContinuationWiring(QObject):
    message = Signal(str, int)

    def __init__(self, dock: LazyDock, document: SongDocument, editor, playback: PlaybackControl) -> None:
        super().__init__(dock)
        self.dock, self.document, self.editor, self.playback = dock, document, editor, playback
        self.panel = None
        self._saved: tuple[GenerationSettings | None, str | None] = (None, None)  # until the panel exists
        self._order: tuple | None = None  # the tracks, to notice them added, removed or moved
        dock.created.connect(self._wire)

    def _wire(self, panel) -> None:
        self.panel = panel
        panel.currentVariationChanged.connect(lambda _i, _v: self.show_offer())
        panel.writeModeChanged.connect(lambda _m: self.show_offer())
        panel.acceptRequested.connect(self.accept)
        panel.auditionRequested.connect(self.audition)
        panel.errorOccurred.connect(lambda m: self.message.emit(m, 8000))
        self.editor.selectionChanged.connect(self.update_seed)
        self.document.currentTrackChanged.connect(lambda _i: self.update_seed())
        self.document.songChanged.connect(self._on_song_changed)
        self.document.pathChanged.connect(lambda _p: panel.clear_variations())  # New / Open: a new song
        self._order = _track_order(self.document.song)
        settings, mode = self._saved
        if settings is not None:
            panel.set_settings(settings)
        if mode is not None:
            panel.set_write_mode(mode)
        self.update_seed()

    def _on_song_changed(self, song) -> None:
        # An offer points at its track by index: when tracks are added, removed or reordered
        # the index may name another track, so the offer goes (it never writes to the wrong one).
        order, before = _track_order(song), self._order
        self._order = order
        dropped = before is not None and self.panel.current_offer() is not None and \
            (len(order) != len(before) or (order != before and sorted(order) == sorted(before)))
        if dropped:
            self.panel.clear_variations()
        self.update_seed()
        if dropped:
            self.message.emit("The tracks changed, so the continuation on offer was dropped: generate again.", 6000)

    def update_seed(self) -> None:
        song = self.document.song
        if self.panel is None or not song.tracks:
            return
        track = self.document.current_track
        notes = tuple(self.editor.selected_notes()) or song.tracks[track].notes
        self.panel.set_seed(notes, song, track)
        self.show_offer()

    # --- the offer: ghost notes, audition, accept ------------------------------------------
    def show_offer(self) -> None:
        """Show the current variation as what Accept would make of the song."""
        offer = self.panel.current_offer() if self.panel is not None else None
        if offer is None:
            self._clear_ghosts()
            return
        song = self.document.song
        try:
            placement = offer.place(song)
            after, _ = _applied(song, offer)
        except EditError as exc:
            self._clear_ghosts()
            self.message.emit(str(exc), 6000)
            return
        # the melody in its track's colour, notes an insert moves in their own tracks' colours, and a
        # band's parts each in the colour of the track it lands on
        melody = len(song.tracks) if offer.mode is WriteMode.NEW_TRACK else offer.parts[0].track
        band = {p.track for p in offer.parts[1:] if p.new is None}
        band |= {i for i in placement.added if i >= len(song.tracks) and i != melody}
        moved = {i: notes for i, notes in placement.added.items() if i != melody and i not in band}
        self.editor.set_ghost_variation(placement.added.get(melody, ()), after.tracks[melody].color,
                                        placement.removed, moved)
        self.editor.set_ghost_band([(after.tracks[i].color, placement.added[i]) for i in sorted(band)
                                    if i in placement.added])
        start = offer.start
        controller = self.editor.controller
        first, last = controller.geometry.visible_ticks(controller.viewport[0])
        if not first <= start < last:
            self.editor.scroll_to_tick(bar_at(self.document.song, max(0, start - 1)).start)

    def _clear_ghosts(self) -> None:
        self.editor.set_ghost_variation(None)
        self.editor.set_ghost_band(None)

    def accept(self, offer: Offer) -> bool:
        try:
            placement = offer.place(self.document.song)
        except EditError as exc:
            self.message.emit(f"Cannot accept the continuation: {exc}", 8000)
            self._clear_ghosts()
            return False
        self._clear_ghosts()
        self.document.push(placement.edit)
        if offer.mode is WriteMode.NEW_TRACK:
            self.document.current_track = len(self.document.song.tracks) - 1
        return True

    def audition(self, offer: Offer) -> None:
        """Play the song as Accept would leave it, from the bar before the continuation."""
        try:
            trial, _ = _applied(self.document.song, offer)
        except EditError as exc:
            self.message.emit(str(exc), 6000)
            return
        start = bar_at(self.document.song, max(0, offer.start - 1)).start
        band = len(offer.parts) > 1  # a band keeps its own time: no click over it
        self.playback.play(song=trial, start=start, metronome=False if band else None)

    # --- what the project keeps -----------------------------------------------------------------
    def restore(self, project: Project) -> None:
        mode = project.view.get("continue_write")
        self._saved = (project.generation, mode if mode in {m.value for m in WriteMode} else None)
        if self.panel is not None:
            self.panel.set_settings(project.generation)
            if self._saved[1] is not None:
                self.panel.set_write_mode(self._saved[1])

    def collect(self, project: Project) -> Project:
        if self.panel is None:  # never shown: keep what the project had
            return project
        settings = self.panel.settings()
        view = {**project.view, "continue_write": self.panel.write_mode().value}
        return replace(project, style=settings.style, generation=settings, view=view)


def _track_order(song) -> tuple:
    return tuple((t.name, t.channel, t.is_drum) for t in song.tracks)


def _applied(song, offer: Offer):
    from ..core import apply

    return apply(song, offer.place(song).edit)
