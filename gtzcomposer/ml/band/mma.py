"""Run MMA (Musical MIDI Accompaniment, GPL-2+, Debian package ``mma``) as a separate program on a
generated ``.mma`` file and read its MIDI output back as plain note lists per MMA track.

Decisions:

* MMA is a program we call, never code we import or copy: ``mma FILE -f OUT.mid`` in a private
  temporary folder, with a time limit. Missing program -> :class:`MmaMissingError`, a sentence
  naming the package; a failed run -> :class:`MmaError` with MMA's own last line.
* One run per *batch*: all variations of a request are consecutive blocks of bars in one file
  (MMA's start-up is ~0.15-0.3 s, its work per bar a few ms), split again by bar afterwards.
* A spare MMA process is started ahead of need (:func:`prestart`; in the app also after every run)
  and waits for its song on stdin, so the start-up is off the critical path; one idle process,
  ~20 MB.
* Ticks: MMA writes 192 per quarter. Its bar is ``Time`` quarters (six for its 6/8 grooves, which
  count eighths as its beats), so an MMA tick maps to ``bar_ticks / (time * 192)`` song ticks,
  whatever the song's PPQ.
* ``RndSeed`` makes MMA's humanising (random timing, volume, skipped notes) reproducible.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ...core import GtzError
from ...core.chords import Chord

MMA_PACKAGE_HINT = ("the band needs MMA (Musical MIDI Accompaniment), which is not installed: "
                    "install the Debian/Ubuntu package `mma` (sudo apt-get install mma); melody continuation works without it")
TIMEOUT_S = 60

_MMA_SUFFIX = {"maj": "", "min": "m", "7": "7", "maj7": "M7", "min7": "m7", "6": "6", "min6": "m6",
               "minmaj7": "mM7", "dim": "mb5", "dim7": "dim7", "hdim7": "m7b5", "aug": "aug", "sus4": "sus4",
               "sus2": "sus2"}
_ROOTS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


class MmaMissingError(GtzError):
    """The ``mma`` program is not on PATH."""


class MmaError(GtzError):
    """MMA ran but failed."""


def mma_chord(chord: Chord) -> str:
    return _ROOTS[chord.root] + _MMA_SUFFIX[chord.quality]


def find_mma() -> str:
    exe = shutil.which("mma")
    if exe is None:
        raise MmaMissingError(MMA_PACKAGE_HINT)
    return exe


def mma_available() -> bool:
    return shutil.which("mma") is not None


@dataclass
class MmaTrack:
    name: str
    channel: int  # 0-based; 9 = drums
    program: int
    notes: list[tuple[int, int, int, int]] = field(default_factory=list)  # (start, end, pitch, velocity), MMA ticks


@dataclass
class MmaBlock:
    """A run of bars played by one groove choice: ``grooves[i]`` for bar i (a fill or the main one)."""

    bar_grooves: Sequence[str]
    bar_chords: Sequence[Sequence[Chord | None]]  # per bar, one chord (or None = keep) per MMA beat
    borrow: Sequence[tuple[str, str]] = ()


def mma_source(blocks: Sequence[MmaBlock], tempo_bpm: float, time: int, seed: int) -> str:
    lines = ["// written by gtzcomposer: chords per bar, grooves from the MMA library",
             f"Tempo {max(20.0, min(400.0, tempo_bpm)):.2f}", f"Time {time}", f"RndSeed {seed % 100000}"]
    # load the grooves that tracks borrow from before any block uses them
    for g in dict.fromkeys(g for b in blocks for _, g in b.borrow):
        lines.append(f"Groove {g}")
    bar_no = 1
    last = None
    previous_chord: Chord | None = None
    for block in blocks:
        for groove, chords in zip(block.bar_grooves, block.bar_chords):
            if groove != last:
                lines.append(f"Groove {groove}")
                lines.extend(f"{track} Groove {g}" for track, g in block.borrow)
                last = groove
            cells = []
            for c in chords:
                if c is None:
                    c = previous_chord
                if c is None:
                    cells.append("z")
                    continue
                cells.append("/" if c == previous_chord and cells else mma_chord(c))
                previous_chord = c
            lines.append(f"{bar_no} " + " ".join(cells))
            bar_no += 1
    return "\n".join(lines) + "\n"


class _Spare:
    """One MMA process started ahead of need, waiting for its song on stdin (``mma - -f OUT``): its
    Python start-up (~0.2 s, most of a run) is paid while nobody waits. After each run a new spare
    is started; at exit the spare is ended and its folder removed."""

    def __init__(self, exe: str):
        self.dir = tempfile.mkdtemp(prefix="gtzband-")
        self.out = os.path.join(self.dir, "band.mid")
        self.proc = subprocess.Popen([exe, "-", "-f", self.out], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, cwd=self.dir)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()
        shutil.rmtree(self.dir, ignore_errors=True)


_spare: _Spare | None = None
_spare_lock = threading.Lock()
_respawn = False  # start a new spare after every run (the app); a one-shot command does not


def _take_spare(exe: str) -> _Spare:
    global _spare
    with _spare_lock:
        spare, _spare = _spare, None
    if spare is None or spare.proc.poll() is not None:
        if spare is not None:
            spare.close()
        spare = _Spare(exe)
    return spare


def prestart(respawn: bool = True) -> bool:
    """Start a spare MMA process now (call at start-up or before a melody is generated), so that
    the band's first run does not wait for MMA to start; with ``respawn`` every run starts the next
    spare (for the app; a one-shot command passes False). False when mma is not installed."""
    global _spare, _respawn
    _respawn = respawn
    exe = shutil.which("mma")
    if exe is None:
        return False
    with _spare_lock:
        if _spare is None or _spare.proc.poll() is not None:
            _spare = _Spare(exe)
    return True


@atexit.register
def _close_spare() -> None:
    global _spare
    with _spare_lock:
        if _spare is not None:
            _spare.close()
            _spare = None


def run_mma(source: str) -> tuple[int, list[MmaTrack]]:
    """Run MMA on ``source``; return (ticks per quarter, tracks with notes)."""
    exe = find_mma()
    try:
        spare = _take_spare(exe)
    except OSError as exc:
        raise MmaMissingError(f"{MMA_PACKAGE_HINT} (running {exe} failed: {exc})") from exc
    try:
        try:
            stdout, stderr = spare.proc.communicate(source, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise MmaError(f"MMA did not finish within {TIMEOUT_S} s") from exc
        if spare.proc.returncode != 0 or not os.path.exists(spare.out):
            lines = [ln for ln in (stdout + stderr).splitlines() if ln.strip() and "PLUGIN" not in ln]
            raise MmaError(f"MMA failed: {lines[-1] if lines else 'exit code ' + str(spare.proc.returncode)}")
        result = read_mma_midi(spare.out)
    finally:
        spare.close()
    if _respawn:
        prestart()  # the next run's process starts now
    return result


def read_mma_midi(path: str) -> tuple[int, list[MmaTrack]]:
    """Read MMA's Standard MIDI File: per track its name, program, channel and notes. A small
    reader of our own (mido takes ~10x longer on a 32-bar, 4-track file)."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data[:4] != b"MThd":
        raise MmaError("MMA wrote a file that is not MIDI")
    n_tracks = int.from_bytes(data[10:12], "big")
    division = int.from_bytes(data[12:14], "big")
    pos = 8 + int.from_bytes(data[4:8], "big")
    tracks: list[MmaTrack] = []
    for _ in range(n_tracks):
        if data[pos:pos + 4] != b"MTrk":
            break
        length = int.from_bytes(data[pos + 4:pos + 8], "big")
        t = _read_track(data, pos + 8, pos + 8 + length)
        if t.notes:
            tracks.append(t)
        pos += 8 + length
    return division, tracks


