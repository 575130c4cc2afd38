import pytest
from hypothesis import given
from hypothesis import strategies as st

from gtzcomposer.core import Song, TempoChange, TimeSignature
from gtzcomposer.core.timing import (
    TempoMap,
    bar_at,
    bar_start,
    format_position,
    grid_ticks,
    iter_bars,
    seconds_to_tick,
    tick_to_seconds,
)
from tests.helpers import two_track_song


def test_constant_tempo():
    s = Song(tempos=(TempoChange.from_bpm(0, 120),))
    assert tick_to_seconds(s, 480) == pytest.approx(0.5)
    assert seconds_to_tick(s, 2.0) == pytest.approx(1920)


def test_tempo_changes():
    s = two_track_song()  # 100 bpm, then 140 bpm from tick 1920
    tm = TempoMap.of(s)
    assert tm.seconds(1920) == pytest.approx(4 * 0.6)
    assert tm.seconds(1920 + 480) == pytest.approx(2.4 + 60 / 140)
    assert tm.tick(2.4 + 60 / 140) == pytest.approx(2400)
    assert TempoMap([]).seconds(480) == pytest.approx(0.5)  # MIDI's implied 120 bpm


@given(st.lists(st.tuples(st.integers(1, 10_000), st.integers(200_000, 2_000_000)), max_size=5),
       st.integers(0, 50_000))
def test_tempo_map_inverse(changes, tick):
    tm = TempoMap.of(Song(tempos=tuple(TempoChange(t, u) for t, u in changes)))
    assert tm.tick(tm.seconds(tick)) == pytest.approx(tick, abs=1e-6)


def test_bars_with_meter_change():
    s = Song(time_signatures=(TimeSignature(0, 4, 4), TimeSignature(3840, 3, 4), TimeSignature(5280, 6, 8)))
    bars = list(iter_bars(s, 8000))
    assert [(b.start, b.end) for b in bars[:5]] == [(0, 1920), (1920, 3840), (3840, 5280), (5280, 6720),
                                                    (6720, 8160)]
    assert bars[3].signature.numerator == 6
    assert bar_at(s, 5000).index == 2
    assert bar_start(s, 3) == 5280
    assert format_position(s, 5280 + 240 + 5) == "4.2.005"


def test_meter_change_inside_a_bar_starts_a_new_bar():
    s = Song(time_signatures=(TimeSignature(0, 4, 4), TimeSignature(960, 3, 4)))
    bars = list(iter_bars(s, 3000))
    assert [(b.start, b.end) for b in bars[:3]] == [(0, 960), (960, 2400), (2400, 3840)]


def test_iter_bars_reaches_song_end():
    s = two_track_song()
    bars = list(iter_bars(s))
    assert bars[-1].end > s.end_tick


def test_grid_ticks():
    assert grid_ticks(4) == 480 and grid_ticks(16) == 120 and grid_ticks(1) == 1920
    assert grid_ticks(8, triplet=True) == 160
    assert grid_ticks(64) == 30
    with pytest.raises(ValueError):
        grid_ticks(3)
