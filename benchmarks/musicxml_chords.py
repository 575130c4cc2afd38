"""Figures for MusicXML chord symbols: how many OpenEWLD lead sheets come back from import ->
export -> import with the same Chords track (and how many as symbols only), and how long finding
the symbols of a long comping track takes.

    .venv/bin/python benchmarks/musicxml_chords.py [--songs N]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gtzcomposer.core import Note, Song, Track, new_track  # noqa: E402
from gtzcomposer.core.chords import chord_track_index, is_chord_track_name  # noqa: E402
from gtzcomposer.io.musicxml import MusicXMLError, chord_symbols, musicxml_to_song, song_to_musicxml  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "openewld" / "dataset"


def round_trips(n: int) -> None:
    files = sorted(DATA.glob("*/*/*.mxl"))[:n]
    exact = symbols_only = without = unreadable = 0
    failed, with_part = [], []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.musicxml"
        for f in files:
            try:
                first = musicxml_to_song(f)
            except MusicXMLError:
                unreadable += 1
                continue
            ci = chord_track_index(first)
            if ci is None:
                without += 1
                continue
            song_to_musicxml(first, out)
            again = musicxml_to_song(out)
            cj = chord_track_index(again)
            same = (cj is not None and again.tracks[cj].notes == first.tracks[ci].notes
                    and sum(is_chord_track_name(t.name) for t in again.tracks) == 1)
            exact += same
            if not same:
                failed.append(f.name)
            alone = len(ET.parse(out).getroot().findall("part")) == len(first.tracks) - 1
            symbols_only += alone
            if not alone:
                with_part.append(f.name)
    elapsed = time.perf_counter() - t0
    with_chords = len(files) - without - unreadable
    print(f"OpenEWLD, first {len(files)} lead sheets: {with_chords} with chord symbols, {without} without, "
          f"{unreadable} unreadable; same Chords track after export and import: {exact} of {with_chords} "
          f"({symbols_only} written as symbols only); {elapsed:.0f} s")
    for name in failed:
        print(f"  changed: {name}")
    for name in with_part:
        print(f"  written with its Chords part: {name}")


def long_comping() -> None:
    """Comping tracks of 100 and 400 bars (a chord every eighth, changing every half bar) against a
    melody: the time to find their symbols should grow with the length, not its square."""
    roots = [0, 9, 2, 7]
    for bars in (100, 400):
        notes = []
        for bar in range(bars):
            for k in range(8):
                root = roots[(bar * 2 + k // 4) % 4]
                notes += [Note(bar * 1920 + k * 240, 48 + root + iv, 200, 70) for iv in (0, 4, 7)]
        melody = tuple(Note(i * 480, 72, 480, 90) for i in range(4 * bars))
        song = Song(tracks=(Track(name="Melody", notes=melody), new_track(1, name="Chords", notes=tuple(notes))))
        t0 = time.perf_counter()
        symbols, how = chord_symbols(song, song.tracks[1])
        seconds = time.perf_counter() - t0
        print(f"chord symbols of a {bars}-bar comping track ({len(notes)} notes, {how}): {len(symbols)} symbols "
              f"in {seconds:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--songs", type=int, default=60, help="OpenEWLD lead sheets to round-trip")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    long_comping()
    if DATA.is_dir():
        round_trips(args.songs)
    else:
        print(f"{DATA} not found: no lead sheet figures")


if __name__ == "__main__":
    main()
