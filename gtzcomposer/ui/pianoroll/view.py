"""The note grid: one custom-painted widget, drawing only what is visible.

Rows (with the key's scale highlighted) come from a cached tile re-made only when the zoom, the
key or the palette changes; bar/beat/grid lines are a handful of batched lines per frame; notes
are found by bisecting each track's note index and drawn in a few batched ``drawRects`` calls
(one per velocity shade).
"""

from __future__ import annotations

import bisect

from PySide6.QtCore import QEvent, QLine, QLineF, QPointF, QRect, QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPen, QPixmap, QTransform
from PySide6.QtWidgets import QWidget

from ...core.song import PITCH_CLASS_NAMES, Note
from .colors import VELOCITY_SHADES, RollColors, velocity_shade
from .controller import RollController
from .tools import TOOL_CLASSES, Tool

MIN_NOTE_PX = 3
MIN_LINE_SPACING = 5  # px: closer beat or grid lines are not drawn
MIN_BAR_SPACING = 24  # px: closer bar lines are thinned to every 2nd, 4th, ... bar
MAX_LABELS = 600
LOD_MIN_TICKS_PER_PX = 8  # zoomed out at least this far ...
LOD_MIN_NOTES = 1500  # ... with at least this many notes in range: draw from prebuilt rectangles
BLACK_KEYS = frozenset((1, 3, 6, 8, 10))
SHARP_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
FLAT_NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")


def spelled(pitch: int, sharps: int | None) -> str:
    """Note name spelt as the key signature does (sharps in sharp keys, flats in flat keys)."""
    names = PITCH_CLASS_NAMES if not sharps else SHARP_NAMES if sharps > 0 else FLAT_NAMES
    return f"{names[pitch % 12]}{pitch // 12 - 1}"

Key = Qt.Key
Mod = Qt.KeyboardModifier


def bar_step(sig, px_per_tick: float) -> int:
    """Draw every n-th bar line (1, 2, 4, ...) so that drawn bar lines stay MIN_BAR_SPACING apart."""
    step = 1
    while sig.bar_ticks * px_per_tick * step < MIN_BAR_SPACING:
        step *= 2
    return step


def lane_bar_lines(controller, geometry, width: int, height: int) -> list[QLine]:
    """The bar lines a lane under the roll draws (velocity, pedal, controllers), thinned as the
    roll thins its own."""
    t0, t1 = geometry.visible_ticks(width)
    sig = controller.bars.bar_at(t0)[3]
    ticks = controller.bars.grid_lines(t0, t1, sig.beat_ticks, False, False, bar_step(sig, geometry.px_per_tick))[0]
    return [QLine(x, 0, x, height) for x in (int(round(geometry.tick_to_x(t))) for t in ticks)]


class _LodLayer:
    """A track's notes as shapes in (tick, row) units, built once per change of the track and
    drawn through a painter transform at any zoom: far out, a frame costs two bisects and two
    calls per velocity shade instead of Python work per note. Each note is a rectangle (its
    true length) plus a cosmetic 1-px line at its start, so notes shorter than a pixel still
    show."""

    __slots__ = ("notes", "shaded", "groups")

    TOP, HEIGHT = 0.08, 0.84  # of a row: leaves a gap between rows at any key height

    def __init__(self, notes: tuple[Note, ...], shaded: bool) -> None:
        self.notes = notes
        self.shaded = shaded
        n_groups = VELOCITY_SHADES if shaded else 1
        starts: list[list[int]] = [[] for _ in range(n_groups)]
        rects: list[list[QRectF]] = [[] for _ in range(n_groups)]
        lines: list[list[QLineF]] = [[] for _ in range(n_groups)]
        longest = [0] * n_groups
        shortest = [2**62] * n_groups
        top, height = self.TOP, self.HEIGHT
        for n in notes:
            g = velocity_shade(n.velocity) if shaded else 0
            row = 127 - n.pitch + top
            starts[g].append(n.start)
            rects[g].append(QRectF(n.start, row, n.duration, height))
            lines[g].append(QLineF(n.start, row, n.start, row + height))
            if n.duration > longest[g]:
                longest[g] = n.duration
            if n.duration < shortest[g]:
                shortest[g] = n.duration
        self.groups = [(i, starts[i], rects[i], lines[i], longest[i], shortest[i])
                       for i in range(n_groups) if starts[i]]

    def visible(self, t0: float, t1: float, px_per_tick: float):
        """(group, rectangles, lines) of the notes that may overlap [t0, t1]; rectangles only
        where some note is a pixel wide or more, lines only where some note is narrower."""
        for i, starts, rects, lines, longest, shortest in self.groups:
            hi = bisect.bisect_right(starts, t1)
            rs = ls = ()
            if longest * px_per_tick >= 1:
                rs = rects[bisect.bisect_left(starts, t0 - longest):hi]
            if shortest * px_per_tick < 1.5:
                ls = lines[bisect.bisect_left(starts, t0):hi]
            if rs or ls:
                yield i, rs, ls


