"""python -m training melody-eval: held-out evaluation of the bundled melody model.

* Negative log-likelihood per event (nats per 16th step, every step counted) and event accuracy
  (arg-max prediction, steps whose target is not HOLD), per style, on the test split, for the
  Keras model (whole pieces, teacher forcing) and a 5-gram Markov baseline with Witten-Bell
  back-off trained per style on the same train split.
* Style fidelity: seeds are 2-bar excerpts at random bars of held-out pieces of every style; each
  is continued for 4 bars in each target style (1 variation, temperature 1, top-p 0.95, fixed
  seeds; the critic does not pick). The style classifier's recognition rate of the target style
  in those continuations is compared with its accuracy on real held-out 4-bar excerpts.
  Key-relative pitch-class, interval, onset-in-beat and duration histograms of the continuations
  are compared (total-variation distance) with each style's held-out histograms, with a bootstrap
  over the continuations for how firmly each style lands nearest its own.

Results go into the model card (metrics) and training/reports/melody/eval.md.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from gtzcomposer.core.generation import DEFAULT_STYLE_STRENGTH, GenerationSettings

from . import melody_data
from .melody import REPO, add_shared_data_argument, critic_examples, load_data, resolve_names, sequences


def register(sub) -> None:
    p = sub.add_parser("melody-eval", help="evaluate the melody model against a 5-gram Markov baseline")
    p.add_argument("--data", help="a dataset file written by an earlier build (skips parsing)")
    add_shared_data_argument(p)
    p.add_argument("--midi-dir", help="evaluate on a MIDI-folder dataset instead of the corpus")
    p.add_argument("--max-per-style", type=int, default=1500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", default=str(REPO / "models"))
    p.add_argument("--name", default=None, help="model name; default melody, or melody_<folder> with --midi-dir")
    p.add_argument("--seeds-per-style", type=int, default=64,
                   help="held-out seeds per style for style fidelity (2-bar excerpts at random bars)")
    p.add_argument("--report-dir", default=None)
    p.add_argument("--style-strength", type=float, nargs="+", default=[0.0, DEFAULT_STYLE_STRENGTH],
                   help="style guidance strengths to evaluate for style fidelity")
    p.add_argument("--no-card", action="store_true", help="do not write the metrics into the model card")
    p.set_defaults(func=run)


def model_scores(model_path: Path, seqs) -> dict:
    """Summed NLL and accuracy counts of the Keras model over whole sequences, per style id."""
    from gtzcomposer.ml.melody.encoding import HOLD
    from gtzcomposer.ml.melody.model import load_keras_model

    model = load_keras_model(model_path)
    out: dict[int, dict] = {}
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i].tokens))
    batch = 32
    for a in range(0, len(order), batch):
        group = [seqs[i] for i in order[a:a + batch]]
        n = max(len(s.tokens) for s in group)

        def pad(x, n=n):
            return np.concatenate([x, np.zeros(n - len(x), np.int32)])

        x = [np.stack([pad(s.inputs) for s in group]), np.stack([pad(s.pos) for s in group]),
             np.stack([pad(s.meter) for s in group]), np.stack([pad(s.chords) for s in group]),
             np.array([[s.style] for s in group], np.int32)]
        logits = np.asarray(model.predict_on_batch(x), np.float64)
        logp = logits - logits.max(-1, keepdims=True)
        logp = logp - np.log(np.exp(logp).sum(-1, keepdims=True))
        for j, s in enumerate(group):
            t = s.tokens
            lp = logp[j, :len(t)]
            d = out.setdefault(s.style, {"nll_sum": 0.0, "events": 0, "correct": 0, "acc_events": 0})
            d["nll_sum"] -= float(lp[np.arange(len(t)), t].sum())
            d["events"] += len(t)
            m = t != HOLD
            d["correct"] += int((lp.argmax(-1)[m] == t[m]).sum())
            d["acc_events"] += int(m.sum())
    return out


def markov_scores(train, test, styles, order: int = 5) -> dict:
    from gtzcomposer.ml.melody.markov import MarkovModel

    out = {}
    for i, _ in enumerate(styles):
        mm = MarkovModel(order).fit([s.tokens for s in train if s.style == i])
        out[i] = mm.evaluate([s.tokens for s in test if s.style == i])
    return out


def _tv(a: np.ndarray, b: np.ndarray) -> float:
    a = a / max(a.sum(), 1e-9)
    b = b / max(b.sum(), 1e-9)
    return 0.5 * float(np.abs(a - b).sum())


HIST_KINDS = ("pitch_class", "interval", "onset_in_beat", "duration")
_DUR_BINS = np.array([1, 2, 3, 4, 6, 8, 12, 16])


def _histograms(note_lists) -> dict[str, np.ndarray]:
    """Key-relative pitch-class, interval (-12..12), onset position in the beat (16ths, 0..3 of a
    quarter) and duration (16ths: 1,2,3,4,6,8,12,16+) histograms of lists of (start, pitch,
    duration) in ticks, key-normalised pitches, straight grid."""
    h = {"pitch_class": np.zeros(12), "interval": np.zeros(25), "onset_in_beat": np.zeros(4),
         "duration": np.zeros(8)}
    for notes in note_lists:
        pitches = [n[1] for n in notes]
        for st, p, d in notes:
            h["pitch_class"][p % 12] += 1
            h["onset_in_beat"][((st + 60) // 120) % 4] += 1  # snapped to the 16th grid
            b = int(np.searchsorted(_DUR_BINS, max(1, round(d / 120)), side="right") - 1)
            h["duration"][min(max(b, 0), 7)] += 1
        for a, b in zip(pitches, pitches[1:]):
            h["interval"][int(np.clip(b - a, -12, 12)) + 12] += 1
    return h


def _distances(rows: dict, real_h: dict, styles) -> dict:
    """Total-variation distance of each row's histograms to each style's, per kind, plus
    ``combined``: their sum over the four kinds (one distance on all four features)."""
    out = {}
    for t in styles:
        out[t] = {}
        for s in styles:
            d = {kind: _tv(rows[t][kind], real_h[s][kind]) for kind in HIST_KINDS}
            d["combined"] = sum(d.values())
            out[t][s] = d
    return out


def nearest_own(dist: dict, styles, kind: str) -> int:
    """How many rows are nearest their own style's column on ``kind``."""
    return sum(1 for t in styles if min(styles, key=lambda s: dist[t][s][kind]) == t)


