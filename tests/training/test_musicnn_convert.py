"""convert-musicnn reproduces the bundled backbone (needs `pip install --no-deps musicnn==0.1.0`)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("musicnn", reason="musicnn 0.1.0 not installed (pip install --no-deps musicnn==0.1.0)")


@pytest.mark.slow
def test_convert_musicnn_reproduces_bundled_model(tmp_path):
    import keras

    from gtzcomposer.ml import musicnn_arch  # noqa: F401
    from gtzcomposer.resources import model_card_path, model_path
    from training.__main__ import main

    assert main(["convert-musicnn", "--out", str(tmp_path)]) == 0
    card = json.loads((tmp_path / "msd_musicnn.json").read_text())
    assert card["equivalence"]["max_abs_diff"]["tags"] <= 1e-4
    assert card["labels"] == json.loads(model_card_path("msd_musicnn").read_text())["labels"]
    assert "ISC" in (tmp_path / "msd_musicnn.LICENSE.md").read_text() or "Permission to use" in (
        tmp_path / "msd_musicnn.LICENSE.md"
    ).read_text()
    new = keras.saving.load_model(tmp_path / "msd_musicnn.keras", compile=False)
    bundled = keras.saving.load_model(model_path("msd_musicnn"), compile=False)
    for a, b in zip(new.get_weights(), bundled.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_every_checkpoint_variable_is_mapped():
    from gtzcomposer.ml.musicnn_arch import build_musicnn
    from training.musicnn_convert import copy_weights, musicnn_package_dir, read_checkpoint

    variables = read_checkpoint(musicnn_package_dir() / "MSD_musicnn")
    model = build_musicnn()
    assert copy_weights(model, variables) == len(variables) == 64
    # one extra variable in the checkpoint must be reported, not silently ignored
    variables["conv2d_99/kernel"] = np.zeros(3, np.float32)
    with pytest.raises(RuntimeError, match="unmapped"):
        copy_weights(build_musicnn(), variables)
