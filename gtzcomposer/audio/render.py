"""Offline render: Song -> stereo audio (and a WAV/FLAC file) with FluidSynth.

:func:`render_song` is a pure long-running function in the house style (``progress``,
``is_cancelled``). Event times come from the song's tempo map and are rounded to the sample;
between two event times the synth renders the whole span in one call, straight into the output
buffer (FluidSynth itself works in 64-frame blocks, so an event takes effect within 64 frames,
1.5 ms at 44.1 kHz, as in the ``fluidsynth`` program).

A song with enough to play is rendered with FluidSynth's own helper threads (its
``synth.cpu-cores`` setting: the voices are shared out between threads for every stretch of
audio, and the threads meet again before the effects run). The output is the one-thread render
exactly (see :func:`choose_threads`; docs/sound.md has the measurements).

After the last note ends a release tail of up to ``tail`` seconds is rendered and cut where the
sound (note releases and reverb) has died away. Audio that would clip is scaled down as a whole
so that its peak is just below full scale; quieter audio is written exactly as FluidSynth makes it.
"""

from __future__ import annotations

import atexit
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import Cancelled, GtzError
from ..core.limits import MAX_SONG_SECONDS
from ..core.song import Song
from ..core.timing import TempoMap, format_position
from .events import NOTE_OFF, NOTE_ON, PITCH_BEND_EVENT, PRESET, compile_events
from .soundfont import Soundfont, resolve_soundfont

SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000)
BIT_DEPTHS = (16, 24, 32)
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
_SUBTYPES = {("WAV", 16): "PCM_16", ("WAV", 24): "PCM_24", ("WAV", 32): "FLOAT",
             ("FLAC", 16): "PCM_16", ("FLAC", 24): "PCM_24"}

MAX_SECONDS = MAX_SONG_SECONDS  # longer songs are refused (most likely a stray note far out)
IN_MEMORY_SECONDS = 10 * 60  # longer renders are held in a temporary file, not in RAM
SILENCE = 10 ** (-80 / 20)  # -80 dBFS: below this the tail counts as silent
_TAIL_BLOCK = 2048
_PEAK_CEILING = 0.989  # -0.1 dBFS


class RenderError(GtzError):
    """A render that cannot be done as asked (bad sample rate, bit depth, output type...)."""


class RenderCancelled(Cancelled):
    """The render was cancelled by the user."""


@dataclass(frozen=True, slots=True)
class RenderResult:
    audio: np.ndarray  # float32, shape (frames, 2)
    sample_rate: int
    soundfont: Soundfont
    scaled: float  # the factor the audio was scaled by to avoid clipping (1.0 = untouched)
    threads: int = 1  # how many threads FluidSynth rendered with

    @property
    def seconds(self) -> float:
        return self.audio.shape[0] / self.sample_rate


def audio_format(path: str | os.PathLike) -> str:
    ext = Path(path).suffix.lower()
    try:
        return AUDIO_FORMATS[ext]
    except KeyError:
        raise RenderError(
            f"{Path(path).name}: cannot write audio of type {ext or '(no extension)'!r}; use .wav or .flac"
        ) from None


def check_options(path: str | os.PathLike | None, sample_rate: int, bit_depth: int) -> None:
    if sample_rate not in SAMPLE_RATES:
        raise RenderError(f"sample rate {sample_rate} Hz is not supported; use one of "
                          + ", ".join(str(r) for r in SAMPLE_RATES))
    if bit_depth not in BIT_DEPTHS:
        raise RenderError(f"bit depth {bit_depth} is not supported; use 16 or 24")
    if path is not None:
        fmt = audio_format(path)
        if (fmt, bit_depth) not in _SUBTYPES:
            raise RenderError(f"{Path(path).name}: {fmt} cannot hold {bit_depth}-bit audio; use 16 or 24")


