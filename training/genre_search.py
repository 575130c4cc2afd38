"""Repeated artist-aware cross-validation of genre-head candidates (training clips only).

``python -m training.genre_search --taggrams DIR [--reps 5] [--mlp]`` prints a table: for every
candidate, the mean +- std of the clip accuracy over reps x 5 folds, and the paired difference to
the reference (the previous bundled recipe, a patch MLP). The test split is never read.

Fold layouts: within each genre the training clips are sorted by clip number (GTZAN numbers an
artist's clips consecutively) and cut into 5 contiguous runs; repetition r rotates each genre's
ordering by a random offset (seeded by r; r = 0: no rotation), so every layout keeps artists
together except at one cut per genre.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from training.genre import N_FOLDS, TRAIN_FILE, clip_labels, fold_layout, load_taggram_file

EPS = 1e-4


def logit(x):
    x = np.clip(x, EPS, 1 - EPS)
    return np.log(x) - np.log1p(-x)


def log_softmax(z):
    z = z - z.max(1, keepdims=True)
    return z - np.log(np.exp(z).sum(1, keepdims=True))


class Data:
    def __init__(self, folder: Path):
        x, y, ids = load_taggram_file(Path(folder) / TRAIN_FILE)
        self.x, self.y, self.ids = x, y, ids
        self.clips, self.labels = clip_labels(ids, y)
        self.patch_clip = np.array([{c: i for i, c in enumerate(self.clips)}[c] for c in ids.tolist()])
        self.rows = [np.flatnonzero(self.patch_clip == i) for i in range(len(self.clips))]
        self.lx = logit(x)

    def stats(self, feat: str, rows_list=None):
        rows_list = self.rows if rows_list is None else rows_list
        src = self.lx if feat.startswith("logit") else self.x
        out = []
        for r in rows_list:
            v = src[r]
            parts = [v.mean(0)]
            if feat.endswith("stats"):
                parts += [v.std(0), v.max(0)]
            if feat.endswith("pct"):
                parts += [v.std(0), np.percentile(v, 10, 0), np.percentile(v, 90, 0)]
            out.append(np.concatenate(parts))
        return np.stack(out)

    def windows(self, clip_idx, n_per_clip: int, rng, lo: int = 10, hi: int = 20):
        """Random contiguous windows of lo..hi patches from each clip -> (rows lists, labels)."""
        rows, labs = [], []
        for i in clip_idx:
            r = self.rows[i]
            for _ in range(n_per_clip):
                w = int(rng.integers(lo, min(hi, len(r)) + 1)) if len(r) > lo else len(r)
                s = int(rng.integers(0, len(r) - w + 1))
                rows.append(r[s:s + w])
                labs.append(self.labels[i])
        return rows, np.array(labs)


def sk_candidate(kind: str, feat: str, C: float = 1.0, aug: int = 0):
    """-> fit_predict(data, train_clips, val_clips, seed) returning clip log-probabilities."""
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    def make():
        if kind == "lr":
            return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=5000))
        if kind == "lda":
            return make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto"))
        if kind == "rbf":
            return make_pipeline(StandardScaler(), SVC(C=C, probability=True, random_state=0))
        if kind == "knn":
            return make_pipeline(StandardScaler(), KNeighborsClassifier(int(C), weights="distance"))
        raise ValueError(kind)

    def fit_predict(d: Data, tr, va, seed):
        f = d.stats(feat)
        ftr, ltr = f[tr], d.labels[tr]
        if aug:
            rows, labs = d.windows(tr, aug, np.random.default_rng(seed))
            ftr = np.concatenate([ftr, d.stats(feat, rows)])
            ltr = np.concatenate([ltr, labs])
        m = make().fit(ftr, ltr)
        return np.log(np.clip(m.predict_proba(f[va]), 1e-7, 1))

    return fit_predict


def mlp_candidate():
    """The patch MLP member of training.genre (HPARAMS, fixed epochs), clip = mean patch log-probability."""
    def fit_predict(d: Data, tr, va, seed):
        from gtzcomposer.ml.genre import aggregate
        from training.genre import train_mlp

        rtr = np.concatenate([d.rows[i] for i in tr])
        m = train_mlp(d.x[rtr], d.y[rtr], seed)
        return np.stack([np.log(aggregate(_softmax(np.asarray(m.predict_on_batch(d.x[d.rows[i]]))))) for i in va])

    return fit_predict


def _softmax(z):
    return np.exp(log_softmax(z))


def candidates(with_mlp: bool):
    c = {}
    for feat in ("tag", "logit"):
        for C in (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0):
            c[f"lr-mean-{feat} C={C}"] = (True, sk_candidate("lr", feat, C))
        c[f"lda-mean-{feat}"] = (True, sk_candidate("lda", feat))
    for C in (0.003, 0.01, 0.03, 0.1):
        c[f"lr-mean-logit C={C} +win10"] = (True, sk_candidate("lr", "logit", C, aug=10))
    for feat in ("tag", "logit"):
        c[f"lda-mean-{feat} +win10"] = (True, sk_candidate("lda", feat, aug=10))
    # not expressible as a per-patch model (need clip statistics beyond the mean): reference only
    for feat in ("tag-stats", "logit-stats", "logit-pct"):
        for C in (0.003, 0.03, 0.3, 1.0):
            c[f"lr-{feat} C={C}"] = (False, sk_candidate("lr", feat, C))
    for C in (1.0, 10.0):
        c[f"rbf-mean-logit C={C}"] = (False, sk_candidate("rbf", "logit", C))
    c["knn15-mean-logit"] = (False, sk_candidate("knn", "logit", 15))
    if with_mlp:
        c["patch-mlp (previous recipe, 1 member, 23 epochs)"] = (True, mlp_candidate())
    return c


def run_cv(d: Data, cands: dict, reps: int, log=print):
    """-> {name: (eligible, acc (reps*k,), oof logp (reps, n_clips, 10))}"""
    out = {}
    n = len(d.clips)
    layouts = [fold_layout(d.clips, d.labels, r) for r in range(reps)]
    for name, (eligible, fp) in cands.items():
        accs, oofs = [], []
        for r, fold in enumerate(layouts):
            oof = np.zeros((n, 10))
            for k in range(N_FOLDS):
                tr, va = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
                oof[va] = fp(d, tr, va, seed=100 * r + k)
                accs.append(float((oof[va].argmax(1) == d.labels[va]).mean()))
            oofs.append(oof)
        out[name] = (eligible, np.array(accs), np.stack(oofs))
        a = out[name][1]
        log(f"{name:55s} {a.mean():.4f} +- {a.std():.4f}{'' if eligible else '  (reference)'}")
    return out


def table(files: list[Path], reference: str, clips: list[str], out_md: Path | None = None, out_json: Path | None = None,
          out_plot: Path | None = None) -> dict:
    """Merge saved runs, add log-space ensembles (best eligible linear candidate + patch MLP),
    apply the selection rule and print/write the table with paired differences to ``reference``."""
    acc, oof, elig, names = {}, {}, {}, []
    labels = None
    for f in files:
        with np.load(f) as z:
            labels = z["labels"]
            for i, n in enumerate(z["names"].tolist()):
                acc[n], oof[n], elig[n] = z["acc"][i], z["oof"][i], bool(z["eligible"][i])
                names.append(n)
    reps = next(iter(oof.values())).shape[0]
    layout = fold_layout
    mlp = [n for n in names if n.startswith("patch-mlp")]
    linear = [n for n in names if elig[n] and n not in mlp]
    if mlp and linear:
        best_lin = max(linear, key=lambda n: acc[n].mean())
        ens = f"ensemble: {best_lin} + {mlp[0].split(' (')[0]} (mean log-prob)"
        lp = (log_softmax(oof[best_lin].reshape(-1, 10)) + log_softmax(oof[mlp[0]].reshape(-1, 10))).reshape(oof[mlp[0]].shape)
        oof[ens], elig[ens] = lp, True
        acc[ens] = _fold_acc(lp, labels, clips, layout)
        names.append(ens)
    ref = acc[reference]
    rows = []
    for n in names:
        d = acc[n] - ref
        rows.append({"candidate": n, "eligible": elig[n], "cv_mean": float(acc[n].mean()), "cv_std": float(acc[n].std()),
                     "paired_diff_mean": float(d.mean()), "paired_diff_std": float(d.std()),
                     "folds_better": int((d > 0).sum()), "folds_worse": int((d < 0).sum()), "folds": int(len(d))})
    rows.sort(key=lambda r: -r["cv_mean"])
    selected = next(r["candidate"] for r in rows if r["eligible"])
    lines = [f"Repeated artist-aware CV: {reps} fold layouts x {N_FOLDS} folds of the 443 training clips; clip accuracy "
             f"mean +- std over the folds; paired difference to '{reference}' on the same folds.", "",
             "| candidate | eligible | CV accuracy | paired diff vs reference | folds better / worse |", "|---|---|---|---|---|"]
    for r in rows:
        mark = " **(selected)**" if r["candidate"] == selected else ""
        lines.append(f"| {r['candidate']}{mark} | {'yes' if r['eligible'] else 'reference only'} | "
                     f"{r['cv_mean']:.3f} +- {r['cv_std']:.3f} | {r['paired_diff_mean']:+.3f} +- {r['paired_diff_std']:.3f} | "
                     f"{r['folds_better']} / {r['folds_worse']} |")
    text = "\n".join(lines) + "\n"
    print(text)
    print(f"selected: {selected}")
    res = {"rows": rows, "selected": selected, "reference": reference, "reps": int(reps), "folds": N_FOLDS}
    if out_md:
        out_md.write_text(text, encoding="utf-8")
    if out_json:
        out_json.write_text(json.dumps(res, indent=1) + "\n", encoding="utf-8")
    if out_plot:
        plot(rows, selected, acc, out_plot)
    return res


def plot(rows: list[dict], selected: str, acc: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = rows[::-1]
    fig, ax = plt.subplots(figsize=(9, 0.28 * len(rows) + 1.2))
    for i, r in enumerate(rows):
        color = "tab:red" if r["candidate"] == selected else ("tab:blue" if r["eligible"] else "tab:gray")
        a = acc[r["candidate"]]
        ax.plot(a, np.full(len(a), i) + np.linspace(-0.2, 0.2, len(a)), ".", color=color, alpha=0.25, ms=3)
        ax.errorbar(r["cv_mean"], i, xerr=r["cv_std"], fmt="o", color=color, ms=4, capsize=2)
    ax.set_yticks(range(len(rows)), [r["candidate"] for r in rows], fontsize=7)
    ax.set_xlabel("clip accuracy per held-out fold (mean +- std; red: selected, gray: reference only)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fold_acc(lp, labels, clips, layout):
    accs = []
    for r in range(lp.shape[0]):
        fold = layout(clips, labels, r)
        for k in range(N_FOLDS):
            va = fold == k
            accs.append(float((lp[r][va].argmax(1) == labels[va]).mean()))
    return np.array(accs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--taggrams", type=Path, required=True)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mlp", action="store_true", help="also the patch MLP (slow)")
    ap.add_argument("--only", help="comma-separated candidate-name prefixes")
    ap.add_argument("--save", type=Path, help="write accuracies and out-of-fold log-probs (.npz)")
    ap.add_argument("--table", type=Path, nargs="+", help="merge saved runs (.npz) into the selection table")
    ap.add_argument("--reference", default="patch-mlp (previous recipe, 1 member, 23 epochs)")
    ap.add_argument("--md", type=Path, help="with --table: write the table as markdown")
    ap.add_argument("--json", type=Path, help="with --table: write the table as JSON")
    ap.add_argument("--plot", type=Path, help="with --table: write a plot of the per-fold accuracies")
    a = ap.parse_args(argv)
    d = Data(a.taggrams)
    if a.table:
        table(a.table, a.reference, d.clips, a.md, a.json, a.plot)
        return 0
    cands = candidates(a.mlp)
    if a.only:
        pre = a.only.split(",")
        cands = {k: v for k, v in cands.items() if any(k.startswith(p) for p in pre)}
    res = run_cv(d, cands, a.reps)
    if a.save:
        np.savez(a.save, names=np.array(list(res)), eligible=np.array([v[0] for v in res.values()]),
                 acc=np.stack([v[1] for v in res.values()]), oof=np.stack([v[2] for v in res.values()]),
                 labels=d.labels)
        print(json.dumps({"saved": str(a.save)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
