"""MSD_musicnn in numpy: the app's runtime for the backbone (no TensorFlow, no Keras).

Reads the weights of ``models/msd_musicnn.keras`` by layer name (see
:mod:`gtzcomposer.ml.keras_file`) and computes what the Keras model of
:mod:`gtzcomposer.ml.musicnn_arch` computes — the reference; tests compare the two, and both
with the original musicnn's outputs, to 1e-4.  The architecture is described there.

How it is computed (decisions, each measured on this project's 2-core machine):

- **Convolutions are im2col + one matrix product.**  The input windows of a block of output
  positions are copied into a matrix (``sliding_window_view`` then one reshape) and multiplied by
  the kernel, so nearly all the time is spent in BLAS ``sgemm`` (OpenBLAS, both cores).  Blocks
  hold at most ``BLOCK_ELEMENTS`` copied values (8 MB), so memory stays small and the copy stays
  in cache; larger or smaller blocks were not faster.
- **Front-end branches are fused.**  A branch is conv -> ReLU -> batch-norm -> max over frequency.
  Batch-norm is a per-channel ``a*r + c``; the max over frequency commutes with it where
  ``a > 0`` and becomes a min where ``a < 0``, and max/min commute with ReLU and with the bias.  So
  the branch is ``a * relu(s * max_f(conv(x, s*K)) + s*b) + c`` with ``s = sign(a)``: the sign goes
  into the kernel and the ReLU, batch-norm and bias run on the pooled (time, channels) values.
- **Overlapping patches share their front end.**  Patches are cut every 61 frames, so consecutive
  patches share 126 of their 187 frames.  A branch whose kernel spans frames ``t-P .. t+Q`` gives
  at patch frame ``t`` the value it gives over the joined frames of a run of patches (the *span*),
  except in the first P and last Q frames of a patch, where the patch model pads with zeros.  So
  the timbral (P = Q = 3), temporal64 (31/32) and temporal32 (15/16) branches run once over the
  span, and only those edge frames are recomputed per patch from the patch's own first / last
  frames with the patch's padding.  temporal128 (63/64: most of a patch) runs per patch.  A patch
  on its own is a span of one patch: one code path for both.
- **Dead filters are constants.**  Training (weight decay) left 496 of the front end's 561
  filters with kernels of about 1e-30; each gives ``bn(relu(bias))`` whatever the input, to
  within :data:`NEGLIGIBLE`.  Only the live ones (24 + 14 timbral, 3 + 7 + 17 temporal) are
  computed; the dead ones enter mid-end 1 as a constant per tap (so the patch edges, where taps
  fall on padding, stay exact) and the pooling as their value.  This is what brought a warm 30 s
  genre analysis from 0.35 s to under 0.2 s on 2 cores; the outputs move by ~1e-7.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from .keras_file import KerasFileError, Weights, read

N_FRAMES = 187
N_MELS = 96
BLOCK_ELEMENTS = 1 << 18  # values per im2col block (1 MB of float32: stays in a core's cache)
WORKERS = max(1, min(4, os.cpu_count() or 1))  # threads sharing the blocks
# A front-end filter whose largest possible effect on its output, |a| * sum|kernel| * INPUT_BOUND,
# is under NEGLIGIBLE is a constant (see _Branch).  Batch-normed log-mel inputs stay within
# +-5 (log10(1 + 10^4 * power) <= ~9 for full-scale audio, times the input batch-norm's 0.44);
# INPUT_BOUND leaves a factor of 20 over that.
INPUT_BOUND = 100.0
NEGLIGIBLE = 1e-7
TEMPORAL_BLOCK = 16  # output frames computed together by a temporal branch (see _temporal_max)

# branch name, (time taps, frequency taps) are read from the kernels
TIMBRAL = ("timbral74", "timbral77")
SPAN_TEMPORAL = ("temporal64", "temporal32")
PATCH_TEMPORAL = "temporal128"


def _blocks(b: int, t_out: int, per_frame: int):
    """(b0, b1, t0, t1) pieces of a (b, t_out) output, each reading at most BLOCK_ELEMENTS values."""
    frames = max(1, BLOCK_ELEMENTS // per_frame)
    if frames >= t_out:  # whole patches per piece
        group = max(1, frames // t_out)
        return [(b0, min(b0 + group, b), 0, t_out) for b0 in range(0, b, group)]
    return [(i, i + 1, t0, min(t0 + frames, t_out)) for i in range(b) for t0 in range(0, t_out, frames)]


_pool = None
_pool_lock = threading.Lock()


def _parallel(fn, pieces) -> None:
    """Run ``fn(piece)`` for every piece on a small thread pool (numpy's copies and matrix
    products release the GIL; the BLAS itself runs one thread per call, see ``outputs``)."""
    global _pool
    if len(pieces) == 1 or WORKERS == 1:
        for piece in pieces:
            fn(piece)
        return
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="musicnn")
    for f in [_pool.submit(fn, piece) for piece in pieces]:
        f.result()


def _conv_max(xp: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid 2-D cross-correlation of ``xp`` (B, T, M) with ``kernel`` (K, W, F), then the max
    over the M - W + 1 frequency positions -> (B, T - K + 1, F) float32."""
    b, t, m = xp.shape
    k, w, f = kernel.shape
    t_out, n_freq = t - k + 1, m - w + 1
    out = np.empty((b, max(t_out, 0), f), np.float32)
    if t_out <= 0 or b == 0:
        return out
    km = kernel.reshape(k * w, f)
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, w), axis=(1, 2))  # (B, T_out, nf, K, W)

    def piece(p):
        b0, b1, t0, t1 = p
        cols = win[b0:b1, t0:t1].reshape(-1, k * w)  # the im2col copy
        out[b0:b1, t0:t1] = (cols @ km).reshape(b1 - b0, t1 - t0, n_freq, f).max(axis=2)

    _parallel(piece, _blocks(b, t_out, n_freq * k * w))
    return out


