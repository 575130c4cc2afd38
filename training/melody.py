"""python -m training melody: build the melody dataset, train the style-conditioned melody model
and the style classifier (critic), write models/melody.keras|json and
models/style_classifier.keras|json.

    python -m training melody                      # music21 corpus styles (the bundled model)
    python -m training melody --data-only          # dataset + EDA report only
    python -m training melody --midi-dir DIR       # your own styles: DIR/<genre>/*.mid
"""

from __future__ import annotations

import gzip
import json
import os
import time
from pathlib import Path

import numpy as np

from . import distribute, melody_data

REPO = Path(__file__).resolve().parents[1]
COMMAND = "python -m training melody"
LICENCE = ("music21 corpus (BSD); Essen Folksong Collection: non-commercial research use; O'Neill's 1850, "
           "Ryan's Mammoth Collection, Aird's Airs: public-domain tune books transcribed in the music21 corpus; "
           "Bach chorales: public domain; Weimar Jazz Database (Pfleiderer et al. (eds.), 'Inside the Jazzomat', "
           "2017): Open Database License 1.0 (this model is a Produced Work of it), metadata MIT (jazzodata); "
           "POP909 (Wang et al., ISMIR 2020): MIT; OpenEWLD (Simonetta et al. 2018): MIT, public-domain scores; "
           "OpenScore Lieder: CC0")
SPLIT_RULE = ("by group, before any windowing: a seeded hash of the piece's group puts it in train/val/test "
              "(80/10/10); the group is the tune title for WJD solos and OpenEWLD jazz lead sheets (normalised, "
              "so one tune played by two soloists, or found in both sources, lands in one split), the song folder "
              "for POP909 and the Lieder, the piece id otherwise (training/melody_data.py split_of, _split)")
CHORD_SOURCES = {
    "classical": "Bach chorales: inferred per beat from the four voices; Lieder: inferred per beat from the "
                 "piano accompaniment",
    "folk": "inferred per bar from the melody (the sources have no harmony)",
    "chinese": "inferred per bar from the melody (the sources have no harmony)",
    "irish": "inferred per bar from the melody (the sources have no harmony)",
    "scottish": "inferred per bar from the melody (the sources have no harmony)",
    "jazz": "WJD beat-track chord changes; OpenEWLD lead-sheet chord symbols",
    "blues": "WJD beat-track chord changes",
    "pop": "POP909 chord_midi.txt (Harte labels)",
}
STYLE_SOURCES = {
    "classical": "Bach chorale soprano lines (music21 corpus) + OpenScore Lieder voice parts",
    "folk": "Essen European folk songs (music21 corpus)",
    "chinese": "Essen han1/han2 (music21 corpus)",
    "irish": "O'Neill's 1850 + Ryan's Mammoth Collection (music21 corpus)",
    "scottish": "Aird's Airs (music21 corpus)",
    "jazz": "Weimar Jazz Database solos (all but the blues-form ones) + OpenEWLD lead sheets tagged Jazz",
    "blues": "Weimar Jazz Database solos whose harmony template is Blues: jazz solos over a blues form",
    "pop": "POP909 MELODY tracks (Chinese pop)",
}


def register(sub) -> None:
    p = sub.add_parser("melody", help="train the style-conditioned melody model and the style critic")
    p.add_argument("--midi-dir", help="folder of MIDI files per style: DIR/<style>/*.mid (instead of the corpus)")
    p.add_argument("--data", help="a dataset file written by an earlier build (skips parsing)")
    add_shared_data_argument(p)
    p.add_argument("--data-only", action="store_true", help="build the dataset and the EDA report, then stop")
    p.add_argument("--max-per-style", type=int, default=1500, help="cap on pieces per style (seeded choice)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--window", type=int, default=128, help="training window in 16th steps")
    p.add_argument("--units", type=int, default=192)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--per-style-windows", type=int, default=1200,
                   help="training windows drawn per style and epoch (a new seeded draw each epoch)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--splice", type=float, default=0.5,
                   help="share of training windows opened by 1-2 bars of another style (no loss on those bars)")
    p.add_argument("--max-minutes", type=float, default=40.0, help="stop training after this long")
    p.add_argument("--out", default=str(REPO / "models"), help="folder for the .keras files and cards")
    p.add_argument("--name", default=None,
                   help="model name (file stem); default melody, or melody_<folder> with --midi-dir")
    p.add_argument("--critic-name", default=None,
                   help="critic name; default style_classifier, or style_classifier_<folder> with --midi-dir")
    p.add_argument("--report-dir", default=None,
                   help="EDA report folder; default training/reports/melody (/<folder> with --midi-dir)")
    p.set_defaults(func=run)


