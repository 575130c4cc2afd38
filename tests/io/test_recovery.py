"""Recovery records are untrusted input: they can never open or delete a file outside the
recovery folder, a bad record never hides a good one, and a damaged file is offered once."""

import json
import os
import subprocess
import sys

import pytest

from gtzcomposer.io.recovery import (
    Recovery,
    RecoveryError,
    discard_recovery,
    find_recoveries,
    load_recovery,
    scan_recoveries,
    write_recovery,
)
from tests.helpers import two_track_song


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    return d


def crashed(folder, pid=None, original=None):
    """A recovery left by a process that is gone (written as the app writes it)."""
    pid = pid or dead_pid()
    path = write_recovery(folder, two_track_song(), original, pid=pid)
    return pid, path


def edit_record(folder, which, **fields):
    meta = folder / f"recovery-{which}.json"
    info = json.loads(meta.read_text())
    info.update(fields)
    meta.write_text(json.dumps(info))


def test_a_crashed_session_is_found_and_loads(folder):
    pid, path = crashed(folder, original="/home/u/song.mid")
    (rec,) = find_recoveries(folder)
    assert rec.pid == pid and rec.path == path and rec.original.name == "song.mid"
    assert load_recovery(rec) == two_track_song()
    discard_recovery(rec)
    assert list(folder.iterdir()) == []


def test_a_live_session_is_not_offered(folder):
    write_recovery(folder, two_track_song(), None)  # this process: alive
    assert find_recoveries(folder) == []


@pytest.mark.parametrize("file_field", ["../my_song.mid", "ABSOLUTE", "recovery-1.gtzc", "sub/x.gtzc", 7])
def test_no_answer_never_deletes_a_file_the_record_names(folder, tmp_path, file_field):
    """The reported data loss: `file` was trusted as a path and deleted on No."""
    decoy = tmp_path / "my_song.mid"
    decoy.write_bytes(b"MThd precious")
    pid, path = crashed(folder)
    edit_record(folder, pid, file=str(decoy) if file_field == "ABSOLUTE" else file_field)
    scan = scan_recoveries(folder)
    assert scan.recoveries == []  # not offered: it points outside what the app writes
    assert len(scan.problems) == 1 and "points at" in scan.problems[0]
    assert decoy.read_bytes() == b"MThd precious"
    # The bad record went aside with a note; it is not reported again.
    assert (folder / "damaged").is_dir() and any(p.suffix == ".txt" for p in (folder / "damaged").iterdir())
    assert scan_recoveries(folder).problems == []
    # Even a hand-made Recovery naming the decoy cannot delete it or load it.
    bad = Recovery(decoy, None, 0.0, pid)
    with pytest.raises(RecoveryError):
        discard_recovery(bad)
    with pytest.raises(RecoveryError):
        load_recovery(bad)
    assert decoy.read_bytes() == b"MThd precious"


@pytest.mark.parametrize("fields", [
    {"pid": 10**30}, {"pid": "12"}, {"pid": -5}, {"pid": True}, {"pid": 1.5},
    {"saved_at": "yesterday"}, {"saved_at": 1e309}, {"saved_at": -1}, {"saved_at": 1e300}, {"saved_at": None},
    {"original": 5}, {"original": ["a"]}, {"original": ""}, {"original": "x" * 5000},
])
def test_bad_fields_skip_that_record_and_keep_the_good_one(folder, fields):
    good_pid, _ = crashed(folder)
    bad_pid, _ = crashed(folder)
    edit_record(folder, bad_pid, **fields)
    scan = scan_recoveries(folder)
    assert [r.pid for r in scan.recoveries] == [good_pid]
    assert len(scan.problems) == 1 and f"recovery-{bad_pid}.json" in scan.problems[0]


@pytest.mark.parametrize("text", ['{"pid": Infinity, "saved_at": 1}', '{"pid": NaN}', "[1, 2]", "not json",
                                  "\xff\xfe", '{"pid": ' + "[" * 100_000 + "]" * 100_000 + "}"])
def test_unreadable_records_are_skipped(folder, text):
    good_pid, _ = crashed(folder)
    bad = dead_pid()
    (folder / f"recovery-{bad}.json").write_bytes(text.encode("utf-8", "surrogateescape")
                                                  if isinstance(text, str) else text)
    scan = scan_recoveries(folder)
    assert [r.pid for r in scan.recoveries] == [good_pid] and len(scan.problems) == 1


def test_records_that_are_not_plain_files_are_never_opened(folder, tmp_path):
    good_pid, _ = crashed(folder)
    fifo_pid, link_pid, dir_pid = dead_pid(), dead_pid(), dead_pid()
    os.mkfifo(folder / f"recovery-{fifo_pid}.json")  # reading it would block for ever
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps({"pid": link_pid, "saved_at": 1.0}))
    (folder / f"recovery-{link_pid}.json").symlink_to(outside)
    (folder / f"recovery-{dir_pid}.json").mkdir()
    scan = scan_recoveries(folder)
    assert [r.pid for r in scan.recoveries] == [good_pid] and len(scan.problems) == 3
    assert outside.is_file()  # the link's target is not moved or deleted


