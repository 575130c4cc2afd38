"""The musicnn backbone at run time: load the bundled Keras port, tag patches.

Keras/TensorFlow are imported lazily (on the first :func:`load_backbone`), so importing this
module is cheap.  The model is ``models/msd_musicnn.keras`` (made by ``python -m training
convert-musicnn``); its card ``models/msd_musicnn.json`` holds the tag names and input spec.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from gtzcomposer.core.errors import Cancelled, GtzError
from gtzcomposer.ml.features import PATCH_HOP
from gtzcomposer.resources import model_path

from .registry import ModelCard, ModelCardError, read_card

MODEL_NAME = "msd_musicnn"
DEFAULT_BATCH = 32

Progress = Callable[[float, str], None]
IsCancelled = Callable[[], bool]

_lock = threading.Lock()


class BackboneError(GtzError):
    """The bundled musicnn model is missing or unreadable."""


def card() -> ModelCard:
    """The model card (``models/msd_musicnn.json``)."""
    try:
        return read_card(MODEL_NAME)
    except ModelCardError as exc:
        raise BackboneError(f"The musicnn model card is missing or unreadable: {exc}.") from exc


def tag_names() -> list[str]:
    """The 50 MSD tag names, in the order of the model's outputs (musicnn's MSD_LABELS)."""
    return list(card().labels)


_models: dict[str, object] = {}


def load_backbone():
    """The musicnn tagger as a ``keras.Model``: (batch, 187, 96) float32 -> (batch, 50) sigmoids.

    Loaded once per process (thread-safe) and cached.
    """
    with _lock:
        model = _models.get("tagger")
        if model is None:
            path = model_path(MODEL_NAME)
            if not path.is_file():
                raise BackboneError(
                    f"The musicnn model {path} is missing; run 'python -m training convert-musicnn' to make it."
                )
            from gtzcomposer.ml.keras_import import import_keras

            keras = import_keras()  # without its unused scikit-learn wrappers (~0.7 s)
            from gtzcomposer.ml import musicnn_arch  # noqa: F401  (registers the custom layers)

            try:
                model = keras.saving.load_model(path, compile=False)
            except Exception as exc:  # a damaged file: say which
                raise BackboneError(f"The musicnn model {path} could not be loaded ({exc}).") from exc
            _models["tagger"] = model
        return model


def load_features_model():
    """A model sharing the backbone's weights with outputs ``[tags (50), penultimate (200),
    max_pool (753), mean_pool (753)]`` — musicnn's extracted features, for transfer learning."""
    tagger = load_backbone()
    with _lock:
        model = _models.get("features")
        if model is None:
            from gtzcomposer.ml.musicnn_arch import feature_model

            model = _models["features"] = feature_model(tagger)
        return model


def _check_patches(patches: np.ndarray, batch_size: int) -> np.ndarray:
    x = np.ascontiguousarray(patches, dtype=np.float32)
    if x.ndim != 3 or x.shape[1:] != (187, 96):
        raise ValueError(f"expected patches of shape (n, 187, 96), got {x.shape}")
    if batch_size < 1:
        raise ValueError("batch_size must be positive")
    return x


def _run_batches(
    fn, patches: np.ndarray, batch_size: int, progress: Progress | None, is_cancelled: IsCancelled | None, what: str
) -> list:
    x = _check_patches(patches, batch_size)
    n = len(x)
    outs = []
    for start in range(0, n, batch_size):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled(f"{what} cancelled")
        outs.append(fn(x[start : start + batch_size]))
        if progress is not None:
            done = min(start + batch_size, n)
            progress(done / n, f"{what}: {done}/{n} patches")
    return outs


