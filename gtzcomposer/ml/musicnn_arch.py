"""The MSD_musicnn architecture (Pons & Serra, musicnn 0.1.0) as Keras 3 layers.

This module imports keras at the top: import it lazily (``gtzcomposer.ml.musicnn`` does).

musicnn ("musically motivated CNN") on a (time=187, mel=96) log-mel patch:

- front end: batch-norm of the input, then
  - timbral: two convolutions spanning 7 frames x 38 and x 67 mel bands (40 % and 70 % of 96),
    204 filters each (time padded by 3 frames each side, so the output keeps 187 frames),
  - temporal: three convolutions spanning 128, 64 and 32 frames x 1 band ("same" padding),
    51 filters each,
  each followed by ReLU, batch-norm and a max over the whole frequency axis; concatenated to
  (187, 561).
- mid end: three 1-D convolutions over time (7 frames, 64 filters, ReLU, batch-norm), the second
  and third with residual connections; front-end and mid-end outputs concatenated (dense
  connection) to (187, 753).
- back end: max and mean over time (753 each), interleaved to 1,506 values (musicnn stacks
  [max, mean] on a last axis and flattens), batch-norm, dropout 0.5, dense 200 + ReLU, batch-norm
  (the "penultimate" features), dropout 0.5, dense 50 (logits), sigmoid -> the 50 MSD tags.

Layer names here are the keys ``training/musicnn_convert.py`` maps checkpoint variables to.
musicnn's 2-D convolutions whose kernel spans the whole input width (mid end) are written as
the equivalent 1-D convolutions; the converter reshapes those kernels.
"""

from __future__ import annotations

import keras
from keras import layers, ops

N_FRAMES = 187
N_MELS = 96
N_TAGS = 50


@keras.saving.register_keras_serializable(package="gtzcomposer")
class FrequencyMaxPool(layers.Layer):
    """(batch, time, freq, channels) -> (batch, time, channels): max over the frequency axis."""

    def call(self, x):
        return ops.max(x, axis=2)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], input_shape[3])


@keras.saving.register_keras_serializable(package="gtzcomposer")
class TemporalPool(layers.Layer):
    """(batch, time, d) -> (batch, d): max or mean over time."""

    def __init__(self, mode: str = "max", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "mean"):
            raise ValueError(f"mode must be 'max' or 'mean', not {mode!r}")
        self.mode = mode

    def call(self, x):
        return ops.max(x, axis=1) if self.mode == "max" else ops.mean(x, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="gtzcomposer")
