"""Melody continuation speed: model load time and 8 bars x 4 variations, warm (CPU).

    python benchmarks/continuation_speed.py [--repeat 20] [--keras]

Prints the load time of the bundled melody model + critic + chord-progression model (the app's
path: weights read from the .keras file, no TensorFlow), the warm time of one 8-bar x 4-variation
continuation with its chords (median and worst of --repeat runs, every style: the chords under
the seed are inferred, those of the continued bars proposed by the style's progression model,
and the melody model conditions on them), and with --keras the time Keras itself takes to
import and load the same file (for comparison).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--keras", action="store_true", help="also time keras import + load_model")
    ap.add_argument("--models", default=None, help="models folder (default: the bundled one)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    from gtzcomposer.ml.melody.generator import MelodyGenerator

    t1 = time.perf_counter()
    gen = MelodyGenerator.load("melody", args.models)
    t2 = time.perf_counter()
    print(f"import generator module: {t1 - t0:.3f} s")
    print(f"model load (melody + critic + chord model, cold): {t2 - t1:.3f} s")

    from gtzcomposer.core import KeySignature, Note, Song, TempoChange, TimeSignature, new_track

    notes = tuple(Note(i * 240, p, 240, 90) for i, p in enumerate((67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 71,
                                                                     74, 72, 71, 69)))
    song = Song(tracks=(new_track(0, notes=notes),), tempos=(TempoChange.from_bpm(0, 110),),
                time_signatures=(TimeSignature(0, 4, 4),), key_signatures=(KeySignature(0, 7, "major"),))
    from gtzcomposer.core.generation import DEFAULT_STYLE_STRENGTH, GenerationSettings

    for strength in (DEFAULT_STYLE_STRENGTH, 0.0):
        gen.continue_melody(notes, song, GenerationSettings(gen.styles[0], bars=8, variations=4, seed=0, strength=strength))
        times = []
        chords = 0
        for i in range(args.repeat):
            style = gen.styles[i % len(gen.styles)]
            t = time.perf_counter()
            c = gen.continue_melody(notes, song, GenerationSettings(style, bars=8, variations=4, seed=i,
                                                                    strength=strength))
            times.append(time.perf_counter() - t)
            chords += bool(c.chords)
        label = "default style guidance" if strength else "no style guidance"
        print(f"continuation 8 bars x 4 variations with chords ({chords} of {len(times)} runs got chords), warm, "
              f"{label} (strength {strength:g}): "
              f"median {statistics.median(times):.3f} s, worst {max(times):.3f} s over {len(times)} runs")

    if args.keras:
        from gtzcomposer.ml.melody.model import load_keras_model
        from gtzcomposer.resources import model_path

        t = time.perf_counter()
        import keras  # noqa: F401

        t3 = time.perf_counter()
        load_keras_model(model_path("melody"))
        t4 = time.perf_counter()
        print(f"for comparison: keras import {t3 - t:.2f} s, keras load_model {t4 - t3:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
