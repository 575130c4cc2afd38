"""Every GTZAN genre is a style name; genres without melody data use a named stand-in."""

from __future__ import annotations

import pytest

from gtzcomposer.core import Note
from gtzcomposer.core.generation import GenerationSettings
from gtzcomposer.ml.genre import GENRES
from gtzcomposer.ml.melody import styles as S
from gtzcomposer.resources import model_path
from tests.helpers import melody_song

MODEL_STYLES = ["classical", "folk", "chinese", "irish", "scottish", "jazz", "blues", "pop"]


def test_gtzan_genre_list_agrees_with_the_genre_model():
    assert tuple(S.GTZAN_GENRES) == tuple(GENRES)


def test_mapping_covers_exactly_the_genres_without_data():
    without = {g for g in GENRES if g not in MODEL_STYLES}
    assert set(S.STAND_INS) == without == {"country", "disco", "hiphop", "metal", "reggae", "rock"}
    assert all(v in MODEL_STYLES for v in S.STAND_INS.values())
    assert set(S.REASONS) == set(S.STAND_INS)


def test_resolve_and_the_plain_words():
    rock = S.resolve_style("Rock", MODEL_STYLES)
    assert (rock.requested, rock.style, rock.stand_in) == ("rock", "blues", True)
    assert "rock has no melody data of its own" in rock.note and "blues style as a stand-in" in rock.note
    assert not rock.swing_allowed  # a stand-in plays straight
    jazz = S.resolve_style("jazz", MODEL_STYLES)
    assert not jazz.stand_in and jazz.note == "" and jazz.swing_allowed
    assert S.resolve_style("polka", MODEL_STYLES) is None
    # an old five-style model cannot stand in for pop-like genres it lacks
    assert S.resolve_style("disco", MODEL_STYLES[:5]) is None
    assert S.accepted_styles(MODEL_STYLES) == MODEL_STYLES + ["country", "disco", "hiphop", "metal", "reggae", "rock"]
    lines = S.stand_in_lines(MODEL_STYLES)
    assert len(lines) == 6 and lines[0].startswith("country -> folk")


@pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")
@pytest.mark.parametrize("genre", list(GENRES) + ["folk", "chinese", "irish", "scottish"])
def test_every_genre_name_is_accepted_by_the_generator(genre):
    from gtzcomposer.ml.melody.generator import MelodyGenerator

    gen = MelodyGenerator.load()
    song = melody_song()
    c = gen.continue_melody(song.tracks[0].notes, song, GenerationSettings(genre, bars=2, variations=2, seed=3))
    assert c.style == genre
    assert c.model_style == S.STAND_INS.get(genre, genre)
    assert bool(c.stand_in_note) == (genre in S.STAND_INS)
    assert c.chords and c.chords[0].start == c.start and c.chords[-1].end == c.end
    assert all(isinstance(n, Note) and c.start <= n.start < c.end for v in c.variations for n in v.notes)
    if genre in ("jazz", "blues"):
        assert c.swing > 0.55  # jazz and blues continuations are swung ...
        # ... so no note starts on the straight off-beat eighth (it moved to the swung one)
        assert not any(n.start % 480 == 240 for v in c.variations for n in v.notes)
    else:
        assert c.swing == 0.5
