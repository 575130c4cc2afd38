"""musicnn's input features, computed exactly as musicnn 0.1.0 computes them, without numba.

musicnn (``musicnn/extractor.py::batch_data``) does::

    audio, sr = librosa.load(path, sr=16000)                       # mono, soxr_hq resampling
    S = librosa.feature.melspectrogram(y=audio, sr=sr, hop_length=256, n_fft=512, n_mels=96).T
    S = S.astype(np.float16)
    S = np.log10(10000 * S + 1)        # numpy 1.x computed this in float32 (see below)
    patches of 187 frames, one every ``time_to_frames(1 s)`` = 61 frames; a shorter tail is dropped

``librosa.feature.melspectrogram`` with those arguments is: a centred STFT (zero padding of
n_fft // 2 on both sides, periodic Hann window of 512, hop 256) in complex64, its power
``|X|**2``, then the Slaney-normalised mel filterbank ``librosa.filters.mel(sr=16000, n_fft=512,
n_mels=96)`` (float32).  Here both are plain numpy (they match librosa to ~1e-6 relative, see
tests/ml/test_features.py) and the filterbank is computed once and cached, so librosa is not
even imported at run time and its numba kernels are never compiled.

float16: numpy 1.x promoted ``10000 * float16_array`` to float32; numpy 2 keeps float16 and
overflows to inf.  We compute what musicnn computed: round to float16, back to float32, scale,
log.  Mel powers above float16's largest value (65504, a near full-scale low sine) would be inf
in musicnn too; we clip them to 65504 so the model never sees inf.

Patch hop: musicnn's ``input_overlap=1`` means ``librosa.time_to_frames(1, sr=16000, n_fft=512,
hop_length=256)`` = floor((16000 - 256) / 256) = 61 frames (0.976 s), not 62.5; we use 61, as
musicnn (and the GTZAN taggrams in ../shared/data/gtzan-musicnn) did.

Audio shorter than one patch (187 frames = 2.976 s): :func:`audio_to_patches` pads it with
trailing silence to 3 s (one patch) and logs a note; musicnn itself would return no patch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

SR = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
PATCH_FRAMES = 187  # librosa.time_to_frames(3, sr=16000, n_fft=512, hop_length=256) + 1
PATCH_HOP = 61  # librosa.time_to_frames(1, sr=16000, n_fft=512, hop_length=256)
PAD_SECONDS = 3.0  # clips shorter than one patch are padded with silence to this length
_F16_MAX = float(np.finfo(np.float16).max)


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    # Slaney's auditory-toolbox mel scale (librosa's default, htk=False): linear below 1 kHz,
    # logarithmic above.
    hz = np.asarray(hz, dtype=np.float64)
    lin = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, lin)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    lin = mel * (200.0 / 3)
    log_part = 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, lin)


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """The (96, 257) float32 mel filterbank of ``librosa.filters.mel(sr=16000, n_fft=512, n_mels=96)``.

    Triangular filters between 98 points equally spaced on the Slaney mel scale from 0 Hz to
    8 kHz, each scaled by 2 / (its bandwidth in Hz) (``norm="slaney"``), computed in float64
    and stored as float32.  Written out here so that librosa is not imported at run time; the
    tests check it against librosa.
    """
    fft_hz = np.linspace(0.0, SR / 2, 1 + N_FFT // 2)
    mel_hz = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SR / 2.0), N_MELS + 2))
    width = np.diff(mel_hz)
    ramps = mel_hz[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / width[:-1, None]
    falling = ramps[2:] / width[1:, None]
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    fb = weights.astype(np.float32)
    fb.setflags(write=False)
    return fb


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    # periodic Hann (scipy.signal.get_window("hann", 512, fftbins=True)), as librosa uses
    n = np.arange(N_FFT, dtype=np.float64)
    w = (0.5 - 0.5 * np.cos(2.0 * np.pi * n / N_FFT)).astype(np.float32)
    w.setflags(write=False)
    return w


def _frames_power_mel(padded: np.ndarray, n_frames: int) -> np.ndarray:
    """Mel power of ``n_frames`` frames of an already centre-padded float32 signal -> (n, 96)."""
    if n_frames <= 0:
        return np.zeros((0, N_MELS), np.float32)
    frames = np.lib.stride_tricks.as_strided(
        padded, shape=(n_frames, N_FFT), strides=(padded.strides[0] * HOP, padded.strides[0]), writeable=False
    )
    spec = np.fft.rfft(frames * _window(), axis=1)
    if spec.dtype != np.complex64:  # numpy < 2 computes rfft in complex128
        spec = spec.astype(np.complex64)
    power = spec.real * spec.real + spec.imag * spec.imag  # |X|**2 in float32
    return power @ mel_filterbank().T


def _to_log(mel_power: np.ndarray) -> np.ndarray:
    x = np.minimum(mel_power, _F16_MAX).astype(np.float16).astype(np.float32)
    return np.log10(np.float32(10000.0) * x + np.float32(1.0))


def _as_mono16k(samples: np.ndarray) -> np.ndarray:
    y = np.asarray(samples)
    if y.ndim != 1:
        raise ValueError(f"expected mono samples (1-D array), got shape {y.shape}")
    return np.ascontiguousarray(y, dtype=np.float32)


def mel_power(samples16k: np.ndarray) -> np.ndarray:
    """librosa.feature.melspectrogram(y, sr=16000, n_fft=512, hop_length=256, n_mels=96).T."""
    y = _as_mono16k(samples16k)
    padded = np.pad(y, (N_FFT // 2, N_FFT // 2))
    n_frames = 1 + len(y) // HOP
    return _frames_power_mel(padded, n_frames)


def log_mel(samples16k: np.ndarray) -> np.ndarray:
    """musicnn's log-mel spectrogram of 16 kHz mono samples -> (frames, 96) float32."""
    return _to_log(mel_power(samples16k))