class PianoRollView(QWidget):
    """Grid, notes and tool feedback. Reads the song; edits go through the controller."""

    def __init__(self, controller: RollController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.geometry = controller.geometry
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setMinimumSize(120, 80)
        self.colors = RollColors.from_palette(self.palette())
        self._tiles: dict[tuple, QPixmap] = {}
        self._lod: dict[int, _LodLayer] = {}
        self._label_font = QFont(self.font())
        self.tool: Tool = TOOL_CLASSES[controller.tool](self)
        self.setCursor(self.tool.cursor)
        controller.changed.connect(self.update)
        controller.viewChanged.connect(self.update)
        controller.toolChanged.connect(self._on_tool)
        self._autoscroll = QTimer(self)
        self._autoscroll.setInterval(30)
        self._autoscroll.timeout.connect(self._autoscroll_step)
        self._last_drag: tuple[QPointF, object] | None = None

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(800, 450)

    # --- tools ------------------------------------------------------------------------------
    def _on_tool(self, name: str) -> None:
        self.tool.cancel()
        self.tool = TOOL_CLASSES[name](self)
        self.setCursor(self.tool.cursor)

    # --- geometry helpers ----------------------------------------------------------------------
    def note_span(self, note: Note) -> tuple[int, int]:
        g = self.geometry
        x0 = int(round(note.start * g.px_per_tick - g.scroll_x))
        x1 = int(round((note.start + note.duration) * g.px_per_tick - g.scroll_x))
        return x0, max(x1, x0 + MIN_NOTE_PX)

    def note_rect(self, note: Note) -> QRect:
        x0, x1 = self.note_span(note)
        y = int(self.geometry.pitch_to_y(note.pitch))
        return QRect(x0, y + 1, x1 - x0, self.geometry.key_height - 1)

    def note_at(self, pos: QPointF, exclude=frozenset()) -> tuple[Note | None, str | None]:
        """The current track's note under ``pos`` and where it was hit: 'left' or 'right' edge
        (resize) or 'body'."""
        g = self.geometry
        x, y = pos.x(), pos.y()
        if y < 0 or y >= self.height() or y + g.scroll_y >= g.content_height:
            return None, None
        pitch = g.y_to_pitch(y)
        cands = self.controller.index().overlapping(g.x_to_tick(x - 3), g.x_to_tick(x + 3), pitch, pitch)
        best, best_key, zone = None, None, None
        for n in cands:
            if n in exclude:
                continue
            x0, x1 = self.note_span(n)
            if not x0 <= x <= x1 + 2:
                continue
            key = (self.controller.is_selected(n), n.start)
            if best_key is None or key >= best_key:
                width = x1 - x0
                edge = min(6, width // 4) if width >= 8 else 0
                if x >= x1 - edge and edge:
                    z = "right"
                elif x - x0 < edge:
                    z = "left"
                elif x > x1:
                    continue
                else:
                    z = "body"
                best, best_key, zone = n, key, z
        return best, zone

    def notes_in_rect(self, rect: QRect) -> list[Note]:
        g = self.geometry
        low, high = g.y_to_pitch(rect.bottom()), g.y_to_pitch(rect.top())
        cands = self.controller.index().overlapping(g.x_to_tick(rect.left()), g.x_to_tick(rect.right()), low, high)
        return [n for n in cands if self.note_rect(n).intersects(rect)]

    # --- painting -----------------------------------------------------------------------------------
    def _lod_layer(self, track: int, shaded: bool) -> _LodLayer:
        notes = self.controller.song.tracks[track].notes
        layer = self._lod.get(track)
        if layer is None or layer.notes is not notes or layer.shaded != shaded:
            layer = self._lod[track] = _LodLayer(notes, shaded)
        return layer

    def _row_tile(self, scale: frozenset[int], tonic: int | None, w: int, h: int) -> QPixmap:
        """Rows for the view's size: the pattern repeats every octave, so a tile one octave
        taller than the view, blitted at ``scroll_y`` modulo an octave, covers any scroll."""
        g, c = self.geometry, self.colors
        kh = g.key_height
        period = 12 * kh
        dpr = self.devicePixelRatioF()
        key = (scale, tonic, kh, w, h, dpr)
        tile = self._tiles.get(key)
        if tile is not None:
            return tile
        if len(self._tiles) > 8:
            self._tiles.clear()
        tile = QPixmap(max(1, round(w * dpr)), round((h + period) * dpr))  # sharp on high-DPI screens
        tile.setDevicePixelRatio(dpr)
        tile.fill(c.row_in_scale)
        p = QPainter(tile)
        for row in range((h + period) // kh + 1):
            pitch = 127 - row
            y = row * kh
            pc = pitch % 12
            if pc == tonic:
                p.fillRect(0, y, w, kh, c.row_tonic)
            elif pc not in scale:
                p.fillRect(0, y, w, kh, c.row_out_scale)
            if pc == 0:  # the line under each C marks the octave
                p.fillRect(0, y + kh - 1, w, 1, c.octave_line)
            elif pc == 5 or kh >= 10:
                p.fillRect(0, y + kh - 1, w, 1, c.row_line)
        p.end()
        self._tiles[key] = tile
        return tile

    def _paint_rows(self, p: QPainter, w: int, h: int) -> None:
        g, song = self.geometry, self.controller.song
        keys = song.key_signatures or (None,)
        sy = int(g.scroll_y)
        src_y = sy % (12 * g.key_height)
        for i, k in enumerate(keys):
            xa = 0 if i == 0 else max(0, int(round(g.tick_to_x(k.tick))))
            xb = w if i + 1 == len(keys) else min(w, int(round(g.tick_to_x(keys[i + 1].tick))))
            if xb > xa:
                scale = k.scale if k is not None else frozenset((0, 2, 4, 5, 7, 9, 11))
                tile = self._row_tile(scale, k.tonic if k is not None else None, w, h)
                dpr = tile.devicePixelRatio()
                p.drawPixmap(QRectF(xa, 0, xb - xa, h), tile, QRectF(xa * dpr, src_y * dpr, (xb - xa) * dpr, h * dpr))
        below = g.content_height - sy
        if below < h:  # zoomed out further than 128 rows
            p.fillRect(0, below, w, h - below, self.colors.ruler_bg)

    def _paint_lines(self, p: QPainter, w: int, h: int) -> None:
        g, ctl, c = self.geometry, self.controller, self.colors
        t0, t1 = g.visible_ticks(w)
        ppt = g.px_per_tick
        grid = ctl.grid
        sig = ctl.bars.bar_at(t0)[3]
        want_grid = grid * ppt >= MIN_LINE_SPACING
        want_beats = sig.beat_ticks * ppt >= MIN_LINE_SPACING
        bars, beats, grids = ctl.bars.grid_lines(t0, t1, grid, want_beats, want_grid, bar_step(sig, ppt))
        sx = g.scroll_x
        if want_grid and grids:
            p.setPen(c.grid_line)
            p.drawLines([QLine(x, 0, x, h) for x in (int(round(t * ppt - sx)) for t in grids)])
        if want_beats and beats:
            p.setPen(c.beat_line)
            p.drawLines([QLine(x, 0, x, h) for x in (int(round(t * ppt - sx)) for t in beats)])
        if bars:
            p.setPen(c.bar_line)
            p.drawLines([QLine(x, 0, x, h) for x in (int(round(t * ppt - sx)) for t in bars)])

    def paintEvent(self, event) -> None:  # noqa: N802
        ctl, g, c = self.controller, self.geometry, self.colors
        song = ctl.song
        w, h = self.width(), self.height()
        p = QPainter(self)
        self._paint_rows(p, w, h)
        self._paint_lines(p, w, h)
        if ctl.loop is not None:
            a, b = (int(round(g.tick_to_x(t))) for t in ctl.loop)
            shade = QColor(c.loop)
            shade.setAlpha(22)
            p.fillRect(QRect(a, 0, b - a, h), shade)

        t0, t1 = g.visible_ticks(w)
        low, high = g.visible_pitches(h)
        ppt, sx, sy, kh = g.px_per_tick, g.scroll_x, g.scroll_y, g.key_height
        current = ctl.track_index

        def rects(notes, inset):
            out = []
            for n in notes:
                x0 = int(round(n.start * ppt - sx))
                x1 = int(round((n.start + n.duration) * ppt - sx))
                if x1 - x0 < MIN_NOTE_PX:
                    x1 = x0 + MIN_NOTE_PX
                x0 = max(x0, -4)
                x1 = min(x1, w + 4)
                out.append(QRect(x0, int((127 - n.pitch) * kh - sy) + 1, x1 - x0 - inset, kh - 1 - inset))
            return out

        tracks = song.tracks
        color = QColor(tracks[current].color) if 0 <= current < len(tracks) else QColor("#4e79a7")
        shades = c.note_shades(color)
        outline = c.note_outline(color)
        hidden = self.tool.hidden
        preview = self.tool.preview
        sel = ctl.selection
        ghost_alpha = 70 if c.dark else 60

        lod = False
        if 1 / ppt >= LOD_MIN_TICKS_PER_PX and not hidden:
            lod = sum(ctl.index(ti).candidates(t0, t1) for ti in range(len(tracks))) > LOD_MIN_NOTES
        if lod:
            # far out and crowded: prebuilt shapes through a transform, no outlines
            p.save()
            p.setTransform(QTransform(ppt, 0, 0, kh, -sx, -sy))
            order = [ti for ti in range(len(tracks)) if ti != current] + ([current] if 0 <= current < len(tracks) else [])
            for ti in order:
                if not tracks[ti].notes:
                    continue
                layer = self._lod_layer(ti, ti == current)
                if ti != current:
                    fill = QColor(tracks[ti].color)
                    fill.setAlpha(ghost_alpha)
                for i, rs, ls in layer.visible(t0, t1, ppt):
                    if ti == current:
                        fill = shades[i]
                    if rs:
                        p.setPen(Qt.PenStyle.NoPen)
                        p.setBrush(fill)
                        p.drawRects(rs)
                    if ls:
                        p.setPen(QPen(fill, 0))
                        p.drawLines(ls)
            p.restore()
            visible = []
            selected = [n for n in sel if n.start <= t1 and n.end >= t0 and low <= n.pitch <= high]
            selected.extend(preview)
        else:
            # other tracks: faint ghost notes
            p.setPen(Qt.PenStyle.NoPen)
            for ti, track in enumerate(tracks):
                if ti == current or not track.notes:
                    continue
                notes = ctl.index(ti).overlapping(t0, t1, low, high)
                if ti in ctl.ghost_covered:
                    notes = [n for n in notes if n not in ctl.ghost_covered[ti]]
                if notes:
                    ghost = QColor(track.color)
                    ghost.setAlpha(ghost_alpha)
                    p.setBrush(ghost)
                    p.drawRects(rects(notes, 0))

            # the current track: shaded by velocity, the selection outlined
            visible = ctl.index().overlapping(t0, t1, low, high)
            if hidden:
                visible = [n for n in visible if n not in hidden]
            if current in ctl.ghost_covered:
                visible = [n for n in visible if n not in ctl.ghost_covered[current]]
            groups: list[list[Note]] = [[] for _ in range(VELOCITY_SHADES)]
            selected: list[Note] = []
            for n in visible:
                if n in sel:
                    selected.append(n)
                else:
                    groups[velocity_shade(n.velocity)].append(n)
            if preview:
                selected.extend(preview)
            p.setPen(QPen(outline, 1))
            for shade, group in zip(shades, groups):
                if group:
                    p.setBrush(shade)
                    p.drawRects(rects(group, 1))
        if selected:
            sel_groups: list[list[Note]] = [[] for _ in range(VELOCITY_SHADES)]
            for n in selected:
                sel_groups[velocity_shade(n.velocity)].append(n)
            # selected notes keep their fill and get a heavy outline in the text colour
            p.setPen(QPen(c.selection, 2, Qt.PenStyle.SolidLine, Qt.PenCapStyle.SquareCap, Qt.PenJoinStyle.MiterJoin))
            for shade, group in zip(shades, sel_groups):
                if group:
                    p.setBrush(shade)
                    p.drawRects([r.adjusted(1, 1, 0, 0) for r in rects(group, 2)])

        # a variation offered by the continuation panel: dashed, translucent
        for ti, moved in ctl.ghost_moved.items():  # notes the offer would move, in their track's colour
            if 0 <= ti < len(tracks):
                tcolor = QColor(tracks[ti].color)
                fill = QColor(tcolor)
                fill.setAlpha(60)
                p.setBrush(fill)
                p.setPen(QPen(tcolor, 1, Qt.PenStyle.DashLine))
                p.drawRects(rects([n for n in moved if low <= n.pitch <= high and n.end >= t0 and n.start <= t1], 1))
        if ctl.ghost_variation:
            gcolor = QColor(ctl.ghost_color) if ctl.ghost_color else color
            ghost = QColor(gcolor)
            ghost.setAlpha(90)
            p.setBrush(ghost)
            p.setPen(QPen(c.note_outline(gcolor) if not c.dark else gcolor.lighter(140), 1, Qt.PenStyle.DashLine))
            notes = [n for n in ctl.ghost_variation if low <= n.pitch <= high and n.end >= t0 and n.start <= t1]
            p.drawRects(rects(notes, 1))
        # the band under it: each part in the colour of its track, dotted
        for band_color, band_notes in ctl.ghost_band:
            bc = QColor(band_color)
            fill = QColor(bc)
            fill.setAlpha(110)
            p.setBrush(fill)
            p.setPen(QPen(bc.darker(130) if not c.dark else bc.lighter(140), 1, Qt.PenStyle.DotLine))
            notes = [n for n in band_notes if low <= n.pitch <= high and n.end >= t0 and n.start <= t1]
            p.drawRects(rects(notes, 1))

        all_drawn = visible + list(preview)
        if kh >= 9 and not lod and len(all_drawn) <= MAX_LABELS:
            self._paint_labels(p, all_drawn, shades)

        self.tool.paint(p)

        # cursor and playhead
        x = int(round(g.tick_to_x(ctl.cursor)))
        if -1 <= x <= w:
            p.setPen(QPen(c.cursor, 1, Qt.PenStyle.DashLine))
            p.drawLine(x, 0, x, h)
        if ctl.playhead is not None:
            x = int(round(g.tick_to_x(ctl.playhead)))
            if -2 <= x <= w + 1:
                p.setPen(QPen(c.playhead, 2))
                p.drawLine(x, 0, x, h)
        if not song.tracks:
            hint = QFont(self.font())
            hint.setPixelSize(14)
            p.setFont(hint)
            p.setPen(c.cursor)
            p.drawText(QRect(0, 0, w, h), Qt.AlignmentFlag.AlignCenter,
                       "Empty song: draw notes with the pencil (1), select (2), erase (3)")
        p.end()

    def _paint_labels(self, p: QPainter, notes: list[Note], shades: list[QColor]) -> None:
        g = self.geometry
        kh = g.key_height
        font = self._label_font
        font.setPixelSize(max(7, min(kh - 3, 11)))
        p.setFont(font)
        min_w = font.pixelSize() * 2 + 6
        dark_text, light_text = QColor(20, 20, 20), QColor(250, 250, 250)
        key = self.controller.song.key_at(int(g.x_to_tick(0)))
        sharps = key.sharps if key is not None else None
        for n in notes:
            x0, x1 = self.note_span(n)
            if x1 - x0 < min_w:
                continue
            x0 = max(x0, 0)
            if x1 - x0 < min_w:
                continue
            fill = shades[velocity_shade(n.velocity)]
            p.setPen(dark_text if fill.lightness() > 140 else light_text)
            y = int(g.pitch_to_y(n.pitch))
            p.drawText(QRect(x0 + 3, y + 1, x1 - x0 - 4, kh - 1),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, spelled(n.pitch, sharps))

    # --- events -------------------------------------------------------------------------------------
    def resizeEvent(self, event) -> None:  # noqa: N802
        self.controller.set_viewport(self.width(), self.height())

    def changeEvent(self, event) -> None:  # noqa: N802
        if event.type() == QEvent.Type.PaletteChange:
            self.colors = RollColors.from_palette(self.palette())
            self._tiles.clear()
            self.update()
        super().changeEvent(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        self.tool.press(event)
        self.update()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        self.tool.move(event)
        pos = event.position()
        gesture = self.tool.gesture
        if gesture is not None and gesture.autoscroll and self._overshoot(pos) != (0.0, 0.0):
            self._last_drag = (QPointF(pos), event.modifiers())
            if not self._autoscroll.isActive():
                self._autoscroll.start()
        elif self._autoscroll.isActive():
            self._autoscroll.stop()
        self.controller.pointerMoved.emit(max(0, int(self.geometry.x_to_tick(pos.x()))),
                                          self.geometry.y_to_pitch(pos.y()))

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._autoscroll.stop()
        self.tool.release(event)

    def _overshoot(self, pos: QPointF) -> tuple[float, float]:
        """How far ``pos`` is beyond the view's edges (negative: left/above)."""
        x, y, w, h = pos.x(), pos.y(), self.width(), self.height()
        dx = x if x < 0 else x - w if x > w else 0.0
        dy = y if y < 0 else y - h if y > h else 0.0
        return dx, dy

    def _autoscroll_step(self) -> None:
        """While a drag holds the pointer beyond an edge, scroll that way (faster the further
        out) and let the gesture follow."""
        gesture = self.tool.gesture
        if gesture is None or self._last_drag is None:
            self._autoscroll.stop()
            return
        pos, mods = self._last_drag
        dx, dy = self._overshoot(pos)
        g = self.geometry
        before = (g.scroll_x, g.scroll_y)
        self.controller.scroll_by(dx=max(4.0, min(60.0, abs(dx))) * (1 if dx > 0 else -1) if dx else 0.0,
                                  dy=max(4.0, min(60.0, abs(dy))) * (1 if dy > 0 else -1) if dy else 0.0)
        if (g.scroll_x, g.scroll_y) == before:
            return
        gesture.move(pos, mods)

    def wheelEvent(self, event) -> None:  # noqa: N802
        delta = event.angleDelta()
        dy = delta.y() or delta.x()
        mods = event.modifiers()
        if mods & Mod.ControlModifier and mods & Mod.ShiftModifier:
            self.controller.zoom_vertical(1.15 if dy > 0 else 1 / 1.15, event.position().y())
        elif mods & Mod.ControlModifier:
            self.controller.zoom_x(1.25 if dy > 0 else 1 / 1.25, event.position().x())
        elif mods & Mod.ShiftModifier or (delta.x() and not delta.y()):
            self.controller.scroll_by(dx=-dy / 120 * self.width() / 8)
        else:
            self.controller.scroll_by(dy=-dy / 120 * self.geometry.key_height * 3)
        event.accept()

    def _key_action(self, key, mods):
        """The piano roll's own keys, in this one table: what a key press runs, or None when the
        key is not one of them (then a window shortcut or the parent may have it)."""
        ctl = self.controller
        if mods & Mod.ControlModifier:
            return {
                Key.Key_A: ctl.select_all, Key.Key_C: ctl.copy, Key.Key_X: ctl.cut,
                Key.Key_V: ctl.paste, Key.Key_D: ctl.duplicate,
                Key.Key_Plus: ctl.zoom_in, Key.Key_Equal: ctl.zoom_in, Key.Key_Minus: ctl.zoom_out,
            }.get(key)
        if mods & Mod.AltModifier:
            return None
        step = 12 if mods & Mod.ShiftModifier else 1
        return {
            Key.Key_1: lambda: ctl.set_tool("draw"), Key.Key_2: lambda: ctl.set_tool("select"),
            Key.Key_3: lambda: ctl.set_tool("erase"),
            Key.Key_Up: lambda: ctl.transpose_selection(step), Key.Key_Down: lambda: ctl.transpose_selection(-step),
            Key.Key_Left: lambda: ctl.nudge_selection(-ctl.grid), Key.Key_Right: lambda: ctl.nudge_selection(ctl.grid),
            Key.Key_Delete: ctl.delete_selection, Key.Key_Backspace: ctl.delete_selection,
            Key.Key_Plus: ctl.zoom_in, Key.Key_Equal: ctl.zoom_in, Key.Key_Minus: ctl.zoom_out,
            Key.Key_Escape: self._escape,
        }.get(key)

    def _escape(self) -> None:
        if self.tool.gesture is not None:
            self.tool.cancel()
        else:
            self.controller.clear_selection()

    def _shortcut(self, event) -> bool:
        """Run the key's action; False when it is not one of the piano roll's keys."""
        action = self._key_action(event.key(), event.modifiers())
        if action is None:
            return False
        action()
        return True

    def event(self, event) -> bool:
        # Keys the piano roll handles win over window shortcuts while it has focus, so a main
        # window's Edit menu with the same keys does not make them ambiguous; which keys those
        # are comes from the same table that runs them.
        if event.type() == QEvent.Type.ShortcutOverride and self._key_action(event.key(), event.modifiers()):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if self._shortcut(event):
            event.accept()
        else:
            super().keyPressEvent(event)
