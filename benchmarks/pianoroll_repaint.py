"""Piano roll with a 20,000-note song: repaint time after scroll and after zoom, and the time of
an edit (move 100 selected notes) end to end.

    QT_QPA_PLATFORM=offscreen python benchmarks/pianoroll_repaint.py [--notes 20000] [--runs 50]

Goal (issue 4 / DESIGN.md): repaint after scroll/zoom <= 16 ms. Prints median and p95 in ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PySide6.QtWidgets import QApplication  # noqa: E402

from gtzcomposer.core import PPQ, ControlChange, KeySignature, Note, Song, TimeSignature, new_track  # noqa: E402
from gtzcomposer.ui.document import SongDocument  # noqa: E402
from gtzcomposer.ui.pianoroll import PianoRollEditor  # noqa: E402

BAR = 4 * PPQ


def big_song(total: int, seed: int = 0) -> Song:
    """Four tracks sharing ``total`` notes, about 68 notes per bar: a lead in sixteenths,
    five-note chords on every beat, a bass in eighths and drums (hi-hat sixteenths, kick and
    snare), with a meter change to 3/4 and back."""
    rng = random.Random(seed)
    scale = [0, 2, 4, 5, 7, 9, 11]
    lead: list[Note] = []
    chords: list[Note] = []
    bass: list[Note] = []
    drums: list[Note] = []
    bar = 0
    while len(lead) + len(chords) + len(bass) + len(drums) < total:
        t0 = bar * BAR
        t = t0
        while t < t0 + BAR:
            d = rng.choice((120, 120, 120, 240))
            lead.append(Note(t, 60 + 12 * rng.randrange(2) + rng.choice(scale), d, rng.randrange(40, 128)))
            t += d
        root = 48 + rng.choice(scale)
        for beat in range(4):
            for iv in (0, 4, 7, 12, 16):
                chords.append(Note(t0 + beat * PPQ, root + iv, PPQ - 20, rng.randrange(60, 100)))
        for k in range(8):
            bass.append(Note(t0 + k * 240, root - 12 + rng.choice((0, 7, 12)), 220, rng.randrange(70, 120)))
        for k in range(16):
            drums.append(Note(t0 + k * 120, 42, 60, rng.randrange(50, 110)))
        for k in range(8):
            drums.append(Note(t0 + k * 240, 36 if k % 2 == 0 else 38, 100, rng.randrange(90, 127)))
        bar += 1
    extra = len(lead) + len(chords) + len(bass) + len(drums) - total
    drums = drums[:len(drums) - extra]
    # the pedal changes twice a bar and a modulation sweep of 16 steps a bar: the lanes' load
    bars = bar
    controls = [ControlChange(b * BAR + off, 64, v) for b in range(bars) for off, v in ((10, 127), (BAR - 40, 0))]
    controls += [ControlChange(b * BAR + k * 120, 1, (k * 8) % 128) for b in range(bars) for k in range(16)]
    tracks = (new_track(0, "Lead", 80, notes=lead, controls=tuple(controls)), new_track(1, "Chords", 4, notes=chords),
              new_track(2, "Bass", 33, notes=bass), new_track(3, is_drum=True, notes=drums))
    return Song(tracks=tracks, time_signatures=(TimeSignature(0, 4, 4), TimeSignature(64 * BAR, 3, 4),
                                                TimeSignature(64 * BAR + 16 * 3 * PPQ, 4, 4)),
                key_signatures=(KeySignature(0, 9, "minor"),))


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def summary(name: str, ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return f"{name:38s} median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms   max {ms[-1]:6.2f} ms   (n={len(ms)})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--notes", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--size", default="1400x800", help="editor size in px, WxH")
    args = ap.parse_args()
    app = QApplication.instance() or QApplication([])
    song = big_song(args.notes)
    doc = SongDocument(song)
    ed = PianoRollEditor(doc)
    w, h = (int(v) for v in args.size.split("x"))
    ed.resize(w, h)
    ed.show()
    app.processEvents()
    ctl, view = ed.controller, ed.view
    g = ctl.geometry
    print(f"song: {song.note_count} notes in {len(song.tracks)} tracks, {song.end_tick / BAR:.0f} bars; "
          f"grid view {view.width()}x{view.height()} px")
    for _ in range(3):
        view.repaint()  # warm caches (row tiles, indexes)

    def visible() -> int:
        t0, t1 = g.visible_ticks(view.width())
        lo, hi = g.visible_pitches(view.height())
        return sum(len(ctl.index(i).overlapping(t0, t1, lo, hi)) for i in range(len(song.tracks)))

    # scroll: page along the song, with some vertical moves
    scroll, counts = [], []
    rng = random.Random(1)
    for _ in range(args.runs):
        dx, dy = view.width() * rng.choice((0.25, 0.5, 1.0)), rng.choice((0, 0, -36, 36))
        # timed: the scroll itself (scrollbars, signals) and the repaint, caches filled in it
        scroll.append(timed(lambda dx=dx, dy=dy: (ctl.scroll_by(dx=dx, dy=dy), view.repaint())))
        app.processEvents()
        counts.append(visible())
    print(summary("scroll + repaint (default zoom)", scroll), f" ~{statistics.median(counts):.0f} notes visible")

    # zoom: out step by step until the whole song is in view, and back in
    zoom, counts = [], []
    ctl.scroll_to_tick(0)
    steps = 0
    while g.x_to_tick(view.width()) < song.end_tick and steps < 40:
        steps += 1
        ctl.zoom_x(1 / 1.25, 0)
    # the first far-out frame builds each track's far-out layer (once per change of a track)
    first = timed(view.repaint)
    print(summary("first far-out repaint (builds layers)", [first]))
    ladder = [1 / 1.25] * steps + [1.25] * steps
    i = 0
    ctl.zoom_x(1.25 ** steps, 0)
    while len(zoom) < args.runs:
        factor = ladder[i % len(ladder)]
        i += 1
        zoom.append(timed(lambda f=factor: (ctl.zoom_x(f, view.width() / 3), view.repaint())))
        app.processEvents()
        counts.append(visible())
    print(summary("zoom + repaint (4 bars .. whole song)", zoom),
          f" {min(counts)}..{max(counts)} notes visible")
    worst = []
    ctl.fit_default()
    ctl.zoom_x(1 / 1.25 ** steps, 0)
    for _ in range(max(10, args.runs // 5)):
        worst.append(timed(lambda: (ctl.scroll_by(dy=1), view.repaint())))
        app.processEvents()
    print(summary("scroll + repaint, whole song in view", worst), f" {visible()} notes visible")

    # whole editor (ruler, keyboard, grid, velocity, pedal and controller lanes) after a scroll
    ctl.fit_default()
    full = []
    for _ in range(args.runs):
        full.append(timed(lambda: (ctl.scroll_by(dx=view.width() / 2), ed.repaint())))
        app.processEvents()
    print(summary("scroll + whole editor repaint", full))

    # an edit: move 100 selected notes of the 5,000-note lead track, end to end (edit, undo
    # stack, song rebuild, index, repaint)
    ctl.fit_default()
    doc.current_track = 0
    lead = doc.song.tracks[0].notes
    edit, undo = [], []
    for k in range(args.runs // 2 or 1):
        start = (k * 137) % (len(lead) - 100)
        ctl.set_selection(doc.song.tracks[0].notes[start:start + 100])

        def move():
            ctl.nudge_selection(ctl.grid)
            view.repaint()
        edit.append(timed(move))

        def back():
            doc.undo_stack.undo()
            view.repaint()
        undo.append(timed(back))
    print(summary("edit: move 100 selected notes + repaint", edit))
    print(summary("undo of that move + repaint", undo))
    big = []
    for _ in range(5):
        ctl.select_all()  # the whole 5,000-note lead track
        big.append(timed(lambda: (ctl.transpose_selection(1), view.repaint())))
        doc.undo_stack.undo()
    print(summary(f"edit: transpose all {len(lead)} notes of a track", big))
    goal = max(statistics.median(scroll), statistics.median(zoom))
    print(f"goal <= 16 ms for repaint after scroll/zoom: {'met' if goal <= 16 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
