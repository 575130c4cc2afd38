"""musicnn features: our numpy STFT/mel against librosa and against the original musicnn run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gtzcomposer.ml import features as F

REF_DIR = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference"


def _clip(name: str) -> np.ndarray:
    y, sr = sf.read(str(REF_DIR / f"{name}.flac"), dtype="float32")
    assert sr == 16000
    return y


def _clips() -> list[str]:
    return json.loads((REF_DIR / "reference.json").read_text())["clips"]


def test_mel_filterbank_equals_librosa():
    librosa = pytest.importorskip("librosa")
    ours = F.mel_filterbank()
    theirs = librosa.filters.mel(sr=16000, n_fft=512, n_mels=96)
    assert ours.shape == theirs.shape == (96, 257)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("n", [16000 * 5 + 77, 48000, 1000, 600])
def test_mel_power_equals_librosa_melspectrogram(n):
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(n)
    t = np.arange(n) / 16000
    y = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    ours = F.mel_power(y)
    theirs = librosa.feature.melspectrogram(y=y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T
    assert ours.shape == theirs.shape
    assert ours.dtype == np.float32
    scale = theirs.max()
    np.testing.assert_allclose(ours, theirs, rtol=2e-5, atol=1e-6 * scale)


def test_log_mel_matches_the_original_musicnn_spectrogram():
    ref = np.load(REF_DIR / "reference.npz")
    for name in _clips():
        ours = F.log_mel(_clip(name))
        theirs = ref[f"{name}/spectrogram"]
        assert ours.shape == theirs.shape
        diff = np.abs(ours - theirs)
        # identical except where a ~1e-7 difference in the mel power flips a float16 rounding:
        # then the value moves by one float16 step (relative 2**-11) before the log
        assert np.mean(diff == 0) > 0.999
        assert diff.max() < 1e-3


def test_float16_rounding_and_log_scaling():
    y = np.zeros(16000, np.float32)
    y[8000] = 1.0  # a click
    lm = F.log_mel(y)
    power = F.mel_power(y)
    expected = np.log10(10000 * power.astype(np.float16).astype(np.float32) + 1)
    np.testing.assert_array_equal(lm, expected)
    assert np.all(np.isfinite(lm))
    # values above float16's range are clipped, never inf
    loud = F._to_log(np.array([[1e6, 1.0]], np.float32))
    assert np.all(np.isfinite(loud))


def test_patches_shape_hop_times_and_dropped_tail():
    logmel = np.arange(500 * 96, dtype=np.float32).reshape(500, 96)
    p, times = F.patches(logmel)
    starts = list(range(0, 500 - 187 + 1, 61))  # 0, 61, ..., 305 -> 6 patches; the tail is dropped
    assert p.shape == (len(starts), 187, 96)
    for k, s in enumerate(starts):
        np.testing.assert_array_equal(p[k], logmel[s : s + 187])
    np.testing.assert_allclose(times, np.array(starts) * 256 / 16000)
    assert F.patches(logmel[:186])[0].shape == (0, 187, 96)
    p2, t2 = F.patches(logmel, n_frames=100, hop=50)
    assert p2.shape == (9, 100, 96) and t2[1] == pytest.approx(50 * 256 / 16000)


def test_patch_hop_is_musicnns_one_second():
    librosa = pytest.importorskip("librosa")
    assert F.PATCH_FRAMES == librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
    assert F.PATCH_HOP == librosa.time_to_frames(1, sr=16000, n_fft=512, hop_length=256)


def test_short_audio_is_padded_to_one_patch(caplog):
    y = np.full(16000, 0.1, np.float32)  # 1 s
    with caplog.at_level("INFO", logger="gtzcomposer.ml.features"):
        p, t = F.audio_to_patches(y)
    assert p.shape == (1, 187, 96) and list(t) == [0.0]
    assert "padded" in caplog.text
    # the padding is silence: the patch equals the log-mel of the explicitly padded signal
    np.testing.assert_array_equal(p[0], F.log_mel(np.pad(y, (0, 32000)))[:187])
    # audio exactly one patch long is not padded
    y3 = np.full(186 * 256, 0.1, np.float32)
    assert F.pad_to_patch(y3)[1] == 0.0


@pytest.mark.parametrize("n_blocks", [1, 3, 50])
def test_stream_patches_equal_whole_signal(n_blocks):
    y = _clip("jazz_combo")
    whole, times = F.audio_to_patches(y)
    got = list(F.stream_patches(np.array_split(y, n_blocks)))
    p = np.concatenate([g[0] for g in got])
    t = np.concatenate([g[1] for g in got])
    assert p.shape == whole.shape
    diff = np.abs(p - whole)
    # equal up to float16 rounding flips caused by ~1e-7 differences in the mel matrix product
    assert np.mean(diff < 1e-6) > 0.999 and diff.max() < 1e-3
    np.testing.assert_allclose(t, times)


def test_stream_patches_of_short_stream_are_padded():
    y = np.full(20000, 0.05, np.float32)
    got = list(F.stream_patches([y[:7000], y[7000:]]))
    assert len(got) == 1
    np.testing.assert_allclose(got[0][0], F.audio_to_patches(y)[0], atol=1e-5)


def test_rejects_non_mono_input():
    with pytest.raises(ValueError, match="mono"):
        F.log_mel(np.zeros((2, 1000), np.float32))


def test_features_do_not_import_librosa():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from gtzcomposer.ml import features as F; "
        "F.audio_to_patches(np.zeros(50000, np.float32)); print('librosa' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "False"


def test_streamed_file_patches_equal_whole_file_patches(tmp_path):
    """io.audio blocks -> PatchStream gives the patches of the whole decoded file."""
    from gtzcomposer.io.audio import iter_audio_blocks, load_audio

    y = _clip("rock_band")
    path = tmp_path / "rock.wav"
    sf.write(str(path), np.stack([y, 0.5 * y], axis=1), 16000, subtype="FLOAT")
    resampled = tmp_path / "rock44.flac"
    import soxr

    sf.write(str(resampled), soxr.resample(y, 16000, 44100), 44100)
    for p in (path, resampled):
        whole, times = F.audio_to_patches(load_audio(p))
        got = list(F.stream_patches(iter_audio_blocks(p, block_seconds=1.3)))
        streamed = np.concatenate([g[0] for g in got])
        assert streamed.shape == whole.shape
        assert np.mean(np.abs(streamed - whole) < 1e-6) > 0.999
        np.testing.assert_allclose(np.concatenate([g[1] for g in got]), times)


def test_empty_input_is_refused():
    with pytest.raises(ValueError, match="no audio"):
        F.audio_to_patches(np.zeros(0, np.float32))