def frame_seconds(frame: int | np.ndarray) -> float | np.ndarray:
    """Time in seconds of a spectrogram frame (frame t is centred on sample t * 256)."""
    return np.asarray(frame) * (HOP / SR)


def patches(logmel: np.ndarray, n_frames: int = PATCH_FRAMES, hop: int = PATCH_HOP) -> tuple[np.ndarray, np.ndarray]:
    """Cut a (frames, 96) log-mel into musicnn patches.

    Returns ``(patches, times)``: ``patches`` (n, n_frames, 96) float32, one every ``hop`` frames,
    the tail shorter than a patch dropped (as musicnn does); ``times`` (n,) float64, each patch's
    start in seconds.  Fewer than ``n_frames`` frames gives n = 0.
    """
    logmel = np.asarray(logmel, dtype=np.float32)
    if logmel.ndim != 2:
        raise ValueError(f"expected a (frames, mels) array, got shape {logmel.shape}")
    if n_frames < 1 or hop < 1:
        raise ValueError("n_frames and hop must be positive")
    starts = np.arange(0, logmel.shape[0] - n_frames + 1, hop)
    if len(starts) == 0:
        return np.zeros((0, n_frames, logmel.shape[1]), np.float32), np.zeros(0)
    view = np.lib.stride_tricks.sliding_window_view(logmel, n_frames, axis=0)[starts]  # (n, mels, n_frames)
    return np.ascontiguousarray(view.transpose(0, 2, 1)), frame_seconds(starts).astype(np.float64)


def pad_to_patch(samples16k: np.ndarray) -> tuple[np.ndarray, float]:
    """Pad audio shorter than one patch with trailing silence to 3 s; returns (samples, seconds added)."""
    y = _as_mono16k(samples16k)
    need = int(PAD_SECONDS * SR)
    if 1 + len(y) // HOP >= PATCH_FRAMES:
        return y, 0.0
    return np.pad(y, (0, need - len(y))), (need - len(y)) / SR


