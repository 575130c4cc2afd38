"""The genre models as the app runs them (numpy, :mod:`gtzcomposer.ml.keras_file`) against Keras,
the reference they are built, trained and saved with.

Needs the ``training`` extra (Keras + TensorFlow): ``scripts/install.sh --dev`` installs it, so CI
runs these; a lean install (``pip install gtzcomposer``) skips them with the reason below."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras", reason="Keras comes with the training extra (pip install '.[training]'); "
                                            "these tests compare the numpy runtime with it")

from gtzcomposer.ml import genre as g  # noqa: E402
from gtzcomposer.resources import model_path  # noqa: E402

pytestmark = pytest.mark.keras
HEAD = model_path("genre_head")


@pytest.fixture(scope="module")
def detector():
    return g.GenreDetector()


@pytest.fixture
def gtzan_test(shared_data):
    path = shared_data / "gtzan-musicnn" / "evaluation_data_GTZAN_MSDmusicnn_taggram.npz"
    if not path.is_file():
        pytest.skip(f"GTZAN taggrams not found at {path}")
    with np.load(path) as d:
        return d["X"].astype(np.float32), d["IDS"].astype(str)


def test_bundled_head_equals_keras_on_every_real_test_patch(detector, gtzan_test):
    """All 290 test clips' patches (real MSD_musicnn taggrams): numpy head == Keras head."""
    from gtzcomposer.ml.genre_model import load_head

    x, _ = gtzan_test
    ref = np.concatenate([np.asarray(load_head(HEAD).predict_on_batch(x[i:i + 4096])) for i in range(0, len(x), 4096)])
    got = detector.predict_patches(x)
    assert got.shape == ref.shape == (len(x), 10)
    assert np.max(np.abs(got - ref)) <= 1e-5


def test_unsupported_layer_is_a_clear_error(tmp_path):
    inp = keras.Input((50,))
    out = keras.layers.Dense(10, activation="softmax")(keras.layers.LayerNormalization(name="ln")(inp))
    path = tmp_path / "odd.keras"
    keras.Model(inp, out).save(path)
    with pytest.raises(g.GenreError, match="LayerNormalization"):
        g.GenreDetector(path).predict_patches(np.zeros((1, 50), np.float32))


def test_fine_tuned_model_runs_end_to_end_like_keras(tmp_path):
    """A fine-tuned model (backbone + head in one .keras, as ``training genre --fine-tune-backbone``
    saves it) runs with the numpy musicnn as its backbone block; same probabilities as Keras on
    real music patches."""
    import soundfile as sf

    from gtzcomposer.ml import features, musicnn, musicnn_arch  # noqa: F401
    from gtzcomposer.ml.genre_model import load_head

    ref_dir = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference"

    def _patches(name):
        return features.audio_to_patches(sf.read(str(ref_dir / f"{name}.flac"), dtype="float32")[0])[0]

    backbone = keras.saving.load_model(model_path(musicnn.MODEL_NAME), compile=False)
    w = backbone.get_layer("logits").get_weights()  # changed weights, as fine-tuning would
    backbone.get_layer("logits").set_weights([w[0] * 1.1, w[1] - 0.05])
    inp = keras.Input((187, 96), name="patch")
    model = keras.Model(inp, load_head(HEAD)(backbone(inp)), name="genre_finetuned")
    path = tmp_path / "genre_finetuned.keras"
    model.save(path)
    path.with_suffix(".json").write_text(json.dumps({"labels": list(g.GENRES), "input_kind": "patches"}))
    x = np.concatenate([_patches("jazz_combo"), _patches("rock_band")[:3]])
    det = g.GenreDetector(path).load()
    assert det.end_to_end
    got = np.asarray(det._head(x))
    ref = np.asarray(model.predict_on_batch(x))
    assert np.max(np.abs(got - ref)) <= 1e-4


def _softmax(z):
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def _logit(x, eps=1e-4):
    x = np.clip(x.astype(np.float64), eps, 1 - eps)
    return np.log(x) - np.log1p(-x)


def test_linear_member_gives_the_classifier_of_the_clip_and_segment_means(tmp_path):
    """A linear member run per patch + the detector's aggregation = the linear classifier applied to the
    mean tag logit of the whole clip, and of each 10 s segment's own patches."""
    from gtzcomposer.ml.genre_model import build_ensemble, build_linear

    rng = np.random.default_rng(0)
    coef, b = rng.normal(scale=0.3, size=(50, 10)), rng.normal(size=10)  # patch log-probabilities down to about -40
    path = tmp_path / "linear.keras"
    build_ensemble([build_linear(coef, b)]).save(path)
    x = rng.uniform(0, 1, size=(35, 50)).astype(np.float32)  # 35 patches: starts 0 .. 33.2 s, 4 segments
    x[:3, :5] = [0.0, 1.0, 1e-6, 1 - 1e-6, 0.5]  # saturated tags are clipped like training did
    r = g.GenreDetector(path).detect_taggram(x)
    np.testing.assert_allclose(r.probabilities, _softmax(_logit(x).mean(0) @ coef + b), rtol=1e-4, atol=1e-6)
    segs = r.segments
    assert len(segs) == 4
    for s in segs:
        rows = (r.patch_times >= s.start - 1e-9) & (r.patch_times < s.start + 10 - 1e-9)
        np.testing.assert_allclose(s.probabilities, _softmax(_logit(x[rows]).mean(0) @ coef + b), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError):
        build_linear(coef[:, :3], b)


def test_bundled_head_is_the_ensemble_of_its_members_on_clip_and_segments(detector, shared_data):
    """Recompute the bundled head's clip and segment probabilities from its two members by hand: the
    linear member on the mean tag logit of the clip / segment, the MLP member by the mean patch
    log-probability, averaged in log space."""
    card = json.loads(HEAD.with_suffix(".json").read_text())
    if "linear" not in card["architecture"].lower() and "lda" not in card["architecture"].lower():
        pytest.skip("the bundled head has no linear member")
    path = shared_data / "gtzan-musicnn" / "evaluation_data_GTZAN_MSDmusicnn_taggram.npz"
    with np.load(path) as d:
        ids = d["IDS"].astype(str)
        x = d["X"][ids == ids[len(ids) // 2]]
    from gtzcomposer.ml.genre_model import load_head

    head = load_head(HEAD)  # the Keras reference, to take the members apart
    members = {m.name: m for m in head.layers if hasattr(m, "layers")}
    assert set(members) == {"linear", "mlp"}
    dense = members["linear"].get_layer("logits")
    w, b = (np.asarray(v, np.float64) for v in dense.get_weights())

    def expected(rows):
        lin = _logit(x[rows]).mean(0) @ w + b
        lin = lin - np.log(np.exp(lin - lin.max()).sum()) - lin.max()
        mlp = np.log(g.aggregate(_softmax(np.asarray(members["mlp"].predict_on_batch(x[rows]), np.float64))))
        return _softmax(0.5 * lin + 0.5 * mlp)

    r = detector.detect_taggram(x)
    np.testing.assert_allclose(r.probabilities, expected(np.ones(len(x), bool)), atol=1e-4)
    for s in r.segments:
        rows = (r.patch_times >= s.start - 1e-9) & (r.patch_times < s.start + 10 - 1e-9)
        np.testing.assert_allclose(s.probabilities, expected(rows), atol=1e-4)


