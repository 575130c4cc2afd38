"""python -m training band-drums  -> models/band_drums.json.gz + card models/band_drums.json
python -m training band-eval    -> genre classifier on GMD grooves, recognition of the band's drums

``band-drums`` cuts the Groove MIDI Dataset (``--gmd``, default ``../shared/data/groove-midi/groove``)
into bars for the GTZAN genres it has a style for (see ``gtzcomposer.ml.band.styles.GMD_STYLES``):

* beat takes of the train and validation splits (never test), 4/4 only; bar phase: the downbeat offset (0-3 beats) where kick
  on beats 1/3 and snare on 2/4 score highest; the first bar is skipped (count-in, pickups);
  at most ``MAX_BARS`` bars per take, at most ``MAX_TAKES`` takes per style (a seeded choice);
* a note belongs to the bar whose line it is nearest to within a 32nd (early hits stay in the
  bar they lead into, with a negative onset);
* fill takes (same splits): the bar with the most tom and snare hits.

``band-eval`` trains a random-forest genre classifier (scikit-learn, seeded; a numpy softmax
regression as its baseline) on 2-bar groove features of the GMD *train* split (styles of the
GTZAN genres), chooses its depth on the *validation* split, reports accuracy on the *test* split, then how
often the band's drums per genre (GMD bank = train + validation takes, so partly seen material; and
MMA's own groove drums, unseen) are recognised as their genre.
"""

from __future__ import annotations

import csv
import gzip
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

DEFAULT_GMD = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "groove-midi" / "groove"
MAX_BARS = 16
MAX_TAKES = 40
MAX_FILLS = 40
TOMS = {41, 43, 45, 47, 48, 50, 58}
SNARES = {37, 38, 40}
KICK = 36


