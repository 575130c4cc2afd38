"""The model registry: one frozen card type, read once, the label lists come from the cards."""

from __future__ import annotations

import dataclasses
import json

import pytest

from gtzcomposer.ml import registry
from gtzcomposer.ml.genre import GENRES
from gtzcomposer.resources import models_dir


def test_every_bundled_card_reads_as_a_frozen_model_card():
    cards = registry.all_cards()
    names = {c.name for c in cards}
    assert {"genre_head", "melody", "msd_musicnn", "style_classifier"} <= names
    for card in cards:
        assert card.model_file.exists(), card.model_file
        with pytest.raises(dataclasses.FrozenInstanceError):
            card.name = "x"
        with pytest.raises(TypeError):
            card.data["task"] = "changed"  # read-only all the way down
        assert card.to_dict()["name"] == card.name and json.dumps(card.to_dict())


def test_labels_and_styles_come_from_the_cards():
    on_disk = json.loads((models_dir() / "genre_head.json").read_text())
    assert registry.genre_labels() == tuple(on_disk["labels"]) == GENRES
    styles, why = registry.melody_styles()
    assert why == "" and styles == tuple(json.loads((models_dir() / "melody.json").read_text())["styles"])


def test_a_missing_or_broken_card_is_one_sentence(tmp_path):
    with pytest.raises(registry.ModelCardError, match="missing"):
        registry.read_card("nothing", tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(registry.ModelCardError, match="bad.json cannot be read"):
        registry.read_card("bad", tmp_path)


def test_a_changed_card_is_read_again(tmp_path):
    import os

    path = tmp_path / "m.json"
    path.write_text(json.dumps({"labels": ["a"]}))
    assert registry.read_card("m", tmp_path).labels == ("a",)
    path.write_text(json.dumps({"labels": ["a", "b"]}))
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    assert registry.read_card("m", tmp_path).labels == ("a", "b")
