"""WAV render speed: gtzcomposer's render_song against the ``fluidsynth -ni -F`` program.

Goal (DESIGN.md section 5): >= 100x real time, and >= 0.8x the speed of
``fluidsynth -ni -F out.wav SF IN.mid`` on the same file and soundfont.

The benchmark builds a realistic multi-track song (drums, bass, piano chords, strings pad, lead
melody; two tempo changes; about 100 s), writes it as a MIDI file with a small writer of its
own (mido), and times both renderers on it, each from a cold start (the soundfont is loaded in
every run). Both use FluidSynth's defaults: 44.1 kHz, gain 0.2, reverb and chorus on.

    python benchmarks/render_speed.py [--soundfont SF2] [--seconds 100] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
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


def time_both(song: Song, sf, midi: Path, tmp: Path, fluidsynth: str | None, repeats: int):
    """Fastest of ``repeats`` runs each, wall-clock and CPU time, the two renderers taking
    turns (the machine's load changes over time; taking turns treats both alike)."""
    ours = cli = ours_cpu = cli_cpu = float("inf")
    ours_seconds = 0.0
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        result = render_song(song, tmp / "ours.wav", soundfont=sf)
        ours = min(ours, time.perf_counter() - t)
        ours_cpu = min(ours_cpu, time.process_time() - c)
        ours_seconds = result.seconds
        if fluidsynth:
            (tmp / "cli.wav").unlink(missing_ok=True)
            t, c = time.perf_counter(), _child_cpu()
            subprocess.run([fluidsynth, "-ni", "-F", str(tmp / "cli.wav"), str(sf.path), str(midi)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cli = min(cli, time.perf_counter() - t)
            cli_cpu = min(cli_cpu, _child_cpu() - c)
    return ours, ours_cpu, ours_seconds, cli, cli_cpu


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soundfont", help="soundfont (default: the app's own choice)")
    ap.add_argument("--seconds", type=float, default=100.0, help="length of the generated song")
    ap.add_argument("--repeats", type=int, default=3, help="runs per renderer; the fastest counts")
    ap.add_argument("--midi", help="also keep the generated MIDI file here")
    args = ap.parse_args(argv)

    sf = resolve_soundfont(args.soundfont)
    song = make_song(args.seconds)
    duration = TempoMap.of(song).seconds(song.end_tick)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        midi = Path(args.midi) if args.midi else tmp / "bench.mid"
        write_midi(song, midi)
        print(f"file: {midi.name} ({len(song.tracks)} tracks, {song.note_count} notes, {duration:.1f} s of music)")
        print(f"soundfont: {sf.path} ({sf.source})")
        exe = shutil.which("fluidsynth")
        ours, ours_cpu, rendered, cli, cli_cpu = time_both(song, sf, midi, tmp, exe, args.repeats)
        ours_x, ours_cpu_x = rendered / ours, rendered / ours_cpu
        print(f"gtzcomposer render_song: {ours:.3f} s wall ({ours_cpu:.3f} s CPU) for {rendered:.1f} s of audio"
              f" = {ours_x:.0f}x real time ({ours_cpu_x:.0f}x per CPU second)")
        if exe is None:
            print("fluidsynth program not found: cannot compare (install the 'fluidsynth' package)")
            return 0 if ours_x >= 100 else 1
        import soundfile

        cli_seconds = soundfile.info(str(tmp / "cli.wav")).duration
        cli_x, cli_cpu_x = cli_seconds / cli, cli_seconds / cli_cpu
        print(f"fluidsynth -ni -F:       {cli:.3f} s wall ({cli_cpu:.3f} s CPU) for {cli_seconds:.1f} s of audio"
              f" = {cli_x:.0f}x real time ({cli_cpu_x:.0f}x per CPU second)")
        ratio = ours_x / cli_x
        print(f"ratio (ours / CLI, real-time factors): {ratio:.2f}x wall, {ours_cpu_x / cli_cpu_x:.2f}x CPU")
        ok = ours_x >= 100 and ratio >= 0.8
        print("goal (>= 100x real time, >= 0.8x CLI):", "met" if ok else "NOT met",
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
