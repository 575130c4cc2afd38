"""One continuation as a user asks for it, from a song file to what they get back — shared by
``gtzcomposer continue`` (files in OUTDIR) and the HTTP service's ``POST /v1/continue`` (JSON or
a zip of the same files), so the two cannot drift apart.

:func:`run_continuation` picks the seed track, draws a random seed when none is given (and puts it
back into the settings, so the summary reproduces the result), calls the generator and, when
band parts are asked, lets the band (:mod:`gtzcomposer.ml.band`) play under every variation and
re-ranks the variations by style and fit; :class:`ContinuationRun` names each variation's song
(the seed song with the continuation appended to the same track, and the band's tracks) and builds
the summary, the ``continuations.json`` of docs/melody.md and docs/band.md.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from ...core import GtzError, Song
from ...core.errors import Cancelled
from ...core.generation import GenerationSettings
from .generator import Continuation, MelodyGenerator

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
class BandOutcome:
    """What the band did for a run: the ``band`` key of the summary and one take per variation."""

    genre: str
    stand_in: bool  # the genre was the style's stand-in (no --band-genre / band_genre given)
    under_seed: bool
    parts: tuple[str, ...]  # the band parts played (empty when the band did not play)
    takes: tuple = ()  # one ``ml.band.BandTake`` per variation, in the result's order
    fits: tuple = ()  # one ``ml.band.Fit`` per variation
    note: str = ""  # plain words for the user ("" when none)
    error: str = ""  # why the band did not play ("" when it did)

    def summary(self) -> dict:
        out = {"genre": self.genre, "stand_in": self.stand_in, "under_seed": self.under_seed, "note": self.note}
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class ContinuationRun:
    song: Song
    track: int
    settings: GenerationSettings  # with the seed that was used
    result: Continuation  # re-ranked by style and fit when the band played
    model: dict  # name, version, encoder_version of the melody model
    band: BandOutcome | None = field(default=None)  # None: no band part was asked

    @property
    def parts(self) -> tuple[str, ...]:
        """The parts generated: melody and the band parts that played."""
        return ("melody", *(self.band.parts if self.band else ()))

    def takes(self) -> list:
        """The band's take per variation (best first), ``None`` each when the band did not play."""
        if self.band and self.band.takes:
            return list(self.band.takes)
        return [None] * len(self.result.variations)

    def file_name(self, stem: str, rank: int) -> str:
        return f"{stem}_{self.settings.style}_rank{rank}.mid"

    def songs(self, stem: str) -> list[tuple[str, Song]]:
        """(file name, song) per variation, best first: the seed song with the variation's notes
        appended to the seed track."""
        track = self.song.tracks[self.track]
        out = []
        for v, take in zip(self.result.variations, self.takes()):
            song = self.song.with_track(self.track, track.with_notes(track.notes + v.notes))
            if take is not None:
                from ..band import with_band

                song = with_band(song, take)
            out.append((self.file_name(stem, v.rank), song))
        return out

    def summary(self, seed_file: str, stem: str) -> dict:
        """The ``continuations.json`` document (schema 1, docs/melody.md; the band's keys in docs/band.md)."""
        s, result = self.settings, self.result
        entries = []
        fits = self.band.fits if self.band and self.band.takes else [None] * len(result.variations)
        for v, take, fit in zip(result.variations, self.takes(), fits):
            entry = {
                "rank": v.rank, "file": self.file_name(stem, v.rank), "score": round(v.score, 6), "notes": len(v.notes),
                "lowest_pitch": min((n.pitch for n in v.notes), default=None),
                "highest_pitch": max((n.pitch for n in v.notes), default=None),
            }
            if take is not None:
                from ..band import rank_score

                entry["band"] = {
                    "rank_score": round(rank_score(v.score, fit), 6), "fit": fit.to_dict(),
                    "grooves": list(dict.fromkeys(take.grooves)), "drums": take.drum_source,
                    "chords": [c.chord.symbol if c.chord else "N" for c in take.chords],
                    "tracks": {part: {"track": p.track_name, "program": p.program, "notes": len(p.notes),
                                      "channel": 10 if p.is_drum else None}
                               for part, p in take.parts.items()},
                }
            entries.append(entry)
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
            "key": result.key.name,
            "time_signature": str(self.song.time_signature_at(result.start)),
            "start_tick": result.start,
            "end_tick": result.end,
            "ppq": self.song.ppq,
            "reduced_to_top_line": result.reduced_to_top_line,
            "model_style": result.model_style,
            "stand_in": result.stand_in_note or None,
            "swing": result.swing,
            "chord_source": result.chord_source or None,
            "chords": result.chords_per_bar(self.song),
            "model": dict(self.model),
            "parts": list(self.parts),
            "parts_asked": list(s.parts),
            "band": self.band.summary() if self.band else None,
            "results": entries,
        }


def run_continuation(generator: MelodyGenerator, song: Song, settings: GenerationSettings, track: int | None = None,
                     progress: Callable[[float, str], None] | None = None, is_cancelled: Callable[[], bool] | None = None,
                     track_option: str = "--track", band_genre: str | None = None,
                     band_under_seed: bool = False) -> ContinuationRun:
    """Continue the seed track of ``song`` as ``settings`` say (raises the generator's GtzErrors).

    With band parts in ``settings.parts`` the band plays under every variation (``band_genre``: a
    GTZAN genre, default the style's band genre or its stand-in; ``band_under_seed``: under the
    seed's bars too) and the variations are re-ranked by ``ml.band.rank_score``. A band that cannot
    play (no mma, no groove in the meter) leaves the melody alone and says why in ``band.error``."""
    ti = pick_track(song, track, track_option)
    if settings.seed is None:
        settings = settings.replace(seed=random.SystemRandom().randrange(RANDOM_SEEDS))
    result = generator.continue_melody(song.tracks[ti].notes, song, settings, progress=progress,
                                       is_cancelled=is_cancelled)
    model = {k: generator.card.get(k) for k in ("name", "version", "encoder_version")}
    band = None
    if settings.band_parts:
        if is_cancelled is not None and is_cancelled():
            raise Cancelled("the continuation was cancelled")
        result, band = _band(song, result, settings, band_genre, band_under_seed)
    return ContinuationRun(song, ti, settings, result, model, band)


def _band(song: Song, result: Continuation, settings: GenerationSettings, genre: str | None,
          under_seed: bool) -> tuple[Continuation, BandOutcome]:
    from ..band import band_continuation

    br = band_continuation(song, result, settings.band_parts, settings.seed, genre=genre, under_seed=under_seed)
    stand_in = genre is None and br.genre != settings.style
    if br.error:
        return result, BandOutcome(br.genre, stand_in, under_seed, (), note=br.note, error=br.error)
    return br.continuation, BandOutcome(br.genre, stand_in, under_seed, tuple(br.parts), tuple(br.takes),
                                        tuple(br.fits), br.note)
