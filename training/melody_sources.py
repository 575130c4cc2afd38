"""Melody + chord extraction from the real datasets in ``../shared/data`` (never copied into the repo).

Every extractor returns a record like the corpus ones in ``melody_data``: ``meter`` [num, den],
``key`` [tonic pc, mode], ``notes`` [[start tick, pitch, duration]] with bar lines at multiples of
the bar length from tick 0, plus ``chords`` [[start, end, chord class index]] (absolute pitch, the
``core.chords`` vocabulary), ``chord_source`` (where the chords come from), ``swing`` (the
estimated swing ratio: the position of the off-beat eighth inside the beat, 0.5 = straight) and
``group`` (the split is by group: the same tune in two sources or by two soloists goes to one split).

* WJD (``wjd``): solo notes (``csv_melody``) placed on the beat track of ``csv_beats`` (onsets in
  seconds -> fractional beats by linear interpolation between annotated beats), chords forward-filled
  from the beat rows (the WJD syntax: ``Bb6``, ``C-7``, ``Fsus7``, ``F-j7`` ...). Swing: the median
  position of the off-beat onsets (fraction of the beat in 0.5..0.75) of a solo whose rhythm feel is
  SWING; the grid is straightened with that ratio before snapping (see ``encoding.unswing``).
  ``jazz`` = every solo; ``blues`` = the solos whose ``harmony_template`` is Blues ("jazz solos over a
  blues form"); a blues solo is in *both* styles' candidate lists only as blues.
* POP909 (``pop909``): the MELODY track, ``beat_midi.txt`` (third column = downbeat) gives the bars
  (the files' own 1/4 or 2/4 time signatures are ignored), ``chord_midi.txt`` the chords (Harte).
* OpenEWLD (``ewld``): lead sheets tagged Jazz only (Pop/Rock tags come from later covers); melody
  notes and the ``ChordSymbol`` objects of the one part.
* OpenScore Lieder (``lieder``): the voice part (first part, or the one named Voice/Singstimme...),
  chords per beat inferred from the notes of the accompaniment parts (the vertical pitch sets that
  music21's ``chordify`` would give, scored with ``harmony.infer_chord_indices``).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

PPQ = 480


class Discard(Exception):
    pass


def norm_title(title: str) -> str:
    t = re.sub(r"\(.*?\)", "", title.lower())
    t = re.sub(r"[-_ ]*(\d+|alternate ?take.*|take ?\d+)$", "", t.strip())
    return re.sub(r"[^a-z0-9]", "", t)


def _chord_index(symbol: str) -> int | None:
    from gtzcomposer.core.chords import ChordError, chord_index, parse_symbol

    try:
        return chord_index(parse_symbol(symbol))
    except ChordError:
        m = re.match(r"^[A-G][#b]?(-|m)?", symbol.strip())
        if m:
            try:
                return chord_index(parse_symbol(m.group(0)))
            except ChordError:
                return None
        return None


def _key_from_text(text: str) -> tuple[int, str] | None:
    m = re.match(r"^([A-G])([#b]?)-(maj|min)", text or "")
    if not m:
        return None
    pc = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}[m.group(1)]
    pc += {"#": 1, "b": -1, "": 0}[m.group(2)]
    return pc % 12, "major" if m.group(3) == "maj" else "minor"


def unswing_fraction(f: np.ndarray, ratio: float) -> np.ndarray:
    """Fraction of the beat as notated (straight) for a played fraction under swing ``ratio``."""
    if ratio <= 0.5:
        return f
    return np.where(f < ratio, 0.5 * f / ratio, 0.5 + 0.5 * (f - ratio) / (1.0 - ratio))


def estimate_swing(fracs: np.ndarray) -> float:
    off = fracs[(fracs > 0.5) & (fracs < 0.75)]
    if len(off) < 20:
        return 0.5
    return float(np.clip(np.median(off), 0.5, 0.7))


def _beats_to_ticks(beats: np.ndarray, beat_ticks: int, swing: float) -> np.ndarray:
    whole = np.floor(beats)
    frac = unswing_fraction(beats - whole, swing)
    return np.round((whole + frac) * beat_ticks).astype(np.int64)


def _time_to_beats(times: np.ndarray, beat_times: np.ndarray) -> np.ndarray:
    idx = np.arange(len(beat_times), dtype=np.float64)
    out = np.interp(times, beat_times, idx)
    # beyond the last annotated beat: extrapolate with the last beat length
    last = beat_times[-1]
    step = beat_times[-1] - beat_times[-2] if len(beat_times) > 1 else 0.5
    after = times > last
    out[after] = idx[-1] + (times[after] - last) / step
    before = times < beat_times[0]
    step0 = beat_times[1] - beat_times[0] if len(beat_times) > 1 else 0.5
    out[before] = (times[before] - beat_times[0]) / step0
    return out


def _spans_from_changes(change_ticks: list[int], idxs: list[int], end_tick: int) -> list[list[int]]:
    out = []
    for i, (t, c) in enumerate(zip(change_ticks, idxs)):
        e = change_ticks[i + 1] if i + 1 < len(change_ticks) else end_tick
        if e > t and c is not None:
            if out and out[-1][2] == c and out[-1][1] == t:
                out[-1][1] = e
            else:
                out.append([int(t), int(e), int(c)])
    return out


# --- WJD -----------------------------------------------------------------------------------------
def wjd_tasks(root: Path) -> list[tuple]:
    """(id, style, 'wjd', payload) for every WJD solo with a melody and a beats file."""
    wjd = Path(root) / "wjd"
    files = {re.sub(r"[^a-z0-9]", "", f.name.lower().replace("_solo.csv", "")): f
             for f in (wjd / "csv" / "csv_melody").glob("*.csv")}
    tasks = []
    with open(wjd / "wjd_meta.csv", encoding="utf-8") as fh:
        for m in csv.DictReader(fh):
            stem = re.sub(r"[^a-z0-9]", "", m["filename_sv"].lower().replace("_final.sv", ""))
            f = files.get(stem)
            if f is None:
                continue
            beats = wjd / "csv" / "csv_beats" / f.name
            if not beats.exists():
                continue
            style = "blues" if m["harmony_template"].strip().lower() == "blues" else "jazz"
            payload = {"melody": str(f), "beats": str(beats), "key": m["key"], "signature": m["signature"],
                       "rhythmfeel": m["rhythmfeel"], "title": m["title"], "performer": m["performer"]}
            tasks.append((f"wjd/{f.stem}", style, "wjd", payload))
    return tasks


def parse_wjd(payload: dict) -> dict:
    with open(payload["beats"], encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    with open(payload["melody"], encoding="utf-8") as fh:
        mel = list(csv.DictReader(fh))
    if len(rows) < 8 or len(mel) < 12:
        raise Discard("too short")
    sig = payload["signature"] or next((r["signature"] for r in rows if r["signature"]), "4/4")
    sigs = {r["signature"] for r in rows if r["signature"]}
    if len(sigs) > 1:
        raise Discard("meter changes")
    num, den = (int(x) for x in sig.split("/"))
    if num * 4 % den and den not in (4, 8):
        raise Discard("odd meter")
    beat_times = np.array([float(r["onset"]) for r in rows])
    if np.any(np.diff(beat_times) <= 0):
        raise Discard("unparseable (beat times)")
    bars = [int(r["bar"]) for r in rows]
    beatno = [int(r["beat"]) for r in rows]
    # beat index of the downbeat of the first full bar (bar >= 0, beat 1); pickups before it
    first = next((i for i, (b, n) in enumerate(zip(bars, beatno)) if b >= 0 and n == 1), 0)
    offset = first - num * int(np.ceil(first / num)) if first > 0 else 0
    beat_ticks = PPQ * 4 // den
    onsets = np.array([float(r["onset"]) for r in mel])
    durs = np.array([float(r["duration"]) for r in mel])
    pitches = np.array([int(round(float(r["pitch"]))) for r in mel])
    b_on = _time_to_beats(onsets, beat_times) - offset
    b_off = _time_to_beats(onsets + durs, beat_times) - offset
    swing = 0.5
    if payload["rhythmfeel"].strip().upper().startswith("SWING"):
        swing = estimate_swing(b_on - np.floor(b_on))
    t_on = _beats_to_ticks(b_on, beat_ticks, swing)
    t_off = _beats_to_ticks(b_off, beat_ticks, swing)
    keep = t_on >= 0
    notes = [[int(a), int(p), int(max(1, b - a))] for a, b, p, k in zip(t_on, t_off, pitches, keep) if k]
    # chords: forward-filled from the beat rows
    changes, idxs = [], []
    for i, r in enumerate(rows):
        if r["chord"]:
            c = _chord_index(r["chord"])
            tick = (i - offset) * beat_ticks
            if tick < 0:
                continue
            changes.append(tick)
            idxs.append(c)
    end = (len(rows) - offset) * beat_ticks
    chords = _spans_from_changes(changes, idxs, end)
    key = _key_from_text(payload["key"])
    if key is None:
        from gtzcomposer.core import Note
        from gtzcomposer.ml.melody.encoding import estimate_key

        key = estimate_key([Note(start=a, pitch=p, duration=d) for a, p, d in notes])
    return {"meter": [num, den], "key": [key[0], key[1]], "notes": notes, "chords": chords,
            "chord_source": "WJD beat track", "swing": round(swing, 3),
            "group": f"tune/{norm_title(payload['title'])}", "chords_reduced": 0,
            "title": payload["title"], "performer": payload["performer"]}


# --- POP909 --------------------------------------------------------------------------------------
def pop909_tasks(root: Path) -> list[tuple]:
    songs = Path(root) / "pop909" / "songs"
    return [(f"pop909/{d.name}", "pop", "pop909", str(d)) for d in sorted(songs.iterdir())
            if (d / f"{d.name}.mid").exists() and (d / "beat_midi.txt").exists() and (d / "chord_midi.txt").exists()]


def parse_pop909(folder: str) -> dict:
    import pretty_midi

    d = Path(folder)
    beats = np.loadtxt(d / "beat_midi.txt", ndmin=2)
    if len(beats) < 16:
        raise Discard("too short")
    beat_times = beats[:, 0]
    down = np.flatnonzero(beats[:, 2] == 1)
    if len(down) < 4:
        raise Discard("unparseable (no downbeats)")
    spacing = np.diff(down)
    values, counts = np.unique(spacing, return_counts=True)
    num = int(values[counts.argmax()])
    if num not in (2, 3, 4, 6) or counts.max() < 0.9 * len(spacing):
        raise Discard("meter changes")
    offset = int(down[0]) - num * int(np.ceil(down[0] / num))  # beats before the first downbeat: a pickup
    beat_ticks = PPQ
    pm = pretty_midi.PrettyMIDI(str(d / f"{d.name}.mid"))
    mel = next((i for i in pm.instruments if i.name.strip().upper() == "MELODY"), None)
    if mel is None or len(mel.notes) < 12:
        raise Discard("no melody track")
    ns = sorted(mel.notes, key=lambda n: (n.start, n.pitch))
    on = _time_to_beats(np.array([n.start for n in ns]), beat_times) - offset
    off = _time_to_beats(np.array([n.end for n in ns]), beat_times) - offset
    t_on = _beats_to_ticks(on, beat_ticks, 0.5)
    t_off = _beats_to_ticks(off, beat_ticks, 0.5)
    notes = [[int(a), int(n.pitch), int(max(1, b - a))] for a, b, n in zip(t_on, t_off, ns) if a >= 0]
    changes, idxs = [], []
    ends = []
    with open(d / "chord_midi.txt", encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 3:
                continue
            s, e, label = float(parts[0]), float(parts[1]), parts[2]
            bs = _time_to_beats(np.array([s, e]), beat_times) - offset
            ts = np.round(bs * 2) / 2 * beat_ticks  # chord changes on the half beat
            if ts[1] <= 0:
                continue
            changes.append(int(max(0, ts[0])))
            idxs.append(_chord_index(label))
            ends.append(int(ts[1]))
    chords = _spans_from_changes(changes, idxs, ends[-1] if ends else 0)
    from gtzcomposer.core import Note
    from gtzcomposer.ml.melody.encoding import estimate_key

    tonic, mode = estimate_key([Note(start=a, pitch=p, duration=dd) for a, p, dd in notes])
    return {"meter": [num, 4], "key": [tonic, mode], "notes": notes, "chords": chords,
            "chord_source": "POP909 chord_midi.txt", "swing": 0.5, "group": f"pop909/{d.name}",
            "chords_reduced": 0}


# --- OpenEWLD ------------------------------------------------------------------------------------
def ewld_tasks(root: Path) -> list[tuple]:
    base = Path(root) / "openewld"
    tasks = []
    with open(base / "genre_labels.csv", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if r["discogs_genre"].strip() == "Jazz" and (base / r["path"]).exists():
                tasks.append((f"ewld/{Path(r['path']).stem}", "jazz", "ewld",
                              {"path": str(base / r["path"]), "title": r["title"]}))
    return tasks


def parse_ewld(payload: dict) -> dict:
    from music21 import converter, harmony

    from training.melody_data import _from_music21_part

    score = converter.parse(payload["path"])
    parts = list(score.parts)
    if not parts:
        raise Discard("unparseable (no part)")
    part = parts[0]
    measures = list(part.getElementsByClass("Measure"))
    pad = float(measures[0].paddingLeft) if measures else 0.0
    rec = _from_music21_part(part, skip_chord_symbols=True)
    syms = list(part.recurse().getElementsByClass(harmony.ChordSymbol))
    changes, idxs = [], []
    for cs in syms:
        if isinstance(cs, harmony.NoChord):
            idx = _chord_index("N")
        else:
            try:
                idx = _chord_index(f"{cs.root().name.replace('-', 'b')}:{cs.chordKind}")
            except Exception:  # noqa: BLE001 - a symbol music21 cannot root
                idx = None
            if idx is None:
                idx = _chord_index(cs.figure)
        changes.append(round((float(cs.getOffsetInHierarchy(part)) + pad) * PPQ))
        idxs.append(idx)
    order = np.argsort(changes, kind="stable")
    changes = [changes[i] for i in order]
    idxs = [idxs[i] for i in order]
    end = max((n[0] + n[2] for n in rec["notes"]), default=0)
    rec["chords"] = _spans_from_changes(changes, idxs, end)
    if not rec["chords"]:
        raise Discard("no chord symbols")
    rec.update(chord_source="OpenEWLD chord symbols", swing=0.5, group=f"tune/{norm_title(payload['title'])}")
    return rec


# --- OpenScore Lieder ----------------------------------------------------------------------------
def lieder_tasks(root: Path) -> list[tuple]:
    base = Path(root) / "openscore-lieder" / "scores"
    return [(f"lieder/{f.parent.relative_to(base).as_posix()}", "classical", "lieder", str(f))
            for f in sorted(base.rglob("*.mxl"))]


_VOICE = re.compile(r"voice|voix|singstimme|stimme|gesang|soprano|sopran|alto|tenor|bass|baritone|canto", re.I)


def parse_lieder(path: str) -> dict:
    from music21 import converter

    from training.melody_data import _from_music21_part

    score = converter.parse(path)
    parts = list(score.parts)
    if len(parts) < 2:
        raise Discard("no accompaniment")
    voice = next((p for p in parts if _VOICE.search(p.partName or "") and "piano" not in (p.partName or "").lower()),
                 parts[0])
    rec = _from_music21_part(voice)
    measures = list(voice.getElementsByClass("Measure"))
    pad = float(measures[0].paddingLeft) if measures else 0.0
    acc = [p for p in parts if p is not voice]
    starts, ends, pitches = [], [], []
    for p in acc:
        for n in p.flatten().notes:
            if n.duration.isGrace or n.quarterLength <= 0:
                continue
            s = round((float(n.offset) + pad) * PPQ)
            e = s + round(float(n.quarterLength) * PPQ)
            for pt in n.pitches:
                starts.append(s)
                ends.append(e)
                pitches.append(pt.midi)
    rec["chords"] = beat_chords(starts, ends, pitches, rec["meter"], max(ends, default=0))
    rec.update(chord_source="inferred per beat from the piano accompaniment", swing=0.5,
               group="lieder/" + Path(path).parent.as_posix().split("/scores/")[-1])
    return rec


def beat_chords(starts, ends, pitches, meter, end_tick: int) -> list[list[int]]:
    """Chord spans per beat inferred from accompaniment notes (merged where equal)."""
    from gtzcomposer.ml.melody.harmony import infer_chord_indices

    num, den = meter
    beat = PPQ * 4 // den
    if den == 8 and num in (6, 9, 12):
        beat *= 3
    spans = [(t, t + beat) for t in range(0, end_tick, beat)]
    idx = infer_chord_indices(starts, ends, pitches, spans)
    changes = [a for a, _ in spans]
    return _spans_from_changes(changes, idx, end_tick)


def melody_chords(notes: list, meter, end_tick: int | None = None) -> list[list[int]]:
    """Chords per bar inferred from the melody alone (styles whose sources have no harmony)."""
    from gtzcomposer.ml.melody.harmony import infer_chord_indices

    num, den = meter
    bar = num * PPQ * 4 // den
    end = end_tick or max(n[0] + n[2] for n in notes)
    spans = [(t, t + bar) for t in range(0, end, bar)]
    arr = np.array(notes, np.int64).reshape(-1, 3)
    idx = infer_chord_indices(arr[:, 0], arr[:, 0] + arr[:, 2], arr[:, 1], spans)
    return _spans_from_changes([a for a, _ in spans], idx, end)


def data_root() -> Path:
    """``../shared/data`` next to the repository (or GTZ_SHARED_DATA)."""
    import os

    env = os.environ.get("GTZ_SHARED_DATA")
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[1]
    for cand in (repo.parent / "shared" / "data", repo.parent / "wt" / "shared" / "data"):
        if cand.exists():
            return cand
    return repo.parent / "shared" / "data"
