"""Time the musicnn backbone on a 30 s clip: decoding + features + taggram, warm and cold.

    python benchmarks/backbone_speed.py [--runs 10] [--batch 32]

"cold" runs in a fresh Python process and includes every import, the model load (the numpy
backbone reading models/msd_musicnn.keras) and the first call; "warm" repeats the whole path in a
process where the model is already loaded.  Goals (issue 5, CPU): 30 s clip <= 0.5 s warm; <= 3 s
cold (DESIGN.md).  benchmarks/lean_runtime.py compares whole commands with an older checkout.
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

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO / "tests" / "data" / "musicnn_reference"


def make_clip(path: Path) -> None:
    """A 30 s 44.1 kHz stereo WAV of real rendered music (the fixture clips, joined)."""
    import numpy as np
    import soundfile as sf
    import soxr

    parts = [sf.read(str(p), dtype="float32")[0] for p in sorted(CLIPS.glob("*.flac"))]
    y = np.concatenate(parts)[: 30 * 16000]
    y44 = soxr.resample(y, 16000, 44100)
    sf.write(str(path), np.stack([y44, 0.8 * y44], axis=1), 44100, subtype="PCM_16")


def analyse(path: str, batch: int) -> dict:
    """The backbone path: decode + resample, features, taggram; returns timings in seconds."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    from gtzcomposer.io.audio import load_audio
    from gtzcomposer.ml.features import audio_to_patches
    from gtzcomposer.ml.musicnn import taggram

    t1 = time.perf_counter()
    y = load_audio(path)
    t2 = time.perf_counter()
    patches, _ = audio_to_patches(y)
    t3 = time.perf_counter()
    tags = taggram(patches, batch_size=batch)
    t4 = time.perf_counter()
    return {"imports": t1 - t0, "decode": t2 - t1, "features": t3 - t2, "taggram": t4 - t3,
            "total": t4 - t0, "cpu": time.process_time() - c0, "patches": len(patches), "tags_shape": list(tags.shape)}


def cold(path: str, batch: int) -> dict:
    """Run the whole path in a fresh Python process (this script with --cold-child)."""
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--cold-child", path, "--batch", str(batch)],
        capture_output=True, text=True, check=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    wall = time.perf_counter() - t
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_incl_interpreter"] = wall
    return result


def _model_load_split(path: str, batch: int) -> dict:
    """Cold path with the backbone's import, model load and first call timed separately."""
    t0 = time.perf_counter()
    from gtzcomposer.ml.musicnn import load_backbone

    t1 = time.perf_counter()

    load_backbone()
    t2 = time.perf_counter()
    r = analyse(path, batch)
    r["module_import"] = t1 - t0
    r["model_load"] = t2 - t1
    r["cold_total"] = time.perf_counter() - t0
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    r["process_cpu"] = usage.ru_utime + usage.ru_stime
    return r


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--clip", type=Path, help="an audio file to use instead of the generated 30 s clip")
    parser.add_argument("--cold-child", metavar="PATH", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    if args.cold_child:
        print(json.dumps(_model_load_split(args.cold_child, args.batch)))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        path = str(args.clip) if args.clip else str(Path(tmp) / "clip30.wav")
        if not args.clip:
            make_clip(Path(path))
        c = cold(path, args.batch)
        print(f"cold (fresh process): {c['wall_incl_interpreter']:.2f} s wall incl. interpreter start; "
              f"backbone module import {c['module_import']:.2f} s, model load {c['model_load']:.2f} s, decode {c['decode']:.3f} s, "
              f"features {c['features']:.3f} s, first taggram {c['taggram']:.2f} s ({c['patches']} patches); "
              f"process CPU time {c['process_cpu']:.2f} s")
        analyse(path, args.batch)  # warm up in this process
        runs = [analyse(path, args.batch) for _ in range(args.runs)]
        runs.sort(key=lambda r: r["total"])
        med = runs[len(runs) // 2]
        cpus = sorted(r["cpu"] for r in runs)
        tags = sorted(r["taggram"] for r in runs)
        print(f"warm (median of {args.runs}): {med['total']:.3f} s = decode {med['decode']:.3f} + features "
              f"{med['features']:.3f} + taggram {med['taggram']:.3f} s; best {runs[0]['total']:.3f} s "
              f"(taggram alone: median {tags[len(tags) // 2]:.3f}, best {tags[0]:.3f} s); "
              f"CPU time median {cpus[len(cpus) // 2]:.3f} s, least {cpus[0]:.3f} s, over {os.cpu_count()} cores "
              f"(load average now {os.getloadavg()[0]:.1f}: other processes slow the wall times)")
        print(f"goal: warm <= 0.5 s -> {'met' if med['total'] <= 0.5 else 'NOT met'}; "
              f"cold <= 3 s (DESIGN) -> {'met' if c['wall_incl_interpreter'] <= 3 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
