"""Human drums from the Groove MIDI Dataset (GMD, CC BY 4.0): bars of real performances, per style,
with the drummers' own velocities and timing, placed on the song's bars.

The bank (``models/band_drums.json.gz`` + card ``models/band_drums.json``) is derived data made by
``python -m training band-drums`` from the GMD train split: each performance cut into 4/4 bars
(the bar phase found from where kick and snare fall), onsets kept as ticks at 480 per quarter
relative to the bar line (negative = played ahead of it), TD-11 edge/bow notes mapped to General
MIDI drum notes; fill bars taken from GMD's fill takes (the bar with most toms and snare).

Choosing bars (decisions):

* one performance per variation, its bars played in order (a drummer's groove develops; cutting
  bars from many takes would sound like a loop library), starting at a seeded bar;
* performances whose tempo is nearest the song's are preferred (swing and feel depend on tempo):
  the seeded choice is among the nearest third (at least 3);
* a fill from the same style (the same drummer when possible) replaces the last bar of every
  4-bar phrase of the song and the last bar of the band;
* timing scales with the bar (``bar_ticks / 1920``), so the feel stays the drummer's in beats.
"""

from __future__ import annotations

import gzip
import json
import math
import random
import threading
from collections.abc import Sequence
from pathlib import Path

BANK_NAME = "band_drums"
BANK_SCHEMA = 1
BANK_PPQ = 480
BANK_BAR = 4 * BANK_PPQ
# Roland TD-11 notes in GMD that General MIDI names differently -> the GM drum note
GMD_TO_GM = {22: 42, 26: 46, 58: 43}

_lock = threading.Lock()
_cache: dict[str, dict | None] = {}


def bank_path(models_dir: str | Path | None = None) -> Path:
    from ...resources import models_dir as default_dir

    return Path(models_dir or default_dir()) / f"{BANK_NAME}.json.gz"


def load_bank(models_dir: str | Path | None = None) -> dict | None:
    """The drum bank, or ``None`` when it is not installed (the band then plays MMA's drums)."""
    path = bank_path(models_dir)
    key = str(path)
    with _lock:
        if key not in _cache:
            if not path.exists():
                _cache[key] = None
            else:
                with gzip.open(path, "rt", encoding="utf-8") as fh:
                    data = json.load(fh)
                _cache[key] = data if data.get("schema") == BANK_SCHEMA else None
        return _cache[key]


def bank_styles(bank: dict | None) -> set[str]:
    return set(bank["styles"]) if bank else set()


def choose_bars(bank: dict, style: str, n_bars: int, fill_at: Sequence[bool], tempo_bpm: float,
                rng: random.Random) -> tuple[list[list[list[int]]], str]:
    """``n_bars`` bars (each a list of ``[onset, pitch, velocity, duration]`` at 480 PPQ from the bar
    line) for ``style``; ``fill_at[i]`` asks for a fill in bar i. Returns the bars and a source name."""
    entry = bank["styles"][style]
    beats = entry["beats"]
    ranked = sorted(beats, key=lambda p: (abs(math.log(p["bpm"] / max(tempo_bpm, 1.0))), p["id"]))
    pool = ranked[:max(3, len(ranked) // 3)]
    perf = pool[rng.randrange(len(pool))]
    bars = perf["bars"]
    first = rng.randrange(len(bars))
    fills = entry.get("fills") or []
    same = [f for f in fills if f.get("drummer") == perf.get("drummer")] or fills
    out = []
    for i in range(n_bars):
        if fill_at[i] and same:
            out.append(same[rng.randrange(len(same))]["bar"])
        else:
            out.append(bars[(first + i) % len(bars)])
    return out, f"GMD {perf['id']} ({perf['bpm']} bpm)"