def _compiled(hop: int):
    """``(run_fn, plain_fn)``: compiled (``tf.function``) taggers, traced once for any batch and
    span length (relaxed input signatures, so clips of new lengths do not retrace):

    - ``run_fn(span (L, 96), patches (m, 187, 96))`` tags ``m`` patches that each start ``hop``
      frames after the previous one, ``span`` being their frames joined; the timbral front end runs
      once over the span (its first/last 3 frames per patch from the edge model), then the rest;
    - ``plain_fn(patches (m, 187, 96))`` is the plain tagger.
    """
    tagger = load_backbone()
    with _lock:
        fns = _models.get(("compiled", hop))
        if fns is None:
            import tensorflow as tf

            from gtzcomposer.ml.musicnn_arch import EDGE_FRAMES, SPAN_BRANCHES, overlap_models

            span_model, edges, rest = overlap_models(tagger)
            t = tagger.input_shape[1]

            @tf.function(autograph=False, input_signature=[tf.TensorSpec((None, 96), tf.float32),
                                          tf.TensorSpec((None, t, 96), tf.float32)])
            def run_fn(span, x):
                feats = span_model(span[None], training=False)[0]  # (L, 510)
                starts = tf.range(tf.shape(x)[0])[:, None] * hop
                ends = edges([x[:, :EDGE_FRAMES], x[:, -EDGE_FRAMES:]], training=False)
                parts, ch = [], 0
                for i, (_, width, first, last) in enumerate(SPAN_BRANCHES):
                    inner = tf.gather(feats[:, ch:ch + width], starts + tf.range(first, t - last)[None, :])
                    parts.append(tf.concat([ends[i], inner, ends[len(SPAN_BRANCHES) + i]], axis=1))
                    ch += width
                return rest([x, tf.concat(parts, axis=-1)], training=False)

            @tf.function(autograph=False, input_signature=[tf.TensorSpec((None, t, 96), tf.float32)])
            def plain_fn(x):
                return tagger(x, training=False)

            fns = _models[("compiled", hop)] = (run_fn, plain_fn)
        return fns


def warm_up(hop: int = PATCH_HOP) -> None:
    """Load the backbone and trace and run the compiled tagging path once on two silent patches
    (~1 s), so that the first real :func:`taggram` call costs no more than later ones — call it in
    the background when a GUI panel opens.  Traced once, the path serves every batch and length."""
    run_fn, _ = _compiled(hop)
    t = load_backbone().input_shape[1]
    x = np.zeros((2, t, 96), np.float32)
    run_fn(np.zeros((t + hop, 96), np.float32), x)


def _overlapping_runs(x: np.ndarray, hop: int) -> list[tuple[int, int]]:
    """Split patches into runs [a, b) where each patch starts ``hop`` frames after the previous
    one (their shared frames are equal), as :func:`gtzcomposer.ml.features.patches` makes them."""
    n = len(x)
    if n == 0:
        return []
    same = [np.array_equal(x[k, hop:], x[k + 1, :-hop]) for k in range(n - 1)]
    runs, a = [], 0
    for k, ok in enumerate(same):
        if not ok:
            runs.append((a, k + 1))
            a = k + 1
    runs.append((a, n))
    return runs


def _tag_run(x: np.ndarray, hop: int, batch_size: int):
    """Tag a run of overlapping patches, computing the timbral front end once per frame."""
    run_fn, _ = _compiled(hop)
    t = x.shape[1]
    for a in range(0, len(x), batch_size):
        b = min(a + batch_size, len(x))
        span = np.concatenate([x[a], *(x[k, t - hop :] for k in range(a + 1, b))])
        yield b - a, run_fn(span, x[a:b]).numpy()