# --- data ----------------------------------------------------------------------------------------
def add_shared_data_argument(p) -> None:
    """--shared-data, read by :func:`load_data` (here and in melody-eval)."""
    p.add_argument("--shared-data", help="the shared datasets folder (wjd/, pop909/, openewld/, openscore-lieder/); "
                                         "default ../shared/data beside the repository, or GTZ_SHARED_DATA")


def load_data(args) -> dict:
    if getattr(args, "shared_data", None):  # read by melody_sources.data_root, also in the parsing workers
        os.environ["GTZ_SHARED_DATA"] = str(Path(args.shared_data).resolve())
    if getattr(args, "data", None):
        with gzip.open(args.data, "rt", encoding="utf-8") as f:
            return json.load(f)
    return melody_data.build_dataset(max_per_style=args.max_per_style, seed=args.seed, midi_dir=args.midi_dir)


def sequences(data: dict, split: str, styles: list[str]):
    from gtzcomposer.core import Note
    from gtzcomposer.ml.melody.encoding import piece_sequence

    out = []
    for p in data["pieces"]:
        if p["split"] != split or p["style"] not in styles:
            continue
        notes = [Note(start=max(0, s), pitch=pi, duration=max(0, d)) for s, pi, d in p["notes"]]
        out.append(piece_sequence(notes, p["meter"][0], p["meter"][1], p["key"][0], styles.index(p["style"]),
                                  [tuple(c) for c in p.get("chords", ())]))
    return out


def windows(seqs, length: int, stride: int):
    """Fixed-length training windows; the padding's targets get weight 0."""
    from gtzcomposer.ml.melody.encoding import PAD

    toks, inp, pos, met, cho, sty = [], [], [], [], [], []
    for s in seqs:
        n = len(s.tokens)
        starts = list(range(0, max(1, n - length + stride), stride))
        for a in starts:
            b = min(n, a + length)
            pad = length - (b - a)

            def cut(x, fill, a=a, b=b, pad=pad):
                return np.concatenate([x[a:b], np.full(pad, fill, np.int32)])

            toks.append(cut(s.tokens, PAD))
            inp.append(cut(s.inputs, PAD))
            pos.append(cut(s.pos, 0))
            met.append(cut(s.meter, 0))
            cho.append(cut(s.chords, 0))
            sty.append(s.style)
    toks = np.array(toks, np.int32).reshape(-1, length)
    return (np.array(inp, np.int32).reshape(-1, length), np.array(pos, np.int32).reshape(-1, length),
            np.array(met, np.int32).reshape(-1, length), np.array(cho, np.int32).reshape(-1, length),
            np.array(sty, np.int32).reshape(-1, 1)), toks, (toks != PAD).astype(np.float32)


def splice_window(x, y, w, i: int, j: int, bars: int):
    """Window ``i`` opened by the first ``bars`` bars of window ``j`` (another style, same meter),
    still labelled with ``i``'s style, and with no loss on the borrowed bars; ``None`` when the
    two do not fit (a window not starting at a bar line, a different meter or bar grid, padding
    in the borrowed bars, or ``i`` holding a note across the splice).

    The app continues a seed of any style in the style the user picks, while a plain training
    window always continues its own style: taught only that, the model mostly keeps the seed's
    rhythm (issue 11's evaluation).  A spliced window is exactly the app's situation - foreign
    bars, then the chosen style - with the loss on the chosen style only."""
    from gtzcomposer.ml.melody.encoding import HOLD

    inp, pos, met, cho, _ = (a[i] for a in x)
    starts = np.flatnonzero(pos == 0)
    if len(starts) <= bars or starts[0] != 0 or met[0] != x[2][j][0]:
        return None
    cut = int(starts[bars])
    if not np.array_equal(x[1][j][:cut + 1], pos[:cut + 1]) or w[j][:cut].min() == 0 or w[i][cut] == 0 \
            or y[i][cut] == HOLD:
        return None
    tok = y[i].copy()
    tok[:cut] = y[j][:cut]
    new_inp = inp.copy()
    new_inp[:cut] = x[0][j][:cut]
    new_inp[cut] = y[j][cut - 1]
    new_cho = cho.copy()
    new_cho[:cut] = x[3][j][:cut]
    wt = w[i].copy()
    wt[:cut] = 0
    return (new_inp, pos, met, new_cho, x[4][i]), tok, wt


