"""The largest song: one limit, with the position of the offending event in the message."""

import random

import pytest

from gtzcomposer.core import Note, Song, TempoChange, TimeSignature, new_track
from gtzcomposer.core.limits import (
    MAX_SONG_NOTES,
    MAX_SONG_SECONDS,
    MAX_SONG_TICK,
    SongTooLongError,
    check_song_extent,
)
from gtzcomposer.core.timing import TempoMap, bar_at, format_position, iter_bars


def song_with(*notes, tempo=500_000, sigs=()):
    return Song(tracks=(new_track(0, "Lead", notes=notes),), tempos=(TempoChange(0, tempo),),
                time_signatures=sigs or (TimeSignature(0),))


def test_a_song_at_the_limit_is_accepted():
    check_song_extent(song_with(Note(MAX_SONG_TICK - 10, 60, 10), tempo=6000))  # 10,000 bpm: 93 min
    check_song_extent(Song())


def test_a_note_beyond_the_last_tick_names_its_track_and_bar():
    song = song_with(Note(0, 60, 480), Note(2**40 - 480, 60, 480))
    with pytest.raises(SongTooLongError) as err:
        check_song_extent(song, "far.mid")
    text = str(err.value)
    assert text.startswith("far.mid: a note of track 1 ('Lead') that ends at tick 1,099,511,627,776")
    assert f"(bar {format_position(song, 2**40)})" in text and "bar 572662307." in text


def test_the_loop_region_counts():
    with pytest.raises(SongTooLongError, match="the loop region, which ends at tick"):
        check_song_extent(song_with(Note(0, 60, 480)), "p.gtzc", loop=(0, MAX_SONG_TICK + 1))


def test_over_three_hours_is_refused_with_the_time():
    slow = 0xFFFFFF  # 3.58 bpm: 16.8 s a quarter
    quarters = int(MAX_SONG_SECONDS / (slow / 1e6)) + 2
    song = song_with(Note(quarters * 480, 60, 1), tempo=slow)
    assert TempoMap.of(song).seconds(song.end_tick) > MAX_SONG_SECONDS
    with pytest.raises(SongTooLongError, match=r"ends at 3:00:\d\d \(bar .*at most 3 hours"):
        check_song_extent(song, "slow.mid")


def test_a_tempo_change_far_out_counts_too():
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, 1),)),), tempos=(TempoChange(0), TempoChange(2**30)))
    with pytest.raises(SongTooLongError, match="a tempo change at tick 1,073,741,824"):
        check_song_extent(song)


def test_too_many_notes():
    notes = tuple(Note(i, 60, 1) for i in range(MAX_SONG_NOTES + 1))
    with pytest.raises(SongTooLongError, match="500,001 notes"):
        check_song_extent(Song(tracks=(new_track(0, notes=notes),)))


def test_bar_at_agrees_with_iter_bars_however_far_out():
    rng = random.Random(3)
    for _ in range(200):
        sigs, t = [TimeSignature(0, rng.randint(1, 9), rng.choice([2, 4, 8]))], 0
        for _ in range(rng.randint(0, 4)):
            t += rng.randint(1, 4000)
            sigs.append(TimeSignature(t, rng.randint(1, 9), rng.choice([1, 2, 4, 8, 16])))
        song = Song(time_signatures=tuple(sigs))
        for bar in iter_bars(song, t + 5000):
            for tick in (bar.start, bar.end - 1):
                assert bar_at(song, tick) == bar
    far = bar_at(Song(), 2**40)  # one step, not 570 million bars
    assert far.index == 2**40 // 1920 and far.start == far.index * 1920
