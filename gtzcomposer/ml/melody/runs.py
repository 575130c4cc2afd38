"""One continuation as a user asks for it, from a song file to what they get back — shared by
``gtzcomposer continue`` (files in OUTDIR) and the HTTP service's ``POST /v1/continue`` (JSON or
a zip of the same files), so the two cannot drift apart.

:func:`run_continuation` picks the seed track, draws a random seed when none is given (and puts it
back into the settings, so the summary reproduces the result) and calls the generator;
:class:`ContinuationRun` names each variation's song (the seed song with the continuation appended
to the same track) and builds the summary, the ``continuations.json`` of docs/melody.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from ...core import GtzError, Song
from ...core.generation import GenerationSettings
from .generator import Continuation, ContinuationError, MelodyGenerator

SUMMARY_NAME = "continuations.json"
SCHEMA_VERSION = 1
RANDOM_SEEDS = 2**31  # a drawn seed is below this


def pick_track(song: Song, index: int | None, option: str = "--track") -> int:
    """The seed track: ``index`` when given (checked), else the first non-drum track with notes.
    ``option`` names the setting in messages (``--track`` on the command line)."""
    if index is not None:
        if not 0 <= index < len(song.tracks):
            raise GtzError(f"{option} {index}: the song has {len(song.tracks)} tracks (0..{len(song.tracks) - 1})")
        if song.tracks[index].is_drum:
            raise GtzError(f"{option} {index} is a drum track; choose a melodic track")
        return index
    for i, t in enumerate(song.tracks):
        if t.notes and not t.is_drum:
            return i
    raise GtzError("the seed song has no melodic track with notes")


@dataclass(frozen=True)
class ContinuationRun:
    song: Song
    track: int
    settings: GenerationSettings  # with the seed that was used
    result: Continuation
    model: dict  # name, version, encoder_version of the melody model

    def file_name(self, stem: str, rank: int) -> str:
        return f"{stem}_{self.settings.style}_rank{rank}.mid"

    def songs(self, stem: str) -> list[tuple[str, Song]]:
        """(file name, song) per variation, best first: the seed song with the variation's notes
        appended to the seed track."""
        track = self.song.tracks[self.track]
        return [(self.file_name(stem, v.rank), self.song.with_track(self.track, track.with_notes(track.notes + v.notes)))
                for v in self.result.variations]

    def summary(self, seed_file: str, stem: str) -> dict:
        """The ``continuations.json`` document (schema 1, docs/melody.md)."""
        s, result = self.settings, self.result
        entries = [{
            "rank": v.rank, "file": self.file_name(stem, v.rank), "score": round(v.score, 6), "notes": len(v.notes),
            "lowest_pitch": min((n.pitch for n in v.notes), default=None),
            "highest_pitch": max((n.pitch for n in v.notes), default=None),
        } for v in result.variations]
        return {
            "schema": SCHEMA_VERSION,
            "seed_file": seed_file,
            "track": self.track,
            "style": s.style,
            "bars": s.bars,
            "variations": s.variations,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": s.seed,
            "key_lock": s.key_lock,
            "style_strength": s.strength,
            "parts": list(s.parts),
            "key": result.key.name,
            "time_signature": str(self.song.time_signature_at(result.start)),
            "start_tick": result.start,
            "end_tick": result.end,
            "ppq": self.song.ppq,
            "reduced_to_top_line": result.reduced_to_top_line,
            "model": dict(self.model),
            "results": entries,
        }


def run_continuation(generator: MelodyGenerator, song: Song, settings: GenerationSettings, track: int | None = None,
                     progress: Callable[[float, str], None] | None = None, is_cancelled: Callable[[], bool] | None = None,
                     track_option: str = "--track") -> ContinuationRun:
    """Continue the seed track of ``song`` as ``settings`` say (raises the generator's GtzErrors)."""
    if settings.band_parts:
        raise ContinuationError(f"the band ({', '.join(settings.band_parts)}) is not available in this version; "
                                "only the melody part can be generated")
    ti = pick_track(song, track, track_option)
    if settings.seed is None:
        settings = settings.replace(seed=random.SystemRandom().randrange(RANDOM_SEEDS))
    result = generator.continue_melody(song.tracks[ti].notes, song, settings, progress=progress,
                                       is_cancelled=is_cancelled)
    model = {k: generator.card.get(k) for k in ("name", "version", "encoder_version")}
    return ContinuationRun(song, ti, settings, result, model)
