"""Training on several devices (training/distribute.py) on a CPU split into two virtual devices.

Same data and seed: two replicas with the recipe's global batch and learning rate (scaling "none")
give one device's losses and accuracies within TOLERANCE (only the order of float sums differs);
with scaling "linear" (the default) the global batch and the learning rate double, and the real
genre trainer runs its MLP on both replicas."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from training import distribute

REPO = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-4  # absolute, on per-epoch loss and accuracy

PROBE = r'''
import json, math, os, sys
import numpy as np
from training import distribute
strategy = distribute.strategy()          # first: it may split the CPU
import keras
s = distribute.scaled(64, 1e-2)
keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
x = rng.normal(size=(512, 8)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int64")
with strategy.scope():
    m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(16, activation="relu"),
                          keras.layers.Dense(2, activation="softmax")])
    m.compile(keras.optimizers.Adam(s.learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
h = m.fit(x, y, batch_size=s.batch_size, epochs=3, verbose=0, shuffle=False)
out = {"replicas": distribute.replicas(), "batch": s.batch_size, "lr": s.learning_rate,
       "steps": int(m.optimizer.iterations.numpy()), "history": h.history,
       "mirrored": len(getattr(m.weights[0].value, "values", [None]))}
if os.environ.get("PROBE_GENRE"):
    from training import genre
    xg = rng.uniform(0.01, 0.99, size=(200, 50)).astype("float32")
    yg = rng.integers(0, 10, size=200)
    member = genre.train_mlp(xg, yg, seed=0)
    out["genre_mirrored"] = len(getattr(member.weights[0].value, "values", [None]))
print("PROBE " + json.dumps(out))
'''


def probe(virtual: int, scaling: str, genre: bool = False) -> dict:
    env = {"PYTHONPATH": str(REPO), "GTZ_SCALING": scaling, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow",
           "CUDA_VISIBLE_DEVICES": "", "PATH": "/usr/bin:/bin"}
    if virtual:
        env["GTZ_VIRTUAL_CPUS"] = str(virtual)
    if genre:
        env["PROBE_GENRE"] = "1"
    r = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(next(line for line in r.stdout.splitlines() if line.startswith("PROBE "))[6:])


def test_scale_rules():
    assert distribute.scale(64, 2e-3, 1, "linear") == distribute.Scaled(1, 64, 2e-3, "linear")
    assert distribute.scale(64, 2e-3, 4, "linear") == distribute.Scaled(4, 256, 8e-3, "linear")
    assert distribute.scale(64, 2e-3, 4, "none") == distribute.Scaled(4, 64, 2e-3, "none")
    with pytest.raises(ValueError):
        distribute.scale(64, 2e-3, 2, "sqrt")


@pytest.mark.slow
def test_two_virtual_devices_give_one_devices_metrics():
    one = probe(0, "none")
    two = probe(2, "none")
    assert (one["replicas"], one["mirrored"]) == (1, 1)
    assert (two["replicas"], two["mirrored"]) == (2, 2)  # really two copies of the weights
    assert one["batch"] == two["batch"] == 64 and one["steps"] == two["steps"] == 3 * 8
    for key in ("loss", "accuracy"):
        assert len(one["history"][key]) == 3
        for a, b in zip(one["history"][key], two["history"][key]):
            assert abs(a - b) <= TOLERANCE, (key, one["history"][key], two["history"][key])
    assert one["history"]["loss"][-1] < one["history"]["loss"][0]  # it learnt something


@pytest.mark.slow
def test_linear_scaling_doubles_batch_and_learning_rate_and_the_genre_trainer_uses_both_replicas():
    from training.genre import HPARAMS

    two = probe(2, "linear", genre=True)
    assert (two["replicas"], two["batch"], two["lr"]) == (2, 128, 2e-2)
    assert two["steps"] == 3 * 4  # 512 rows / global batch 128
    assert two["genre_mirrored"] == 2
    assert two["history"]["accuracy"][-1] > 0.8
    assert HPARAMS["batch_size"] == 128  # the recipe the genre trainer scales (global batch 256 on two replicas)
