"""GenerationSettings: validation with one sentence per bad setting, and the JSON round trip."""

from __future__ import annotations

import json

import pytest

from gtzcomposer.core import GtzError
from gtzcomposer.core.generation import PARTS, GenerationSettings, GenerationSettingsError


def test_defaults_are_valid_and_frozen():
    s = GenerationSettings()
    assert s.parts == ("melody",) and s.band_parts == ()
    with pytest.raises(AttributeError):
        s.bars = 8  # type: ignore[misc]


@pytest.mark.parametrize("changes, words", [
    ({"bars": 0}, "bars"), ({"bars": 33}, "bars"), ({"bars": 2.5}, "bars"), ({"bars": True}, "bars"),
    ({"variations": 17}, "variations"), ({"temperature": 0}, "temperature"),
    ({"temperature": float("nan")}, "temperature"), ({"top_p": 1.5}, "top-p"), ({"top_p": 0}, "top-p"),
    ({"strength": -1}, "style strength"), ({"seed": -1}, "seed"), ({"seed": 2**40}, "seed"),
    ({"style": ""}, "style"), ({"key_lock": "yes"}, "key lock"), ({"parts": ("melody", "horns")}, "horns"),
    ({"parts": "drums"}, "parts"),
])
def test_bad_settings_raise_one_sentence(changes, words):
    with pytest.raises(GenerationSettingsError, match=words) as info:
        GenerationSettings(**changes)
    assert isinstance(info.value, GtzError)
    assert "\n" not in str(info.value)


def test_parts_are_ordered_unique_and_always_carry_the_melody():
    s = GenerationSettings(parts=("drums", "bass", "drums"))
    assert s.parts == ("melody", "bass", "drums")
    assert s.band_parts == ("bass", "drums")
    assert GenerationSettings(parts=PARTS).parts == PARTS


def test_json_round_trip_and_tolerant_reading():
    s = GenerationSettings("jazz", bars=12, variations=3, temperature=1.3, top_p=0.9, seed=7, key_lock=True,
                           strength=1.0, parts=("melody", "chords"))
    back = GenerationSettings.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s
    # an older file lacks keys, a newer one has extra keys; integers stand for floats in JSON
    old = GenerationSettings.from_dict({"style": "folk", "temperature": 1, "future": 3})
    assert old == GenerationSettings("folk") and isinstance(old.temperature, float)
    with pytest.raises(GenerationSettingsError):
        GenerationSettings.from_dict(["folk"])  # type: ignore[arg-type]


def test_replace_validates():
    s = GenerationSettings()
    assert s.replace(seed=5).seed == 5
    with pytest.raises(GenerationSettingsError):
        s.replace(bars=99)
