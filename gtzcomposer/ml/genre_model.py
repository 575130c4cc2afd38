"""Keras pieces of the genre head (imported lazily: this module imports keras at the top).

The head maps one MSD_musicnn taggram row (50 tag sigmoids of a 3 s patch) to 10 GTZAN genre
probabilities. It is an ensemble of members (one or more) giving genre logits per patch: linear
members (``TagLogit -> Dense(10)``, :func:`build_linear`, fitted on clip means) or small MLPs
(``TagLogit -> Normalization -> Dropout -> Dense(relu) -> Dropout -> Dense(10)``,
:func:`build_member`); the ensemble averages the members' log-probabilities (a geometric mean) and
renormalises with a softmax. Clip-level aggregation over
patches happens outside the model, in :func:`gtzcomposer.ml.genre.aggregate`.

``training/genre.py`` builds and trains it; the app runs the saved model in numpy
(:func:`gtzcomposer.ml.genre.load_head`, no Keras); this Keras model is the reference.
"""

from __future__ import annotations

from gtzcomposer.ml.keras_import import import_keras

keras = import_keras()
ops = keras.ops

N_TAGS = 50
N_GENRES = 10


@keras.saving.register_keras_serializable(package="gtzcomposer")
class TagLogit(keras.layers.Layer):
    """Sigmoid outputs -> logits, clipped to [eps, 1 - eps] first (tags saturate near 0 and 1)."""

    def __init__(self, eps: float = 1e-4, **kwargs):
        super().__init__(**kwargs)
        self.eps = float(eps)

    def call(self, x):
        x = ops.clip(x, self.eps, 1.0 - self.eps)
        return ops.log(x) - ops.log(1.0 - x)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "eps": self.eps}


def build_member(train_taggrams, hidden: int = 128, dropout_in: float = 0.1, dropout: float = 0.5,
                 l2: float = 1e-4, noise: float = 0.0, name: str = "member") -> keras.Model:
    """One member: taggram rows (None, 50) -> genre logits (None, 10).

    ``train_taggrams`` adapts the normalisation layer (mean/variance of the logits)."""
    inp = keras.Input((N_TAGS,), name="taggram")
    logit = TagLogit(name="tag_logit")
    norm = keras.layers.Normalization(name="norm")
    norm.adapt(logit(ops.convert_to_tensor(train_taggrams, dtype="float32")))
    x = norm(logit(inp))
    if noise:
        x = keras.layers.GaussianNoise(noise, name="noise")(x)
    x = keras.layers.Dropout(dropout_in)(x)
    if hidden:
        x = keras.layers.Dense(hidden, activation="relu", kernel_regularizer=keras.regularizers.l2(l2),
                               name="hidden")(x)
        x = keras.layers.Dropout(dropout)(x)
    out = keras.layers.Dense(N_GENRES, kernel_regularizer=keras.regularizers.l2(l2), name="logits")(x)
    return keras.Model(inp, out, name=name)


def build_linear(coef, intercept, use_logit: bool = True, name: str = "linear") -> keras.Model:
    """A linear member: taggram rows (None, 50) -> genre logits (None, 10) = f(x) @ coef + intercept,
    with f = :class:`TagLogit` (``use_logit``) or the identity.

    With the detector's aggregation (softmax of the mean patch log-probability) the clip / segment
    probabilities of a linear member are exactly ``softmax(mean_patches(f(x)) @ coef + intercept)``:
    the log-sum-exp term of each patch is the same for every genre and cancels. So a linear model
    fitted on clip means of f(x) (logistic regression, LDA) runs unchanged per patch, and every
    segment gets the model's prediction for the mean of its own patches."""
    import numpy as np

    coef = np.asarray(coef, dtype=np.float32)
    intercept = np.asarray(intercept, dtype=np.float32)
    if coef.shape != (N_TAGS, N_GENRES) or intercept.shape != (N_GENRES,):
        raise ValueError(f"need coef ({N_TAGS}, {N_GENRES}) and intercept ({N_GENRES},), got {coef.shape}, {intercept.shape}")
    inp = keras.Input((N_TAGS,), name="taggram")
    x = TagLogit(name="tag_logit")(inp) if use_logit else inp
    dense = keras.layers.Dense(N_GENRES, name="logits")
    out = dense(x)
    dense.set_weights([coef, intercept])
    return keras.Model(inp, out, name=name)


def build_ensemble(members: list[keras.Model]) -> keras.Model:
    """Members' logits -> per-patch genre probabilities = softmax(mean of members' log-softmax)."""
    inp = keras.Input((N_TAGS,), name="taggram")
    logps = [keras.layers.Activation("log_softmax", name=f"logp_{i}")(m(inp)) for i, m in enumerate(members)]
    x = keras.layers.Average(name="mean_logp")(logps) if len(logps) > 1 else logps[0]
    out = keras.layers.Activation("softmax", name="genre_probs")(x)
    return keras.Model(inp, out, name="genre_head")


def load_head(path) -> keras.Model:
    return keras.saving.load_model(str(path), compile=False)
