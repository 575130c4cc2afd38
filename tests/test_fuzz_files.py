"""The fuzz harness: every command survives hostile and extreme files.

A seeded set of cases (``tests/fuzz_cases.py``: MIDI, MusicXML, MXL, .gtzc, WAV, FLAC, OGG, MP3;
truncations, byte flips, huge declared lengths, wrong extensions, folders, FIFOs, symlink loops,
unreadable and empty files, and extreme valid files) runs through ``info``, ``convert``,
``render``, ``continue`` and ``genre`` in one worker process. The contract, for every case and
command: exit 0 or 2 (never 1, never a signal, never a traceback), at most TIME_BOUND seconds and
adding at most MEMORY_BOUND MB to the worker's resident memory (its VmHWM, reset before each run,
over what the run started with: TensorFlow and music21 stay loaded from earlier runs). Set GTZ_FUZZ_SEED for another seed; ``benchmarks/fuzz_files.py``
is the long run (more mutations, every command on every case, the 2-hour and 200k-note files).
"""

import os
import sys
from pathlib import Path

import pytest

from tests.fuzz_cases import breaks, cleanup, make_cases, run_in_subprocess

TIME_BOUND = 60.0  # seconds per command run, on a shared 2-core machine
MEMORY_BOUND = 1500.0  # MB of resident memory one command run may add (see fuzz_cases.breaks)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFOs and /proc are Linux's")]


@pytest.fixture(scope="module")
def fuzz_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cases")
    out = tmp_path_factory.mktemp("out")
    cases = make_cases(folder, seed=int(os.environ.get("GTZ_FUZZ_SEED", "0")), scale="ci")
    results, rc, last, stderr = run_in_subprocess(cases, out, TIME_BOUND, full=False, timeout=900,
                                                  env={"GTZCOMPOSER_DATA_DIR": str(out / "data")})
    yield cases, results, rc, last, stderr, out
    cleanup(folder)


def test_the_worker_survives_every_case(fuzz_run):
    cases, results, rc, last, stderr, _ = fuzz_run
    assert rc == 0, f"the worker died ({rc}) during {last}: {stderr}"
    assert {c.format for c in cases} == {"mid", "musicxml", "mxl", "gtzc", "wav", "flac", "ogg", "mp3"}
    assert {r.command for r in results} == {"info", "convert", "render", "continue", "genre"}
    assert len(results) > 150


def test_every_case_and_command_keeps_the_contract(fuzz_run):
    _, results, *_ = fuzz_run
    assert breaks(results, TIME_BOUND, MEMORY_BOUND) == []


def test_refusals_are_one_sentence(fuzz_run):
    _, results, *_ = fuzz_run
    for r in results:
        if r.rc == 2:
            assert r.message.startswith("gtzcomposer"), r
            assert "error" in r.message and len(r.message) < 300, r


def test_the_reported_cases_give_the_promised_answers(fuzz_run):
    _, results, *_ = fuzz_run
    by = {(r.case, r.command): r for r in results}

    def refused(case, *words, commands=("info", "convert", "render", "continue")):
        for command in commands:
            r = by[(case, command)]
            assert r.rc == 2 and all(w in r.message for w in words), r

    refused("x-note-at-2^31-ppq1.mid", "beyond the last tick", "bar ")
    refused("x-note-2^40-long.gtzc", "beyond the last tick", "bar ")
    refused("x-loop-to-2^40.gtzc", "loop region", "bar ")
    refused("x-over-3h.mid", "at most 3 hours")
    refused("x-meter-1000-3.musicxml", "time signature", "at most 64")
    refused("x-tuplet-1000.musicxml", "tuplet")
    refused("x-200k-notes.musicxml", "200,000 notes")
    for ext in ("mid", "musicxml", "mxl", "gtzc"):
        refused(f"fifo.{ext}", "named pipe", commands=("info",))
        refused(f"folder.{ext}", "folder", commands=("info",))
    for case in ("x-1000-tracks.mid", "x-1000-tracks.gtzc", "x-300-parts.musicxml", "x-300-drum-tracks.gtzc",
                 "x-tempo-10000.mid", "x-tempo-slowest.mid", "x-tempo-1.musicxml"):
        assert by[(case, "render")].rc == 0, by[(case, "render")]  # channels shared, not a traceback
    for fmt in ("wav", "flac"):
        for rate in (1, 8):
            r = by[(f"huge-rate-{rate}.{fmt}", "genre")]
            assert r.rc == 2 and "sample rate" in r.message, r
    r = by[("sparse-5GB.ogg", "genre")]
    assert r.rc == 2 and r.seconds < 5, r
    assert by[("fifo.wav", "genre")].rc == 2
    for name in ("valid.mid", "valid.musicxml", "valid.mxl", "valid.gtzc"):
        assert all(by[(name, c)].rc == 0 for c in ("info", "convert", "render", "continue")), name
    for name in ("valid.wav", "valid.flac", "valid.ogg", "valid.mp3", "x-2-hours.wav"):
        assert by[(name, "genre")].rc == 0, by[(name, "genre")]


def test_nothing_is_left_behind(fuzz_run):
    *_, out = fuzz_run
    files = [p for p in Path(out).rglob("*") if p.is_file()]
    assert files, "the valid cases wrote their outputs"
    assert [p.name for p in files if p.name.endswith(".tmp")] == []
    assert [p.name for p in files if p.stat().st_size == 0] == []
