"""`gtzcomposer gui --screenshot PNG` renders one frame offscreen, saves it and exits 0."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtGui import QImage

from gtzcomposer.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GTZCOMPOSER_SETTINGS=str(tmp_path / "s.ini"),
               GTZCOMPOSER_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "gtzcomposer", *args], env=env, capture_output=True, text=True,
                          timeout=60, cwd=ROOT)


def distinct_colours(image: QImage, step: int = 7) -> int:
    return len({image.pixel(x, y) for x in range(0, image.width(), step) for y in range(0, image.height(), step)})


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshot_writes_a_non_blank_png(tmp_path, theme):
    out = tmp_path / "shots" / "window.png"
    result = run_cli("gui", "--screenshot", str(out), "--theme", theme, "--size", "1000x700", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote" in result.stdout
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1000, 700)
    assert distinct_colours(image) > 20  # menus, text, toolbars: not a blank frame
    centre = image.pixelColor(500, 40).lightness()
    assert (centre > 128) if theme == "light" else (centre < 128)
    assert not (tmp_path / "s.ini").exists()  # a screenshot leaves the user's settings alone


def test_screenshot_with_a_file_shows_it(tmp_path):
    mido = pytest.importorskip("mido")
    mf = mido.MidiFile(type=0, ticks_per_beat=480)
    track = mido.MidiTrack()
    for p in (60, 62, 64, 65, 67):
        track += [mido.Message("note_on", note=p, velocity=90, time=0), mido.Message("note_off", note=p, time=480)]
    mf.tracks.append(track)
    song = tmp_path / "scale.mid"
    mf.save(song)
    out = tmp_path / "w.png"
    empty = tmp_path / "empty.png"
    assert run_cli("gui", str(song), "--screenshot", str(out), tmp_path=tmp_path).returncode == 0
    assert run_cli("gui", "--screenshot", str(empty), tmp_path=tmp_path).returncode == 0
    assert QImage(str(out)) != QImage(str(empty))


def test_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(["gui", str(tmp_path / "nope.mid"), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert main([str(tmp_path / "nope.mid")]) == 2  # `gtzcomposer FILE` is the GUI too


def test_bad_size_is_a_usage_error(tmp_path, capsys):
    assert main(["gui", "--screenshot", str(tmp_path / "x.png"), "--size", "huge"]) == 2
    assert "--size" in capsys.readouterr().err


def test_no_display_is_a_clear_error_not_a_crash(monkeypatch, capsys):
    for var in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert main(["gui"]) == 2
    assert "no display found" in capsys.readouterr().err


@pytest.mark.parametrize("content", [b"", b"this is a text file, not MIDI\n"])
def test_screenshot_of_a_file_that_cannot_be_read_is_one_sentence_not_a_hang(tmp_path, content):
    """Once an error dialog waited forever for a click offscreen."""
    bad = tmp_path / "bad.mid"
    bad.write_bytes(content)
    out = tmp_path / "x.png"
    result = run_cli("gui", str(bad), "--screenshot", str(out), tmp_path=tmp_path)  # (a hang fails the timeout)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("gtzcomposer: error: bad.mid:") and not out.exists()


def test_a_fifo_is_named_as_such_and_never_opened(tmp_path, capsys):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    assert main(["gui", str(fifo), "--screenshot", str(tmp_path / "x.png")]) == 2
    assert "pipe.mid: is a named pipe (FIFO), not a regular song file" in capsys.readouterr().err
