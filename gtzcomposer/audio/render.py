"""Offline render: Song -> stereo audio (and a WAV/FLAC file) with FluidSynth.

:func:`render_song` is a pure long-running function in the house style (``progress``,
``is_cancelled``). Event times come from the song's tempo map and are rounded to the sample;
between two event times the synth renders the whole span in one call, straight into the output
buffer (FluidSynth itself works in 64-frame blocks, so an event takes effect within 64 frames,
1.5 ms at 44.1 kHz, as in the ``fluidsynth`` program).

After the last note ends a release tail of up to ``tail`` seconds is rendered and cut where the
sound (note releases and reverb) has died away. Audio that would clip is scaled down as a whole
so that its peak is just below full scale; quieter audio is written exactly as FluidSynth makes it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import Cancelled, GtzError
from ..core.song import Song
from ..core.timing import TempoMap
from .events import PRESET, compile_events
from .soundfont import Soundfont, resolve_soundfont

SAMPLE_RATES = (22050, 32000, 44100, 48000, 88200, 96000)
BIT_DEPTHS = (16, 24, 32)
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}
_SUBTYPES = {("WAV", 16): "PCM_16", ("WAV", 24): "PCM_24", ("WAV", 32): "FLOAT",
             ("FLAC", 16): "PCM_16", ("FLAC", 24): "PCM_24"}

SILENCE = 10 ** (-80 / 20)  # -80 dBFS: below this the tail counts as silent
_BLOCK = 1 << 16  # longest single render call (progress and cancel checks happen between)
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
) -> RenderResult:
    """Render the song's audible tracks; write ``path`` (.wav/.flac) when given.

    Raises :class:`RenderCancelled` when ``is_cancelled()`` turns true (no file is written),
    :class:`~gtzcomposer.audio.soundfont.SoundfontError` for a bad soundfont and
    :class:`RenderError` for bad options.
    """
    from .synth import Synth

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
    buffer = np.zeros((total, 2), dtype=np.float32)
    channels = max((s.channel for s in setups), default=0) + 1

    def report(done: int, message: str) -> None:
        if progress is not None:
            progress(min(1.0, done / max(1, total)), message)
        if is_cancelled is not None and is_cancelled():
            raise RenderCancelled("render cancelled")

    report(0, "loading soundfont")
    with Synth(sf, sample_rate=sample_rate, channels=channels) as synth:
        for s in setups:
            synth.setup_channel(s.channel, s.bank, s.program, s.volume, s.pan)
        handle = synth._synth  # the pyfluidsynth object: skip one Python call per event
        noteon, noteoff, cc = handle.noteon, handle.noteoff, handle.cc
        pos = 0
        n = len(events)
        i = 0
        every = sample_rate  # report (and check for cancel) about once per second of audio
        next_report = every
        # Group events by frame: render up to the frame, then apply all its events.
        while i < n:
            frame = int(frames_at[i])
            while pos < frame:
                step = min(_BLOCK, frame - pos)
                synth.write_into(buffer, pos, step)
                pos += step
                if pos >= next_report:
                    report(pos, "rendering")
                    next_report = pos + every
            while i < n and frames_at[i] == frame:
                _, _, kind, ch, d1, d2, _ = events[i]
                if kind == 0x90:
                    noteon(ch, d1, d2)
                elif kind == 0x80:
                    noteoff(ch, d1)
                elif kind == PRESET:
                    synth.select(ch, d1, d2)
                else:
                    cc(ch, d1, d2)
                i += 1
        report(pos, "release tail")
        # Release tail: render in small blocks until the sound has died away.
        quiet_run = 0
        while pos < total:
            step = min(_TAIL_BLOCK, total - pos)
            synth.write_into(buffer, pos, step)
            peak = float(np.abs(buffer[pos:pos + step]).max()) if step else 0.0
            pos += step
            quiet_run = quiet_run + 1 if peak < SILENCE and synth.active_voices == 0 else 0
            if quiet_run >= 2:
                break
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
    audio = np.ascontiguousarray(audio)
    if path is not None:
        report(pos, "writing file")
        write_audio(path, audio, sample_rate, bit_depth)
    if progress is not None:
        progress(1.0, "done")
    return RenderResult(audio, sample_rate, sf, scale)


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
