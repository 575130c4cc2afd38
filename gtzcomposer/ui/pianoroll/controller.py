"""The piano roll's state and its editing operations (no drawing).

One :class:`RollController` is shared by the grid, the ruler, the keyboard and the velocity
lane. It holds what the editor shows (geometry, selection, tool, grid, cursor, playhead, loop)
and turns every user action into a :mod:`gtzcomposer.core.edits` edit pushed on the document's
undo stack; it never mutates a song.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable

from PySide6.QtCore import QObject, Signal

from ...core.edits import AddTrack, Macro, ReplaceControls, ReplaceNotes
from ...core.song import PPQ, ControlChange, Note, Song, new_track
from ...core.timing import grid_ticks
from ...core.transforms import quantize_notes
from ..document import SongDocument
from .bars import BarGrid
from .geometry import MAX_PX_PER_TICK, MIN_PX_PER_TICK, RollGeometry
from .noteindex import NoteIndex

TOOLS = ("draw", "select", "erase")
ZOOM_STEP = 1.25
TAIL_BARS = 8  # room to draw after the song's last note

# The clipboard is shared by every editor in the process: notes relative to the first start.
_clipboard: tuple[Note, ...] = ()


class RollController(QObject):
    selectionChanged = Signal()
    changed = Signal()  # anything drawn changed: repaint
    viewChanged = Signal()  # zoom or scroll changed
    toolChanged = Signal(str)
    cursorMoved = Signal(int)
    loopChanged = Signal(object)  # (start, end) ticks or None
    playheadMoved = Signal(object)  # tick or None
    previewNote = Signal(int, int)  # pitch, velocity
    pointerMoved = Signal(int, int)  # tick, pitch under the mouse in the grid (for a status bar)

    def __init__(self, document: SongDocument, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.document = document
        self.geometry = RollGeometry()
        self.viewport = (0, 0)  # grid widget size in px, set by the view
        self.tool = "draw"
        self.snap = True
        self.division, self.triplet = 16, False
        self.cursor = 0
        self.playhead: int | None = None
        self.follow = True
        self.loop: tuple[int, int] | None = None
        self._loop_sent: tuple[int, int] | None = None
        self.ghost_variation: tuple[Note, ...] | None = None
        self.ghost_color: str | None = None  # the colour of the track the ghost notes go to
        self.ghost_covered: dict[int, frozenset[Note]] = {}  # per track: notes the preview hides
        self.ghost_moved: dict[int, tuple[Note, ...]] = {}  # per track: notes the preview moves there
        # the band under a variation: (colour of the track each part lands on, its notes)
        self.ghost_band: tuple[tuple[str, tuple[Note, ...]], ...] = ()
        self.last_length = PPQ
        self.new_velocity = 100
        self._selection: set[Note] = set()
        self._indexes: dict[int, NoteIndex] = {}
        self._bars: BarGrid | None = None
        self._fitted = False
        self._pushing = False
        self._seen_song = document.song  # the song as last seen, and the one before it
        self._prev_song = document.song
        document.songChanged.connect(self._on_song)
        document.currentTrackChanged.connect(self._on_track)
        document.undo_stack.indexChanged.connect(self._on_undo_redo)
        self._song_at_path = document.song
        document.pathChanged.connect(self._on_path)

    # --- song access ------------------------------------------------------------------------
    @property
    def song(self) -> Song:
        return self.document.song

    @property
    def track_index(self) -> int:
        return self.document.current_track

    def has_track(self) -> bool:
        return 0 <= self.track_index < len(self.song.tracks)

    def index(self, track: int | None = None) -> NoteIndex:
        """Note index of a track (the current one by default), rebuilt only when its notes
        changed."""
        i = self.track_index if track is None else track
        tracks = self.song.tracks
        if not 0 <= i < len(tracks):
            return NoteIndex(())
        notes = tracks[i].notes
        idx = self._indexes.get(i)
        if idx is None or idx.notes is not notes:
            idx = self._indexes[i] = NoteIndex(notes)
        return idx

    @property
    def bars(self) -> BarGrid:
        sigs = self.song.time_signatures
        if self._bars is None or self._bars.time_signatures != sigs:
            self._bars = BarGrid(sigs)
        return self._bars

    @property
    def grid(self) -> int:
        """Grid step in ticks."""
        return grid_ticks(self.division, self.triplet)

    def snap_tick(self, tick: float, mode: str = "round", snap: bool | None = None) -> int:
        if self.snap if snap is None else snap:
            return self.bars.snap(tick, self.grid, mode)
        return max(0, int(math.floor(tick)) if mode == "floor" else int(round(tick)))

    def content_ticks(self) -> int:
        """How far the view scrolls: the song plus some empty bars to write into."""
        song_end = max((self.index(i).end for i in range(len(self.song.tracks))), default=0)
        end = max(song_end, self.cursor, self.playhead or 0, self.loop[1] if self.loop else 0)
        _, _, bar_end, sig = self.bars.bar_at(end)
        width = self.viewport[0]
        return max(bar_end + TAIL_BARS * sig.bar_ticks, int(self.geometry.x_to_tick(width) - self.geometry.x_to_tick(0)))

    # --- reacting to the document -----------------------------------------------------------------
    def _on_song(self, song: Song) -> None:
        self._prev_song, self._seen_song = self._seen_song, song
        if self._selection and not self._pushing:  # our own edits set the selection themselves
            idx = self.index()
            if len(self._selection) * 8 > len(idx):
                kept = self._selection & set(idx.notes)
            else:
                kept = {n for n in self._selection if idx.contains(n)}
            if kept != self._selection:
                self._selection = kept
                self.selectionChanged.emit()
        self.changed.emit()

    def _on_path(self, _path) -> None:
        """New or Open (the document's song replaced and its history cleared): start with the
        default view of the new song. Save As keeps the view."""
        song = self.document.song
        fresh = song is not self._song_at_path and self.document.undo_stack.count() == 0
        self._song_at_path = song
        if fresh:
            self.ghost_variation, self.ghost_color, self.ghost_covered, self.ghost_moved = None, None, {}, {}
            self.ghost_band = ()
            self.clear_selection()
            if self.viewport[0] > 0 and self.viewport[1] > 0:
                self.fit_default()
                self.viewChanged.emit()
            self.changed.emit()

    def _on_undo_redo(self, _index: int) -> None:
        """After undo or redo, select the notes that came back, so the change is visible and
        can be edited again."""
        if self._pushing:  # our own edit: the selection is already right
            self._prev_song = self._seen_song
            return
        if self._prev_song is self._seen_song:
            return
        i = self.track_index
        before, after = self._prev_song.tracks, self._seen_song.tracks
        self._prev_song = self._seen_song
        if len(before) != len(after) or not 0 <= i < len(after) or before[i].notes is after[i].notes:
            return
        added = set(after[i].notes) - set(before[i].notes)
        if added:
            self.set_selection(added)

    def _on_track(self, _index: int) -> None:
        if self._selection:
            self._selection = set()
            self.selectionChanged.emit()
        # bring the new track's notes into view vertically when none of them is in sight
        w, h = self.viewport
        idx = self.index()
        if idx.notes and w > 0 and h > 0:
            g = self.geometry
            t0, t1 = g.visible_ticks(w)
            low, high = g.visible_pitches(h)
            in_time = idx.overlapping(t0, t1) or idx.notes
            if not any(low <= n.pitch <= high for n in in_time):
                pitches = sorted(n.pitch for n in in_time)
                g.center_pitch(pitches[len(pitches) // 2], h)
                self._clamp()
                self.viewChanged.emit()
        self.changed.emit()

    # --- selection --------------------------------------------------------------------------------
    def is_selected(self, note: Note) -> bool:
        return note in self._selection

    @property
    def selection(self) -> frozenset[Note]:
        return frozenset(self._selection)

    def selected_notes(self) -> tuple[Note, ...]:
        """Selected notes of the current track in time order (identical copies of a selected
        note count as selected too)."""
        if not self._selection:
            return ()
        notes = self.index().notes
        if len(self._selection) * 8 > len(notes):  # a big selection: one pass over the track
            sel = self._selection
            return tuple(n for n in notes if n in sel)
        out = []
        for n in sorted(self._selection):
            i = bisect.bisect_left(notes, n)
            while i < len(notes) and notes[i] == n:
                out.append(n)
                i += 1
        return tuple(out)

    def set_selection(self, notes: Iterable[Note], mode: str = "replace") -> None:
        """``mode``: 'replace', 'add' or 'toggle'."""
        notes = set(notes)
        if mode == "add":
            new = self._selection | notes
        elif mode == "toggle":
            new = self._selection ^ notes
        else:
            new = notes
        if new != self._selection:
            self._selection = new
            self.selectionChanged.emit()
            self.changed.emit()

    def select_all(self) -> None:
        self.set_selection(self.index().notes)

    def clear_selection(self) -> None:
        self.set_selection(())

    # --- edits ------------------------------------------------------------------------------------
    def replace_notes(self, old: Iterable[Note], new: Iterable[Note], label: str, select: str = "new") -> bool:
        """Push one edit replacing ``old`` by ``new`` on the current track. ``select``: 'new'
        (the new notes become the selection), 'update' (``old[i]`` -> ``new[i]`` keeps its
        selected state) or 'none'. Returns False when there was nothing to do."""
        old, new = tuple(old), tuple(new)
        if len(old) == len(new) and (old == new or Counter(old) == Counter(new)):
            return False  # nothing would change: no empty undo step
        before = self._selection
        if select == "new":
            self._selection = set(new)
        elif select == "update":
            self._selection = (before - set(old)) | {b for a, b in zip(old, new) if a in before}
        elif before:
            self._selection = before - set(old)
        edit = ReplaceNotes(self.track_index, old, new, label)
        try:
            if not self.has_track():  # an empty song: the first note makes the first track
                if old:
                    return False
                edit = Macro((AddTrack(new_track(0)), ReplaceNotes(0, (), new, label)), label)
            self._pushing = True
            self.document.push(edit)
        except Exception:
            self._selection = before
            raise
        finally:
            self._pushing = False
        if self._selection != before:
            self.selectionChanged.emit()
        return True

    def replace_controls(self, old: Iterable[ControlChange], new: Iterable[ControlChange], label: str) -> bool:
        """Push one edit replacing controller changes ``old`` by ``new`` on the current track
        (the controller lane's gestures). Returns False when there was nothing to do."""
        old, new = tuple(old), tuple(new)
        if not self.has_track() or set(old) == set(new):
            return False
        self.document.push(ReplaceControls(self.track_index, old, new, label))
        return True

    def add_note(self, note: Note) -> None:
        self.replace_notes((), (note,), "Draw note")

    def erase(self, notes: Iterable[Note]) -> None:
        self.replace_notes(notes, (), "Erase notes", select="none")

    def move_notes(self, notes: Iterable[Note], dtick: int, dpitch: int, label: str = "Move notes") -> None:
        notes = tuple(notes)
        if not notes or (dtick == 0 and dpitch == 0):
            return
        dtick = max(dtick, -min(n.start for n in notes))
        dpitch = max(-min(n.pitch for n in notes), min(127 - max(n.pitch for n in notes), dpitch))
        self.replace_notes(notes, tuple(n.moved(dtick, dpitch) for n in notes), label)

    def resize_notes(self, notes: Iterable[Note], dstart: int, dend: int) -> None:
        self.replace_notes(notes, resized(notes, dstart, dend), "Resize notes")

    def set_velocities(self, notes: Iterable[Note], velocities: Iterable[int]) -> None:
        notes = tuple(notes)
        new = tuple(Note(n.start, n.pitch, n.duration, min(127, max(1, int(v)))) for n, v in zip(notes, velocities))
        self.replace_notes(notes, new, "Change velocity", select="update")

    def delete_selection(self) -> None:
        self.replace_notes(self.selected_notes(), (), "Delete notes", select="none")

    def transpose_selection(self, semitones: int) -> None:
        self.move_notes(self.selected_notes(), 0, semitones, "Transpose")

    def nudge_selection(self, ticks: int) -> None:
        self.move_notes(self.selected_notes(), ticks, 0, "Nudge")

    def quantize_selection(self, grid: int | None = None, strength: float = 1.0, lengths: bool = False) -> None:
        """Quantise the selected notes (all notes of the track when none is selected)."""
        notes = self.selected_notes() or self.index().notes
        new = quantize_notes(notes, grid or self.grid, strength, lengths)
        self.replace_notes(notes, new, "Quantize", select="update")

    def copy(self) -> None:
        global _clipboard
        notes = self.selected_notes()
        if notes:
            first = min(n.start for n in notes)
            _clipboard = tuple(n.moved(-first) for n in notes)

    def cut(self) -> None:
        self.copy()
        self.replace_notes(self.selected_notes(), (), "Cut", select="none")

    def paste(self, at_tick: int | None = None) -> None:
        at = self.cursor if at_tick is None else max(0, int(at_tick))
        if _clipboard:
            self.replace_notes((), tuple(n.moved(at) for n in _clipboard), "Paste")

    def duplicate(self) -> None:
        """Copy the selection to just after itself (its span rounded up to the grid)."""
        notes = self.selected_notes()
        if not notes:
            return
        first = min(n.start for n in notes)
        span = max(max(n.end for n in notes) - first, 1)
        offset = math.ceil(span / self.grid) * self.grid
        self.replace_notes((), tuple(n.moved(offset) for n in notes), "Duplicate")

    # --- tool, grid, transport marks -------------------------------------------------------------------
    def set_tool(self, name: str) -> None:
        if name not in TOOLS:
            raise ValueError(f"unknown tool {name!r}; use one of {', '.join(TOOLS)}")
        if name != self.tool:
            self.tool = name
            self.toolChanged.emit(name)
            self.changed.emit()

    def set_snap(self, on: bool) -> None:
        self.snap = bool(on)

    def set_grid(self, division: int, triplet: bool = False) -> None:
        grid_ticks(division, triplet)  # validates
        self.division, self.triplet = division, bool(triplet)
        self.changed.emit()

    def set_cursor(self, tick: int) -> None:
        tick = max(0, int(tick))
        if tick != self.cursor:
            self.cursor = tick
            self.cursorMoved.emit(tick)
            self.changed.emit()

    def set_loop(self, loop: tuple[int, int] | None, final: bool = True) -> None:
        """Set the loop region; ``final`` False shows it without telling anyone yet (while
        the ruler is being dragged), so listeners hear only the region the user settled on."""
        if loop is not None:
            a, b = sorted((max(0, int(loop[0])), max(0, int(loop[1]))))
            loop = (a, b) if b > a else None
        if loop != self.loop:
            self.loop = loop
            self.changed.emit()
        if final and loop != self._loop_sent:
            self._loop_sent = loop
            self.loopChanged.emit(loop)

    def set_playhead(self, tick: int | None) -> None:
        tick = None if tick is None else max(0, int(tick))
        if tick == self.playhead:
            return
        self.playhead = tick
        if tick is not None and self.follow and self.viewport[0] > 0:
            g = self.geometry
            x = g.tick_to_x(tick)
            width = self.viewport[0]
            if x < 0 or x > width * 0.9:  # page along, leaving a little of what was played
                g.scroll_x = max(0.0, tick * g.px_per_tick - width * 0.05)
                self.viewChanged.emit()
        self.playheadMoved.emit(tick)
        self.changed.emit()

    def set_follow(self, on: bool) -> None:
        self.follow = bool(on)

    def set_ghost_variation(self, notes: Iterable[Note] | None, color: str | None = None,
                            covered: dict[int, Iterable[Note]] | None = None,
                            moved: dict[int, Iterable[Note]] | None = None) -> None:
        """Show ``notes`` as ghost notes (in ``color``, else the current track's), hide the notes
        ``covered`` lists per track index and show ``moved`` ones, per track index in that
        track's colour (what accepting them would replace or move, and where to)."""
        on = notes is not None
        self.ghost_variation = tuple(sorted(notes)) if on else None
        self.ghost_color = color if on else None
        self.ghost_covered = {i: frozenset(ns) for i, ns in (covered or {}).items()} if on else {}
        self.ghost_moved = {i: tuple(ns) for i, ns in (moved or {}).items()} if on else {}
        self.changed.emit()

    def set_ghost_band(self, parts) -> None:
        """``[(colour, notes), ...]``: band parts shown as ghost notes in their tracks' colours."""
        self.ghost_band = () if not parts else tuple((c, tuple(sorted(ns))) for c, ns in parts)
        self.changed.emit()

    # --- zoom and scroll ---------------------------------------------------------------------------
    def _clamp(self) -> None:
        w, h = self.viewport
        self.geometry.clamp_scroll(w, h, self.content_ticks())

    def set_scroll(self, x: float | None = None, y: float | None = None) -> None:
        g = self.geometry
        old = (g.scroll_x, g.scroll_y)
        if x is not None:
            g.scroll_x = float(x)
        if y is not None:
            g.scroll_y = float(y)
        self._clamp()
        if (g.scroll_x, g.scroll_y) != old:
            self.viewChanged.emit()

    def scroll_by(self, dx: float = 0.0, dy: float = 0.0) -> None:
        self.set_scroll(self.geometry.scroll_x + dx, self.geometry.scroll_y + dy)

    def scroll_to_tick(self, tick: int) -> None:
        """Put ``tick`` at the left edge of the view (a little margin before it)."""
        g = self.geometry
        self.set_scroll(x=max(0.0, tick * g.px_per_tick - 8))

    def zoom_x(self, factor: float, anchor_x: float | None = None) -> None:
        anchor = self.viewport[0] / 2 if anchor_x is None else anchor_x
        if self.geometry.zoom_x(factor, anchor):
            self._clamp()
            self.viewChanged.emit()

    def zoom_in(self) -> None:
        self.zoom_x(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_x(1 / ZOOM_STEP)

    def zoom_vertical(self, factor: float, anchor_y: float | None = None) -> None:
        anchor = self.viewport[1] / 2 if anchor_y is None else anchor_y
        if self.geometry.zoom_y(factor, anchor):
            self._clamp()
            self.viewChanged.emit()

    def set_viewport(self, width: int, height: int) -> None:
        self.viewport = (width, height)
        if not self._fitted and width > 0 and height > 0:
            self._fitted = True
            self.fit_default()
        else:
            self._clamp()
        self.viewChanged.emit()

    def fit_default(self) -> None:
        """About four bars across, C3..C6 high, scrolled to the current track's notes."""
        width, height = self.viewport
        g = self.geometry
        sig = self.song.time_signatures[0]
        g.px_per_tick = min(MAX_PX_PER_TICK, max(MIN_PX_PER_TICK, width / (4 * sig.bar_ticks)))
        g.key_height = int(min(16, max(8, height // 37)))
        notes = self.index().notes or tuple(n for t in self.song.tracks for n in t.notes)
        if notes:
            pitches = sorted(n.pitch for n in notes)
            low, high = pitches[len(pitches) // 20], pitches[-1 - len(pitches) // 20]
            g.center_pitch((low + high) / 2, height)
            _, start, _, _ = self.bars.bar_at(min(n.start for n in notes))
            g.scroll_x = start * g.px_per_tick
        else:
            g.center_pitch(66, height)  # between C3 and C6
            g.scroll_x = 0.0
        self._clamp()


def resized(notes: Iterable[Note], dstart: int, dend: int) -> tuple[Note, ...]:
    """Notes with their starts moved by ``dstart`` and ends by ``dend`` (never shorter than 1
    tick, never before tick 0), as :func:`gtzcomposer.core.edits.ResizeNotes` does."""
    out = []
    for n in notes:
        start = max(0, n.start + dstart)
        end = max(start + 1, n.end + dend)
        out.append(Note(start, n.pitch, end - start, n.velocity))
    return tuple(out)