def _toeplitz(kernel: np.ndarray, block: int) -> np.ndarray:
    """(K, F) taps -> (block + K - 1, block * F): column ``j*F + f`` holds output frame ``j`` of a
    block, row ``c`` input frame ``c`` of the block's window (tap ``c - j``; zero outside 0..K-1)."""
    k, f = kernel.shape
    c = np.arange(block + k - 1)[:, None] - np.arange(block)[None, :]  # (C, G) tap index
    valid = (c >= 0) & (c < k)
    w = np.where(valid[..., None], kernel[np.clip(c, 0, k - 1)], np.float32(0))  # (C, G, F)
    return np.ascontiguousarray(w.reshape(block + k - 1, block * f), dtype=np.float32)


def _temporal_max(xp: np.ndarray, toeplitz: np.ndarray, k: int, block: int) -> np.ndarray:
    """Valid cross-correlation over time of every mel band of ``xp`` (B, T, M) with (K, 1) taps
    (one input channel), then the max over the bands -> (B, T - K + 1, F).

    A (K, 1) kernel with one input channel makes a poor matrix product (inner size K, F = 51
    columns).  So ``block`` consecutive output frames are computed together: a row holds the
    ``block + K - 1`` input frames they read, the :func:`_toeplitz` matrix maps them to the
    ``block`` frames x F channels (zeros where a tap falls outside the kernel: (block + K - 1) / K
    times the multiply-adds, in a shape that runs several times faster)."""
    b, t, m = xp.shape
    t_out = t - k + 1
    n_blk = -(-t_out // block)
    cw = block + k - 1
    f = toeplitz.shape[1] // block
    need = block * (n_blk - 1) + cw
    xt = np.zeros((b, m, need), np.float32)  # bands first: a row's window is contiguous
    xt[:, :, :t] = xp.transpose(0, 2, 1)
    s_b, s_m, s_t = xt.strides
    win = np.lib.stride_tricks.as_strided(xt, (b, n_blk, m, cw), (s_b, block * s_t, s_m, s_t), writeable=False)
    out = np.empty((b, n_blk * block, f), np.float32)

    def piece(p):
        b0, b1, i0, i1 = p
        cols = win[b0:b1, i0:i1].reshape(-1, cw)
        z = (cols @ toeplitz).reshape(b1 - b0, i1 - i0, m, block * f).max(axis=2)
        out[b0:b1, i0 * block:i1 * block] = z.reshape(b1 - b0, (i1 - i0) * block, f)

    _parallel(piece, _blocks(b, n_blk, m * cw))
    return out[:, :t_out]


def _conv1d(xp: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Valid 1-D cross-correlation over time: ``xp`` (B, T, C), ``kernel`` (K, C, F) -> (B, T-K+1, F).

    One matrix product of every input frame with all K taps at once, ``(B*T, C) @ (C, K*F)``,
    then the K shifted slices summed: no copy of input windows, and a wide product."""
    b, t, c = xp.shape
    k, _, f = kernel.shape
    t_out = t - k + 1
    km = np.ascontiguousarray(kernel.transpose(1, 0, 2)).reshape(c, k * f)
    out = np.empty((b, t_out, f), np.float32)

    def piece(q):
        b0, b1, _, _ = q
        p = (xp[b0:b1].reshape(-1, c) @ km).reshape(b1 - b0, t, k, f)
        o = p[:, 0:t_out, 0].copy()
        for i in range(1, k):
            o += p[:, i:i + t_out, i]
        out[b0:b1] = o + bias

    _parallel(piece, _blocks(b, 1, t * c * 4))
    return out


class _Affine:
    """An inference batch-norm as ``x * a + c``."""

    def __init__(self, w: list[np.ndarray], eps: float = 1e-3):
        gamma, beta, mean, var = (v.astype(np.float64) for v in w)
        a = gamma / np.sqrt(var + eps)
        self.a = a.astype(np.float32)
        self.c = (beta - a * mean).astype(np.float32)

    @classmethod
    def of(cls, a: np.ndarray, c: np.ndarray) -> _Affine:
        aff = cls.__new__(cls)
        aff.a, aff.c = np.asarray(a, np.float32), np.asarray(c, np.float32)
        return aff

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return x * self.a + self.c


class _Branch:
    """A fused front-end branch: conv (K, W) -> ReLU -> batch-norm -> max over frequency.

    Only the *live* filters are computed.  Training left most of MSD_musicnn's front-end filters
    with kernels of about 1e-30 (weight decay pulled them to zero): 180 of the 204 in timbral74.
    Such a filter's output is ``bn(relu(bias))`` for every input, to within
    ``|a| * sum|kernel| * INPUT_BOUND`` (:data:`NEGLIGIBLE` at most, far below float32's resolution of
    the values it is added to), so it is that constant column here."""

    def __init__(self, kernel: np.ndarray, bias: np.ndarray, bn: _Affine, same_time_padding: bool):
        k, n_filters = kernel.shape[0], kernel.shape[-1]
        reach = np.abs(bn.a).astype(np.float64) * np.abs(kernel.astype(np.float64)).reshape(-1, n_filters).sum(0)
        self.live = np.flatnonzero(reach * INPUT_BOUND >= NEGLIGIBLE)
        self.n_filters = n_filters
        # the dead filters' output: batch-norm of the ReLU'd bias
        self.const = (np.maximum(bias.astype(np.float32), 0) * bn.a + bn.c).astype(np.float32)
        kernel, bias = kernel[..., self.live], bias[self.live]
        bn = _Affine.of(bn.a[self.live], bn.c[self.live])
        s = np.where(bn.a >= 0, 1.0, -1.0).astype(np.float32)
        self.kernel = np.ascontiguousarray(kernel[:, :, 0, :] * s, dtype=np.float32)  # (K, W, F), sign folded in
        self.bias_s = (bias * s).astype(np.float32)
        self.s, self.bn, self.k = s, bn, k
        # "same" padding of the time axis (temporal branches) or the model's explicit 3 + 3 (timbral)
        self.pad = ((k - 1) // 2, k - 1 - (k - 1) // 2) if same_time_padding else (3, 3)
        self.toeplitz = _toeplitz(self.kernel[:, 0], TEMPORAL_BLOCK) if self.kernel.shape[1] == 1 else None

    def live_out(self, x: np.ndarray, pad: tuple[int, int] | None = None) -> np.ndarray:
        """Batch-normed input (B, T, 96) with ``pad`` zero frames (default: the model's) -> the live
        filters' outputs (B, T', len(live))."""
        before, after = self.pad if pad is None else pad
        xp = np.pad(x, ((0, 0), (before, after), (0, 0))) if before or after else x
        t_out = max(xp.shape[1] - self.k + 1, 0)
        if not len(self.live) or not t_out:
            return np.empty((xp.shape[0], t_out, len(self.live)), np.float32)
        if self.toeplitz is not None:
            m = _temporal_max(xp, self.toeplitz, self.k, TEMPORAL_BLOCK)
        else:
            m = _conv_max(xp, self.kernel)
        m += self.bias_s
        np.maximum(m * self.s, 0, out=m)
        return self.bn(m)


_blas = None
_blas_lock = threading.Lock()
_blas_users = 0
_blas_limiter = None


@contextlib.contextmanager
def _one_blas_thread():
    """The BLAS runs one thread per call while the backbone runs: the blocks are spread over
    :data:`WORKERS` threads instead, which costs ~40 % less CPU than OpenBLAS' own threads on
    these products (and they do not spin when the machine is busy).  The limit is process-wide,
    so it is counted: set by the first of concurrent callers, lifted by the last."""
    global _blas, _blas_users, _blas_limiter
    with _blas_lock:
        if _blas is None:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController()
        if _blas_users == 0:
            _blas_limiter = _blas.limit(limits=1, user_api="blas")
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                _blas_limiter.restore_original_limits()
                _blas_limiter = None


class MusicnnNumpy:
    """The MSD_musicnn tagger with the weights of a saved Keras model, in numpy.

    ``tag_run(x)`` tags a run of patches that each start ``hop`` frames after the previous one
    (shared frames equal); :func:`gtzcomposer.ml.musicnn.taggram` finds the runs.  ``outputs(x)``
    also returns the penultimate and pooled features."""

    def __init__(self, weights: Weights, n_frames: int = N_FRAMES):
        try:
            bn = {name: _Affine(weights[name]) for name in weights if name.endswith("_bn") or name == "penultimate"}
            self.input_bn = bn["input_bn"]
            self.timbral = [_Branch(*weights[f"{n}_conv"], bn[f"{n}_bn"], False) for n in TIMBRAL]
            self.temporal = {n: _Branch(*weights[f"{n}_conv"], bn[f"{n}_bn"], True)
                             for n in (PATCH_TEMPORAL, *SPAN_TEMPORAL)}
            self.mid = [(weights[f"midend{i}_conv"][0].astype(np.float32), weights[f"midend{i}_conv"][1].astype(np.float32),
                         bn[f"midend{i}_bn"]) for i in (1, 2, 3)]
            self.pooled_bn = bn["pooled_bn"]
            self.dense1 = tuple(v.astype(np.float32) for v in weights["penultimate_dense"])
            self.penultimate_bn = bn["penultimate"]
            self.logits = tuple(v.astype(np.float32) for v in weights["logits"])
        except (KeyError, IndexError, ValueError) as exc:
            raise KerasFileError(f"The weights are not an MSD_musicnn model (missing or odd {exc}).") from exc
        self.n_frames = n_frames
        # frames at a patch's start / end where a span branch differs from the patch model
        self._edges = [(br, br.pad[0], br.pad[1]) for br in (*self.timbral, *(self.temporal[n] for n in SPAN_TEMPORAL))]
        self.n_tags = self.logits[0].shape[1]
        # the front end's 561 channels in the model's order; only the live ones are computed
        order = [*self.timbral, self.temporal[PATCH_TEMPORAL], *(self.temporal[n] for n in SPAN_TEMPORAL)]
        offsets = np.cumsum([0] + [br.n_filters for br in order])
        self.front_live = np.concatenate([off + br.live for off, br in zip(offsets, order)])
        self.front_const = np.concatenate([br.const for br in order])  # the dead channels' values
        dead = np.ones(offsets[-1], bool)
        dead[self.front_live] = False
        kernel1 = self.mid[0][0]
        self.mid1_live = np.ascontiguousarray(kernel1[:, self.front_live, :])
        # the dead channels' share of midend1, per tap: (K, F)
        mid1_const = np.einsum("c,kcf->kf", self.front_const[dead].astype(np.float64),
                               kernel1[:, dead, :].astype(np.float64))
        # its running sum over the taps, (K + 1, F): a frame's share is the sum over the taps in the patch
        self.mid1_const_cum = np.concatenate([np.zeros((1, mid1_const.shape[1])), np.cumsum(mid1_const, axis=0)])

    def _mid1_const_term(self, t: int) -> np.ndarray:
        """The dead channels' contribution to midend1's output frames (t, F): the taps that fall on
        the patch's frames (midend1 pads 3 + 3 zero frames) times the channels' constant values."""
        cum = self.mid1_const_cum
        k = cum.shape[0] - 1
        frames = np.arange(t)
        lo = np.clip(3 - frames, 0, k)
        hi = np.clip(t + 3 - frames, 0, k)
        return (cum[hi] - cum[np.minimum(lo, hi)]).astype(np.float32)

    @classmethod
    def load(cls, path: str | Path) -> MusicnnNumpy:
        return cls(read(path).weights)

    # -- front end
    def _span_frontend(self, x: np.ndarray, hop: int) -> np.ndarray:
        """Patches (m, T, 96) of one run (``hop`` 0: independent patches) -> the live front-end
        channels (m, T, len(front_live)), in the model's order."""
        m, t, _ = x.shape
        xb = self.input_bn(x)
        if hop <= 0 or m == 1:  # independent patches: each is its own span
            parts = [br.live_out(xb) for br, _, _ in self._edges]
            return np.concatenate([parts[0], parts[1], self.temporal[PATCH_TEMPORAL].live_out(xb), parts[2], parts[3]],
                                  axis=-1)
        span = np.concatenate([xb[0], xb[1:, t - hop:].reshape(-1, xb.shape[2])])
        starts = np.arange(m) * hop
        idx = starts[:, None] + np.arange(t)[None, :]  # (m, T) span frame of each patch frame
        parts = []
        for br, before, after in self._edges:
            feats = br.live_out(span[None])[0][idx]  # (m, T, F): the span's values
            if before:  # patch edges, with the patch's own zero padding
                feats[:, :before] = br.live_out(xb[:, :before + after], pad=(before, 0))
            if after:
                feats[:, t - after:] = br.live_out(xb[:, t - before - after:], pad=(0, after))
            parts.append(feats)
        t128 = self.temporal[PATCH_TEMPORAL].live_out(xb)
        # the model's order: timbral74, timbral77, temporal128, temporal64, temporal32
        return np.concatenate([parts[0], parts[1], t128, parts[2], parts[3]], axis=-1)

    # -- mid and back end
    def _tail(self, front: np.ndarray) -> dict[str, np.ndarray]:
        """Live front-end channels (n, T, L) -> the model's outputs."""
        n, t, _ = front.shape
        h = front
        mids = []
        for i, (kernel, bias, bn) in enumerate(self.mid):
            # midend1 takes the live channels through its kernel and the dead ones as their constant share
            c = _conv1d(np.pad(h, ((0, 0), (3, 3), (0, 0))), self.mid1_live if i == 0 else kernel, bias)
            if i == 0:
                c += self._mid1_const_term(t)
            np.maximum(c, 0, out=c)
            c = bn(c)
            h = c if i == 0 else c + h
            mids.append(h)
        mid = np.concatenate(mids, axis=-1)  # (n, T, 192)
        front_max = np.broadcast_to(self.front_const, (n, len(self.front_const))).copy()
        front_mean = front_max.copy()
        front_max[:, self.front_live] = front.max(axis=1)
        front_mean[:, self.front_live] = front.mean(axis=1, dtype=np.float32)
        max_pool = np.concatenate([front_max, mid.max(axis=1)], axis=-1)  # (n, 753)
        mean_pool = np.concatenate([front_mean, mid.mean(axis=1, dtype=np.float32)], axis=-1)
        pooled = np.stack([max_pool, mean_pool], axis=-1).reshape(n, -1)  # musicnn's interleave
        h = self.pooled_bn(pooled) @ self.dense1[0] + self.dense1[1]
        penultimate = self.penultimate_bn(np.maximum(h, 0))
        logits = penultimate @ self.logits[0] + self.logits[1]
        tags = (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)
        return {"tags": tags, "penultimate": penultimate, "max_pool": max_pool, "mean_pool": mean_pool}

    def outputs(self, x: np.ndarray, hop: int = 0) -> dict[str, np.ndarray]:
        """All outputs of a run of ``hop``-overlapping patches (``hop`` 0: one patch at a time)."""
        with _one_blas_thread():
            return self._tail(self._span_frontend(np.asarray(x, np.float32), hop))

    def tag_run(self, x: np.ndarray, hop: int) -> np.ndarray:
        """Tags (m, 50) of patches (m, T, 96) that each start ``hop`` frames after the previous one."""
        return self.outputs(x, hop)["tags"]


def block_factory() -> Callable[[dict, Weights], Callable[[np.ndarray], np.ndarray]]:
    """A :class:`gtzcomposer.ml.keras_file.Graph` block running a nested musicnn model (one patch at a time)."""
    def make(layer: dict, weights: Weights):
        net = MusicnnNumpy(weights)
        return lambda x: net.outputs(x)["tags"]

    return make
