"""The Keras 3 musicnn port against the original musicnn 0.1.0 outputs (tests/data/musicnn_reference)."""

from __future__ import annotations

import json
from concurrent.futures import CancelledError
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gtzcomposer.ml import features as F
from gtzcomposer.ml import musicnn
from gtzcomposer.resources import model_path

REF_DIR = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference"
INFO = json.loads((REF_DIR / "reference.json").read_text())


@pytest.fixture(scope="module")
def reference():
    return np.load(REF_DIR / "reference.npz")


def _patches(name):
    y, sr = sf.read(str(REF_DIR / f"{name}.flac"), dtype="float32")
    assert sr == 16000
    return F.audio_to_patches(y)[0]


def test_fixture_is_real_music_of_several_kinds(reference):
    assert len(INFO["clips"]) >= 4
    tops = set()
    for name in INFO["clips"]:
        tg = reference[f"{name}/taggram"]
        assert tg.shape[1] == 50 and len(tg) >= 5
        tops.add(int(np.argmax(tg.mean(axis=0))))
    assert len(tops) >= 3  # the clips do not all sound alike to musicnn


@pytest.mark.parametrize("name", INFO["clips"])
@pytest.mark.parametrize("path", ["overlap", "per_patch"])
def test_port_matches_original_tags_on_every_patch(name, path, reference):
    expected = reference[f"{name}/taggram"]
    fn = musicnn.taggram if path == "overlap" else musicnn.taggram_per_patch
    got = fn(_patches(name))
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    assert np.max(np.abs(got - expected)) <= 1e-4


def test_overlap_path_equals_per_patch_path_on_mixed_input():
    a, b = _patches("rock_band"), _patches("chorale_organ")
    rng = np.random.default_rng(5)
    noise = rng.uniform(0, 3, (3, 187, 96)).astype(np.float32)
    # two overlapping runs, singletons between them, and a run cut by a batch boundary
    x = np.concatenate([a, noise[:1], b, noise[1:], a[:2]])
    runs = musicnn._overlapping_runs(x, F.PATCH_HOP)
    assert runs[0] == (0, len(a)) and (len(a), len(a) + 1) in runs
    fast = musicnn.taggram(x, batch_size=4)
    slow = musicnn.taggram_per_patch(x, batch_size=4)
    assert np.max(np.abs(fast - slow)) < 1e-5
    # shifting one patch by a frame breaks the run: still right, just not shared
    y = a.copy()
    y[3] = np.roll(y[3], 1, axis=0)
    np.testing.assert_allclose(musicnn.taggram(y), musicnn.taggram_per_patch(y), atol=1e-5)


def test_port_features_match_original(reference):
    for name in INFO["clips"]:
        out = musicnn.features(_patches(name))
        assert out["penultimate"].shape[1] == 200 and out["max_pool"].shape[1] == 753
        np.testing.assert_allclose(out["tags"], reference[f"{name}/taggram"], atol=1e-4)
        np.testing.assert_allclose(out["mean_pool"], reference[f"{name}/mean_pool"], atol=1e-3)
        ref_max = reference[f"{name}/max_pool"]
        assert np.max(np.abs(out["max_pool"] - ref_max)) <= 1e-4 * np.max(np.abs(ref_max))
        # musicnn 0.1.0 repeats the first batch's penultimate for later batches: compare patch 0
        np.testing.assert_allclose(out["penultimate"][0], reference[f"{name}/penultimate"][0], atol=1e-3)


def test_tag_names_follow_msd_labels():
    names = musicnn.tag_names()
    assert len(names) == 50 and names[:3] == ["rock", "pop", "alternative"] and names[9] == "jazz"
    assert names == INFO["labels"]


def test_card_describes_the_model():
    card = musicnn.card().data
    assert card["task"] == "music tagging backbone"
    assert "ISC" in card["licence"]
    assert card["input"]["sample_rate"] == 16000 and card["input"]["n_mels"] == 96
    assert card["input"]["patch_frames"] == 187 and card["input"]["patch_hop_frames"] == F.PATCH_HOP
    assert card["equivalence"]["max_abs_diff"]["tags"] <= 1e-4
    assert "convert-musicnn" in card["command"]
    assert model_path("msd_musicnn").stat().st_size < 10_000_000


def test_taggram_batches_progress_and_cancel():
    x = np.random.default_rng(1).uniform(0, 2, (5, 187, 96)).astype(np.float32)
    calls = []
    one = musicnn.taggram(x, batch_size=2, progress=lambda f, m: calls.append(f))
    assert calls == pytest.approx([0.4, 0.8, 1.0])
    np.testing.assert_allclose(one, musicnn.taggram(x, batch_size=8), atol=1e-6)
    assert np.all((one > 0) & (one < 1))
    with pytest.raises(CancelledError):
        musicnn.taggram(x, batch_size=2, is_cancelled=lambda: len(calls) >= 4,
                        progress=lambda f, m: calls.append(f))
    assert musicnn.taggram(np.zeros((0, 187, 96), np.float32)).shape == (0, 50)
    with pytest.raises(ValueError):
        musicnn.taggram(np.zeros((2, 100, 96), np.float32))