def _read_track(data: bytes, i: int, end: int) -> MmaTrack:
    def varlen(i: int) -> tuple[int, int]:
        value = 0
        while True:
            b = data[i]
            i += 1
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value, i

    name, program, channel = "", 0, None
    tick, status = 0, 0
    open_notes: dict[tuple[int, int], tuple[int, int]] = {}
    notes: list[tuple[int, int, int, int]] = []

    def close(key, at):
        s, v = open_notes.pop(key)
        notes.append((s, max(at, s + 1), key[1], v))

    while i < end:
        delta, i = varlen(i)
        tick += delta
        b = data[i]
        if b == 0xFF:
            kind = data[i + 1]
            n, i = varlen(i + 2)
            if kind == 0x03:
                name = data[i:i + n].decode("latin-1")
            i += n
            continue
        if b in (0xF0, 0xF7):
            n, i = varlen(i + 1)
            i += n
            continue
        if b & 0x80:
            status = b
            i += 1
        kind, ch = status & 0xF0, status & 0x0F
        if kind in (0xC0, 0xD0):
            if kind == 0xC0:
                program = data[i]
            i += 1
            continue
        d1, d2 = data[i], data[i + 1]
        i += 2
        if kind == 0x90 and d2 > 0:
            channel = ch
            if (ch, d1) in open_notes:  # retrigger: close the sounding one
                close((ch, d1), tick)
            open_notes[(ch, d1)] = (tick, d2)
        elif kind in (0x80, 0x90) and (ch, d1) in open_notes:
            close((ch, d1), tick)
    for key in list(open_notes):
        close(key, tick)
    notes.sort()
    return MmaTrack(name, channel if channel is not None else 0, program, notes)
