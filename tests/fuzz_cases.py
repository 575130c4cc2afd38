"""Hostile and extreme files, and a worker that runs the commands on them.

Used by ``tests/test_fuzz_files.py`` (a small seeded run in CI) and ``benchmarks/fuzz_files.py``
(the long run that gives the figures). :func:`make_cases` writes, into a folder, for each format
(MIDI, MusicXML, MXL, .gtzc, WAV, FLAC, OGG, MP3): a valid file, truncations, byte flips, huge
declared lengths, the file under every other extension, a folder, a FIFO, a symlink loop, an
unreadable and an empty file under the format's name, and extreme valid files (1,000 tracks or
parts, tempo at MIDI's slowest and 10,000 bpm, a note at 2^31 in a 1-PPQ MIDI file, a .gtzc note
2^40 long and a loop to 2^40, 200,000 notes, 1000/3 meters, 2-hour audio).

:func:`run_worker` runs ``gtzcomposer.cli.main`` in-process on each (case, command) and records
the exit code, whether a traceback was printed, the wall and CPU time, the memory at the start
and the peak memory (VmHWM, reset before each run through /proc/self/clear_refs); the memory
bound applies to the growth, since TensorFlow and music21 stay loaded from earlier runs. Each run has an alarm: past the time bound it is
stopped and recorded as a timeout. The contract: exit 0 or 2, no traceback, within the bounds.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import signal
import stat
import struct
import sys
import time
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

SONG_EXTS = (".mid", ".musicxml", ".mxl", ".gtzc")
AUDIO_EXTS = (".wav", ".flac", ".ogg", ".mp3")
SONG_COMMANDS = ("info", "convert", "render", "continue")
AUDIO_COMMANDS = ("genre",)


@dataclass
class Case:
    name: str
    path: str
    format: str  # the format the case was made from: mid, musicxml, mxl, gtzc, wav, flac, ogg, mp3
    kind: str  # valid, truncated, flipped, huge-length, wrong-extension, folder, fifo, loop, unreadable, empty, extreme
    heavy: bool = False  # a large valid file: render/continue of it is left to the long run


@dataclass
class Result:
    case: str
    format: str
    kind: str
    command: str
    rc: int
    traceback: bool
    seconds: float
    peak_mb: float
    message: str = ""
    cpu_s: float = 0.0  # user + system seconds of the run (all threads)
    base_mb: float = 0.0  # resident memory before the run (modules earlier runs loaded)


# ----------------------------------------------------------------------------------------------
# building files


def _varlen(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi_bytes(tracks: list[bytes], ppq: int = 480, fmt: int = 1) -> bytes:
    """A standard MIDI file from raw track bodies (each without its end-of-track event)."""
    out = [b"MThd", struct.pack(">IHHH", 6, fmt, len(tracks), ppq)]
    for body in tracks:
        body = body + b"\x00\xff\x2f\x00"
        out += [b"MTrk", struct.pack(">I", len(body)), body]
    return b"".join(out)


def midi_notes(n: int, channel: int = 0, step: int = 120, program: int | None = None) -> bytes:
    body = bytearray()
    if program is not None:
        body += b"\x00" + bytes([0xC0 | channel, program])
    for i in range(n):
        pitch = 48 + (i * 7) % 36
        body += b"\x00" + bytes([0x90 | channel, pitch, 90])
        body += _varlen(step) + bytes([0x80 | channel, pitch, 0])
    return bytes(body)


def _tempo(uspq: int) -> bytes:
    return b"\x00\xff\x51\x03" + uspq.to_bytes(3, "big")


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _song(n_tracks=2, n_notes=16, seed=0):
    from tests.helpers import random_song

    return random_song(seed, n_tracks=n_tracks, n_notes=n_notes)


def _audio(seconds: float, rate: int = 22050):
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    return (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def _valid_files(folder: Path) -> dict[str, bytes]:
    import soundfile as sf

    from gtzcomposer.io.midi import song_to_midi_bytes
    from gtzcomposer.io.musicxml import song_to_musicxml
    from gtzcomposer.io.project import Project, save_project

    song = _song()
    out = {"mid": song_to_midi_bytes(song)}
    song_to_musicxml(song, folder / "_base.musicxml")
    out["musicxml"] = (folder / "_base.musicxml").read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("META-INF/container.xml", '<?xml version="1.0"?><container><rootfiles><rootfile full-path="s.musicxml"/></rootfiles></container>')
        zf.writestr("s.musicxml", out["musicxml"])
    out["mxl"] = buf.getvalue()
    save_project(Project(song=song), folder / "_base.gtzc")
    out["gtzc"] = (folder / "_base.gtzc").read_bytes()
    y = _audio(3.0)
    for ext, fmt in (("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")):
        sub = {"WAV": "PCM_16", "FLAC": "PCM_16", "OGG": "VORBIS", "MP3": "MPEG_LAYER_III"}[fmt]
        sf.write(str(folder / f"_base.{ext}"), y, 22050, format=fmt, subtype=sub)
        out[ext] = (folder / f"_base.{ext}").read_bytes()
    for p in folder.glob("_base.*"):
        p.unlink()
    return out


def _huge_length(fmt: str, data: bytes) -> list[tuple[str, bytes]]:
    """Variants whose headers declare far more data than there is."""
    b = bytearray(data)
    out = []
    if fmt == "mid":
        h = bytearray(b)
        h[4:8] = b"\xff\xff\xff\xf0"
        out.append(("header-length", bytes(h)))
        t = bytearray(b)
        t[18:22] = b"\x7f\xff\xff\xf0"
        out.append(("track-length", bytes(t)))
        n = bytearray(b)
        n[10:12] = b"\xff\xff"  # 65,535 tracks declared
        out.append(("track-count", bytes(n)))
    elif fmt == "wav":
        w = bytearray(b)
        w[4:8] = b"\xf0\xff\xff\xff"
        i = w.find(b"data")
        w[i + 4:i + 8] = b"\xf0\xff\xff\xff"
        out.append(("data-size", bytes(w)))
        for rate in (1, 8, 400_000):
            r = bytearray(b)
            j = r.find(b"fmt ")
            struct.pack_into("<I", r, j + 12, rate)
            out.append((f"rate-{rate}", bytes(r)))
    elif fmt == "flac":
        f = bytearray(b)
        # STREAMINFO starts at 8: bytes 18..25 hold rate(20) channels(3) bits(5) samples(36)
        f[21] = (f[21] & 0xF0) | 0x0F
        f[22:26] = b"\xff\xff\xff\xff"
        out.append(("total-samples", bytes(f)))
        for rate in (1, 8):
            r = bytearray(b)
            packed = int.from_bytes(r[18:21], "big") & 0xF
            r[18:21] = ((rate << 4) | packed).to_bytes(3, "big")
            out.append((f"rate-{rate}", bytes(r)))
    elif fmt == "mp3" and b[:3] == b"ID3":
        m = bytearray(b)
        m[6:10] = b"\x7f\x7f\x7f\x7f"
        out.append(("id3-size", bytes(m)))
    elif fmt == "mxl":
        z = bytearray(b)
        i = z.rfind(b"PK\x01\x02")
        while i >= 0:
            z[i + 24:i + 28] = b"\xff\xff\xff\x7f"  # uncompressed size in the central directory
            i = z.rfind(b"PK\x01\x02", 0, i)
        out.append(("unpacked-size", bytes(z)))
    elif fmt == "musicxml":
        out.append(("duration", data.replace(b"<duration>", b"<duration>99999999999999999999", 1)))
        out.append(("divisions", data.replace(b"<divisions>", b"<divisions>99999999999", 1)))
    elif fmt == "gtzc":
        text = json.loads(data)
        text["song"]["tracks"][0]["notes"][0][0] = 2**40
        out.append(("note-start", json.dumps(text).encode()))
    return out


def _extreme_songs(folder: Path, scale: str) -> list[Case]:
    from gtzcomposer.core import Note, Song, TempoChange, new_track
    from gtzcomposer.io.project import FORMAT, SCHEMA, song_to_dict

    big = 200_000
    cases = []

    def add(name, fmt, data, heavy=False):
        path = _write(folder / name, data)
        cases.append(Case(name, str(path), fmt, "extreme", heavy))

    # MIDI
    add("x-1000-tracks.mid", "mid", midi_bytes([midi_notes(3, channel=i % 16, program=i % 128) for i in range(1000)]))
    add("x-tempo-slowest.mid", "mid", midi_bytes([_tempo(0xFFFFFF) + midi_notes(8)]))
    add("x-tempo-10000.mid", "mid", midi_bytes([_tempo(6000) + midi_notes(2000)]))
    far = b"".join(b"\x8f\xff\xff\x7f\xff\x01\x00" for _ in range(8))  # 8 text events 2^28-1 ticks apart
    add("x-note-at-2^31-ppq1.mid", "mid", midi_bytes([far + b"\x00\x90\x3c\x40\x01\x80\x3c\x00"], ppq=1))
    add("x-20k-notes.mid", "mid", midi_bytes([midi_notes(20_000, step=6)]))
    if scale == "long":
        add("x-200k-notes.mid", "mid", midi_bytes([midi_notes(big // 4, channel=c, step=60) for c in range(4)]), heavy=True)
    add("x-over-3h.mid", "mid", midi_bytes([_tempo(0xFFFFFF) + midi_notes(2) + b"\x87\xff\xff\x7f\x90\x3c\x40\x01\x80\x3c\x00"]))
    # .gtzc
    base = Song(tracks=(new_track(0, notes=(Note(0, 60, 480),)),))

    def project(song, loop=None):  # written by hand: the app itself refuses to save these
        d = {"format": FORMAT, "schema": SCHEMA, "song": song_to_dict(song),
             "loop": None if loop is None else {"start": loop[0], "end": loop[1]}}
        return json.dumps(d).encode()

    add("x-note-2^40-long.gtzc", "gtzc", project(Song(tracks=(new_track(0, notes=(Note(0, 60, 2**40),)),))))
    add("x-loop-to-2^40.gtzc", "gtzc", project(base, loop=(0, 2**40)))
    add("x-1000-tracks.gtzc", "gtzc", project(Song(tracks=tuple(new_track(i, program=i % 128, notes=(Note(i, 60, 240),))
                                                                 for i in range(1000)))))
    add("x-tempo-slowest.gtzc", "gtzc", project(Song(tracks=base.tracks, tempos=(TempoChange(0, 0xFFFFFF),))))
    add("x-tempo-10000.gtzc", "gtzc", project(Song(tracks=(new_track(0, notes=tuple(Note(i * 60, 60, 60) for i in range(2000))),),
                                                    tempos=(TempoChange(0, 6000),))))
    many = tuple(Note(i * 30, 40 + i % 40, 30) for i in range(big))
    add("x-200k-notes.gtzc", "gtzc", project(Song(tracks=(new_track(0, notes=many),))), heavy=True)
    add("x-300-drum-tracks.gtzc", "gtzc", project(Song(tracks=tuple(new_track(i, is_drum=True, program=i % 8, notes=(Note(0, 36, 240),))
                                                                     for i in range(300)))))
    # MusicXML
    def score(parts: int, notes_per_part: int, beats="4", beat_type="4", tempo=None):
        part_list = "".join(f'<score-part id="P{i}"><part-name>p{i}</part-name></score-part>' for i in range(parts))
        sound = f'<direction><sound tempo="{tempo}"/></direction>' if tempo else ""
        note = "<note><pitch><step>C</step><octave>4</octave></pitch><duration>1</duration></note>"
        body = "".join(
            f'<part id="P{i}"><measure number="1"><attributes><divisions>1</divisions><time><beats>{beats}</beats>'
            f"<beat-type>{beat_type}</beat-type></time></attributes>{sound}{note * notes_per_part}</measure></part>"
            for i in range(parts))
        return f'<?xml version="1.0"?><score-partwise><part-list>{part_list}</part-list>{body}</score-partwise>'.encode()

    parts = 1000 if scale == "long" else 300  # both more than FluidSynth's 240 melodic channels
    add(f"x-{parts}-parts.musicxml", "musicxml", score(parts, 2))
    add("x-meter-1000-3.musicxml", "musicxml", score(1, 4, "1000", "3"))
    add("x-meter-3-1000.musicxml", "musicxml", score(1, 4, "3", "1000"))
    add("x-tuplet-1000.musicxml", "musicxml", score(1, 1).replace(
        b"<duration>1</duration></note>", b"<duration>1</duration><time-modification><actual-notes>1000</actual-notes>"
        b"<normal-notes>1</normal-notes></time-modification></note>"))
    add("x-tempo-1.musicxml", "musicxml", score(1, 8, tempo=1))
    add("x-tempo-10000.musicxml", "musicxml", score(1, 8, tempo=10000))
    add("x-200k-notes.musicxml", "musicxml", score(4, big // 4))
    # audio: a 2-hour WAV (its data is a sparse run of zeros: silence, no disk), and sparse giants
    hours = 2 if scale == "long" else 1 / 60
    path = folder / "x-2-hours.wav"
    frames = int(hours * 3600 * 22050)
    with open(path, "wb") as fh:
        fh.write(b"RIFF" + struct.pack("<I", 36 + frames * 2) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 22050, 44100, 2, 16)
                 + b"data" + struct.pack("<I", frames * 2))
        fh.truncate(44 + frames * 2)
    cases.append(Case(path.name, str(path), "wav", "extreme", scale == "long"))
    return cases


def make_cases(folder: str | os.PathLike, seed: int = 0, scale: str = "ci") -> list[Case]:
    """Write the cases into ``folder``; ``scale`` "ci" (a few mutations each) or "long"."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    flips = 1 if scale == "ci" else 40
    cuts = 1 if scale == "ci" else 20
    valid = _valid_files(folder)
    cases: list[Case] = []

    def add(name, fmt, kind, data=None, heavy=False):
        path = folder / name
        if data is not None:
            path.write_bytes(data)
        cases.append(Case(name, str(path), fmt, kind, heavy))

    for fmt, data in valid.items():
        ext = "." + fmt
        add(f"valid{ext}", fmt, "valid", data)
        add(f"empty{ext}", fmt, "empty", b"")
        fixed = [len(data) // 2] if scale == "ci" else [1, 4, 12, len(data) // 2, len(data) - 1]
        for at in sorted(set(fixed) | {rng.randrange(1, len(data)) for _ in range(cuts)}):
            add(f"cut{at}{ext}", fmt, "truncated", data[:at])
        for k in range(flips):
            b = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            add(f"flip{k}{ext}", fmt, "flipped", bytes(b))
        for label, b in _huge_length(fmt, data):
            add(f"huge-{label}{ext}", fmt, "huge-length", b)
        others = [e for e in SONG_EXTS + AUDIO_EXTS if e != ext]
        for other in (others if scale == "long" else rng.sample(others, 2)):
            add(f"as-{fmt}{other}", fmt, "wrong-extension", data)
        # not files
        (folder / f"folder{ext}").mkdir()
        add(f"folder{ext}", fmt, "folder")
        os.mkfifo(folder / f"fifo{ext}")
        add(f"fifo{ext}", fmt, "fifo")
        (folder / f"loop{ext}").symlink_to(folder / f"loop{ext}")
        add(f"loop{ext}", fmt, "loop")
        add(f"unreadable{ext}", fmt, "unreadable", data)
        os.chmod(folder / f"unreadable{ext}", 0)
    # a sparse 5 GB Ogg: a real header, then zeros
    sparse = folder / "sparse-5GB.ogg"
    with open(sparse, "wb") as fh:
        fh.write(valid["ogg"])
        fh.truncate(5 * 10**9)
    cases.append(Case(sparse.name, str(sparse), "ogg", "huge-length"))
    cases += _extreme_songs(folder, scale)
    return cases


def commands_for(case: Case, out: Path, full: bool) -> list[tuple[str, list[str]]]:
    """The command lines run on a case. ``full`` (the long run): every command that takes its
    file type. Otherwise (CI): ``info`` on every song case (all commands read songs through the
    same loader) and ``convert``/``render``/``continue`` on the valid, extreme and huge-length
    ones that are not heavy; ``genre`` on every audio case that is not heavy."""
    p = case.path
    ext = Path(p).suffix
    runs: list[tuple[str, list[str]]] = []
    every = full or (case.kind in ("valid", "extreme", "huge-length") and not case.heavy)
    if ext in SONG_EXTS:
        target = ".mid" if ext == ".gtzc" else ".gtzc"
        runs.append(("info", ["info", p]))
        if every:
            runs.append(("convert", ["convert", p, str(out / f"{case.name}{target}")]))
            runs.append(("render", ["render", p, str(out / f"{case.name}.wav"), "--quiet", "--sample-rate", "22050"]))
            runs.append(("continue", ["continue", p, "--style", "folk", "--bars", "1", "--variations", "1", "--seed", "1",
                                      "-o", str(out / f"{case.name}-cont")]))
    elif full or not case.heavy:
        runs.append(("genre", ["genre", p]))
    return runs


# ----------------------------------------------------------------------------------------------
# the worker


class _Timeout(BaseException):
    """Raised by the alarm; a BaseException so that the CLI's last line of defence lets it by."""


def _on_alarm(signum, frame):
    raise _Timeout()


def _status_mb(field: str = "VmHWM") -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _peak_mb() -> float:
    return _status_mb("VmHWM")


def _cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _reset_peak() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def run_worker(cases: list[Case], out: Path, time_bound: float, full: bool, log=None) -> list[Result]:
    from gtzcomposer.cli import main

    signal.signal(signal.SIGALRM, _on_alarm)
    results = []
    for case in cases:
        for command, argv in commands_for(case, out, full):
            if log:
                print(f"START {case.name} {command}", file=log, flush=True)
            err = io.StringIO()
            _reset_peak()
            base = _status_mb("VmRSS")
            c0 = _cpu()
            t0 = time.perf_counter()
            signal.setitimer(signal.ITIMER_REAL, time_bound)
            try:
                with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                    try:
                        rc = main(argv)
                    except SystemExit as exc:
                        rc = exc.code if isinstance(exc.code, int) else 2
            except _Timeout:
                rc = -1
            except BaseException as exc:  # noqa: BLE001 - recorded as a contract break
                import traceback

                rc = 1
                err.write("Traceback (escaped the CLI)\n" + "".join(traceback.format_exception(exc)))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            seconds = time.perf_counter() - t0
            cpu = _cpu() - c0
            text = err.getvalue()
            last = [line for line in text.strip().splitlines() if line.strip()]
            results.append(Result(case.name, case.format, case.kind, command, int(rc), "Traceback" in text,
                                  round(seconds, 3), round(_peak_mb(), 1), (last[-1] if last else "")[:300],
                                  round(cpu, 3), round(base, 1)))
    return results


def _worker_main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    cases = [Case(**c) for c in spec["cases"]]
    results = run_worker(cases, Path(spec["out"]), spec["time_bound"], spec["full"], log=sys.stdout)
    Path(argv[1]).write_text(json.dumps([asdict(r) for r in results]))
    return 0


def run_in_subprocess(cases: list[Case], out: Path, time_bound: float, full: bool, timeout: float,
                      env: dict | None = None):
    """Run the worker in a fresh interpreter; returns (results, returncode, last START line)."""
    import subprocess
    import tempfile

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        spec, res = Path(tmp) / "spec.json", Path(tmp) / "res.json"
        spec.write_text(json.dumps({"cases": [asdict(c) for c in cases], "out": str(out), "time_bound": time_bound,
                                    "full": full}))
        full_env = dict(os.environ, PYTHONPATH=str(root), QT_QPA_PLATFORM="offscreen", **(env or {}))
        proc = subprocess.run([sys.executable, "-m", "tests.fuzz_cases", str(spec), str(res)], cwd=root, env=full_env,
                              capture_output=True, text=True, timeout=timeout)
        starts = [line for line in proc.stdout.splitlines() if line.startswith("START ")]
        results = [Result(**r) for r in json.loads(res.read_text())] if res.exists() else []
        return results, proc.returncode, (starts[-1] if starts else ""), proc.stderr[-3000:]


def breaks(results: list[Result], time_bound: float, memory_mb: float, absolute_mb: float = 2500.0) -> list[str]:
    """Sentences for every result that breaks the contract: an exit code but 0 or 2, a traceback,
    more than ``time_bound`` seconds, more than ``memory_mb`` added to the worker's memory, or a
    peak over ``absolute_mb`` all told."""
    out = []
    for r in results:
        why = []
        if r.rc not in (0, 2):
            why.append("timed out" if r.rc == -1 else f"exit {r.rc}")
        if r.traceback:
            why.append("printed a traceback")
        if r.seconds > time_bound:
            why.append(f"took {r.seconds:.1f} s")
        if r.peak_mb - r.base_mb > memory_mb:  # what the run added to what earlier runs had loaded
            why.append(f"grew by {r.peak_mb - r.base_mb:.0f} MB (to {r.peak_mb:.0f} MB)")
        elif r.peak_mb > absolute_mb:
            why.append(f"used {r.peak_mb:.0f} MB")
        if why:
            out.append(f"{r.command} {r.case} ({r.kind}): {', '.join(why)}: {r.message}")
    return out


def cleanup(folder: Path) -> None:
    """Make the case folder removable (unreadable files, FIFOs and loops included)."""
    for p in Path(folder).rglob("*"):
        with contextlib.suppress(OSError):
            if not p.is_symlink() and stat.S_ISREG(os.lstat(p).st_mode):
                os.chmod(p, 0o644)


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))


__all__ = ["Case", "Result", "make_cases", "run_worker", "run_in_subprocess", "breaks", "commands_for", "cleanup"]
