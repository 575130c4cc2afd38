"""training/genre.py: folds by clip, metrics, the GTZAN downloader (local archives only), determinism."""

from __future__ import annotations

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest

from training import genre as tg


def _ids(per_genre=10, genres=("blues", "rock")):
    ids, y = [], []
    for gi, gname in enumerate(genres):
        for n in range(per_genre):
            for _ in range(3):
                ids.append(f"{gname}/{gname}.{n * 2 + 7:05d}.au")
                y.append(gi)
    return np.array(ids), np.array(y)


def test_contiguous_folds_split_by_clip_never_by_patch():
    ids, y = _ids()
    folds = tg.contiguous_folds(ids, y, k=5)
    assert set(folds) == set(ids.tolist())  # one fold per clip, so every patch of a clip shares it
    for gname in ("blues", "rock"):
        cs = sorted((c for c in folds if c.startswith(gname)), key=tg.clip_number)
        fs = [folds[c] for c in cs]
        assert fs == sorted(fs)  # contiguous runs of clip numbers
        assert [fs.count(k) for k in range(5)] == [2] * 5


def test_clip_stats_and_labels():
    ids = np.array(["a/a.00001.au"] * 2 + ["b/b.00002.au"] * 3)
    x = np.arange(5 * 50, dtype=np.float32).reshape(5, 50)
    clips, f = tg.clip_stats(x, ids)
    assert clips == ["a/a.00001.au", "b/b.00002.au"] and f.shape == (2, 150)
    np.testing.assert_allclose(f[1, :50], x[2:].mean(0))
    np.testing.assert_allclose(f[1, 100:], x[4])
    _, labels = tg.clip_labels(ids, np.array([3, 3, 1, 1, 1]))
    assert labels.tolist() == [3, 1]


def test_fold_layouts_are_rotated_contiguous_runs():
    ids, y = _ids(per_genre=20)
    clips, labels = tg.clip_labels(ids, y)
    base = tg.contiguous_folds(ids, y, k=5)
    np.testing.assert_array_equal(tg.fold_layout(clips, labels, 0), [base[c] for c in clips])
    layouts = [tg.fold_layout(clips, labels, r) for r in range(4)]
    assert any((layouts[0] != lay).any() for lay in layouts[1:])  # the repetitions differ
    np.testing.assert_array_equal(tg.fold_layout(clips, labels, 2), layouts[2])  # seeded
    for lay in layouts:
        for g in (0, 1):
            idx = sorted(np.flatnonzero(labels == g), key=lambda i: tg.clip_number(clips[i]))
            fs = lay[idx].tolist()
            assert [fs.count(k) for k in range(5)] == [4] * 5
            # contiguous up to one rotation: the fold changes at most 5 times around the circle
            assert sum(fs[i] != fs[i - 1] for i in range(len(fs))) <= 5


def test_fit_linear_folds_the_standardisation_into_one_affine_map():
    pytest.importorskip("sklearn", reason="the training extra (pip install '.[training]') brings it")
    from sklearn.discriminant_analysis import LinearDiscriminantAnalysis
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 8)
    feats = rng.normal(size=(80, 50)) * rng.uniform(0.1, 5, 50) + labels[:, None] * rng.normal(size=50)
    for recipe in ({"model": "lda", "shrinkage": "auto"}, {"model": "lr", "C": 0.3}):
        coef, b = tg.fit_linear(feats, labels, recipe)
        assert coef.shape == (50, 10) and b.shape == (10,)
        z = tg.linear_logits(feats, coef, b)
        if recipe["model"] == "lda":
            ref = make_pipeline(StandardScaler(), LinearDiscriminantAnalysis(solver="lsqr", shrinkage="auto")).fit(feats, labels)
            np.testing.assert_allclose(z, ref.decision_function(feats), rtol=1e-3, atol=1e-3)
        assert (z.argmax(1) == labels).mean() > 0.9
    # a genre missing from the training clips gets a very low logit
    coef, b = tg.fit_linear(feats[labels < 9], labels[labels < 9], {"model": "lda"})
    assert (tg.linear_logits(feats, coef, b).argmax(1) != 9).all()


