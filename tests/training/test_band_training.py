"""training/band.py: GMD takes cut into bars, the bundled bank's splits, the groove classifier."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from gtzcomposer.ml.band.drums import load_bank
from training import band as tb


@pytest.fixture
def gmd(shared_data):
    root = shared_data / "groove-midi" / "groove"
    if not (root / "info.csv").exists():
        pytest.skip(f"the Groove MIDI Dataset is not at {root}")
    return root, list(csv.DictReader((root / "info.csv").open(encoding="utf-8")))


def test_a_real_rock_take_cuts_into_bars_with_kick_on_one_and_snare_on_two_and_four(gmd):
    root, rows = gmd
    row = next(r for r in rows if r["style"] == "rock" and r["beat_type"] == "beat" and r["time_signature"] == "4-4"
               and r["split"] == "train")
    bpm, notes = tb.read_take(root / row["midi_filename"])
    assert bpm == int(row["bpm"])
    bars = tb.cut_bars(notes, tb.bar_phase(notes))
    assert len(bars) >= 4
    kick, snare = np.zeros(16), np.zeros(16)
    for bar in bars[1:]:
        for onset, pitch, _, _ in bar:
            assert -60 <= onset < 1920
            pos = round(onset / 120) % 16
            if pitch == 36:
                kick[pos] += 1
            elif pitch in (38, 40):
                snare[pos] += 1
    assert kick[0] >= kick[4] and kick[0] >= kick[12]  # the bar starts where the kick lands
    assert snare[4] + snare[12] > snare[0] + snare[8]  # backbeat on 2 and 4


def test_the_bundled_bank_holds_no_test_split_take_and_every_gmd_genre(gmd):
    _, rows = gmd
    bank = load_bank()
    if bank is None:
        pytest.skip("models/band_drums.json.gz not built (python -m training band-drums)")
    split = {r["id"]: r["split"] for r in rows}
    assert set(bank["styles"]) == {"blues", "country", "dance", "hiphop", "jazz", "pop", "reggae", "rock"}
    for style, entry in bank["styles"].items():
        for take in entry["beats"] + entry["fills"]:
            assert split[take["id"]] in ("train", "validation"), f"{style}: {take['id']} is a test take"
        for take in entry["beats"]:
            assert all(len(b) >= 4 for b in take["bars"])


def test_softmax_classifier_learns_separable_grooves():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 1, (60, 5)), rng.normal(3, 1, (60, 5))]).astype(np.float32)
    y = np.array([0] * 60 + [1] * 60)
    model = tb.train_softmax(x[::2], y[::2], 2, seed=0)
    assert np.mean(model.predict(x[1::2]) == y[1::2]) > 0.95  # held-out half


def test_groove_features_tell_a_backbeat_from_four_on_the_floor():
    rock = [[0, 36, 100, 60], [480, 38, 100, 60], [960, 36, 100, 60], [1440, 38, 100, 60]]
    disco = [[t, 36, 100, 60] for t in (0, 480, 960, 1440)] + [[t + 240, 46, 90, 60] for t in (0, 480, 960, 1440)]
    a, b = tb.groove_features(rock, 1920), tb.groove_features(disco, 1920)
    assert a.shape == b.shape and np.abs(a - b).sum() > 1
