"""Sampling with the bundled melody model: timing rules, meters, determinism, key lock, errors."""

from __future__ import annotations

import pytest

from gtzcomposer.core import GtzError, KeySignature, Note, Song, TimeSignature, new_track
from gtzcomposer.core.generation import GenerationSettings, GenerationSettingsError
from gtzcomposer.ml.melody import generator as G
from gtzcomposer.ml.melody.encoding import STEP
from gtzcomposer.resources import model_path
from tests.helpers import melody_song

pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")


@pytest.fixture(scope="module")
def gen():
    return G.MelodyGenerator.load()


def cont(gen, notes, song, style, progress=None, is_cancelled=None, **settings):
    return gen.continue_melody(notes, song, GenerationSettings(style, **settings), progress, is_cancelled)


@pytest.mark.parametrize("meter", [(3, 4), (4, 4), (6, 8)])
@pytest.mark.parametrize("bars", [1, 3])
def test_starts_at_seed_end_and_lasts_n_bars(gen, meter, bars):
    song = melody_song(meter=meter, key="D")
    seed = song.tracks[0].notes
    bar_ticks = song.time_signatures[0].bar_ticks
    for style in gen.styles:
        c = cont(gen, seed, song, style, bars=bars, variations=3, seed=7)
        assert c.start == seed[-1].end
        assert c.end - c.start == bars * bar_ticks
        assert len(c.variations) == 3
        for v in c.variations:
            assert v.notes, "a continuation has notes"
            assert v.notes[0].start == c.start, "the continuation starts exactly where the seed ends"
            assert all(c.start <= n.start and n.end <= c.end and n.duration > 0 for n in v.notes)
            assert all(a.end <= b.start for a, b in zip(v.notes, v.notes[1:])), "monophonic"


def test_off_grid_seed_end_snaps_up(gen):
    song = melody_song()
    seed = list(song.tracks[0].notes[:-1]) + [Note(3360, 72, 490)]  # ends at 3850
    c = cont(gen, seed, song, "folk", bars=2, variations=2, seed=3)
    assert c.start == 3960 and c.start % STEP == 0
    assert all(v.notes[0].start == 3960 for v in c.variations)


def test_same_seed_same_result_and_other_seed_differs(gen):
    song = melody_song()
    seed = song.tracks[0].notes
    a = cont(gen, seed, song, "irish", bars=4, variations=4, seed=42, temperature=1.0)
    b = cont(gen, seed, song, "irish", bars=4, variations=4, seed=42, temperature=1.0)
    c = cont(gen, seed, song, "irish", bars=4, variations=4, seed=43, temperature=1.0)
    assert [v.notes for v in a.variations] == [v.notes for v in b.variations]
    assert [v.score for v in a.variations] == [v.score for v in b.variations]
    assert [v.notes for v in a.variations] != [v.notes for v in c.variations]


def test_ranked_best_first(gen):
    song = melody_song()
    c = cont(gen, song.tracks[0].notes, song, "chinese", bars=4, variations=6, seed=1)
    scores = [v.score for v in c.variations]
    assert scores == sorted(scores, reverse=True)
    assert [v.rank for v in c.variations] == list(range(1, 7))
    assert all(0.0 <= s <= 1.0 for s in scores)


@pytest.mark.parametrize("key", ["Eb", "F# minor", "A"])
def test_key_lock(gen, key):
    song = melody_song(pitches=(63, 65, 67, 68, 70, 72, 74, 75), key=key)
    scale = song.key.scale
    seen_outside = False
    for s in range(4):
        free = cont(gen, song.tracks[0].notes, song, "folk", bars=4, variations=4, seed=s,
                                   temperature=1.6, top_p=1.0)
        seen_outside |= any(n.pitch % 12 not in scale for v in free.variations for n in v.notes)
        locked = cont(gen, song.tracks[0].notes, song, "folk", bars=4, variations=4, seed=s,
                                     temperature=1.6, top_p=1.0, key_lock=True)
        assert all(n.pitch % 12 in scale for v in locked.variations for n in v.notes)
    assert seen_outside, "without the lock, hot sampling leaves the key (else the test proves nothing)"