def test_a_song_file_that_is_a_link_is_not_offered(folder, tmp_path):
    pid, path = crashed(folder)
    target = tmp_path / "precious.gtzc"
    path.rename(target)
    path.symlink_to(target)
    scan = scan_recoveries(folder)
    assert scan.recoveries == [] and "not a plain file" in scan.problems[0]
    assert target.is_file()


def test_a_damaged_recovery_file_is_offered_once_then_moved_aside_with_a_note(folder):
    pid, path = crashed(folder)
    path.write_bytes(path.read_bytes()[:50])  # truncated by the crash
    (rec,) = find_recoveries(folder)
    with pytest.raises(RecoveryError, match="damaged.*moved to"):
        load_recovery(rec)
    assert find_recoveries(folder) == []  # not offered again at the next start
    aside = sorted(p.name for p in (folder / "damaged").iterdir())
    assert any(n.endswith(f"recovery-{pid}.gtzc") for n in aside)
    note = next(p for p in (folder / "damaged").iterdir() if p.suffix == ".txt")
    assert "could not be used" in note.read_text()


def test_a_pickle_in_the_folder_is_never_unpickled(folder):
    pid = dead_pid()
    (folder / f"recovery-{pid}.pickle").write_bytes(b"cos\nsystem\n(S'touch /tmp/pwned'\ntR.")
    (folder / f"recovery-{pid}.json").write_text(json.dumps({"pid": pid, "file": f"recovery-{pid}.pickle",
                                                               "saved_at": 1.0}))
    scan = scan_recoveries(folder)
    assert scan.recoveries == [] and len(scan.problems) == 1


def test_many_records_scan_quickly(folder):
    import time

    for _ in range(3):
        crashed(folder)
    for i in range(2000):
        (folder / f"recovery-{4_000_000 + i}.json").write_text("{}")
    t = time.perf_counter()
    scan = scan_recoveries(folder)
    assert len(scan.recoveries) == 3 and len(scan.problems) == 2000
    assert time.perf_counter() - t < 20


def test_fuzzed_records_never_raise_never_hide_the_good_one_never_touch_other_files(folder, tmp_path):
    """Seeded mutations of real records (byte flips, truncations, fields replaced by odd JSON
    values) beside one good record: the scan never raises, always finds the good one, and no file
    outside the recovery folder is opened, moved or deleted."""
    import random

    rng = random.Random(int(os.environ.get("GTZ_FUZZ_SEED", "0")))
    decoy = tmp_path / "my_song.mid"
    decoy.write_bytes(b"precious")
    good_pid, _ = crashed(folder)
    odd = [None, True, -1, 0, 2**64, 1e309, -1e309, "", "x" * 10_000, "../my_song.mid", str(decoy), [], {}, [1], {"a": 1},
           "recovery-1.gtzc", 3.5, "\x00", "NaN"]
    for trial in range(150):
        pid = 3_000_000 + trial
        path = write_recovery(folder, two_track_song(), "/x/song.mid", pid=pid)
        meta = path.with_suffix(".json")
        raw = bytearray(meta.read_bytes())
        how = rng.choice(["flip", "cut", "field", "field", "song"])
        if how == "flip":
            for _ in range(rng.randint(1, 6)):
                raw[rng.randrange(len(raw))] = rng.randrange(256)
            meta.write_bytes(bytes(raw))
        elif how == "cut":
            meta.write_bytes(bytes(raw[:rng.randrange(len(raw))]))
        elif how == "field":
            info = json.loads(raw)
            info[rng.choice(["pid", "file", "saved_at", "original", "title", "extra"])] = rng.choice(odd)
            meta.write_text(json.dumps(info))
        else:  # the song file damaged instead
            data = bytearray(path.read_bytes())
            data[rng.randrange(len(data))] = rng.randrange(256)
            path.write_bytes(bytes(data[:rng.randrange(1, len(data))]))
        scan = scan_recoveries(folder)
        assert good_pid in [r.pid for r in scan.recoveries]
        for rec in scan.recoveries:
            assert rec.path.parent == folder and rec.path.name == f"recovery-{rec.pid}.gtzc"
            if rec.pid == good_pid:
                continue
            try:
                load_recovery(rec)
            except RecoveryError:
                pass
            discard_recovery(rec)
        assert decoy.read_bytes() == b"precious"
    notes = [p for p in (folder / "damaged").iterdir() if p.suffix == ".txt"]
    assert len(notes) > 20  # the bad records went aside, each with a note saying why
    assert load_recovery(next(r for r in find_recoveries(folder) if r.pid == good_pid)) == two_track_song()