def taggram(
    patches: np.ndarray,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
    hop: int = PATCH_HOP,
) -> np.ndarray:
    """Tag probabilities of each patch -> (n, 50) float32 (musicnn's "taggram").

    Runs one compiled ``tf.function`` per batch (traced once per process for every batch size and
    clip length; no ``model.predict`` overhead).  Patches that overlap like
    :func:`gtzcomposer.ml.features.patches` makes them (each starting ``hop`` frames after the
    previous, shared frames equal) go through a faster equivalent path that computes the timbral,
    temporal64 and temporal32 front-end branches once per frame of the span instead of once per
    patch, recomputing only the few frames at each patch edge where the patch model zero-pads
    (same outputs to ~1e-6; see ``musicnn_arch.overlap_models``); other patches go through the
    plain tagger in batches.
    ``progress(fraction, message)`` is called after each batch; when ``is_cancelled()`` turns
    true the work stops with ``gtzcomposer.core.errors.Cancelled`` (a ``concurrent.futures.CancelledError``).
    """
    x = _check_patches(patches, batch_size)
    n = len(x)
    out = np.zeros((n, 50), np.float32)
    if n == 0:
        return out
    run_hop = hop if 0 < hop < x.shape[1] - 6 else PATCH_HOP
    _, plain_fn = _compiled(run_hop)
    runs = _overlapping_runs(x, hop) if 0 < hop < x.shape[1] - 6 else [(k, k + 1) for k in range(n)]
    singles = np.array([a for a, b in runs if b - a == 1], dtype=np.int64)

    def chunks():  # (indices, tags) per compiled call
        for a, b in runs:
            if b - a >= 2:
                pos = a
                for m, tags in _tag_run(x[a:b], hop, batch_size):
                    yield np.arange(pos, pos + m), tags
                    pos += m
        for k in range(0, len(singles), batch_size):
            idx = singles[k : k + batch_size]
            yield idx, plain_fn(x[idx]).numpy()

    done = 0
    it = chunks()
    while True:
        if is_cancelled is not None and is_cancelled():
            raise Cancelled("tagging cancelled")
        try:
            idx, tags = next(it)
        except StopIteration:
            break
        out[idx] = tags
        done += len(idx)
        if progress is not None:
            progress(done / n, f"tagging: {done}/{n} patches")
    return out


def taggram_per_patch(
    patches: np.ndarray,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
) -> np.ndarray:
    """:func:`taggram` computed patch by patch with the plain tagger (the reference path)."""
    x = _check_patches(patches, batch_size)
    if len(x) == 0:
        return np.zeros((0, 50), np.float32)
    model = load_backbone()
    outs = _run_batches(model.predict_on_batch, x, batch_size, progress, is_cancelled, "tagging")
    return np.concatenate([np.asarray(o, np.float32) for o in outs])


def features(
    patches: np.ndarray,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
) -> dict[str, np.ndarray]:
    """All backbone outputs per patch: ``tags`` (n, 50), ``penultimate`` (n, 200), ``max_pool``
    and ``mean_pool`` (n, 753)."""
    keys = ("tags", "penultimate", "max_pool", "mean_pool")
    x = _check_patches(patches, batch_size)
    if len(x) == 0:
        return {k: np.zeros((0, d), np.float32) for k, d in zip(keys, (50, 200, 753, 753))}
    model = load_features_model()
    outs = _run_batches(model.predict_on_batch, x, batch_size, progress, is_cancelled, "extracting features")
    return {k: np.concatenate([np.asarray(o[i], np.float32) for o in outs]) for i, k in enumerate(keys)}


def taggram_of_file(
    path,
    batch_size: int = DEFAULT_BATCH,
    block_seconds: float = 60.0,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Decode an audio file block by block and tag it -> (tags (n, 50), patch start times (n,)).

    Memory stays bounded for files of any length (see :func:`gtzcomposer.io.audio.iter_audio_blocks`
    and :class:`gtzcomposer.ml.features.PatchStream`); audio under 3 s is padded to one patch, under
    0.5 s refused (``AudioError``).  ``progress`` follows the position in the file.
    """
    from gtzcomposer.io.audio import iter_audio_blocks
    from gtzcomposer.ml.features import PatchStream

    position = [0.0]

    def reading(fraction: float, message: str) -> None:
        position[0] = fraction

    load_backbone()  # fail early (and outside the loop) if the model is missing
    stream = PatchStream()
    tags, times = [], []

    def tag(p: np.ndarray, t: np.ndarray) -> None:
        if len(p):
            tags.append(taggram(p, batch_size=batch_size, is_cancelled=is_cancelled))
            times.append(t)
            if progress is not None:
                progress(min(position[0], 0.999), f"tagging: {t[-1] + 3:.0f} s analysed")

    for block in iter_audio_blocks(path, block_seconds=block_seconds, progress=reading, is_cancelled=is_cancelled):
        tag(*stream.push(block))
    tag(*stream.finish())
    if progress is not None:
        progress(1.0, "tagging done")
    if not tags:
        return np.zeros((0, 50), np.float32), np.zeros(0)
    return np.concatenate(tags), np.concatenate(times)