def balanced_epochs(keras, x, y, w, per_style: int, batch: int, seed: int, splice: float = 0.0):
    """A Keras dataset that draws, each epoch, at most ``per_style`` windows of every style (a new
    seeded draw per epoch): the styles weigh alike and an epoch stays short on a CPU.  A share
    ``splice`` of each epoch's windows is opened by 1 or 2 bars of a window of another style
    (:func:`splice_window`; partners drawn anew each epoch)."""
    styles = x[-1][:, 0]
    groups = [np.flatnonzero(styles == s) for s in np.unique(styles)]
    meters = x[2][:, 0]
    partners = {(m, s): np.flatnonzero((meters == m) & (styles != s))  # windows that may open a window
                for m, s in {(int(m), int(s)) for m, s in zip(meters, styles)}}

    class Balanced(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.epoch = 0
            self._draw()

        def _draw(self):
            rng = np.random.default_rng(seed + self.epoch)
            idx = np.concatenate([g if len(g) <= per_style else rng.choice(g, per_style, replace=False)
                                  for g in groups])
            self.idx = rng.permutation(idx)
            self.spliced = {}  # window position in this epoch -> (partner, bars)
            for k in np.flatnonzero(rng.random(len(self.idx)) < splice):
                i = self.idx[k]
                pool = partners[int(meters[i]), int(styles[i])]
                if len(pool):
                    self.spliced[int(k)] = (int(rng.choice(pool)), int(rng.integers(1, 3)))

        def __len__(self):
            return int(np.ceil(len(self.idx) / batch))

        def __getitem__(self, i):
            j = self.idx[i * batch:(i + 1) * batch]
            xs, ys, ws = [a[j].copy() for a in x], y[j].copy(), w[j].copy()
            for r in range(len(j)):
                partner = self.spliced.get(i * batch + r)
                got = splice_window(x, y, w, int(j[r]), *partner) if partner else None
                if got is not None:
                    for a, v in zip(xs, got[0]):
                        a[r] = v
                    ys[r], ws[r] = got[1], got[2]
            return tuple(xs), ys, ws

        def on_epoch_end(self):
            self.epoch += 1
            self._draw()

    return Balanced()


def critic_examples(seqs, bars: int = 4, stride_bars: int = 2, seed: int = 0):
    """Style-critic features of excerpts (``bars`` long) of whole pieces."""
    from gtzcomposer.ml.melody.encoding import METERS, bar_steps, style_features

    feats, labels = [], []
    for s in seqs:
        num, den = (int(x) for x in METERS[int(s.meter[0])].split("/")) if METERS[int(s.meter[0])] != "other" else (4, 4)
        bl = bar_steps(num, den)
        length, stride = bars * bl, stride_bars * bl
        for a in range(0, max(1, len(s.tokens) - length + 1), stride):
            t = s.tokens[a:a + length]
            if (t >= 4).sum() < 3:
                continue
            feats.append(style_features(t, s.pos[a:a + length]))
            labels.append(s.style)
    return np.array(feats, np.float32), np.array(labels, np.int32)


# --- training ------------------------------------------------------------------------------------
def _time_limit_callback(keras, minutes: float):
    class TimeLimit(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.t0 = time.time()

        def on_epoch_end(self, epoch, logs=None):
            if time.time() - self.t0 > minutes * 60:
                print(f"time limit of {minutes} min reached after epoch {epoch + 1}")
                self.model.stop_training = True

    return TimeLimit()


def train_melody(args, data: dict, styles: list[str]):
    import keras

    from gtzcomposer.ml.melody.model import MelodyConfig, build_model

    keras.utils.set_random_seed(args.seed)
    train = sequences(data, "train", styles)
    val = sequences(data, "val", styles)
    x, y, w = windows(train, args.window, args.window * 3 // 4)
    vx, vy, vw = windows(val, args.window, args.window)
    s = distribute.scaled(args.batch, args.lr)  # the recipe itself on one device
    # validation: at most 300 windows per style (a fixed seeded choice) to keep epochs short
    vsty = vx[-1][:, 0]
    rng = np.random.default_rng(args.seed)
    keep = np.concatenate([g if len(g) <= 300 else np.sort(rng.choice(g, 300, replace=False))
                           for g in (np.flatnonzero(vsty == s_) for s_ in np.unique(vsty))]) if len(vy) else np.arange(0)
    vx, vy, vw = tuple(a[keep] for a in vx), vy[keep], vw[keep]
    x, y, w = _keep(x, y, w, batch=s.batch_size)
    vx, vy, vw = _keep(vx, vy, vw, batch=s.batch_size)
    print(f"melody: {len(train)} train pieces -> {len(y)} windows (at most {args.per_style_windows} per style "
          f"per epoch); {len(val)} val pieces -> {len(vy)} windows")
    cfg = MelodyConfig(n_styles=len(styles), units=args.units, layers=args.layers)
    print(f"melody: {s.describe()}")
    with distribute.strategy().scope():
        model = build_model(cfg)
        model.compile(optimizer=keras.optimizers.Adam(s.learning_rate, clipnorm=1.0),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                      weighted_metrics=[])
    monitor = "val_loss" if len(vy) else "loss"  # a small MIDI folder may leave no validation piece
    callbacks = [
        keras.callbacks.EarlyStopping(monitor=monitor, patience=3, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(monitor=monitor, factor=0.5, patience=1),
        _time_limit_callback(keras, args.max_minutes),
    ]
    if os.environ.get("GTZ_CHECKPOINT_DIR"):  # a cloud job: a reclaimed spot instance resumes at the last epoch
        callbacks.append(keras.callbacks.BackupAndRestore(os.path.join(os.environ["GTZ_CHECKPOINT_DIR"], "melody")))
    t0 = time.time()
    data_iter = balanced_epochs(keras, x, y, w, args.per_style_windows, s.batch_size, args.seed, args.splice)
    hist = model.fit(data_iter, validation_data=(list(vx), vy, vw) if len(vy) else None,
                     epochs=args.epochs, callbacks=callbacks, verbose=2)
    seconds = time.time() - t0
    return model, cfg, hist.history, seconds, len(train), len(y)


def train_critic(args, data: dict, styles: list[str]):
    import keras

    from gtzcomposer.ml.melody.encoding import N_FEATURES
    from gtzcomposer.ml.melody.model import build_critic

    keras.utils.set_random_seed(args.seed + 1)
    fx, fy = critic_examples(sequences(data, "train", styles))
    vx, vy = critic_examples(sequences(data, "val", styles))
    counts = np.bincount(fy, minlength=len(styles))
    class_weight = {i: float(len(fy) / (len(styles) * max(1, c))) for i, c in enumerate(counts)}
    s = distribute.scaled(256, 3e-3)
    fx, fy = _keep(fx, fy, batch=s.batch_size)
    vx, vy = _keep(vx, vy, batch=s.batch_size)
    with distribute.strategy().scope():
        model = build_critic(len(styles), N_FEATURES)
        model.compile(optimizer=keras.optimizers.Adam(s.learning_rate),
                      loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    monitor = "val_loss" if len(vy) else "loss"
    hist = model.fit(fx, fy, validation_data=(vx, vy) if len(vy) else None, batch_size=s.batch_size, epochs=40,
                     class_weight=class_weight,
                     callbacks=[keras.callbacks.EarlyStopping(monitor=monitor, patience=4, restore_best_weights=True)],
                     verbose=0)
    val_acc = float(np.mean(np.argmax(distribute.predict(model, vx), axis=1) == vy)) if len(vy) else float("nan")
    print(f"critic: {len(fy)} train excerpts, val accuracy {val_acc:.3f} after {len(hist.history['loss'])} epochs")
    return model, val_acc, len(fy)


def progression_sequences(data: dict, split: str, style: str) -> list[list[int]]:
    """Key-relative slot chords of every piece of ``style`` in ``split`` (for the progression model)."""
    from gtzcomposer.core.chords import slot_ticks
    from gtzcomposer.ml.melody.encoding import key_shift
    from gtzcomposer.ml.melody.harmony import NO_CHORD, slot_sequence

    out = []
    for p in data["pieces"]:
        if p["split"] != split or p["style"] != style or not p.get("chords"):
            continue
        num, den = p["meter"]
        slot = slot_ticks(num, den)
        total = max(n[0] + n[2] for n in p["notes"])
        seq = slot_sequence(p["chords"], total, slot, key_shift(p["key"][0]))
        # leading "no chord" slots (intros, pickups) are not part of the progression
        while seq and seq[0] == NO_CHORD:
            seq.pop(0)
        if len(seq) >= 2:
            out.append(seq)
    return out


def train_progressions(data: dict, styles: list[str], order: int = 3):
    from gtzcomposer.ml.melody.harmony import ChordProgressionModel

    model = ChordProgressionModel(styles, order)
    stats = {}
    for s in styles:
        train = progression_sequences(data, "train", s)
        model.fit(s, train)
        val = progression_sequences(data, "val", s)
        nll, n = model.nll(s, val)
        stats[s] = {"train_sequences": len(train), "val_slots": n, "val_nll_per_slot": nll / max(1, n)}
    return model, stats


def style_swing(data: dict, styles: list[str]) -> dict:
    """Median estimated swing ratio of each style's swung pieces (0.5 = straight)."""
    out = {}
    for s in styles:
        vals = [p.get("swing", 0.5) for p in data["pieces"] if p["style"] == s and p.get("swing", 0.5) > 0.5]
        n = sum(1 for p in data["pieces"] if p["style"] == s)
        out[s] = round(float(np.median(vals)), 3) if vals and len(vals) >= 0.5 * n else 0.5
    return out


def split_counts(data: dict, styles: list[str]) -> dict:
    out = {}
    for s in styles:
        c = {"train": 0, "val": 0, "test": 0}
        for p in data["pieces"]:
            if p["style"] == s:
                c[p["split"]] += 1
        out[s] = c
    return out


def _keep(*arrays, batch: int):
    """The arrays (inputs may be a tuple of arrays) cut to distribute.keep_rows of their length."""
    last = arrays[-1]
    n = distribute.keep_rows(len(last), batch)
    cut = lambda a: tuple(p[:n] for p in a) if isinstance(a, tuple) else a[:n]
    return tuple(cut(a) for a in arrays)


def _devices(args) -> dict:
    s = distribute.scaled(args.batch, args.lr)
    return {"replicas": s.replicas, "global_batch": s.batch_size, "lr": s.learning_rate, "scaling": s.rule}


def resolve_names(args) -> None:
    """Defaults that keep a MIDI-folder run from overwriting the bundled models and reports."""
    folder = Path(args.midi_dir).resolve().name if getattr(args, "midi_dir", None) else None
    if getattr(args, "name", None) is None:
        args.name = f"melody_{folder}" if folder else "melody"
    if hasattr(args, "critic_name") and args.critic_name is None:
        args.critic_name = f"style_classifier_{folder}" if folder else "style_classifier"
    if getattr(args, "report_dir", None) is None:
        args.report_dir = str(melody_data.REPORT_DIR / folder if folder else melody_data.REPORT_DIR)


def run(args) -> int:
    from gtzcomposer.ml.melody.styles import REASONS, STAND_INS

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    resolve_names(args)
    data = load_data(args)
    if args.data:
        melody_data._split(data["pieces"], args.seed)
    else:
        melody_data.write_eda(data, Path(args.report_dir))
        print(f"EDA report: {Path(args.report_dir) / 'data.md'}")
    if args.data_only:
        return 0
    distribute.strategy()  # before any other TensorFlow work (GTZ_VIRTUAL_CPUS splits the CPU)
    import keras

    from gtzcomposer.ml.melody.encoding import (
        ENCODER_VERSION,
        MAX_PITCH,
        MAX_POS,
        METERS,
        MIN_PITCH,
        N_FEATURES,
        STEP,
        VOCAB_SIZE,
    )
    from gtzcomposer.ml.melody.model import build_critic, build_model

    styles = list(data["styles"])
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    progressions, prog_stats = train_progressions(data, styles)
    progressions.save(out / f"{args.name}_chords.json.gz")
    print(f"chord progressions: {prog_stats} ({time.time() - t0:.0f} s)")
    model, cfg, history, seconds, n_train, n_windows = train_melody(args, data, styles)
    critic, critic_val_acc, n_excerpts = train_critic(args, data, styles)
    source = ("music21 corpus + ../shared/data (wjd, pop909, openewld, openscore-lieder)" if not args.midi_dir
              else f"MIDI folder {args.midi_dir}")
    common = {
        "encoder_version": ENCODER_VERSION,
        "styles": styles,
        "input_spec": {"grid": "16th notes", "step_ticks_at_ppq480": STEP, "vocab_size": VOCAB_SIZE,
                        "tokens": "0 PAD, 1 REST, 2 HOLD, 3 BOS, 4.. NOTE_ON(pitch 36..95)",
                        "pitch_range": [MIN_PITCH, MAX_PITCH], "meters": list(METERS), "max_pos": MAX_POS,
                        "key_normalisation": "tonic transposed to C by the smallest shift (-6..+5)",
                        "triplets": "snapped to the nearest 16th",
                        "chords": "core.chords class index per step (root x 14 qualities + no chord), key-relative",
                        "swing": "straight 16th grid; swung sources straightened with their own estimated ratio"},
        "training_data": {"source": source, "licence": LICENCE if not args.midi_dir else "the user's own files",
                          "dataset_hash": data.get("hash"), "max_per_style": args.max_per_style,
                          "split": SPLIT_RULE,
                          "style_sources": {k: v for k, v in STYLE_SOURCES.items() if k in styles} if not args.midi_dir else {},
                          "chord_sources": {k: v for k, v in CHORD_SOURCES.items() if k in styles}
                          if not args.midi_dir else {s: "inferred per bar from the melody" for s in styles},
                          "pieces": split_counts(data, styles), "discarded": data.get("discarded")},
        "command": COMMAND + (f" --midi-dir {args.midi_dir}" if args.midi_dir else ""),
        "seed": args.seed,
    }
    card = {
        "name": args.name, "version": 1, "task": "melody continuation (next 16th-step event), style-conditioned",
        **common,
        "config": cfg.to_dict(),
        "training": {"epochs_run": len(history["loss"]), "train_pieces": n_train, "train_windows": n_windows,
                     "window": args.window, "batch": args.batch, "lr": args.lr, "seconds": round(seconds),
                     "splice": args.splice,
                     "devices": _devices(args),
                     "backend": keras.backend.backend(), "final_val_loss": float(min(history.get("val_loss", [float("nan")]))),
                     "history": {k: [round(float(v), 4) for v in vals] for k, vals in history.items()}},
        "critic": f"{args.critic_name}.keras",
        "chord_model": f"{args.name}_chords.json.gz",
        "chord_model_info": {"kind": "per-style chord 3-gram over chord slots (half bar in 4/4), Witten-Bell "
                                     "back-off, key-relative", "validation": prog_stats},
        "swing": style_swing(data, styles),
        "stand_ins": {g: {"style": st, "why": REASONS[g]} for g, st in STAND_INS.items() if st in styles},
        "metrics": {}, "baseline": "5-gram Markov model with Witten-Bell interpolated back-off, per style "
                                    "(python -m training melody-eval fills in the numbers)",
    }
    # save an uncompiled copy: the optimizer state would triple the file for nothing
    plain = build_model(cfg)
    plain.set_weights(model.get_weights())
    plain.save(out / f"{args.name}.keras")
    (out / f"{args.name}.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    plain_critic = build_critic(len(styles), N_FEATURES)
    plain_critic.set_weights(critic.get_weights())
    plain_critic.save(out / f"{args.critic_name}.keras")
    ccard = {
        "name": args.critic_name, "version": 1,
        "task": "symbolic style classifier on 4-bar melody excerpts (critic for melody continuations)",
        "labels": styles, **common,
        "input_spec": {**common["input_spec"], "features": N_FEATURES,
                       "feature_fn": "gtzcomposer.ml.melody.encoding.style_features"},
        "training": {"excerpts": n_excerpts, "bars": 4},
        "metrics": {"val_excerpt_accuracy": critic_val_acc},
    }
    (out / f"{args.critic_name}.json").write_text(json.dumps(ccard, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out / (args.name + '.keras')} and {out / (args.critic_name + '.keras')} "
          f"({seconds / 60:.1f} min melody training)")
    return 0
