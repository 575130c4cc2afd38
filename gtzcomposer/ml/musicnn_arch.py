"""The MSD_musicnn architecture (Pons & Serra, musicnn 0.1.0) as Keras 3 layers.

This module imports keras at the top: import it lazily.  It is the reference (what the port is
built, converted, saved and tested with; training code); the app runs the same model in numpy
(:mod:`gtzcomposer.ml.musicnn_numpy`).

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
