"""TensorFlow's start-up notices are kept off stderr while Keras loads; anything else is not."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from gtzcomposer.ml import keras_import

NOTICES = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1795658231.942108   10289 port.cc:153] oneDNN custom operations are on. You may see "
    "slightly different numerical results due to floating-point round-off errors from different computation "
    "orders. To turn them off, set the environment variable `TF_ENABLE_ONEDNN_OPTS=0`.\n"
    "I0000 00:00:1795658232.234810   10289 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.\n"
    "To enable the following instructions: AVX2 AVX512F AVX512_VNNI AVX512_BF16 FMA, in other operations, "
    "rebuild TensorFlow with the appropriate compiler flags.\n"
)


def test_only_the_notices_are_dropped():
    other = "E0000 00:00:1.0 123 cuda_dnn.cc:1] Unable to load cuDNN\nTraceback (most recent call last):\n"
    assert keras_import.drop_notices(NOTICES) == ""
    assert keras_import.drop_notices(NOTICES + other) == other
    assert keras_import.drop_notices(other + NOTICES) == other


def test_what_is_written_to_fd_2_during_the_import_comes_back_without_the_notices(capfd):
    with keras_import._quiet_startup():
        os.write(2, NOTICES.encode())
        os.write(2, b"a real problem\n")
    assert capfd.readouterr().err == "a real problem\n"


def test_everything_comes_back_when_the_import_fails(capfd):
    with pytest.raises(ImportError), keras_import._quiet_startup():
        os.write(2, NOTICES.encode())
        raise ImportError("no tensorflow")
    assert capfd.readouterr().err == NOTICES


def test_a_cold_keras_import_prints_nothing_on_stderr():
    pytest.importorskip("keras", reason="Keras is the training extra's (pip install '.[training]'); the app never imports it")
    code = "from gtzcomposer.ml.keras_import import import_keras; import_keras()"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TF_CPP")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
