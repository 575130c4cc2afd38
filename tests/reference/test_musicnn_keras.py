"""The numpy backbone (the app's runtime) against the Keras port (the reference it is converted,
saved and verified with), and the Keras port against the original musicnn's outputs.

Needs the ``training`` extra (Keras + TensorFlow): ``scripts/install.sh --dev`` installs it, so CI
runs these; a lean install skips them with the reason below."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

keras = pytest.importorskip("keras", reason="Keras comes with the training extra (pip install '.[training]'); "
                                            "these tests compare the numpy runtime with it")

from gtzcomposer.ml import features as F  # noqa: E402
from gtzcomposer.ml import musicnn  # noqa: E402

pytestmark = pytest.mark.keras
REF_DIR = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference"
INFO = json.loads((REF_DIR / "reference.json").read_text())


@pytest.fixture(scope="module")
def reference():
    return np.load(REF_DIR / "reference.npz")


@pytest.fixture(scope="module")
def tagger():
    return musicnn.load_keras_backbone()


def _patches(name):
    y, sr = sf.read(str(REF_DIR / f"{name}.flac"), dtype="float32")
    return F.audio_to_patches(y)[0]


@pytest.mark.parametrize("name", INFO["clips"])
def test_keras_port_and_numpy_runtime_agree_with_each_other_and_the_original(name, reference, tagger):
    x = _patches(name)
    ref_keras = np.asarray(tagger.predict_on_batch(x))
    got = musicnn.taggram(x)
    assert np.max(np.abs(ref_keras - reference[f"{name}/taggram"])) <= 1e-4  # the port is musicnn
    assert np.max(np.abs(got - ref_keras)) <= 1e-4  # the runtime is the port
    assert np.max(np.abs(got - ref_keras)) <= 1e-5


def test_all_four_outputs_match_keras_on_real_music(tagger):
    x = np.concatenate([_patches(n) for n in INFO["clips"]])
    ref = dict(zip(("tags", "penultimate", "max_pool", "mean_pool"),
                   (np.asarray(o) for o in musicnn.load_features_model().predict_on_batch(x))))
    got = musicnn.features(x)
    for k, v in ref.items():
        assert got[k].shape == v.shape
        assert np.max(np.abs(got[k] - v)) <= 1e-4 * max(1.0, float(np.abs(v).max())), k


def test_runtime_matches_keras_off_the_music_too(tagger):
    """Patches unlike music (noise, silence, loud constant) and a run cut by batches."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(0, 4, (3, 187, 96)), np.zeros((1, 187, 96)), np.full((1, 187, 96), 4.8)])
    x = x.astype(np.float32)
    run = _patches("dance_synth")
    np.testing.assert_allclose(musicnn.taggram(x), np.asarray(tagger.predict_on_batch(x)), atol=1e-5)
    np.testing.assert_allclose(musicnn.taggram(run, batch_size=4), np.asarray(tagger.predict_on_batch(run)), atol=1e-5)


def test_keras_backbone_is_cached_and_shaped(tagger):
    assert tagger is musicnn.load_keras_backbone()
    assert tuple(tagger.input_shape) == (None, 187, 96) and tuple(tagger.output_shape) == (None, 50)
