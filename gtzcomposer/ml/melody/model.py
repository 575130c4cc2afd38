"""The style-conditioned melody model (Keras 3) and its fast numpy single-step twin.

Training graph (``build_model``): per step, embeddings of the previous token, the position in
the bar, the meter and the current chord (a learned embedding plus a fixed table of the chord's
tones and root, ``harmony.chord_pitch_table``) are concatenated with the style embedding
(broadcast to every step by the registered ``StyleBroadcast`` layer), then GRU layers and a dense
layer give next-token logits. This is Magenta's Improv RNN idea (the chord's pitch classes as an
input at every step) with the style, the meter and the bar position besides.

Sampling does not need Keras: :class:`StepModel` reads the weights out of the ``.keras`` file
(a zip holding ``model.weights.h5``) with h5py and runs the same GRU equations one step at a
time for a whole batch in numpy, which is both faster than a Keras call per step and avoids
importing TensorFlow in the app. ``tests/ml/test_melody_model.py`` checks that both give the
same logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .encoding import MAX_POS, METERS, VOCAB_SIZE


@dataclass(frozen=True)
class MelodyConfig:
    n_styles: int = 8
    token_dim: int = 48
    pos_dim: int = 16
    meter_dim: int = 8
    style_dim: int = 16
    chord_dim: int = 16
    units: int = 192
    layers: int = 1
    dropout: float = 0.2

    def to_dict(self) -> dict:
        return asdict(self)


def _keras():
    import keras

    return keras


def register_layers():
    """Define (once) and return the custom layer classes; importing keras lazily."""
    global StyleBroadcast
    if "StyleBroadcast" in globals():
        return globals()["StyleBroadcast"]
    keras = _keras()

    @keras.saving.register_keras_serializable(package="gtzcomposer")
    class StyleBroadcast(keras.layers.Layer):
        """Embeds one style id per sequence and repeats it at every step of ``like``."""

        def __init__(self, n_styles: int, dim: int, **kwargs):
            super().__init__(**kwargs)
            self.n_styles = n_styles
            self.dim = dim

        def build(self, input_shape):
            self.embeddings = self.add_weight(
                name="embeddings", shape=(self.n_styles, self.dim), initializer="uniform", trainable=True
            )

        def call(self, style, like):
            from keras import ops

            e = ops.take(self.embeddings, ops.cast(ops.reshape(style, (-1,)), "int32"), axis=0)  # (B, dim)
            steps = ops.shape(like)[1]
            return ops.repeat(ops.expand_dims(e, 1), steps, axis=1)

        def compute_output_shape(self, style_shape, like_shape):
            return (like_shape[0], like_shape[1], self.dim)

        def get_config(self):
            return {**super().get_config(), "n_styles": self.n_styles, "dim": self.dim}

    globals()["StyleBroadcast"] = StyleBroadcast
    return StyleBroadcast


def load_keras_model(path: str | Path):
    """Load a saved melody model (or critic) with Keras, custom layers registered."""
    keras = _keras()
    register_layers()
    return keras.saving.load_model(path, compile=False)


def build_model(cfg: MelodyConfig):
    keras = _keras()
    StyleBroadcast = register_layers()
    from ...core.chords import N_CHORD_CLASSES
    from .harmony import chord_pitch_table

    tokens = keras.Input((None,), dtype="int32", name="tokens")
    pos = keras.Input((None,), dtype="int32", name="pos")
    meter = keras.Input((None,), dtype="int32", name="meter")
    chord = keras.Input((None,), dtype="int32", name="chord")
    style = keras.Input((1,), dtype="int32", name="style")
    table = chord_pitch_table()
    x = keras.layers.Concatenate(name="concat")([
        keras.layers.Embedding(VOCAB_SIZE, cfg.token_dim, name="tok_emb")(tokens),
        keras.layers.Embedding(MAX_POS, cfg.pos_dim, name="pos_emb")(pos),
        keras.layers.Embedding(len(METERS), cfg.meter_dim, name="meter_emb")(meter),
        keras.layers.Embedding(N_CHORD_CLASSES, cfg.chord_dim, name="chord_emb")(chord),
        keras.layers.Embedding(N_CHORD_CLASSES, table.shape[1], trainable=False, name="chord_tones",
                               embeddings_initializer=keras.initializers.Constant(table))(chord),
        StyleBroadcast(cfg.n_styles, cfg.style_dim, name="style_emb")(style, tokens),
    ])
    for i in range(cfg.layers):
        x = keras.layers.GRU(cfg.units, return_sequences=True, name=f"gru_{i}")(x)
        x = keras.layers.Dropout(cfg.dropout, name=f"drop_{i}")(x)
    logits = keras.layers.Dense(VOCAB_SIZE, name="logits")(x)
    return keras.Model([tokens, pos, meter, chord, style], logits, name="melody")


# --- numpy single-step inference -------------------------------------------------------------------
def read_keras_weights(path: str | Path) -> dict[str, list[np.ndarray]]:
    """{layer name: [arrays in variable order]} straight from a ``.keras`` zip, without Keras
    (see :mod:`gtzcomposer.ml.keras_file`)."""
    from ..keras_file import read

    return read(path).weights


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class StepModel:
    """One GRU step for a batch, in numpy, with the weights of a trained :func:`build_model`."""

    def __init__(self, weights: dict[str, list[np.ndarray]]):
        self.tok = weights["tok_emb"][0].astype(np.float32)
        self.pos = weights["pos_emb"][0].astype(np.float32)
        self.meter = weights["meter_emb"][0].astype(np.float32)
        self.style = weights["style_emb"][0].astype(np.float32)
        # chord inputs: learned embedding + fixed tone table, pre-joined for one lookup per step
        self.chord = np.concatenate([weights["chord_emb"][0], weights["chord_tones"][0]], axis=1).astype(np.float32)
        self.grus = []
        i = 0
        while f"gru_{i}" in weights:
            k, rk, b = (w.astype(np.float32) for w in weights[f"gru_{i}"])
            b = b.reshape(2, -1) if b.ndim == 2 or b.size == 2 * k.shape[1] else np.stack([b, np.zeros_like(b)])
            self.grus.append((k, rk, b[0], b[1]))
            i += 1
        self.units = self.grus[0][1].shape[0]
        self.dense_w, self.dense_b = (w.astype(np.float32) for w in weights["logits"])
        self.n_styles = self.style.shape[0]
        # The first layer's input is a concatenation of table lookups, so its input projection
        # x @ k splits into per-table products computed once: tok @ k_tok, pos @ k_pos, ... A
        # step then gathers and adds rows instead of multiplying (the same sums, regrouped).
        k0 = self.grus[0][0]
        parts, a = [], 0
        for table in (self.tok, self.pos, self.meter, self.chord, self.style):
            b = a + table.shape[1]
            parts.append(table @ k0[a:b])
            a = b
        self._proj = parts

    @classmethod
    def load(cls, path: str | Path) -> StepModel:
        return cls(read_keras_weights(path))

    def initial_state(self, batch: int) -> list[np.ndarray]:
        return [np.zeros((batch, self.units), np.float32) for _ in self.grus]

    def step(self, token, pos, meter, chord, style, state):
        """token/pos/meter/chord/style: int arrays (B,); returns (logits (B, V), new state)."""
        tp, pp, mp, cp, sp = self._proj
        x = None
        new_state = []
        u = self.units
        for layer, ((k, rk, bi, br), h) in enumerate(zip(self.grus, state)):
            xi = (tp[token] + pp[pos] + mp[meter] + cp[chord] + sp[style] + bi) if layer == 0 else x @ k + bi
            hr = h @ rk + br
            z = _sigmoid(xi[:, :u] + hr[:, :u])
            r = _sigmoid(xi[:, u:2 * u] + hr[:, u:2 * u])
            hh = np.tanh(xi[:, 2 * u:] + r * hr[:, 2 * u:])
            h = z * h + (1.0 - z) * hh
            new_state.append(h)
            x = h
        return x @ self.dense_w + self.dense_b, new_state

    def run(self, tokens, pos, meter, chord, style, state=None):
        """Feed whole sequences (B, T); returns (logits (B, T, V), final state)."""
        tokens = np.asarray(tokens)
        b, t = tokens.shape
        state = state or self.initial_state(b)
        out = np.zeros((b, t, self.dense_b.shape[0]), np.float32)
        style = np.asarray(style).reshape(-1)
        pos, meter, chord = np.asarray(pos), np.asarray(meter), np.asarray(chord)
        for i in range(t):
            out[:, i], state = self.step(tokens[:, i], pos[:, i], meter[:, i], chord[:, i], style, state)
        return out, state


# --- style critic (a small Keras MLP on encoding.style_features) ------------------------------------
def build_critic(n_styles: int, n_features: int, hidden: int = 64, dropout: float = 0.3):
    keras = _keras()
    x_in = keras.Input((n_features,), name="features")
    x = keras.layers.Dense(hidden, activation="relu", name="hidden")(x_in)
    x = keras.layers.Dropout(dropout, name="drop")(x)
    out = keras.layers.Dense(n_styles, name="style_logits")(x)
    return keras.Model(x_in, out, name="style_classifier")


class CriticStep:
    """numpy twin of :func:`build_critic`: features (B, F) -> style probabilities (B, S)."""

    def __init__(self, weights: dict[str, list[np.ndarray]]):
        self.w1, self.b1 = (w.astype(np.float32) for w in weights["hidden"])
        self.w2, self.b2 = (w.astype(np.float32) for w in weights["style_logits"])

    @classmethod
    def load(cls, path: str | Path) -> CriticStep:
        return cls(read_keras_weights(path))

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        h = np.maximum(0.0, np.asarray(features, np.float32) @ self.w1 + self.b1)
        z = h @ self.w2 + self.b2
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)
