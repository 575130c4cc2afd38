"""WAV render speed: gtzcomposer's render_song against the ``fluidsynth -ni -F`` program.

Goal (issue 3, DESIGN.md section 5): >= 100x real time, and >= 0.8x the speed of
``fluidsynth -ni -F out.wav SF IN.mid`` on the same file and soundfont.

The benchmark builds a realistic multi-track song (drums, bass, piano chords, strings pad, lead
melody; two tempo changes; about 100 s), writes it as a MIDI file with a small writer of its
own (mido), and times, on that file and each soundfont (by default both FluidR3_GM from
/usr/share/sounds/sf2 when installed and pretty_midi's TimGM6mb):

- ``render_song`` as the app calls it (``workers`` chosen automatically: the tracks split
  between synths, one thread each, on this machine's CPUs),
- ``render_song(workers=1)`` (one synth, for reference),
- ``fluidsynth -ni -F out.wav SF IN.mid``,

each from a cold start (the soundfont is loaded in every run), taking turns, ``--repeats``
times; it prints the fastest and the median wall-clock time, the CPU time, the real-time
factors, the ratio to the CLI and the load average (other jobs on a shared machine slow the
wall-clock figures down; CPU time is less affected). All use FluidSynth's defaults: 44.1 kHz,
gain 0.2, reverb and chorus on.

    python benchmarks/render_speed.py [--soundfont SF2 ...] [--seconds 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gtzcomposer.audio.render import render_song  # noqa: E402
from gtzcomposer.audio.soundfont import resolve_soundfont  # noqa: E402
from gtzcomposer.core import PPQ, Note, Song, TempoChange, TempoMap, TimeSignature, new_track  # noqa: E402


def make_song(seconds: float = 100.0, seed: int = 7) -> Song:
    """A pop-like arrangement of about ``seconds`` at 112-126 bpm."""
    rng = random.Random(seed)
    bar = 4 * PPQ
    bars = int(seconds / (4 * 60 / 118)) + 1
    chords = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]  # Am F C G
    drums, bass, piano, pad, lead = [], [], [], [], []
    scale = [57, 59, 60, 62, 64, 65, 67, 69, 71, 72, 74, 76]
    for b in range(bars):
        t0 = b * bar
        root = chords[b % 4]
        for step in range(16):  # sixteenth-note drum grid
            t = t0 + step * PPQ // 4
            drums.append(Note(t, 42, 60, 70 + rng.randrange(20)))
            if step in (0, 8, 10):
                drums.append(Note(t, 36, 120, 110))
            if step in (4, 12):
                drums.append(Note(t, 38, 120, 100))
        if b % 8 == 0:
            drums.append(Note(t0, 49, 480, 100))
        for eighth in range(8):
            t = t0 + eighth * PPQ // 2
            bass.append(Note(t, root[0] - 24 + (7 if eighth in (3, 7) else 0), PPQ // 2 - 20, 95))
        for beat in range(4):
            for p in root:
                piano.append(Note(t0 + beat * PPQ, p, PPQ - 40, 75 + rng.randrange(15)))
        for p in root:
            pad.append(Note(t0, p + 12, bar - 10, 60))
        t = t0
        while t < t0 + bar:
            length = rng.choice((PPQ // 2, PPQ // 2, PPQ, PPQ // 4))
            lead.append(Note(t, rng.choice(scale) + 12, max(30, length - 20), 90 + rng.randrange(20)))
            t += length
    tracks = (
        new_track(0, "Lead", program=80, notes=tuple(lead), pan=70),
        new_track(1, "Piano", program=0, notes=tuple(piano), volume=90, pan=50),
        new_track(2, "Strings", program=48, notes=tuple(pad), volume=80, pan=80),
        new_track(3, "Bass", program=33, notes=tuple(bass)),
        new_track(4, is_drum=True, notes=tuple(drums)),
    )
    half = (bars // 2) * bar
    return Song(
        tracks=tracks,
        tempos=(TempoChange.from_bpm(0, 112), TempoChange.from_bpm(half, 126)),
        time_signatures=(TimeSignature(0, 4, 4),),
        title="render benchmark",
    )


def write_midi(song: Song, path: Path) -> None:
    """A minimal type-1 MIDI writer (so that this benchmark needs no other part of the app)."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=song.ppq)
    meta = mido.MidiTrack()
    last = 0
    for t in song.tempos:
        meta.append(mido.MetaMessage("set_tempo", tempo=t.uspq, time=t.tick - last))
        last = t.tick
    mid.tracks.append(meta)
    for track in song.tracks:
        ch = 9 if track.is_drum else track.channel
        mt = mido.MidiTrack()
        mt.append(mido.Message("program_change", channel=ch, program=0 if track.is_drum else track.program, time=0))
        mt.append(mido.Message("control_change", channel=ch, control=7, value=track.volume, time=0))
        mt.append(mido.Message("control_change", channel=ch, control=10, value=track.pan, time=0))
        events = []
        for n in track.notes:
            events.append((n.start, 1, "note_on", n.pitch, n.velocity))
            events.append((n.end, 0, "note_off", n.pitch, 0))
        events.sort()
        last = 0
        for tick, _, kind, pitch, vel in events:
            mt.append(mido.Message(kind, channel=ch, note=pitch, velocity=vel, time=tick - last))
            last = tick
        mid.tracks.append(mt)
    mid.save(str(path))


