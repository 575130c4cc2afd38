import pytest
from hypothesis import given
from hypothesis import strategies as st

from gtzcomposer.core import KeySignature, Note, Song, TempoChange, TimeSignature
from gtzcomposer.core.transforms import (
    merge,
    quantize,
    quantize_notes,
    shift,
    shift_notes,
    slice_notes,
    slice_song,
    top_line,
    transpose,
    transpose_notes,
)
from tests.helpers import melody_song, notes, two_track_song


def test_transpose_clamps_and_reports():
    r = transpose_notes(notes((126, 0, 10), (60, 0, 10)), 3)
    assert [n.pitch for n in r.notes] == [127, 63] and r.clamped == 1
    r = transpose_notes(notes((1, 0, 10)), -5)
    assert r.notes[0].pitch == 0 and r.clamped == 1


def test_transpose_song_leaves_drums_and_unselected_tracks():
    s = two_track_song()
    t, clamped = transpose(s, 12)
    assert clamped == 0
    assert [n.pitch for n in t.tracks[0].notes] == [n.pitch + 12 for n in s.tracks[0].notes]
    assert t.tracks[2] == s.tracks[2]  # drums
    t2, _ = transpose(s, 1, tracks=[1])
    assert t2.tracks[0] == s.tracks[0] and t2.tracks[1] != s.tracks[1]
    assert s == two_track_song()  # input untouched


def test_quantize_full_partial_and_lengths():
    ns = notes((60, 130, 100), (62, 470, 250))
    assert [n.start for n in quantize_notes(ns, 120)] == [120, 480]
    half = quantize_notes(ns, 120, strength=0.5)
    assert [n.start for n in half] == [125, 475]
    assert [n.duration for n in half] == [100, 250]
    withlen = quantize_notes(ns, 120, lengths=True)
    assert [n.duration for n in withlen] == [120, 240]
    assert quantize_notes(notes((60, 0, 10)), 120, lengths=True)[0].duration == 120  # never below a step
    assert quantize_notes(ns, 120, strength=0.0) == ns
    triplet = quantize_notes(notes((60, 170, 10)), 160)
    assert triplet[0].start == 160
    with pytest.raises(ValueError):
        quantize_notes(ns, 0)
    with pytest.raises(ValueError):
        quantize_notes(ns, 120, strength=1.5)


@given(st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 127), st.integers(0, 2000)), max_size=30),
       st.sampled_from([30, 60, 120, 160, 240, 480, 1920]))
def test_quantize_lands_on_grid_and_is_idempotent(spec, grid):
    ns = tuple(Note(s, p, d) for s, p, d in spec)
    q = quantize_notes(ns, grid)
    assert all(n.start % grid == 0 for n in q)
    assert quantize_notes(q, grid) == q
    assert all(abs(a.start - b.start) <= grid / 2 for a, b in zip(ns, q))


def test_quantize_song_selected_tracks():
    s = two_track_song()
    s = s.with_track(0, s.tracks[0].with_notes(notes((72, 7, 100))))
    q = quantize(s, 480, tracks=[0])
    assert q.tracks[0].notes[0].start == 0 and q.tracks[1] == s.tracks[1]


def test_shift():
    ns = notes((60, 100, 10), (62, 500, 10))
    assert [n.start for n in shift_notes(ns, -200)] == [0, 300]
    s = shift(melody_song(), 480)
    assert s.tracks[0].notes[0].start == 480


def test_slice():
    s = two_track_song()
    part = slice_song(s, 960, 2400)
    assert [n.start for n in part.tracks[0].notes] == [0, 960]
    assert part.tracks[0].notes[1].duration == 480  # clipped at the end of the range
    assert part.tempos[0].bpm == pytest.approx(100) and part.tempos[1].tick == 960
    assert part.time_signatures[1] == TimeSignature(960, 3, 4)
    assert part.key_signatures == (KeySignature(0, 2, "major"),)
    assert slice_notes(notes((60, 0, 1000)), 0, 100, clip=False)[0].duration == 1000
    with pytest.raises(ValueError):
        slice_song(s, 10, 10)


def test_merge():
    a, b = melody_song(), two_track_song()
    m = merge(a, b, at=1920)
    assert len(m.tracks) == 4
    assert m.tempos == a.tempos
    assert m.tracks[1].notes[0].start == 1920


def test_top_line():
    chord_then_melody = notes((60, 0, 480), (64, 0, 480), (67, 0, 960), (72, 480, 480))
    line = top_line(chord_then_melody)
    assert [(n.pitch, n.start, n.duration) for n in line] == [(67, 0, 480), (72, 480, 480)]
    assert top_line(()) == ()


def test_song_defaults_survive_transforms():
    s = Song(tempos=(TempoChange.from_bpm(0, 90),))
    assert shift(s, 10).tempos == s.tempos


def test_controller_changes_travel_with_shift_slice_merge_and_excerpt():
    from gtzcomposer.core import ControlChange, Song, new_track
    from gtzcomposer.core.transforms import excerpt, merge, shift, slice_song

    pedal = (ControlChange(0, 64, 127), ControlChange(2000, 64, 0), ControlChange(2400, 64, 127),
             ControlChange(9000, 64, 0))
    song = Song(tracks=(new_track(0, notes=(Note(1920, 60, 960), Note(2880, 62, 960)), controls=pedal),))
    assert shift(song, 100).tracks[0].controls[1] == ControlChange(2100, 64, 0)
    assert shift(song, -500).tracks[0].controls[:2] == (ControlChange(0, 64, 127), ControlChange(1500, 64, 0))
    # a slice from bar 2: the pedal held since 0 is down at its start, then the changes inside it
    assert slice_song(song, 1920, 3840).tracks[0].controls == (
        ControlChange(0, 64, 127), ControlChange(80, 64, 0), ControlChange(480, 64, 127))
    assert merge(Song(), song, at=480).tracks[0].controls[1] == ControlChange(2480, 64, 0)
    # what "Drag MIDI" carries out: the notes from bar 2 on, with their pedal
    assert excerpt(song, 0).tracks[0].controls == (
        ControlChange(0, 64, 127), ControlChange(80, 64, 0), ControlChange(480, 64, 127))