class Interleave(layers.Layer):
    """[(batch, d), (batch, d)] -> (batch, 2d) as a0, b0, a1, b1, ... (musicnn's flatten order)."""

    def call(self, inputs):
        a, b = inputs
        return ops.reshape(ops.stack([a, b], axis=-1), (-1, 2 * a.shape[-1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 2 * input_shape[0][1])


class ConvMaxAffine(layers.Layer):
    """Inference-only fusion of a front-end branch: conv -> ReLU -> batch-norm -> max over frequency.

    Batch-norm is a per-channel affine map ``a*r + c``; max over frequency commutes with it where
    ``a > 0`` and turns into a min where ``a < 0``, and max/min commute with ReLU.  So the branch
    equals ``a * relu(s * max_f(s * (conv(x) + bias))) + c`` with ``s = sign(a)``: the sign goes
    into the kernel, and the batch-norm runs on the pooled (time, channels) tensor instead of the
    (time, freq, channels) one.  Same result (bit for bit in practice), ~10 % less time.  Reads
    the weights of the tagger's own layers, so it follows them if they change.
    """

    def __init__(self, conv: layers.Conv2D, bn: layers.BatchNormalization, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self._conv, self._bn = conv, bn

    def call(self, x):
        conv, bn = self._conv, self._bn
        a = bn.gamma / ops.sqrt(bn.moving_variance + bn.epsilon)
        c = bn.beta - a * bn.moving_mean
        s = ops.where(a >= 0, 1.0, -1.0)
        z = ops.conv(x, conv.kernel * s, strides=1, padding=conv.padding)
        m = ops.max(z + conv.bias * s, axis=2)
        return a * ops.relu(s * m) + c

    def compute_output_shape(self, input_shape):
        return self._conv.compute_output_shape(input_shape)[:2] + (self._conv.filters,)


class BlockedTemporalConvMaxAffine(layers.Layer):
    """Inference-only, faster form of a temporal front-end branch (conv (K, 1) -> ReLU ->
    batch-norm -> max over frequency), fused like :class:`ConvMaxAffine`.

    A (K, 1) convolution with one input channel is a poor shape for the CPU kernels.  Cut the
    (zero-padded) time axis into blocks of ``G`` frames and make the ``G`` frames of a block the
    channels: output frame ``G*i + j`` is ``sum_m sum_r block[i + m][r] * w[G*m + r - j]``, a
    convolution over blocks with a (M, 1) kernel, ``G`` input and ``G * filters`` output channels
    (``M = ceil((G + K - 1) / G)``; the taps outside ``0..K-1`` are zero).  The same products and
    sums (equal to the plain convolution bit for bit in our tests), in a shape that runs faster.

    Takes the batch-normed (batch, time, mel, 1) input of any length.  ``pad`` is the zero padding
    of the time axis (before, after): ``None`` is the model's "same" padding
    (``((K-1)//2, K-1-(K-1)//2)``, output as long as the input); ``(P, 0)`` / ``(0, Q)`` give only
    the first / last output frames of a patch from its first / last ``K - 1`` frames.
    """

    def __init__(self, conv: layers.Conv2D, bn: layers.BatchNormalization, block: int = 16,
                 pad: tuple[int, int] | None = None, **kwargs):
        super().__init__(trainable=False, **kwargs)
        import numpy as np

        k = conv.kernel_size[0]
        if conv.kernel_size[1] != 1 or conv.padding != "same":
            raise ValueError("a (K, 1) convolution with 'same' padding is expected")
        self._conv, self._bn, self.block = conv, bn, block
        self.pad = ((k - 1) // 2, k - 1 - (k - 1) // 2) if pad is None else tuple(pad)
        g = block
        self._k, self._m = k, -(-(g + k - 1) // g)
        m, r, j = np.meshgrid(np.arange(self._m), np.arange(g), np.arange(g), indexing="ij")
        tap = g * m + r - j  # (M, G, G): kernel tap feeding output offset j from block m, row r
        self._valid = ((tap >= 0) & (tap < k)).astype("float32")[..., None]
        self._tap = np.clip(tap, 0, k - 1).astype("int32")

    def call(self, x):
        conv, bn, g = self._conv, self._bn, self.block
        k, n_taps = self._k, self._m
        a = bn.gamma / ops.sqrt(bn.moving_variance + bn.epsilon)
        c = bn.beta - a * bn.moving_mean
        s = ops.where(a >= 0, 1.0, -1.0)
        filters = conv.filters
        w = ops.reshape(conv.kernel, (k, filters)) * s  # (K, F)
        w2 = ops.take(w, ops.reshape(self._tap, (-1,)), axis=0)
        w2 = ops.reshape(w2, (n_taps, g, g, filters)) * self._valid  # (M, r, j, F)
        w2 = ops.reshape(w2, (n_taps, 1, g, g * filters))
        n_mels = x.shape[2]
        before, after = self.pad
        t = x.shape[1] if x.shape[1] is not None else ops.shape(x)[1]
        t_out = t + before + after - k + 1
        n_out = (t_out + g - 1) // g
        length = g * (n_out + n_taps - 1)
        xp = ops.pad(x[..., 0], ((0, 0), (before, length - t - before), (0, 0)))
        xb = ops.transpose(ops.reshape(xp, (-1, n_out + n_taps - 1, g, n_mels)), (0, 1, 3, 2))
        z = ops.conv(xb, w2, strides=1, padding="valid")  # (B, n_out, mel, G*F)
        mx = ops.max(z + ops.tile(conv.bias * s, (g,)), axis=2)
        mx = ops.reshape(mx, (-1, n_out * g, filters))[:, :t_out]
        return a * ops.relu(s * mx) + c

    def compute_output_shape(self, input_shape):
        t = input_shape[1]
        if t is not None:
            t = t + sum(self.pad) - self._k + 1
        return (input_shape[0], t, self._conv.filters)


def _bn(name: str) -> layers.BatchNormalization:
    # tf.compat.v1.layers.batch_normalization defaults: axis -1, epsilon 1e-3, momentum 0.99
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.99, name=name)


class _Layers:
    """Creates the named layers (``reuse=None``) or fetches them from a built tagger (shared weights)."""

    def __init__(self, reuse: keras.Model | None = None):
        self.reuse = reuse

    def __call__(self, name: str, factory):
        return self.reuse.get_layer(name) if self.reuse is not None else factory(name)


def _timbral(x_bn, L: _Layers, n_mels: int = N_MELS) -> list:
    """Timbral front end on a batch-normed (batch, time, mel, 1) input -> two (batch, time, 204)."""
    padded = L("timbral_pad", lambda n: layers.ZeroPadding2D(((3, 3), (0, 0)), name=n))(x_bn)
    out = []
    for tag, frac in (("timbral74", 0.4), ("timbral77", 0.7)):
        h = L(f"{tag}_conv", lambda n, frac=frac: layers.Conv2D(
            204, (7, int(frac * n_mels)), padding="valid", activation="relu", name=n))(padded)
        h = L(f"{tag}_bn", _bn)(h)
        out.append(L(f"{tag}_pool", lambda n: FrequencyMaxPool(name=n))(h))
    return out


def _temporal(x_bn, L: _Layers) -> list:
    """Temporal front end -> three (batch, time, 51)."""
    out = []
    for length in (128, 64, 32):
        h = L(f"temporal{length}_conv", lambda n, length=length: layers.Conv2D(
            51, (length, 1), padding="same", activation="relu", name=n))(x_bn)
        h = L(f"temporal{length}_bn", _bn)(h)
        out.append(L(f"temporal{length}_pool", lambda n: FrequencyMaxPool(name=n))(h))
    return out


def _tail(frontend, L: _Layers, n_tags: int = N_TAGS):
    """Mid end and back end on the (batch, time, 561) front-end features -> tag sigmoids."""
    mid = []
    h = frontend
    for i in (1, 2, 3):
        p = L(f"midend{i}_pad", lambda n: layers.ZeroPadding1D(3, name=n))(h)
        c = L(f"midend{i}_conv", lambda n: layers.Conv1D(64, 7, padding="valid", activation="relu", name=n))(p)
        c = L(f"midend{i}_bn", _bn)(c)
        h = c if i == 1 else L(f"midend{i}_res", lambda n: layers.Add(name=n))([c, h])
        mid.append(h)
    features = L("midend", lambda n: layers.Concatenate(axis=-1, name=n))([frontend, *mid])  # (T, 753)

    max_pool = L("max_pool", lambda n: TemporalPool("max", name=n))(features)
    mean_pool = L("mean_pool", lambda n: TemporalPool("mean", name=n))(features)
    pooled = L("pooled", lambda n: Interleave(name=n))([max_pool, mean_pool])  # (1506,)
    h = L("pooled_bn", _bn)(pooled)
    h = L("pooled_dropout", lambda n: layers.Dropout(0.5, name=n))(h)
    h = L("penultimate_dense", lambda n: layers.Dense(200, activation="relu", name=n))(h)
    penultimate = L("penultimate", _bn)(h)
    h = L("penultimate_dropout", lambda n: layers.Dropout(0.5, name=n))(penultimate)
    logits = L("logits", lambda n: layers.Dense(n_tags, name=n))(h)
    return L("tags", lambda n: layers.Activation("sigmoid", name=n))(logits)


def build_musicnn(n_frames: int = N_FRAMES, n_mels: int = N_MELS, n_tags: int = N_TAGS) -> keras.Model:
    """The MSD_musicnn tagger with fresh weights: (batch, 187, 96) log-mel -> (batch, 50) sigmoids."""
    L = _Layers()
    x_in = keras.Input(shape=(n_frames, n_mels), name="logmel")
    x = layers.Reshape((n_frames, n_mels, 1), name="expand")(x_in)
    x = L("input_bn", _bn)(x)
    front = _timbral(x, L, n_mels) + _temporal(x, L)
    frontend = layers.Concatenate(axis=-1, name="frontend")(front)  # (T, 561)
    tags = _tail(frontend, L, n_tags)
    return keras.Model(x_in, tags, name="msd_musicnn")


# What the overlap path computes once over a span of overlapping patches (the front-end branches
# whose "same" padding spoils few frames of a patch), with the frames at a patch's start and end
# where the patch model's zero padding differs from the span: (name, channels, first, last).
SPAN_BRANCHES = (("timbral", 408, 3, 3), ("temporal64", 51, 31, 32), ("temporal32", 51, 15, 16))
EDGE_FRAMES = 63  # frames at each end of a patch that the edge model reads (K - 1 for temporal64)


def overlap_models(tagger: keras.Model, n_frames: int = N_FRAMES, n_mels: int = N_MELS, block: int = 16):
    """Three models sharing ``tagger``'s weights, to tag overlapping patches without recomputing
    front-end features on frames that several patches share:

    - ``span``: (1, any time, 96) log-mel -> (1, time, 510) = the timbral (408), temporal64 (51)
      and temporal32 (51) features, computed over a whole span of frames at once (with the
      model's zero padding at the span's ends);
    - ``edges``: (the first 63 frames of patches, their last 63), each (batch, 63, 96) -> the same
      three features in the first (3, 31, 15) and the last (3, 32, 16) frames of the patches, with
      the zero padding the patch model uses there (six outputs, see ``SPAN_BRANCHES``);
    - ``rest``: (patches (batch, 187, 96), their span features (batch, 187, 510)) -> tags
      (computes the temporal128 branch, whose 128-frame padding touches most frames, and the
      mid and back end).

    A feature at patch frame t of a branch whose convolution spans frames t-P..t+Q only sees frames
    of the patch there, so it equals the span's value except in the first P and last Q frames of a
    patch, where the patch model pads with zeros; :func:`gtzcomposer.ml.musicnn.taggram` takes those
    from ``edges``.  ``block`` > 0 runs the temporal branches as :class:`BlockedTemporalConvMaxAffine`
    (same sums, faster); 0 as :class:`ConvMaxAffine` (``span``/``edges`` need ``block`` > 0).
    """
    L = _Layers(tagger)
    get = tagger.get_layer
    timbral_tags = ("timbral74", "timbral77")

    def fused(name: str, x, where: str = ""):
        return ConvMaxAffine(get(f"{name}_conv"), get(f"{name}_bn"), name=f"{name}_fused{where}")(x)

    def blocked(length: int, x, where: str = "", pad=None):
        return BlockedTemporalConvMaxAffine(get(f"temporal{length}_conv"), get(f"temporal{length}_bn"), block=block,
                                            pad=pad, name=f"temporal{length}_blocked{where}")(x)

    span_in = keras.Input(shape=(None, n_mels), name="logmel_span")
    x = layers.Reshape((-1, n_mels, 1), name="span_expand")(span_in)
    x = L("input_bn", _bn)(x)
    padded = L("timbral_pad", None)(x)
    span_out = [fused(tag, padded) for tag in timbral_tags] + [blocked(64, x), blocked(32, x)]
    span = keras.Model(span_in, layers.Concatenate(axis=-1, name="span_features")(span_out),
                       name="msd_musicnn_span")

    edge_in, edge_out = [], []
    for side in ("first", "last"):
        e_in = keras.Input(shape=(EDGE_FRAMES, n_mels), name=f"logmel_{side}{EDGE_FRAMES}")
        e = layers.Reshape((EDGE_FRAMES, n_mels, 1), name=f"{side}_expand")(e_in)
        e = L("input_bn", _bn)(e)
        six = e[:, :6] if side == "first" else e[:, -6:]
        six = layers.ZeroPadding2D(((3, 0) if side == "first" else (0, 3), (0, 0)), name=f"{side}_pad")(six)
        tim = layers.Concatenate(axis=-1, name=f"{side}_timbral")([fused(tag, six, f"_{side}") for tag in timbral_tags])
        t31 = e[:, :31] if side == "first" else e[:, -31:]
        edge_in.append(e_in)
        edge_out += [tim,
                     blocked(64, e, f"_{side}", (31, 0) if side == "first" else (0, 32)),
                     blocked(32, t31, f"_{side}", (15, 0) if side == "first" else (0, 16))]
    edges = keras.Model(edge_in, edge_out, name="msd_musicnn_edges")

    p_in = keras.Input(shape=(n_frames, n_mels), name="logmel")
    f_in = keras.Input(shape=(n_frames, sum(b[1] for b in SPAN_BRANCHES)), name="span_features")
    x = L("expand", None)(p_in)
    x = L("input_bn", _bn)(x)
    t128 = blocked(128, x) if block else fused("temporal128", x)
    frontend = layers.Concatenate(axis=-1, name="overlap_frontend")([f_in[..., :408], t128, f_in[..., 408:]])
    rest = keras.Model([p_in, f_in], _tail(frontend, L), name="msd_musicnn_rest")
    return span, edges, rest


def feature_model(tagger: keras.Model) -> keras.Model:
    """A model sharing ``tagger``'s weights with four outputs: tags (50), penultimate (200),
    max_pool (753) and mean_pool (753) — musicnn's ``extract_features`` outputs, for transfer
    learning and fine-tuning."""
    outs = [tagger.get_layer(n).output for n in ("tags", "penultimate", "max_pool", "mean_pool")]
    return keras.Model(tagger.inputs, outs, name="msd_musicnn_features")


# Keras layer -> musicnn 0.1.0 checkpoint scope (the TF1 layers' creation order in models.py)
CHECKPOINT_MAP = {
    "input_bn": "batch_normalization",
    "timbral74_conv": "conv2d",
    "timbral74_bn": "batch_normalization_1",
    "timbral77_conv": "conv2d_1",
    "timbral77_bn": "batch_normalization_2",
    "temporal128_conv": "conv2d_2",
    "temporal128_bn": "batch_normalization_3",
    "temporal64_conv": "conv2d_3",
    "temporal64_bn": "batch_normalization_4",
    "temporal32_conv": "conv2d_4",
    "temporal32_bn": "batch_normalization_5",
    "midend1_conv": "conv2d_5",
    "midend1_bn": "batch_normalization_6",
    "midend2_conv": "conv2d_6",
    "midend2_bn": "batch_normalization_7",
    "midend3_conv": "conv2d_7",
    "midend3_bn": "batch_normalization_8",
    "pooled_bn": "batch_normalization_9",
    "penultimate_dense": "dense",
    "penultimate": "batch_normalization_10",
    "logits": "dense_1",
}