def _child_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


class Runs:
    """Wall-clock and CPU seconds of repeated runs of one renderer."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.audio = 0.0  # seconds of audio it made
        self.note = ""
        self.critical: list[float] = []  # parallel runs: the busiest thread's CPU + the rest of the process's

    def add(self, wall: float, cpu: float, audio: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)
        self.audio = audio

    @property
    def best(self) -> float:
        return min(self.wall)

    @property
    def speed(self) -> float:
        """Real-time factor of the fastest run."""
        return self.audio / self.best

    def line(self) -> str:
        med = statistics.median(self.wall)
        cpu = min(self.cpu)
        return (f"{self.name:<28} {self.audio:6.1f} s audio | wall best {self.best:6.3f} s = {self.speed:5.0f}x"
                f" (median {med:6.3f} s = {self.audio / med:4.0f}x) | CPU {cpu:6.3f} s = {self.audio / cpu:4.0f}x"
                f" per CPU second{self.note}")


def load_cpu(sf) -> tuple[float, float]:
    """CPU seconds to load the soundfont into a synth: the first synth, and one more while the
    first holds it (FluidSynth's sample cache then shares the samples)."""
    from gtzcomposer.audio.synth import Synth

    c = time.thread_time()
    first = Synth(sf)
    first_cpu = time.thread_time() - c
    c = time.thread_time()
    second = Synth(sf)
    second_cpu = time.thread_time() - c
    second.close()
    first.close()
    return first_cpu, second_cpu


def bench(song: Song, sf, midi: Path, tmp: Path, fluidsynth: str | None, repeats: int) -> list[Runs]:
    ours, single, cli = Runs("gtzcomposer render_song"), Runs("render_song(workers=1)"), Runs("fluidsynth -ni -F")
    load_first, load_next = load_cpu(sf)

    def run_ours(runs: Runs, workers: int | None) -> None:
        t, c = time.perf_counter(), time.process_time()
        result = render_song(song, tmp / "ours.wav", soundfont=sf, workers=workers)
        runs.add(time.perf_counter() - t, time.process_time() - c, result.seconds)
        if result.workers > 1:
            split = " + ".join(f"{x:.2f}" for x in result.worker_cpu)
            runs.note = f" [{result.workers} synths, CPU s each: {split}]"
            # Synth k starts once the synths before it have loaded the soundfont.
            starts = [0.0] + [load_first + (k - 1) * load_next for k in range(1, result.workers)]
            busiest = max(start + cpu for start, cpu in zip(starts, result.worker_cpu))
            runs.critical.append(busiest + runs.cpu[-1] - sum(result.worker_cpu))

    def run_cli() -> None:
        (tmp / "cli.wav").unlink(missing_ok=True)
        t, c = time.perf_counter(), _child_cpu()
        subprocess.run([fluidsynth, "-ni", "-F", str(tmp / "cli.wav"), str(sf.path), str(midi)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, cpu = time.perf_counter() - t, _child_cpu() - c
        import soundfile

        cli.add(wall, cpu, soundfile.info(str(tmp / "cli.wav")).duration)

    # Import what a render imports (FluidSynth binding, soundfile) before timing anything.
    render_song(Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ),)),)), tmp / "warm.wav", soundfont=sf, workers=1)
    # Take turns, in a rotating order: the machine's load changes over time, turns treat all alike.
    steps = [lambda: run_ours(ours, None), lambda: run_ours(single, 1)] + ([run_cli] if fluidsynth else [])
    for r in range(repeats):
        for k in range(len(steps)):
            steps[(k + r) % len(steps)]()
    return [ours, single] + ([cli] if fluidsynth else [])


