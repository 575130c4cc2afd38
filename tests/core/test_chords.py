"""The chord vocabulary: symbols from every source read into one Chord type; chord inference."""

from __future__ import annotations

import pytest

from gtzcomposer.core import Note
from gtzcomposer.core.chords import (
    N_CHORD_CLASSES,
    QUALITIES,
    Chord,
    ChordError,
    chord_index,
    infer_chords,
    parse_symbol,
)


@pytest.mark.parametrize("text, root, quality", [
    ("C", 0, "maj"), ("Cm", 0, "min"), ("C-7", 0, "min7"), ("Bb7", 10, "7"), ("F#m7b5", 6, "hdim7"),
    ("Eø", 4, "hdim7"), ("Co7", 0, "dim7"), ("Cdim", 0, "dim"), ("CΔ", 0, "maj7"), ("Cj7", 0, "maj7"),
    ("Cmaj7", 0, "maj7"), ("C7alt", 0, "7"), ("G9", 7, "7"), ("Ab13", 8, "7"), ("D/F#", 2, "maj"),
    ("Dm7/G", 2, "min7"), ("C6", 0, "6"), ("Cm6", 0, "min6"), ("C+", 0, "aug"), ("C7sus4", 0, "sus4"),
    ("C-maj7", 0, "minmaj7"), ("Ebm9", 3, "min7"), ("B#", 0, "maj"), ("Cb", 11, "maj"),
    # Harte (POP909) and MusicXML kinds
    ("C:maj7", 0, "maj7"), ("A:min", 9, "min"), ("G:7", 7, "7"), ("F#:hdim7", 6, "hdim7"),
    ("Bb:dominant", 10, "7"), ("E:minor-seventh", 4, "min7"), ("D:sus4(b7)", 2, "sus4"),
])
def test_symbols_from_every_source(text, root, quality):
    assert parse_symbol(text) == Chord(root, quality)


@pytest.mark.parametrize("text", ["N", "NC", "N.C.", " "])
def test_no_chord(text):
    assert parse_symbol(text) is None


@pytest.mark.parametrize("text", ["H7", "C:xyz", "7", "Cqq"])
def test_unreadable_symbols_raise(text):
    with pytest.raises(ChordError, match="chord symbol"):
        parse_symbol(text)


def test_pitch_classes_symbol_index_round_trip():
    assert Chord(7, "7").pitch_classes == {7, 11, 2, 5}
    assert Chord(10, "min7").symbol == "Bbm7"
    seen = set()
    for q in QUALITIES:
        for r in range(12):
            c = Chord(r, q)
            assert Chord.from_index(c.index) == c
            assert parse_symbol(c.symbol) == c
            seen.add(c.index)
    assert seen == set(range(N_CHORD_CLASSES - 1))
    assert Chord.from_index(chord_index(None)) is None
    assert Chord(11, "maj").transposed(1) == Chord(0, "maj")
    with pytest.raises(ChordError):
        Chord(12, "maj")


def test_infer_chords_from_notes():
    bar = 1920
    notes = [Note(0, 60, 480), Note(480, 64, 480), Note(960, 67, 960),  # C E G: C major
             Note(bar, 57, 960), Note(bar + 960, 60, 480), Note(bar + 1440, 64, 480),  # A C E: A minor
             Note(2 * bar, 55, 480), Note(2 * bar + 480, 59, 480), Note(2 * bar + 960, 62, 480),
             Note(2 * bar + 1440, 65, 480)]  # G B D F: G7
    spans = [(0, bar), (bar, 2 * bar), (2 * bar, 3 * bar), (3 * bar, 4 * bar)]
    assert infer_chords(notes, spans) == [Chord(0, "maj"), Chord(9, "min"), Chord(7, "7"), None]
