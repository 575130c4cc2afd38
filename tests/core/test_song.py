import pytest
from hypothesis import given
from hypothesis import strategies as st

from gtzcomposer.core import (
    DRUM_CHANNEL,
    GM_PROGRAM_NAMES,
    KeySignature,
    Note,
    Song,
    SongError,
    TempoChange,
    TimeSignature,
    Track,
    gm_family,
    new_track,
    note_name,
)
from tests.helpers import melody_song, two_track_song


def test_note_validation_and_end():
    n = Note(start=10, pitch=60, duration=5, velocity=7)
    assert n.end == 15
    assert n.moved(5, 2) == Note(15, 62, 5, 7)
    for bad in (dict(pitch=128), dict(pitch=-1), dict(velocity=0), dict(velocity=128), dict(start=-1),
                dict(duration=-1), dict(pitch=60.0), dict(pitch=True)):
        kw = dict(start=0, pitch=60, duration=1, velocity=1) | bad
        with pytest.raises(SongError):
            Note(**kw)


def test_zero_length_notes_allowed():
    assert Note(0, 60, 0).end == 0


def test_track_keeps_notes_sorted_and_duplicates():
    a, b = Note(100, 60, 10), Note(0, 64, 10)
    t = Track(notes=(a, b, a))
    assert t.notes == (b, a, a)
    assert t.end_tick == 110
    assert t.with_notes([a]).notes == (a,)
    with pytest.raises(SongError):
        Track(program=128)
    with pytest.raises(SongError):
        Track(channel=16)


def test_tempo_change():
    t = TempoChange.from_bpm(0, 120)
    assert t.uspq == 500_000 and t.bpm == 120
    with pytest.raises(SongError):
        TempoChange.from_bpm(0, 0)
    with pytest.raises(SongError):
        TempoChange(0, 0)


def test_time_signature():
    assert TimeSignature(0, 3, 4).bar_ticks == 1440
    assert TimeSignature(0, 6, 8).bar_ticks == 1440
    assert TimeSignature(0, 6, 8).beat_ticks == 240
    assert str(TimeSignature(0, 7, 8)) == "7/8"
    with pytest.raises(SongError):
        TimeSignature(0, 4, 3)
    with pytest.raises(SongError):
        TimeSignature(0, 0, 4)


@pytest.mark.parametrize(
    "text,tonic,mode,sharps",
    [("C", 0, "major", 0), ("G", 7, "major", 1), ("F", 5, "major", -1), ("A minor", 9, "minor", 0),
     ("E minor", 4, "minor", 1), ("Bbm", 10, "minor", -5), ("F# major", 6, "major", 6), ("Db", 1, "major", -5),
     ("c minor", 0, "minor", -3), ("Ebmaj", 3, "major", -3), ("G#min", 8, "minor", 5)],
)
def test_key_parse_and_sharps(text, tonic, mode, sharps):
    k = KeySignature.parse(text)
    assert (k.tonic, k.mode, k.sharps) == (tonic, mode, sharps)
    assert KeySignature.from_sharps(0, sharps, mode == "minor") == k


@pytest.mark.parametrize("text,name", [("Gb", "Gb major"), ("F#", "F# major"), ("Cb", "Cb major"), ("B", "B major"),
                                       ("C#", "C# major"), ("Db", "Db major"), ("eb minor", "Eb minor"),
                                       ("d# minor", "D# minor"), ("Bb", "Bb major"), ("A", "A major")])
def test_enharmonic_spelling_is_kept(text, name):
    assert KeySignature.parse(text).name == name


def test_key_scale_and_errors():
    assert KeySignature(0, 0, "major").scale == {0, 2, 4, 5, 7, 9, 11}
    assert KeySignature(0, 9, "minor").scale == {9, 11, 0, 2, 4, 5, 7}
    assert KeySignature(0, 2, "major").name == "D major"
    with pytest.raises(SongError):
        KeySignature.parse("H")
    with pytest.raises(SongError):
        KeySignature(0, 0, "dorian")
    with pytest.raises(SongError):
        KeySignature(0, 0, "major", 2)  # two sharps do not spell C major
    with pytest.raises(SongError):
        KeySignature.from_sharps(0, 8, False)
    with pytest.raises(SongError):
        KeySignature.parse("")


