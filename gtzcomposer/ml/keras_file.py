"""Read a Keras 3 ``.keras`` file without Keras, and run small functional models in numpy.

A ``.keras`` file is a zip holding ``config.json`` (the model's architecture) and
``model.weights.h5`` (its variables).  Keras names the weight groups not by the layers' names
but by their *class*, counted per container in the order of the model's layers
(``layers/dense``, ``layers/dense_1``, a nested model's ``layers/functional/layers/dense``, a
GRU's ``layers/gru/cell/vars``); :func:`read` walks the config the same way and returns the
weights keyed by the layers' own names (``"linear/logits"`` for layer ``logits`` inside the
nested model ``linear``), so a runtime can look layers up by the names the building code gave
them.  Variables come in Keras' creation order (Dense: kernel, bias; BatchNormalization: gamma,
beta, moving mean, moving variance; Normalization: mean, variance, count).

:class:`Graph` evaluates a functional model's config in numpy: the layers the app's small heads
use (InputLayer, Dense, Activation, Normalization, BatchNormalization, Dropout and the noise
layers (identity at inference), Add, Average, Concatenate, nested functional models, the
registered ``TagLogit``).  A layer it does not know is a :class:`KerasFileError` naming it, at
load time, never a wrong number.  A nested model can be replaced by a dedicated numpy twin
(``blocks={model name: factory}``), as the genre detector does for a fine-tuned musicnn.

Only numpy, h5py and the standard library: this is the app's inference runtime, with no
TensorFlow or Keras (see docs/runtime.md for why numpy twins rather than ONNX Runtime or Keras on
another backend).  Keras stays the reference: the tests compare these outputs with Keras'.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import GtzError

Weights = dict[str, list[np.ndarray]]


class KerasFileError(GtzError):
    """A ``.keras`` file is missing, damaged, or uses a layer the numpy runtime does not run."""


def snake_case(class_name: str) -> str:
    """Keras' ``naming.to_snake_case`` (how weight groups are named after layer classes)."""
    name = re.sub(r"\W+", "", class_name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


_MODEL_CLASSES = {"Functional", "Sequential", "Model"}


@dataclass(frozen=True)
class KerasFile:
    path: Path
    config: dict  # the top-level {"class_name": ..., "config": {...}}
    weights: Weights  # "layer" / "model/layer" -> arrays in variable order

    @property
    def name(self) -> str:
        return self.config.get("config", {}).get("name", "")


def read(path: str | Path) -> KerasFile:
    """Config and weights of a ``.keras`` file (raises :class:`KerasFileError` with the file's name)."""
    import h5py

    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
            blob = z.read("model.weights.h5")
        arrays: dict[str, np.ndarray] = {}
        with h5py.File(io.BytesIO(blob), "r") as f:
            f.visititems(lambda name, obj: arrays.__setitem__(name, np.asarray(obj[()]))
                         if isinstance(obj, h5py.Dataset) else None)
    except FileNotFoundError as exc:
        raise KerasFileError(f"The model {path} is missing.") from exc
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise KerasFileError(f"The model {path} could not be read ({exc}).") from exc
    weights: Weights = {}
    _collect(config, "", "", arrays, weights)
    return KerasFile(path, config, weights)


def _layer_vars(group: str, arrays: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The variables ``group/[sub/]vars/<i>`` of one layer (not those of nested ``layers/``)."""
    found: dict[tuple[str, int], np.ndarray] = {}
    prefix = group + "/"
    for key, value in arrays.items():
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix):].split("/")
        if "layers" in rest or len(rest) < 2 or rest[-2] != "vars":
            continue
        found[("/".join(rest[:-2]), int(rest[-1]))] = value
    # a layer's own vars first, then its sub-objects' (a GRU's cell) in name order
    return [found[k] for k in sorted(found, key=lambda k: (k[0] != "", k[0], k[1]))]


def _collect(layer: dict, group: str, name_prefix: str, arrays, out: Weights) -> None:
    cfg = layer.get("config", {})
    used: dict[str, int] = {}
    for sub in cfg.get("layers", []):
        snake = snake_case(sub["class_name"])
        n = used.get(snake)
        used[snake] = 0 if n is None else n + 1
        key = snake if n is None else f"{snake}_{n + 1}"
        sub_group = f"{group}/layers/{key}" if group else f"layers/{key}"
        sub_name = name_prefix + sub.get("config", {}).get("name", sub.get("name", key))
        if sub["class_name"] in _MODEL_CLASSES:
            _collect(sub, sub_group, sub_name + "/", arrays, out)
        else:
            vs = _layer_vars(sub_group, arrays)
            if vs:
                out[sub_name] = vs


# ----------------------------------------------------------------------------- numpy evaluation

def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "relu": lambda x: np.maximum(x, np.float32(0)),
    "sigmoid": lambda x: (1.0 / (1.0 + np.exp(-x))).astype(x.dtype),
    "tanh": np.tanh,
    "softmax": _softmax,
    "log_softmax": _log_softmax,
}


def _activation(spec, where: str):
    if isinstance(spec, dict):  # a serialised activation object
        spec = spec.get("config", {}).get("name", spec.get("class_name"))
    fn = ACTIVATIONS.get(spec or "linear")
    if fn is None:
        raise KerasFileError(f"{where}: activation {spec!r} is not supported by the numpy runtime.")
    return fn


Fn = Callable[..., np.ndarray]
BlockFactory = Callable[[dict, Weights], Callable[[np.ndarray], np.ndarray]]


def _make_layer(layer: dict, weights: Weights, prefix: str, where: str, blocks: dict[str, BlockFactory]) -> Fn:
    cls = layer["class_name"]
    cfg = layer.get("config", {})
    name = prefix + cfg.get("name", layer.get("name", ""))
    w = weights.get(name, [])
    if cls in _MODEL_CLASSES:
        if cfg.get("name") in blocks:
            sub = {k[len(name) + 1:]: v for k, v in weights.items() if k.startswith(name + "/")}
            return blocks[cfg["name"]](layer, sub)
        return Graph(layer, weights, name + "/", where, blocks)
    if cls == "Dense":
        act = _activation(cfg.get("activation"), f"{where} layer {name}")
        kernel = w[0].astype(np.float32)
        bias = w[1].astype(np.float32) if cfg.get("use_bias", True) else np.float32(0)
        return lambda x: act(x @ kernel + bias)
    if cls == "Activation":
        return _activation(cfg.get("activation"), f"{where} layer {name}")
    if cls in ("Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "SpatialDropout1D", "Identity"):
        return lambda x: x
    if cls == "Normalization":
        if cfg.get("invert"):
            raise KerasFileError(f"{where} layer {name}: an inverting Normalization is not supported.")
        mean, var = (v.astype(np.float32) for v in w[:2])
        scale = np.maximum(np.sqrt(var), np.float32(1e-7))
        return lambda x: (x - mean) / scale
    if cls == "BatchNormalization":
        gamma, beta, mean, var = _bn_vars(cfg, w)
        a = gamma / np.sqrt(var + np.float32(cfg.get("epsilon", 1e-3)))
        c = beta - a * mean
        return lambda x: x * a + c
    if cls == "Add":
        return lambda xs: sum(xs[1:], xs[0])
    if cls == "Average":
        return lambda xs: sum(xs[1:], xs[0]) / np.float32(len(xs))
    if cls == "Concatenate":
        axis = cfg.get("axis", -1)
        return lambda xs: np.concatenate(xs, axis=axis)
    if cls == "TagLogit":  # gtzcomposer.ml.genre_model.TagLogit
        eps = np.float32(cfg.get("eps", 1e-4))

        def tag_logit(x):
            x = np.clip(x, eps, np.float32(1) - eps)
            return np.log(x) - np.log(np.float32(1) - x)

        return tag_logit
    raise KerasFileError(f"{where}: layer {name!r} of type {cls} is not supported by the numpy runtime.")


def _bn_vars(cfg: dict, w: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    w = [v.astype(np.float32) for v in w]
    i = 0
    gamma = w[i] if cfg.get("scale", True) else None
    i += gamma is not None
    beta = w[i] if cfg.get("center", True) else None
    i += beta is not None
    mean, var = w[i], w[i + 1]
    return (np.ones_like(mean) if gamma is None else gamma, np.zeros_like(mean) if beta is None else beta, mean, var)


def _is_tensor_ref(obj) -> bool:
    return isinstance(obj, dict) and obj.get("class_name") == "__keras_tensor__"


class Graph:
    """A functional Keras model's forward pass (inference) in numpy: ``graph(x) -> y``.

    Built from the config and weights of :func:`read`; every layer is set up (and checked to be
    supported) when the graph is built.  Inputs and outputs are float32 arrays (a list when the
    model has several)."""

    def __init__(self, layer: dict, weights: Weights, prefix: str = "", where: str = "model",
                 blocks: dict[str, BlockFactory] | None = None):
        cfg = layer["config"]
        blocks = blocks or {}
        self.name = cfg.get("name", "")
        self._order: list[tuple[str, Fn | None, list]] = []
        self._nested: set[str] = set()
        for sub in cfg["layers"]:
            lname = sub.get("config", {}).get("name", sub.get("name"))
            if sub["class_name"] == "InputLayer":
                self._order.append((lname, None, []))
                continue
            if sub["class_name"] in _MODEL_CLASSES:
                self._nested.add(lname)
            self._order.append((lname, _make_layer(sub, weights, prefix, where, blocks), sub.get("inbound_nodes", [])))
        self._inputs = self._refs(cfg["input_layers"])
        self._outputs = self._refs(cfg["output_layers"])

    @staticmethod
    def _refs(spec) -> list[tuple[str, int, int]]:
        if spec and isinstance(spec[0], str):  # a single [name, node, tensor]
            return [tuple(spec)]
        return [tuple(s) for s in spec]

    def __call__(self, *inputs):
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])
        if len(inputs) != len(self._inputs):
            raise ValueError(f"{self.name} takes {len(self._inputs)} inputs, got {len(inputs)}")
        # layer name -> outputs of each of its serialised nodes (a list of tensors per node)
        values: dict[str, list[list[np.ndarray]]] = {}
        for (name, _node, _t), x in zip(self._inputs, inputs):
            values.setdefault(name, [[]])[0].append(np.asarray(x, np.float32))

        def get(name: str, node: int, t: int) -> np.ndarray:
            # Keras' own rule (functional_from_config): a nested model's node indices count the
            # node it was built with, which is not serialised
            return values[name][node - 1 if name in self._nested else node][t]

        def resolve(obj):
            if _is_tensor_ref(obj):
                return get(*obj["config"]["keras_history"])
            if isinstance(obj, list):
                return [resolve(o) for o in obj]
            return obj

        for name, fn, nodes in self._order:
            if fn is None:
                continue
            for node in nodes:
                out = fn(*resolve(node.get("args", [])))
                values.setdefault(name, []).append(list(out) if isinstance(out, (list, tuple)) else [out])
        result = [get(*r) for r in self._outputs]
        return result[0] if len(result) == 1 else result


def load_graph(path: str | Path, blocks: dict[str, BlockFactory] | None = None) -> Graph:
    """:class:`Graph` of the model in a ``.keras`` file."""
    f = read(path)
    if f.config.get("class_name") not in _MODEL_CLASSES:
        raise KerasFileError(f"The model {f.path} is not a functional Keras model.")
    return Graph(f.config, f.weights, "", str(f.path), blocks)
