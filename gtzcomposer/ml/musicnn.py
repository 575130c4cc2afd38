"""The musicnn backbone at run time: load the bundled port, tag patches.

The app runs the model in numpy (:mod:`gtzcomposer.ml.musicnn_numpy`, reading the weights of
``models/msd_musicnn.keras``): no TensorFlow or Keras at run time.  The Keras model
(:mod:`gtzcomposer.ml.musicnn_arch`, :func:`load_keras_backbone`) is what the port is built,
saved and verified with — the reference the tests compare with.  The model is made by ``python
-m training convert-musicnn``; its card ``models/msd_musicnn.json`` holds the tag names and input
spec.
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
    """The musicnn tagger as a :class:`gtzcomposer.ml.musicnn_numpy.MusicnnNumpy` (numpy; no
    TensorFlow): (n, 187, 96) float32 log-mel patches -> (n, 50) sigmoids.

    Reads the weights of ``models/msd_musicnn.keras`` (~0.05 s); loaded once per process
    (thread-safe) and cached."""
    with _lock:
        model = _models.get("tagger")
        if model is None:
            path = model_path(MODEL_NAME)
            if not path.is_file():
                raise BackboneError(
                    f"The musicnn model {path} is missing; run 'python -m training convert-musicnn' to make it."
                )
            from gtzcomposer.ml.keras_file import KerasFileError
            from gtzcomposer.ml.musicnn_numpy import MusicnnNumpy

            try:
                model = MusicnnNumpy.load(path)
            except KerasFileError as exc:  # a damaged file: say which
                raise BackboneError(f"The musicnn model {path} could not be loaded ({exc}).") from exc
            _models["tagger"] = model
        return model


def load_keras_backbone():
    """The reference: the tagger as a ``keras.Model`` (training and tests; needs the ``training``
    extra's Keras and TensorFlow)."""
    with _lock:
        model = _models.get("keras")
        if model is None:
            from gtzcomposer.ml.keras_import import import_keras

            keras = import_keras()  # without its unused scikit-learn wrappers (~0.7 s)
            from gtzcomposer.ml import musicnn_arch  # noqa: F401  (registers the custom layers)

            model = _models["keras"] = keras.saving.load_model(model_path(MODEL_NAME), compile=False)
        return model


def load_features_model():
    """A Keras model sharing the reference tagger's weights with outputs ``[tags (50),
    penultimate (200), max_pool (753), mean_pool (753)]`` — for fine-tuning (training only;
    :func:`features` computes the same outputs in numpy)."""
    tagger = load_keras_backbone()
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


def warm_up(hop: int = PATCH_HOP) -> None:
    """Load the backbone now (the first :func:`taggram` then costs no more than later ones)."""
    load_backbone()


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


def _chunks(x: np.ndarray, hop: int, batch_size: int):
    """(patch indices, hop) per backbone call: runs of overlapping patches cut into batches (hop
    > 0: their front end is shared), the other patches batched together (hop 0)."""
    usable = 0 < hop < x.shape[1] - 6
    runs = _overlapping_runs(x, hop) if usable else [(k, k + 1) for k in range(len(x))]
    for a, b in runs:
        if b - a >= 2:
            for s in range(a, b, batch_size):
                yield np.arange(s, min(s + batch_size, b)), hop
    singles = np.array([a for a, b in runs if b - a == 1], dtype=np.int64)
    for k in range(0, len(singles), batch_size):
        yield singles[k : k + batch_size], 0


def _run(patches, batch_size, progress, is_cancelled, hop, what, keys):
    x = _check_patches(patches, batch_size)
    n = len(x)
    net = load_backbone()
    outs: dict[str, np.ndarray] = {}
    done = 0
    for idx, run_hop in _chunks(x, hop, batch_size):
        if is_cancelled is not None and is_cancelled():
            raise Cancelled(f"{what} cancelled")
        res = net.outputs(x[idx] if run_hop == 0 else x[idx[0] : idx[-1] + 1], run_hop)
        for k in keys:
            if k not in outs:
                outs[k] = np.zeros((n, res[k].shape[1]), np.float32)
            outs[k][idx] = res[k]
        done += len(idx)
        if progress is not None:
            progress(done / n, f"{what}: {done}/{n} patches")
    return outs


def taggram(
    patches: np.ndarray,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
    hop: int = PATCH_HOP,
) -> np.ndarray:
    """Tag probabilities of each patch -> (n, 50) float32 (musicnn's "taggram").

    Runs the numpy backbone (:mod:`gtzcomposer.ml.musicnn_numpy`) ``batch_size`` patches at a
    time.  Patches that overlap like :func:`gtzcomposer.ml.features.patches` makes them (each
    starting ``hop`` frames after the previous, shared frames equal) share the front-end work of
    their common frames (same outputs to ~1e-6); other patches run one by one in batches.
    ``progress(fraction, message)`` is called after each batch; when ``is_cancelled()`` turns
    true the work stops with ``gtzcomposer.core.errors.Cancelled`` (a ``concurrent.futures.CancelledError``).
    """
    x = _check_patches(patches, batch_size)
    if len(x) == 0:
        return np.zeros((0, 50), np.float32)
    return _run(x, batch_size, progress, is_cancelled, hop, "tagging", ("tags",))["tags"]


def features(
    patches: np.ndarray,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
    hop: int = PATCH_HOP,
) -> dict[str, np.ndarray]:
    """All backbone outputs per patch: ``tags`` (n, 50), ``penultimate`` (n, 200), ``max_pool``
    and ``mean_pool`` (n, 753)."""
    keys = ("tags", "penultimate", "max_pool", "mean_pool")
    x = _check_patches(patches, batch_size)
    if len(x) == 0:
        return {k: np.zeros((0, d), np.float32) for k, d in zip(keys, (50, 200, 753, 753))}
    return _run(x, batch_size, progress, is_cancelled, hop, "extracting features", keys)


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
