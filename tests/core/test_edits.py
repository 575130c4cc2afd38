import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gtzcomposer.core import (
    AddNotes,
    AddTrack,
    EditError,
    KeySignature,
    Macro,
    MoveNotes,
    MoveTrack,
    Note,
    RemoveNotes,
    RemoveTrack,
    ReplaceNotes,
    ResizeNotes,
    SetKeySignatures,
    SetTempos,
    SetTimeSignatures,
    SetTitle,
    SetVelocities,
    TempoChange,
    TimeSignature,
    UpdateTrack,
    apply,
    new_track,
)
from tests.helpers import notes, random_song, two_track_song


def roundtrip(song, edit):
    after, inverse = apply(song, edit)
    back, again = apply(after, inverse)
    assert back == song
    assert apply(back, again)[0] == after  # the inverse of the inverse redoes
    return after


def test_add_remove_notes():
    s = two_track_song()
    n = Note(100, 90, 10)
    after = roundtrip(s, AddNotes(0, [n]))
    assert n in after.tracks[0].notes
    after = roundtrip(s, RemoveNotes(0, s.tracks[0].notes[:2]))
    assert len(after.tracks[0].notes) == len(s.tracks[0].notes) - 2
    with pytest.raises(EditError):
        apply(s, RemoveNotes(0, [n]))
    with pytest.raises(EditError):
        apply(s, AddNotes(7, [n]))


def test_duplicate_notes_removed_one_at_a_time():
    n = Note(0, 60, 10)
    s = two_track_song().with_track(0, new_track(0, notes=(n, n)))
    after = roundtrip(s, RemoveNotes(0, [n]))
    assert after.tracks[0].notes == (n,)
    with pytest.raises(EditError):
        apply(s, RemoveNotes(0, [n, n, n]))


def test_move_resize_velocity():
    s = two_track_song()
    first = s.tracks[0].notes[:2]
    after = roundtrip(s, MoveNotes(0, first, 240, -2))
    assert [(n.start, n.pitch) for n in after.tracks[0].notes[:2]] == [(240, 70), (720, 72)]
    with pytest.raises(EditError):
        MoveNotes(0, first, -1)
    with pytest.raises(EditError):
        MoveNotes(0, first, 0, 100)
    after = roundtrip(s, ResizeNotes(0, first, dstart=120))
    assert [(n.start, n.duration) for n in after.tracks[0].notes[:2]] == [(120, 360), (600, 360)]
    after = roundtrip(s, ResizeNotes(0, first, dend=-1000))
    assert all(n.duration == 1 for n in after.tracks[0].notes[:2])
    after = roundtrip(s, SetVelocities(0, first, [1, 300]))
    assert [n.velocity for n in after.tracks[0].notes[:2]] == [1, 127]
    with pytest.raises(EditError):
        SetVelocities(0, first, [1])


def test_track_edits():
    s = two_track_song()
    after = roundtrip(s, AddTrack(new_track(3, "New")))
    assert after.tracks[-1].name == "New"
    after = roundtrip(s, AddTrack(new_track(3, "Top"), 0))
    assert after.tracks[0].name == "Top"
    with pytest.raises(EditError):
        apply(s, AddTrack(new_track(3), 9))
    after = roundtrip(s, RemoveTrack(1))
    assert [t.name for t in after.tracks] == ["Lead", "Drums"]
    after = roundtrip(s, UpdateTrack(0, (("name", "Flute"), ("program", 73), ("mute", True), ("color", "#000000"))))
    assert (after.tracks[0].name, after.tracks[0].mute) == ("Flute", True)
    with pytest.raises(EditError):
        apply(s, UpdateTrack(0, (("notes", ()),)))
    after = roundtrip(s, MoveTrack(0, 2))
    assert [t.name for t in after.tracks] == ["Bass", "Drums", "Lead"]
    with pytest.raises(EditError):
        apply(s, MoveTrack(0, 3))
    with pytest.raises(EditError):
        apply(s, RemoveTrack(3))


