"""The pure playback scheduler against a fake clock."""

from __future__ import annotations

import pytest

from gtzcomposer.audio.events import (
    CC_ALL_NOTES_OFF,
    CC_ALL_SOUND_OFF,
    CONTROL,
    NOTE_OFF,
    NOTE_ON,
    PRESET,
)
from gtzcomposer.audio.scheduler import Loop, Scheduler
from gtzcomposer.core import PPQ, Note, Song, TempoChange, TempoMap, new_track
from tests.helpers import two_track_song

STEP = 0.005  # the fake clock's resolution (seconds)


class Keys:
    """What a synth would have sounding after a stream of events."""

    def __init__(self):
        self.down: dict[tuple[int, int], int] = {}
        self.cleared: set[int] = set()

    def apply(self, events):
        for e in events:
            key = (e.channel, e.data1)
            if e.kind == NOTE_ON:
                self.down[key] = self.down.get(key, 0) + 1
            elif e.kind == NOTE_OFF:
                if self.down.get(key):
                    self.down[key] -= 1
                    if not self.down[key]:
                        del self.down[key]
            elif e.kind == CONTROL and e.data1 in (CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF):
                self.cleared.add(e.channel)
                for k in [k for k in self.down if k[0] == e.channel]:
                    del self.down[k]

    @property
    def sounding(self):
        return set(self.down)


def run(sched: Scheduler, start: float, until: float, step: float = STEP):
    """Advance a fake clock from ``start`` to ``until``; returns [(clock, event)]."""
    out = []
    t = start
    while t < until - 1e-12:
        t = round(t + step, 9)
        out += [(t, e) for e in sched.advance(t)]
    return out


def test_events_come_in_order_and_on_time_with_tempo_changes():
    song = two_track_song()  # 100 bpm, then 140 bpm from tick 1920
    tm = TempoMap.of(song)
    sched = Scheduler(song)
    first = sched.start(now=10.0)
    assert {e.kind for e in first} == {PRESET, CONTROL, NOTE_ON}  # channel set-up, then the notes at tick 0
    assert [e for e in first if e.kind == NOTE_ON] == [e for e in sched.events if e.kind == NOTE_ON and e.tick == 0]
    got = [(10.0, e) for e in first if e.kind == NOTE_ON] + run(sched, 10.0, 10.0 + tm.seconds(song.end_tick) + 0.1)
    assert [e for _, e in got] == sorted(e for _, e in got)
    ons = [(clock - 10.0, e) for clock, e in got if e.kind == NOTE_ON]
    assert len(ons) == song.note_count
    for elapsed, e in ons:
        due = tm.seconds(e.tick)
        assert due <= elapsed + 1e-9 < due + STEP + 1e-9, (e, elapsed, due)
    assert sched.finished


def test_whole_song_leaves_nothing_sounding():
    song = two_track_song()
    sched = Scheduler(song)
    keys = Keys()
    keys.apply(sched.start(0.0))
    keys.apply(e for _, e in run(sched, 0.0, 6.0, step=0.013))
    assert keys.sounding == set()
    assert sched.held_notes == frozenset()


def test_start_from_any_tick_skips_what_is_before_and_restarts_spanning_notes():
    song = Song(tracks=(
        new_track(0, program=0, notes=(Note(0, 60, 4 * PPQ), Note(PPQ, 64, PPQ), Note(3 * PPQ, 67, PPQ))),
        new_track(1, is_drum=True, notes=(Note(0, 49, 4 * PPQ),)),  # a long cymbal note
    ))
    sched = Scheduler(song)
    out = sched.start(now=0.0, tick=2 * PPQ)
    ons = [e for e in out if e.kind == NOTE_ON]
    # the long melodic note restarts (policy); the drum note spanning the position is skipped
    assert [(e.data1, e.data2) for e in ons] == [(60, 100)]
    later = [e for _, e in run(sched, 0.0, 2.5) if e.kind == NOTE_ON]
    assert [e.data1 for e in later] == [67]  # 64 (before the start) is never played
    assert sched.position == pytest.approx(TempoMap.of(song).tick(1.0 + 2.5))


def test_seek_while_playing_releases_held_notes_and_restarts_spanning_ones():
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, 8 * PPQ), Note(0, 72, PPQ), Note(4 * PPQ, 67, 2 * PPQ))),))
    sched = Scheduler(song)
    keys = Keys()
    keys.apply(sched.start(0.0))
    keys.apply(e for _, e in run(sched, 0.0, 0.1))
    assert keys.sounding == {(0, 60), (0, 72)}
    out = sched.seek(5 * PPQ, now=0.1)
    offs = [e.data1 for e in out if e.kind == NOTE_OFF]
    ons = [e.data1 for e in out if e.kind == NOTE_ON]
    assert sorted(offs) == [60, 72]
    assert sorted(ons) == [60, 67]  # both span tick 2400
    keys.apply(out)
    assert keys.sounding == {(0, 60), (0, 67)}
    assert sched.position == 5 * PPQ
    # ... and play on from there to the end without stuck notes
    keys.apply(e for _, e in run(sched, 0.1, 0.1 + 2.0))
    assert keys.sounding == set()