def render_song(
    song: Song,
    path: str | os.PathLike | None = None,
    soundfont: Soundfont | str | os.PathLike | None = None,
    sample_rate: int = 44100,
    bit_depth: int = 16,
    tail: float = 2.0,
    progress: Callable[[float, str], None] | None = None,
    is_cancelled: Callable[[], bool] | None = None,
    threads: int | None = None,
) -> RenderResult:
    """Render the song's audible tracks; write ``path`` (.wav/.flac) when given.

    ``threads``: how many threads FluidSynth renders with; ``None`` chooses from the CPUs this
    process may use and the amount of work (small songs use one), 1 forces one thread. The
    audio is the same either way.

    Raises :class:`RenderCancelled` when ``is_cancelled()`` turns true (no file is written),
    :class:`~gtzcomposer.audio.soundfont.SoundfontError` for a bad soundfont and
    :class:`RenderError` for bad options.
    """
    check_options(path, sample_rate, bit_depth)
    sf = soundfont if isinstance(soundfont, Soundfont) else resolve_soundfont(soundfont)
    setups, events = compile_events(song, "synth")
    tempo = TempoMap.of(song)
    if events:
        ticks = np.fromiter((e.tick for e in events), dtype=np.float64, count=len(events))
        frames_at = _ticks_to_frames(tempo, ticks, sample_rate)
    else:
        frames_at = np.zeros(0, dtype=np.int64)
    end_frame = int(frames_at[-1]) if len(frames_at) else 0
    if end_frame > MAX_SECONDS * sample_rate:
        raise RenderError(
            f"the song lasts {end_frame / sample_rate / 3600:.1f} hours (its last note ends at "
            f"{format_position(song, events[-1].tick)}); renders are limited to {MAX_SECONDS // 3600} hours: "
            "delete or move the notes far out, or render a part of the song"
        )
    tail_frames = max(0, int(round(tail * sample_rate)))
    total = end_frame + tail_frames
    if path is not None:
        check_space(path, total, 2, bit_depth)  # a full disk is said now, not after the render
    channels = max((s.channel for s in setups), default=0) + 1
    spec = _Spec(sf, sample_rate, channels, choose_threads(events, frames_at, sample_rate, threads),
                 end_frame, total)
    timed = [(int(frames_at[i]),) + tuple(e[2:6]) for i, e in enumerate(events)]
    buffer = _output_buffer(total, sample_rate)

    def report(done: int, message: str) -> None:
        if progress is not None:
            progress(min(1.0, done / max(1, total)), message)
        if is_cancelled is not None and is_cancelled():
            raise RenderCancelled("render cancelled")

    report(0, "loading soundfont")
    every = sample_rate  # report (and check for cancel) about once per second of audio
    with _new_synth(spec) as synth:
        timeline = _Timeline(synth, setups, timed, spec)
        while not timeline.finished:
            timeline.render(buffer, timeline.pos + every)
            report(timeline.pos, "rendering" if timeline.pos < end_frame else "release tail")
    pos = timeline.pos
    audio = buffer[:pos]
    # Cut trailing silence after the last note-off (never inside the written music).
    tail_part = audio[end_frame:]
    loud = np.flatnonzero((tail_part.max(axis=1) >= SILENCE) | (tail_part.min(axis=1) <= -SILENCE))
    keep = end_frame + (int(loud[-1]) + 1 + int(0.05 * sample_rate) if len(loud) else 0)
    audio = audio[: min(pos, keep)]
    scale = 1.0
    peak = max(float(audio.max()), -float(audio.min())) if audio.size else 0.0
    if peak > _PEAK_CEILING:
        scale = _PEAK_CEILING / peak
        audio *= scale
    if path is not None:
        report(pos, "writing file")
        write_audio(path, audio, sample_rate, bit_depth)
    if progress is not None:
        progress(1.0, "done")
    return RenderResult(audio, sample_rate, sf, scale, spec.threads)


# --- how many threads --------------------------------------------------------------------------

MAX_THREADS = 4
_RELEASE_GUESS = 0.3  # seconds a note sounds after its note-off, for the load estimate only
# Below this many estimated voice-seconds (a few hundredths of a second of one core's work: the
# benchmark song's 1,635 took 1.4 s) one thread renders: a helper thread then costs more in
# start-up and hand-overs than it saves.
_THREADED_MIN_VOICE_SECONDS = 30.0


