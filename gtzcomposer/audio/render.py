"""Offline render: Song -> stereo audio (and a WAV/FLAC file) with FluidSynth.

:func:`render_song` is a pure long-running function in the house style (``progress``,
``is_cancelled``). Event times come from the song's tempo map and are rounded to the sample;
between two event times the synth renders the whole span in one call, straight into the output
buffer (FluidSynth itself works in 64-frame blocks, so an event takes effect within 64 frames,
1.5 ms at 44.1 kHz, as in the ``fluidsynth`` program).

A song with enough to play is rendered by several synths at once, one thread each, every synth
playing whole tracks (see :func:`plan_groups` and :func:`_render_parallel`); their output is
summed. It is the one-synth render up to float rounding, except in the first 64-frame block of
a note, where FluidSynth lets a voice carry over state from the note that used its voice slot
before (docs/sound.md has the measurements).

After the last note ends a release tail of up to ``tail`` seconds is rendered and cut where the
sound (note releases and reverb) has died away. Audio that would clip is scaled down as a whole
so that its peak is just below full scale; quieter audio is written exactly as FluidSynth makes it.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import Cancelled, GtzError
from ..core.song import Song
from ..core.timing import TempoMap
from .events import NOTE_OFF, NOTE_ON, PRESET, compile_events
from .soundfont import Soundfont, resolve_soundfont

SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000)
BIT_DEPTHS = (16, 24, 32)
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
_SUBTYPES = {("WAV", 16): "PCM_16", ("WAV", 24): "PCM_24", ("WAV", 32): "FLOAT",
             ("FLAC", 16): "PCM_16", ("FLAC", 24): "PCM_24"}

SILENCE = 10 ** (-80 / 20)  # -80 dBFS: below this the tail counts as silent
_CHUNK = 1 << 16  # frames a worker renders before handing them over (1.5 s at 44.1 kHz)
_QUEUE_CHUNKS = 8  # chunks a worker may render ahead of the slowest one
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
    workers: int = 1  # how many synths rendered it at once
    worker_cpu: tuple[float, ...] = ()  # CPU seconds each synth's thread used (load, render)

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
    workers: int | None = None,
) -> RenderResult:
    """Render the song's audible tracks; write ``path`` (.wav/.flac) when given.

    ``workers``: how many synths render at once (each plays some of the tracks, in a thread of
    its own); ``None`` chooses from the CPUs this process may use and the amount of work (small
    songs use one synth), 1 forces the single-synth render.

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
    tail_frames = max(0, int(round(tail * sample_rate)))
    total = end_frame + tail_frames
    channels = max((s.channel for s in setups), default=0) + 1
    groups = plan_groups(setups, events, frames_at, sample_rate,
                         default_workers() if workers is None else workers, auto=workers is None)
    parts = [_Part(setups_of, [(int(frames_at[i]),) + tuple(events[i][2:6]) for i in indices])
             for setups_of, indices in ((_setups_for(setups, events, g), g) for g in groups)]
    buffer = np.zeros((total, 2), dtype=np.float32)

    def report(done: int, message: str) -> None:
        if progress is not None:
            progress(min(1.0, done / max(1, total)), message)
        if is_cancelled is not None and is_cancelled():
            raise RenderCancelled("render cancelled")

    report(0, "loading soundfont")
    spec = _Spec(sf, sample_rate, channels, end_frame, total)
    cpu: list[float] = [0.0] * len(parts)
    if len(parts) == 1:
        pos = _render_single(spec, parts[0], buffer, report, cpu)
    else:
        pos = _render_parallel(spec, parts, buffer, report, cpu)
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
    return RenderResult(audio, sample_rate, sf, scale, len(parts), tuple(cpu))


# --- splitting the work between synths ----------------------------------------------------------

MAX_WORKERS = 4
_RELEASE_GUESS = 0.3  # seconds a note sounds after its note-off, for the load estimate only
# Below this many estimated voice-seconds (about 0.2 s of one core's work: the benchmark song's
# 1,635 took 1.7 s) one synth renders: a second synth costs a soundfont load, a thread and its
# own reverb and chorus (0.15 s of CPU per 100 s of audio).
_PARALLEL_MIN_VOICE_SECONDS = 200.0


