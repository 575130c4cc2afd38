"""Genre detection: audio -> MSD_musicnn taggram (3 s patches, ~1 s hop) -> genre head -> the
10 GTZAN genres, overall and per segment.

Pipeline (see docs/genre.md):

1. audio is read block-wise at 16 kHz mono (:func:`gtzcomposer.io.audio.iter_audio_blocks`), so a
   2-hour file needs bounded memory; samples already in memory are processed the same way;
2. the mel spectrogram is computed per window of ``WINDOW_PATCHES`` patches with enough context
   that every frame equals the whole-file frame (frames are local: STFT window 512, hop 256);
3. the backbone (:func:`gtzcomposer.ml.musicnn.taggram`) gives 50 tag sigmoids per patch;
4. the head (``models/genre_head.keras``, run in numpy by :func:`load_head`) gives 10 genre
   probabilities per patch;
5. :func:`aggregate` combines patches: the mean of the patches' log-probabilities, renormalised
   (softmax). A clip's / a file's probabilities aggregate all its patches; a *segment* aggregates
   the patches whose start time falls in a ``segment_seconds`` (default 10 s) span.

Cancellation: ``detect`` raises :class:`gtzcomposer.core.errors.Cancelled` (the one cancellation of
every long task; a ``concurrent.futures.CancelledError`` too) when
``is_cancelled()`` turns true (checked between blocks and windows, and passed on to the reader and
the backbone). Audio shorter than one patch (2.99 s) is padded with silence to 3 s; under
``MIN_SECONDS`` it is refused.

No TensorFlow, Keras or librosa at run time (the models run in numpy); the backbone and the
head load inside functions, never at import time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import Cancelled, GtzError
from .registry import ModelCard, ModelCardError, read_card

GENRES: tuple[str, ...] = (
    "blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock",
)
MODEL_NAME = "genre_head"

SAMPLE_RATE = 16000
HOP_LENGTH = 256  # mel frame hop, samples
N_FFT = 512
PATCH_FRAMES = 187  # 3 s
PATCH_HOP = 61  # musicnn's input_overlap=1: librosa.time_to_frames(1 s) = 61 frames (see ml.features)
PATCH_HOP_SECONDS = PATCH_HOP * HOP_LENGTH / SAMPLE_RATE  # 0.976
PATCH_SECONDS = PATCH_FRAMES * HOP_LENGTH / SAMPLE_RATE  # 2.992
WINDOW_PATCHES = 60  # patches per feature window (about a minute of audio)
DEFAULT_SEGMENT_SECONDS = 10.0
MIN_SECONDS = 0.5  # shorter audio is refused; up to one patch it is padded with silence
SHORT_SECONDS = 10.0  # less audio than this gets a warning with its result (a few patches only)
ENVELOPE_RATE = 50  # envelope points per second (peak of |x| over 20 ms), for waveform pictures

Progress = Callable[[float, str], None]
IsCancelled = Callable[[], bool]


class GenreError(GtzError):
    """The file cannot be analysed (too short, unreadable, no model), with a sentence saying why."""


# ----------------------------------------------------------------------------- aggregation

AGGREGATE_EPS = 1e-30  # probabilities are clipped here before the log (float32 keeps ~1e-38)


def aggregate(patch_probs: np.ndarray, eps: float = AGGREGATE_EPS) -> np.ndarray:
    """Patches' genre probabilities (n, 10) -> one distribution (10,): softmax of the mean
    log-probability (a normalised geometric mean). Raises ValueError when n == 0.

    ``eps`` is tiny on purpose: the head's linear member gives single patches log-probabilities
    down to about -60, and the mean of the patches' log-probabilities is only equal to the linear
    model applied to the patches' mean logit when no probability is clipped."""
    p = np.asarray(patch_probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f"need a non-empty (n, {len(GENRES)}) array of probabilities, got shape {p.shape}")
    m = np.log(np.clip(p, eps, 1.0)).mean(axis=0)
    m -= m.max()
    e = np.exp(m)
    return e / e.sum()


def aggregate_by_clip(patch_probs: np.ndarray, clip_ids: Iterable) -> tuple[list, np.ndarray]:
    """Group patches by clip id (first-seen order) -> (clip ids, (n_clips, 10) probabilities)."""
    ids = np.asarray(list(clip_ids))
    order = list(dict.fromkeys(ids.tolist()))
    return order, np.stack([aggregate(patch_probs[ids == c]) for c in order])


def sorted_genres(probs: np.ndarray) -> list[tuple[str, float]]:
    """[(genre, probability)] from most to least likely (ties keep GENRES order)."""
    idx = sorted(range(len(GENRES)), key=lambda i: (-float(probs[i]), i))
    return [(GENRES[i], float(probs[i])) for i in idx]


