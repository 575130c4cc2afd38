"""The band as the panels use it (``ml.band``, see docs/band.md): whether it can play, its genres,
the long work as a task for :class:`~gtzcomposer.services.tasks.TaskRunner`, and its takes as
:class:`~gtzcomposer.core.continuation.Part` s for the Offer that Accept writes."""

from __future__ import annotations

from ..core.continuation import Part

__all__ = ["GENRES", "available", "continue_with_band", "missing_hint", "offer_parts", "prestart"]


def _styles():
    from ..ml.band import styles

    return styles


GENRES: tuple[str, ...] = _styles().GENRES


def available() -> bool:
    """Is the program ``mma`` installed (the band's bass and comping)?"""
    from ..ml.band.mma import mma_available

    return mma_available()


def missing_hint() -> str:
    """The sentence that says what to install."""
    from ..ml.band.mma import MMA_PACKAGE_HINT

    return MMA_PACKAGE_HINT[0].upper() + MMA_PACKAGE_HINT[1:] + "."


def prestart() -> None:
    """Start MMA and load the drum bank now (in the background), so that the band's first run
    waits for neither."""
    from ..ml.band import warm_up

    warm_up(respawn=True)


def continue_with_band(seed_notes, song, settings, genre=None, under_seed=False, progress=None, is_cancelled=None):
    """The melody continuation and, when ``settings`` ask for band parts, the ranked band:
    ``ml.band.BandResult`` (its ``continuation`` re-ranked, ``takes``, ``fits``, ``note``,
    ``error``); a plain Continuation when no band part is asked."""
    from . import models

    cont = models.continue_melody(seed_notes, song, settings, progress=progress, is_cancelled=is_cancelled)
    if not settings.band_parts:
        return cont
    from ..ml.band import band_continuation

    if progress:
        progress(0.97, "the band")
    return band_continuation(song, cont, settings.band_parts, settings.seed or 0, genre=genre, under_seed=under_seed)


def offer_parts(song, take) -> tuple[Part, ...]:
    """The take's Drums, Bass and Chords as Parts of the Offer (``ml.band.band_parts``)."""
    from ..ml.band import band_parts

    return band_parts(song, take)