def real_halves(test: list, styles, seed: int) -> dict:
    """The data's own separability: each style's held-out pieces split in two halves (seeded), the
    first halves' histograms against the second halves'.  A generated style cannot be expected to
    land nearer its own style more often than real held-out music of that style does."""
    from gtzcomposer.ml.melody.encoding import key_shift

    rng = np.random.default_rng(seed + 7)
    first, second = {}, {}
    for s in styles:
        ps = [p for p in test if p["style"] == s]
        idx = rng.permutation(len(ps))
        lists = [[(st, pi + key_shift(p["key"][0]), d) for st, pi, d in p["notes"]] for p in ps]
        first[s] = _histograms([lists[i] for i in idx[::2]])
        second[s] = _histograms([lists[i] for i in idx[1::2]])
    return _distances(first, second, styles)


def train_against_test(data: dict, styles) -> dict:
    """The training split's histograms against the test split's: where a style's own training
    pieces are not nearest its held-out ones, a model that reproduced its training data exactly
    would miss that style too (the test split, not the model, sets that limit)."""
    from gtzcomposer.ml.melody.encoding import key_shift

    def hist(split, s):
        return _histograms([[(st, pi + key_shift(p["key"][0]), d) for st, pi, d in p["notes"]]
                            for p in data["pieces"] if p["split"] == split and p["style"] == s])

    return _distances({s: hist("train", s) for s in styles}, {s: hist("test", s) for s in styles}, styles)


def chord_tone_rate(notes, chords, beat_ticks: int) -> tuple[int, int]:
    """(notes on a beat whose pitch class is a tone of the chord sounding there, notes on a beat
    with a chord). ``notes`` (start, pitch, dur) ticks, onsets snapped to the 16th grid as the
    encoder does; ``chords`` (start, end, class index)."""
    from gtzcomposer.core.chords import Chord
    from gtzcomposer.ml.melody.harmony import NO_CHORD

    ch = sorted(chords)
    hit = n = 0
    for st, p, _ in notes:
        st = (st + 60) // 120 * 120  # performed onsets (WJD, POP909) snap to the 16th grid first
        if st % beat_ticks:
            continue
        c = next((c for c in ch if c[0] <= st < c[1]), None)
        if c is None or c[2] == NO_CHORD:
            continue
        n += 1
        hit += int(p % 12 in Chord.from_index(c[2]).pitch_classes)
    return hit, n