def test_metrics_by_hand():
    m = tg.metrics(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), ("x", "y"))
    assert m["accuracy"] == 0.75
    assert m["confusion_matrix"] == [[1, 1], [0, 2]]
    assert m["per_genre_f1"]["x"] == pytest.approx(2 / 3)  # precision 1, recall 0.5
    assert m["per_genre_f1"]["y"] == pytest.approx(0.8)  # precision 2/3, recall 1


# ----------------------------------------------------------------------------- downloader

def _make_tar(path, members: dict[str, bytes], mode="w:gz"):
    with tarfile.open(path, mode) as t:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_file_url_verified_and_extracted(tmp_path):
    archive = tmp_path / "genres.tar.gz"
    sha = _make_tar(archive, {"genres/blues/blues.00000.au": b"\x2esnd fake", "genres/rock/rock.00001.au": b"x" * 100})
    dest = tmp_path / "out"
    assert tg.download(dest, archive.as_uri(), sha, log=lambda s: None) == dest
    assert (dest / "genres/blues/blues.00000.au").read_bytes() == b"\x2esnd fake"
    assert (dest / "genres/rock/rock.00001.au").stat().st_size == 100
    assert not list(dest.glob(".download-*"))  # the archive is removed after extraction


def test_download_plain_path_and_zip(tmp_path):
    archive = tmp_path / "g.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("jazz/jazz.00003.wav", b"RIFF....")
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    tg.download(tmp_path / "z", str(archive), sha.upper(), log=lambda s: None)
    assert (tmp_path / "z/jazz/jazz.00003.wav").read_bytes() == b"RIFF...."


def test_download_checksum_mismatch_extracts_nothing(tmp_path):
    archive = tmp_path / "genres.tar.gz"
    _make_tar(archive, {"a.txt": b"a"})
    dest = tmp_path / "out"
    with pytest.raises(tg.DownloadError, match="checksum mismatch"):
        tg.download(dest, archive.as_uri(), "0" * 64, log=lambda s: None)
    assert not (dest / "a.txt").exists() and not list(dest.iterdir())
    with pytest.raises(tg.DownloadError, match="sha256"):
        tg.download(dest, archive.as_uri(), None, log=lambda s: None)
    tg.download(dest, archive.as_uri(), None, verify=False, log=lambda s: None)  # explicit opt-out
    assert (dest / "a.txt").read_bytes() == b"a"


@pytest.mark.parametrize("name", ["../evil.txt", "/tmp/evil_abs.txt", "ok/../../evil.txt"])
def test_download_refuses_path_traversal(tmp_path, name):
    archive = tmp_path / "bad.tar"
    sha = _make_tar(archive, {"good.txt": b"g", name: b"evil"}, mode="w")
    dest = tmp_path / "deep" / "out"
    with pytest.raises(tg.DownloadError, match="outside"):
        tg.download(dest, str(archive), sha, log=lambda s: None)
    assert not (tmp_path / "deep" / "evil.txt").exists() and not (tmp_path / "evil.txt").exists()
    assert not (dest / "good.txt").exists()  # checked before anything is written


