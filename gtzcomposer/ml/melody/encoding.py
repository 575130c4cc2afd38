"""Grid event encoding of monophonic melodies, shared by the app and ``training/``.

Light on purpose: numpy only, no Keras, no music21.

Representation (``ENCODER_VERSION`` 2)
-------------------------------------
* Time is a grid of 16th notes (``STEP`` = PPQ/4 = 120 ticks). Onsets and ends are snapped to
  the *nearest* 16th; triplets therefore snap to the nearest 16th (an eighth-note triplet becomes
  16th + 8th, or similar). A note is at least one step long; when two onsets snap to the same
  step the later note wins.
* One token per step: ``REST``, ``HOLD`` (the sounding note goes on), or ``NOTE_ON(p)`` for
  pitches ``MIN_PITCH..MAX_PITCH``. ``PAD`` pads batches, ``BOS`` starts a piece.
* Conditioning features per step: the step's position in its bar (in 16ths, ``0..MAX_POS-1``),
  the meter (index into ``METERS``) and the chord sounding at that step (a ``core.chords`` class
  index, key-relative like the pitches; ``NO_CHORD`` where there is none), plus one style id per
  sequence.
* Swing: events live on a *straight* 16th grid. A swung melody is straightened before encoding
  (:func:`unswing_notes`, the off-beat eighth moved from ``ratio`` of the beat back to its half)
  and the swing is put back on the decoded notes (:func:`swing_notes`). ``ratio`` 0.5 is straight,
  2/3 the triplet feel. Swing acts on quarter-note beats and only in meters whose beat is a quarter
  or longer (x/2, x/4).
* Key normalisation: the melody is transposed so that its tonic is C (major and minor alike),
  by the smallest shift (-6..+5 semitones); :func:`denormalise_pitch` undoes it. Pitches that
  fall outside the pitch range are folded by octaves.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ...core import PPQ, GtzError, Note

ENCODER_VERSION = 2  # 2: chord input per step

STEP = PPQ // 4  # one 16th note
PAD, REST, HOLD, BOS = 0, 1, 2, 3
MIN_PITCH, MAX_PITCH = 36, 95
FIRST_NOTE = 4
VOCAB_SIZE = FIRST_NOTE + (MAX_PITCH - MIN_PITCH + 1)  # 64
MAX_POS = 32  # positions in a bar, in 16ths (bars longer than 2 whole notes wrap)
METERS = ("4/4", "3/4", "2/4", "6/8", "2/2", "3/8", "9/8", "12/8", "other")

# Krumhansl-Kessler key profiles (major, minor), index 0 = tonic.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


class EncoderVersionError(GtzError):
    """A model was trained with another version of this encoding."""


def check_encoder_version(card: dict, name: str = "melody model") -> None:
    got = card.get("encoder_version")
    if got != ENCODER_VERSION:
        raise EncoderVersionError(
            f"{name} was made with melody encoder version {got!r}, but this program uses version "
            f"{ENCODER_VERSION}; retrain it with `python -m training melody` or update gtzcomposer"
        )


def note_token(pitch: int) -> int:
    return FIRST_NOTE + fold_pitch(pitch) - MIN_PITCH


def token_pitch(token: int) -> int:
    if token < FIRST_NOTE:
        raise ValueError(f"token {token} is not a note")
    return MIN_PITCH + token - FIRST_NOTE


def is_note(token: int) -> bool:
    return token >= FIRST_NOTE


def fold_pitch(pitch: int) -> int:
    """Move ``pitch`` by octaves into MIN_PITCH..MAX_PITCH."""
    while pitch < MIN_PITCH:
        pitch += 12
    while pitch > MAX_PITCH:
        pitch -= 12
    return pitch


def meter_index(numerator: int, denominator: int) -> int:
    name = f"{numerator}/{denominator}"
    return METERS.index(name) if name in METERS else METERS.index("other")


def bar_steps(numerator: int, denominator: int) -> int:
    """Length of one bar in 16th steps (at least 1)."""
    return max(1, round(numerator * PPQ * 4 / denominator / STEP))


def positions(first_pos: int, n: int, steps_per_bar: int) -> np.ndarray:
    """Position-in-bar feature for ``n`` steps starting at position ``first_pos``."""
    return ((first_pos + np.arange(n)) % steps_per_bar % MAX_POS).astype(np.int32)


# --- key normalisation ---------------------------------------------------------------------------
def key_shift(tonic: int) -> int:
    """Semitones that move ``tonic`` (pitch class) to C by the smallest step, in -6..+5."""
    s = (-tonic) % 12
    return s - 12 if s > 5 else s


def normalise_pitch(pitch: int, tonic: int) -> int:
    return pitch + key_shift(tonic)


def denormalise_pitch(pitch: int, tonic: int) -> int:
    return pitch - key_shift(tonic)


def estimate_key(notes: Iterable[Note]) -> tuple[int, str]:
    """Krumhansl-Schmuckler key estimate from duration-weighted pitch classes: (tonic, mode)."""
    hist = np.zeros(12)
    for n in notes:
        hist[n.pitch % 12] += max(n.duration, 1)
    if not hist.any():
        return 0, "major"
    best = (-2.0, 0, "major")
    for tonic in range(12):
        rolled = np.roll(hist, -tonic)
        for mode, prof in (("major", _KK_MAJOR), ("minor", _KK_MINOR)):
            r = float(np.corrcoef(rolled, prof)[0, 1]) if rolled.std() > 0 else 0.0
            if r > best[0]:
                best = (r, tonic, mode)
    return best[1], best[2]


# --- notes <-> tokens ----------------------------------------------------------------------------
def snap(tick: int) -> int:
    """Nearest grid step index of ``tick`` (halves round up)."""
    return (tick + STEP // 2) // STEP


@dataclass(frozen=True)
class Encoded:
    tokens: np.ndarray  # int32 (n_steps,)
    start_tick: int  # tick of step 0
    snapped: int  # notes whose onset or end moved to reach the grid
    dropped: int  # notes lost because another onset snapped to the same step


def encode_notes(notes: Sequence[Note], start_tick: int, end_tick: int | None = None,
                 shift: int = 0) -> Encoded:
    """Tokens for a monophonic line from ``start_tick`` (on the grid) to ``end_tick`` (default:
    end of the last note, snapped). ``shift`` (semitones) is added to each pitch before folding."""
    if start_tick % STEP:
        raise ValueError(f"start tick {start_tick} is not on the 16th grid")
    ordered = sorted(notes, key=lambda n: (n.start, n.pitch))
    # snap onsets; the later note wins where two onsets meet
    by_step: dict[int, Note] = {}
    dropped = 0
    for n in ordered:
        s = snap(n.start) - start_tick // STEP
        if s < 0:
            continue
        if s in by_step:
            dropped += 1
        by_step[s] = n
    steps = sorted(by_step)
    last_end = 0
    spans = []
    snapped = 0
    for i, s in enumerate(steps):
        n = by_step[s]
        e = max(s + 1, snap(n.end) - start_tick // STEP)
        if i + 1 < len(steps):
            e = min(e, steps[i + 1])
        if (n.start - start_tick) != s * STEP or (n.end - start_tick) != e * STEP:
            snapped += 1
        spans.append((s, e, n.pitch))
        last_end = max(last_end, e)
    total = last_end if end_tick is None else max(0, (end_tick - start_tick) // STEP)
    tokens = np.full(total, REST, dtype=np.int32)
    for s, e, p in spans:
        if s >= total:
            break
        tokens[s] = note_token(p + shift)
        tokens[s + 1:min(e, total)] = HOLD
    return Encoded(tokens, start_tick, snapped, dropped)


def decode_tokens(tokens: Iterable[int], start_tick: int, shift: int = 0, velocity: int = 90) -> tuple[Note, ...]:
    """Notes of a token sequence whose step 0 is at ``start_tick``; ``shift`` is subtracted
    from each pitch (the inverse of the shift given to :func:`encode_notes`)."""
    out: list[Note] = []
    cur_start = cur_pitch = None
    cur_len = 0

    def flush():
        if cur_start is not None:
            pitch = min(127, max(0, cur_pitch - shift))
            out.append(Note(start=start_tick + cur_start * STEP, pitch=pitch, duration=cur_len * STEP,
                            velocity=velocity))

    for i, t in enumerate(int(x) for x in tokens):
        if t >= FIRST_NOTE:
            flush()
            cur_start, cur_pitch, cur_len = i, token_pitch(t), 1
        elif t == HOLD and cur_start is not None:
            cur_len += 1
        else:  # REST, PAD, BOS, or a HOLD after a rest
            flush()
            cur_start = cur_pitch = None
            cur_len = 0
    flush()
    return tuple(out)


# --- swing ---------------------------------------------------------------------------------------
STRAIGHT = 0.5


def swing_applies(denominator: int) -> bool:
    return denominator <= 4


def _warp(tick: int, ratio: float, inverse: bool) -> int:
    q, r = divmod(int(tick), PPQ)
    f = r / PPQ
    if not inverse:
        g = f * 2 * ratio if f < 0.5 else ratio + (f - 0.5) * 2 * (1 - ratio)
        return q * PPQ + int(round(g * PPQ))
    g = 0.5 * f / ratio if f < ratio else 0.5 + 0.5 * (f - ratio) / (1 - ratio)
    guess = q * PPQ + int(round(g * PPQ))
    # the forward warp rounds to whole ticks: prefer the tick that it maps exactly onto ``tick``
    # (where two ticks map onto it, the one on the grid)
    hits = [t for t in (guess, guess - 1, guess + 1) if _warp(t, ratio, False) == tick]
    if not hits:
        return guess
    return min(hits, key=lambda t: (t % STEP != 0, t % (STEP // 3) != 0, abs(t - guess)))


def swing_notes(notes: Iterable[Note], ratio: float) -> tuple[Note, ...]:
    """Play straight notes swung: every point inside a quarter-note beat moves so that the
    off-beat eighth lands at ``ratio`` of the beat (the beat itself stays). Onsets and ends move,
    so a note keeps touching its neighbour."""
    return _warp_notes(notes, ratio, inverse=False)


def unswing_notes(notes: Iterable[Note], ratio: float) -> tuple[Note, ...]:
    """The inverse of :func:`swing_notes` (to encode a swung melody on the straight grid)."""
    return _warp_notes(notes, ratio, inverse=True)


def _warp_notes(notes: Iterable[Note], ratio: float, inverse: bool) -> tuple[Note, ...]:
    if abs(ratio - STRAIGHT) < 1e-6:
        return tuple(notes)
    out = []
    for n in notes:
        s, e = _warp(n.start, ratio, inverse), _warp(n.end, ratio, inverse)
        out.append(Note(start=s, pitch=n.pitch, duration=max(1, e - s), velocity=n.velocity))
    return tuple(out)


# --- chords per step -----------------------------------------------------------------------------
def chord_steps(chords: Iterable, start_tick: int, n_steps: int, shift: int = 0) -> np.ndarray:
    """Key-relative chord class index of each step from ``start_tick`` on; ``chords`` are
    ``(start, end, index)`` triples or ``core.chords.ChordSpan`` objects (absolute pitch);
    ``shift`` semitones are added to each root (the melody's key shift)."""
    from ...core.chords import N_CHORD_CLASSES, ChordSpan, chord_index

    no = N_CHORD_CLASSES - 1
    out = np.full(n_steps, no, np.int32)
    for c in chords:
        if isinstance(c, ChordSpan):
            a, b, idx = c.start, c.end, chord_index(c.chord)
        else:
            a, b, idx = c
        i0 = max(0, -(-(a - start_tick) // STEP))
        i1 = min(n_steps, -(-(b - start_tick) // STEP))
        if i1 <= i0:
            continue
        if idx != no:
            idx = (idx // 12) * 12 + (idx % 12 + shift) % 12
        out[i0:i1] = idx
    return out


# --- features for the style critic ---------------------------------------------------------------
N_FEATURES = 12 + 25 + 8 + 16 + 3


def style_features(tokens: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """A fixed-length summary of a token sequence (key-normalised frame) for the style critic:
    pitch-class histogram (12), interval histogram -12..+12 (25), note-length histogram in
    16ths 1,2,3,4,6,8,12,16+ (8), onset position in bar (16), rest ratio, notes per step,
    mean pitch. Histograms are normalised to sum 1."""
    tokens = np.asarray(tokens)
    pos = np.asarray(pos)
    f = np.zeros(N_FEATURES, dtype=np.float32)
    on = np.flatnonzero(tokens >= FIRST_NOTE)
    if len(on) == 0:
        f[-3] = 1.0
        return f
    pitches = tokens[on] - FIRST_NOTE + MIN_PITCH
    pc = np.bincount(pitches % 12, minlength=12).astype(np.float32)
    f[0:12] = pc / pc.sum()
    if len(pitches) > 1:
        iv = np.clip(np.diff(pitches), -12, 12) + 12
        h = np.bincount(iv, minlength=25).astype(np.float32)
        f[12:37] = h / h.sum()
    lengths = []
    for s in on:
        e = s + 1
        while e < len(tokens) and tokens[e] == HOLD:
            e += 1
        lengths.append(e - s)
    bins = np.searchsorted(np.array([1, 2, 3, 4, 6, 8, 12, 16]), np.array(lengths), side="right") - 1
    h = np.bincount(np.clip(bins, 0, 7), minlength=8).astype(np.float32)
    f[37:45] = h / h.sum()
    ph = np.bincount(pos[on] % 16, minlength=16).astype(np.float32)
    f[45:61] = ph / ph.sum()
    f[61] = float(np.mean(tokens == REST))
    f[62] = len(on) / len(tokens)
    f[63] = (float(pitches.mean()) - 66.0) / 12.0
    return f


# --- whole pieces (shared by training and evaluation) --------------------------------------------
@dataclass(frozen=True)
class PieceSequence:
    """Model inputs for one piece: ``tokens`` are the targets, ``inputs`` the same shifted right
    behind ``BOS``; ``pos`` and ``meter`` describe the target steps."""

    tokens: np.ndarray
    inputs: np.ndarray
    pos: np.ndarray
    meter: np.ndarray
    style: int
    chord: np.ndarray | None = None  # key-relative chord class per target step

    @property
    def chords(self) -> np.ndarray:
        from ...core.chords import N_CHORD_CLASSES

        return self.chord if self.chord is not None else np.full(len(self.tokens), N_CHORD_CLASSES - 1, np.int32)


def piece_sequence(notes: Sequence[Note], numerator: int, denominator: int, tonic: int, style: int,
                   chords: Iterable = ()) -> PieceSequence:
    """Encode a piece whose bar lines lie at multiples of the bar length from tick 0 (notes on
    the straight grid: a swung piece is straightened before); ``chords`` as for :func:`chord_steps`."""
    bar_ticks = bar_steps(numerator, denominator) * STEP
    first = min(n.start for n in notes)
    start = (first // bar_ticks) * bar_ticks
    shift = key_shift(tonic)
    enc = encode_notes(notes, start, shift=shift)
    toks = enc.tokens
    inputs = np.concatenate([[BOS], toks[:-1]]).astype(np.int32)
    pos = positions(0, len(toks), bar_steps(numerator, denominator))
    meter = np.full(len(toks), meter_index(numerator, denominator), np.int32)
    return PieceSequence(toks, inputs, pos, meter, style, chord_steps(chords, start, len(toks), shift))
