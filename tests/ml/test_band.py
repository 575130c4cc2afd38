"""The genre band: MMA grooves (bass, comping, drums) and GMD drums under a chord progression."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from gtzcomposer.core import Note, Song, TimeSignature
from gtzcomposer.core.chords import Chord, ChordSpan
from gtzcomposer.core.edits import Macro, apply
from gtzcomposer.ml.band import (
    GENRES,
    NoGrooveError,
    band_edits,
    band_fit,
    band_genre,
    play_band,
    rank_score,
    with_band,
)
from gtzcomposer.ml.band.drums import load_bank
from gtzcomposer.ml.band.styles import GMD_STYLES
from tests.helpers import melody_song

needs_mma = pytest.mark.skipif(shutil.which("mma") is None,
                               reason="the program mma (Debian package mma) is not installed")

PROG = [Chord(0, "maj"), Chord(9, "min"), Chord(5, "maj"), Chord(7, "7"), Chord(2, "min7"), Chord(7, "maj"),
        Chord(0, "maj"), Chord(4, "min")]


def _spans(song: Song, bars: int, offset: int = 0):
    bt = song.time_signatures[0].bar_ticks
    return [ChordSpan(offset + i * bt, offset + (i + 1) * bt, PROG[i % len(PROG)]) for i in range(bars)]


def _bar_notes(notes, bt, i):
    return [n for n in notes if i * bt <= n.start < (i + 1) * bt]


def _sounding(notes, bt, i):
    """Notes sounding in bar i after its first 16th (held chords count; tails of the last bar's do not)."""
    return [n for n in notes if n.start < (i + 1) * bt and n.end > i * bt + 120]


@pytest.fixture(scope="module")
def takes_44():
    """Every genre, 8 bars of 4/4, 4 variations (one MMA run per genre)."""
    song = Song(time_signatures=(TimeSignature(0, 4, 4),))
    spans = _spans(song, 8)
    return song, spans, {g: play_band(song, [spans] * 4, g, ["chords", "bass", "drums"], 0, 8 * 1920, seed=11)
                         for g in GENRES}


@needs_mma
@pytest.mark.parametrize("genre", GENRES)
def test_every_genre_plays_bass_chords_and_drums_in_every_bar(takes_44, genre):
    song, spans, all_takes = takes_44
    bt = 1920
    for take in all_takes[genre]:
        bass = take.parts["bass"].notes
        chords = take.parts["chords"].notes
        for i in range(8):
            b = _bar_notes(bass, bt, i)
            assert b, f"{genre}: no bass in bar {i + 1}"
            assert all(28 <= n.pitch <= 60 for n in b), f"{genre}: bass out of the bass register in bar {i + 1}"
            pcs = {n.pitch % 12 for n in _sounding(chords, bt, i)}
            assert len(pcs) >= 3, f"{genre}: chord part has {len(pcs)} pitch classes in bar {i + 1}"
            assert pcs <= PROG[i].pitch_classes | {(PROG[i].root + 2) % 12, (PROG[i].root + 11) % 12,
                                                   (PROG[i].root + 10) % 12, (PROG[i].root + 9) % 12}, \
                f"{genre}: chord part plays far from {PROG[i]} in bar {i + 1}: {sorted(pcs)}"
        # one line: no two bass notes overlap
        assert all(a.end <= b.start for a, b in zip(bass, bass[1:])), f"{genre}: bass is not one line"
        drums = take.parts.get("drums")
        if genre == "classical":
            assert drums is None or not drums.notes
        else:
            assert drums.is_drum and drums.track_name == "Drums"
            for i in range(8):
                assert _bar_notes(drums.notes, bt, i), f"{genre}: no drums in bar {i + 1}"
        assert take.parts["chords"].track_name == "Chords" and take.parts["bass"].track_name == "Bass"


@needs_mma
@pytest.mark.parametrize("genre", GENRES)
def test_bass_on_chord_tones_at_downbeats_and_roots_at_changes(takes_44, genre):
    song, spans, all_takes = takes_44
    for take in all_takes[genre]:
        fit = band_fit(song, [], spans, take.parts["bass"].notes, 0, 8 * 1920)
        assert fit.bass_tone_rate >= 0.85, f"{genre}: bass on chord tones at {fit.bass_tone_rate:.2f} of downbeats"
        assert fit.bass_root_rate >= 0.6, f"{genre}: bass on roots at {fit.bass_root_rate:.2f} of chord changes"


@needs_mma
def test_grooves_differ_between_genres_and_variations_differ(takes_44):
    _, _, all_takes = takes_44

    def signature(take):
        """Onset grid (16ths) of drums and comping, and the bass rhythm: what makes a groove."""
        sig = Counter()
        for part in ("drums", "chords", "bass"):
            p = take.parts.get(part)
            for n in (p.notes if p else ()):
                sig[(part, n.pitch if part == "drums" else 0, round(n.start / 120) % 16)] += 1
        return sig

    def distance(a, b):
        total = sum(a.values()) + sum(b.values())
        return sum(abs(a[k] - b[k]) for k in set(a) | set(b)) / total

    sigs = {g: signature(t[0]) for g, t in all_takes.items()}
    for i, g in enumerate(GENRES):
        for h in GENRES[i + 1:]:
            assert distance(sigs[g], sigs[h]) > 0.3, f"{g} and {h} grooves are too alike"
    for g, takes in all_takes.items():
        notes = [tuple(n for p in t.parts.values() for n in p.notes) for t in takes]
        assert len(set(notes)) == len(notes), f"{g}: two variations have the same band"
        assert len({t.grooves[0] for t in takes}) >= min(2, len(set(t.grooves[0] for t in takes))), g


@needs_mma
def test_fills_close_phrases_where_the_genre_has_them(takes_44):
    _, _, all_takes = takes_44
    take = all_takes["metal"][0]
    assert take.grooves[3] != take.grooves[0] and take.grooves[7] != take.grooves[0]  # fill at bars 4 and 8
    assert take.grooves[1] == take.grooves[0]


@needs_mma
def test_gmd_drums_are_human_where_gmd_has_the_genre(takes_44):
    bank = load_bank()
    if bank is None:
        pytest.skip("models/band_drums.json.gz not built (python -m training band-drums)")
    _, _, all_takes = takes_44
    for genre in ("rock", "jazz", "hiphop", "reggae"):
        assert GMD_STYLES[genre] in bank["styles"]
        take = all_takes[genre][0]
        assert take.drum_source.startswith("GMD")
        drums = take.parts["drums"].notes
        velocities = {n.velocity for n in drums}
        assert len(velocities) > 10, f"{genre}: drum velocities are not human ({len(velocities)} values)"
        off_grid = [n for n in drums if n.start % 60 not in (0,)]
        assert len(off_grid) > len(drums) / 2, f"{genre}: drums sit on a 32nd grid, not human timing"
    assert all_takes["metal"][0].drum_source.startswith("MMA")


@needs_mma
@pytest.mark.parametrize("genre,meter", [("jazz", (3, 4)), ("country", (3, 4)), ("rock", (3, 4)),
                                         ("classical", (3, 4)), ("jazz", (6, 8)), ("blues", (6, 8)),
                                         ("classical", (6, 8))])
def test_three_four_and_six_eight(genre, meter):
    song = Song(time_signatures=(TimeSignature(0, *meter),))
    bt = song.time_signatures[0].bar_ticks
    spans = _spans(song, 4)
    take = play_band(song, [spans], genre, ["chords", "bass", "drums"], 0, 4 * bt, seed=3)[0]
    for i in range(4):
        assert _bar_notes(take.parts["bass"].notes, bt, i), f"{genre} {meter}: no bass in bar {i + 1}"
        assert len({n.pitch % 12 for n in _sounding(take.parts["chords"].notes, bt, i)}) >= 3
        if genre != "classical":
            assert _bar_notes(take.parts["drums"].notes, bt, i)
    assert max(n.end for p in take.parts.values() for n in p.notes) <= 4 * bt


@needs_mma
def test_a_genre_without_a_groove_in_the_meter_says_so():
    song = Song(time_signatures=(TimeSignature(0, 3, 4),))
    with pytest.raises(NoGrooveError, match="disco band has no groove in 3/4; it plays in 4/4"):
        play_band(song, [_spans(song, 2)], "disco", ["drums"], 0, 2880, seed=1)
    song = Song(time_signatures=(TimeSignature(0, 5, 4),))
    with pytest.raises(NoGrooveError, match="5/4"):
        play_band(song, [_spans(song, 2)], "rock", ["bass"], 0, 4800, seed=1)


def test_stand_ins_for_folk_styles():
    assert band_genre("rock") == "rock" and band_genre("irish") == "country" and band_genre("chinese") == "pop"
    with pytest.raises(NoGrooveError, match="band genres"):
        band_genre("polka")


@needs_mma
def test_mid_bar_start_and_same_seed_same_band():
    song = Song(time_signatures=(TimeSignature(0, 4, 4),))
    spans = _spans(song, 3)
    a = play_band(song, [spans], "rock", ["bass", "chords", "drums"], 960, 3 * 1920, seed=5, band_start=960)[0]
    b = play_band(song, [spans], "rock", ["bass", "chords", "drums"], 960, 3 * 1920, seed=5, band_start=960)[0]
    assert a == b
    for p in a.parts.values():
        assert min(n.start for n in p.notes) >= 960 and max(n.end for n in p.notes) <= 3 * 1920


@needs_mma
def test_band_edits_add_tracks_or_continue_them_in_one_undo_step(takes_44):
    _, _, all_takes = takes_44
    take = all_takes["rock"][0]
    song = melody_song()
    macro = Macro(tuple(band_edits(song, take)), "Add band")
    new, inverse = apply(song, macro)
    names = [t.name for t in new.tracks]
    assert names == ["Melody", "Drums", "Bass", "Chords"] or sorted(names[1:]) == ["Bass", "Chords", "Drums"]
    drums = next(t for t in new.tracks if t.name == "Drums")
    assert drums.is_drum and drums.channel == 9
    assert apply(new, inverse)[0] == song
    # a second band continues the same tracks
    again = with_band(new, take)
    assert len(again.tracks) == len(new.tracks)
    assert len(next(t for t in again.tracks if t.name == "Bass").notes) == 2 * len(take.parts["bass"].notes)


def test_fit_scores_chord_tones_and_bass_roots():
    song = Song(time_signatures=(TimeSignature(0, 4, 4),))
    spans = [ChordSpan(0, 1920, Chord(0, "maj")), ChordSpan(1920, 3840, Chord(7, "maj"))]
    in_chord = [Note(0, 64, 480), Note(960, 67, 480), Note(1920, 71, 480), Note(2880, 62, 480)]
    clash = [Note(0, 61, 480), Note(960, 66, 480), Note(1920, 61, 480), Note(2880, 63, 480)]
    roots = [Note(0, 36, 960), Note(1920, 43, 960)]
    fifths = [Note(0, 43, 960), Note(1920, 38, 960)]
    good = band_fit(song, in_chord, spans, roots, 0, 3840)
    assert (good.chord_tone_rate, good.bass_root_rate, good.bass_tone_rate) == (1.0, 1.0, 1.0)
    bad = band_fit(song, clash, spans, fifths, 0, 3840)
    assert bad.chord_tone_rate == 0.0 and bad.bass_root_rate == 0.0 and bad.bass_tone_rate == 1.0
    assert rank_score(0.5, good) > rank_score(0.5, bad)
    assert rank_score(0.9, bad) < rank_score(0.6, good)


def test_progression_infers_one_chord_per_bar_with_the_key_choosing_an_open_third():
    from gtzcomposer.core import KeySignature
    from gtzcomposer.ml.band import progression

    song = Song(key_signatures=(KeySignature.parse("G"),))
    notes = [Note(0, 67, 960), Note(960, 71, 960), Note(1920, 69, 960), Note(2880, 71, 960)]  # G B | A B
    prog = progression(song, notes, 0, 3 * 1920)
    assert [(s.start, s.end) for s in prog] == [(0, 1920), (1920, 3840), (3840, 5760)]
    assert prog[0].chord == Chord(7, "maj")
    assert prog[1].chord == Chord(9, "min")  # A + B leave the third open: G major has C, not C#
    assert prog[2].chord == prog[1].chord  # a silent bar keeps the chord before it


def test_progression_takes_the_continuations_own_chords_when_it_has_them():
    from types import SimpleNamespace

    from gtzcomposer.ml.band import progression

    own = (ChordSpan(0, 1920, Chord(2, "min7")),)
    cont = SimpleNamespace(chords=[own, (ChordSpan(0, 1920, Chord(7, "7")),)])
    assert progression(Song(), [Note(0, 60, 480)], 0, 1920, cont, 0) == own
    assert progression(Song(), [Note(0, 60, 480)], 0, 1920, cont, 1)[0].chord == Chord(7, "7")


def test_own_chords_of_the_continuation_with_inferred_chords_under_the_seed():
    from types import SimpleNamespace

    from gtzcomposer.ml.band import progression

    cont = SimpleNamespace(start=1920, chords=[Chord(2, "min7"), Chord(7, "7")])  # one per continued bar
    prog = progression(Song(), [Note(0, 60, 960), Note(960, 64, 960)], 0, 3 * 1920, cont, 0)
    assert [(s.start, s.chord) for s in prog] == [(0, Chord(0, "maj")), (1920, Chord(2, "min7")),
                                                  (3840, Chord(7, "7"))]


@needs_mma
def test_the_first_downbeat_keeps_a_drum_hit_played_a_little_early():
    bank = load_bank()
    if bank is None:
        pytest.skip("models/band_drums.json.gz not built")
    song = Song(time_signatures=(TimeSignature(0, 4, 4),))
    spans = _spans(song, 4, offset=1920)
    hits = 0
    for seed in range(6):
        take = play_band(song, [spans], "rock", ["drums"], 1920, 5 * 1920, seed=seed)[0]
        drums = take.parts["drums"].notes
        assert min(n.start for n in drums) >= 1920
        hits += any(abs(n.start - 1920) <= 60 for n in drums)
    assert hits == 6  # a downbeat hit within a 32nd in every take (early ones moved onto the line)
