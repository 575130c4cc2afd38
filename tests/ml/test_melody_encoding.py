"""Grid encoding: round trips on real corpus melodies, key normalisation, snapping rules."""

from __future__ import annotations

import pytest

from gtzcomposer.core import Note
from gtzcomposer.ml.melody import encoding as enc

pytest.importorskip("music21")


def _corpus_pieces(per_style: int = 2):
    from training import melody_data

    tasks, _ = melody_data.corpus_tasks(max_per_style=40, seed=0)
    by_style: dict[str, list] = {}
    for t in tasks:
        if len(by_style.setdefault(t[1], [])) < per_style * 3:
            by_style[t[1]].append(t)
    out = []
    for ts in by_style.values():
        kept = 0
        for t in ts:
            _, rec, _ = melody_data._parse_task(t)
            if rec is not None and kept < per_style:
                out.append(rec)
                kept += 1
    return out


@pytest.fixture(scope="module")
def pieces():
    ps = _corpus_pieces()
    assert len({p["style"] for p in ps}) == 8
    return ps


def _notes(rec):
    return [Note(start=s, pitch=p, duration=d) for s, p, d in rec["notes"]]


def test_round_trip_on_corpus_melodies(pieces):
    checked = 0
    for rec in pieces:
        notes = _notes(rec)
        tonic = rec["key"][0]
        shift = enc.key_shift(tonic)
        e = enc.encode_notes(notes, 0, shift=shift)
        back = enc.decode_tokens(e.tokens, 0, shift=shift, velocity=100)
        # expected: each note snapped to the 16th grid (onset and end), later onset wins
        expected = []
        for n in sorted(notes):
            s, end = enc.snap(n.start), max(enc.snap(n.start) + 1, enc.snap(n.end))
            if expected and expected[-1][0] == s:
                expected.pop()
            if expected and expected[-1][1] > s:
                expected[-1] = (expected[-1][0], s, expected[-1][2])
            expected.append((s, end, enc.fold_pitch(n.pitch + shift) - shift))
        assert [(n.start, n.end, n.pitch) for n in back] == [(s * enc.STEP, e2 * enc.STEP, p) for s, e2, p in expected]
        if e.snapped == 0:  # grid-exact melodies come back note for note
            assert [(n.start, n.pitch, n.duration) for n in back] == [(n.start, n.pitch, n.duration) for n in notes]
            checked += 1
    assert checked >= 5


def test_key_normalisation_round_trip(pieces):
    for tonic in range(12):
        s = enc.key_shift(tonic)
        assert -6 <= s <= 5
        assert (tonic + s) % 12 == 0
        for p in range(40, 90):
            assert enc.denormalise_pitch(enc.normalise_pitch(p, tonic), tonic) == p
    for rec in pieces:
        notes = _notes(rec)
        for tonic in (0, 5, 11):
            sh = enc.key_shift(tonic)
            e = enc.encode_notes(notes, 0, shift=sh)
            assert [n.pitch for n in enc.decode_tokens(e.tokens, 0, shift=sh)] == \
                   [n.pitch for n in enc.decode_tokens(enc.encode_notes(notes, 0).tokens, 0)]


def test_normalised_tonic_is_c(pieces):
    # after normalisation the tonic pitch class is the most or second most common one in most pieces
    hits = 0
    for rec in pieces:
        e = enc.encode_notes(_notes(rec), 0, shift=enc.key_shift(rec["key"][0]))
        pcs = [(t - enc.FIRST_NOTE + enc.MIN_PITCH) % 12 for t in e.tokens if t >= enc.FIRST_NOTE]
        ranked = sorted(range(12), key=lambda pc: -pcs.count(pc))
        hits += 0 in ranked[:3] or (rec["key"][1] == "minor" and 0 in ranked[:4])
    # (jazz solos wander over their changes: their tonic is less often among the top pitch classes)
    assert hits >= len(pieces) - 2


def test_triplets_snap_to_nearest_sixteenth():
    # three eighth-note triplets (160 ticks) from tick 0: onsets 0, 160, 320 -> steps 0, 1, 3
    notes = [Note(0, 60, 160), Note(160, 62, 160), Note(320, 64, 160)]
    e = enc.encode_notes(notes, 0)
    assert list(e.tokens) == [enc.note_token(60), enc.note_token(62), enc.HOLD, enc.note_token(64)]
    assert e.snapped == 3


def test_colliding_onsets_keep_the_later_note_and_rests_fill_gaps():
    notes = [Note(0, 60, 100), Note(40, 67, 200), Note(480, 65, 240)]
    e = enc.encode_notes(notes, 0, end_tick=960)
    assert e.dropped == 1
    toks = list(e.tokens)
    assert toks[0] == enc.note_token(67)
    assert toks[2:4] == [enc.REST, enc.REST]
    assert toks[4:6] == [enc.note_token(65), enc.HOLD]
    assert len(toks) == 8 and toks[-1] == enc.REST


