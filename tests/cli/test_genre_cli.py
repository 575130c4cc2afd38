"""gtzcomposer genre: JSON schema, table, errors per file (exit 2), without the backbone.

A detector stand-in maps a file to real musicnn taggrams of the repository's reference clips
(tests/data/musicnn_reference; the real head runs, no shared data needed); the audio front end is
covered by the end-to-end tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gtzcomposer import cli
from gtzcomposer.commands import genre as cmd
from gtzcomposer.ml import genre as g


class TaggramDetector(g.GenreDetector):
    """detect(path): bad paths go through the real checks; a .npy file holds a taggram."""

    def detect(self, path_or_samples, sr=None, progress=None, is_cancelled=None, partial=None):
        p = Path(path_or_samples)
        if not p.exists() or p.is_dir() or p.suffix != ".npy":
            return super().detect(path_or_samples, sr, progress, is_cancelled)
        if progress:
            progress(1.0, "done")
        return self.detect_taggram(np.load(p))


REFERENCE = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference" / "reference.npz"


@pytest.fixture
def clip_files(tmp_path):
    with np.load(REFERENCE) as d:
        clips = [d[f"{name}/taggram"] for name in ("chorale_organ", "jazz_combo", "piano_classical", "rock_band",
                                                    "dance_synth")]
    b = np.concatenate(clips + clips[:2])[:40]  # 40 patches: about 41 s
    files = []
    for name, rows in (("a", np.concatenate(clips[:2])), ("b", b)):
        f = tmp_path / f"{name}.npy"
        np.save(f, rows)
        files.append(f)
    return files


def _args(*argv):
    return cli.build_parser().parse_args(["genre", *map(str, argv)])


def validate_schema(doc: dict, segments: bool) -> None:
    assert doc["schema"] == 1
    assert doc["labels"] == list(g.GENRES)
    assert isinstance(doc["files"], list)
    for entry in doc["files"]:
        assert isinstance(entry["file"], str)
        if "error" in entry:
            assert set(entry) == {"file", "error"} and isinstance(entry["error"], str) and entry["error"]
            continue
        keys = {"file", "duration", "top", "genres", "patches"} | ({"segments"} if segments else set())
        assert set(entry) - {"warning"} == keys
        assert isinstance(entry["duration"], float) and entry["duration"] > 0
        names = [x["genre"] for x in entry["genres"]]
        assert sorted(names) == sorted(g.GENRES)
        probs = [x["probability"] for x in entry["genres"]]
        assert probs == sorted(probs, reverse=True)
        assert sum(probs) == pytest.approx(1.0, abs=1e-4)
        assert entry["top"] == names[0]
        if segments:
            last_end = 0.0
            for s in entry["segments"]:
                assert set(s) == {"start", "end", "top", "probabilities"}
                assert s["start"] >= last_end - 1e-6 and s["end"] > s["start"]
                assert list(s["probabilities"]) == list(g.GENRES)
                assert sum(s["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
                assert s["top"] == max(s["probabilities"], key=s["probabilities"].get)
                last_end = s["end"]
            assert entry["segments"][-1]["end"] == pytest.approx(entry["duration"], abs=1e-3)


def test_json_schema_with_segments(clip_files, capsys):
    rc = cmd.run(_args(*clip_files, "--json", "--segments"), detector=TaggramDetector())
    assert rc == 0
    doc = json.loads(capsys.readouterr().out)
    validate_schema(doc, segments=True)
    assert [e["file"] for e in doc["files"]] == [str(f) for f in clip_files]
    assert doc["files"][1]["patches"] == 40
    assert len(doc["files"][1]["segments"]) == 4  # patch starts 0 .. 38.7 s -> 4 spans of 10 s


def test_json_without_segments_and_a_failing_file(clip_files, tmp_path, capsys):
    missing = tmp_path / "missing.wav"
    rc = cmd.run(_args(clip_files[0], missing, clip_files[1], "--json"), detector=TaggramDetector())
    assert rc == 2
    doc = json.loads(capsys.readouterr().out)
    validate_schema(doc, segments=False)
    assert [("error" in e) for e in doc["files"]] == [False, True, False]
    assert "missing.wav" in doc["files"][1]["error"] and "no such file" in doc["files"][1]["error"]


def test_table_output(clip_files, tmp_path, capsys):
    rc = cmd.run(_args(clip_files[0], tmp_path, "--segments", "--top", "3"), detector=TaggramDetector())
    out, err = capsys.readouterr()
    assert rc == 2
    assert "is a folder" in err
    lines = out.splitlines()
    assert lines[0].startswith(str(clip_files[0])) and "top:" in lines[0]
    assert len([x for x in lines if x.startswith("  ") and "%" in x and not x.startswith("    ")]) == 3
    assert "segments:" in out


def test_cli_missing_file_exit_code_2(tmp_path, capsys):
    """Through the real entry point and the real detector: no backbone is needed to fail early."""
    rc = cli.main(["genre", str(tmp_path / "nope.mp3"), "--json"])
    assert rc == 2
    doc = json.loads(capsys.readouterr().out)
    validate_schema(doc, segments=False)
    assert doc["files"][0]["file"].endswith("nope.mp3")


def test_cli_help_is_fast_and_light():
    out = subprocess.run([sys.executable, "-m", "gtzcomposer", "genre", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "--segments" in out.stdout and "--json" in out.stdout


@pytest.mark.slow
def test_end_to_end_on_a_generated_wav(tmp_path):
    import soundfile as sf

    sr = 22050
    t = np.arange(int(sr * 16)) / sr  # patches start at 0 .. 12.7 s: two 10 s segments
    tone = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    wav = tmp_path / "clip.wav"
    sf.write(wav, np.stack([tone, tone], 1), sr)
    bad = tmp_path / "not_audio.wav"
    bad.write_text("this is not audio")
    out = subprocess.run([sys.executable, "-m", "gtzcomposer", "genre", str(wav), str(bad), "--json", "--segments"],
                         capture_output=True, text=True)
    assert out.returncode == 2, out.stderr
    doc = json.loads(out.stdout)
    validate_schema(doc, segments=True)
    assert doc["files"][0]["duration"] == pytest.approx(16, abs=0.01)
    assert len(doc["files"][0]["segments"]) == 2
    assert "error" in doc["files"][1]


@pytest.mark.slow
def test_a_clip_too_short_to_trust_is_reported_with_a_warning(tmp_path):
    """A 1.5 s clip once got a genre with no word of doubt; the real detector, end to end."""
    import soundfile as sf

    sr = 22050
    t = np.arange(int(sr * 1.5)) / sr
    wav = tmp_path / "short.wav"
    sf.write(wav, 0.3 * np.sin(2 * np.pi * 330 * t), sr)
    out = subprocess.run([sys.executable, "-m", "gtzcomposer", "genre", str(wav), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    entry = json.loads(out.stdout)["files"][0]
    assert entry["duration"] == pytest.approx(1.5, abs=0.01)
    assert "Only 1.5 s of audio" in entry["warning"] and "padded with silence" in entry["warning"]
    table = subprocess.run([sys.executable, "-m", "gtzcomposer", "genre", str(wav)], capture_output=True, text=True,
                           timeout=300)
    assert "warning: Only 1.5 s of audio" in table.stdout
