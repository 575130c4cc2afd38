"""Compiling a song into events: channels, ordering, mute/solo."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gtzcomposer.audio.events import (
    DRUM_BANK,
    NOTE_OFF,
    NOTE_ON,
    channel_layout,
    compile_events,
)
from gtzcomposer.core import PPQ, Note, Song, new_track
from tests.helpers import two_track_song


def test_synth_layout_gives_each_track_its_own_channel_and_drums_channel_10():
    tracks = [new_track(i, program=i) for i in range(20)]
    tracks[3] = replace(tracks[3], channel=0)  # shares channel 0 with track 0 in the file
    tracks.append(new_track(20, is_drum=True))
    tracks.append(new_track(21, is_drum=True))
    song = Song(tracks=tuple(tracks))
    layout = channel_layout(song, "synth")
    assert len(set(layout.values())) == len(tracks)
    assert layout[20] == 9 and layout[21] == 25
    assert all(ch % 16 != 9 for i, ch in layout.items() if i < 20)
    midi = channel_layout(song, "midi")
    assert midi[3] == midi[0] == 0 and midi[20] == midi[21] == 9


def test_setups_and_note_order():
    song = Song(tracks=(
        new_track(0, program=5, notes=(Note(0, 60, PPQ), Note(PPQ, 60, PPQ), Note(PPQ, 64, 0)), volume=90, pan=20),
        new_track(1, is_drum=True, program=25, notes=(Note(0, 36, 10),)),
    ))
    setups, events = compile_events(song)
    assert [(s.channel, s.bank, s.program, s.volume, s.pan) for s in setups] == [
        (0, 0, 5, 90, 20), (9, DRUM_BANK, 25, 100, 64)]
    at_beat = [(e.kind, e.data1) for e in events if e.tick == PPQ and e.channel == 0]
    # the ending 60 is released before the next 60 starts; a zero-length note's off follows its on
    assert at_beat == [(NOTE_OFF, 60), (NOTE_ON, 60), (NOTE_ON, 64), (NOTE_OFF, 64)]
    assert events == sorted(events)


def test_only_audible_tracks_are_compiled():
    song = two_track_song()
    muted = song.with_track(1, replace(song.tracks[1], mute=True))
    assert {e.track for e in compile_events(muted)[1]} == {0, 2}
    solo = muted.with_track(1, replace(muted.tracks[1], solo=True))  # solo wins over mute
    assert {e.track for e in compile_events(solo)[1]} == {1}


# --- more tracks than FluidSynth has channels ------------------------------------------------
def _many(n, drum=False, programs=1, pans=1):
    from gtzcomposer.core import Note, Song, new_track

    return Song(tracks=tuple(new_track(i, is_drum=drum, program=i % programs, pan=64 - i % pans,
                                       notes=(Note(i, 60, 10),)) for i in range(n)))


def test_up_to_240_melodic_tracks_get_a_channel_each():
    from gtzcomposer.audio.events import MELODIC_CHANNELS, channel_layout

    layout = channel_layout(_many(240, programs=128, pans=7))
    assert sorted(layout.values()) == list(MELODIC_CHANNELS)


def test_more_tracks_share_channels_between_tracks_that_sound_alike():
    from gtzcomposer.audio.events import channel_layout, channel_setups

    song = _many(1000, programs=50, pans=3)  # 50 programs x 3 pans = 150 sounds
    layout = channel_layout(song)
    assert len(layout) == 1000 and len(set(layout.values())) == 150
    by_channel = {}
    for s in channel_setups(song, layout):
        by_channel.setdefault(s.channel, set()).add((s.program, s.volume, s.pan))
    assert all(len(v) == 1 for v in by_channel.values())  # a shared channel plays one sound


def test_too_many_sounds_share_by_program():
    from gtzcomposer.audio.events import channel_layout

    song = _many(1000, programs=128, pans=5)  # 640 sounds, 128 programs
    assert len(set(channel_layout(song).values())) == 128


def test_drum_tracks_share_up_to_16_kits_and_refuse_more_clearly():
    from gtzcomposer.audio.events import DRUM_CHANNELS, ChannelLayoutError, channel_layout

    layout = channel_layout(_many(300, drum=True, programs=16))
    assert set(layout.values()) == set(DRUM_CHANNELS)
    with pytest.raises(ChannelLayoutError, match="17 different drum kits; the synth can play at most 16"):
        channel_layout(_many(300, drum=True, programs=17))


def test_the_scheduler_takes_a_song_of_1000_tracks():
    from gtzcomposer.audio.scheduler import Scheduler

    s = Scheduler(_many(1000, programs=128))
    assert len(s.events) == 2000
