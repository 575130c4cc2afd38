"""The models as the panels use them. Labels and styles come from the cards
(:mod:`gtzcomposer.ml.registry`; only JSON is read, nothing heavy loads); the long work is a
task for :class:`~gtzcomposer.services.tasks.TaskRunner` (``fn(..., progress, is_cancelled)``),
and Keras loads inside it, on the worker, the first time."""

from __future__ import annotations

from ..ml.melody.styles import StyleChoice, accepted_styles, resolve_style
from ..ml.registry import genre_labels, melody_styles

__all__ = ["continue_melody", "genre_detector", "genre_labels", "load_melody_model", "melody_style_choice",
           "melody_style_names", "melody_styles"]


def melody_style_names() -> tuple[list[str], str]:
    """(every style name the bundled melody model accepts: its styles, then the GTZAN genres it
    writes in a stand-in style; reason when there is no model), from the card only."""
    styles, reason = melody_styles()
    return accepted_styles(styles), reason


def melody_style_choice(name: str) -> StyleChoice | None:
    """How the bundled model writes style ``name`` (``.note`` is the plain sentence for a stand-in),
    or None when it cannot."""
    styles, _ = melody_styles()
    return resolve_style(name, styles)


def load_melody_model(progress=None, is_cancelled=None):
    """Load the melody model and its critic (kept loaded for the next continuation)."""
    from ..ml.melody.generator import MelodyGenerator

    return MelodyGenerator.load()


def continue_melody(seed_notes, song, settings, progress=None, is_cancelled=None):
    """Continue ``seed_notes`` of ``song`` with ``settings`` (a GenerationSettings)."""
    if progress:
        progress(0.0, "loading the melody model")
    generator = load_melody_model()
    return generator.continue_melody(seed_notes, song, settings, progress=progress, is_cancelled=is_cancelled)


def genre_detector():
    """A genre detector on the bundled models (they load on its first detect)."""
    from ..ml.genre import GenreDetector

    return GenreDetector()