def test_seek_while_stopped_moves_without_events():
    sched = Scheduler(two_track_song())
    assert sched.seek(960) == []
    assert sched.position == 960
    assert not sched.playing


def test_loop_wraps_cleanly():
    # 120 bpm: a beat is 0.5 s. Loop bars 1-2 beats 0..4 (ticks 0..1920)
    notes = (Note(0, 60, PPQ), Note(PPQ, 62, PPQ), Note(3 * PPQ, 65, 2 * PPQ),  # 65 crosses the loop end
             Note(4 * PPQ, 67, PPQ),  # starts exactly at the loop end: never played
             Note(2 * PPQ, 50, 6 * PPQ))  # spans the loop start? no: starts inside
    song = Song(tracks=(new_track(0, notes=notes),), tempos=(TempoChange.from_bpm(0, 120),))
    sched = Scheduler(song)
    sched.set_loop(0, 4 * PPQ)
    keys = Keys()
    keys.apply(sched.start(0.0))
    got = run(sched, 0.0, 2.0 * 3 + 0.5)  # three loop passes and a bit
    keys.apply(e for _, e in got)
    ons = [(round(clock, 3), e.data1) for clock, e in got if e.kind == NOTE_ON]
    assert 67 not in [p for _, p in ons]
    # every later pass starts 60 right when the clock reaches the loop end (2.0, 4.0, 6.0 s)
    starts_60 = [c for c, p in ons if p == 60]
    assert starts_60 == pytest.approx([2.0, 4.0, 6.0], abs=1e-6)  # (the first one came from start())
    # at each wrap, the notes held at the loop end get their note-offs before the new pass
    for wrap in (2.0, 4.0, 6.0):
        at_wrap = [e for clock, e in got if abs(clock - wrap) < 1e-6]
        offs = {e.data1 for e in at_wrap if e.kind == NOTE_OFF}
        assert offs == {65, 50}
        first_on = next(i for i, e in enumerate(at_wrap) if e.kind == NOTE_ON)
        assert all(e.kind == NOTE_OFF for e in at_wrap[:first_on])
    assert not sched.finished
    assert sched.position == pytest.approx(TempoMap.of(song).tick(0.5), abs=1)
    assert keys.sounding == {(0, 62)}  # at 0.5 s: 60 has ended, 62 has begun


def test_loop_start_inside_a_note_restarts_it():
    song = Song(tracks=(new_track(0, notes=(Note(0, 48, 8 * PPQ), Note(2 * PPQ, 60, PPQ))),),
                tempos=(TempoChange.from_bpm(0, 120),))
    sched = Scheduler(song)
    sched.set_loop(2 * PPQ, 4 * PPQ)
    keys = Keys()
    keys.apply(sched.start(0.0))
    got = run(sched, 0.0, 2.0 + 1.0 + 0.6)  # wraps at 2.0 and 3.0 s; 60 rings 3.0..3.5 s
    keys.apply(e for _, e in got)
    wrap = [e for clock, e in got if abs(clock - 2.0) < 1e-6]
    assert [(e.kind, e.data1) for e in wrap] == [(NOTE_OFF, 48), (NOTE_ON, 48), (NOTE_ON, 60)]
    assert keys.sounding == {(0, 48)}


def test_playback_after_the_loop_end_plays_to_the_end():
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ), Note(8 * PPQ, 62, PPQ))),))
    sched = Scheduler(song)
    sched.set_loop(0, 4 * PPQ)
    sched.start(0.0, tick=6 * PPQ)
    ons = [e.data1 for _, e in run(sched, 0.0, 2.0) if e.kind == NOTE_ON]
    assert ons == [62]


def test_loop_must_be_a_region():
    with pytest.raises(ValueError):
        Loop(100, 100)
    sched = Scheduler(two_track_song())
    sched.set_loop(None)
    assert sched.loop is None