def test_estimate_key():
    c_major = [Note(i * 480, p, 480) for i, p in enumerate((60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60))]
    assert enc.estimate_key(c_major) == (0, "major")
    a_minor = [Note(i * 480, p, 480) for i, p in enumerate((57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57, 57))]
    assert enc.estimate_key(a_minor) == (9, "minor")


def test_encoder_version_check():
    enc.check_encoder_version({"encoder_version": enc.ENCODER_VERSION})
    with pytest.raises(enc.EncoderVersionError, match="version"):
        enc.check_encoder_version({"encoder_version": enc.ENCODER_VERSION + 1})


def test_positions_and_meters():
    assert enc.bar_steps(4, 4) == 16 and enc.bar_steps(3, 4) == 12 and enc.bar_steps(6, 8) == 12
    assert list(enc.positions(10, 4, 12)) == [10, 11, 0, 1]
    assert enc.METERS[enc.meter_index(6, 8)] == "6/8"
    assert enc.METERS[enc.meter_index(7, 8)] == "other"


# --- chords and swing (encoder v2) -----------------------------------------------------------------
def test_chords_per_step_round_trip_on_real_pieces(pieces):
    """Every piece's chord track survives encoding: the chord of each step, transposed back, is
    the chord sounding at that step in the source (and the key shift moves the roots)."""
    from gtzcomposer.core.chords import Chord

    checked = 0
    for rec in pieces:
        if not rec.get("chords"):
            continue
        notes = _notes(rec)
        seq = enc.piece_sequence(notes, *rec["meter"], rec["key"][0], 0, [tuple(c) for c in rec["chords"]])
        shift = enc.key_shift(rec["key"][0])
        bar = enc.bar_steps(*rec["meter"]) * enc.STEP
        start = (min(n.start for n in notes) // bar) * bar
        for a, _b, idx in rec["chords"][:20]:
            step = (a - start) // enc.STEP
            if not 0 <= step < len(seq.tokens) or a % enc.STEP:
                continue
            got = int(seq.chords[step])
            if idx == 168:
                assert got == 168
            else:
                assert Chord.from_index(got) == Chord.from_index(idx).transposed(shift)
                assert Chord.from_index(got).transposed(-shift) == Chord.from_index(idx)
            checked += 1
    assert checked > 50


def test_swing_round_trip_and_feel():
    straight = [Note(start=i * 240, pitch=60 + i % 5, duration=240) for i in range(16)]  # eighths
    swung = enc.swing_notes(straight, 2 / 3)
    # on-beat eighths stay, off-beat ones move to 2/3 of the beat (a triplet feel): long-short
    assert [n.start % 480 for n in swung[:4]] == [0, 320, 0, 320]
    assert [n.duration for n in swung[:2]] == [320, 160]
    assert all(a.end == b.start for a, b in zip(swung, swung[1:]))
    assert enc.unswing_notes(swung, 2 / 3) == tuple(straight)
    # sixteenths survive the round trip at any ratio the data give
    sixteenths = [Note(start=i * 120, pitch=62, duration=120) for i in range(32)]
    for ratio in (0.55, 0.6, 0.62, 0.68):
        assert enc.unswing_notes(enc.swing_notes(sixteenths, ratio), ratio) == tuple(sixteenths)
    assert enc.swing_notes(straight, 0.5) == tuple(straight)


def test_encode_decode_with_chords_and_swing_round_trip():
    """A swung melody over chords: straighten -> tokens + chord steps -> decode -> swing gives
    back the melody, and the chord steps give back the chords."""
    from gtzcomposer.core.chords import ChordSpan, parse_symbol

    straight = [Note(start=0, pitch=62, duration=480), Note(start=480, pitch=65, duration=240),
                Note(start=720, pitch=69, duration=240), Note(start=960, pitch=72, duration=720),
                Note(start=1680, pitch=71, duration=240), Note(start=1920, pitch=67, duration=960)]
    played = enc.swing_notes(straight, 0.62)
    chords = [ChordSpan(0, 1920, parse_symbol("Dm7")), ChordSpan(1920, 3840, parse_symbol("G7"))]
    shift = enc.key_shift(0)
    tokens = enc.encode_notes(enc.unswing_notes(played, 0.62), 0, 3840, shift=shift).tokens
    steps = enc.chord_steps(chords, 0, len(tokens), shift)
    assert enc.swing_notes(enc.decode_tokens(tokens, 0, shift=shift), 0.62) == tuple(
        Note(n.start, n.pitch, n.duration, 90) for n in played)
    from gtzcomposer.core.chords import Chord

    assert Chord.from_index(int(steps[0])) == parse_symbol("Dm7")
    assert Chord.from_index(int(steps[16])) == parse_symbol("G7")
    # in F major the key shift (-5) moves the chords with the melody
    s2 = enc.chord_steps(chords, 0, 32, enc.key_shift(5))
    assert Chord.from_index(int(s2[0])) == parse_symbol("Am7")