def test_load_backbone_is_cached_and_shaped():
    m = musicnn.load_backbone()
    assert m is musicnn.load_backbone()
    assert tuple(m.input_shape) == (None, 187, 96) and tuple(m.output_shape) == (None, 50)


def test_missing_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(musicnn, "model_path", lambda name: tmp_path / f"{name}.keras")
    monkeypatch.setattr(musicnn, "_models", {})
    with pytest.raises(musicnn.BackboneError, match="convert-musicnn"):
        musicnn.load_backbone()


def test_importing_the_backbone_module_does_not_import_tensorflow():
    import subprocess
    import sys

    code = "import sys; import gtzcomposer.ml.musicnn, gtzcomposer.io.audio; " \
           "print(any(m in sys.modules for m in ('keras', 'tensorflow', 'librosa', 'soundfile')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_taggram_of_file_matches_whole_clip_path(tmp_path, reference):
    from gtzcomposer.io.audio import AudioError

    name = "jazz_combo"
    seen = []
    tags, times = musicnn.taggram_of_file(REF_DIR / f"{name}.flac", block_seconds=2.0,
                                          progress=lambda f, m: seen.append(f))
    assert tags.shape == reference[f"{name}/taggram"].shape
    assert np.max(np.abs(tags - reference[f"{name}/taggram"])) <= 1e-4
    np.testing.assert_allclose(times, np.arange(len(tags)) * F.PATCH_HOP * 256 / 16000)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    # a 1.5 s file is padded to one patch; a text file is an AudioError
    short = tmp_path / "short.wav"
    sf.write(str(short), sf.read(str(REF_DIR / f"{name}.flac"), dtype="float32")[0][:24000], 16000)
    assert musicnn.taggram_of_file(short)[0].shape == (1, 50)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    with pytest.raises(AudioError):
        musicnn.taggram_of_file(bad)


@pytest.mark.parametrize("length", [128, 64, 32])
def test_blocked_temporal_branch_equals_the_patch_model_branch(length):
    from gtzcomposer.ml import musicnn_arch as A

    tagger = musicnn.load_backbone()
    conv, bn = tagger.get_layer(f"temporal{length}_conv"), tagger.get_layer(f"temporal{length}_bn")
    x = np.random.default_rng(length).uniform(0, 3, (3, 187, 96)).astype(np.float32)
    xb = tagger.get_layer("input_bn")(x[..., None])
    # the tagger's own layers: conv -> ReLU -> batch-norm -> max over frequency
    plain = np.asarray(tagger.get_layer(f"temporal{length}_pool")(bn(conv(xb))))
    for block in (8, 16):
        got = np.asarray(A.BlockedTemporalConvMaxAffine(conv, bn, block=block)(xb))
        assert got.shape == plain.shape
        assert np.max(np.abs(got - plain)) <= 1e-5 * np.max(np.abs(plain))
    # padded on one side only, from the first / last K - 1 frames: the patch's first / last frames
    before, after = (length - 1) // 2, length - 1 - (length - 1) // 2
    first = np.asarray(A.BlockedTemporalConvMaxAffine(conv, bn, pad=(before, 0))(xb[:, : length - 1]))
    last = np.asarray(A.BlockedTemporalConvMaxAffine(conv, bn, pad=(0, after))(xb[:, -(length - 1):]))
    assert first.shape == (3, before, 51) and last.shape == (3, after, 51)
    np.testing.assert_allclose(first, plain[:, :before], atol=1e-5 * np.max(np.abs(plain)))
    np.testing.assert_allclose(last, plain[:, -after:], atol=1e-5 * np.max(np.abs(plain)))


def test_compiled_taggram_is_traced_once_for_any_length():
    x = _patches("rock_band")
    musicnn.warm_up()
    run_fn, _ = musicnn._compiled(F.PATCH_HOP)
    before = run_fn.experimental_get_tracing_count()
    for n in (2, 3, len(x) - 1):
        np.testing.assert_allclose(musicnn.taggram(x[:n]), musicnn.taggram_per_patch(x[:n]), atol=1e-5)
    assert run_fn.experimental_get_tracing_count() == before == 1


def test_import_keras_skips_sklearn_only_while_importing():
    import subprocess
    import sys

    code = ("import sys; from gtzcomposer.ml.keras_import import import_keras; k = import_keras(); "
            "a = 'sklearn' in sys.modules; import sklearn; "
            "print(a, k is sys.modules['keras'], sys.modules['sklearn'] is not None)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.split() == ["False", "True", "True"]