def test_download_refuses_links_and_zip_traversal(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as t:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        t.addfile(info)
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    with pytest.raises(tg.DownloadError, match="not a regular file"):
        tg.download(tmp_path / "o", str(archive), sha, log=lambda s: None)
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../zip_evil.txt", b"x")
    with pytest.raises(tg.DownloadError, match="outside"):
        tg.download(tmp_path / "o2", str(z), hashlib.sha256(z.read_bytes()).hexdigest(), log=lambda s: None)
    assert not (tmp_path / "zip_evil.txt").exists()


def test_zip_is_checked_whole_before_anything_is_written(tmp_path):
    z = tmp_path / "mixed.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("good.txt", b"g")
        link = zipfile.ZipInfo("later_link")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    dest = tmp_path / "out"
    with pytest.raises(tg.DownloadError, match="not a regular file"):
        tg.download(dest, str(z), hashlib.sha256(z.read_bytes()).hexdigest(), log=lambda s: None)
    assert not (dest / "good.txt").exists()


def test_download_missing_source_and_bad_archive(tmp_path):
    with pytest.raises(tg.DownloadError, match="no such file"):
        tg.download(tmp_path / "o", str(tmp_path / "nothing.tar.gz"), None, verify=False, log=lambda s: None)
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not an archive at all")
    with pytest.raises(tg.DownloadError, match="neither a tar nor a zip"):
        tg.download(tmp_path / "o", str(junk), hashlib.sha256(junk.read_bytes()).hexdigest(), log=lambda s: None)


def test_download_through_the_training_command(tmp_path, capsys):
    from training.__main__ import main

    archive = tmp_path / "genres.tar.gz"
    sha = _make_tar(archive, {"genres/pop/pop.00000.wav": b"p"})
    assert main(["genre", "--download", str(tmp_path / "d"), "--url", archive.as_uri(), "--sha256", sha]) == 0
    assert (tmp_path / "d/genres/pop/pop.00000.wav").exists()
    assert main(["genre", "--download", str(tmp_path / "e"), "--url", archive.as_uri(), "--sha256", "ab" * 32]) == 2
    assert "checksum mismatch" in capsys.readouterr().err


def test_read_split(tmp_path):
    (tmp_path / "train_filtered.txt").write_text("blues/blues.00001.wav\nrock/rock.00002.wav\n")
    (tmp_path / "test_filtered.txt").write_text("jazz/jazz.00003.wav\n")
    s = tg.read_split(tmp_path)
    assert s == {"train": ["blues/blues.00001", "rock/rock.00002"], "test": ["jazz/jazz.00003"]}


# ----------------------------------------------------------------------------- training

@pytest.mark.slow
def test_training_is_deterministic_and_writes_a_card(tmp_path, shared_data, monkeypatch):
    """A small run (10 clips per genre, 3 epochs) twice with one seed gives identical models."""
    pytest.importorskip("keras", reason="the training extra (pip install '.[training]') brings it")
    train, test = tg.load_taggrams(shared_data / "gtzan-musicnn")

    def subset(data, per_genre):
        x, y, ids = data
        keep = set()
        for gi in range(10):
            keep |= set(list(dict.fromkeys(ids[y == gi].tolist()))[:per_genre])
        m = np.isin(ids, list(keep))
        return x[m], y[m], ids[m]

    small_train, small_test = subset(train, 10), subset(test, 2)
    monkeypatch.setitem(tg.HPARAMS, "epochs", 3)
    cards, preds = [], []
    for run in range(2):
        out = tmp_path / f"m{run}"
        cards.append(tg.train_and_save(small_train, small_test, out, tmp_path / f"r{run}", seed=3,
                                       command="test", source="test", tag_names=list(tg.MSD_TAGS), log=lambda s: None))
        from gtzcomposer.ml.genre import GenreDetector

        preds.append(GenreDetector(out / "genre_head.keras").predict_patches(small_test[0]))
    np.testing.assert_array_equal(preds[0], preds[1])
    c = cards[0]
    assert c["labels"][0] == "blues" and c["seed"] == 3
    assert c["metrics"]["test_clip_accuracy"] == cards[1]["metrics"]["test_clip_accuracy"]
    assert len(c["metrics"]["test_confusion_matrix"]) == 10 and sum(map(sum, c["metrics"]["test_confusion_matrix"])) == 20
    for f in ("README.md", "confusion_matrix.png", "counts.png", "tag_means.png"):
        assert (tmp_path / "r0" / f).stat().st_size > 0


@pytest.mark.slow
def test_training_from_gtzan_audio(tmp_path, monkeypatch):
    """--gtzan: taggrams computed with our backbone port from a tiny synthetic 'GTZAN' folder."""
    pytest.importorskip("keras", reason="the training extra (pip install '.[training]') brings it")
    import soundfile as sf

    from training.__main__ import main

    root = tmp_path / "genres"
    rng = np.random.default_rng(0)
    train_lines, test_lines = [], []
    for gi, gname in enumerate(tg.GENRE_NAMES):
        (root / gname).mkdir(parents=True)
        for n in range(6):
            t = np.arange(int(22050 * 3.5)) / 22050
            x = 0.2 * np.sin(2 * np.pi * (110 * (gi + 1)) * t) + 0.02 * rng.normal(size=len(t))
            name = f"{gname}.{n:05d}"
            sf.write(root / gname / f"{name}.wav", x.astype(np.float32), 22050)
            (test_lines if n == 5 else train_lines).append(f"{gname}/{name}.wav")
    (tmp_path / "train_filtered.txt").write_text("\n".join(train_lines) + "\n")
    (tmp_path / "test_filtered.txt").write_text("\n".join(test_lines) + "\n")
    monkeypatch.setitem(tg.HPARAMS, "epochs", 2)
    out = tmp_path / "models"
    assert main(["genre", "--gtzan", str(root), "--split", str(tmp_path), "--out", str(out),
                 "--reports", str(tmp_path / "rep")]) == 0
    import json

    card = json.loads((out / "genre_head.json").read_text())
    assert card["data"]["train_clips"] == 50 and card["data"]["test_clips"] == 10
    assert "--gtzan" in card["command"]
    # fine-tuning backbone + head end to end
    monkeypatch.setitem(tg.FINE_TUNE, "max_epochs", 1)
    ft = tmp_path / "ft"
    assert main(["genre", "--gtzan", str(root), "--split", str(tmp_path), "--fine-tune-backbone", "--out", str(ft),
                 "--reports", str(tmp_path / "rep2")]) == 0
    ft_card = json.loads((ft / "genre_finetuned.json").read_text())
    assert ft_card["input_kind"] == "patches" and "--fine-tune-backbone" in ft_card["command"]
    assert 0 <= ft_card["metrics"]["test_clip_accuracy"] <= 1
    from gtzcomposer.ml.genre import GenreDetector

    det = GenreDetector(ft / "genre_finetuned.keras")
    r = det.load().detect(root / "rock" / "rock.00005.wav")
    assert det.end_to_end and r.probabilities.sum() == pytest.approx(1.0, abs=1e-5) and len(r.patch_times) == 1
    assert main(["genre", "--taggrams", str(tmp_path), "--fine-tune-backbone"]) == 2  # needs audio


def test_search_table_selects_the_best_eligible_candidate(tmp_path):
    """training/genre_search.py: ensembles are added, reference-only models are never selected."""
    pytest.importorskip("matplotlib", reason="the training extra (pip install '.[training]') brings it")
    from training import genre_search as gs

    ids, y = _ids(per_genre=10, genres=("blues", "rock"))
    clips, labels = tg.clip_labels(ids, y)
    rng = np.random.default_rng(0)

    def oof(p_right):  # (reps, clips, 10) log-probabilities, right on a fraction p_right of clips
        out = np.full((2, len(clips), 10), np.log(0.01))
        for r in range(2):
            right = rng.uniform(size=len(clips)) < p_right
            out[r, np.arange(len(clips)), np.where(right, labels, 1 - labels)] = np.log(0.9)
        return out

    names = ["lr-mean-tag C=1", "knn15-mean-logit", "patch-mlp (ref)"]
    o = np.stack([oof(0.8), oof(1.0), oof(0.6)])
    acc = np.stack([gs._fold_acc(o[i], labels, clips, tg.fold_layout) for i in range(3)])
    np.savez(tmp_path / "a.npz", names=np.array(names), eligible=np.array([True, False, True]), acc=acc, oof=o,
             labels=labels)
    res = gs.table([tmp_path / "a.npz"], "patch-mlp (ref)", clips, tmp_path / "t.md", tmp_path / "t.json",
                   tmp_path / "t.png")
    rows = {r["candidate"]: r for r in res["rows"]}
    assert len(rows) == 4 and any(n.startswith("ensemble: lr-mean-tag C=1 + patch-mlp") for n in rows)
    assert rows["knn15-mean-logit"]["cv_mean"] == 1.0 and res["selected"] != "knn15-mean-logit"
    best = max((r for r in res["rows"] if r["eligible"]), key=lambda r: r["cv_mean"])
    assert res["selected"] == best["candidate"]
    assert rows["patch-mlp (ref)"]["paired_diff_mean"] == 0 and rows["lr-mean-tag C=1"]["folds"] == 10
    assert "**(selected)**" in (tmp_path / "t.md").read_text() and (tmp_path / "t.png").stat().st_size > 0
