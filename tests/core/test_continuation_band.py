"""core.continuation with a band: parts for tracks the song does not have yet (Part.new)."""

from __future__ import annotations

import pytest

from gtzcomposer.core import Note, apply
from gtzcomposer.core.continuation import Part, WriteMode, place
from gtzcomposer.core.song import new_track
from tests.helpers import melody_song

BAR = 1920


@pytest.mark.parametrize("mode", list(WriteMode))
def test_new_band_tracks_are_added_in_every_write_mode_as_one_undo_step(mode):
    song = melody_song([60, 62, 64, 65] * 2)  # 2 bars
    melody = Part(0, (Note(2 * BAR, 67, 480),))
    drums = Part(-1, (Note(2 * BAR, 36, 120, 90), Note(2 * BAR + 480, 38, 120, 80)), new_track(1, "Drums", is_drum=True))
    bass = Part(-1, (Note(2 * BAR, 36, 960),), new_track(2, "Bass", program=33))
    placement = place(song, (melody, drums, bass), 2 * BAR, 3 * BAR, mode)
    after, inverse = apply(song, placement.edit)
    names = [t.name for t in after.tracks]
    assert names[-2:] == ["Drums", "Bass"]
    d, b = after.tracks[-2], after.tracks[-1]
    assert d.is_drum and d.channel == 9 and d.notes == drums.notes
    assert not b.is_drum and b.channel not in {t.channel for t in after.tracks[:-1]} and b.program == 33
    assert placement.added[len(after.tracks) - 2] == drums.notes
    assert apply(after, inverse)[0] == song


def test_a_part_for_an_existing_track_and_one_for_a_missing_track():
    song = melody_song([60, 62]).add_track(new_track(1, "Bass", program=33, notes=(Note(0, 40, 480),)))
    placement = place(song, (Part(1, (Note(BAR, 43, 480),)), Part(-1, (Note(BAR, 48, 480),), new_track(2, "Chords"))),
                      BAR, 2 * BAR)
    after, _ = apply(song, placement.edit)
    assert [t.name for t in after.tracks] == ["Melody", "Bass", "Chords"]
    assert after.tracks[1].notes == (Note(0, 40, 480), Note(BAR, 43, 480))
