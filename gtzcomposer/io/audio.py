"""Read audio files for analysis: any sample rate and channel count -> mono float32 at a chosen rate.

Formats: WAV, AU, FLAC, OGG (Vorbis/Opus), MP3 and AIFF through soundfile (libsndfile >= 1.1
decodes MP3 without ffmpeg); M4A/AAC/MP4 through audioread when the ``ffmpeg`` program is
installed, else a clear :class:`AudioError` saying to install it.

- :func:`audio_info` reads the header only.
- :func:`load_audio` decodes a whole file (or its first ``max_seconds``), downmixes to mono by
  averaging the channels and resamples with soxr "HQ" — exactly what ``librosa.load(path,
  sr=16000)`` returns (musicnn's own loader), without importing librosa.
- :func:`iter_audio_blocks` decodes, downmixes and resamples block by block with a streaming
  resampler, so a 2-hour file is analysed in bounded memory; the blocks joined equal
  :func:`load_audio`'s result.

Files shorter than ``min_seconds`` (default 0.5 s) are refused with an :class:`AudioError`;
short files above that are returned as they are (``gtzcomposer.ml.features`` pads audio shorter
than one 3 s analysis patch with silence).  Anything that is not decodable audio — random bytes,
text, a MIDI file renamed .wav, an empty or truncated file — raises :class:`AudioError` with a
sentence naming the file and the problem.  Cancelling (``is_cancelled()`` true) raises
``gtzcomposer.core.errors.Cancelled`` (a ``concurrent.futures.CancelledError``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gtzcomposer.core.errors import Cancelled, GtzError

Progress = Callable[[float, str], None]
IsCancelled = Callable[[], bool]

MIN_SECONDS = 0.5
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 192000
"""Sample rates read: a header outside this range is damaged or made up (resampling a file that
claims 1 Hz would cost what hours of audio cost)."""
MAX_AUDIO_SECONDS = 3 * 3600
"""Longest audio read (3 hours, as for songs); longer files are refused from the header."""
MAX_AUDIO_BYTES = 4 * 1024**3
"""Largest audio file opened (4 GiB, WAV's own limit: 3 hours of 24-bit stereo at 96 kHz is 3.7 GB);
larger files are refused before any decoder looks at them."""
_MAX_BYTES_PER_FRAME = 8 * 4 + 64  # 8 channels of 32-bit float, plus container overhead
SOUNDFILE_EXTENSIONS = (".wav", ".wave", ".au", ".snd", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")
FFMPEG_EXTENSIONS = (".m4a", ".aac", ".mp4", ".m4b", ".3gp", ".wma")
AUDIO_EXTENSIONS = SOUNDFILE_EXTENSIONS + FFMPEG_EXTENSIONS
_READ_BLOCK_SECONDS = 10.0
_FORMAT_NAMES = {"MPEG": "MP3", "WAVEX": "WAV", "RF64": "WAV"}


class AudioError(GtzError):
    """An audio file that cannot be read (missing, not audio, damaged, too short, needs ffmpeg)."""


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float
    sample_rate: int
    channels: int
    format: str  # "WAV", "FLAC", "OGG", "MP3", "AU", "AIFF", "M4A", ...
    frames: int = 0  # samples per channel (0 when the container does not say)


# ----------------------------------------------------------------------------------------------
# Opening: one small reader interface over soundfile and audioread/ffmpeg


def _sniff(path: Path) -> str | None:
    """What a file that libsndfile refused looks like, for the error message."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return None
    if head.startswith(b"MThd"):
        return "a MIDI file, not audio (open it as a song instead)"
    if head[4:8] == b"ftyp":
        return "an MP4/M4A container"
    if head.startswith((b"%PDF", b"PK\x03\x04", b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "a document, archive or image, not audio"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "a WAV file whose header or data is damaged or truncated"
    if head.startswith(b"fLaC"):
        return "a FLAC file that is damaged or truncated"
    if head.startswith(b"OggS"):
        return "an Ogg file that is damaged, truncated or holds no audio stream libsndfile knows"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if text and all(c.isprintable() or c.isspace() for c in text):
        return "a text file, not audio"
    return None


class _Reader:
    """Decoded frames of one file as float32 (frames, channels) blocks."""

    sample_rate: int
    channels: int
    frames: int  # 0 if unknown
    format: str

    def blocks(self, frames_per_block: int) -> Iterator[np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:  # pragma: no cover - interface
        pass


class _SoundfileReader(_Reader):
    def __init__(self, path: Path, sf_module, handle) -> None:
        self._sf, self._f, self._path = sf_module, handle, path
        self.sample_rate = int(handle.samplerate)
        self.channels = int(handle.channels)
        self.frames = max(0, int(handle.frames))
        self.format = _FORMAT_NAMES.get(handle.format, handle.format)

    def blocks(self, frames_per_block: int) -> Iterator[np.ndarray]:
        done = 0
        while True:
            try:
                block = self._f.read(frames_per_block, dtype="float32", always_2d=True)
            except (self._sf.SoundFileError, RuntimeError, ValueError) as exc:
                raise AudioError(
                    f"'{self._path.name}' is damaged or truncated: decoding stopped after "
                    f"{done / self.sample_rate:.1f} s ({exc})."
                ) from exc
            if len(block) == 0:
                return
            done += len(block)
            yield block

    def close(self) -> None:
        self._f.close()


class _FFmpegReader(_Reader):
    def __init__(self, path: Path, handle) -> None:
        self._f, self._path = handle, path
        self.sample_rate = int(handle.samplerate)
        self.channels = int(handle.channels)
        self.frames = int(round(float(handle.duration or 0) * self.sample_rate))
        self.format = path.suffix.lstrip(".").upper() or "M4A"

    def blocks(self, frames_per_block: int) -> Iterator[np.ndarray]:
        pending: list[np.ndarray] = []
        n_pending = 0
        try:
            frame_bytes = 2 * self.channels  # interleaved 16-bit little-endian PCM
            carry = b""
            for buf in self._f:
                buf = carry + bytes(buf)
                usable = len(buf) - len(buf) % frame_bytes  # a pipe may split a frame
                carry = buf[usable:]
                data = np.frombuffer(buf[:usable], dtype="<i2").astype(np.float32) / 32768.0
                data = data.reshape(-1, self.channels)
                pending.append(data)
                n_pending += len(data)
                while n_pending >= frames_per_block:
                    joined = np.concatenate(pending)
                    yield joined[:frames_per_block]
                    rest = joined[frames_per_block:]
                    pending, n_pending = ([rest] if len(rest) else []), len(rest)
        except Exception as exc:  # audioread raises its own DecodeError/ReadTimeoutError family
            raise AudioError(f"'{self._path.name}' could not be decoded by ffmpeg ({exc}).") from exc
        if n_pending:
            yield np.concatenate(pending)

    def close(self) -> None:
        self._f.close()


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioError(f"Audio file '{path}' does not exist.")
    if path.is_dir():
        raise AudioError(f"'{path}' is a folder, not an audio file.")
    try:
        info = path.stat()
        size = info.st_size
    except OSError as exc:
        raise AudioError(f"Audio file '{path}' cannot be read ({exc.strerror or exc}).") from exc
    import stat

    if not stat.S_ISREG(info.st_mode):  # a FIFO or device would block or never end
        raise AudioError(f"'{path.name}' is not a regular file (a named pipe or device); give an audio file.")
    if size == 0:
        raise AudioError(f"Audio file '{path.name}' is empty (0 bytes).")
    if size > MAX_AUDIO_BYTES:
        raise AudioError(f"'{path.name}' is {size / 1e9:.1f} GB; audio files are read up to "
                         f"{MAX_AUDIO_BYTES / 1e9:.1f} GB (3 hours of CD-quality audio is 1.9 GB).")
    if not os.access(path, os.R_OK):
        raise AudioError(f"Audio file '{path}' cannot be read: permission denied.")


def _open_ffmpeg(path: Path) -> _Reader:
    if shutil.which("ffmpeg") is None:
        raise AudioError(
            f"'{path.name}' is an {path.suffix.lstrip('.').upper() or 'M4A/AAC'} file; reading it needs the "
            "ffmpeg program, which is not installed. Install ffmpeg (e.g. 'apt install ffmpeg', "
            "'brew install ffmpeg') or convert the file to WAV, FLAC, OGG or MP3."
        )
    try:
        from audioread.ffdec import FFmpegAudioFile

        handle = FFmpegAudioFile(str(path))
    except ImportError as exc:
        raise AudioError(f"'{path.name}' needs the Python package audioread to be decoded with ffmpeg.") from exc
    except Exception as exc:
        raise AudioError(f"'{path.name}' is not an audio file ffmpeg can read ({exc}).") from exc
    reader = _FFmpegReader(path, handle)
    try:
        _check_header(path, reader.sample_rate, reader.channels, reader.frames)
    except AudioError:
        reader.close()
        raise
    return reader


def _open(path) -> _Reader:
    path = Path(path)
    _check_file(path)
    if path.suffix.lower() in FFMPEG_EXTENSIONS:
        return _open_ffmpeg(path)
    import soundfile as sf

    try:
        handle = sf.SoundFile(str(path))
    except (sf.SoundFileError, RuntimeError, ValueError, TypeError) as exc:
        kind = _sniff(path)
        if kind == "an MP4/M4A container":
            return _open_ffmpeg(path)
        if kind:
            raise AudioError(f"'{path.name}' cannot be read as audio: it looks like {kind}.") from exc
        raise AudioError(
            f"'{path.name}' is not an audio file that can be read (supported: WAV, AU, FLAC, OGG, MP3, AIFF; "
            "M4A/AAC with ffmpeg)."
        ) from exc
    except OSError as exc:
        raise AudioError(f"Audio file '{path}' cannot be read ({exc.strerror or exc}).") from exc
    if handle.channels < 1 or handle.samplerate <= 0:
        handle.close()
        raise AudioError(f"'{path.name}' has no audio channels or no sample rate.")
    try:
        _check_header(path, int(handle.samplerate), int(handle.channels), max(0, int(handle.frames)))
    except AudioError:
        handle.close()
        raise
    return _SoundfileReader(path, sf, handle)


def _check_header(path: Path, rate: int, channels: int, frames: int) -> None:
    """Refuse, from the header alone, audio that would take hours to decode: a sample rate out of
    8-192 kHz, a declared length over :data:`MAX_AUDIO_SECONDS`, or a file far larger than the
    audio its header declares (a real header, then gigabytes of something else)."""
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        raise AudioError(f"'{path.name}' declares a sample rate of {rate:,} Hz; audio is read at "
                         f"{MIN_SAMPLE_RATE // 1000}-{MAX_SAMPLE_RATE // 1000} kHz, so the header is damaged or the file is not real audio.")
    if frames / rate > MAX_AUDIO_SECONDS:
        raise AudioError(f"'{path.name}' lasts {frames / rate / 3600:.1f} hours; audio is read up to "
                         f"{MAX_AUDIO_SECONDS // 3600} hours: cut it into shorter files.")
    try:
        size = path.stat().st_size
    except OSError:
        return
    if frames == 0:  # the container does not say (ffmpeg formats): nothing to compare with
        return
    plausible = max(frames, rate) * max(channels, 1) * _MAX_BYTES_PER_FRAME + 16 * 1024 * 1024
    if size > plausible:
        raise AudioError(f"'{path.name}' is {size / 1e9:.1f} GB but its header declares only {frames / rate:.1f} s "
                         "of audio: the file is damaged or holds something else after the audio.")


# ----------------------------------------------------------------------------------------------
# Public API


def audio_info(path) -> AudioInfo:
    """Duration, sample rate, channel count and format of an audio file (header only)."""
    reader = _open(path)
    try:
        return AudioInfo(
            duration_s=reader.frames / reader.sample_rate,
            sample_rate=reader.sample_rate,
            channels=reader.channels,
            format=reader.format,
            frames=reader.frames,
        )
    finally:
        reader.close()


def _too_short(path, seconds: float, min_seconds: float) -> AudioError:
    name = Path(path).name
    if seconds <= 0:
        return AudioError(f"'{name}' contains no audio samples.")
    return AudioError(
        f"'{name}' is only {seconds:.2f} s long; at least {min_seconds:g} s of audio is needed to analyse it."
    )


def _downmix(block: np.ndarray, mono: bool) -> np.ndarray:
    if not np.all(np.isfinite(block)):  # float files can hold NaN/inf; they would poison every feature
        block = np.nan_to_num(block, nan=0.0, posinf=1.0, neginf=-1.0)
    if mono:
        return block.mean(axis=1, dtype=np.float32) if block.shape[1] > 1 else block[:, 0]
    return block


def _resampled_length(n: int, rate: int, sr: int) -> int:
    # librosa.resample's output length: ceil(n * sr / rate)
    return int(np.ceil(n * sr / rate))


def resample(y: np.ndarray, rate: int, sr: int = 16000) -> np.ndarray:
    """Mono float samples at ``rate`` -> float32 at ``sr``, as ``librosa.resample(y, orig_sr=rate,
    target_sr=sr)`` gives them (soxr "HQ", length ceil(n * sr / rate)), without librosa."""
    import soxr

    y = np.asarray(y, np.float32)
    if rate == sr:
        return y
    return _fix_length(soxr.resample(y, rate, sr, quality="HQ"), _resampled_length(len(y), rate, sr))


def _fix_length(y: np.ndarray, n: int) -> np.ndarray:
    y = y.astype(np.float32, copy=False)
    if len(y) >= n:
        return y[:n]
    pad = [(0, n - len(y))] + [(0, 0)] * (y.ndim - 1)
    return np.pad(y, pad)


def load_audio(
    path,
    sr: int | None = 16000,
    mono: bool = True,
    max_seconds: float | None = None,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
    min_seconds: float = MIN_SECONDS,
) -> np.ndarray:
    """Decode a whole audio file -> float32 samples at ``sr`` (None keeps the file's rate).

    Mono (default): shape (n,), channels averaged; else (channels, n).  ``max_seconds`` reads only
    the start of the file.  Raises :class:`AudioError` for anything unreadable or shorter than
    ``min_seconds``; ``gtzcomposer.core.errors.Cancelled`` (a ``concurrent.futures.CancelledError``) when cancelled.
    """
    reader = _open(path)
    try:
        rate = reader.sample_rate
        limit = int(max_seconds * rate) if max_seconds is not None else None
        expected = min(reader.frames, limit) if limit is not None and reader.frames else (reader.frames or limit or 0)
        parts: list[np.ndarray] = []
        got = 0
        for block in reader.blocks(int(_READ_BLOCK_SECONDS * rate)):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled(f"reading {Path(path).name} cancelled")
            if limit is not None:
                block = block[: limit - got]
            parts.append(_downmix(block, mono))
            got += len(block)
            if progress is not None and expected:
                progress(min(got / expected, 1.0) * 0.9, f"decoding {Path(path).name}")
            if limit is not None and got >= limit:
                break
    finally:
        reader.close()
    if got / rate < max(min_seconds, 1e-12):
        raise _too_short(path, got / rate, min_seconds)
    y = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if sr is not None and sr != rate:
        import soxr

        y = _fix_length(soxr.resample(y, rate, sr, quality="HQ"), _resampled_length(got, rate, sr))
    if not mono:
        y = np.ascontiguousarray(y.T)
    if progress is not None:
        progress(1.0, f"decoded {Path(path).name}")
    return np.ascontiguousarray(y, dtype=np.float32)


def iter_audio_blocks(
    path,
    sr: int = 16000,
    block_seconds: float = 30.0,
    progress: Progress | None = None,
    is_cancelled: IsCancelled | None = None,
    min_seconds: float = MIN_SECONDS,
) -> Iterator[np.ndarray]:
    """Yield consecutive mono float32 blocks at ``sr`` (about ``block_seconds`` each).

    Memory stays bounded by one block whatever the file's length: decoding, downmixing and
    resampling (a streaming soxr "HQ" resampler, bit-identical to the one-shot one) happen block
    by block, and the blocks joined equal ``load_audio(path, sr)``.  The file is opened and
    checked at once (a bad file raises :class:`AudioError` here, not on the first ``next()``).
    """
    if block_seconds <= 0:
        raise ValueError("block_seconds must be positive")
    reader = _open(path)
    if reader.frames and reader.frames / reader.sample_rate < min_seconds:
        reader.close()
        raise _too_short(path, reader.frames / reader.sample_rate, min_seconds)
    return _blocks(reader, Path(path), sr, block_seconds, progress, is_cancelled, min_seconds)


def _blocks(
    reader: _Reader,
    path: Path,
    sr: int,
    block_seconds: float,
    progress: Progress | None,
    is_cancelled: IsCancelled | None,
    min_seconds: float,
) -> Iterator[np.ndarray]:
    name = path.name
    try:
        rate = reader.sample_rate
        stream = None
        if rate != sr:
            import soxr

            stream = soxr.ResampleStream(rate, sr, 1, dtype="float32", quality="HQ")
        got = 0
        out_total = 0
        held: np.ndarray | None = None  # keep one block back so the last one can be flushed with it
        for block in reader.blocks(max(1, int(block_seconds * rate))):
            if is_cancelled is not None and is_cancelled():
                raise Cancelled(f"reading {name} cancelled")
            got += len(block)
            y = _downmix(block, True)
            y = stream.resample_chunk(y, last=False) if stream is not None else np.ascontiguousarray(y)
            if progress is not None and reader.frames:
                progress(min(got / reader.frames, 1.0), f"reading {name}: {got / rate:.0f} s")
            if held is not None and len(held):
                out_total += len(held)
                yield held
            held = y
        if got / rate < max(min_seconds, 1e-12):
            raise _too_short(path, got / rate, min_seconds)
        tail = stream.resample_chunk(np.zeros(0, np.float32), last=True) if stream is not None else np.zeros(0)
        last = np.concatenate([held, tail]).astype(np.float32, copy=False) if held is not None else tail
        if stream is not None:  # the same length as load_audio (librosa.load) gives
            last = _fix_length(last, max(0, _resampled_length(got, rate, sr) - out_total))
        if len(last):
            yield last
        if progress is not None:
            progress(1.0, f"read {name}")
    finally:
        reader.close()