# ----------------------------------------------------------------------------- results

@dataclass(frozen=True)
class Segment:
    start: float  # seconds
    end: float
    probabilities: np.ndarray  # (10,)

    @property
    def top(self) -> str:
        return GENRES[int(np.argmax(self.probabilities))]


@dataclass(frozen=True)
class GenreResult:
    probabilities: np.ndarray  # (10,), GENRES order, sums to 1
    duration: float  # seconds of audio analysed
    patch_times: np.ndarray  # (n,) patch start times in seconds
    patch_probabilities: np.ndarray  # (n, 10)
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    envelope: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # peak |x| per 1/ENVELOPE_RATE s
    source: str | None = None

    @property
    def top(self) -> str:
        return GENRES[int(np.argmax(self.probabilities))]

    def sorted(self) -> list[tuple[str, float]]:
        return sorted_genres(self.probabilities)

    @property
    def warning(self) -> str | None:
        """A sentence for a result that rests on too little audio to trust (None otherwise)."""
        if self.duration < SHORT_SECONDS:
            n = max(1, len(self.patch_times))
            padded = " padded with silence" if self.duration < PATCH_SECONDS else ""
            return (f"Only {self.duration:.1f} s of audio: the model hears 3 s at a time, so this guess rests on "
                    f"{n} excerpt{'s' if n > 1 else ''}{padded}; give it {SHORT_SECONDS:g} s or more for a "
                    "steadier answer.")
        return None

    @property
    def segments(self) -> list[Segment]:
        return make_segments(self.patch_times, self.patch_probabilities, self.duration, self.segment_seconds)

    def to_dict(self, segments: bool = False) -> dict:
        d = {
            "duration": round(float(self.duration), 3),
            "top": self.top,
            "genres": [{"genre": g, "probability": round(p, 6)} for g, p in self.sorted()],
            "patches": int(len(self.patch_times)),
        }
        if self.warning:
            d["warning"] = self.warning
        if segments:
            d["segments"] = [
                {
                    "start": round(s.start, 3),
                    "end": round(s.end, 3),
                    "top": s.top,
                    "probabilities": {g: round(float(p), 6) for g, p in zip(GENRES, s.probabilities)},
                }
                for s in self.segments
            ]
        return d


def make_segments(times: np.ndarray, probs: np.ndarray, duration: float,
                  segment_seconds: float = DEFAULT_SEGMENT_SECONDS) -> list[Segment]:
    """Group patches by start time into spans [k·L, (k+1)·L) and aggregate each span's patches.

    The last segment ends at ``duration``; spans holding no patch start are skipped (only possible
    at the very end, where the final seconds are covered by the previous patches)."""
    if segment_seconds <= 0:
        raise ValueError("segment_seconds must be positive")
    times = np.asarray(times, dtype=np.float64)
    if len(times) == 0:
        return []
    keys = np.floor(times / segment_seconds + 1e-9).astype(int)
    out = []
    uniq = list(dict.fromkeys(keys.tolist()))
    for j, k in enumerate(uniq):
        start = k * segment_seconds
        end = duration if j == len(uniq) - 1 else (k + 1) * segment_seconds
        out.append(Segment(float(start), float(max(end, start)), aggregate(probs[keys == k])))
    return out


# ----------------------------------------------------------------------------- windows of audio

