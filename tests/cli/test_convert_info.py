"""`gtzcomposer convert` and `gtzcomposer info [--json]` through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gtzcomposer.cli import main
from gtzcomposer.core import Note, Song, new_track
from gtzcomposer.io import load_project, load_song, midi_to_song, save_project, song_to_midi
from gtzcomposer.io.project import Project
from tests.helpers import two_track_song

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def song_mid(tmp_path) -> Path:
    path = tmp_path / "song.mid"
    song_to_midi(two_track_song(), path)
    return path


def test_convert_midi_to_project_and_back_is_exact(tmp_path, song_mid, capsys):
    assert main(["convert", str(song_mid), str(tmp_path / "song.gtzc")]) == 0
    out = capsys.readouterr().out
    assert "wrote" in out and "song.gtzc (3 tracks, 11 notes)" in out
    assert load_project(tmp_path / "song.gtzc").song == two_track_song()
    assert main(["convert", str(tmp_path / "song.gtzc"), str(tmp_path / "again.midi")]) == 0
    assert midi_to_song(tmp_path / "again.midi") == two_track_song()


@pytest.mark.parametrize("ext", [".musicxml", ".xml", ".mxl"])
def test_convert_midi_to_musicxml_and_back(tmp_path, song_mid, capsys, ext):
    out_path = tmp_path / f"song{ext}"
    assert main(["convert", str(song_mid), str(out_path)]) == 0
    out = capsys.readouterr().out
    assert "note: track 3 ('Drums'): 1 note moved" in out  # the 1/32 hi-hat had to move
    assert main(["convert", str(out_path), str(tmp_path / "back.mid")]) == 0
    back = midi_to_song(tmp_path / "back.mid")
    assert [t.name for t in back.tracks] == ["Lead", "Bass", "Drums"]
    assert back.tracks[0].notes == two_track_song().tracks[0].notes


def test_convert_a_real_file_from_another_tool(tmp_path, capsys):
    assert main(["convert", str(DATA / "pretty_midi_band.mid"), str(tmp_path / "band.gtzc")]) == 0
    song = load_song(tmp_path / "band.gtzc")
    assert song == midi_to_song(DATA / "pretty_midi_band.mid")


@pytest.mark.parametrize("args, message", [
    (["convert", "{tmp}/missing.mid", "{tmp}/x.gtzc"], "missing.mid: no such file"),
    (["convert", "{mid}", "{tmp}/out.txt"], "out.txt: unknown file type '.txt'"),
    (["convert", "{tmp}/missing.mid", "{tmp}/out.doc"], "out.doc: unknown file type"),  # refused before reading
    (["convert", "{tmp}/song.wav", "{tmp}/x.mid"], "song.wav: unknown file type '.wav'"),
    (["convert", "{bad}", "{tmp}/x.gtzc"], "bad.mid: not a MIDI file; it looks like a JSON document"),
    (["convert", "{mid}", "{tmp}/nofolder/x.gtzc"], "x.gtzc: cannot write in"),
    (["info", "{tmp}/missing.gtzc"], "missing.gtzc: no such file"),
    (["info", "{bad}"], "bad.mid: not a MIDI file"),
    (["info", "--json", "{tmp}/noext"], "noext: unknown file type '(no extension)'"),
])
def test_bad_input_exits_2_with_a_sentence(tmp_path, song_mid, capsys, args, message):
    bad = tmp_path / "bad.mid"
    bad.write_text('{"not": "midi"}')
    argv = [a.format(tmp=tmp_path, mid=song_mid, bad=bad) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("gtzcomposer: error: ") and message in captured.err
    assert "Traceback" not in captured.err and captured.out == ""
    assert not (tmp_path / "x.gtzc").exists()


def test_convert_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["convert", "only-one.mid"])
    assert exc.value.code == 2
    assert "the following arguments are required: OUT" in capsys.readouterr().err


def test_info_text(song_mid, capsys):
    assert main(["info", str(song_mid)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == f"{song_mid}  (Two tracks and drums)"
    for expected in ("notes     11", "tempo     100 bpm @0, 140 bpm @1920", "meter     4/4 @0, 3/4 @1920",
                     "key       D major @0", "tracks    3", "Lead", "Flute", "Drum kit", "C5–G5", "ch 10"):
        assert expected in out, expected


def test_info_json_schema(song_mid, capsys):
    assert main(["info", "--json", str(song_mid)]) == 0
    info = json.loads(capsys.readouterr().out)
    song = two_track_song()
    assert info["file"] == str(song_mid) and info["title"] == song.title
    assert info["ppq"] == 480 and info["notes"] == 11 and info["duration_ticks"] == song.end_tick
    assert info["duration_seconds"] == pytest.approx(4 * 0.6 + 4 * 60 / 140, abs=0.001)
    assert info["tempos"] == [{"tick": 0, "bpm": 100.0}, {"tick": 1920, "bpm": 140.0}]
    assert info["time_signatures"] == [{"tick": 0, "numerator": 4, "denominator": 4},
                                       {"tick": 1920, "numerator": 3, "denominator": 4}]
    assert info["keys"] == [{"tick": 0, "key": "D major"}]
    assert [(t["name"], t["channel"], t["program"], t["drums"], t["notes"]) for t in info["tracks"]] == [
        ("Lead", 1, 74, False, 4), ("Bass", 2, 34, False, 3), ("Drums", 10, 1, True, 4)]  # programs 1-128
    assert info["tracks"][0]["lowest"] == "C5" and info["tracks"][0]["highest"] == "G5"


def test_info_on_project_and_musicxml(tmp_path, capsys):
    song = Song(tracks=(new_track(0, "Solo", notes=(Note(0, 60, 480), Note(480, 67, 480))), new_track(1, "Empty")))
    save_project(Project(song=song, style="folk"), tmp_path / "p.gtzc")
    assert main(["info", "--json", str(tmp_path / "p.gtzc")]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["notes"] == 2 and info["tracks"][1] == {
        "name": "Empty", "channel": 2, "program": 1, "instrument": "Acoustic Grand Piano", "drums": False,
        "notes": 0, "lowest": None, "highest": None}
    assert main(["convert", str(tmp_path / "p.gtzc"), str(tmp_path / "p.mxl")]) == 0
    capsys.readouterr()
    assert main(["info", str(tmp_path / "p.mxl")]) == 0
    out = capsys.readouterr().out
    assert "notes     2" in out and "Solo" in out and "empty" in out
