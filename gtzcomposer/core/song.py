"""The canonical music type: Song -> Track -> Note, plus tempo, meter and key maps.

Everything is an immutable dataclass. Time is in integer ticks at ``PPQ`` ticks per quarter
note; seconds come only from :mod:`gtzcomposer.core.timing`. Transforms and edits return new
objects (``dataclasses.replace``) and never mutate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from .errors import GtzError

PPQ = 480
"""Song-wide resolution: ticks per quarter note."""

DRUM_CHANNEL = 9
"""Zero-based MIDI channel of General MIDI percussion (channel 10 to a musician)."""

DEFAULT_TEMPO_USPQ = 500_000  # 120 bpm

PITCH_CLASS_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

TRACK_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)


class SongError(GtzError, ValueError):
    """A value that cannot be part of a song (pitch out of range, negative time, ...)."""


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise SongError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise SongError(f"{name} must be in {low}..{high}, got {value}")


def note_name(pitch: int) -> str:
    """Scientific pitch name, middle C (60) = 'C4'."""
    return f"{PITCH_CLASS_NAMES[pitch % 12]}{pitch // 12 - 1}"


@dataclass(frozen=True, slots=True, order=True)
class Note:
    """One note. ``duration`` may be 0 (MIDI files contain such notes)."""

    start: int
    pitch: int
    duration: int
    velocity: int = 100

    def __post_init__(self) -> None:
        _check_range("pitch", self.pitch, 0, 127)
        _check_range("velocity", self.velocity, 1, 127)
        _check_range("start", self.start, 0, 2**40)
        _check_range("duration", self.duration, 0, 2**40)

    @property
    def end(self) -> int:
        return self.start + self.duration

    def moved(self, dtick: int = 0, dpitch: int = 0) -> Note:
        return replace(self, start=self.start + dtick, pitch=self.pitch + dpitch)


@dataclass(frozen=True, slots=True, order=True)
class TempoChange:
    """Tempo from ``tick`` on, stored exactly as MIDI does: microseconds per quarter note."""

    tick: int
    uspq: int = DEFAULT_TEMPO_USPQ

    def __post_init__(self) -> None:
        _check_range("tempo tick", self.tick, 0, 2**40)
        _check_range("microseconds per quarter", self.uspq, 1, 0xFFFFFF)

    @property
    def bpm(self) -> float:
        return 60_000_000 / self.uspq

    @classmethod
    def from_bpm(cls, tick: int, bpm: float) -> TempoChange:
        if not 1 <= bpm <= 1000:
            raise SongError(f"tempo must be 1..1000 bpm, got {bpm}")
        return cls(tick, round(60_000_000 / bpm))


@dataclass(frozen=True, slots=True, order=True)
class TimeSignature:
    tick: int
    numerator: int = 4
    denominator: int = 4

    def __post_init__(self) -> None:
        _check_range("time signature tick", self.tick, 0, 2**40)
        _check_range("time signature numerator", self.numerator, 1, 64)
        if self.denominator not in (1, 2, 4, 8, 16, 32, 64):
            raise SongError(f"time signature denominator must be a power of two, got {self.denominator}")

    @property
    def beat_ticks(self) -> int:
        """Ticks per notated beat (one denominator unit)."""
        return PPQ * 4 // self.denominator

    @property
    def bar_ticks(self) -> int:
        return self.beat_ticks * self.numerator

    def __str__(self) -> str:
        return f"{self.numerator}/{self.denominator}"


@dataclass(frozen=True, slots=True, order=True)
class KeySignature:
    """Key from ``tick`` on: tonic pitch class (0 = C), mode ('major' or 'minor') and the
    spelling as MIDI stores it: ``sharps`` from -7 (seven flats) to +7 (seven sharps), which
    tells enharmonic keys (F# / Gb major) apart. Left out, the usual spelling is chosen."""

    tick: int
    tonic: int = 0
    mode: str = "major"
    sharps: int | None = None

    def __post_init__(self) -> None:
        _check_range("key signature tick", self.tick, 0, 2**40)
        _check_range("key tonic", self.tonic, 0, 11)
        if self.mode not in ("major", "minor"):
            raise SongError(f"key mode must be 'major' or 'minor', got {self.mode!r}")
        major_tonic = self.tonic if self.mode == "major" else (self.tonic + 3) % 12
        usual = (major_tonic * 7) % 12  # position on the circle of fifths
        usual = usual - 12 if usual > 6 else usual
        if self.sharps is None:
            object.__setattr__(self, "sharps", usual)
        else:
            _check_range("key accidentals", self.sharps, -7, 7)
            if self.sharps % 12 != usual % 12:
                raise SongError(f"{self.sharps} sharps do not spell {PITCH_CLASS_NAMES[self.tonic]} {self.mode}")

    @property
    def name(self) -> str:
        """'D major', 'Gb major', 'F# major', 'Cb major': the tonic spelt as the signature is."""
        sharp_names = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
        flat_names = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
        letter = (sharp_names if self.sharps > 0 else flat_names)[self.tonic]
        if self.sharps == -7 and self.mode == "major":
            letter = "Cb"
        return f"{letter} {self.mode}"

    @property
    def scale(self) -> frozenset[int]:
        """Pitch classes of the key's scale (natural minor for minor keys)."""
        steps = (0, 2, 4, 5, 7, 9, 11) if self.mode == "major" else (0, 2, 3, 5, 7, 8, 10)
        return frozenset((self.tonic + s) % 12 for s in steps)

    @classmethod
    def from_sharps(cls, tick: int, sharps: int, minor: bool) -> KeySignature:
        _check_range("key accidentals", sharps, -7, 7)
        major_tonic = (sharps * 7) % 12
        tonic = (major_tonic - 3) % 12 if minor else major_tonic
        return cls(tick, tonic, "minor" if minor else "major", sharps)

    @classmethod
    def parse(cls, text: str, tick: int = 0) -> KeySignature:
        """Parse 'C', 'F# minor', 'Bbm', 'eb major', 'Gb'."""
        t = text.strip().replace("♯", "#").replace("♭", "b")
        mode = "major"
        low = t.lower()
        for suffix, m in ((" minor", "minor"), (" major", "major"), ("min", "minor"), ("maj", "major"), ("m", "minor")):
            if low.endswith(suffix) and len(t) > len(suffix):
                t, mode = t[: -len(suffix)].strip(), m
                break
        letters = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
        t = t.lower()
        if not t or t[0] not in letters or t[1:] not in ("", "#", "b"):
            raise SongError(f"unknown key {text!r}")
        alter = {"": 0, "#": 1, "b": -1}[t[1:]]
        tonic = (letters[t[0]] + alter) % 12
        key = cls(tick, tonic, mode)
        if alter and key.sharps * alter < 0:  # 'Gb' was spelt with flats: keep that spelling
            other = key.sharps + 12 * alter
            if -7 <= other <= 7:
                key = cls(tick, tonic, mode, other)
        return key


def _sorted_notes(notes: Iterable[Note]) -> tuple[Note, ...]:
    return tuple(sorted(notes))


@dataclass(frozen=True, slots=True)
class Track:
    name: str = "Track"
    program: int = 0
    channel: int = 0
    is_drum: bool = False
    notes: tuple[Note, ...] = ()
    color: str = TRACK_PALETTE[0]
    mute: bool = False
    solo: bool = False
    volume: int = 100
    pan: int = 64

    def __post_init__(self) -> None:
        _check_range("program", self.program, 0, 127)
        _check_range("channel", self.channel, 0, 15)
        _check_range("volume", self.volume, 0, 127)
        _check_range("pan", self.pan, 0, 127)
        if not isinstance(self.notes, tuple) or any(
            self.notes[i] > self.notes[i + 1] for i in range(len(self.notes) - 1)
        ):
            object.__setattr__(self, "notes", _sorted_notes(self.notes))

    def with_notes(self, notes: Iterable[Note]) -> Track:
        return replace(self, notes=_sorted_notes(notes))

    @property
    def end_tick(self) -> int:
        return max((n.end for n in self.notes), default=0)


@dataclass(frozen=True, slots=True)
class Song:
    tracks: tuple[Track, ...] = ()
    tempos: tuple[TempoChange, ...] = (TempoChange(0),)
    time_signatures: tuple[TimeSignature, ...] = (TimeSignature(0),)
    key_signatures: tuple[KeySignature, ...] = (KeySignature(0),)
    title: str = ""
    ppq: int = field(default=PPQ)

    def __post_init__(self) -> None:
        if self.ppq != PPQ:
            raise SongError(f"songs are kept at {PPQ} ticks per quarter, got {self.ppq}")
        for name in ("tracks", "tempos", "time_signatures", "key_signatures"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        for name, default in (("tempos", TempoChange(0)), ("time_signatures", TimeSignature(0))):
            events = _normalise_map(getattr(self, name), default)
            object.__setattr__(self, name, events)
        object.__setattr__(self, "key_signatures", _normalise_map(self.key_signatures, None))

    # --- queries -----------------------------------------------------------------------------
    @property
    def end_tick(self) -> int:
        return max((t.end_tick for t in self.tracks), default=0)

    @property
    def note_count(self) -> int:
        return sum(len(t.notes) for t in self.tracks)

    def time_signature_at(self, tick: int) -> TimeSignature:
        return _event_at(self.time_signatures, tick)

    def tempo_at(self, tick: int) -> TempoChange:
        return _event_at(self.tempos, tick)

    def key_at(self, tick: int) -> KeySignature | None:
        keys = [k for k in self.key_signatures if k.tick <= tick]
        return keys[-1] if keys else None

    @property
    def key(self) -> KeySignature | None:
        return self.key_signatures[0] if self.key_signatures else None

    def audible_tracks(self) -> tuple[int, ...]:
        """Indices of tracks that sound: solo wins over mute, as in a mixer."""
        soloed = [i for i, t in enumerate(self.tracks) if t.solo]
        if soloed:
            return tuple(soloed)
        return tuple(i for i, t in enumerate(self.tracks) if not t.mute)

    # --- building ----------------------------------------------------------------------------
    def with_track(self, index: int, track: Track) -> Song:
        tracks = list(self.tracks)
        tracks[index] = track
        return replace(self, tracks=tuple(tracks))

    def add_track(self, track: Track, index: int | None = None) -> Song:
        tracks = list(self.tracks)
        tracks.insert(len(tracks) if index is None else index, track)
        return replace(self, tracks=tuple(tracks))

    def remove_track(self, index: int) -> Song:
        tracks = list(self.tracks)
        del tracks[index]
        return replace(self, tracks=tuple(tracks))


def _normalise_map(events: tuple, default):
    """Sort by tick and keep the last event of each tick; where ``default`` is given, make sure
    an event starts at tick 0 (MIDI's implied 120 bpm and 4/4 before the first event)."""
    by_tick: dict[int, object] = {}
    for e in sorted(events, key=lambda e: e.tick):
        by_tick[e.tick] = e
    out = [by_tick[t] for t in sorted(by_tick)]
    if default is not None and (not out or out[0].tick != 0):
        out.insert(0, default)
    return tuple(out)


def _event_at(events: tuple, tick: int):
    current = events[0]
    for e in events:
        if e.tick > tick:
            break
        current = e
    return current


def free_channel(song: Song, exclude: int | None = None) -> int:
    """The lowest melodic channel no other track uses (wraps around when all 15 are taken)."""
    used = {t.channel for i, t in enumerate(song.tracks) if i != exclude}
    for c in range(16):
        if c != DRUM_CHANNEL and c not in used:
            return c
    return 0


def new_track(index: int, name: str | None = None, program: int = 0, is_drum: bool = False, **kw) -> Track:
    """A track with the palette colour and a free channel chosen from its index."""
    channel = DRUM_CHANNEL if is_drum else [c for c in range(16) if c != DRUM_CHANNEL][index % 15]
    return Track(
        name=name or ("Drums" if is_drum else f"Track {index + 1}"),
        program=program,
        channel=channel,
        is_drum=is_drum,
        color=TRACK_PALETTE[index % len(TRACK_PALETTE)],
        **kw,
    )
