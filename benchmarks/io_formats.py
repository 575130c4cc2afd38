"""Figures for the file formats: speed of MIDI/MusicXML/.gtzc on a large song, and the outcome
of fuzzing the MIDI reader with deliberately mutated files.

    /work/venv/bin/python benchmarks/io_formats.py [--fuzz N]
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gtzcomposer.io import (  # noqa: E402
    MidiError,
    Project,
    load_project,
    midi_to_song,
    musicxml_to_song,
    save_project,
    song_to_midi_bytes,
    song_to_musicxml,
)
from tests.helpers import random_song  # noqa: E402
from tests.io.test_midi_errors import _seeds, mutate  # noqa: E402


def timed(fn, repeat=3):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fuzz", type=int, default=10_000, help="mutated MIDI files to try")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    big = random_song(1, n_tracks=8, n_notes=2500)  # 20,000 notes with overlaps and zero lengths
    t_write, data = timed(lambda: song_to_midi_bytes(big))
    t_read, back = timed(lambda: midi_to_song(data))
    print(f"MIDI, {big.note_count} notes: write {t_write * 1000:.0f} ms, read {t_read * 1000:.0f} ms "
          f"({len(data) / 1e6 / t_read:.2f} MB/s), file {len(data) / 1024:.0f} KB, round trip exact: {back == big}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.gtzc"
        t_save, _ = timed(lambda: save_project(Project(song=big), path))
        t_load, project = timed(lambda: load_project(path))
        print(f".gtzc, {big.note_count} notes: save {t_save * 1000:.0f} ms, load {t_load * 1000:.0f} ms, "
              f"file {path.stat().st_size / 1024:.0f} KB, round trip exact: {project.song == big}")
        small = random_song(2, n_tracks=2, n_notes=500)
        xml = Path(tmp) / "small.musicxml"
        t_xw, notes = timed(lambda: song_to_musicxml(small, xml), repeat=1)
        t_xr, _ = timed(lambda: musicxml_to_song(xml), repeat=1)
        print(f"MusicXML, {small.note_count} unquantised notes: write {t_xw:.2f} s, read {t_xr:.2f} s, "
              f"{len(notes)} notes for the user")

    rng = random.Random(1)
    seeds = _seeds()
    counts = {"song": 0, "MidiError": 0, "other": 0}
    t0 = time.perf_counter()
    for i in range(args.fuzz):
        _kind, mutated = mutate(seeds[i % len(seeds)], rng)
        try:
            midi_to_song(io.BytesIO(mutated))
            counts["song"] += 1
        except MidiError:
            counts["MidiError"] += 1
        except Exception as exc:  # noqa: BLE001
            counts["other"] += 1
            print(f"  case {i}: {type(exc).__name__}: {exc}")
    elapsed = time.perf_counter() - t0
    print(f"MIDI fuzz: {args.fuzz} mutated files in {elapsed:.1f} s: {counts['song']} read as songs, "
          f"{counts['MidiError']} MidiError, {counts['other']} other exceptions")


if __name__ == "__main__":
    main()
