"""Builders for songs used across the test suite."""

from __future__ import annotations

import random
from collections.abc import Iterable

from gtzcomposer.core import (
    PPQ,
    KeySignature,
    Note,
    Song,
    TempoChange,
    TimeSignature,
    new_track,
)


def notes(*spec: tuple[int, int, int] | tuple[int, int, int, int]) -> tuple[Note, ...]:
    """notes((pitch, start, duration[, velocity]), ...)"""
    return tuple(Note(start=s[1], pitch=s[0], duration=s[2], velocity=s[3] if len(s) > 3 else 100) for s in spec)


def melody_song(pitches: Iterable[int] = (60, 62, 64, 65, 67, 69, 71, 72), step: int = PPQ,
                bpm: float = 120, meter: tuple[int, int] = (4, 4), key: str = "C", program: int = 0) -> Song:
    """One track playing ``pitches`` one after another, each ``step`` ticks long."""
    ns = tuple(Note(start=i * step, pitch=p, duration=step, velocity=90) for i, p in enumerate(pitches))
    return Song(
        tracks=(new_track(0, "Melody", program=program, notes=ns),),
        tempos=(TempoChange.from_bpm(0, bpm),),
        time_signatures=(TimeSignature(0, *meter),),
        key_signatures=(KeySignature.parse(key),),
    )


def two_track_song() -> Song:
    """A melody, a bass line and a drum track, with a tempo and a meter change."""
    melody = new_track(0, "Lead", program=73, notes=notes((72, 0, 480), (74, 480, 480), (76, 960, 960), (79, 1920, 1920)))
    bass = new_track(1, "Bass", program=33, notes=notes((36, 0, 960, 80), (43, 960, 960, 80), (36, 1920, 1920, 80)))
    drums = new_track(2, is_drum=True, notes=notes((36, 0, 120), (38, 480, 120), (42, 240, 60, 70), (36, 960, 120)))
    return Song(
        tracks=(melody, bass, drums),
        tempos=(TempoChange.from_bpm(0, 100), TempoChange.from_bpm(1920, 140)),
        time_signatures=(TimeSignature(0, 4, 4), TimeSignature(1920, 3, 4)),
        key_signatures=(KeySignature(0, 2, "major"),),
        title="Two tracks and drums",
    )


def random_song(seed: int, n_tracks: int = 3, n_notes: int = 50) -> Song:
    rng = random.Random(seed)
    tracks = []
    for i in range(n_tracks):
        drum = i == n_tracks - 1 and rng.random() < 0.5
        ns = [
            Note(start=rng.randrange(0, 32 * PPQ), pitch=rng.randrange(21, 109), duration=rng.randrange(0, 4 * PPQ),
                 velocity=rng.randrange(1, 128))
            for _ in range(n_notes)
        ]
        tracks.append(new_track(i, program=0 if drum else rng.randrange(128), is_drum=drum, notes=tuple(ns)))
    return Song(tracks=tuple(tracks))
