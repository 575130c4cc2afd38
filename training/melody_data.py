"""Melody dataset: music21 corpus (or a folder of MIDI files per genre) -> monophonic pieces with
honest style labels, split by piece, cached, plus an EDA report.

Styles from the music21 corpus (10.5):
  classical  soprano lines of the Bach chorales (corpus 'bach/bwv*')
  folk       Essen European collections (essenFolksong/*.abc except han*, irl and test*)
  chinese    Essen han1/han2
  irish      oneills1850 + ryansMammoth fiddle tunes (reels, jigs, hornpipes; Ryan's also holds
             some Scottish strathspeys, labelled by collection, not by tune)
  scottish   airdsAirs

A piece is kept as notes in ticks (PPQ 480) with bar lines at multiples of the bar length (a
pickup is padded so that its notes keep their position in the bar). Split by piece (a seeded
hash of the piece id: 80/10/10) before any windowing.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

STYLES = ("classical", "folk", "chinese", "irish", "scottish", "jazz", "blues", "pop")
CACHE_DIR = Path(__file__).resolve().parent / "cache"
REPORT_DIR = Path(__file__).resolve().parent / "reports" / "melody"
PPQ = 480
MIN_NOTES = 12
MIN_BARS = 2
MAX_CHORD_FRACTION = 0.2
DATA_VERSION = 3  # 2: chords, swing, split groups, WJD/POP909/OpenEWLD/Lieder; 3: every Lieder song a candidate

ESSEN_EXCLUDE = re.compile(r"^(han\d|irl|test)")


def _corpus_root() -> Path:
    import music21

    return Path(music21.__file__).resolve().parent / "corpus"


def _abc_tunes(path: Path) -> list[str]:
    text = path.read_text(encoding="latin-1")
    parts = re.split(r"\n(?=X:)", "\n" + text)
    return [p.strip() + "\n" for p in parts if p.startswith("X:")]


def corpus_tasks(max_per_style: int | None, seed: int) -> tuple[list[tuple], dict]:
    """(id, style, kind, payload) for each candidate piece, at most ``max_per_style`` per style
    (a seeded random choice when there are more)."""
    root = _corpus_root()
    by_style: dict[str, list[tuple]] = {s: [] for s in STYLES}
    for f in sorted((root / "essenFolksong").glob("*.abc")):
        if f.stem.startswith("han"):
            style = "chinese"
        elif ESSEN_EXCLUDE.match(f.stem):
            continue
        else:
            style = "folk"
        for i, t in enumerate(_abc_tunes(f)):
            by_style[style].append((f"essen/{f.stem}/{i}", style, "abc", t))
    for coll in ("oneills1850", "ryansMammoth"):
        for f in sorted((root / coll).glob("*.abc")):
            for i, t in enumerate(_abc_tunes(f)):
                by_style["irish"].append((f"{coll}/{f.stem}/{i}", "irish", "abc", t))
    for f in sorted((root / "airdsAirs").glob("*.abc")):
        for i, t in enumerate(_abc_tunes(f)):
            by_style["scottish"].append((f"airdsAirs/{f.stem}/{i}", "scottish", "abc", t))
    for f in sorted((root / "bach").glob("bwv*.mxl")):
        by_style["classical"].append((f"bach/{f.stem}", "classical", "bach", str(f)))
    from . import melody_sources as src

    root = src.data_root()
    for kind, fn in (("wjd", src.wjd_tasks), ("ewld", src.ewld_tasks), ("pop909", src.pop909_tasks),
                     ("lieder", src.lieder_tasks)):
        try:
            found = fn(root)
            for t in found:
                by_style[t[1]].append(t)
        except FileNotFoundError as exc:
            print(f"dataset: {kind} not found ({exc}); its styles get no pieces from it")
    available = {s: len(v) for s, v in by_style.items()}
    tasks = []
    rng = random.Random(seed)
    for style in STYLES:
        items = by_style[style]
        if max_per_style and len(items) > max_per_style:
            items = sorted(rng.sample(items, max_per_style), key=lambda t: t[0])
        tasks.extend(items)
    return tasks, available


def midi_tasks(midi_dir: Path) -> tuple[list[tuple], dict]:
    tasks = []
    for genre_dir in sorted(p for p in Path(midi_dir).iterdir() if p.is_dir()):
        for f in sorted(list(genre_dir.glob("*.mid")) + list(genre_dir.glob("*.midi"))):
            tasks.append((f"{genre_dir.name}/{f.name}", genre_dir.name, "midi", str(f)))
    return tasks, Counter(t[1] for t in tasks)


# --- parsing (runs in worker processes) ----------------------------------------------------------
def _from_music21_part(part, skip_chord_symbols: bool = True) -> dict:
    from music21 import chord, harmony

    sigs = list(part.recurse().getElementsByClass("TimeSignature"))
    ratios = {ts.ratioString for ts in sigs}
    if len(ratios) > 1:
        raise _Discard("meter changes")
    num, den = (sigs[0].numerator, sigs[0].denominator) if sigs else (4, 4)
    bar_ql = num * 4 / den
    if abs(bar_ql * 4 - round(bar_ql * 4)) > 1e-6:
        raise _Discard("odd meter")
    measures = list(part.getElementsByClass("Measure"))
    pad = float(measures[0].paddingLeft) if measures else 0.0
    stripped = part.stripTies()
    notes, chords = [], 0
    for n in stripped.flatten().notes:
        if isinstance(n, harmony.ChordSymbol):  # a chord symbol, not a sounding note
            continue
        if n.duration.isGrace or n.quarterLength <= 0:
            continue
        if isinstance(n, chord.Chord):
            chords += 1
            pitch = max(p.midi for p in n.pitches)
        else:
            pitch = n.pitch.midi
        start = round((float(n.offset) + pad) * PPQ)
        notes.append([start, int(pitch), round(float(n.quarterLength) * PPQ)])
    if notes and chords > MAX_CHORD_FRACTION * len(notes):
        raise _Discard("polyphonic")
    k = part.analyze("key")
    return {"meter": [num, den], "key": [int(k.tonic.pitchClass), str(k.mode) if k.mode in ("major", "minor") else "major"],
            "notes": notes, "chords_reduced": chords}


from .melody_sources import Discard as _Discard  # noqa: E402 - one discard type for every source


def _parse_task(task: tuple) -> tuple[str, dict | None, str]:
    pid, style, kind, payload = task
    try:
        if kind == "abc":
            from music21 import converter

            score = converter.parseData(payload, format="abc")
            parts = list(getattr(score, "parts", []))
            if len(parts) > 1:
                raise _Discard("polyphonic")
            rec = _from_music21_part(parts[0] if parts else score)
        elif kind == "bach":
            from music21 import converter

            score = converter.parse(payload)
            parts = list(score.parts)
            if len(parts) < 4:
                raise _Discard("not a four-part chorale")
            sop = next((p for p in parts if (p.partName or "").lower().startswith("soprano")), parts[0])
            rec = _from_music21_part(sop)
            rec.update(chords=_chorale_chords(sop, parts, rec["meter"]), chord_source="inferred per beat from the four voices")
        elif kind in ("wjd", "pop909", "ewld", "lieder"):
            from . import melody_sources as src

            rec = {"wjd": src.parse_wjd, "pop909": src.parse_pop909, "ewld": src.parse_ewld,
                   "lieder": src.parse_lieder}[kind](payload)
        else:
            rec = _from_midi(payload)
    except _Discard as exc:
        return pid, None, str(exc)
    except Exception as exc:  # noqa: BLE001 - any parser failure is a discard reason
        return pid, None, f"unparseable ({type(exc).__name__})"
    notes = rec["notes"]
    if len(notes) < MIN_NOTES:
        return pid, None, "too short"
    num, den = rec["meter"]
    bar_ticks = num * PPQ * 4 // den
    if max(n[0] + n[2] for n in notes) < MIN_BARS * bar_ticks:
        return pid, None, "too short"
    if "chords" not in rec:
        from .melody_sources import melody_chords

        rec.update(chords=melody_chords(notes, rec["meter"]), chord_source="inferred per bar from the melody")
    rec.setdefault("swing", 0.5)
    rec["group"] = task_group(task)
    rec.update(id=pid, style=style)
    return pid, rec, ""


def _chorale_chords(sop, parts, meter) -> list:
    from .melody_sources import beat_chords

    measures = list(sop.getElementsByClass("Measure"))
    pad = float(measures[0].paddingLeft) if measures else 0.0
    starts, ends, pitches = [], [], []
    for p in parts:
        for n in p.stripTies().flatten().notes:
            if n.duration.isGrace or n.quarterLength <= 0:
                continue
            s = round((float(n.offset) + pad) * PPQ)
            for pt in n.pitches:
                starts.append(s)
                ends.append(s + round(float(n.quarterLength) * PPQ))
                pitches.append(pt.midi)
    return beat_chords(starts, ends, pitches, meter, max(ends, default=0))


def _from_midi(path: str) -> dict:
    import pretty_midi

    from gtzcomposer.core import Note
    from gtzcomposer.core.transforms import top_line
    from gtzcomposer.ml.melody.encoding import estimate_key

    pm = pretty_midi.PrettyMIDI(path)
    tracks = [i for i in pm.instruments if not i.is_drum and i.notes]
    if not tracks:
        raise _Discard("no pitched notes")
    best = max(tracks, key=lambda i: sum(n.pitch for n in i.notes) / len(i.notes))
    scale = PPQ / pm.resolution
    raw = [Note(start=round(pm.time_to_tick(n.start) * scale), pitch=n.pitch,
                duration=max(0, round((pm.time_to_tick(n.end) - pm.time_to_tick(n.start)) * scale)))
           for n in best.notes]
    line = top_line(raw)
    ts = pm.time_signature_changes
    num, den = (ts[0].numerator, ts[0].denominator) if ts else (4, 4)
    if len({(t.numerator, t.denominator) for t in ts}) > 1:
        raise _Discard("meter changes")
    tonic, mode = estimate_key(line)
    if pm.key_signature_changes:
        k = pm.key_signature_changes[0].key_number
        tonic, mode = k % 12, "minor" if k >= 12 else "major"
    return {"meter": [num, den], "key": [tonic, mode], "notes": [[n.start, n.pitch, n.duration] for n in line],
            "chords_reduced": len(raw) - len(line)}


# --- build ---------------------------------------------------------------------------------------
def task_group(task: tuple) -> str:
    """The split group of a candidate, known before parsing: the normalised tune title for WJD
    solos and OpenEWLD lead sheets, the piece id otherwise."""
    pid, _style, kind, payload = task
    if kind in ("wjd", "ewld"):
        from .melody_sources import norm_title

        return f"tune/{norm_title(payload['title'])}"
    return pid


def split_of(piece_id: str, seed: int, fractions=(0.8, 0.1, 0.1)) -> str:
    """train/val/test for one piece, from a seeded hash of its id alone: the same piece always
    lands in the same split, whatever else is kept or discarded (tests rely on this)."""
    h = int(hashlib.sha1(f"{seed}:{piece_id}".encode()).hexdigest()[:12], 16) / 16**12
    return "test" if h < fractions[2] else "val" if h < fractions[2] + fractions[1] else "train"


def _split(records: list[dict], seed: int) -> None:
    """Split by group (the same tune, in any source or by any soloist, lands in one split)."""
    for r in records:
        r["split"] = split_of(r.get("group") or r["id"], seed)


def settings_hash(settings: dict) -> str:
    import music21

    blob = json.dumps({**settings, "music21": music21.__version__, "data_version": DATA_VERSION}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def build_dataset(max_per_style: int | None = 1500, seed: int = 0, midi_dir: str | None = None,
                  workers: int = 2, cache_dir: Path | None = None, log=print) -> dict:
    """Parse, filter and split the pieces; cached by a hash of the settings (+ music21 version,
    + the MIDI files' names/sizes/mtimes). Returns {"pieces": [...], "discarded": {...}, ...}."""
    settings = {"max_per_style": max_per_style, "seed": seed, "midi_dir": None}
    if midi_dir:
        files = sorted(Path(midi_dir).rglob("*.mid*"))
        settings["midi_dir"] = [[str(f.relative_to(midi_dir)), f.stat().st_size, int(f.stat().st_mtime)] for f in files]
    key = settings_hash(settings)
    cache_dir = Path(cache_dir) if cache_dir is not None else CACHE_DIR
    cache = Path(cache_dir) / f"melody_data_{key}.json.gz"
    if cache.exists():
        with gzip.open(cache, "rt", encoding="utf-8") as f:
            data = json.load(f)
        _split(data["pieces"], seed)
        log(f"dataset: {len(data['pieces'])} pieces from cache {cache.name}")
        return data
    t0 = time.time()
    if midi_dir:
        tasks, available = midi_tasks(Path(midi_dir))
    else:
        tasks, available = corpus_tasks(max_per_style, seed)
    log(f"dataset: parsing {len(tasks)} pieces with {workers} processes ...")
    results = []
    if workers > 1 and len(tasks) > 20:
        with ProcessPoolExecutor(workers) as pool:
            for i, r in enumerate(pool.map(_parse_task, tasks, chunksize=16)):
                results.append(r)
                if (i + 1) % 500 == 0:
                    log(f"  {i + 1}/{len(tasks)}  {time.time() - t0:.0f} s")
    else:
        results = [_parse_task(t) for t in tasks]
    records, discarded = [], Counter()
    discarded_by_style: dict[str, Counter] = {}
    style_of = {t[0]: t[1] for t in tasks}
    for pid, rec, reason in results:
        if rec is None:
            discarded[reason] += 1
            discarded_by_style.setdefault(style_of[pid], Counter())[reason] += 1
        else:
            records.append(rec)
    _split(records, seed)
    data = {
        "settings": settings if not midi_dir else {**settings, "midi_dir": str(midi_dir)},
        "hash": key,
        "styles": sorted({r["style"] for r in records}, key=lambda s: (STYLES.index(s) if s in STYLES else 99, s)),
        "available": dict(available),
        "discarded": dict(discarded),
        "discarded_by_style": {s: dict(c) for s, c in discarded_by_style.items()},
        "parse_seconds": round(time.time() - t0, 1),
        "pieces": records,
    }
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        json.dump(data, f)
    tmp.replace(cache)
    log(f"dataset: kept {len(records)}, discarded {sum(discarded.values())} {dict(discarded)} in {data['parse_seconds']} s")
    return data


# --- EDA -----------------------------------------------------------------------------------------
def write_eda(data: dict, out_dir: Path = REPORT_DIR) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from gtzcomposer.core.song import PITCH_CLASS_NAMES
    from gtzcomposer.ml.melody.encoding import STEP, key_shift

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    styles = data["styles"]
    pieces = data["pieces"]
    per = {s: [p for p in pieces if p["style"] == s] for s in styles}
    rows = []
    for s in styles:
        ps = per[s]
        n_notes = sum(len(p["notes"]) for p in ps)
        splits = Counter(p["split"] for p in ps)
        pitches = [n[1] for p in ps for n in p["notes"]]
        off_grid = sum(1 for p in ps for n in p["notes"] if n[0] % STEP or n[2] % STEP)
        rows.append((s, len(ps), splits["train"], splits["val"], splits["test"], n_notes,
                     min(pitches), max(pitches), 100 * off_grid / max(1, n_notes)))

    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    ax[0].bar(styles, [r[1] for r in rows])
    ax[0].set_title("pieces per style")
    ax[1].bar(styles, [r[5] for r in rows], color="tab:orange")
    ax[1].set_title("notes per style")
    fig.tight_layout()
    fig.savefig(out_dir / "pieces_notes.png", dpi=80)
    plt.close(fig)

    def grid_plot(name, title, fn, xlabels=None):
        fig, axes = plt.subplots(1, len(styles), figsize=(3 * len(styles), 2.8), sharey=False)
        for a, s in zip(np.atleast_1d(axes), styles):
            x, y = fn(per[s])
            a.bar(x, y, width=0.8)
            a.set_title(s)
            if xlabels is not None:
                a.set_xticks(range(len(xlabels)))
                a.set_xticklabels(xlabels, fontsize=6, rotation=90)
        fig.suptitle(title)
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=80)
        plt.close(fig)

    def pitch_hist(ps):
        h = np.bincount([n[1] for p in ps for n in p["notes"]], minlength=128)
        return np.arange(128)[30:100], h[30:100] / max(1, h.sum())

    def pc_hist(ps):
        h = np.bincount([(n[1] + key_shift(p["key"][0])) % 12 for p in ps for n in p["notes"]], minlength=12)
        return np.arange(12), h / max(1, h.sum())

    def iv_hist(ps):
        iv = [int(np.clip(b[1] - a[1], -12, 12)) + 12 for p in ps for a, b in zip(p["notes"], p["notes"][1:])]
        h = np.bincount(iv, minlength=25)
        return np.arange(-12, 13), h / max(1, h.sum())

    def len_hist(ps):
        lens = [min(32, max(1, round(n[2] / STEP))) for p in ps for n in p["notes"]]
        h = np.bincount(lens, minlength=33)
        return np.arange(33), h / max(1, h.sum())

    grid_plot("pitch_range.png", "pitch (MIDI) distribution", pitch_hist)
    grid_plot("pitch_classes.png", "pitch classes relative to the tonic (key-normalised)", pc_hist, list(PITCH_CLASS_NAMES))
    grid_plot("intervals.png", "melodic intervals (semitones, clipped to +-12)", iv_hist)
    grid_plot("note_lengths.png", "note lengths (16ths)", len_hist)

    meters = {s: Counter(f"{p['meter'][0]}/{p['meter'][1]}" for p in per[s]) for s in styles}
    keys = {s: Counter(f"{PITCH_CLASS_NAMES[p['key'][0]]} {p['key'][1]}" for p in per[s]) for s in styles}
    modes = {s: Counter(p["key"][1] for p in per[s]) for s in styles}
    all_meters = [m for m, _ in Counter(m for c in meters.values() for m in c.elements()).most_common(8)]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    w = 0.8 / len(styles)
    for i, s in enumerate(styles):
        ax.bar(np.arange(len(all_meters)) + i * w, [meters[s][m] for m in all_meters], width=w, label=s)
    ax.set_xticks(np.arange(len(all_meters)) + 0.4 - w / 2)
    ax.set_xticklabels(all_meters)
    ax.legend(fontsize=7)
    ax.set_title("meters")
    fig.tight_layout()
    fig.savefig(out_dir / "meters.png", dpi=80)
    plt.close(fig)

    lines = [
        "# Melody dataset: exploratory report",
        "",
        f"Generated by `python -m training melody --data-only` (dataset hash `{data['hash']}`, "
        f"settings `{json.dumps(data['settings']) if not isinstance(data['settings'].get('midi_dir'), list) else 'midi'}`).",
        f"Parsing took {data['parse_seconds']} s (2 processes) when the cache was built.",
        "",
        "## Pieces per style and split (split by group: the tune title for WJD and OpenEWLD, the piece "
        "otherwise; seeded 80/10/10)",
        "",
        "| style | pieces | train | val | test | notes | lowest | highest | notes off the 16th grid (%) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]} | {r[4]} | {r[5]} | {r[6]} | {r[7]} | {r[8]:.2f} |")
    lines += ["", "The WJD and POP909 notes are performances placed on annotated beats, not notation: most of their "
              "onsets lie between grid points and the encoder snaps them to the nearest 16th (after straightening "
              "the swing)."]
    lines += ["", "Candidates available in the corpus (before the per-style cap): "
              + ", ".join(f"{k} {v}" for k, v in data["available"].items()), ""]
    lines += ["## Discarded pieces", "", "| style | reason | pieces |", "|---|---|---|"]
    for s, c in data["discarded_by_style"].items():
        for reason, n in sorted(c.items()):
            lines.append(f"| {s} | {reason} | {n} |")
    chords = sum(p.get("chords_reduced", 0) for p in pieces)
    lines += ["", f"Chords inside kept melodies reduced to their top note: {chords}.", ""]
    lines += ["## Meters, modes and keys", "", "| style | meters | modes | most common keys |", "|---|---|---|---|"]
    for s in styles:
        lines.append(f"| {s} | {', '.join(f'{m} {n}' for m, n in meters[s].most_common(5))} | "
                     f"{', '.join(f'{m} {n}' for m, n in modes[s].most_common())} | "
                     f"{', '.join(f'{k} {n}' for k, n in keys[s].most_common(4))} |")
    # chords and swing (encoder v2)
    from gtzcomposer.core.chords import QUALITY_NAMES

    lines += ["", "## Chords", "",
              "Chord source per style, share of the melody's time under a chord, chord changes per bar, and the "
              "most common qualities (time-weighted).", "",
              "| style | chord source | time under a chord | changes per bar | qualities |", "|---|---|---|---|---|"]
    qual_share = {}
    for s in styles:
        covered = total_t = changes = bars = 0
        q = Counter()
        for p in per[s]:
            num, den = p["meter"]
            bar_t = num * 1920 // den
            end = max(n[0] + n[2] for n in p["notes"])
            total_t += end
            bars += max(1, end // bar_t)
            for a, b, c in p.get("chords", []):
                if c != 168:
                    covered += b - a
                    q[QUALITY_NAMES[c // 12]] += b - a
            changes += len(p.get("chords", []))
        src_names = Counter(p.get("chord_source", "?") for p in per[s])
        tot_q = sum(q.values()) or 1
        qual_share[s] = {k: v / tot_q for k, v in q.items()}
        lines.append(f"| {s} | {'; '.join(f'{k} ({v})' for k, v in src_names.most_common())} | "
                     f"{100 * covered / max(1, total_t):.0f} % | {changes / max(1, bars):.2f} | "
                     + ", ".join(f"{k} {100 * v / tot_q:.0f} %" for k, v in q.most_common(5)) + " |")
    fig, ax = plt.subplots(figsize=(10, 3.5))
    w = 0.8 / len(styles)
    for i, s in enumerate(styles):
        ax.bar(np.arange(len(QUALITY_NAMES)) + i * w, [qual_share[s].get(k, 0) for k in QUALITY_NAMES], width=w, label=s)
    ax.set_xticks(np.arange(len(QUALITY_NAMES)) + 0.4 - w / 2)
    ax.set_xticklabels(QUALITY_NAMES, fontsize=7)
    ax.legend(fontsize=6)
    ax.set_title("chord qualities (share of chord time)")
    fig.tight_layout()
    fig.savefig(out_dir / "chord_qualities.png", dpi=80)
    plt.close(fig)
    lines += ["", "## Swing", "",
              "Estimated swing ratio per piece (position of the off-beat eighth in the beat, 0.5 = straight; "
              "only WJD solos whose rhythm feel is SWING are estimated, from the median off-beat onset). The "
              "pieces are stored straightened; jazz and blues continuations are swung with the style's median.", "",
              "| style | swung pieces | median ratio | range |", "|---|---|---|---|"]
    for s in styles:
        sw = [p.get("swing", 0.5) for p in per[s] if p.get("swing", 0.5) > 0.5]
        if sw:
            lines.append(f"| {s} | {len(sw)} of {len(per[s])} | {np.median(sw):.3f} | {min(sw):.2f}-{max(sw):.2f} |")
        else:
            lines.append(f"| {s} | 0 of {len(per[s])} | 0.5 (straight) | |")
    lines += ["", "## Plots", ""]
    for name, title in (("pieces_notes.png", "pieces and notes per style"), ("pitch_range.png", "pitch range"),
                        ("pitch_classes.png", "pitch classes (key-normalised)"), ("intervals.png", "intervals"),
                        ("note_lengths.png", "note lengths"), ("meters.png", "meters"),
                        ("chord_qualities.png", "chord qualities")):
        lines.append(f"![{title}]({name})")
    path = out_dir / "data.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
