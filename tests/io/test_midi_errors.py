"""Bad MIDI input gives MidiError with a sentence that names the file, and nothing else."""

from __future__ import annotations

import io
import random
import struct
import time
from pathlib import Path

import pytest

from gtzcomposer.core import GtzError, Song
from gtzcomposer.io.midi import MAX_MIDI_BYTES, MidiError, midi_to_song, song_to_midi_bytes
from tests.helpers import random_song, two_track_song
from tests.io import midi_bytes as mb

DATA = Path(__file__).resolve().parents[1] / "data"


def test_midi_error_is_a_gtz_error():
    assert issubclass(MidiError, GtzError)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MidiError, match=r"nothere\.mid: no such file"):
        midi_to_song(tmp_path / "nothere.mid")
    with pytest.raises(MidiError, match="is a folder"):
        midi_to_song(tmp_path)


def test_empty_file(tmp_path):
    (tmp_path / "empty.mid").write_bytes(b"")
    with pytest.raises(MidiError, match=r"^empty\.mid: the file is empty$"):
        midi_to_song(tmp_path / "empty.mid")


@pytest.mark.parametrize("data, what", [
    (b'<?xml version="1.0"?><score-partwise version="4.0"></score-partwise>', "MusicXML"),
    (b"PK\x03\x04" + bytes(40), "ZIP"),
    (b'{"format": "gtzcomposer-project", "schema": 1}', "gtzcomposer project"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt ", "WAV"),
    (b"ID3\x04" + bytes(20), "MP3"),
    (b"hello, this is text", "does not start with a MIDI header"),
])
def test_other_kinds_of_file_are_named(tmp_path, data, what):
    path = tmp_path / "song.mid"
    path.write_bytes(data)
    with pytest.raises(MidiError, match=f"^song.mid: not a MIDI file; .*{what}"):
        midi_to_song(path)


def test_random_bytes(tmp_path):
    rng = random.Random(1)
    for _ in range(50):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        with pytest.raises(MidiError):
            midi_to_song(data)
        with pytest.raises(MidiError):  # and the same after a valid header
            midi_to_song(mb.header() + data)


def test_every_truncation_of_a_real_file_is_an_error_or_a_shorter_song():
    data = (DATA / "music21_test12.mid").read_bytes()
    full = midi_to_song(data)
    errors = 0
    for cut in range(len(data)):
        try:
            song = midi_to_song(data[:cut])
        except MidiError as exc:
            assert "<data>:" in str(exc)
            errors += 1
        else:
            assert song.note_count <= full.note_count
    assert errors == len(data)  # the end-of-track marker is the last thing in this file


def test_truncated_message_says_so(tmp_path):
    path = tmp_path / "cut.mid"
    path.write_bytes(song_to_midi_bytes(two_track_song())[:-20])
    with pytest.raises(MidiError, match=r"^cut\.mid: damaged MIDI file \(.*truncated\)$"):
        midi_to_song(path)


@pytest.mark.parametrize("data, match", [
    (mb.header(division=0) + mb.track(), "time division is 0"),
    (mb.header(division=((256 - 23) << 8) | 4) + mb.track(), "invalid SMPTE time division"),
    (mb.header(fmt=7) + mb.track(), "unknown MIDI file type 7"),
    (mb.header(ntracks=2) + mb.track(), "truncated"),
    (mb.header(ntracks=2) + mb.track() + b"M-rk\0\0\0\0", "track chunk is missing"),
    (mb.header() + mb.track((0, b"\x40\x40")), "no status byte"),
    (mb.header() + mb.track((0, b"\x90\x3c\x80")), "damaged"),
    (mb.header() + mb.track((0, mb.meta(0x59, bytes([9, 0])))), "Could not decode key"),
    (b"MThd\x00\x00\x00\x02\x00\x01", "truncated"),
])
def test_damaged_structures(data, match):
    with pytest.raises(MidiError, match=match):
        midi_to_song(data)


def test_huge_file_is_refused_by_its_size_before_reading(tmp_path):
    path = tmp_path / "huge.mid"
    with open(path, "wb") as fh:  # a 100 MB sparse file: costs no disk and no time to make
        fh.write(song_to_midi_bytes(two_track_song()))
        fh.truncate(100 * 1024 * 1024)
    t0 = time.perf_counter()
    with pytest.raises(MidiError, match=r"^huge\.mid: the file is larger than 2 MB.*\(100\.0 MB\)"):
        midi_to_song(path)
    assert time.perf_counter() - t0 < 0.5
    with pytest.raises(MidiError, match="larger than 2 MB"):
        midi_to_song(io.BytesIO(bytes(MAX_MIDI_BYTES + 1)))


def test_bad_sources():
    with pytest.raises(MidiError, match="text mode"):
        midi_to_song(io.StringIO("MThd"))
    with pytest.raises(MidiError, match="from a int"):
        midi_to_song(42)

    class Broken(io.RawIOBase):
        name = "/x/broken.mid"

        def read(self, n=-1):
            raise OSError("device gone")

    with pytest.raises(MidiError, match=r"^broken\.mid: could not be read \(device gone\)"):
        midi_to_song(Broken())


def test_unreadable_file(tmp_path):
    import os

    path = tmp_path / "locked.mid"
    path.write_bytes(song_to_midi_bytes(Song()))
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who can read any file")
        with pytest.raises(MidiError, match="permission denied"):
            midi_to_song(path)
    finally:
        path.chmod(0o644)


# ---------------------------------------------------------------------------------------------
# fuzz: deliberately mutated real MIDI files give a Song or a MidiError, never anything else
# ---------------------------------------------------------------------------------------------
def _chunk_offsets(data: bytes) -> list[int]:
    out, pos = [], 0
    while (pos := data.find(b"MTrk", pos)) >= 0:
        out.append(pos)
        pos += 4
    return out


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One deliberate corruption of ``data``; returns its kind and the result."""
    if not data:
        return "empty", data
    b = bytearray(data)
    kind = rng.choice(["flip", "bytes", "truncate", "insert", "delete", "chunk_length", "header", "duplicate", "mixed"])
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    elif kind == "bytes":
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.choice([0x00, 0x7F, 0x80, 0xFF, 0xF0, 0xF7, 0x90, rng.randrange(256)])
    elif kind == "truncate":
        del b[rng.randrange(len(b)):]
    elif kind == "insert":
        at = rng.randrange(len(b) + 1)
        b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == "delete":
        at = rng.randrange(len(b))
        del b[at:at + rng.randint(1, 16)]
    elif kind == "chunk_length":
        offsets = _chunk_offsets(data) or [0]
        at = rng.choice(offsets) + 4
        length = struct.unpack(">I", bytes(b[at:at + 4]).ljust(4, b"\0"))[0]
        new = rng.choice([0, 1, length - 1, length + 1, length * 2, 0x7FFFFFFF, 0xFFFFFFFF, rng.randrange(2**32)])
        b[at:at + 4] = struct.pack(">I", new % 2**32)
    elif kind == "header":
        at = rng.choice([4, 8, 10, 12])  # header length, format, track count, division
        b[at:at + 2] = struct.pack(">H", rng.choice([0, 1, 2, 3, 0x7FFF, 0x8000, 0xE728, 0xFFFF, rng.randrange(2**16)]))
    elif kind == "duplicate":
        start = rng.randrange(len(b))
        piece = b[start:start + rng.randint(1, 64)]
        at = rng.randrange(len(b) + 1)
        b[at:at] = piece
    else:
        for _ in range(3):
            _, out = mutate(bytes(b), rng)
            b = bytearray(out)
    return kind, bytes(b)


def _seeds() -> list[bytes]:
    seeds = [p.read_bytes() for p in sorted(DATA.glob("*.mid"))]
    seeds.append(song_to_midi_bytes(two_track_song()))
    seeds.append(song_to_midi_bytes(random_song(7, n_tracks=2, n_notes=30)))
    return seeds


def test_fuzz_mutated_midi_files():
    rng = random.Random(20261125)
    seeds = _seeds()
    outcomes = {"song": 0, "error": 0}
    bad: list[str] = []
    t0 = time.perf_counter()
    n = 3000
    for i in range(n):
        seed = seeds[i % len(seeds)]
        kind, data = mutate(seed, rng)
        try:
            song = midi_to_song(data)
        except MidiError as exc:
            assert str(exc).startswith("<data>: ")
            outcomes["error"] += 1
        except Exception as exc:  # noqa: BLE001 - this is what the test hunts for
            bad.append(f"case {i} ({kind}): {type(exc).__name__}: {exc}")
        else:
            assert isinstance(song, Song)
            outcomes["song"] += 1
    elapsed = time.perf_counter() - t0
    assert not bad, "\n".join(bad[:20])
    assert outcomes["song"] + outcomes["error"] == n
    assert outcomes["error"] > 100 and outcomes["song"] > 100  # both kinds of outcome are exercised
    assert elapsed < 30, f"fuzzing took {elapsed:.1f} s"