def audio_to_patches(samples16k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """16 kHz mono samples -> (patches (n, 187, 96), start times in seconds (n,)).

    Audio shorter than one patch is padded with silence to 3 s (logged), so n >= 1 for any
    non-empty input.
    """
    if np.asarray(samples16k).size == 0:
        raise ValueError("no audio samples to analyse")
    y, added = pad_to_patch(samples16k)
    if added:
        log.info("audio is %.2f s long, shorter than one 3 s patch: padded with %.2f s of silence",
                 (len(y) - added * SR) / SR, added)
    return patches(log_mel(y))


class PatchStream:
    """Cut musicnn patches from audio that arrives in blocks, with bounded memory.

    Feed consecutive 16 kHz mono blocks with :meth:`push` and call :meth:`finish` at the end;
    each returns the ``(patches, times)`` completed so far.  The result equals
    ``audio_to_patches(concatenated blocks)`` (up to float round-off in the mel product); memory
    holds at most one block plus one patch of frames.
    """

    def __init__(self, n_frames: int = PATCH_FRAMES, hop: int = PATCH_HOP) -> None:
        self.n_frames, self.hop = n_frames, hop
        self._samples = np.zeros(N_FFT // 2, np.float32)  # the centre padding at the start
        self._frames = np.zeros((0, N_MELS), np.float32)  # log-mel frames not yet consumed
        self._frame0 = 0  # global index of self._frames[0]
        self._next_start = 0  # global frame index of the next patch
        self._total = 0  # samples pushed
        self._finished = False

    def _take_frames(self, new_frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        self._frames = np.concatenate([self._frames, new_frames]) if len(self._frames) else new_frames
        out_p, out_t = [], []
        while self._next_start + self.n_frames <= self._frame0 + len(self._frames):
            i = self._next_start - self._frame0
            out_p.append(self._frames[i : i + self.n_frames])
            out_t.append(frame_seconds(self._next_start))
            self._next_start += self.hop
        drop = min(self._next_start - self._frame0, len(self._frames))
        if drop > 0:
            self._frames = self._frames[drop:]
            self._frame0 += drop
        if out_p:
            return np.stack(out_p).astype(np.float32, copy=False), np.asarray(out_t, np.float64)
        return np.zeros((0, self.n_frames, N_MELS), np.float32), np.zeros(0)

    def push(self, block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._finished:
            raise RuntimeError("PatchStream.push after finish")
        block = _as_mono16k(block)
        self._total += len(block)
        buf = np.concatenate([self._samples, block])
        n = (len(buf) - N_FFT) // HOP + 1 if len(buf) >= N_FFT else 0
        mel = _to_log(_frames_power_mel(buf, n))
        self._samples = buf[n * HOP :]
        return self._take_frames(mel)

    def finish(self) -> tuple[np.ndarray, np.ndarray]:
        """Flush the end (centre padding); pads a stream shorter than one patch to 3 s like
        :func:`audio_to_patches`."""
        if self._finished:
            raise RuntimeError("PatchStream.finish called twice")
        tail_p, tail_t = [], []
        if 1 + self._total // HOP < self.n_frames and self.n_frames == PATCH_FRAMES:
            need = int(PAD_SECONDS * SR) - self._total
            log.info("audio is %.2f s long, shorter than one 3 s patch: padded with %.2f s of silence",
                     self._total / SR, need / SR)
            p, t = self.push(np.zeros(need, np.float32))
            tail_p.append(p)
            tail_t.append(t)
        self._finished = True
        total_frames = 1 + self._total // HOP
        buf = np.concatenate([self._samples, np.zeros(N_FFT // 2, np.float32)])
        n = total_frames - self._frames_done()
        mel = _to_log(_frames_power_mel(buf, n))
        p, t = self._take_frames(mel)
        tail_p.append(p)
        tail_t.append(t)
        return np.concatenate(tail_p), np.concatenate(tail_t)

    def _frames_done(self) -> int:
        # frames computed so far = (samples consumed by framing) / HOP
        return (N_FFT // 2 + self._total - len(self._samples)) // HOP


def stream_patches(
    blocks: Iterable[np.ndarray], n_frames: int = PATCH_FRAMES, hop: int = PATCH_HOP
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(patches, times)`` batches from an iterable of consecutive 16 kHz mono blocks."""
    stream = PatchStream(n_frames, hop)
    for block in blocks:
        p, t = stream.push(block)
        if len(p):
            yield p, t
    p, t = stream.finish()
    if len(p):
        yield p, t
