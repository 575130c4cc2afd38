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
    assert len({p["style"] for p in ps}) == 5
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
    assert hits >= len(pieces) - 1


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