def fidelity_seeds(test: list, styles, per_style: int, rng) -> list[tuple[dict, int]]:
    """``per_style`` seeds per style: (held-out piece, tick of a bar line), the seed being the 2 bars
    from there.  Each seed is a piece drawn at random (with replacement) and a bar drawn at random
    among those whose 2 bars hold at least a beat of notes, so a style's figures do not rest on
    its few pieces' openings alone (blues has 13 held-out solos, which gave 13 seeds)."""
    out = []
    for s in styles:
        cand = []
        for p in (p for p in test if p["style"] == s):
            num, den = p["meter"]
            bar = num * 1920 // den
            onsets = np.array([n[0] for n in p["notes"]])
            durs = np.array([max(1, n[2]) for n in p["notes"]])
            bars = range(int(onsets.min()) // bar * bar, int(onsets.max()) + 1, bar)
            ok = [b for b in bars if durs[(onsets >= b) & (onsets < b + 2 * bar)].sum() >= 1920 // den]
            if ok:
                cand.append((p, ok))
        for i in rng.integers(0, len(cand), per_style) if cand else ():
            p, ok = cand[int(i)]
            out.append((p, int(ok[int(rng.integers(0, len(ok)))])))
    return out


def bootstrap_nearest(lists: dict, real_h: dict, styles, rng, rounds: int = 200) -> dict[str, float]:
    """Per target style, the share of ``rounds`` bootstrap resamples of its continuations (drawn
    with replacement) whose combined histogram distance is smallest to its own style: how firmly
    the nearest-own-style result holds, not just whether it held for this one draw."""
    out = {}
    for t in styles:
        if not lists[t]:
            out[t] = float("nan")
            continue
        each = [_histograms([x]) for x in lists[t]]
        rows = {kind: np.stack([h[kind] for h in each]) for kind in HIST_KINDS}
        wins = 0
        for _ in range(rounds):
            counts = np.bincount(rng.integers(0, len(each), len(each)), minlength=len(each))
            h = {kind: counts @ rows[kind] for kind in HIST_KINDS}
            near = min(styles, key=lambda s: sum(_tv(h[kind], real_h[s][kind]) for kind in HIST_KINDS))
            wins += int(near == t)
        out[t] = wins / rounds
    return out


def style_fidelity(data: dict, styles: list[str], models: Path, name: str, per_style: int, seed: int,
                   strength: float = 0.0) -> dict:
    from gtzcomposer.core import KeySignature, Note, Song, TimeSignature, new_track
    from gtzcomposer.ml.melody.encoding import key_shift
    from gtzcomposer.ml.melody.generator import MelodyGenerator

    gen = MelodyGenerator.load(name, models)
    critic = gen.critic
    rng = np.random.default_rng(seed)
    test = [p for p in data["pieces"] if p["split"] == "test" and p["style"] in styles]
    seeds = fidelity_seeds(test, styles, per_style, rng)
    real_h, real_ct = {}, {}
    for s in styles:
        lists = []
        hit = n = 0
        for p in test:
            if p["style"] != s:
                continue
            sh = key_shift(p["key"][0])
            lists.append([(st, pi + sh, d) for st, pi, d in p["notes"]])
            h, m = chord_tone_rate(p["notes"], p.get("chords", []), 1920 // p["meter"][1])
            hit, n = hit + h, n + m
        real_h[s] = _histograms(lists)
        real_ct[s] = hit / max(1, n)
    recognised = {s: 0 for s in styles}
    total = {s: 0 for s in styles}
    gen_lists: dict[str, list] = {s: [] for s in styles}
    own_lists: dict[str, list] = {s: [] for s in styles}  # continuations of seeds of the target's own style
    gen_ct = {s: [0, 0] for s in styles}
    t0 = time.time()
    from gtzcomposer.core.chords import chord_index
    from gtzcomposer.ml.melody.encoding import encode_notes, positions, unswing_notes

    for k, (p, first_bar) in enumerate(seeds):
        num, den = p["meter"]
        notes = [Note(start=st, pitch=pi, duration=max(1, d)) for st, pi, d in p["notes"]]
        seed_notes = [n for n in notes if first_bar <= n.start < first_bar + 2 * num * 1920 // den]
        song = Song(tracks=(new_track(0, notes=tuple(seed_notes)),), time_signatures=(TimeSignature(0, num, den),),
                    key_signatures=(KeySignature(0, p["key"][0], p["key"][1]),))
        for target in styles:
            c = gen.continue_melody(seed_notes, song, GenerationSettings(
                target, bars=4, variations=1, temperature=1.0, top_p=0.95, seed=seed * 1000 + k,
                strength=strength))
            v = c.variations[0]
            sh = key_shift(c.key.tonic)
            straight = unswing_notes(v.notes, c.swing)
            gen_lists[target].append([(n.start, n.pitch + sh, n.duration) for n in straight])
            if target == p["style"]:
                own_lists[target].append(gen_lists[target][-1])
            spans = [(x.start, x.end, chord_index(x.chord)) for x in c.chords]
            h, m = chord_tone_rate([(n.start, n.pitch, n.duration) for n in straight], spans, 1920 // den)
            gen_ct[target][0] += h
            gen_ct[target][1] += m
            total[target] += 1
            if critic is not None:
                toks = encode_notes(straight, c.start, c.end, shift=sh).tokens
                bl = song.time_signatures[0].bar_ticks // 120
                pos = positions((c.start - 0) // 120 % bl, len(toks), bl)
                probs = critic.probabilities([toks], [pos])[0]
                recognised[target] += int(int(np.argmax(probs)) == styles.index(target))
    gen_seconds = time.time() - t0
    # critic accuracy on real held-out 4-bar excerpts
    real_acc = {}
    test_seqs = sequences(data, "test", styles)
    fx, fy = critic_examples(test_seqs)
    if critic is not None and len(fy):
        pred = np.argmax(critic.step.probabilities(fx), axis=1)
        for i, s in enumerate(styles):
            m = fy == i
            real_acc[s] = float(np.mean(pred[m] == i)) if m.any() else float("nan")
    dist = _distances({t: _histograms(gen_lists[t]) for t in styles}, real_h, styles)
    own_dist = _distances({t: _histograms(own_lists[t]) for t in styles}, real_h, styles)
    return {
        "seeds": len(seeds), "generation_seconds": round(gen_seconds, 1),
        "recognised_generated": {s: recognised[s] / max(1, total[s]) for s in styles},
        "recognised_real": real_acc,
        "distances": dist, "distances_own_seeds": own_dist,
        "bootstrap_all_seeds": bootstrap_nearest(gen_lists, real_h, styles, np.random.default_rng(seed + 11)),
        "bootstrap_own_seeds": bootstrap_nearest(own_lists, real_h, styles, np.random.default_rng(seed + 12)),
        "real_halves": real_halves(test, styles, seed),
        "chord_tone_rate_generated": {s: gen_ct[s][0] / max(1, gen_ct[s][1]) for s in styles},
        "chord_tone_rate_real": real_ct,
    }


def run(args) -> int:
    resolve_names(args)
    models = Path(args.models)
    data = load_data(args)
    melody_data._split(data["pieces"], args.seed)
    card_path = models / f"{args.name}.json"
    card = json.loads(card_path.read_text(encoding="utf-8"))
    styles = list(card["styles"])
    train = sequences(data, "train", styles)
    test = sequences(data, "test", styles)
    t0 = time.time()
    ms = model_scores(models / f"{args.name}.keras", test)
    t_model = time.time() - t0
    t0 = time.time()
    bs = markov_scores(train, test, styles)
    t_markov = time.time() - t0
    print(f"scored the model in {t_model:.0f} s and the Markov baseline in {t_markov:.0f} s")
    per_style = {}
    for i, s in enumerate(styles):
        m, b = ms[i], bs[i]
        per_style[s] = {
            "test_pieces": sum(1 for q in test if q.style == i), "events": m["events"],
            "model_nll": m["nll_sum"] / m["events"], "markov_nll": b["nll_sum"] / b["events"],
            "model_acc": m["correct"] / max(1, m["acc_events"]), "markov_acc": b["correct"] / max(1, b["acc_events"]),
        }
    tot = {k: sum(ms[i][k] for i in range(len(styles))) for k in ("nll_sum", "events", "correct", "acc_events")}
    btot = {k: sum(bs[i][k] for i in range(len(styles))) for k in ("nll_sum", "events", "correct", "acc_events")}
    overall = {"model_nll": tot["nll_sum"] / tot["events"], "markov_nll": btot["nll_sum"] / btot["events"],
               "model_acc": tot["correct"] / tot["acc_events"], "markov_acc": btot["correct"] / btot["acc_events"]}
    fids = {w: style_fidelity(data, styles, models, args.name, args.seeds_per_style, args.seed, w)
            for w in args.style_strength}
    beats = all(v["model_nll"] < v["markov_nll"] for v in per_style.values())

    lines = ["# Melody model: held-out evaluation", "",
             f"`python -m training melody-eval` on the test split (split by group: tune title for WJD and OpenEWLD, piece otherwise), model `{args.name}.keras` "
             f"(encoder v{card.get('encoder_version')}). NLL in nats per 16th-step event (every step); accuracy = "
             "arg-max prediction on steps whose target is not HOLD. Baseline: 5-gram Markov model per style with "
             "Witten-Bell interpolated back-off, trained on the same train split.", "",
             "| style | test pieces | events | model NLL | 5-gram NLL | model acc. | 5-gram acc. |",
             "|---|---|---|---|---|---|---|"]
    for s, v in per_style.items():
        lines.append(f"| {s} | {v['test_pieces']} | {v['events']} | **{v['model_nll']:.3f}** | {v['markov_nll']:.3f} | "
                     f"{v['model_acc']:.3f} | {v['markov_acc']:.3f} |")
    lines.append(f"| all | {len(test)} | {tot['events']} | **{overall['model_nll']:.3f}** | {overall['markov_nll']:.3f} | "
                 f"{overall['model_acc']:.3f} | {overall['markov_acc']:.3f} |")
    first = next(iter(fids.values()))
    ws = list(fids)
    lines += ["", f"Model beats the baseline (lower NLL) for every style: **{'yes' if beats else 'NO'}**.", "",
              "## Style fidelity", "",
              f"{first['seeds']} seeds (2-bar excerpts of held-out pieces, {args.seeds_per_style} per style: a piece "
              "drawn at random with replacement, then a bar of it at random; all styles mixed) were each continued for 4 bars in every target style (1 variation, temperature 1.0, "
              "top-p 0.95, the critic does not pick), once per style-guidance strength w (0 = plain sampling). The "
              "style classifier (critic) was asked which style each continuation is; compare with how often it "
              "recognises real held-out 4-bar excerpts.", "",
              "| target style | " + " | ".join(f"recognised in continuations, w={w:g}" for w in ws)
              + " | recognised in real held-out excerpts |",
              "|---|" + "---|" * (len(ws) + 1)]
    for s in styles:
        lines.append(f"| {s} | " + " | ".join(f"{fids[w]['recognised_generated'][s]:.2f}" for w in ws)
                     + f" | {first['recognised_real'].get(s, float('nan')):.2f} |")
    nearest = {}
    kinds = (*HIST_KINDS, "combined")
    halves = first["real_halves"]
    nearest["real_halves"] = {k: nearest_own(halves, styles, k) for k in kinds}
    train_test = train_against_test(data, styles)
    nearest["train_split"] = {k: nearest_own(train_test, styles, k) for k in kinds}
    train_misses = [(t, min(styles, key=lambda s: train_test[t][s]["combined"])) for t in styles
                    if min(styles, key=lambda s: train_test[t][s]["combined"]) != t]
    for w in ws:
        nearest[f"own_seeds_w{w:g}"] = {k: nearest_own(fids[w]["distances_own_seeds"], styles, k) for k in kinds}
        nearest[f"all_seeds_w{w:g}"] = {k: nearest_own(fids[w]["distances"], styles, k) for k in kinds}
    lines += ["", "## Melody histograms", "", f"How many of the {len(styles)} styles are nearest their own style's held-out histograms "
              "(combined = the sum of the four distances). *Real halves* is the data's own separability: "
              "half of each style's held-out pieces against the other half; a generator cannot be expected to do better than "
              "it. *Train split*: each style's training pieces against the held-out ones, what a model that "
              "reproduced its training data exactly would score"
              + (" (on the combined distance it misses " + ", ".join(f"{t} (nearest {n})" for t, n in train_misses)
                 + ": the held-out pieces of that style differ from its training pieces by chance of the split)"
                 if train_misses else "")
              + ". *Own seeds*: continuations of seeds of the target style; *all seeds*: seeds of every style "
              "continued in the target style, the app's case.", "",
              "| histogram | real halves | train split | " + " | ".join(f"own seeds, w={w:g} | all seeds, w={w:g}" for w in ws) + " |",
              "|---|---|---|" + "---|---|" * len(ws)]
    for k in kinds:
        lines.append(f"| {k} | {nearest['real_halves'][k]} | {nearest['train_split'][k]} | "
                     + " | ".join(f"{nearest[f'own_seeds_w{w:g}'][k]} | {nearest[f'all_seeds_w{w:g}'][k]}" for w in ws)
                     + " |")
    lines += ["", "How firmly that holds: the share of 200 bootstrap resamples of each style's continuations "
              "(with replacement) in which the style is nearest its own on the combined distance.", "",
              "| target style | " + " | ".join(f"own seeds, w={w:g} | all seeds, w={w:g}" for w in ws) + " |",
              "|---|" + "---|---|" * len(ws)]
    for t in styles:
        lines.append(f"| {t} | " + " | ".join(f"{fids[w]['bootstrap_own_seeds'][t]:.2f} | "
                                              f"{fids[w]['bootstrap_all_seeds'][t]:.2f}" for w in ws) + " |")
    lines.append("")
    lines += ["Total-variation distance between the continuations' histograms (rows: target style) and each "
              "style's held-out histograms (columns); the nearest column is in bold.", ""]
    for w in ws:
        for kind, title in (("pitch_class", "Pitch classes (key-normalised)"), ("interval", "Intervals (-12..+12)"),
                            ("onset_in_beat", "Onset position in the beat (16ths)"),
                            ("duration", "Durations (16ths)"), ("combined", "All four (sum of the distances)")):
            lines += [f"### {title}, w={w:g}", "", "| generated as \\ held-out | " + " | ".join(styles) + " |",
                      "|---|" + "---|" * len(styles)]
            for t in styles:
                row = fids[w]["distances"][t]
                best = min(styles, key=lambda s, row=row, kind=kind: row[s][kind])
                cells = [f"**{row[s][kind]:.3f}**" if s == best else f"{row[s][kind]:.3f}" for s in styles]
                lines.append(f"| {t} | " + " | ".join(cells) + " |")
            own = nearest_own(fids[w]["distances"], styles, kind)
            lines += ["", f"Nearest to its own style: {own} of {len(styles)}.", ""]
    lines += ["## Chord-tone rate", "",
              "Share of the notes that start on a beat (straight grid) whose pitch class is a tone of the chord "
              "sounding there (notes under no chord left out). Generated: the continuations above, under the chords "
              "the generator gave them (proposed by the style's progression model); real: every held-out piece "
              "under its own chords.", "",
              "| style | real held-out | " + " | ".join(f"generated, w={w:g}" for w in ws) + " |",
              "|---|---|" + "---|" * len(ws)]
    for s in styles:
        lines.append(f"| {s} | {first['chord_tone_rate_real'][s]:.2f} | "
                     + " | ".join(f"{fids[w]['chord_tone_rate_generated'][s]:.2f}" for w in ws) + " |")
    lines.append("")
    report = Path(args.report_dir)
    report.mkdir(parents=True, exist_ok=True)
    (report / "eval.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if not args.no_card:
        card["metrics"] = {
            "test_nll_per_event": overall["model_nll"], "test_event_accuracy": overall["model_acc"],
            "markov5_nll_per_event": overall["markov_nll"], "markov5_event_accuracy": overall["markov_acc"],
            "per_style": per_style,
            "style_fidelity": {"recognised_real": first["recognised_real"],
                               **{f"recognised_generated_w{w:g}": fids[w]["recognised_generated"] for w in ws},
                               f"nearest_own_style_of_{len(styles)}": nearest,
                               **{f"bootstrap_nearest_own_w{w:g}": {"own_seeds": fids[w]["bootstrap_own_seeds"],
                                                                    "all_seeds": fids[w]["bootstrap_all_seeds"]}
                                  for w in ws}},
            "chord_tone_rate": {"real": first["chord_tone_rate_real"],
                                **{f"generated_w{w:g}": fids[w]["chord_tone_rate_generated"] for w in ws}},
            "beats_baseline_every_style": beats,
            "evaluated_by": "python -m training melody-eval",
        }
        card_path.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return 0 if beats else 1
