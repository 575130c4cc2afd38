"""Run MMA (Musical MIDI Accompaniment, GPL-2+, Debian package ``mma``) as a separate program on a
generated ``.mma`` file and read its MIDI output back as plain note lists per MMA track.

Decisions:

* MMA is a program we call, never code we import or copy: ``mma FILE -f OUT.mid`` in a private
  temporary folder, with a time limit. Missing program -> :class:`MmaMissingError`, a sentence
  naming the package; a failed run -> :class:`MmaError` with MMA's own last line.
* One run per *batch*: all variations of a request are consecutive blocks of bars in one file
  (MMA's start-up is ~0.15 s, its work per bar a few ms), split again by bar afterwards.
* Ticks: MMA writes 192 per quarter. Its bar is ``Time`` quarters (six for its 6/8 grooves, which
  count eighths as its beats), so an MMA tick maps to ``bar_ticks / (time * 192)`` song ticks,
  whatever the song's PPQ.
* ``RndSeed`` makes MMA's humanising (random timing, volume, skipped notes) reproducible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
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


def run_mma(source: str) -> tuple[int, list[MmaTrack]]:
    """Run MMA on ``source``; return (ticks per quarter, tracks with notes)."""
    exe = find_mma()
    with tempfile.TemporaryDirectory(prefix="gtzband-") as tmp:
        src, out = os.path.join(tmp, "band.mma"), os.path.join(tmp, "band.mid")
        with open(src, "w", encoding="utf-8") as fh:
            fh.write(source)
        try:
            proc = subprocess.run([exe, src, "-f", out], capture_output=True, text=True, timeout=TIMEOUT_S,
                                  cwd=tmp, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as exc:
            raise MmaError(f"MMA did not finish within {TIMEOUT_S} s") from exc
        except OSError as exc:
            raise MmaMissingError(f"{MMA_PACKAGE_HINT} (running {exe} failed: {exc})") from exc
        if proc.returncode != 0 or not os.path.exists(out):
            lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip() and "PLUGIN" not in ln]
            raise MmaError(f"MMA failed: {lines[-1] if lines else 'exit code ' + str(proc.returncode)}")
        return read_mma_midi(out)


def read_mma_midi(path: str) -> tuple[int, list[MmaTrack]]:
    import mido

    mid = mido.MidiFile(path)
    tracks: list[MmaTrack] = []
    for t in mid.tracks:
        name, program, channel = "", 0, None
        tick = 0
        open_notes: dict[tuple[int, int], tuple[int, int]] = {}
        notes = []
        for msg in t:
            tick += msg.time
            if msg.type == "track_name":
                name = msg.name
            elif msg.type == "program_change":
                program = msg.program
            elif msg.type == "note_on" and msg.velocity > 0:
                channel = msg.channel
                key = (msg.channel, msg.note)
                if key in open_notes:  # retrigger: close the sounding one
                    s, v = open_notes.pop(key)
                    notes.append((s, max(tick, s + 1), msg.note, v))
                open_notes[key] = (tick, msg.velocity)
            elif msg.type in ("note_off", "note_on"):
                key = (msg.channel, msg.note)
                if key in open_notes:
                    s, v = open_notes.pop(key)
                    notes.append((s, max(tick, s + 1), msg.note, v))
        for (_, pitch), (s, v) in open_notes.items():
            notes.append((s, max(tick, s + 1), pitch, v))
        if notes:
            notes.sort()
            tracks.append(MmaTrack(name, channel if channel is not None else 0, program, notes))
    return mid.ticks_per_beat, tracks
