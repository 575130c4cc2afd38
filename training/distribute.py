"""How many devices a trainer trains on, and the batch size and learning rate that go with them.

The one place the trainers (genre.py, melody.py) ask; nothing else decides the replica count.

- Devices: every GPU TensorFlow sees, or the first ``GTZ_REPLICAS`` of them. Several devices ->
  ``tf.distribute.MirroredStrategy`` (synchronous data parallelism: each replica takes its share
  of every global batch, gradients are summed across replicas before each step, so all copies stay
  equal). One device or none -> TensorFlow's default strategy: exactly the single-device code path
  that made the bundled models.
- ``GTZ_VIRTUAL_CPUS=N`` splits the CPU into N logical devices and trains on them (for tests and CI:
  the multi-device path on a machine without GPUs). It must be set before TensorFlow starts.
- Scaling (``GTZ_SCALING``):
  ``linear`` (default): the recipe's batch is the per-replica batch; global batch = batch x
  replicas and learning rate = lr x replicas (the linear scaling rule of Goyal et al. 2017,
  "Accurate, large minibatch SGD"). One replica leaves the recipe unchanged.
  ``none``: the recipe's global batch and learning rate, split across replicas; the same
  optimisation as one device, up to float summation order (the test holds it to 1e-4).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from functools import lru_cache

SCALINGS = ("linear", "none")


@dataclass(frozen=True)
class Scaled:
    replicas: int
    batch_size: int       # global batch (all replicas together), what model.fit gets
    learning_rate: float
    rule: str

    def describe(self) -> str:
        return (f"{self.replicas} replica{'s' if self.replicas != 1 else ''}, global batch {self.batch_size}, "
                f"learning rate {self.learning_rate:g} (scaling: {self.rule})")


def scaling_rule() -> str:
    rule = os.environ.get("GTZ_SCALING", "linear").strip().lower() or "linear"
    if rule not in SCALINGS:
        raise ValueError(f"GTZ_SCALING={rule!r}: use one of {', '.join(SCALINGS)}")
    return rule


def scale(batch_size: int, learning_rate: float, replicas: int, rule: str | None = None) -> Scaled:
    rule = rule or scaling_rule()
    replicas = max(1, int(replicas))
    if rule == "linear":
        return Scaled(replicas, batch_size * replicas, learning_rate * replicas, rule)
    if rule == "none":
        return Scaled(replicas, batch_size, learning_rate, rule)
    raise ValueError(f"unknown scaling rule {rule!r}")


class _SingleDevice:
    """Stands in for a strategy where Keras runs on another backend than TensorFlow (one device)."""

    num_replicas_in_sync = 1

    def scope(self):
        return contextlib.nullcontext()


@lru_cache(maxsize=1)
def strategy():
    """The tf.distribute strategy for this process (made once; before any other TensorFlow work)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return _SingleDevice()
    import tensorflow as tf

    virtual = int(os.environ.get("GTZ_VIRTUAL_CPUS", "0") or 0)
    if virtual > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * virtual)
        devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    else:
        devices = [d.name for d in tf.config.list_logical_devices("GPU")]
    limit = os.environ.get("GTZ_REPLICAS", "").strip()
    if limit:
        devices = devices[: max(1, int(limit))]
    if len(devices) > 1:
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.get_strategy()


def replicas() -> int:
    return int(strategy().num_replicas_in_sync)


def scaled(batch_size: int, learning_rate: float) -> Scaled:
    """The recipe's batch and learning rate for this process's replicas (see the module docstring)."""
    return scale(batch_size, learning_rate, replicas())
