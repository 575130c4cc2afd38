"""gtzcomposer continue SEED --style S ... -o OUTDIR"""

from __future__ import annotations

import json

import pytest

from gtzcomposer.cli import main
from gtzcomposer.resources import model_path
from tests.helpers import melody_song, two_track_song

pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")


@pytest.fixture
def seed_file(tmp_path):
    from gtzcomposer.io.formats import save_song

    path = tmp_path / "seed.mid"
    save_song(melody_song(meter=(3, 4), key="G"), path)
    return path


def test_writes_ranked_files_and_summary(seed_file, tmp_path, capsys):
    from gtzcomposer.io.formats import load_song

    out = tmp_path / "out"
    rc = main(["continue", str(seed_file), "--style", "scottish", "--bars", "2", "--variations", "3", "--seed", "5",
               "-o", str(out)])
    assert rc == 0
    summary = json.loads((out / "continuations.json").read_text())
    assert summary["schema"] == 1 and summary["style"] == "scottish" and summary["seed"] == 5
    assert summary["time_signature"] == "3/4" and summary["key"] == "G major"
    assert summary["style_strength"] == 0.75  # the default (core.generation.DEFAULT_STYLE_STRENGTH)
    assert summary["end_tick"] - summary["start_tick"] == 2 * 1440
    assert [r["rank"] for r in summary["results"]] == [1, 2, 3]
    scores = [r["score"] for r in summary["results"]]
    assert scores == sorted(scores, reverse=True)
    seed = load_song(seed_file)
    for r in summary["results"]:
        assert r["file"] == f"seed_scottish_rank{r['rank']}.mid"
        song = load_song(out / r["file"])
        notes = song.tracks[0].notes
        assert notes[:len(seed.tracks[0].notes)] == seed.tracks[0].notes
        cont = notes[len(seed.tracks[0].notes):]
        assert len(cont) == r["notes"] > 0
        assert cont[0].start == summary["start_tick"] == seed.tracks[0].end_tick
        assert max(n.end for n in cont) <= summary["end_tick"]
    assert "rank1" in capsys.readouterr().out

    again = tmp_path / "again"
    assert main(["continue", str(seed_file), "--style", "scottish", "--bars", "2", "--variations", "3",
                 "--seed", "5", "-o", str(again)]) == 0
    assert json.loads((again / "continuations.json").read_text())["results"] == summary["results"]


def test_track_choice_and_top_line(tmp_path, capsys):
    from gtzcomposer.io.formats import save_song

    path = tmp_path / "band.mid"
    save_song(two_track_song(), path)
    out = tmp_path / "o"
    assert main(["continue", str(path), "--style", "folk", "--track", "1", "--variations", "1", "--seed", "1",
                 "--key-lock", "-o", str(out)]) == 0
    summary = json.loads((out / "continuations.json").read_text())
    assert summary["track"] == 1 and summary["key_lock"] is True


@pytest.mark.parametrize("extra, message", [
    (["--style", "polka"], "unknown style"),
    (["--style", "folk", "--track", "7"], "tracks"),
    (["--style", "folk", "--bars", "0"], "bars"),
])
def test_bad_input_exits_2(seed_file, tmp_path, capsys, extra, message):
    assert main(["continue", str(seed_file), *extra, "-o", str(tmp_path / "x")]) == 2
    assert message in capsys.readouterr().err


def test_too_short_seed_exits_2(tmp_path, capsys):
    from gtzcomposer.io.formats import save_song

    path = tmp_path / "short.mid"
    save_song(melody_song(pitches=(60,), step=120), path)
    assert main(["continue", str(path), "--style", "folk", "-o", str(tmp_path / "x")]) == 2
    assert "beat" in capsys.readouterr().err


def test_out_that_is_a_file_exits_2_and_leaves_the_file(seed_file, tmp_path, capsys):
    existing = tmp_path / "notes.txt"
    existing.write_text("keep me")
    assert main(["continue", str(seed_file), "--style", "folk", "--variations", "1", "-o", str(existing)]) == 2
    err = capsys.readouterr().err
    assert "is a file, not a folder" in err and "Traceback" not in err
    assert existing.read_text() == "keep me"


def test_summary_lists_chords_per_bar_and_the_stand_in(seed_file, tmp_path, capsys):
    out = tmp_path / "rock"
    assert main(["continue", str(seed_file), "--style", "rock", "--bars", "3", "--variations", "2", "--seed", "4",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = json.loads((out / "continuations.json").read_text())
    assert summary["style"] == "rock" and summary["model_style"] == "blues"
    assert "rock has no melody data of its own" in summary["stand_in"] and "blues" in summary["stand_in"]
    assert "no melody data of its own" in printed and "chords:" in printed
    assert summary["swing"] == 0.5  # a stand-in plays straight
    assert summary["chord_source"] == "proposed"
    bars = summary["chords"]
    first_bar = summary["start_tick"] // 1440 + 1  # 3/4 seed; the continuation may start inside a bar
    last_bar = (summary["end_tick"] - 1) // 1440 + 1
    assert [b["bar"] for b in bars] == list(range(first_bar, last_bar + 1))
    assert all(b["chords"] and 1 <= b["chords"][0]["beat"] < 4 and isinstance(b["chords"][0]["chord"], str)
               for b in bars)
    assert bars[0]["chords"][0]["beat"] == 1 + (summary["start_tick"] % 1440) / 480
    assert all(b["chords"][0]["beat"] == 1.0 for b in bars[1:])
    from gtzcomposer.core.chords import parse_symbol

    for b in bars:
        for c in b["chords"]:
            parse_symbol(c["chord"])  # real chord symbols of the one vocabulary

    jazz = tmp_path / "jazz"
    assert main(["continue", str(seed_file), "--style", "jazz", "--bars", "2", "--variations", "1", "--seed", "4",
                 "-o", str(jazz)]) == 0
    js = json.loads((jazz / "continuations.json").read_text())
    assert js["stand_in"] is None and js["model_style"] == "jazz" and js["swing"] > 0.55


def test_models_names_the_stand_ins(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "stand-in" in out
    for genre, style in (("rock", "blues"), ("country", "folk"), ("metal", "classical"), ("disco", "pop")):
        assert f"{genre} -> {style}" in out


def test_help_names_the_default_style_strength(capsys):
    from gtzcomposer.core.generation import DEFAULT_STYLE_STRENGTH

    with pytest.raises(SystemExit) as exit_:
        main(["continue", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"default {DEFAULT_STYLE_STRENGTH:g})" in text and "default None" not in text