def default_threads() -> int:
    """The CPUs this process may run on (its affinity where the OS tells), at most MAX_THREADS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_THREADS, cpus))


def voice_seconds(events, frames_at: np.ndarray, sample_rate: int) -> float:
    """An estimate of the song's synthesis work: the sum of its note lengths, each plus a
    release guess (a note-on adds -start, its note-off adds +end)."""
    seconds = frames_at / float(sample_rate)
    total = 0.0
    for i, e in enumerate(events):
        if e.kind == NOTE_ON:
            total += _RELEASE_GUESS - seconds[i]
        elif e.kind == NOTE_OFF:
            total += seconds[i]
    return total


def choose_threads(events, frames_at: np.ndarray, sample_rate: int, threads: int | None) -> int:
    """``threads`` when given (at least 1); otherwise :func:`default_threads`, or 1 for a song
    too small to gain from more."""
    if threads is not None:
        return max(1, min(256, int(threads)))  # 256: FluidSynth's own limit
    n = default_threads()
    if n > 1 and voice_seconds(events, frames_at, sample_rate) < _THREADED_MIN_VOICE_SECONDS:
        return 1
    return n


# --- rendering -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Spec:
    soundfont: Soundfont
    sample_rate: int
    channels: int
    threads: int  # FluidSynth's synth.cpu-cores
    end_frame: int  # the frame of the song's last event
    total: int  # end_frame plus the longest release tail


class _Timeline:
    """The synth playing the song, rendered window by window in time order.

    :meth:`render` renders up to a frame into the output buffer; the events due are played at
    their frames. After ``end_frame`` comes the release tail, in small blocks, until the synth
    is silent (``finished``) or ``total`` is reached.
    """

    def __init__(self, synth, setups, events: list, spec: _Spec) -> None:
        self.synth = synth
        self.events = events  # (frame, kind, channel, data1, data2), time-ordered
        self.end_frame = spec.end_frame
        self.total = spec.total
        self.pos = 0
        self.i = 0
        self.quiet_run = 0
        self.finished = spec.total == 0
        for s in setups:
            synth.setup_channel(s.channel, s.bank, s.program, s.volume, s.pan)

    def render(self, buf: np.ndarray, stop: int) -> None:
        """Render frames ``pos .. stop`` into ``buf`` (row = frame)."""
        synth = self.synth
        handle = synth._synth  # the pyfluidsynth object: skip one Python call per event
        noteon, noteoff, cc, bend = handle.noteon, handle.noteoff, handle.cc, handle.pitch_bend
        events, n = self.events, len(self.events)
        stop = min(stop, self.total)
        pos, i = self.pos, self.i
        while pos < stop and pos < self.end_frame:
            while i < n and events[i][0] <= pos:
                _, kind, ch, d1, d2 = events[i]
                if kind == NOTE_ON:
                    noteon(ch, d1, d2)
                elif kind == NOTE_OFF:
                    noteoff(ch, d1)
                elif kind == PRESET:
                    synth.select(ch, d1, d2)
                elif kind == PITCH_BEND_EVENT:
                    bend(ch, d2)
                else:
                    cc(ch, d1, d2)
                i += 1
            upto = min(stop, self.end_frame, events[i][0] if i < n else self.end_frame)
            synth.write_into(buf, pos, upto - pos)
            pos = upto
        while i < n and pos >= self.end_frame and events[i][0] <= pos:  # the last frame's events
            synth.handle(*events[i][1:])
            i += 1
        # Release tail: small blocks until the sound (note releases and reverb) has died away.
        while pos < stop and not self.finished:
            step = min(_TAIL_BLOCK, stop - pos)
            synth.write_into(buf, pos, step)
            peak = float(np.abs(buf[pos:pos + step]).max())
            pos += step
            self.quiet_run = self.quiet_run + 1 if peak < SILENCE and synth.active_voices == 0 else 0
            if self.quiet_run >= 2:
                self.finished = True
        self.pos, self.i = pos, i
        if pos >= self.total:
            self.finished = True


def _new_synth(spec: _Spec):
    from .synth import Synth

    with _resident_lock:  # a soundfont being kept (loading in another thread) is waited for
        # synth.lock-memory off: pinning the samples in RAM is for live playback, not for a file.
        return Synth(spec.soundfont, sample_rate=spec.sample_rate, channels=spec.channels,
                     settings={"synth.cpu-cores": spec.threads, "synth.lock-memory": 0})


# --- keeping a soundfont's samples in memory between renders -----------------------------------------
#
# Every render starts a fresh synth (so that the same song always renders the same), and a fresh
# synth reads its soundfont's samples from the file: 0.1-0.2 s for FluidR3_GM's 141 MB, a tenth of a
# 100-s song's render. FluidSynth shares the samples of a file that another synth in the process
# has loaded (its sample cache), so a silent idle synth holding the soundfont makes the next
# render's load a matter of reading the presets (0.04 s). The app keeps the soundfont it exports
# with; the render command starts loading it while it reads the song.

_resident_lock = threading.Lock()
_resident = None  # the idle synth holding the kept soundfont


def release_soundfont() -> None:
    """Free the samples :func:`keep_soundfont` holds (renders going on keep their own copy)."""
    global _resident
    with _resident_lock:
        old, _resident = _resident, None
    if old is not None:
        old.close()


atexit.register(release_soundfont)  # closed while FluidSynth is still there


def keep_soundfont(soundfont: Soundfont | str | os.PathLike | None = None) -> Soundfont:
    """Keep ``soundfont``'s samples in memory in this process until :func:`release_soundfont`
    (or until another soundfont is kept: one at a time). Safe to call from any thread; a render
    that starts meanwhile waits for the load instead of reading the file a second time."""
    global _resident
    from .synth import Synth

    sf = soundfont if isinstance(soundfont, Soundfont) else resolve_soundfont(soundfont)
    with _resident_lock:
        if _resident is not None and _resident.soundfont == sf.path:
            return sf
        old, _resident = _resident, None
        if old is not None:
            old.close()
        _resident = Synth(sf, reverb=False, chorus=False, polyphony=1, settings={"synth.lock-memory": 0})
    return sf


def kept_soundfont() -> Path | None:
    """The path of the soundfont kept in memory, if any."""
    held = _resident
    return held.soundfont if held is not None else None


def _output_buffer(frames: int, sample_rate: int) -> np.ndarray:
    """A zeroed float32 (frames, 2) array: in memory up to IN_MEMORY_SECONDS, beyond that mapped
    on an anonymous temporary file (21 MB a minute at 44.1 kHz), with its disk space reserved at
    once so that a full disk is an error now, not a crash in the middle of the render."""
    if frames <= IN_MEMORY_SECONDS * sample_rate:
        return np.zeros((frames, 2), dtype=np.float32)
    size = frames * 8
    handle = tempfile.TemporaryFile(prefix="gtzcomposer-render-")  # removed when closed
    try:
        if hasattr(os, "posix_fallocate"):
            os.posix_fallocate(handle.fileno(), 0, size)
        else:  # pragma: no cover - Windows, macOS
            handle.truncate(size)
        return np.memmap(handle, dtype=np.float32, mode="r+", shape=(frames, 2))
    except OSError as exc:
        raise RenderError(
            f"not enough space in {tempfile.gettempdir()} for a {frames / sample_rate / 60:.0f}-minute render "
            f"({size / 1e9:.1f} GB): {exc.strerror or exc}"
        ) from None
    finally:
        handle.close()  # the mapping keeps the file's pages; the file goes with it


def _ticks_to_frames(tempo: TempoMap, ticks: np.ndarray, sample_rate: int) -> np.ndarray:
    """TempoMap.seconds for many ticks (once per distinct tick), rounded to frames."""
    unique, inverse = np.unique(ticks, return_inverse=True)
    secs = np.fromiter((tempo.seconds(float(t)) for t in unique), dtype=np.float64, count=len(unique))
    return np.rint(secs * sample_rate).astype(np.int64)[inverse]


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, bit_depth: int = 16) -> Path:
    """Write float audio (frames, channels) to .wav or .flac at ``bit_depth``, atomically: the
    file is rendered beside ``path`` under a temporary name and renamed over it when complete, so
    a crash or a full disk part-way leaves the earlier file (or none), never a truncated one."""
    import soundfile

    from ..io._files import atomic_path

    p = Path(path)
    fmt = audio_format(p)
    subtype = _SUBTYPES.get((fmt, bit_depth))
    if subtype is None:
        raise RenderError(f"{p.name}: {fmt} cannot hold {bit_depth}-bit audio; use 16 or 24")
    check_space(p, audio.shape[0], audio.shape[1] if audio.ndim > 1 else 1, bit_depth)
    if audio.size and (audio.max() > 1.0 or audio.min() < -1.0):
        audio = np.clip(audio, -1.0, 1.0)
    with atomic_path(p, RenderError) as tmp:
        try:
            soundfile.write(str(tmp), audio, sample_rate, subtype=subtype, format=fmt)
        except (RuntimeError, soundfile.LibsndfileError) as exc:  # libsndfile says "System error."
            why = _disk_trouble(p) or ("the disk is full, or the file is larger than it or the system allows"
                                       if "System error" in str(exc) else str(exc))
            raise RenderError(f"{p.name}: could not be written ({why}); the previous file is unchanged") from None
    return p


def _bytes_needed(frames: int, channels: int, bit_depth: int) -> int:
    return frames * channels * (bit_depth // 8) + 64 * 1024


def check_space(path: str | os.PathLike, frames: int, channels: int = 2, bit_depth: int = 16) -> None:
    """Refuse a WAV render whose file will not fit on the disk of ``path`` (before rendering it;
    a FLAC file's size is not known before it is encoded, so a full disk shows when it is written)."""
    import shutil

    p = Path(path)
    if audio_format(p) != "WAV":
        return
    folder = p.parent if str(p.parent) else Path(".")
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # a missing folder is reported when the file is written
    need = _bytes_needed(frames, channels, bit_depth)
    if need > free:
        raise RenderError(f"{p.name}: not enough disk space in {folder}: the audio needs about "
                          f"{_mb(need)}, {_mb(free)} is free")


def _mb(n: int) -> str:
    return f"{n / 1e9:.1f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def _disk_trouble(path: Path) -> str | None:
    import shutil

    try:
        if shutil.disk_usage(path.parent if str(path.parent) else ".").free < 1024 * 1024:
            return "the disk is full"
    except OSError:
        pass
    return None
