"""The backbone as the app runs it (numpy, no Keras) against the original musicnn 0.1.0 outputs
(tests/data/musicnn_reference).  The Keras reference: tests/reference/test_musicnn_keras.py."""

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
@pytest.mark.parametrize("path", ["overlap", "one_by_one"])
def test_port_matches_original_tags_on_every_patch(name, path, reference):
    expected = reference[f"{name}/taggram"]
    p = _patches(name)
    got = musicnn.taggram(p) if path == "overlap" else np.concatenate([musicnn.taggram(q[None]) for q in p])
    assert got.shape == expected.shape
    assert got.dtype == np.float32
    assert np.max(np.abs(got - expected)) <= 1e-4


def test_overlap_path_equals_patch_by_patch_on_mixed_input():
    a, b = _patches("rock_band"), _patches("chorale_organ")
    rng = np.random.default_rng(5)
    noise = rng.uniform(0, 3, (3, 187, 96)).astype(np.float32)
    # two overlapping runs, singletons between them, and a run cut by a batch boundary
    x = np.concatenate([a, noise[:1], b, noise[1:], a[:2]])
    runs = musicnn._overlapping_runs(x, F.PATCH_HOP)
    assert runs[0] == (0, len(a)) and (len(a), len(a) + 1) in runs
    fast = musicnn.taggram(x, batch_size=4)
    net = musicnn.load_backbone()
    slow = np.concatenate([net.outputs(q[None])["tags"] for q in x])  # each patch on its own
    assert np.max(np.abs(fast - slow)) < 1e-5
    # shifting one patch by a frame breaks the run: still right, just not shared
    y = a.copy()
    y[3] = np.roll(y[3], 1, axis=0)
    assert musicnn._overlapping_runs(y, F.PATCH_HOP) == [(0, 3), (3, 4), (4, len(y))]
    np.testing.assert_allclose(musicnn.taggram(y), net.outputs(y)["tags"], atol=1e-5)


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
    assert m.n_tags == 50
    out = m.outputs(np.zeros((2, 187, 96), np.float32))
    assert {k: v.shape for k, v in out.items()} == {"tags": (2, 50), "penultimate": (2, 200),
                                                    "max_pool": (2, 753), "mean_pool": (2, 753)}


def test_missing_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(musicnn, "model_path", lambda name: tmp_path / f"{name}.keras")
    monkeypatch.setattr(musicnn, "_models", {})
    with pytest.raises(musicnn.BackboneError, match="convert-musicnn"):
        musicnn.load_backbone()


@pytest.mark.parametrize("damage", ["not a zip", "cut", "other model"])
def test_damaged_model_is_a_clear_error(monkeypatch, tmp_path, damage):
    path = tmp_path / "msd_musicnn.keras"
    if damage == "not a zip":
        path.write_text("hello")
    elif damage == "cut":
        data = model_path("msd_musicnn").read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.write_bytes(model_path("genre_head").read_bytes())
    monkeypatch.setattr(musicnn, "model_path", lambda name: path)
    monkeypatch.setattr(musicnn, "_models", {})
    with pytest.raises(musicnn.BackboneError, match="could not be loaded") as err:
        musicnn.load_backbone()
    assert str(path) in str(err.value)


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


def test_tagging_a_file_imports_no_tensorflow_keras_or_librosa():
    import subprocess
    import sys

    code = ("import sys; from gtzcomposer.ml import musicnn; "
            f"t, _ = musicnn.taggram_of_file({str(REF_DIR / 'rock_band.flac')!r}); "
            "print(t.shape, sorted(m for m in ('keras', 'tensorflow', 'librosa', 'numba', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "(6, 50) []"


@pytest.mark.parametrize("k", [128, 64, 32, 7])
@pytest.mark.parametrize("pad", [None, "first", "last"])
def test_blocked_temporal_convolution_equals_the_plain_sum(k, pad):
    """The Toeplitz-blocked temporal branch against the convolution written as a plain sum."""
    from gtzcomposer.ml import musicnn_numpy as N

    rng = np.random.default_rng(k)
    kernel = rng.normal(size=(k, 1, 1, 5)).astype(np.float32)
    bn = N._Affine([rng.uniform(-1, 1, 5), rng.normal(size=5), rng.normal(size=5), rng.uniform(0.5, 2, 5)])
    br = N._Branch(kernel, rng.normal(size=5).astype(np.float32), bn, True)
    x = rng.uniform(0, 3, (2, 70, 96)).astype(np.float32)
    before, after = br.pad
    pads = {None: None, "first": (before, 0), "last": (0, after)}[pad]
    xp = np.pad(x, ((0, 0), pads or br.pad, (0, 0))).astype(np.float64)
    t_out = xp.shape[1] - k + 1
    conv = sum(xp[:, i:i + t_out, :, None] * kernel[i, 0, 0].astype(np.float64) for i in range(k))  # (B, T, M, F)
    plain = (np.maximum(conv + br.bias_s * br.s, 0) * bn.a + bn.c).max(axis=2)  # conv + bias, ReLU, BN, max
    assert len(br.live) == 5  # random kernels: every filter is live
    got = br.live_out(x, pad=pads)
    assert got.shape == plain.shape == (2, t_out, 5)
    np.testing.assert_allclose(got, plain, atol=1e-4 * np.abs(plain).max())


def test_concurrent_taggrams_agree_and_leave_the_blas_threads_as_they_were():
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_info

    before = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    x = _patches("piano_classical")
    one = musicnn.taggram(x)
    with ThreadPoolExecutor(3) as pool:
        outs = list(pool.map(lambda _: musicnn.taggram(x), range(6)))
    for o in outs:
        np.testing.assert_allclose(o, one, atol=1e-6)  # BLAS sums may round differently by alignment
    assert [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"] == before


def test_skipping_dead_filters_changes_no_output_on_real_music(monkeypatch):
    """The runtime computes only the live front-end filters (most MSD_musicnn filters were trained to
    kernels of ~1e-30).  With every filter computed, every output is the same on real music."""
    from gtzcomposer.ml import musicnn_numpy as N
    from gtzcomposer.ml.keras_file import read

    weights = dict(read(model_path("msd_musicnn")).weights)
    # the bundled model's dead channels are near 0 and its mid-end ignores them; a fine-tuned one
    # need not, so give them values and weights here (their constant share in the mid-end, at the
    # patch edges too, must then be right)
    rng = np.random.default_rng(0)
    for name in ("timbral74", "timbral77", "temporal128", "temporal64", "temporal32"):
        kernel, bias = weights[f"{name}_conv"]
        weights[f"{name}_conv"] = [kernel, bias + np.float32(0.05)]
    kernel, bias = weights["midend1_conv"]
    weights["midend1_conv"] = [kernel + rng.normal(0, 0.002, kernel.shape).astype(np.float32), bias]
    pruned = N.MusicnnNumpy(weights)
    monkeypatch.setattr(N, "NEGLIGIBLE", 0.0)
    full = N.MusicnnNumpy(weights)
    assert len(full.front_live) == 561
    assert len(pruned.front_live) < 561 // 4  # the point of the rule: most filters are skipped
    for name in INFO["clips"]:
        x = _patches(name)
        for hop in (F.PATCH_HOP, 0):
            a, b = pruned.outputs(x[:4], hop), full.outputs(x[:4], hop)
            for key in ("tags", "penultimate", "max_pool", "mean_pool"):
                np.testing.assert_allclose(a[key], b[key], atol=1e-5 * max(1.0, float(np.abs(b[key]).max())),
                                           err_msg=key)
            assert np.abs(a["tags"] - b["tags"]).max() <= 1e-5