def test_stop_silences_everything_and_returns_to_the_start_mark():
    song = two_track_song()
    sched = Scheduler(song)
    keys = Keys()
    keys.apply(sched.start(0.0, tick=240))
    keys.apply(e for _, e in run(sched, 0.0, 0.7))
    assert keys.sounding
    out = sched.stop(now=0.7)
    keys.apply(out)
    assert keys.sounding == set()
    assert keys.cleared == set(sched.channels)
    assert {e.data1 for e in out if e.kind == CONTROL} >= {CC_ALL_NOTES_OFF, CC_ALL_SOUND_OFF}
    assert sched.position == 240
    assert sched.advance(5.0) == []


def test_pause_keeps_the_position_and_resume_goes_on():
    song = Song(tracks=(new_track(0, notes=tuple(Note(i * PPQ, 60 + i, PPQ // 2) for i in range(8))),),
                tempos=(TempoChange.from_bpm(0, 120),))
    sched = Scheduler(song)
    events = sched.start(0.0) + [e for _, e in run(sched, 0.0, 1.2)]
    before = [e.data1 for e in events if e.kind == NOTE_ON]
    keys = Keys()
    keys.apply(sched.pause(now=1.2))
    pos = sched.position
    assert pos == pytest.approx(2.4 * PPQ)
    assert sched.advance(50.0) == []  # time passes while paused
    sched.start(now=50.0)
    after = [e.data1 for _, e in run(sched, 50.0, 54.0) if e.kind == NOTE_ON]
    assert before + after == [60 + i for i in range(8)]


def test_set_song_while_playing_follows_the_edit():
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, 4 * PPQ), Note(2 * PPQ, 64, PPQ))),))
    sched = Scheduler(song)
    keys = Keys()
    keys.apply(sched.start(0.0))
    keys.apply(e for _, e in run(sched, 0.0, 0.3))
    edited = Song(tracks=(new_track(0, program=40, notes=(Note(0, 62, 4 * PPQ), Note(2 * PPQ, 65, PPQ))),))
    out = sched.set_song(edited, now=0.3)
    keys.apply(out)
    assert any(e.kind == PRESET and e.data2 == 40 for e in out)
    assert keys.sounding == {(0, 62)}
    keys.apply(e for _, e in run(sched, 0.3, 3.0))
    assert keys.sounding == set()


def test_muted_tracks_are_not_scheduled():
    song = two_track_song()
    from dataclasses import replace

    muted = song.with_track(0, replace(song.tracks[0], mute=True))
    sched = Scheduler(muted)
    sched.start(0.0)
    ons = [e for _, e in run(sched, 0.0, 6.0) if e.kind == NOTE_ON]
    assert {e.track for e in ons} == {1, 2}


def test_tempo_edit_while_playing_keeps_the_tick_and_uses_the_new_tempo():
    notes = tuple(Note(i * PPQ, 60 + i, PPQ // 2) for i in range(8))
    song = Song(tracks=(new_track(0, notes=notes),), tempos=(TempoChange.from_bpm(0, 120),))
    sched = Scheduler(song)
    sched.start(0.0)
    run(sched, 0.0, 1.0)  # two beats at 120 bpm
    assert sched.position == pytest.approx(2 * PPQ)
    faster = Song(tracks=song.tracks, tempos=(TempoChange.from_bpm(0, 240),))
    sched.set_song(faster, now=1.0)
    assert sched.position == pytest.approx(2 * PPQ)
    got = [(round(clock, 3), e.data1) for clock, e in run(sched, 1.0, 1.6) if e.kind == NOTE_ON]
    # 62 (struck right at the edit) rings on, not struck twice; from beat 2 a beat lasts 0.25 s
    assert got == [(1.25, 63), (1.5, 64)]


def test_muting_a_track_while_playing_leaves_the_other_tracks_alone():
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, 8 * PPQ),)),
                        new_track(1, notes=(Note(0, 48, 8 * PPQ),)),
                        new_track(2, notes=(Note(0, 72, 8 * PPQ),), mute=True)))
    sched = Scheduler(song)
    keys = Keys()
    keys.apply(sched.start(0.0))
    keys.apply(e for _, e in run(sched, 0.0, 0.5))
    c0, c1 = sched.layout[0], sched.layout[1]
    assert keys.sounding == {(c0, 60), (c1, 48)}
    from dataclasses import replace

    edited = song.with_track(1, replace(song.tracks[1], mute=True)).with_track(2, replace(song.tracks[2], mute=False))
    out = sched.set_song(edited, now=0.5)
    keys.apply(out)
    notes = [(e.kind, e.data1) for e in out if e.kind in (NOTE_ON, NOTE_OFF)]
    assert notes == [(NOTE_OFF, 48), (NOTE_ON, 72)]  # 60 is not struck again
    assert keys.sounding == {(sched.layout[0], 60), (sched.layout[2], 72)}
    keys.apply(e for _, e in run(sched, 0.5, 5.0))
    assert keys.sounding == set()