def _default_soundfonts() -> list[str]:
    from gtzcomposer.audio.soundfont import bundled_soundfont

    fonts = [p for p in ("/usr/share/sounds/sf2/FluidR3_GM.sf2",) if Path(p).is_file()]
    bundled = bundled_soundfont()
    if bundled is not None:
        fonts.append(str(bundled))
    return fonts or [str(resolve_soundfont().path)]


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soundfont", action="append",
                    help="soundfont (repeatable; default: FluidR3_GM if installed, and TimGM6mb)")
    ap.add_argument("--seconds", type=float, default=100.0, help="length of the generated song")
    ap.add_argument("--repeats", type=int, default=5, help="runs per renderer")
    ap.add_argument("--midi", help="also keep the generated MIDI file here")
    ap.add_argument("--input", help="benchmark this MIDI file instead of the generated song")
    args = ap.parse_args(argv)

    if args.input:
        from gtzcomposer.io.midi import midi_to_song

        song = midi_to_song(args.input)
    else:
        song = make_song(args.seconds)
    duration = TempoMap.of(song).seconds(song.end_tick)
    exe = shutil.which("fluidsynth")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        midi = Path(args.midi) if args.midi else tmp / "bench.mid"
        write_midi(song, midi)
        print(f"file: {midi.name} ({len(song.tracks)} tracks, {song.note_count} notes, {duration:.1f} s of music);"
              f" {args.repeats} runs each, taking turns")
        if exe is None:
            print("fluidsynth program not found: cannot compare (install the 'fluidsynth' package)")
        for font in args.soundfont or _default_soundfonts():
            sf = resolve_soundfont(font)
            print(f"\nsoundfont: {sf.path} ({sf.source}); before: {_load()}")
            runs = bench(song, sf, midi, tmp, exe, args.repeats)
            for r in runs:
                print("  " + r.line())
            if runs[0].critical:
                crit = min(runs[0].critical)
                print(f"  {'':<28} critical path {crit:.3f} s = {runs[0].audio / crit:.0f}x: the busiest synth's"
                      " thread (after the synths before it loaded the soundfont) plus the rest of the process, in"
                      " CPU time: the wall time with a free core per synth (an estimate, for a busy machine)")
            ours = runs[0]
            goal = ours.speed >= 100
            if exe is not None:
                cli = runs[-1]
                ratio = ours.speed / cli.speed
                med = (ours.audio / statistics.median(ours.wall)) / (cli.audio / statistics.median(cli.wall))
                cpu_ratio = (ours.audio / min(ours.cpu)) / (cli.audio / min(cli.cpu))
                print(f"  ratio ours / CLI (real-time factors): {ratio:.2f}x wall (best), {med:.2f}x wall (median),"
                      f" {cpu_ratio:.2f}x per CPU second")
                goal = goal and ratio >= 0.8
            print(f"  goal (>= 100x real time, >= 0.8x the CLI): {'met' if goal else 'NOT met'}; after: {_load()}")
            ok = ok and goal
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