def _window_spans():
    """Infinite generator of (k, sample_start, sample_end, drop_first_frame) for window k.

    Window k yields the patches k·W .. k·W+W-1 whose first frame is f0 = k·W·61. Its frames run
    f0 .. f0 + (W-1)·61 + 187 - 1; frame f (centre f·256) needs samples [f·256-256, f·256+256).
    Feeding samples from f0·256-256 makes the chunk's frame 1 equal the file's frame f0."""
    k = 0
    while True:
        f0 = k * WINDOW_PATCHES * PATCH_HOP
        f_last = f0 + (WINDOW_PATCHES - 1) * PATCH_HOP + PATCH_FRAMES - 1
        s0 = max(0, f0 * HOP_LENGTH - N_FFT // 2)
        s1 = f_last * HOP_LENGTH + N_FFT // 2
        yield k, s0, s1, f0 > 0
        k += 1


def iter_windows(blocks: Iterable[np.ndarray]) -> Iterator[tuple[int, np.ndarray, bool, bool]]:
    """Re-cut a stream of sample blocks into feature windows.

    Yields (k, samples, drop_first_frame, is_last). Memory is bounded by a window plus a block."""
    spans = _window_spans()
    k, s0, s1, drop = next(spans)
    pending: list[np.ndarray] = []  # blocks not yet joined
    n_pending = 0
    buf = np.zeros(0, np.float32)
    buf_start = 0  # absolute sample index of buf[0]
    it = iter(blocks)
    exhausted = False
    while True:
        while not exhausted and buf_start + len(buf) + n_pending < s1:
            try:
                b = np.asarray(next(it), np.float32).reshape(-1)
            except StopIteration:
                exhausted = True
                break
            pending.append(b)
            n_pending += len(b)
        if pending:
            buf = np.concatenate([buf, *pending])
            pending, n_pending = [], 0
        if exhausted and buf_start + len(buf) <= s1:
            yield k, buf[s0 - buf_start:], drop, True
            return
        yield k, buf[s0 - buf_start: s1 - buf_start], drop, False
        k, s0, s1, drop = next(spans)
        buf = buf[s0 - buf_start:]
        buf_start = s0


def _blocks_from_samples(samples: np.ndarray, block: int = SAMPLE_RATE * 30) -> Iterator[np.ndarray]:
    for i in range(0, len(samples), block):
        yield samples[i:i + block]


def _peaks(x: np.ndarray, step: int) -> np.ndarray:
    n = len(x) // step
    if n == 0:
        return np.zeros(0, np.float32)
    return np.abs(x[: n * step]).reshape(n, step).max(axis=1).astype(np.float32)


# ----------------------------------------------------------------------------- the detector

class GenreDetector:
    """Genre probabilities of an audio file or a sample array.

    The head and the backbone load on first use (``load()`` loads them now); an instance is
    meant to be reused. Not thread-safe: use one detector per thread."""

    def __init__(self, model_path: str | Path | None = None, segment_seconds: float = DEFAULT_SEGMENT_SECONDS):
        self._model_path = Path(model_path) if model_path else None
        self.segment_seconds = float(segment_seconds)
        self._head = None
        self._card: ModelCard | None = None

    # -- models
    @property
    def model_path(self) -> Path:
        if self._model_path is None:
            from ..resources import model_path

            self._model_path = model_path(MODEL_NAME)
        return self._model_path

    @property
    def loaded(self) -> bool:
        return self._head is not None

    def load(self) -> GenreDetector:
        """Load the genre head and the backbone now (several seconds on first call)."""
        self._load_head()
        if not self.end_to_end:
            from . import musicnn

            musicnn.load_backbone()
        return self

    def _load_head(self):
        if self._head is None:
            path = self.model_path
            if not path.is_file():
                raise GenreError(f"The genre model is missing: {path} does not exist. "
                                 "Rebuild it with 'python -m training genre --taggrams DIR'.")
            self._head = load_head(path, self.end_to_end)
            labels = self.card.labels
            if labels and labels != GENRES:
                raise GenreError(f"The genre model {path} has labels {labels}, expected {list(GENRES)}.")
        return self._head

    @property
    def end_to_end(self) -> bool:
        """True for a fine-tuned model (log-mel patches -> genres, made by --fine-tune-backbone);
        False for the bundled head (taggram -> genres, after the MSD_musicnn backbone)."""
        return self.card.get("input_kind", "taggram") == "patches"

    @property
    def card(self) -> ModelCard:
        if self._card is None:
            p = self.model_path
            try:
                self._card = read_card(p.stem, p.parent)
            except ModelCardError:  # a head without a card: the bundled layout is assumed
                self._card = ModelCard(p.stem, p.with_suffix(".json"), {})
        return self._card

    # -- head only
    def predict_patches(self, taggram: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Taggram rows (n, 50) -> per-patch genre probabilities (n, 10)."""
        t = np.asarray(taggram, dtype=np.float32)
        if t.ndim != 2 or t.shape[1] != 50:
            raise ValueError(f"expected a taggram of shape (n, 50), got {t.shape}")
        head = self._load_head()
        if len(t) == 0:
            return np.zeros((0, len(GENRES)), np.float32)
        out = [np.asarray(head(t[i:i + batch_size])) for i in range(0, len(t), batch_size)]
        return np.concatenate(out).astype(np.float32)

    def detect_taggram(self, taggram: np.ndarray, times: np.ndarray | None = None,
                       duration: float | None = None) -> GenreResult:
        """A result from a precomputed taggram (patch start times default to 0, 0.976, ...)."""
        probs = self.predict_patches(taggram)
        if len(probs) == 0:
            raise GenreError("No 3-second patch to analyse.")
        if times is None:
            times = np.arange(len(probs)) * PATCH_HOP_SECONDS
        times = np.asarray(times, np.float64)
        if duration is None:
            duration = float(times[-1] + PATCH_SECONDS)
        return GenreResult(aggregate(probs), float(duration), times, probs, self.segment_seconds)

    # -- audio
    def detect(self, path_or_samples, sr: int | None = None, progress: Progress | None = None,
               is_cancelled: IsCancelled | None = None,
               partial: Callable[[GenreResult], None] | None = None) -> GenreResult:
        """Genre probabilities of an audio file (path) or a mono/multi-channel sample array.

        ``sr`` is required for arrays (any rate; resampled to 16 kHz). Raises :class:`GenreError`
        (or the audio loader's error, also a GtzError) for bad input and :class:`Cancelled` when
        cancelled. ``partial(result so far)`` is called after each window of about a minute
        of audio but the last (for segments that appear while a long file is analysed)."""
        progress = progress or (lambda f, m: None)
        cancelled = is_cancelled or (lambda: False)
        source = None
        total = None
        if isinstance(path_or_samples, (str, Path)):
            path = Path(path_or_samples)
            source = str(path)
            if not path.exists():
                raise GenreError(f"{path}: no such file.")
            if path.is_dir():
                raise GenreError(f"{path} is a folder, not an audio file.")
            self._load_head()
            from ..io import audio

            total = _duration_of(audio.audio_info(path))
            progress(0.0, f"reading {path.name}")
            blocks = audio.iter_audio_blocks(path, sr=SAMPLE_RATE, is_cancelled=is_cancelled)
        else:
            if sr is None:
                raise GenreError("A sample array needs its sample rate (sr=...).")
            x = np.asarray(path_or_samples, dtype=np.float32)
            if x.ndim == 2:  # (n, channels) or (channels, n): average the short axis
                x = x.mean(axis=1) if x.shape[0] > x.shape[1] else x.mean(axis=0)
            if x.ndim != 1:
                raise GenreError(f"Expected mono or multi-channel samples, got an array of shape {x.shape}.")
            if not np.all(np.isfinite(x)):
                raise GenreError("The samples contain NaN or infinite values.")
            self._load_head()
            if sr != SAMPLE_RATE:
                from ..io.audio import resample

                x = resample(x, sr, SAMPLE_RATE)
            total = len(x) / SAMPLE_RATE
            blocks = _blocks_from_samples(x)
        try:
            return self._run(blocks, total, progress, cancelled, is_cancelled, source, partial)
        except Cancelled:
            raise
        except CancelledError as exc:
            raise Cancelled(str(exc)) from exc

    def _run(self, blocks, total, progress, cancelled, is_cancelled, source, partial=None) -> GenreResult:
        from . import features, musicnn

        env_step = SAMPLE_RATE // ENVELOPE_RATE
        env_parts: list[np.ndarray] = []
        env_rest = np.zeros(0, np.float32)
        n_samples = 0

        def counted(blocks):
            nonlocal n_samples, env_rest
            for b in blocks:
                if cancelled():
                    raise Cancelled()
                b = np.asarray(b, np.float32).reshape(-1)
                n_samples += len(b)
                seg = np.concatenate([env_rest, b])
                cut = len(seg) // env_step * env_step
                env_parts.append(_peaks(seg[:cut], env_step))
                env_rest = seg[cut:]
                yield b

        tags, times = [], []  # per window: genre probabilities of its patches, patch start times
        one_patch = (PATCH_FRAMES - 1) * HOP_LENGTH  # fewer samples give no full patch
        for k, chunk, drop_first, last in iter_windows(counted(blocks)):
            if cancelled():
                raise Cancelled()
            if len(chunk) == 0:
                continue
            if k == 0 and len(chunk) < one_patch and len(chunk) >= MIN_SECONDS * SAMPLE_RATE:
                chunk = np.pad(chunk, (0, 3 * SAMPLE_RATE - len(chunk)))  # short audio: pad to 3 s
            logmel = features.log_mel(chunk)
            if drop_first:
                logmel = logmel[1:]
                if len(logmel) < PATCH_FRAMES:  # a tail shorter than one patch: covered already
                    continue
            p, t = features.patches(logmel, n_frames=PATCH_FRAMES, hop=PATCH_HOP)
            if len(p) == 0:
                continue
            if self.end_to_end:
                pp = np.concatenate([np.asarray(self._head(p[i:i + 64]), np.float32)
                                     for i in range(0, len(p), 64)])
            else:
                tg = musicnn.taggram(p, is_cancelled=is_cancelled)
                if tg is None or cancelled():
                    raise Cancelled()
                pp = self.predict_patches(tg)
            offset = k * WINDOW_PATCHES * PATCH_HOP_SECONDS
            tags.append(pp)
            times.append(offset + np.asarray(t, np.float64))
            done = offset + len(p) * PATCH_HOP_SECONDS
            if total:
                progress(min(0.99, done / max(total, 1e-9)), f"{done:.0f} s of {total:.0f} s")
            if partial is not None and not last:
                so_far = np.concatenate(tags)
                env = np.concatenate(env_parts) if env_parts else np.zeros(0, np.float32)
                partial(GenreResult(aggregate(so_far), float(done), np.concatenate(times), so_far,
                                    self.segment_seconds, env, source))
        duration = n_samples / SAMPLE_RATE
        if not tags:
            raise GenreError(f"{source or 'The audio'} is too short to analyse "
                             f"({duration:.2f} s; at least {MIN_SECONDS} s are needed).")
        probs = np.concatenate(tags)
        if env_rest.size:
            env_parts.append(np.array([np.abs(env_rest).max()], np.float32))
        envelope = np.concatenate(env_parts) if env_parts else np.zeros(0, np.float32)
        progress(1.0, "done")
        return GenreResult(aggregate(probs), float(duration), np.concatenate(times), probs,
                           self.segment_seconds, envelope, source)


def load_head(path: Path, end_to_end: bool = False):
    """The genre model at ``path`` as a numpy function: taggram rows (n, 50) -> genre
    probabilities (n, 10), or for a fine-tuned model (``end_to_end``) log-mel patches
    (n, 187, 96) -> probabilities, its backbone run by the numpy musicnn
    (:mod:`gtzcomposer.ml.keras_file` reads the ``.keras`` file; no Keras or TensorFlow).

    ``gtzcomposer.ml.genre_model`` builds and trains the Keras model (the reference)."""
    from .keras_file import KerasFileError, load_graph

    blocks = {}
    if end_to_end:
        from .musicnn_numpy import block_factory

        blocks["msd_musicnn"] = block_factory()
    try:
        return load_graph(path, blocks)
    except KerasFileError as exc:
        raise GenreError(f"The genre model {path} could not be loaded: {exc}") from exc


# ----------------------------------------------------------------------------- the JSON report

JSON_SCHEMA = 1  # the version of the document below (docs/genre.md: "--json schema")


def analyse_files(paths, segments: bool = False, detector: GenreDetector | None = None, progress_for=None,
                  is_cancelled: IsCancelled | None = None, names=None) -> list[dict]:
    """One dict per path: ``{"file": name, **GenreResult.to_dict(segments)}`` or, for a file that
    cannot be analysed, ``{"file": name, "error": sentence}`` (the others are still analysed).

    ``names`` replaces the paths in ``"file"`` (the server names an upload by its client's file
    name); ``progress_for(name) -> (progress, close)`` makes a progress callback per file;
    cancelling (``is_cancelled()`` true) raises :class:`Cancelled`. ``gtzcomposer genre`` and the
    HTTP service both call this, so their JSON cannot drift apart."""
    detector = detector or GenreDetector()
    names = [str(p) for p in paths] if names is None else list(names)
    out = []
    from ..io.audio import AUDIO_EXTENSIONS, audio_info

    for path, name in zip(paths, names):
        if Path(path).suffix.lower() in AUDIO_EXTENSIONS and Path(path).is_file():
            try:  # the header alone refuses lying or huge files, before any model loads
                audio_info(path)
            except GtzError as exc:
                out.append({"file": name, "error": str(exc)})
                continue
        progress, close = progress_for(name) if progress_for else (None, lambda: None)
        try:
            result = detector.detect(path, progress=progress, is_cancelled=is_cancelled)
        except Cancelled:  # a GtzError too, but it stops the whole run rather than one file
            raise
        except GtzError as exc:
            out.append({"file": name, "error": str(exc)})
            continue
        finally:
            close()
        out.append({"file": name, **result.to_dict(segments=segments)})
    return out


def genre_document(entries: list[dict]) -> dict:
    """The ``genre --json`` document around :func:`analyse_files`' entries."""
    return {"schema": JSON_SCHEMA, "labels": list(GENRES), "files": entries}


def _duration_of(info) -> float | None:
    """Seconds from whatever audio_info returns (an object or a mapping with 'duration')."""
    for get in (lambda: info.duration_s, lambda: info.duration, lambda: info["duration"]):
        try:
            d = float(get())
            return d if math.isfinite(d) and d > 0 else None
        except (AttributeError, KeyError, TypeError, ValueError):
            continue
    return None
