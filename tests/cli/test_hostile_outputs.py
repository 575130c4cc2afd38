"""Bad outputs: a full disk, an unwritable place, bad options. Exit 2 with one sentence, the
earlier file untouched, nothing half-written or empty left behind."""

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from gtzcomposer.io.midi import song_to_midi
from tests.helpers import random_song

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args, tmp_path, file_size_limit=None):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GTZCOMPOSER_SETTINGS=str(tmp_path / "s.ini"),
               GTZCOMPOSER_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")

    def limit():  # a disk that is full after `file_size_limit` bytes of any one file
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([sys.executable, "-m", "gtzcomposer", *map(str, args)], env=env, capture_output=True,
                          text=True, timeout=300, cwd=tmp_path, preexec_fn=limit if file_size_limit else None)


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp") or (p.is_file() and p.stat().st_size == 0)]


@pytest.fixture
def song_file(tmp_path):
    path = tmp_path / "song.mid"
    song_to_midi(random_song(1, n_tracks=2, n_notes=200), path)
    return path


def test_render_into_a_full_disk_keeps_the_earlier_export(tmp_path, song_file):
    out = tmp_path / "out.wav"
    out.write_bytes(b"RIFF an earlier export")
    result = run_cli("render", song_file, out, "--quiet", tmp_path=tmp_path, file_size_limit=100_000)
    assert result.returncode == 2, result.stderr
    assert "out.wav: could not be written (the disk is full" in result.stderr
    assert "Traceback" not in result.stderr and "System error." not in result.stderr
    assert out.read_bytes() == b"RIFF an earlier export"
    assert leftovers(tmp_path) == []


def test_render_that_does_not_fit_is_refused_before_rendering(tmp_path, song_file, monkeypatch):
    from gtzcomposer.audio import render

    class Tiny:
        free = 1000

    monkeypatch.setattr("shutil.disk_usage", lambda _p: Tiny())
    with pytest.raises(render.RenderError, match=r"not enough disk space .* needs about [\d.]+ MB, 0\.0 MB is free"):
        render.check_space(tmp_path / "x.wav", 44100 * 60)


def test_screenshot_into_a_full_disk_leaves_no_empty_png(tmp_path):
    out = tmp_path / "shot.png"
    result = run_cli("gui", "--screenshot", out, tmp_path=tmp_path, file_size_limit=4096)
    assert result.returncode == 2, result.stderr
    assert "shot.png: could not be saved" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists() and leftovers(tmp_path) == []


def test_screenshot_of_a_bad_file_exits_2_without_a_dialog(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00")
    result = run_cli("gui", bad, "--screenshot", tmp_path / "shot.png", tmp_path=tmp_path)
    assert result.returncode == 2 and "bad.mid:" in result.stderr, result.stderr
    assert not (tmp_path / "shot.png").exists()


@pytest.mark.parametrize("seed", ["-1", str(2**32)])
def test_continue_refuses_a_bad_seed(tmp_path, song_file, seed):
    result = run_cli("continue", song_file, "--style", "folk", "--seed", seed, "-o", tmp_path / "o", tmp_path=tmp_path)
    assert result.returncode == 2 and "--seed" in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_continue_refuses_an_output_folder_it_cannot_use(tmp_path, song_file):
    (tmp_path / "afile").write_text("x")
    result = run_cli("continue", song_file, "--style", "folk", "-o", tmp_path / "afile", tmp_path=tmp_path)
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr, result.stderr
    result = run_cli("continue", song_file, "--style", "folk", "-o", tmp_path / "afile" / "sub", tmp_path=tmp_path)
    assert result.returncode == 2 and "cannot make the output folder" in result.stderr, result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_continue_into_a_read_only_folder(tmp_path, song_file):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        result = run_cli("continue", song_file, "--style", "folk", "-o", ro / "out", tmp_path=tmp_path)
    finally:
        ro.chmod(0o700)
    assert result.returncode == 2 and "cannot make the output folder" in result.stderr, result.stderr


def test_continue_of_a_bad_song_creates_no_output_folder(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    result = run_cli("continue", bad, "--style", "folk", "-o", tmp_path / "new" / "out", tmp_path=tmp_path)
    assert result.returncode == 2 and "bad.mid" in result.stderr, result.stderr
    assert not (tmp_path / "new").exists()
