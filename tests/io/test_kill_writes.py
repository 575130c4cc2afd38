"""`kill -9` during any write leaves the old or the new complete file, never a broken one: save
(.gtzc), export to MIDI, MusicXML, MXL, WAV and FLAC, and the autosave's recovery records. A
child process writes two versions of the file in turn, for ever; it is killed at a random moment
(twice per format) and the file must then read back as one of the two versions. The
temporary files killed writes leave are removed by the next write of the same file once stale."""

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow

CHILD = textwrap.dedent("""
    import sys, numpy as np
    from tests.io.test_kill_writes import version, write
    fmt, target = sys.argv[1], sys.argv[2]
    a, b = version(fmt, 0), version(fmt, 1)
    i = 0
    while True:
        write(fmt, target, (a, b)[i % 2])
        i += 1
        print("W", flush=True)
""")

FORMATS = ["gtzc", "mid", "musicxml", "mxl", "wav", "flac", "recovery"]


def version(fmt: str, k: int):
    """Version ``k`` (0 or 1) of what is written: a song, or audio for WAV/FLAC."""
    if fmt in ("wav", "flac"):
        t = np.arange(44100 * (6 + 2 * k)) / 44100
        y = (0.2 * np.sin(2 * np.pi * (220 + 110 * k) * t)).astype(np.float32)
        return np.stack([y, y], axis=1)
    from tests.helpers import random_song

    return random_song(k, n_tracks=4, n_notes=100 if fmt in ("musicxml", "mxl") else 1500)


def write(fmt: str, target: str, what) -> None:
    if fmt in ("wav", "flac"):
        from gtzcomposer.audio.render import write_audio

        write_audio(target, what, 44100, 16)
    elif fmt == "recovery":
        from gtzcomposer.io.recovery import write_recovery

        write_recovery(Path(target).parent, what, "/home/u/song.gtzc", pid=4_000_000)
    else:
        from gtzcomposer.io.formats import save_song

        save_song(what, target)


def read_back(fmt: str, target: Path):
    if fmt in ("wav", "flac"):
        import soundfile as sf

        return sf.read(str(target), dtype="float32")[0]
    if fmt == "recovery":
        import json

        from gtzcomposer.io.project import load_project

        record = json.loads(target.with_name("recovery-4000000.json").read_text())
        assert record["pid"] == 4_000_000 and record["file"] == "recovery-4000000.gtzc"
        return load_project(target).song
    from gtzcomposer.io.formats import load_song

    return load_song(target)


def target_name(fmt: str) -> str:
    return "recovery-4000000.gtzc" if fmt == "recovery" else f"out.{fmt}"


def same(fmt, got, want) -> bool:
    if fmt in ("wav", "flac"):
        return got.shape == want.shape and np.abs(got - want).max() < 1e-3
    if fmt in ("musicxml", "mxl"):  # notation quantises; compare what survives it
        return sorted((n.pitch, n.start) for t in got.tracks for n in t.notes) == \
            sorted((n.pitch, n.start) for t in read_expected(fmt, want).tracks for n in t.notes)
    if fmt == "mid":  # a MIDI export gives shared channels their own and ends overlaps: compare that
        return got == read_expected(fmt, want)
    return got == want


_expected = {}


def read_expected(fmt, song):
    key = (fmt, id(song))
    if key not in _expected:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / f"x.{fmt}"
            write(fmt, str(p), song)
            _expected[key] = read_back(fmt, p)
    return _expected[key]


@pytest.mark.parametrize("fmt", FORMATS)
def test_kill_9_during_writes_leaves_the_old_or_the_new_file(tmp_path, fmt):
    rng = random.Random(fmt)
    target = tmp_path / target_name(fmt)
    versions = [version(fmt, 0), version(fmt, 1)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    kills = 0
    for attempt in range(2):
        child = subprocess.Popen([sys.executable, "-c", CHILD, fmt, str(target)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert child.stdout.readline() == "W\n", child.stderr.read()  # one complete write first
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(30)
            kills += 1
        got = read_back(fmt, target)
        assert any(same(fmt, got, v) for v in versions), f"kill {attempt}: the file is neither version"
    assert kills == 2
    # Killed writes may have left temporary files; once stale, the next write removes them.
    leftovers = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    for p in leftovers:
        os.utime(p, (time.time() - 3600, time.time() - 3600))
    write(fmt, str(target), versions[0])
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    assert same(fmt, read_back(fmt, target), versions[0])


def test_a_fresh_temporary_file_of_a_save_in_progress_is_left_alone(tmp_path):
    from gtzcomposer.io._files import remove_stale_temps

    target = tmp_path / "song.mid"
    fresh = tmp_path / ".song.mid.abcd1234.tmp"
    old = tmp_path / ".song.mid.zzzz9999.tmp"
    other = tmp_path / ".other.mid.abcd1234.tmp"
    for p in (fresh, old, other):
        p.write_bytes(b"x")
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    os.utime(other, (time.time() - 3600, time.time() - 3600))
    assert remove_stale_temps(target) == [old]
    assert fresh.exists() and other.exists()
