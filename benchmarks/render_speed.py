"""WAV render speed: gtzcomposer's render_song against the ``fluidsynth -ni -F`` program.

Goal (issue 3, DESIGN.md section 5): >= 100x real time, and >= 0.8x the speed of
``fluidsynth -ni -F out.wav SF IN.mid`` on the same file and soundfont.

Pieces (``--piece``, repeatable; default all four), each written to a MIDI file first (by a small
writer of this script's own, with mido) so that both renderers play the same file:

- ``pop``: a generated pop arrangement (drums with 16th hi-hats, bass, piano chords, strings pad,
  lead; two tempos; about 100 s, about 48 voices at once with FluidR3_GM): a dense stress case;
- ``rag``: Joplin's Maple Leaf Rag, solo piano, 101 s (music21's corpus, read at run time);
- ``quartet``: Beethoven's string quartet op. 18 no. 1, first movement, 7.8 min (music21's corpus);
- ``chorale``: Bach's chorale BWV 66.6 for four voices, piano, 23 s (``tests/data``).

``--input FILE`` (repeatable) benchmarks your own MIDI/MusicXML files instead.

Renderers, timed on the same file and soundfont (by default FluidR3_GM from /usr/share/sounds/sf2
when installed, and pretty_midi's TimGM6mb), taking turns, ``--repeats`` times:

- ``render_song``, cold: the soundfont is loaded in every run, as ``gtzcomposer render`` does;
- ``render_song``, soundfont kept: after ``keep_soundfont``, as the app does after its first WAV
  export and ``gtzcomposer render`` does while it reads the song (the render's synth then
  shares the kept sample data instead of reading the soundfont file);
- ``render_song(threads=1)``, cold: one thread, for reference;
- ``fluidsynth -ni -F out.wav SF IN.mid``.

Each writes a 16-bit WAV at 44.1 kHz with FluidSynth's defaults (gain 0.2, reverb and chorus on,
4th-order interpolation). It prints the fastest and the median wall-clock time, the CPU time, the
real-time factors (seconds of audio per second), the ratio to the CLI, and the load average
(other jobs on a shared machine slow the wall-clock figures down), then a summary table.

    python benchmarks/render_speed.py [--piece pop ...] [--input FILE ...] [--soundfont SF2 ...] [--repeats 3]
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

from gtzcomposer.audio.render import keep_soundfont, release_soundfont, render_song  # noqa: E402
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

    @property
    def median_speed(self) -> float:
        return self.audio / statistics.median(self.wall)

    def line(self) -> str:
        med = statistics.median(self.wall)
        cpu = min(self.cpu)
        return (f"{self.name:<34} {self.audio:6.1f} s audio | wall best {self.best:6.3f} s = {self.speed:5.0f}x"
                f" (median {med:6.3f} s = {self.median_speed:4.0f}x) | CPU {cpu:6.3f} s{self.note}")


def bench(song: Song, sf, midi: Path, tmp: Path, fluidsynth: str | None, repeats: int) -> list[Runs]:
    cold = Runs("render_song, cold")
    warm = Runs("render_song, soundfont kept")
    single = Runs("render_song(threads=1), cold")
    cli = Runs("fluidsynth -ni -F")

    def run_ours(runs: Runs, threads: int | None) -> None:
        t, c = time.perf_counter(), time.process_time()
        result = render_song(song, tmp / "ours.wav", soundfont=sf, threads=threads)
        runs.add(time.perf_counter() - t, time.process_time() - c, result.seconds)
        runs.note = f" [{result.threads} thread{'s' if result.threads > 1 else ''}]"

    def run_warm() -> None:
        keep_soundfont(sf)  # what the app and `gtzcomposer render` do before rendering
        try:
            run_ours(warm, None)
        finally:
            release_soundfont()

    def run_cli() -> None:
        (tmp / "cli.wav").unlink(missing_ok=True)
        t, c = time.perf_counter(), _child_cpu()
        subprocess.run([fluidsynth, "-ni", "-F", str(tmp / "cli.wav"), str(sf.path), str(midi)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall, cpu = time.perf_counter() - t, _child_cpu() - c
        import soundfile

        cli.add(wall, cpu, soundfile.info(str(tmp / "cli.wav")).duration)

    # Import what a render imports (FluidSynth binding, soundfile) before timing anything.
    render_song(Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ),)),)), tmp / "warm.wav", soundfont=sf, threads=1)
    # Take turns, in a rotating order: the machine's load changes over time, turns treat all alike.
    steps = [lambda: run_ours(cold, None), run_warm, lambda: run_ours(single, 1)] + ([run_cli] if fluidsynth else [])
    for r in range(repeats):
        for k in range(len(steps)):
            steps[(k + r) % len(steps)]()
    return [cold, warm, single] + ([cli] if fluidsynth else [])


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


def _corpus(relative: str) -> Song:
    from music21 import corpus

    from gtzcomposer.io.formats import load_song

    return load_song(str(corpus.getWork(relative)))


ROOT = Path(__file__).resolve().parents[1]
PIECES = {
    "pop": ("generated pop arrangement", lambda: make_song(100.0)),
    "rag": ("Joplin, Maple Leaf Rag", lambda: _corpus("joplin/maple_leaf_rag.mxl")),
    "quartet": ("Beethoven, op. 18 no. 1, i", lambda: _corpus("beethoven/opus18no1/movement1.mxl")),
    "chorale": ("Bach, BWV 66.6", lambda: _load_file(ROOT / "tests" / "data" / "music21_bwv66_6.mid")),
}


def _load_file(path) -> Song:
    from gtzcomposer.io.formats import load_song

    return load_song(str(path))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--piece", action="append", choices=sorted(PIECES), help="a built-in piece (repeatable)")
    ap.add_argument("--input", action="append", help="benchmark this MIDI or MusicXML file (repeatable)")
    ap.add_argument("--soundfont", action="append",
                    help="soundfont (repeatable; default: FluidR3_GM if installed, and TimGM6mb)")
    ap.add_argument("--repeats", type=int, default=3, help="runs per renderer")
    ap.add_argument("--keep-midi", help="keep the MIDI files the renderers play in this folder")
    args = ap.parse_args(argv)

    if args.input:
        pieces = [(Path(p).name, (lambda p=p: _load_file(p))) for p in args.input]
    else:
        pieces = [PIECES[k] for k in (args.piece or PIECES)]
    exe = shutil.which("fluidsynth")
    if exe is None:
        print("fluidsynth program not found: cannot compare (install the 'fluidsynth' package)")
    fonts = [resolve_soundfont(f) for f in (args.soundfont or _default_soundfonts())]
    ok = True
    summary = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for index, (title, make) in enumerate(pieces):
            song = make()
            duration = TempoMap.of(song).seconds(song.end_tick)
            folder = Path(args.keep_midi) if args.keep_midi else tmp
            folder.mkdir(parents=True, exist_ok=True)
            midi = folder / f"piece{index}.mid"
            write_midi(song, midi)
            print(f"\n=== {title}: {len(song.tracks)} tracks, {song.note_count} notes, {duration:.1f} s of music;"
                  f" {args.repeats} runs each, taking turns")
            for sf in fonts:
                print(f"soundfont: {sf.path.name}; before: {_load()}")
                runs = bench(song, sf, midi, tmp, exe, args.repeats)
                for r in runs:
                    print("  " + r.line())
                cold, warm = runs[0], runs[1]
                ratio = cold.speed / runs[-1].speed if exe else float("nan")
                goal = cold.speed >= 100 and warm.speed >= 100 and (ratio >= 0.8 or not exe)
                if exe:
                    med = cold.median_speed / runs[-1].median_speed
                    print(f"  ratio cold render / CLI (real-time factors): {ratio:.2f}x best, {med:.2f}x median")
                print(f"  goal (>= 100x real time, >= 0.8x the CLI): {'met' if goal else 'NOT met'}; after: {_load()}")
                ok = ok and goal
                summary.append((title, duration, sf.path.name, cold, warm, runs[2], runs[-1] if exe else None, ratio))
    print("\n| piece | audio | soundfont | ours, cold | ours, soundfont kept | ours, 1 thread | fluidsynth CLI"
          " | ours cold / CLI |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for title, duration, font, cold, warm, single, cli, ratio in summary:
        print(f"| {title} | {duration:.0f} s | {font} | {cold.speed:.0f}x | {warm.speed:.0f}x | {single.speed:.0f}x"
              f" | {f'{cli.speed:.0f}x' if cli else '-'} | {ratio:.2f} |")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