def default_workers() -> int:
    """The CPUs this process may run on (its affinity where the OS tells), at most MAX_WORKERS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(MAX_WORKERS, cpus))


def plan_groups(setups, events, frames_at: np.ndarray, sample_rate: int, workers: int,
                auto: bool = True) -> list[list[int]]:
    """Split the events into at most ``workers`` groups of whole tracks with about equal voice
    load, heaviest first; each group is the sorted list of its event indices.

    A track is never split: FluidSynth's notes interact only within a channel (a repeated key,
    exclusive classes such as open/closed hi-hat), so synths that each play whole channels and
    start alike sum to what one synth makes. The load of a track is its voice-seconds (note
    lengths plus a release guess). With ``auto``, a song too small to gain from a second synth
    stays on one.
    """
    all_events = list(range(len(events)))
    if workers <= 1 or len(setups) <= 1:
        return [all_events]
    seconds = frames_at / float(sample_rate)
    load: dict[int, float] = {}
    for i, e in enumerate(events):  # note-on adds -start, note-off adds +end: the sum is the length
        if e.kind == NOTE_ON:
            load[e.track] = load.get(e.track, 0.0) - seconds[i] + _RELEASE_GUESS
        elif e.kind == NOTE_OFF:
            load[e.track] = load.get(e.track, 0.0) + seconds[i]
    tracks = sorted(load, key=lambda t: (-load[t], t))
    total = sum(load.values())
    n = min(workers, len(tracks))
    if n <= 1 or (auto and total < _PARALLEL_MIN_VOICE_SECONDS):
        return [all_events]
    # Longest-processing-time first: each track, heaviest first, to the lightest group so far.
    group_load = [0.0] * n
    owner: dict[int, int] = {}
    for t in tracks:
        g = min(range(n), key=lambda k: (group_load[k], k))
        owner[t] = g
        group_load[g] += load[t]
    groups: list[list[int]] = [[] for _ in range(n)]
    for i, e in enumerate(events):
        groups[owner[e.track]].append(i)
    # Heaviest first: the first synth starts rendering first (the others wait for its soundfont load).
    order = sorted(range(n), key=lambda k: (-group_load[k], k))
    return [groups[k] for k in order if groups[k]]


def _setups_for(setups, events, indices: list[int]):
    tracks = {events[i].track for i in indices}
    return [s for s in setups if s.track in tracks] if len(indices) < len(events) else list(setups)


# --- rendering one synth's share -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Spec:
    soundfont: Soundfont
    sample_rate: int
    channels: int
    end_frame: int  # the frame of the song's last event: every synth renders at least this far
    total: int  # end_frame plus the longest release tail


@dataclass(slots=True)
class _Part:
    setups: list
    events: list  # (frame, kind, channel, data1, data2), time-ordered


class _Timeline:
    """One synth playing its part of the song, rendered window by window in time order.

    :meth:`render` renders up to a frame into any float32 (n, 2) buffer; the events due are
    played at their frames. After ``end_frame`` comes the release tail, in small blocks, until
    the synth is silent (``finished``) or ``total`` is reached.
    """

    def __init__(self, synth, part: _Part, spec: _Spec) -> None:
        self.synth = synth
        self.events = part.events
        self.end_frame = spec.end_frame
        self.total = spec.total
        self.pos = 0
        self.i = 0
        self.quiet_run = 0
        self.finished = spec.total == 0
        for s in part.setups:
            synth.setup_channel(s.channel, s.bank, s.program, s.volume, s.pan)

    def render(self, buf: np.ndarray, offset: int, stop: int) -> None:
        """Render frames ``pos .. stop`` into ``buf`` (whose row 0 is frame ``offset``)."""
        synth = self.synth
        handle = synth._synth  # the pyfluidsynth object: skip one Python call per event
        noteon, noteoff, cc = handle.noteon, handle.noteoff, handle.cc
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
                else:
                    cc(ch, d1, d2)
                i += 1
            upto = min(stop, self.end_frame, events[i][0] if i < n else self.end_frame)
            synth.write_into(buf, pos - offset, upto - pos)
            pos = upto
        while i < n and pos >= self.end_frame and events[i][0] <= pos:  # the last frame's events
            synth.handle(*events[i][1:])
            i += 1
        # Release tail: small blocks until the sound (note releases and reverb) has died away.
        while pos < stop and not self.finished:
            step = min(_TAIL_BLOCK, stop - pos)
            synth.write_into(buf, pos - offset, step)
            peak = float(np.abs(buf[pos - offset:pos - offset + step]).max())
            pos += step
            self.quiet_run = self.quiet_run + 1 if peak < SILENCE and synth.active_voices == 0 else 0
            if self.quiet_run >= 2:
                self.finished = True
        self.pos, self.i = pos, i
        if pos >= self.total:
            self.finished = True


def _new_synth(spec: _Spec):
    from .synth import Synth

    return Synth(spec.soundfont, sample_rate=spec.sample_rate, channels=spec.channels)


def _render_single(spec: _Spec, part: _Part, buffer: np.ndarray, report, cpu: list[float]) -> int:
    """One synth renders straight into the output buffer; returns the frames rendered."""
    every = spec.sample_rate  # report (and check for cancel) about once per second of audio
    started = time.thread_time()
    try:
        with _new_synth(spec) as synth:
            timeline = _Timeline(synth, part, spec)
            while not timeline.finished:
                timeline.render(buffer, 0, timeline.pos + every)
                report(timeline.pos, "rendering" if timeline.pos < spec.end_frame else "release tail")
    finally:
        cpu[0] = time.thread_time() - started
    return timeline.pos


def _render_parallel(spec: _Spec, parts: list[_Part], buffer: np.ndarray, report, cpu: list[float]) -> int:
    """One synth per part, each in a thread of its own, rendering chunk by chunk.

    FluidSynth renders with the GIL released (pyfluidsynth and ours call it through ctypes), so
    the threads run at once. Each worker hands its finished chunks to this thread through a
    bounded queue (a worker may run ahead by ``_QUEUE_CHUNKS`` chunks, which evens out
    passages where one part is busier); this thread adds them into the output, reports
    progress and checks for cancel between chunks, and tells the workers to stop on cancel or
    on an error in any of them. Memory beyond the output: ``_QUEUE_CHUNKS + 2`` chunks per worker.

    The synths load the soundfont one after the other: FluidSynth then shares the sample data
    of a file that is already loaded (its sample cache), where loads at the same moment would
    each read their own copy (150 MB more per synth for FluidR3_GM). The first synth renders
    while the next one loads.
    """
    stop = threading.Event()
    queues: list[queue.Queue] = [queue.Queue(maxsize=_QUEUE_CHUNKS) for _ in parts]
    loaded = [threading.Event() for _ in parts]

    def put(q: queue.Queue, item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def work(k: int, part: _Part, q: queue.Queue) -> None:
        started = time.thread_time()
        try:
            while k and not loaded[k - 1].wait(0.05):
                if stop.is_set():
                    return
            try:
                synth = _new_synth(spec)
            finally:
                loaded[k].set()
            with synth:
                timeline = _Timeline(synth, part, spec)
                start = 0
                while not timeline.finished and not stop.is_set():
                    chunk = np.empty((_CHUNK, 2), dtype=np.float32)
                    timeline.render(chunk, start, start + _CHUNK)
                    if not put(q, (start, timeline.pos, chunk)):
                        return
                    start = timeline.pos
            put(q, None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            put(q, exc)
        finally:
            cpu[k] = time.thread_time() - started

    threads = [threading.Thread(target=work, args=(k, p, q), name=f"gtz-render-{k}", daemon=True)
               for k, (p, q) in enumerate(zip(parts, queues))]
    for t in threads:
        t.start()
    try:
        live = list(range(len(parts)))
        end = 0
        while live:  # one round: the next chunk (the same frames) from every worker still rendering
            for k in list(live):
                item = queues[k].get()
                if item is None:
                    live.remove(k)
                    continue
                if isinstance(item, BaseException):
                    raise item
                a, b, chunk = item
                buffer[a:b] += chunk[: b - a]
                end = max(end, b)
            report(end, "rendering" if end < spec.end_frame else "release tail")
        return end
    finally:
        stop.set()
        for t in threads:
            t.join()


def _ticks_to_frames(tempo: TempoMap, ticks: np.ndarray, sample_rate: int) -> np.ndarray:
    """TempoMap.seconds for many ticks (once per distinct tick), rounded to frames."""
    unique, inverse = np.unique(ticks, return_inverse=True)
    secs = np.fromiter((tempo.seconds(float(t)) for t in unique), dtype=np.float64, count=len(unique))
    return np.rint(secs * sample_rate).astype(np.int64)[inverse]


def write_audio(path: str | os.PathLike, audio: np.ndarray, sample_rate: int, bit_depth: int = 16) -> Path:
    """Write float audio (frames, channels) to .wav or .flac at ``bit_depth``."""
    import soundfile

    p = Path(path)
    fmt = audio_format(p)
    subtype = _SUBTYPES.get((fmt, bit_depth))
    if subtype is None:
        raise RenderError(f"{p.name}: {fmt} cannot hold {bit_depth}-bit audio; use 16 or 24")
    try:
        if audio.size and (audio.max() > 1.0 or audio.min() < -1.0):
            audio = np.clip(audio, -1.0, 1.0)
        soundfile.write(str(p), audio, sample_rate, subtype=subtype, format=fmt)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as exc:
        raise RenderError(f"cannot write {p}: {exc}") from None
    return p
