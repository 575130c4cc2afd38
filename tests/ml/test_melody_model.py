"""The Keras model, its numpy step twin, the critic, the card and the encoder-version check."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from gtzcomposer.ml.melody import encoding as enc
from gtzcomposer.ml.melody import model as M
from gtzcomposer.ml.melody.generator import MelodyGenerator
from gtzcomposer.resources import model_card_path, model_path

bundled = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")


@bundled
def test_numpy_step_model_matches_keras():
    pytest.importorskip("keras")
    km = M.load_keras_model(model_path("melody"))
    step = M.StepModel.load(model_path("melody"))
    rng = np.random.default_rng(0)
    b, t = 3, 40
    tok = rng.integers(1, enc.VOCAB_SIZE, (b, t)).astype(np.int32)
    pos = rng.integers(0, 16, (b, t)).astype(np.int32)
    met = rng.integers(0, len(enc.METERS), (b, t)).astype(np.int32)
    cho = rng.integers(0, 169, (b, t)).astype(np.int32)
    sty = np.array([[0], [2], [4]], np.int32)
    ref = np.asarray(km.predict_on_batch([tok, pos, met, cho, sty]))
    out, _ = step.run(tok, pos, met, cho, sty)
    assert np.abs(ref - out).max() < 1e-4
    # the style input matters, and so does the chord
    other, _ = step.run(tok, pos, met, cho, np.array([[1], [1], [1]], np.int32))
    assert np.abs(other - out).max() > 1e-2
    other, _ = step.run(tok, pos, met, (cho + 5) % 168, sty)
    assert np.abs(other - out).max() > 1e-2


@bundled
def test_critic_numpy_matches_keras():
    pytest.importorskip("keras")
    km = M.load_keras_model(model_path("style_classifier"))
    step = M.CriticStep.load(model_path("style_classifier"))
    x = np.random.default_rng(1).random((5, enc.N_FEATURES)).astype(np.float32)
    logits = np.asarray(km.predict_on_batch(x))
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    assert np.abs(step.probabilities(x) - p).max() < 1e-5


def test_custom_layer_saves_and_loads(tmp_path):
    keras = pytest.importorskip("keras")
    cfg = M.MelodyConfig(n_styles=3, units=8, layers=1, token_dim=4, pos_dim=2, meter_dim=2, style_dim=3,
                         chord_dim=2)
    m = M.build_model(cfg)
    path = tmp_path / "tiny.keras"
    m.save(path)
    m2 = M.load_keras_model(path)
    layer = m2.get_layer("style_emb")
    assert layer.get_config()["n_styles"] == 3 and layer.get_config()["dim"] == 3
    x = [np.ones((2, 5), np.int32), np.zeros((2, 5), np.int32), np.zeros((2, 5), np.int32),
         np.full((2, 5), 7, np.int32), np.array([[0], [2]], np.int32)]
    assert np.allclose(m.predict_on_batch(x), m2.predict_on_batch(x), atol=1e-6)
    assert keras.saving.get_registered_object("gtzcomposer>StyleBroadcast") is not None


@bundled
def test_card_describes_the_model():
    card = json.loads(model_card_path("melody").read_text())
    assert card["encoder_version"] == enc.ENCODER_VERSION
    assert card["styles"] == ["classical", "folk", "chinese", "irish", "scottish", "jazz", "blues", "pop"]
    assert set(card["stand_ins"]) == {"country", "disco", "hiphop", "metal", "reggae", "rock"}
    assert "blues form" in card["training_data"]["style_sources"]["blues"]
    assert "Weimar Jazz Database" in card["training_data"]["licence"]
    assert card["swing"]["jazz"] > 0.55 and card["swing"]["pop"] == 0.5
    assert card["command"].startswith("python -m training melody")
    assert "split" in card["training_data"] and card["training_data"]["licence"]
    metrics = card["metrics"]
    assert metrics["beats_baseline_every_style"] is True
    for s, row in metrics["per_style"].items():
        assert row["model_nll"] < row["markov_nll"], s


@bundled
def test_encoder_version_mismatch_is_refused(tmp_path):
    for name in ("melody", "style_classifier"):
        shutil.copy(model_path(name), tmp_path / f"{name}.keras")
        shutil.copy(model_card_path(name), tmp_path / f"{name}.json")
    card = json.loads((tmp_path / "melody.json").read_text())
    card["encoder_version"] = enc.ENCODER_VERSION + 1
    (tmp_path / "melody.json").write_text(json.dumps(card))
    with pytest.raises(enc.EncoderVersionError, match="retrain"):
        MelodyGenerator.load("melody", tmp_path)
