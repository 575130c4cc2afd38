"""Genre detection speed on a 30 s clip (CPU).

Prints:
  cold  - a fresh process: import, load the head and the backbone, analyse the clip once;
  warm  - the median (and min) wall and CPU time of 9 further analyses of the same clip in that process;
  cli   - `gtzcomposer genre clip.wav` end to end in a fresh process (wall clock).
Goals: warm <= 0.2 s and a cold CLI run <= 1.0 s (issue 16; issue 5 / DESIGN.md had warm <= 0.5 s,
cold <= 3 s, CLI end to end <= 8 s).

Usage: python benchmarks/genre_speed.py [--clip FILE] [--repeats N]
(without --clip a 30 s synthetic mix of tones and noise bursts at 22.05 kHz stereo is written to a
temporary folder). Skips with a message when the musicnn backbone is not installed in this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
from gtzcomposer.ml.genre import GenreDetector
det = GenreDetector()
r = det.detect(sys.argv[1])
cold = time.perf_counter() - t0
warm, cpu = [], []
for _ in range(int(sys.argv[2])):
    t = time.perf_counter(); c = time.process_time(); det.detect(sys.argv[1])
    warm.append(time.perf_counter() - t); cpu.append(time.process_time() - c)
warm.sort(); cpu.sort()
print(json.dumps({"cold": cold, "warm": warm[len(warm) // 2], "warm_min": warm[0], "cpu": cpu[len(cpu) // 2],
                  "cpu_min": cpu[0], "load": os.getloadavg()[0], "top": r.top}))
"""


def make_clip(path: Path, seconds: float = 30.0) -> None:
    import numpy as np
    import soundfile as sf

    sr = 22050
    rng = np.random.default_rng(0)
    t = np.arange(int(sr * seconds)) / sr
    x = sum(0.15 * np.sin(2 * np.pi * f * t) for f in (110, 220, 277, 330))
    beat = (np.sin(2 * np.pi * 2 * t) > 0.95).astype(float) * rng.normal(0, 0.3, len(t))
    x = (x + beat) / 2
    sf.write(path, np.stack([x, 0.9 * x], 1).astype("float32"), sr)


HEAD_CHILD = r"""
import json, time
import numpy as np
t0 = time.perf_counter()
from gtzcomposer.ml.genre import GenreDetector
det = GenreDetector()
x = np.random.default_rng(0).uniform(0, 1, (28, 50)).astype("float32")  # a 30 s clip: 28 patches
det.detect_taggram(x)
cold = time.perf_counter() - t0
warm = []
for _ in range(20):
    t = time.perf_counter(); det.detect_taggram(x); warm.append(time.perf_counter() - t)
print(json.dumps({"cold": cold, "warm": sorted(warm)[10]}))
"""


def head_only() -> None:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", HEAD_CHILD], capture_output=True, text=True, env=env, cwd=ROOT)
    if out.returncode:
        print(out.stderr[-2000:])
        return
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"genre head only, 28 patches (30 s): cold (imports + load) {r['cold']:.2f} s, warm {1000 * r['warm']:.1f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clip", type=Path)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    head_only()
    try:
        import gtzcomposer.io.audio  # noqa: F401
        import gtzcomposer.ml.features  # noqa: F401
        import gtzcomposer.ml.musicnn  # noqa: F401
    except ImportError as exc:
        print(f"genre_speed: skipped - the musicnn backbone is not in this checkout ({exc.name} missing)")
        return 0
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip or Path(tmp) / "clip.wav"
        if not args.clip:
            make_clip(clip)
        out = subprocess.run([sys.executable, "-c", CHILD, str(clip), str(args.repeats)], capture_output=True,
                             text=True, env=env, cwd=ROOT)
        if out.returncode:
            print(out.stderr[-3000:])
            return 1
        res = json.loads(out.stdout.strip().splitlines()[-1])
        t = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "gtzcomposer", "genre", str(clip)], capture_output=True,
                             text=True, env=env, cwd=ROOT)
        cli_s = time.perf_counter() - t
        if cli.returncode:
            print(cli.stderr[-3000:])
            return 1
    print(f"clip: {clip.name if args.clip else '30 s synthetic'} (top genre: {res['top']})")
    print(f"genre 30 s clip warm: {res['warm']:.3f} s (median of {args.repeats}, min {res['warm_min']:.3f} s; goal <= 0.2 s); "
          f"CPU time median {res['cpu']:.3f} s, least {res['cpu_min']:.3f} s over {os.cpu_count()} cores "
          f"(load average {res['load']:.1f}: other processes slow the wall times)")
    print(f"genre 30 s clip cold (import + load + analyse): {res['cold']:.2f} s (goal <= 3 s)")
    print(f"gtzcomposer genre clip.wav end to end, fresh process: {cli_s:.2f} s (goal <= 1.0 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
