"""Writing a continuation into a song: replace the bars, insert bars, or a new track; one undo step."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gtzcomposer.core import EditError, Note, TempoChange, TimeSignature, apply
from gtzcomposer.core.continuation import Part, WriteMode, place
from tests.helpers import melody_song, two_track_song

BAR = 1920


def middle_song():
    """Two bars of melody with a third bar after them (the continuation starts at bar 2)."""
    return melody_song(pitches=[60, 62, 64, 65, 67, 69, 71, 72, 74, 76, 77, 79], step=480)


def continuation(start=BAR, n=4):
    return tuple(Note(start + i * 480, 84 - i, 480) for i in range(n))


def test_replace_takes_the_place_of_the_notes_in_those_bars():
    song = middle_song()
    cont = continuation()
    out = place(song, [Part(0, cont)], BAR, 2 * BAR, WriteMode.REPLACE)
    after, inverse = apply(song, out.edit)
    notes = after.tracks[0].notes
    assert len(notes) == len(song.tracks[0].notes)  # four replaced by four: nothing stacked
    assert [n for n in notes if BAR <= n.start < 2 * BAR] == sorted(cont)
    assert [n for n in notes if n.start < BAR] == [n for n in song.tracks[0].notes if n.start < BAR]
    assert [n for n in notes if n.start >= 2 * BAR] == [n for n in song.tracks[0].notes if n.start >= 2 * BAR]
    assert out.added == {0: tuple(sorted(cont))}
    assert out.removed == {0: tuple(n for n in song.tracks[0].notes if BAR <= n.start < 2 * BAR)}
    assert apply(after, inverse)[0] == song


def test_replace_cuts_a_note_that_rings_into_the_bars():
    song = melody_song(pitches=[60], step=BAR + 480)
    after, _ = apply(song, place(song, [Part(0, continuation())], BAR, 2 * BAR).edit)
    assert after.tracks[0].notes[0] == Note(0, 60, BAR, 90)


def test_insert_moves_later_notes_of_every_track_and_later_song_changes():
    song = two_track_song()
    song = replace(song, tempos=(TempoChange.from_bpm(0, 100), TempoChange.from_bpm(2 * BAR, 140)),
                   time_signatures=(TimeSignature(0, 4, 4), TimeSignature(3 * BAR, 3, 4)))
    start = 960
    cont = continuation(start, 2)
    out = place(song, [Part(0, cont)], start, start + BAR, WriteMode.INSERT)
    after, inverse = apply(song, out.edit)
    for i, (t0, t1) in enumerate(zip(song.tracks, after.tracks)):
        expected = [n for n in t0.notes if n.start < start] + [n.moved(BAR) for n in t0.notes if n.start >= start]
        if i == 0:
            expected += list(cont)
        assert list(t1.notes) == sorted(expected)
    assert [t.tick for t in after.tempos] == [0, 3 * BAR]
    assert [s.tick for s in after.time_signatures] == [0, 4 * BAR]
    assert set(out.added[0]) >= set(cont) and apply(after, inverse)[0] == song


def test_new_track_leaves_the_others_alone():
    song = two_track_song()
    cont = continuation(3840)
    out = place(song, [Part(1, cont)], 3840, 3840 + BAR, WriteMode.NEW_TRACK)
    after, _ = apply(song, out.edit)
    assert after.tracks[:3] == song.tracks
    new = after.tracks[3]
    assert new.notes == tuple(sorted(cont)) and new.program == song.tracks[1].program
    assert new.name == "Bass (continued)" and new.channel not in {t.channel for t in song.tracks}
    assert out.added == {3: new.notes} and out.removed == {}


def test_several_parts_become_one_edit():
    song = two_track_song()
    parts = [Part(0, continuation(3840)), Part(1, (Note(3840, 36, BAR),))]
    out = place(song, parts, 3840, 3840 + BAR, "new_track")
    after, inverse = apply(song, out.edit)
    assert len(after.tracks) == 5 and apply(after, inverse)[0] == song
    assert after.tracks[3].channel != after.tracks[4].channel


def test_a_gone_track_or_nothing_to_write_is_an_edit_error():
    song = melody_song()
    with pytest.raises(EditError, match="gone"):
        place(song, [Part(3, continuation())], BAR, 2 * BAR)
    with pytest.raises(EditError, match="no notes"):
        place(song, [Part(0, ())], BAR, 2 * BAR)


def test_a_part_for_a_track_the_song_lacks_makes_that_track_in_every_mode():
    from gtzcomposer.core import new_track

    song = melody_song()
    drums = new_track(5, is_drum=True)
    groove = (Note(BAR * 2, 36, 120), Note(BAR * 2 + 480, 38, 120))
    for mode in WriteMode:
        parts = [Part(0, continuation(BAR * 2)), Part(-1, groove, new=drums)]
        out = place(song, parts, BAR * 2, BAR * 3, mode)
        after, inverse = apply(song, out.edit)
        assert after.tracks[-1].is_drum and after.tracks[-1].notes == groove and after.tracks[-1].channel == 9
        assert len(after.tracks) == len(song.tracks) + (2 if mode is WriteMode.NEW_TRACK else 1)
        assert apply(after, inverse)[0] == song