def test_song_without_key_uses_estimated_key(gen):
    song = Song(tracks=(new_track(0, notes=melody_song().tracks[0].notes),), key_signatures=())
    assert song.key is None
    c = cont(gen, song.tracks[0].notes, song, "classical", bars=2, variations=2, seed=0, key_lock=True)
    assert c.key.tonic == 0 and c.key.mode == "major"
    assert all(n.pitch % 12 in c.key.scale for v in c.variations for n in v.notes)


def test_polyphonic_seed_reduced_to_top_line(gen):
    song = melody_song()
    mel = song.tracks[0].notes
    chords = tuple(mel) + tuple(Note(n.start, n.pitch - 12, n.duration) for n in mel)
    c = cont(gen, chords, song, "folk", bars=1, variations=1, seed=0)
    assert c.reduced_to_top_line
    assert c.seed_notes == tuple(mel)
    plain = cont(gen, mel, song, "folk", bars=1, variations=1, seed=0)
    assert not plain.reduced_to_top_line
    assert plain.variations[0].notes == c.variations[0].notes


def test_bad_seeds_and_settings_raise_clear_errors(gen):
    song = melody_song()
    with pytest.raises(G.EmptySeedError, match="empty"):
        cont(gen, [], song, "folk")
    with pytest.raises(G.SeedTooShortError, match="beat"):
        cont(gen, [Note(0, 60, 240)], song, "folk")
    with pytest.raises(G.UnknownStyleError, match="folk"):
        cont(gen, song.tracks[0].notes, song, "polka")
    with pytest.raises(GenerationSettingsError, match="bars"):
        cont(gen, song.tracks[0].notes, song, "folk", bars=0)
    for cls in (G.EmptySeedError, G.SeedTooShortError, G.UnknownStyleError):
        assert issubclass(cls, GtzError)


def test_cancel_and_progress(gen):
    song = melody_song()
    seen = []
    cont(gen, song.tracks[0].notes, song, "folk", bars=2, variations=2, seed=0,
                        progress=lambda f, m: seen.append(f))
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(G.Cancelled):
        cont(gen, song.tracks[0].notes, song, "folk", bars=2, seed=0, is_cancelled=lambda: True)


def test_meter_change_uses_meter_at_the_continuation(gen):
    song = Song(tracks=(new_track(0, notes=melody_song().tracks[0].notes),),
                time_signatures=(TimeSignature(0, 4, 4), TimeSignature(1920, 3, 4)),
                key_signatures=(KeySignature(0, 0, "major"),))
    c = cont(gen, song.tracks[0].notes, song, "folk", bars=2, variations=1, seed=0)
    assert c.end - c.start == 2 * 1440


def test_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(G.ModelMissingError, match="python -m training melody"):
        G.MelodyGenerator.load("melody", tmp_path)


def test_style_guidance_raises_the_critics_score_and_keeps_the_rules(gen):
    song = melody_song(key="G")
    seed = song.tracks[0].notes
    for style in ("irish", "scottish"):
        plain = cont(gen, seed, song, style, bars=8, variations=6, seed=5, strength=0.0)
        pushed = cont(gen, seed, song, style, bars=8, variations=6, seed=5, strength=2.0)
        again = cont(gen, seed, song, style, bars=8, variations=6, seed=5, strength=2.0)
        assert [v.notes for v in pushed.variations] == [v.notes for v in again.variations]
        assert [v.notes for v in pushed.variations] != [v.notes for v in plain.variations]
        mean = lambda c: sum(v.score for v in c.variations) / len(c.variations)  # noqa: E731
        assert mean(pushed) > mean(plain), style
        for v in pushed.variations:
            assert v.notes[0].start == pushed.start and max(n.end for n in v.notes) <= pushed.end
    locked = cont(gen, seed, song, "chinese", bars=4, variations=4, seed=1, strength=1.0,
                                 key_lock=True)
    assert all(n.pitch % 12 in song.key.scale for v in locked.variations for n in v.notes)
    with pytest.raises(GenerationSettingsError, match="style strength"):
        cont(gen, seed, song, "folk", strength=-1)


