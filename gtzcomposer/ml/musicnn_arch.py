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


def _bn(name: str) -> layers.BatchNormalization:
    # tf.compat.v1.layers.batch_normalization defaults: axis -1, epsilon 1e-3, momentum 0.99
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.99, name=name)


def build_musicnn(n_frames: int = N_FRAMES, n_mels: int = N_MELS, n_tags: int = N_TAGS) -> keras.Model:
    """The MSD_musicnn tagger with fresh weights: (batch, 187, 96) log-mel -> (batch, 50) sigmoids."""
    x_in = keras.Input(shape=(n_frames, n_mels), name="logmel")
    x = layers.Reshape((n_frames, n_mels, 1), name="expand")(x_in)
    x = _bn("input_bn")(x)

    front = []
    padded = layers.ZeroPadding2D(((3, 3), (0, 0)), name="timbral_pad")(x)
    for tag, frac in (("timbral74", 0.4), ("timbral77", 0.7)):
        h = layers.Conv2D(204, (7, int(frac * n_mels)), padding="valid", activation="relu", name=f"{tag}_conv")(padded)
        h = _bn(f"{tag}_bn")(h)
        front.append(FrequencyMaxPool(name=f"{tag}_pool")(h))
    for length in (128, 64, 32):
        h = layers.Conv2D(51, (length, 1), padding="same", activation="relu", name=f"temporal{length}_conv")(x)
        h = _bn(f"temporal{length}_bn")(h)
        front.append(FrequencyMaxPool(name=f"temporal{length}_pool")(h))
    frontend = layers.Concatenate(axis=-1, name="frontend")(front)  # (T, 561)

    mid = []
    h = frontend
    for i in (1, 2, 3):
        p = layers.ZeroPadding1D(3, name=f"midend{i}_pad")(h)
        c = layers.Conv1D(64, 7, padding="valid", activation="relu", name=f"midend{i}_conv")(p)
        c = _bn(f"midend{i}_bn")(c)
        h = c if i == 1 else layers.Add(name=f"midend{i}_res")([c, h])
        mid.append(h)
    features = layers.Concatenate(axis=-1, name="midend")([frontend, *mid])  # (T, 753)

    max_pool = TemporalPool("max", name="max_pool")(features)
    mean_pool = TemporalPool("mean", name="mean_pool")(features)
    pooled = Interleave(name="pooled")([max_pool, mean_pool])  # (1506,)
    h = _bn("pooled_bn")(pooled)
    h = layers.Dropout(0.5, name="pooled_dropout")(h)
    h = layers.Dense(200, activation="relu", name="penultimate_dense")(h)
    penultimate = _bn("penultimate")(h)
    h = layers.Dropout(0.5, name="penultimate_dropout")(penultimate)
    logits = layers.Dense(n_tags, name="logits")(h)
    tags = layers.Activation("sigmoid", name="tags")(logits)
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
