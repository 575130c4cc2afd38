"""The app's commands before and after the numpy runtime (issue 16): wall time and peak memory.

Runs each command in a fresh process, alternately from a BASELINE checkout and from this one (A B A B
...), so both see the same machine load; prints median wall seconds, median peak resident memory
(the finished child's own ``ru_maxrss``) and the ratios new / baseline.

    git archive <old commit> | tar -x -C /tmp/base             # a checkout of the version before
    python benchmarks/lean_runtime.py --baseline /tmp/base [--baseline-python PY] [--python PY] [--runs 5]

``--python`` / ``--baseline-python`` choose the interpreters (default: this one for both); the
baseline needs TensorFlow, the new side needs none (point ``--python`` at a lean venv's python to
prove it).  Each process gets ``PYTHONPATH`` = its checkout, an empty temporary ``HOME`` and runs
outside both checkouts.

Commands: ``--version``; ``models``; ``genre`` on a 30 s 44.1 kHz stereo WAV made from the musicnn
fixture's music (cold: import, load, analyse); ``continue`` (4 bars x 4 variations of a MIDI
fixture); ``launch`` (the main window shown and idle, ``GTZCOMPOSER_LAUNCH_PROBE``); ``idle``
(the main window, then every model loaded and used once through the CLI's code — genre detection
and melody continuation — then the resident memory while idle, ``VmRSS``); ``warm genre`` (the
median of 5 further detections in the ``idle`` process).  Goals: cold genre <= 1.0 s, warm
<= 0.2 s, launch <= 0.5 s, cold genre peak <= 400 MiB, idle with all models <= 500 MiB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "musicnn_reference"
SEED_MIDI = ROOT / "tests" / "data" / "music21_test06.mid"

IDLE = r"""
import gc, json, os, sys, time
from pathlib import Path
from PySide6.QtWidgets import QApplication
from gtzcomposer import cli
from gtzcomposer.ui.main_window import MainWindow
from gtzcomposer.ui.settings import Settings
clip, seed, out = sys.argv[1:4]
app = QApplication([sys.argv[0]])
w = MainWindow(Settings(Path(out) / "settings.ini"), autosave=False)
w.show(); app.processEvents()
assert cli.main(["genre", clip]) == 0
assert cli.main(["continue", seed, "--style", "folk", "--bars", "4", "--variations", "4", "--seed", "1",
                 "-o", str(Path(out) / "cont")]) == 0
from gtzcomposer.ml.genre import GenreDetector
det = GenreDetector().load(); det.detect(clip)
warm = []
for _ in range(5):
    t = time.perf_counter(); det.detect(clip); warm.append(time.perf_counter() - t)
