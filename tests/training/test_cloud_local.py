"""The job lifecycle of `python -m training cloud` with the local engine: the real entry script in
a real process group on this machine (no SageMaker can run here). Ctrl-C stops the job and leaves no
process behind; a completed job's archive is fetched into models/ and training/reports/."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def cli(tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1",
           "CUDA_VISIBLE_DEVICES": "", "TMPDIR": str(tmp_path)}  # the engine's work folder goes there
    return subprocess.Popen([sys.executable, "-m", "training", "cloud", *args, "--engine", "local", "--poll", "0.3",
                             "--models-dir", str(tmp_path / "models"), "--reports-dir", str(tmp_path / "reports")],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def group_alive(pgid: int) -> list[int]:
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


@pytest.mark.slow
def test_ctrl_c_stops_the_job_and_leaves_no_process(tmp_path, shared_data):
    proc = cli(tmp_path, "genre")
    lines, work = [], None
    deadline = time.time() + 240
    for line in proc.stdout:
        lines.append(line)
        if m := re.search(r"local engine: jobs run under (\S+)", line):
            work = Path(m.group(1))
        if "entry: running" in line:  # the trainer is starting: interrupt it now
            break
        assert time.time() < deadline, "".join(lines)
    assert work is not None, "".join(lines)
    pid = int(next(work.glob("*/pid")).read_text())
    while len(group_alive(pid)) < 2 and time.time() < deadline:  # the entry and the trainer it started
        time.sleep(0.1)
    assert len(group_alive(pid)) >= 2, "the job's processes should be running before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    out = "".join(lines) + rest
    assert proc.returncode == 130, out
    assert "stopping gtz-genre-" in out and "stopped; its instance is released" in out
    assert group_alive(pid) == [], "the job's process group outlived Ctrl-C"
    assert not (tmp_path / "models").exists()  # nothing fetched, nothing half-written
    assert not list(work.glob("*/output/model.tar.gz"))


@pytest.mark.slow
def test_a_completed_job_is_fetched_and_reproduces_the_bundled_genre_head(tmp_path, shared_data):
    proc = cli(tmp_path, "genre", "--fetch")
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out
    models, reports = tmp_path / "models", tmp_path / "reports"
    assert {p.name for p in models.iterdir()} == {"genre_head.keras", "genre_head.json"}  # no .part left
    assert (reports / "genre" / "confusion_matrix.png").stat().st_size > 1000
    card = json.loads((models / "genre_head.json").read_text())
    bundled = json.loads((REPO / "models" / "genre_head.json").read_text())
    # deterministic recipe, same data and seed: the same held-out metrics as the bundled model
    assert card["metrics"]["test_clip_accuracy"] == pytest.approx(bundled["metrics"]["test_clip_accuracy"], abs=1e-9)
    assert card["metrics"]["test_macro_f1"] == pytest.approx(bundled["metrics"]["test_macro_f1"], abs=1e-9)
    cloud = card["cloud"]
    assert cloud["engine"] == "local" and cloud["instance_type"] == "local" and cloud["gpus"] == 0
    assert cloud["replicas"] == 1 and cloud["wall_seconds"] > 1 and cloud["job"] == "genre"
    assert cloud["launched_with"].startswith("python -m training cloud genre --fetch")
    from gtzcomposer.ml.genre_model import load_head

    head = load_head(models / "genre_head.keras")  # the fetched file is a loadable model
    assert head is not None


def test_a_failing_job_reports_why_exits_1_and_leaves_nothing(tmp_path):
    bad = tmp_path / "bad-taggrams"
    bad.mkdir()
    for name in ("training_data_GTZAN_MSDmusicnn_taggram.npz", "evaluation_data_GTZAN_MSDmusicnn_taggram.npz"):
        (bad / name).write_bytes(b"not an npz archive")
    proc = cli(tmp_path, "genre", "--fetch", "--input", f"taggrams={bad}")
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1, out
    assert re.search(r"gtz-genre-\S+ failed: python -m training genre exited with status 1 \(see the log\)", out), out
    assert "its instance is released" in out
    assert not (tmp_path / "models").exists()
    work = Path(re.search(r"local engine: jobs run under (\S+)", out).group(1))
    pid = int(next(work.glob("*/pid")).read_text())
    assert group_alive(pid) == []
