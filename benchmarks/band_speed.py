"""Band speed: 8 bars x 4 variations with all four parts (melody + chords, bass, drums), CPU.

    python benchmarks/band_speed.py [--repeat 10]

Prints, in this fresh process:

* first use: importing the generator and the band, loading the melody model, and the first
  continuation with its band (MMA's first start and the GMD drum bank's load run while the
  melody model loads and samples, as in the CLI and the app);
* warm: median and worst of --repeat runs of melody + band, every genre in turn;
* the band alone (one MMA run for the 4 variations) and one bare ``mma`` start-up, for scale.

Goals (issue #12): warm <= 0.5 s, first use <= 1.5 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    if shutil.which("mma") is None:
        print("mma is not installed (Debian package mma): nothing to measure")
        return 2

    t0 = time.perf_counter()
    c0 = resource.getrusage(resource.RUSAGE_SELF)
    c0 = c0.ru_utime + c0.ru_stime
    from gtzcomposer.core import KeySignature, Note, Song, TempoChange, TimeSignature, new_track
    from gtzcomposer.core.generation import GenerationSettings
    from gtzcomposer.ml.band import GENRES, band_for_continuation, warm_up
    from gtzcomposer.ml.melody.generator import MelodyGenerator

    warm_up()  # as the CLI and the app do before the melody is generated

    gen = MelodyGenerator.load()
    notes = tuple(Note(i * 240, p, 240, 90) for i, p in enumerate((67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 71,
                                                                     74, 72, 71, 69)))
    song = Song(tracks=(new_track(0, notes=notes),), tempos=(TempoChange.from_bpm(0, 110),),
                time_signatures=(TimeSignature(0, 4, 4),), key_signatures=(KeySignature(0, 7, "major"),))
    parts = ("chords", "bass", "drums")

    def cpu() -> float:
        """CPU seconds of this process and of the (reaped) MMA processes: less sensitive than wall
        time to a machine shared with other jobs."""
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime

    band_cpu: list[float] = []

    def once(genre: str, seed: int):
        settings = GenerationSettings(gen.styles[seed % len(gen.styles)], bars=8, variations=4, seed=seed,
                                      parts=("melody",) + parts)
        cont = gen.continue_melody(notes, song, settings)
        t, c = time.perf_counter(), cpu()
        band_for_continuation(song, cont, genre, parts, seed)
        band_cpu.append(cpu() - c)
        return time.perf_counter() - t

    once("rock", 0)
    t1 = time.perf_counter()
    print(f"first use (imports + model load + first 8x4 with the band): {t1 - t0:.3f} s, "
          f"{cpu() - c0:.3f} CPU s (this process + MMA)")

    times, band_times, cpus = [], [], []
    band_cpu.clear()
    for i in range(args.repeat):
        genre = GENRES[i % len(GENRES)]
        t, c = time.perf_counter(), cpu()
        band_times.append(once(genre, i + 1))
        times.append(time.perf_counter() - t)
        cpus.append(cpu() - c)
    print(f"warm 8 bars x 4 variations, melody + chords + bass + drums: median {statistics.median(times):.3f} s, "
          f"worst {max(times):.3f} s over {len(times)} runs (genres in turn)")
    print(f"  of which the band (one MMA run): median {statistics.median(band_times):.3f} s, "
          f"worst {max(band_times):.3f} s")
    print(f"  CPU seconds (this process + MMA): all parts median {statistics.median(cpus):.3f}, "
          f"the band median {statistics.median(band_cpu):.3f} (the spare MMA's start-up included)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "empty.mma"
        src.write_text("Tempo 120\nGroove BasicRock\n1 C\n")
        starts = []
        for _ in range(5):
            t = time.perf_counter()
            subprocess.run(["mma", str(src), "-f", str(Path(tmp) / "o.mid")], capture_output=True, check=True)
            starts.append(time.perf_counter() - t)
        print(f"bare mma start-up + one bar: median {statistics.median(starts):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
