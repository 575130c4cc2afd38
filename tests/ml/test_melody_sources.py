"""Chord (and melody) extraction from the real datasets: a known chord of a known bar per source.

The expected chords were read off the sources by hand (the WJD beat track, the POP909 chord file,
the MusicXML <harmony> elements of the lead sheet, the notes of the chorale and the song)."""

from __future__ import annotations

import pytest

from gtzcomposer.core.chords import Chord, parse_symbol

pytest.importorskip("music21")


def chord_at(rec, tick):
    for a, b, c in rec["chords"]:
        if a <= tick < b:
            return Chord.from_index(c)
    return None


@pytest.fixture
def root(shared_data):
    return shared_data


def _data(root, sub):
    p = root / sub
    if not p.exists():
        pytest.skip(f"{p} is not on this machine")
    return p


def test_wjd_solo_chords_come_from_the_beat_track(root):
    from training import melody_sources as src

    _data(root, "wjd")
    task = next(t for t in src.wjd_tasks(root) if t[0] == "wjd/ArtPepper_Anthropology_Solo")
    assert task[1] == "jazz"
    rec = src.parse_wjd(task[3])
    assert rec["meter"] == [4, 4] and rec["key"] == [10, "major"]  # Bb major (metadata)
    # the WJD numbers the first full bar 0; it starts one (pickup) bar in, at tick 1920
    assert chord_at(rec, 1920) == parse_symbol("Bb6")
    assert chord_at(rec, 1920 * 2) == parse_symbol("Bb6")  # WJD bar 1, beat 1
    assert chord_at(rec, 1920 * 2 + 960) == parse_symbol("G7")  # WJD bar 1, beat 3
    assert chord_at(rec, 1920 * 3) == parse_symbol("C-7")  # WJD bar 2
    assert 0.55 <= rec["swing"] <= 0.7  # a swing solo: off-beat eighths late in the beat
    assert rec["group"] == "tune/anthropology"
    assert len(rec["notes"]) > 500


def test_wjd_blues_solos_are_labelled_blues(root):
    from training import melody_sources as src

    _data(root, "wjd")
    styles = {t[0]: t[1] for t in src.wjd_tasks(root)}
    assert styles["wjd/ArtPepper_BluesForBlanche_Solo"] == "blues"
    assert sum(1 for s in styles.values() if s == "blues") >= 90


def test_pop909_melody_and_chords_on_the_annotated_beats(root):
    from training import melody_sources as src

    d = _data(root, "pop909/songs/001")
    rec = src.parse_pop909(str(d))
    assert rec["meter"] == [4, 4]  # from the downbeats, not the file's 2/4 signature
    # chord_midi.txt: 2.721993 s (the 5th beat = first beat of bar 2) B:maj
    assert chord_at(rec, 1920) == Chord(11, "maj")
    assert chord_at(rec, 0) is None
    assert all(n[0] >= 0 for n in rec["notes"]) and len(rec["notes"]) > 200


def test_openewld_jazz_lead_sheet_chord_symbols(root):
    from training import melody_sources as src

    _data(root, "openewld")
    tasks = src.ewld_tasks(root)
    assert len(tasks) == 123 and all(t[1] == "jazz" for t in tasks)  # Jazz-tagged only
    task = next(t for t in tasks if "Lulu" in t[0])
    rec = src.parse_ewld(task[3])
    # measure 1: C7 then F7; measure 2 starts on Bb7
    assert chord_at(rec, 0) == Chord(0, "7")
    assert chord_at(rec, 960) == Chord(5, "7")
    assert chord_at(rec, 1920) == Chord(10, "7")
    assert rec["meter"] == [4, 4]
    assert rec["group"] == "tune/" + src.norm_title("Lulu's Back in Town")


def test_lieder_chords_from_the_accompaniment(root):
    from training import melody_sources as src

    d = _data(root, "openscore-lieder/scores/Schubert,_Franz/Winterreise,_D.911/13_Die_Post")
    rec = src.parse_lieder(str(next(d.glob("*.mxl"))))
    assert rec["meter"] == [6, 8]
    assert chord_at(rec, 0) == Chord(3, "maj")  # the post-horn call opens on E-flat major
    assert rec["notes"][0][1] == 70  # the voice enters on B-flat 4
    assert rec["chord_source"].startswith("inferred per beat from the piano")


def test_bach_chorale_chords_from_the_four_voices():
    from training import melody_data as md

    path = md._corpus_root() / "bach" / "bwv269.mxl"
    if not path.exists():
        pytest.skip("the music21 corpus has no bwv269")
    _, rec, why = md._parse_task(("bach/bwv269", "classical", "bach", str(path)))
    assert rec is not None, why
    # pickup on beat 3 (tick 960), then bar 1 on G2 G3 B3 D4 G4: G major
    assert chord_at(rec, 960) == Chord(7, "maj")
    assert chord_at(rec, 1440) == Chord(7, "maj")


def test_folk_tunes_get_chords_inferred_from_the_melody():
    from training.melody_sources import melody_chords

    # a C-major arpeggio bar then a G-major one (4/4)
    notes = [[0, 60, 480], [480, 64, 480], [960, 67, 480], [1440, 72, 480],
             [1920, 67, 480], [2400, 71, 480], [2880, 74, 480], [3360, 79, 480]]
    chords = melody_chords(notes, [4, 4])
    assert [(a, b, Chord.from_index(c)) for a, b, c in chords] == [(0, 1920, Chord(0, "maj")),
                                                                 (1920, 3840, Chord(7, "maj"))]