# --- chords ----------------------------------------------------------------------------------------
def _chord_song(seed_bars=2):
    """A melody (2 bars) and a Chords track of block chords C F G7 C | Am Dm G7 C (one per bar)."""
    from gtzcomposer.core.chords import parse_symbol

    mel = melody_song().tracks[0].notes
    mel = tuple(n for n in mel if n.start < seed_bars * 1920)
    symbols = ["C", "F", "G7", "C", "Am", "Dm", "G7", "C"]
    chords = []
    for i, sym in enumerate(symbols):
        ch = parse_symbol(sym)
        chords += [Note(start=i * 1920, pitch=48 + ch.root + iv, duration=1920, velocity=70) for iv in ch.intervals]
    song = Song(tracks=(new_track(0, notes=mel), new_track(1, name="Chords", notes=tuple(chords))),
                time_signatures=(TimeSignature(0, 4, 4),), key_signatures=(KeySignature(0, 0, "major"),))
    return song, symbols


def test_song_chord_track_drives_the_continuation(gen):
    from gtzcomposer.core.chords import parse_symbol

    song, symbols = _chord_song()
    c = cont(gen, song.tracks[0].notes, song, "pop", bars=4, variations=2, seed=1)
    assert c.chord_source == "chord track"
    assert [s.chord for s in c.chords] == [parse_symbol(x) for x in symbols[2:6]]
    assert [s.start for s in c.chords] == [c.start + i * 1920 for i in range(4)]
    assert [s.chord for s in c.seed_chords] == [parse_symbol("C"), parse_symbol("F")]
    rows = c.chords_per_bar(song)
    assert [r["bar"] for r in rows] == [3, 4, 5, 6] and rows[0]["chords"] == [{"beat": 1.0, "chord": "G7"}]


def test_without_a_chord_track_the_style_proposes_chords(gen):
    song = melody_song(key="G")
    seed = song.tracks[0].notes
    a = cont(gen, seed, song, "jazz", bars=4, variations=1, seed=2)
    b = cont(gen, seed, song, "jazz", bars=4, variations=1, seed=2)
    assert a.chord_source == "proposed" and a.chords == b.chords  # seeded
    assert a.chords[0].start == a.start and a.chords[-1].end == a.end
    assert all(x.end == y.start for x, y in zip(a.chords, a.chords[1:]))
    assert a.seed_chords and all(s.end <= a.start for s in a.seed_chords)
    # the progression changes chords (it is not one chord held for ever)
    many = [cont(gen, seed, song, st, bars=8, variations=1, seed=s) for st in ("jazz", "pop", "classical")
            for s in range(3)]
    assert sum(len({x.chord for x in m.chords}) > 1 for m in many) >= 7