@given(st.integers(-7, 7), st.booleans())
def test_key_sharps_round_trip(sharps, minor):
    assert KeySignature.from_sharps(0, sharps, minor).sharps == sharps


def test_song_maps_are_normalised():
    s = Song(tempos=(TempoChange(960, 400_000),), time_signatures=[TimeSignature(1920, 3, 4)])
    assert s.tempos == (TempoChange(0), TempoChange(960, 400_000))
    assert s.time_signatures == (TimeSignature(0), TimeSignature(1920, 3, 4))
    assert isinstance(s.tracks, tuple)
    # the last event of a tick wins
    s2 = Song(tempos=(TempoChange(0, 1), TempoChange(0, 2)))
    assert s2.tempos == (TempoChange(0, 2),)
    assert Song(key_signatures=()).key is None
    with pytest.raises(SongError):
        Song(ppq=96)


def test_song_queries():
    s = two_track_song()
    assert s.note_count == 11
    assert s.end_tick == 3840
    assert s.tempo_at(1919).bpm == 100 and s.tempo_at(1920).bpm == pytest.approx(140, rel=1e-5)
    assert s.time_signature_at(2000).numerator == 3
    assert s.key_at(0).name == "D major"
    assert Song(key_signatures=(KeySignature(100, 2),)).key_at(50) is None


def test_audible_tracks_solo_and_mute():
    s = two_track_song()
    assert s.audible_tracks() == (0, 1, 2)
    muted = s.with_track(1, s.tracks[1].__class__(**{**_fields(s.tracks[1]), "mute": True}))
    assert muted.audible_tracks() == (0, 2)
    soloed = muted.with_track(1, muted.tracks[1].__class__(**{**_fields(muted.tracks[1]), "solo": True}))
    assert soloed.audible_tracks() == (1,)


def _fields(track):
    return {f: getattr(track, f) for f in track.__dataclass_fields__}


def test_track_building():
    s = melody_song()
    s2 = s.add_track(new_track(1, program=33))
    assert len(s2.tracks) == 2 and s2.tracks[1].program == 33
    s3 = s2.add_track(new_track(2, "first"), 0)
    assert s3.tracks[0].name == "first"
    assert s3.remove_track(0) == s2
    assert len(s.tracks) == 1  # the original is untouched


def test_new_track_channels_skip_drums():
    chans = [new_track(i).channel for i in range(16)]
    assert DRUM_CHANNEL not in chans
    assert new_track(3, is_drum=True).channel == DRUM_CHANNEL
    assert new_track(3, is_drum=True).name == "Drums"


def test_names():
    assert note_name(60) == "C4" and note_name(21) == "A0" and note_name(127) == "G9"
    assert GM_PROGRAM_NAMES[0] == "Acoustic Grand Piano" and GM_PROGRAM_NAMES[127] == "Gunshot"
    assert gm_family(33) == "Bass" and gm_family(127) == "Sound Effects"


def test_controller_changes_are_kept_sorted_one_per_tick_and_checked():
    from gtzcomposer.core import PITCH_BEND, ControlChange, SongError, Track

    t = Track(controls=(ControlChange(480, 64, 0), ControlChange(0, 64, 127), ControlChange(480, 64, 90),
                        ControlChange(0, PITCH_BEND, -8192)))
    # sorted by tick and controller; of two values at one tick the last given wins
    assert t.controls == (ControlChange(0, 64, 127), ControlChange(0, PITCH_BEND, -8192), ControlChange(480, 64, 90))
    assert t.controls_of(64) == (ControlChange(0, 64, 127), ControlChange(480, 64, 90))
    assert t.controls_between(240, 480) == (ControlChange(240, 64, 127), ControlChange(240, PITCH_BEND, -8192),
                                            ControlChange(480, 64, 90))
    for bad in ((0, 64, 128), (0, PITCH_BEND, 8192), (0, 129, 0), (-1, 64, 0)):
        with pytest.raises(SongError):
            ControlChange(*bad)