def register(sub) -> None:
    p = sub.add_parser("band-drums", help="cut GMD drum takes into bars per style -> models/band_drums.json.gz")
    p.add_argument("--gmd", default=None, help="the GMD groove/ folder (with info.csv)")
    p.add_argument("--out", default=None, help="models folder (default: the repository's models/)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=run_drums)
    e = sub.add_parser("band-eval", help="genre classifier on GMD grooves; how the band's drums are recognised")
    e.add_argument("--gmd", default=None)
    e.add_argument("--out", default=None, help="models folder whose band_drums card gets the results")
    e.add_argument("--seed", type=int, default=0)
    e.set_defaults(func=run_eval)


def _gmd(args) -> Path:
    root = Path(args.gmd) if args.gmd else DEFAULT_GMD
    if not (root / "info.csv").exists():
        raise SystemExit(f"GMD not found: {root / 'info.csv'} (pass --gmd DIR, the dataset's groove/ folder)")
    return root


def _models(args) -> Path:
    return Path(args.out) if args.out else Path(__file__).resolve().parent.parent / "models"


def read_take(path: Path) -> tuple[int, list[tuple[float, int, int, float]]]:
    """(bpm, notes as (onset in beats, pitch, velocity, duration in beats))."""
    import mido

    mid = mido.MidiFile(str(path))
    tpb = mid.ticks_per_beat
    tick, notes, open_ = 0, [], {}
    uspq = 500000
    for msg in mido.merge_tracks(mid.tracks):
        tick += msg.time
        if msg.type == "set_tempo" and not notes:
            uspq = msg.tempo
        if msg.type == "note_on" and msg.velocity > 0:
            open_[msg.note] = len(notes)
            notes.append([tick / tpb, msg.note, msg.velocity, 0.05])
        elif msg.type in ("note_off", "note_on") and msg.note in open_:
            i = open_.pop(msg.note)
            notes[i][3] = max(0.02, tick / tpb - notes[i][0])
    return round(60e6 / uspq), [tuple(n) for n in notes]


def bar_phase(notes) -> int:
    """Downbeat offset in beats (0..3) where kick falls on 1/3 and snare on 2/4 most."""
    best, best_score = 0, -1.0
    for phase in range(4):
        score = 0.0
        for t, p, v, _ in notes:
            beat = round(t - phase)
            if abs(t - phase - beat) > 0.15:
                continue
            pos = beat % 4
            if p == KICK:
                score += v * (1.0 if pos in (0, 2) else -0.3)
            elif p in SNARES:
                score += v * (1.0 if pos in (1, 3) else -0.3)
        if score > best_score:
            best, best_score = phase, score
    return best


def cut_bars(notes, phase: int, keep_last: bool = False) -> list[list[list[int]]]:
    """Bars of ``[onset ticks @480 from the bar line, pitch, velocity, duration ticks]``."""
    bars: dict[int, list[list[int]]] = defaultdict(list)
    for t, p, v, d in notes:
        x = (t - phase) / 4.0  # in bars
        index = int((x + 1 / 32) // 1)
        if index < 0:
            continue
        onset = round((x - index) * 1920)
        bars[index].append([onset, int(p), int(v), max(1, min(240, round(d * 480)))])
    if not bars:
        return []
    last = max(bars)
    return [sorted(bars.get(i, [])) for i in range(last + keep_last)]  # the last bar is partial


def fill_score(bar) -> float:
    return sum(1.0 for _, p, _, _ in bar if p in TOMS) + 0.5 * sum(1.0 for _, p, _, _ in bar if p in SNARES)


def build_bank(root: Path, rows, wanted, splits, rng: random.Random):
    """The bank's ``styles`` entry (and counts) from the takes of ``splits``."""
    styles: dict[str, dict] = {}
    counts = {}
    for style in wanted:
        beats, fills = [], []
        for r in rows:
            if r["style"].split("/")[0] != style or r["time_signature"] != "4-4" or r["split"] not in splits:
                continue
            bpm, notes = read_take(root / r["midi_filename"])
            bars = cut_bars(notes, bar_phase(notes), keep_last=r["beat_type"] == "fill")
            if r["beat_type"] == "beat":
                bars = [b for b in bars[1:] if len(b) >= 4][:MAX_BARS]
                if len(bars) >= 2:
                    beats.append({"id": r["id"], "drummer": r["drummer"], "style": r["style"], "bpm": bpm,
                                  "bars": bars})
            else:
                scored = [b for b in bars if len(b) >= 4]
                if scored:
                    fills.append({"id": r["id"], "drummer": r["drummer"], "bpm": bpm,
                                  "bar": max(scored, key=fill_score)})
        rng.shuffle(beats)
        rng.shuffle(fills)
        beats, fills = sorted(beats[:MAX_TAKES], key=lambda b: b["id"]), sorted(fills[:MAX_FILLS], key=lambda b: b["id"])
        if beats:
            styles[style] = {"beats": beats, "fills": fills}
            counts[style] = {"takes": len(beats), "bars": sum(len(b["bars"]) for b in beats), "fills": len(fills)}
    return styles, counts


def run_drums(args) -> int:
    from gtzcomposer.ml.band.drums import BANK_NAME, BANK_SCHEMA
    from gtzcomposer.ml.band.styles import GMD_STYLES

    root = _gmd(args)
    rows = list(csv.DictReader((root / "info.csv").open(encoding="utf-8")))
    styles, counts = build_bank(root, rows, sorted(set(GMD_STYLES.values())), ("train", "validation"),
                                random.Random(args.seed))
    out = _models(args)
    out.mkdir(parents=True, exist_ok=True)
    data = {"schema": BANK_SCHEMA, "ppq": 480, "styles": styles}
    path = out / f"{BANK_NAME}.json.gz"
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as fh:
        json.dump(data, fh, separators=(",", ":"))
    # keep the gzip byte-stable across runs: no file name / mtime in the header
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    card_path = out / f"{BANK_NAME}.json"
    card = {}  # a new bank makes the old evaluation stale: run band-eval again
    card.update({
        "name": BANK_NAME, "version": "1", "schema": BANK_SCHEMA, "file": f"{BANK_NAME}.json.gz",
        "task": "human drum bars per style for the band (derived data from the Groove MIDI Dataset, no model)",
        "command": "python -m training band-drums [--gmd ../shared/data/groove-midi/groove]",
        "source": "Groove MIDI Dataset (Gillick, Roberts, Engel, Eck, Bamman, ICML 2019), Google Magenta",
        "licence": "CC BY 4.0 (attribution: Groove MIDI Dataset, Google Magenta)",
        "split": "train and validation splits (info.csv 'split' column); no test-split take is in the bank",
        "selection": (f"4/4 beat takes, first bar skipped, up to {MAX_BARS} bars per take, up to {MAX_TAKES} takes "
                      f"and {MAX_FILLS} fill bars per style, seeded choice (seed {args.seed})"),
        "styles": counts,
    })
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    for s, c in counts.items():
        print(f"{s:8s} {c['takes']:3d} takes {c['bars']:4d} bars {c['fills']:3d} fills")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB) and {card_path}")
    return 0


# ---------------------------------------------------------------------------------------------
def run_eval(args) -> int:
    import numpy as np

    from gtzcomposer.ml.band.styles import GMD_STYLES

    genre_of_gmd = {v: k for k, v in GMD_STYLES.items()}

    root = _gmd(args)
    rows = list(csv.DictReader((root / "info.csv").open(encoding="utf-8")))
    data = {"train": ([], []), "validation": ([], []), "test": ([], [])}
    for r in rows:
        style = r["style"].split("/")[0]
        if style not in genre_of_gmd or r["time_signature"] != "4-4" or r["beat_type"] != "beat":
            continue
        split = r["split"]
        _, notes = read_take(root / r["midi_filename"])
        bars = cut_bars(notes, bar_phase(notes))[1:]
        for i in range(0, len(bars) - 1, 2):  # 2-bar windows
            two = bars[i] + [[o + 1920, p, v, d] for o, p, v, d in bars[i + 1]]
            if len(two) >= 8:
                data[split][0].append(groove_features(two, 3840))
                data[split][1].append(genre_of_gmd[style])
    labels = sorted(set(data["train"][1]))
    xtr = np.array(data["train"][0], np.float32)
    ytr = np.array([labels.index(y) for y in data["train"][1]])
    # the classifier: a random forest (depth chosen on the validation split, balanced accuracy;
    # classes weighted by inverse frequency); a softmax regression as the baseline beside it
    from sklearn.ensemble import RandomForestClassifier

    xva = np.array(data["validation"][0], np.float32)
    yva = np.array([labels.index(y) for y in data["validation"][1]])

    def balanced(pred, y):
        return float(np.mean([np.mean(pred[y == i] == i) for i in range(len(labels)) if np.any(y == i)]))

    best = None
    for depth in (6, 8, 12):
        m = RandomForestClassifier(n_estimators=300, max_depth=depth, class_weight="balanced",
                                   random_state=args.seed, n_jobs=1).fit(xtr, ytr)
        bal = balanced(m.predict(xva), yva)
        print(f"forest depth {depth}: validation balanced accuracy {bal:.3f}")
        if best is None or bal > best[0]:
            best = (bal, depth, m)
    _, depth, model = best
    softmax = train_softmax(xtr, ytr, len(labels), seed=args.seed, l2=0.3)
    xte = np.array(data["test"][0], np.float32)
    yte = np.array([labels.index(y) for y in data["test"][1]])
    pred = model.predict(xte)
    softmax_acc = float(np.mean(softmax.predict(xte) == yte))
    per_real = {g: float(np.mean(pred[yte == i] == i)) if np.any(yte == i) else None for i, g in enumerate(labels)}
    n_real = Counter(data["test"][1])
    print(f"held-out accuracy {float(np.mean(pred == yte)):.3f} (balanced {balanced(pred, yte):.3f}) on {len(yte)} "
          f"two-bar windows; softmax baseline {softmax_acc:.3f}")

    # the band's drums made from held-out (test-split) takes: what the band's processing (bars cut,
    # re-timed to the song, fills at phrase ends) keeps of a genre the classifier has not seen played so
    from gtzcomposer.ml.band.drums import BANK_SCHEMA

    test_styles, _ = build_bank(root, rows, sorted(set(GMD_STYLES.values())), ("test",), random.Random(args.seed))
    gen = _generated_windows(labels, {"schema": BANK_SCHEMA, "ppq": 480, "styles": test_styles})
    results = {}
    for source, per_genre in gen.items():
        for g, windows in per_genre.items():
            if not windows:
                continue
            p = model.predict(np.array([groove_features(w, 3840) for w in windows], np.float32))
            results.setdefault(g, {})[source] = round(float(np.mean(p == labels.index(g))), 3)
    table = []
    for g in labels:
        row = {"genre": g, "real_test": None if per_real[g] is None else round(per_real[g], 3),
               "real_test_windows": n_real.get(g, 0), **results.get(g, {})}
        table.append(row)
        print(row)
    out = _models(args)
    card_path = out / "band_drums.json"
    card = json.loads(card_path.read_text(encoding="utf-8")) if card_path.exists() else {}
    card["evaluation"] = {
        "command": "python -m training band-eval",
        "classifier": ("random forest (300 trees, scikit-learn, seeded, balanced class weights) on 2-bar groove "
                       "features (onset grid per drum class, velocity, position in the beat, micro-timing, density), "
                       "trained on GMD train-split beat takes of these genres, depth chosen on the validation split"),
        "chance": round(1 / len(labels), 3),
        "max_depth": depth, "train_windows": int(len(ytr)), "validation_windows": int(len(yva)),
        "held_out_accuracy": round(float(np.mean(pred == yte)), 3),
        "held_out_balanced_accuracy": round(balanced(pred, yte), 3),
        "softmax_baseline_held_out_accuracy": round(softmax_acc, 3),
        "per_genre": table,
        "note": ("'gmd_band': the band's drums from the bundled bank (train + validation takes: the classifier has "
                 "seen part of them, an upper bound); 'gmd_band_heldout': the same band code playing test-split takes "
                 "(the fair comparison with 'real_test'); 'mma_band': the MMA grooves' own drums for the genre"),
    }
    card["metrics"] = {"groove_classifier_test_accuracy": round(float(np.mean(pred == yte)), 3),
                       "groove_classifier_test_balanced_accuracy": round(balanced(pred, yte), 3),
                       "groove_classifier_chance": round(1 / len(labels), 3)}
    card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return 0


def _generated_windows(labels, test_bank):
    """Two-bar drum windows the band plays per genre: with GMD drums from the bank, with GMD drums
    from a bank of held-out takes, and with MMA's drums."""
    import gtzcomposer.ml.band.band as band_module
    from gtzcomposer.core import Song
    from gtzcomposer.core.chords import Chord, ChordSpan
    from gtzcomposer.ml.band import play_band
    from gtzcomposer.ml.band import styles as st

    song = Song()
    bt = song.time_signatures[0].bar_ticks
    prog = [Chord(0, "maj"), Chord(9, "min"), Chord(5, "maj"), Chord(7, "7")] * 2
    spans = [ChordSpan(i * bt, (i + 1) * bt, c) for i, c in enumerate(prog)]
    out: dict[str, dict[str, list]] = {"gmd_band": {}, "gmd_band_heldout": {}, "mma_band": {}}
    real_load = band_module.load_bank
    for g in labels:
        for source in out:
            saved = st.STYLES[(g, "4/4")]
            if source == "gmd_band_heldout":
                if st.GMD_STYLES[g] not in test_bank["styles"]:
                    continue
                band_module.load_bank = lambda *a: test_bank
            if source == "mma_band":
                st.STYLES[(g, "4/4")] = st.BandStyle(**{**saved.__dict__, "drums": "mma"})
            try:
                windows = []
                for seed in range(4):
                    takes = play_band(song, [spans] * 4, g, ["drums"], 0, 8 * bt, seed=seed)
                    for t in takes:
                        notes = t.parts["drums"].notes
                        for i in range(0, 8, 2):
                            w = [[n.start - i * bt, n.pitch, n.velocity, n.duration] for n in notes
                                 if i * bt - 60 <= n.start < (i + 2) * bt - 60]
                            windows.append(w)
                out[source][g] = windows
            finally:
                st.STYLES[(g, "4/4")] = saved
                band_module.load_bank = real_load
    return out


# ---------------------------------------------------------------------------------------------
# groove features and a small softmax classifier (numpy only)
DRUM_CLASSES = ({35, 36}, {37, 38, 40}, {42, 44, 22}, {46, 26}, {41, 43, 45, 58}, {47, 48, 50},
                {49, 52, 55, 57}, {51, 53, 59})


def _drum_class(pitch: int) -> int:
    for i, c in enumerate(DRUM_CLASSES):
        if pitch in c:
            return i
    return len(DRUM_CLASSES)


def groove_features(notes, length: int):
    """A 2-bar window of ``[onset, pitch, velocity, duration]`` (480 PPQ, 4/4): onsets per drum
    class on the 16th grid, mean velocity per class, position in the beat on a 12-per-beat grid
    (swing shows there), micro-timing and density."""
    import numpy as np

    n_cls = len(DRUM_CLASSES) + 1
    grid = np.zeros((n_cls, 32))
    vel = np.zeros(n_cls)
    cnt = np.zeros(n_cls)
    trip = np.zeros(12)
    dev = []
    for onset, pitch, v, _ in notes:
        c = _drum_class(pitch)
        pos = round(onset / 120)
        grid[c, pos % 32] += 1
        vel[c] += v
        cnt[c] += 1
        trip[round((onset % 480) / 40) % 12] += 1
        dev.append(abs(onset - pos * 120) / 60)
    n = max(1, len(notes))
    feats = [np.minimum(grid, 2).ravel() / 2, vel / np.maximum(cnt, 1) / 127, cnt / n, trip / n,
             [float(np.mean(dev)) if dev else 0.0, min(len(notes) / 64, 2.0)]]
    return np.concatenate([np.asarray(f, float).ravel() for f in feats])


class Softmax:
    def __init__(self, w, b, mu, sd):
        self.w, self.b, self.mu, self.sd = w, b, mu, sd

    def predict(self, x):
        import numpy as np

        z = ((x - self.mu) / self.sd) @ self.w + self.b
        return np.argmax(z, axis=1)


def train_softmax(x, y, n_classes: int, seed: int = 0, epochs: int = 400, lr: float = 0.5, l2: float = 1e-3):
    """Class-balanced softmax regression by full-batch gradient descent (deterministic)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-6
    xs = (x - mu) / sd
    w = rng.normal(0, 0.01, (x.shape[1], n_classes))
    b = np.zeros(n_classes)
    counts = np.bincount(y, minlength=n_classes).astype(float)
    sample_w = (len(y) / (n_classes * np.maximum(counts, 1)))[y]
    onehot = np.eye(n_classes)[y]
    for _ in range(epochs):
        z = xs @ w + b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        g = (p - onehot) * sample_w[:, None] / len(y)
        w -= lr * (xs.T @ g + l2 * w)
        b -= lr * g.sum(axis=0)
    return Softmax(w, b, mu, sd)
