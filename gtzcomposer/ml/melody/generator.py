"""Melody continuation: sample K variations of N bars after a seed, in a chosen style.

Entry points:

* :meth:`MelodyGenerator.load` (cached) reads ``models/melody.keras`` + card and
  ``models/style_classifier.keras`` without importing Keras (see ``model.StepModel``).
* :func:`continue_melody` (a pure ``run``-style function: ``progress(fraction, message)`` and
  ``is_cancelled()`` callbacks) returns a :class:`Continuation`.

Rules: the continuation starts where the seed ends (the end of its last note, snapped up to the
16th grid) with a note, lasts exactly ``bars`` bars of the meter in force there, and every note
lies inside that span. A polyphonic seed is reduced to its top line
(``Continuation.reduced_to_top_line`` tells the UI). ``key_lock`` allows only pitches of the
song's key (or, without one, of the key estimated from the seed). Variations are ranked by the
style critic, best first. The same ``seed`` gives the same result.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...core import GtzError, KeySignature, Note, Song
from ...core.errors import Cancelled as _Cancelled
from ...core.generation import GenerationSettings
from ...core.timing import bar_at
from ...core.transforms import top_line
from ..registry import ModelCard, ModelCardError, read_card
from .encoding import (
    BOS,
    FIRST_NOTE,
    HOLD,
    MIN_PITCH,
    PAD,
    REST,
    STEP,
    VOCAB_SIZE,
    check_encoder_version,
    decode_tokens,
    encode_notes,
    estimate_key,
    key_shift,
    meter_index,
    positions,
)
from .model import StepModel

MAX_CONTEXT_STEPS = 256


class ContinuationError(GtzError):
    """The seed or the settings cannot give a continuation."""


class EmptySeedError(ContinuationError):
    pass


class SeedTooShortError(ContinuationError):
    pass


class UnknownStyleError(ContinuationError):
    pass


class ModelMissingError(ContinuationError):
    pass


class Cancelled(ContinuationError, _Cancelled):
    pass


@dataclass(frozen=True)
class Variation:
    notes: tuple[Note, ...]
    score: float  # critic's probability that the continuation is in the asked style
    rank: int  # 1 = best


@dataclass(frozen=True)
class Continuation:
    variations: list[Variation]  # best first
    start: int  # tick where every variation starts
    end: int  # start + bars * bar length
    style: str
    key: KeySignature  # the key used for normalisation and key lock
    reduced_to_top_line: bool  # the seed was polyphonic and only its top line was used
    seed_notes: tuple[Note, ...]  # the (monophonic) seed that was used
    settings: GenerationSettings | None = None  # the settings that made it


class MelodyGenerator:
    """A loaded melody model and its critic. Thread-safe to call from one worker at a time."""

    _cache: dict[str, MelodyGenerator] = {}
    _lock = threading.Lock()

    def __init__(self, step: StepModel, card: ModelCard, critic=None):
        self.step = step
        self.card = card
        self.styles: list[str] = list(card.styles)
        self.critic = critic

    @classmethod
    def load(cls, name: str = "melody", models_dir: str | Path | None = None) -> MelodyGenerator:
        from ...resources import models_dir as default_dir

        folder = Path(models_dir) if models_dir else default_dir()
        key = str(folder / name)
        with cls._lock:
            if key in cls._cache:
                return cls._cache[key]
            path = folder / f"{name}.keras"
            try:
                card = read_card(name, folder)
            except ModelCardError:
                card = None
            if not path.exists() or card is None:
                raise ModelMissingError(f"melody model not found: {path} (train it with `python -m training melody`)")
            check_encoder_version(card, f"melody model {path.name}")
            critic = None
            critic_file = card.get("critic")
            if critic_file and (folder / critic_file).exists():
                from .critic import StyleCritic

                critic_card = read_card(Path(critic_file).stem, folder)
                check_encoder_version(critic_card, f"style classifier {critic_file}")
                critic = StyleCritic.load(folder / critic_file, list(critic_card.labels))
            gen = cls(StepModel.load(path), card, critic)
            cls._cache[key] = gen
            return gen

    # ------------------------------------------------------------------------------------------
    def continue_melody(self, *args, **kwargs) -> Continuation:
        """See :func:`continue_melody` (module level) for the arguments."""
        with _one_blas_thread():
            return self._continue(*args, **kwargs)

    def _continue(self, seed_notes: Sequence[Note], song: Song, settings: GenerationSettings,
                  progress: Callable[[float, str], None] | None = None,
                  is_cancelled: Callable[[], bool] | None = None) -> Continuation:
        style, bars, variations = settings.style, settings.bars, settings.variations
        temperature, top_p, seed, key_lock = settings.temperature, settings.top_p, settings.seed, settings.key_lock
        style_strength = settings.strength
        if style not in self.styles:
            raise UnknownStyleError(f"unknown style {style!r}; this model knows {', '.join(self.styles)}")
        notes = [n for n in seed_notes if n.duration > 0]
        if not notes:
            raise EmptySeedError("the seed is empty: select some notes to continue")
        mono = top_line(notes)
        reduced = len(mono) < len(set(notes)) or any(
            a.end > b.start for a, b in zip(sorted(notes), sorted(notes)[1:]))
        seed_start = min(n.start for n in mono)
        seed_end = max(n.end for n in mono)
        start = -(-seed_end // STEP) * STEP
        sig = song.time_signature_at(start)
        if seed_end - seed_start < sig.beat_ticks:
            raise SeedTooShortError(
                f"the seed lasts {seed_end - seed_start} ticks, less than one beat ({sig.beat_ticks} ticks): "
                "select at least one beat of melody")
        if sig.bar_ticks % STEP:
            raise ContinuationError(f"the meter {sig} does not fit the 16th-note grid")
        steps_per_bar = sig.bar_ticks // STEP
        bar = bar_at(song, start)
        n_steps = bars * steps_per_bar
        key = song.key_at(start)
        if key is None:
            tonic, mode = estimate_key(mono)
            key = KeySignature(0, tonic, mode)
        shift = key_shift(key.tonic)
        meter = meter_index(sig.numerator, sig.denominator)
        pos0 = (start - bar.start) // STEP % steps_per_bar

        # prime on up to MAX_CONTEXT_STEPS of seed
        ctx_start = max((seed_start // STEP) * STEP, start - MAX_CONTEXT_STEPS * STEP)
        seed_tokens = encode_notes(mono, ctx_start, start, shift=shift).tokens
        n_ctx = len(seed_tokens)
        ctx_pos = positions((pos0 - n_ctx) % steps_per_bar, n_ctx + 1, steps_per_bar)
        k = variations
        target = self.styles.index(style)
        # With style_strength > 0 every variation also runs under every other style (rows
        # s * k + j), and sampling pushes the target style's log-probabilities away from the
        # others' mean: log p_t + w * (log p_t - mean_s log p_s).
        guided = style_strength > 0 and len(self.styles) > 1
        n_rows = len(self.styles) if guided else 1
        row_styles = np.arange(n_rows, dtype=np.int32) if guided else np.array([target], np.int32)
        inputs = np.concatenate([[BOS], seed_tokens]).astype(np.int32)
        style_ids = np.repeat(row_styles, k)
        meters = np.full(n_rows * k, meter, np.int32)
        state = self.step.initial_state(n_rows)
        logits = None
        for i in range(n_ctx + 1):
            logits, state = self.step.step(np.repeat(inputs[i:i + 1], n_rows), np.repeat(ctx_pos[i:i + 1], n_rows),
                                           meters[:n_rows], row_styles, state)
        state = [np.repeat(h, k, axis=0) for h in state]
        logits = np.repeat(logits, k, axis=0)

        rng = np.random.default_rng(seed)
        allowed_notes = np.ones(VOCAB_SIZE, bool)
        allowed_notes[:FIRST_NOTE] = False
        if key_lock:
            scale = key.scale
            for t in range(FIRST_NOTE, VOCAB_SIZE):
                real = MIN_PITCH + t - FIRST_NOTE - shift
                allowed_notes[t] = real % 12 in scale
        out = np.zeros((k, n_steps), np.int32)
        out_pos = positions(pos0, n_steps, steps_per_bar)
        prev = np.full(k, REST, np.int32)
        for i in range(n_steps):
            if is_cancelled is not None and i % 16 == 0 and is_cancelled():
                raise Cancelled("continuation cancelled")
            mask = np.tile(allowed_notes, (k, 1))
            if i > 0:
                mask[:, REST] = True
                mask[:, HOLD] = prev != REST
            mask[:, PAD] = mask[:, BOS] = False
            tok = _sample(_guide(logits, k, target, style_strength) if guided else logits, mask, temperature,
                          top_p, rng)
            out[:, i] = tok
            prev = tok
            if i + 1 < n_steps:
                logits, state = self.step.step(np.tile(tok, n_rows), np.full(n_rows * k, out_pos[i + 1], np.int32),
                                               meters, style_ids, state)
            if progress is not None and (i % 16 == 15 or i + 1 == n_steps):
                progress((i + 1) / n_steps, f"step {i + 1}/{n_steps}")
        velocity = int(np.median([n.velocity for n in mono]))
        end = start + n_steps * STEP
        if self.critic is not None:
            scores = self.critic.scores(list(out), [out_pos] * k, style)
        else:
            scores = np.zeros(k)
        order = sorted(range(k), key=lambda j: (-float(scores[j]), j))
        result = [Variation(decode_tokens(out[j], start, shift=shift, velocity=velocity), float(scores[j]), r + 1)
                  for r, j in enumerate(order)]
        return Continuation(result, start, end, style, key, bool(reduced), tuple(mono), settings)


def _one_blas_thread():
    """The step matmuls are tiny: BLAS threads only fight over the cores (measured 10x slower on
    a busy 2-core machine), so run them on one thread where threadpoolctl is available."""
    global _BLAS
    try:
        if _BLAS is None:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        return _BLAS.limit(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - an optimisation only
        return contextlib.nullcontext()


_BLAS = None


def _guide(logits: np.ndarray, k: int, target: int, strength: float) -> np.ndarray:
    """Style guidance over rows laid out style-major (style s, variation j at s * k + j)."""
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    logp = logp.reshape(-1, k, logits.shape[1])
    others = np.delete(logp, target, axis=0).mean(axis=0)
    return logp[target] + strength * (logp[target] - others)


def _sample(logits: np.ndarray, mask: np.ndarray, temperature: float, top_p: float, rng) -> np.ndarray:
    z = np.where(mask, logits / temperature, -np.inf)
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    if top_p < 1.0:
        order = np.argsort(-p, axis=1)
        sorted_p = np.take_along_axis(p, order, axis=1)
        cum = np.cumsum(sorted_p, axis=1)
        keep_sorted = cum - sorted_p < top_p  # always keeps the most likely token
        keep = np.zeros_like(keep_sorted)
        np.put_along_axis(keep, order, keep_sorted, axis=1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    u = rng.random((p.shape[0], 1))
    idx = (np.cumsum(p, axis=1) <= u).sum(axis=1)
    return np.minimum(idx, p.shape[1] - 1).astype(np.int32)


def continue_melody(seed_notes: Sequence[Note], song: Song, settings: GenerationSettings, progress=None,
                    is_cancelled=None, generator: MelodyGenerator | None = None) -> Continuation:
    """Continue ``seed_notes`` (notes of one track, any polyphony) of ``song`` (tempo, meter and
    key come from it) as ``settings`` say (:class:`~gtzcomposer.core.generation.GenerationSettings`:
    style, bars of the meter at the seed end, variations sampled as one batch, temperature, nucleus
    top-p, seed for reproducibility, key lock to the song's key, and style strength, which pushes
    each step away from what the other styles would play: contrastive style guidance).
    ``progress(fraction, message)`` and ``is_cancelled()`` as for every long task.
    """
    gen = generator or MelodyGenerator.load()
    return gen.continue_melody(seed_notes, song, settings, progress, is_cancelled)