def test_style_guidance_keeps_the_unguided_share_of_chord_and_scale_tones():
    """Guidance pushes the target style away from what the others play, but how often a note is a
    tone of the chord, another tone of the key, or chromatic stays the model's own (unguided)
    share; with neither chord nor key it is plain guidance."""
    import numpy as np

    from gtzcomposer.core.chords import Chord
    from gtzcomposer.ml.melody.encoding import FIRST_NOTE, VOCAB_SIZE

    rng = np.random.default_rng(3)
    n_styles, k = 8, 4
    logits = rng.normal(0, 2, (n_styles * k, VOCAB_SIZE))
    logits[:, FIRST_NOTE::12] += 3.0  # the other styles favour the tonic (a chord tone of C) ...
    logits[6 * k:7 * k, FIRST_NOTE::12] -= 3.0  # ... the target style (6) does not
    logits[:, FIRST_NOTE + 1::12] -= 2.0  # the others avoid C# (chromatic in C) more than ...
    logits[6 * k:7 * k, FIRST_NOTE + 1::12] += 2.0  # ... the target does
    tones = G._tone_masks()[Chord(0, "maj").index]
    assert tones[FIRST_NOTE] and tones[FIRST_NOTE + 4] and not tones[FIRST_NOTE + 1] and not tones[:FIRST_NOTE].any()

    def probs(z):
        z = z - z.max(axis=1, keepdims=True)
        return np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)

    notes = np.zeros(VOCAB_SIZE, bool)
    notes[FIRST_NOTE:] = True
    p = probs(logits[6 * k:7 * k])
    plain = probs(G._guide(logits, k, 6, 1.5))
    scale = np.zeros(VOCAB_SIZE, bool)
    scale[FIRST_NOTE:] = np.isin((np.arange(VOCAB_SIZE - FIRST_NOTE) + 36) % 12, [0, 2, 4, 5, 7, 9, 11])
    kept = probs(G._guide(logits, k, 6, 1.5, tones, scale))
    share = lambda q, g=tones: q[:, g].sum(axis=1) / q[:, notes].sum(axis=1)  # noqa: E731
    chromatic = notes & ~scale & ~tones
    assert np.all(share(plain) < share(p) - 0.02)  # plain guidance moves them (the reason for the rule)
    assert np.all(share(plain, chromatic) > share(p, chromatic) + 0.02)
    for g in (tones, notes & scale & ~tones, chromatic):
        np.testing.assert_allclose(share(kept, g), share(p, g), atol=1e-9)
    np.testing.assert_allclose(kept[:, notes].sum(axis=1), plain[:, notes].sum(axis=1), atol=1e-9)  # notes vs rests kept
    # within each group guidance still decides
    for g in (tones, chromatic):
        np.testing.assert_allclose(kept[:, g] / kept[:, g].sum(axis=1, keepdims=True),
                                   plain[:, g] / plain[:, g].sum(axis=1, keepdims=True), atol=1e-9)
    no_chord = G._tone_masks()[-1]
    assert not no_chord.any()
    np.testing.assert_allclose(G._guide(logits, k, 6, 1.5, no_chord), G._guide(logits, k, 6, 1.5))


def test_guidance_is_bayes_sharpening_against_the_mixture_of_every_style():
    """Guided = p(x | target) * p(target | x) ** w, with p(target | x) from Bayes' rule over the
    model's styles: the push on any token is bounded by w * log(n styles), and what the target
    shares with a neighbour style is not pushed away.  The earlier reference (the other styles'
    geometric mean) fails both checks."""
    import numpy as np

    import gtzcomposer.ml.melody.generator as G
    from gtzcomposer.ml.melody.encoding import FIRST_NOTE, HOLD, VOCAB_SIZE

    rng = np.random.default_rng(5)
    n_styles, k, target, w = 8, 2, 6, 0.75
    logits = rng.normal(0, 1, (n_styles * k, VOCAB_SIZE))
    logits[:, HOLD] += 2.0
    logits[:, FIRST_NOTE + 10] = -40.0  # a note that every other style all but rules out ...
    logits[target * k:(target + 1) * k, FIRST_NOTE + 10] = -4.0  # ... and the target rarely plays
    logits[7 * k:8 * k] = logits[target * k:(target + 1) * k]  # style 7 plays exactly like the target

    def logsoft(z):
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    lp = logsoft(logits).reshape(n_styles, k, VOCAB_SIZE)
    mixture = np.log(np.exp(lp).mean(axis=0))
    expected = logsoft(lp[target] + w * (lp[target] - mixture))
    got = logsoft(G._guide(logits, k, target, w))
    np.testing.assert_allclose(got, expected, atol=1e-9)
    # the bounded push: no token gains more than w * log(n) nats over the unguided distribution
    gain = got - lp[target]
    assert gain.max() <= w * np.log(n_styles) + 1e-9
    rare = np.exp(got[:, FIRST_NOTE + 10])
    assert np.all(rare < 0.05), rare  # the rare note stays rare (the old reference made it likely)