def test_map_edits():
    s = two_track_song()
    after = roundtrip(s, SetTempos((TempoChange.from_bpm(0, 60),)))
    assert after.tempos[0].bpm == 60
    after = roundtrip(s, SetTimeSignatures((TimeSignature(0, 6, 8),)))
    assert after.time_signatures == (TimeSignature(0, 6, 8),)
    after = roundtrip(s, SetKeySignatures((KeySignature.parse("Bb minor"),)))
    assert after.key.name == "Bb minor"
    after = roundtrip(s, SetTitle("x"))
    assert after.title == "x"


def test_macro_is_one_step_and_undoes_in_reverse():
    s = two_track_song()
    n = Note(0, 50, 10)
    m = Macro((AddNotes(1, [n]), MoveNotes(1, [n], 10), UpdateTrack(1, (("name", "B"),))), "Paste")
    after = roundtrip(s, m)
    assert Note(10, 50, 10) in after.tracks[1].notes and after.tracks[1].name == "B"
    assert apply(s, m)[1].label == "Paste"


def test_failed_edit_leaves_song_alone():
    s = two_track_song()
    bad = Macro((AddNotes(0, [Note(0, 1, 1)]), RemoveNotes(0, [Note(5, 5, 5)])))
    with pytest.raises(EditError):
        apply(s, bad)
    assert s == two_track_song()


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.data())
def test_random_edit_sequences_undo_exactly(seed, data):
    song = random_song(seed, n_notes=10)
    history = [song]
    inverses = []
    for _ in range(data.draw(st.integers(1, 8))):
        t = data.draw(st.integers(0, len(song.tracks) - 1))
        ns = song.tracks[t].notes
        chosen = data.draw(st.lists(st.sampled_from(ns), max_size=3, unique=True)) if ns else []
        kind = data.draw(st.sampled_from(["add", "remove", "move", "resize", "vel", "track"]))
        if kind == "add":
            edit = AddNotes(t, notes((data.draw(st.integers(0, 127)), data.draw(st.integers(0, 5000)), 100)))
        elif kind == "remove":
            edit = RemoveNotes(t, chosen)
        elif kind == "move":
            edit = ReplaceNotes(t, tuple(chosen), tuple(n.moved(7, 0) for n in chosen))
        elif kind == "resize":
            edit = ResizeNotes(t, chosen, dend=data.draw(st.integers(-500, 500)))
        elif kind == "vel":
            edit = SetVelocities(t, chosen, [64] * len(chosen))
        else:
            edit = UpdateTrack(t, (("volume", data.draw(st.integers(0, 127))),))
        song, inv = apply(song, edit)
        history.append(song)
        inverses.append(inv)
    for inv, expected in zip(reversed(inverses), reversed(history[:-1])):
        song, _ = apply(song, inv)
        assert song == expected


def test_replace_controls_applies_and_its_inverse_restores_exactly():
    from gtzcomposer.core import PITCH_BEND, ControlChange, ReplaceControls, Song, new_track

    pedal = (ControlChange(0, 64, 127), ControlChange(480, 64, 0), ControlChange(240, PITCH_BEND, 100))
    song = Song(tracks=(new_track(0, controls=pedal),))
    # move the release later and put a new press at 960; a change at 240 of the bend is replaced
    edit = ReplaceControls(0, (ControlChange(480, 64, 0),),
                           (ControlChange(720, 64, 0), ControlChange(960, 64, 127), ControlChange(240, PITCH_BEND, -5)))
    after, inverse = apply(song, edit)
    assert after.tracks[0].controls == (ControlChange(0, 64, 127), ControlChange(240, PITCH_BEND, -5),
                                        ControlChange(720, 64, 0), ControlChange(960, 64, 127))
    back, _ = apply(after, inverse)
    assert back == song
    with pytest.raises(EditError, match="controller 64 change at tick 5 is not in the track"):
        apply(song, ReplaceControls(0, (ControlChange(5, 64, 0),), ()))
