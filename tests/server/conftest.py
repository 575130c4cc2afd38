"""Fixtures: test audio (made here), and two real servers started once per session.

* ``server``: gunicorn, started exactly as the image starts it (entry point, command and
  environment: 2 workers), the address changed;
* ``tight_server``: waitress, with an API key, a 1 MB upload limit, 30 s of audio, one slot, no
  queue, a 0.05 s model-work timeout and only the genre model, with PySide6 made unimportable
  (as in the image);
* ``broken_server``: waitress with an empty models folder (every model fails to load).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest
import soundfile as sf

from gtzcomposer.resources import model_path

from .live import LiveServer, as_started_by_dockerfile, free_port

API_KEY = "test-key-7f3a9c"
NO_QT = ("import runpy, sys; sys.modules['PySide6'] = None; sys.argv = ['gtzcomposer', *sys.argv[1:]]; "
         "runpy.run_module('gtzcomposer', run_name='__main__', alter_sys=True)")

needs_models = pytest.mark.skipif(not (model_path("genre_head").exists() and model_path("melody").exists()),
                                  reason="bundled genre and melody models not built")


def music(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """A few seconds of something like music: a chord progression with a beat and some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    for k, root in enumerate((220.0, 174.6, 261.6, 196.0) * int(seconds // 8 + 1)):
        seg = (t >= 2 * k) & (t < 2 * k + 2)
        for ratio in (1, 1.25, 1.5):
            x[seg] += 0.15 * np.sin(2 * np.pi * root * ratio * t[seg])
    beat = (t % 0.5) < 0.03
    x[beat] += 0.4 * rng.standard_normal(beat.sum())
    return (x + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


@pytest.fixture(scope="session")
def audio(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    x = music(10, 22050)
    files = {}
    for ext, fmt in (("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")):
        files[ext] = d / f"clip.{ext}"
        sf.write(files[ext], x, 22050, format=fmt, **({"subtype": "PCM_16"} if fmt == "WAV" else {}))
    files["25s"] = d / "clip25.wav"
    sf.write(files["25s"], music(25, 8000, 1), 8000, subtype="PCM_16")
    files["40s"] = d / "clip40.wav"
    sf.write(files["40s"], music(40, 8000, 2), 8000, subtype="PCM_16")
    files["short"] = d / "short.wav"
    sf.write(files["short"], music(0.2, 22050), 22050, subtype="PCM_16")
    files["folder"] = d
    return files


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """Both servers, started together (each worker loads its models), stopped at the end."""
    if not (model_path("genre_head").exists() and model_path("melody").exists()):
        pytest.skip("bundled genre and melody models not built")
    base = tmp_path_factory.mktemp("servers")
    key_file = base / "key.txt"
    key_file.write_text(API_KEY + "\n")
    started = {}
    port = free_port()
    tmp_a = base / "tmp-a"
    tmp_a.mkdir()
    argv, env = as_started_by_dockerfile(port)
    started["server"] = LiveServer(argv, port, tmp_a, base / "server.log", env)
    port = free_port()
    tmp_b = base / "tmp-b"
    tmp_b.mkdir()
    argv = [sys.executable, "-c", NO_QT, "serve", "--server", "waitress", "--host", "127.0.0.1", "--port", str(port),
            "--threads", "8", "--api-key-file", str(key_file), "--max-upload-mb", "1", "--max-audio-minutes", "0.5",
            "--max-concurrent", "1", "--queue-timeout", "0", "--timeout", "0.05", "--models", "genre"]
    started["tight"] = LiveServer(argv, port, tmp_b, base / "tight.log")
    try:
        started["server"].wait_ready(workers=int(env["GTZCOMPOSER_WORKERS"]))
        started["tight"].wait_ready()
        yield started
    finally:
        for s in started.values():
            s.stop()


@pytest.fixture(scope="session")
def server(servers) -> LiveServer:
    return servers["server"]


@pytest.fixture(scope="session")
def tight_server(servers) -> LiveServer:
    return servers["tight"]


@pytest.fixture(scope="session")
def broken_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("broken")
    (base / "models").mkdir()
    (base / "tmp").mkdir()
    port = free_port()
    s = LiveServer([sys.executable, "-m", "gtzcomposer", "serve", "--server", "waitress", "--port", str(port)], port,
                   base / "tmp", base / "broken.log", {"GTZCOMPOSER_MODELS_DIR": str(base / "models")})
    try:
        s.wait_until_up()
        yield s
    finally:
        s.stop()
