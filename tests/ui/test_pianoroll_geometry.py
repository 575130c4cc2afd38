"""Pure parts of the piano roll: pixel mapping, bar grid, note index (no widgets)."""

from gtzcomposer.core import Note, Song, TimeSignature, iter_bars
from gtzcomposer.ui.pianoroll.bars import BarGrid
from gtzcomposer.ui.pianoroll.geometry import MAX_PX_PER_TICK, RollGeometry
from gtzcomposer.ui.pianoroll.noteindex import NoteIndex


def test_tick_and_pitch_round_trip():
    g = RollGeometry(px_per_tick=0.1, key_height=10, scroll_x=50, scroll_y=300)
    assert g.tick_to_x(480) == 48 - 50
    assert g.x_to_tick(g.tick_to_x(1234)) == 1234
    for pitch in (0, 60, 127):
        top = g.pitch_to_y(pitch)
        assert g.y_to_pitch(top) == pitch
        assert g.y_to_pitch(top + 9.9) == pitch
        assert g.y_to_pitch(top + 10) == pitch - 1 or pitch == 0
    assert g.y_to_pitch(-10_000) == 127 and g.y_to_pitch(10_000) == 0
    low, high = g.visible_pitches(200)
    assert high == g.y_to_pitch(0) and low == g.y_to_pitch(199) and high - low == 19


def test_zoom_keeps_the_anchor_tick_in_place_and_respects_limits():
    g = RollGeometry(px_per_tick=0.1, scroll_x=200)
    tick = g.x_to_tick(300)
    assert g.zoom_x(2.0, 300)
    assert abs(g.x_to_tick(300) - tick) < 1e-6
    assert g.px_per_tick == 0.2
    for _ in range(100):
        g.zoom_x(2.0, 0)
    assert g.px_per_tick == MAX_PX_PER_TICK
    assert not g.zoom_x(2.0, 0)
    g2 = RollGeometry(key_height=10, scroll_y=500)
    pitch = g2.y_to_pitch(100)
    assert g2.zoom_y(1.5, 100)
    assert g2.key_height == 15 and g2.y_to_pitch(100) == pitch


def test_vertical_scroll_stays_on_whole_pixels():
    g = RollGeometry(key_height=11)
    g.center_pitch(60.3, 457)
    assert g.scroll_y == int(g.scroll_y)
    g.zoom_y(1.37, 101)
    assert g.scroll_y == int(g.scroll_y)
    g.scroll_y = 123.6
    g.clamp_scroll(500, 400, 10_000)
    assert g.scroll_y == 124


def test_clamp_scroll():
    g = RollGeometry(px_per_tick=0.1, key_height=10, scroll_x=-5, scroll_y=99_999)
    g.clamp_scroll(400, 300, 10_000)
    assert g.scroll_x == 0 and g.scroll_y == 1280 - 300
    g.scroll_x = 99_999
    g.clamp_scroll(400, 300, 10_000)
    assert g.scroll_x == 1000 - 400


def test_bar_grid_matches_iter_bars_with_meter_changes():
    song = Song(time_signatures=(TimeSignature(0, 4, 4), TimeSignature(1920 * 2 + 480, 3, 4),
                                 TimeSignature(9000, 7, 8)))
    grid = BarGrid(song.time_signatures)
    expected = list(iter_bars(song, 20_000))
    for bar in expected:
        index, start, end, sig = grid.bar_at(bar.start)
        assert (index, start, end, sig) == (bar.index, bar.start, bar.end, bar.signature)
        assert grid.bar_at(bar.end - 1)[0] == bar.index
        assert grid.bar_start(bar.index) == bar.start
    assert [b[1] for b in grid.bars(0, expected[-1].start)] == [b.start for b in expected]


def test_snap_counts_from_the_bar_start():
    grid = BarGrid((TimeSignature(0, 4, 4), TimeSignature(1920, 7, 8)))  # 7/8 bars are 1680 ticks
    assert grid.snap(500, 480) == 480
    assert grid.snap(700, 480) == 480 and grid.snap(730, 480) == 960
    assert grid.snap(500, 480, "floor") == 480 and grid.snap(481, 480, "ceil") == 960
    # in 7/8 a half-note grid (960) leaves 720 ticks at the bar end: the bar line is nearer
    assert grid.snap(1920 + 1500, 960) == 1920 + 1680
    assert grid.snap(1920 + 1000, 960) == 1920 + 960
    assert grid.snap(-50, 480) == 0


def test_grid_lines_split_into_bars_beats_and_grid():
    grid = BarGrid((TimeSignature(0, 4, 4),))
    bars, beats, lines = grid.grid_lines(0, 1920 * 2, 240)
    assert bars == [0, 1920, 3840]
    assert beats == [480, 960, 1440, 1920 + 480, 1920 + 960, 1920 + 1440]
    assert len(lines) == 8 and all(t % 480 == 240 for t in lines)
    # a triplet grid: beats still drawn although the grid does not hit all of them
    bars, beats, lines = grid.grid_lines(0, 1919, 320 * 2)  # half-note triplets
    assert 480 in beats and 1440 in beats and 640 in lines


def test_note_index_finds_exactly_the_overlapping_notes():
    import random

    rng = random.Random(1)
    notes = tuple(sorted(Note(rng.randrange(0, 20_000), rng.randrange(0, 128), rng.randrange(0, 3000))
                         for _ in range(2000)))
    idx = NoteIndex(notes)
    for _ in range(50):
        t0 = rng.randrange(0, 20_000)
        t1 = t0 + rng.randrange(0, 4000)
        lo = rng.randrange(0, 100)
        hi = lo + rng.randrange(0, 28)
        got = idx.overlapping(t0, t1, lo, hi)
        want = [n for n in notes if n.start <= t1 and n.end >= t0 and lo <= n.pitch <= hi]
        assert got == want
    assert idx.contains(notes[5]) and not idx.contains(Note(50_000, 1, 1))


def test_pyside_none_refcount_guard_keeps_the_process_alive():
    """PySide6 6.12 on Python 3.11 takes a reference from None on every void call; without the
    guard this loop aborts the interpreter (None starts with a few thousand references)."""
    import sys

    from PySide6.QtCore import QPoint

    import gtzcomposer.ui.pianoroll  # noqa: F401  (applies the guard)

    p = QPoint()
    for _ in range(50_000):
        p.setX(1)
    assert sys.getrefcount(None) > 50_000


def test_note_names_follow_the_key_signature():
    from gtzcomposer.ui.pianoroll.view import spelled

    assert spelled(61, 2) == "C#4"  # D major
    assert spelled(61, -4) == "Db4"  # Ab major
    assert spelled(70, 0) == "Bb4" and spelled(66, None) == "F#4"  # C major: the usual names
    assert spelled(60, -7) == "C4"
