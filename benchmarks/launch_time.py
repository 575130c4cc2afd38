"""Launch time: from process start to the main window shown and taking input.

Starts ``python -m gtzcomposer`` in a fresh process with GTZCOMPOSER_LAUNCH_PROBE=1: the app prints
``LAUNCH_READY <time>`` at the first idle moment of the event loop after the window is shown (so
it has been laid out and painted) and quits. The figure is that time minus the time just before
the process was started, i.e. it includes the Python interpreter, all imports and the first
paint. Settings and app data go to a temp folder. Goal: <= 1.5 s.

    python benchmarks/launch_time.py [--runs 5] [--file song.mid] [--platform offscreen|xcb]

Also reports whether heavy modules (tensorflow, keras, librosa, music21) were imported before
the window was ready (they must not be).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "librosa", "music21", "pretty_midi", "torch", "jax")


def one_launch(file: str | None, platform: str, tmp: str) -> tuple[float, list[str]]:
    env = dict(os.environ)
    env.update({
        "GTZCOMPOSER_LAUNCH_PROBE": "1",
        "GTZCOMPOSER_SETTINGS": str(Path(tmp) / "settings.ini"),
        "GTZCOMPOSER_DATA_DIR": str(Path(tmp) / "data"),
        "GTZCOMPOSER_LAUNCH_REPORT_MODULES": ",".join(HEAVY),
        "PYTHONPATH": str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    })
    if platform:
        env["QT_QPA_PLATFORM"] = platform
    cmd = [sys.executable, "-m", "gtzcomposer"] + ([file] if file else [])
    t0 = time.time()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    ready, heavy = None, []
    for line in out.stdout.splitlines():
        if line.startswith("LAUNCH_READY "):
            ready = float(line.split()[1])
        elif line.startswith("LAUNCH_MODULES "):
            heavy = [m for m in line[len("LAUNCH_MODULES "):].strip().split(",") if m]
    if ready is None:
        raise SystemExit(f"the app did not report readiness (exit {out.returncode}):\n{out.stdout}\n{out.stderr}")
    return ready - t0, heavy


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--file", help="a song to open at start (e.g. a .mid)")
    ap.add_argument("--platform", default=os.environ.get("QT_QPA_PLATFORM", "offscreen"),
                    help="Qt platform plugin (offscreen, or xcb under Xvfb / a desktop)")
    args = ap.parse_args()
    times, heavy_seen = [], set()
    with tempfile.TemporaryDirectory() as tmp:
        one_launch(args.file, args.platform, tmp)  # warm the OS file cache once, not counted
        for _ in range(args.runs):
            t, heavy = one_launch(args.file, args.platform, tmp)
            times.append(t)
            heavy_seen.update(heavy)
    med = statistics.median(times)
    print(f"platform: {args.platform}; runs: {args.runs}; each: " + ", ".join(f"{t:.3f}" for t in times))
    print(f"launch to interactive main window: median {med:.3f} s, best {min(times):.3f} s, "
          f"worst {max(times):.3f} s (goal <= 1.5 s)")
    print("heavy modules imported before the window was ready: " + (", ".join(sorted(heavy_seen)) or "none"))
    return 0 if med <= 1.5 and not heavy_seen else 1


if __name__ == "__main__":
    sys.exit(main())
