"""gtzcomposer continue ... --parts melody,chords,bass,drums: the band in the written files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import mido
import pytest

from gtzcomposer.cli import main
from gtzcomposer.resources import model_path
from tests.helpers import melody_song

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")
needs_mma = pytest.mark.skipif(shutil.which("mma") is None,
                               reason="the program mma (Debian package mma) is not installed")


@pytest.fixture
def seed44(tmp_path):
    from gtzcomposer.io.formats import save_song

    path = tmp_path / "seed.mid"
    save_song(melody_song(meter=(4, 4), key="G"), path)
    return path


@needs_mma
def test_all_parts_write_drums_bass_chords_tracks(seed44, tmp_path):
    from gtzcomposer.io.formats import load_song

    out = tmp_path / "out"
    rc = main(["continue", str(seed44), "--style", "folk", "--band-genre", "rock", "--parts", "melody,chords,bass,drums",
               "--bars", "4", "--variations", "3", "--seed", "2", "-o", str(out)])
    assert rc == 0
    summary = json.loads((out / "continuations.json").read_text())
    assert summary["parts"] == ["melody", "chords", "bass", "drums"]
    assert summary["band"]["genre"] == "rock" and not summary["band"]["stand_in"]
    start, end = summary["start_tick"], summary["end_tick"]
    ranks = [r["band"]["rank_score"] for r in summary["results"]]
    assert ranks == sorted(ranks, reverse=True)
    for r in summary["results"]:
        song = load_song(out / r["file"])
        names = [t.name for t in song.tracks]
        assert names[0] == "Melody" and set(names[1:]) == {"Drums", "Bass", "Chords"}
        drums = song.tracks[names.index("Drums")]
        assert drums.is_drum
        for bar in range(start // 1920, end // 1920):
            assert any(bar * 1920 <= n.start < (bar + 1) * 1920 for n in drums.notes), f"no drums in bar {bar + 1}"
        assert r["band"]["tracks"]["drums"]["channel"] == 10
        # the band plays the continuation's own chord progression (#11), span by span
        # (a chord held across a bar line is listed again at beat 1 of the next bar; the spans are merged)
        per_bar = [c["chord"] for row in summary["chords"] for c in row["chords"]]
        assert r["band"]["chords"] == [c for i, c in enumerate(per_bar) if i == 0 or c != per_bar[i - 1]]
        assert len(summary["chords"]) == 4
        # the MIDI file itself: drum notes on channel 10 (9 zero-based), bass and chords elsewhere
        mid = mido.MidiFile(out / r["file"])
        channels = {}
        for t in mid.tracks:
            name = next((m.name for m in t if m.type == "track_name"), "")
            channels[name] = {m.channel for m in t if m.type == "note_on"}
        assert channels["Drums"] == {9}
        assert 9 not in channels["Bass"] | channels["Chords"]


@needs_mma
def test_band_under_the_seed_and_a_stand_in_band(seed44, tmp_path):
    from gtzcomposer.io.formats import load_song

    out = tmp_path / "out"
    assert main(["continue", str(seed44), "--style", "irish", "--parts", "bass,chords", "--band-under-seed",
                 "--bars", "2", "--variations", "1", "--seed", "4", "-o", str(out)]) == 0
    summary = json.loads((out / "continuations.json").read_text())
    assert summary["band"] == {**summary["band"], "genre": "country", "stand_in": True, "under_seed": True}
    assert "country band plays" in summary["band"]["note"]
    song = load_song(out / summary["results"][0]["file"])
    bass = next(t for t in song.tracks if t.name == "Bass")
    assert bass.notes[0].start < 1920  # under the seed's first bar
    assert not any(t.is_drum for t in song.tracks)


def test_bad_part_is_exit_2(seed44, tmp_path, capsys):
    assert main(["continue", str(seed44), "--style", "folk", "--parts", "melody,tuba", "-o", str(tmp_path / "o")]) == 2
    assert "unknown part 'tuba'" in capsys.readouterr().err


@needs_mma
def test_genre_without_groove_in_the_meter_keeps_the_melody(tmp_path, capsys):
    from gtzcomposer.io.formats import save_song

    seed = tmp_path / "waltz.mid"
    save_song(melody_song(meter=(3, 4)), seed)
    out = tmp_path / "out"
    assert main(["continue", str(seed), "--style", "folk", "--band-genre", "disco", "--parts", "drums",
                 "--variations", "1", "--seed", "1", "-o", str(out)]) == 0
    assert "disco band has no groove in 3/4" in capsys.readouterr().err
    summary = json.loads((out / "continuations.json").read_text())
    assert summary["parts"] == ["melody"] and "3/4" in summary["band"]["error"]


def test_missing_mma_says_which_package_and_the_melody_still_works(seed44, tmp_path):
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "PATH": str(empty_bin), "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-m", "gtzcomposer", "continue", str(seed44), "--style", "folk",
                           "--parts", "melody,drums,bass", "--variations", "2", "--seed", "3", "-o", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "install the Debian/Ubuntu package `mma`" in proc.stderr
    summary = json.loads((out / "continuations.json").read_text())
    assert summary["parts"] == ["melody"] and summary["parts_asked"] == ["melody", "bass", "drums"]
    from gtzcomposer.io.formats import load_song

    for r in summary["results"]:
        song = load_song(out / r["file"])
        assert [t.name for t in song.tracks] == ["Melody"] and r["notes"] > 0