gc.collect(); app.processEvents(); time.sleep(0.5)
status = dict(l.split(":", 1) for l in Path("/proc/self/status").read_text().splitlines() if ":" in l)
kib = lambda k: int(status[k].split()[0])
print("IDLE " + json.dumps({"rss_mib": kib("VmRSS") / 1024, "warm_s": sorted(warm)[2],
      "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}), flush=True)
w.shutdown()
"""


def make_clip(path: Path, seconds: float = 30.0) -> None:
    import numpy as np
    import soundfile as sf
    import soxr

    parts = [sf.read(str(p), dtype="float32")[0] for p in sorted(FIXTURE.glob("*.flac"))]
    y = np.concatenate(parts)
    y = np.tile(y, int(np.ceil(seconds * 16000 / len(y))))[: int(seconds * 16000)]
    y = soxr.resample(y, 16000, 44100)
    sf.write(str(path), np.stack([y, 0.8 * y], 1), 44100)


def run_measured(python: str, checkout: Path, args: list[str], tmp: Path, env_extra: dict | None = None):
    """(wall seconds, peak resident MiB, stdout, stderr, exit code) of one fresh process."""
    home = Path(tempfile.mkdtemp(dir=tmp, prefix="home-"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PYTHONPATH=str(checkout), HOME=str(home), QT_QPA_PLATFORM="offscreen", TF_CPP_MIN_LOG_LEVEL="3",
               GTZCOMPOSER_DATA_DIR=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"), **(env_extra or {}))
    out_f, err_f = home / "stdout.txt", home / "stderr.txt"
    started = time.time()
    t = time.perf_counter()
    pid = os.fork()  # fork + exec, so that wait4 gives this child's own peak memory
    if pid == 0:
        try:
            os.chdir(home)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(os.open(out_f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(err_f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            os.execve(python, [python, *args], env)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - t
    rc = os.waitstatus_to_exitcode(status)
    out = out_f.read_text()
    ready = [float(x.split()[1]) for x in out.splitlines() if x.startswith("LAUNCH_READY")]
    if ready:  # the app's own "window shown and idle" moment
        wall = ready[0] - started
    return wall, usage.ru_maxrss / 1024, out, err_f.read_text(), rc


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", type=Path, required=True, help="checkout of the version to compare with")
    ap.add_argument("--baseline-python", default=sys.executable)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", nargs="*", help="command names to run (default: all)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="lean-bench-") as tmp_s:
        tmp = Path(tmp_s)
        clip = tmp / "clip30s.wav"
        make_clip(clip)
        commands = {
            "--version": ["-m", "gtzcomposer", "--version"],
            "models": ["-m", "gtzcomposer", "models"],
            "genre (cold)": ["-m", "gtzcomposer", "genre", str(clip)],
            "continue": ["-m", "gtzcomposer", "continue", str(SEED_MIDI), "--style", "folk", "--bars", "4",
                         "--variations", "4", "--seed", "1", "-o", str(tmp / "cont")],
            "launch": ["-m", "gtzcomposer"],
            "idle": ["-c", IDLE, str(clip), str(SEED_MIDI), str(tmp)],
        }
        if args.only:
            commands = {k: v for k, v in commands.items() if k in args.only}
        sides = {"baseline": (args.baseline_python, args.baseline.resolve()), "new": (args.python, ROOT)}
        res: dict[str, dict[str, list]] = {k: {s: [] for s in sides} for k in commands}
        idle: dict[str, list] = {s: [] for s in sides}
        for name, cmd in commands.items():
            env = {"GTZCOMPOSER_LAUNCH_PROBE": "1"} if name == "launch" else None
            runs = max(1, args.runs if name != "idle" else min(args.runs, 3))
            for _ in range(runs):
                for side, (py, checkout) in sides.items():
                    wall, peak, out, err, rc = run_measured(py, checkout, cmd, tmp, env)
                    if rc != 0:
                        print(f"{name} ({side}) failed with exit code {rc}:\n{err[-2000:]}")
                        return 1
                    if name == "idle":
                        idle[side].append(json.loads(out.split("IDLE ", 1)[1].splitlines()[0]))
                    res[name][side].append((wall, peak))
        load = os.getloadavg()[0]
    print(f"{'command':14s} {'baseline s':>10s} {'new s':>8s} {'ratio':>6s}   {'baseline MiB':>12s} {'new MiB':>8s} {'ratio':>6s}")
    for name, r in res.items():
        b_w, n_w = (statistics.median(w for w, _ in r[s]) for s in ("baseline", "new"))
        b_m, n_m = (statistics.median(m for _, m in r[s]) for s in ("baseline", "new"))
        print(f"{name:14s} {b_w:10.2f} {n_w:8.2f} {n_w / b_w:6.2f}   {b_m:12.0f} {n_m:8.0f} {n_m / b_m:6.2f}")
    for side, rows in idle.items():
        if rows:
            rss = statistics.median(r["rss_mib"] for r in rows)
            warm = statistics.median(r["warm_s"] for r in rows)
            print(f"idle, all models loaded ({side}): resident {rss:.0f} MiB; warm genre of the 30 s clip {warm:.3f} s; "
                  f"tensorflow imported: {rows[0]['tensorflow']}, keras: {rows[0]['keras']}")
    print(f"medians of {args.runs} runs per side (idle: up to 3), alternating; load average {load:.1f} on "
          f"{os.cpu_count()} cores. 'launch' is the app's own LAUNCH_READY time; peak = the process's ru_maxrss.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
