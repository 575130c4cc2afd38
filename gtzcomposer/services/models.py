"""The models as the panels use them. Labels and styles come from the cards
(:mod:`gtzcomposer.ml.registry`; only JSON is read, nothing heavy loads); the long work is a
task for :class:`~gtzcomposer.services.tasks.TaskRunner` (``fn(..., progress, is_cancelled)``),
and Keras loads inside it, on the worker, the first time."""

from __future__ import annotations

from ..ml.registry import genre_labels, melody_styles

__all__ = ["continue_melody", "genre_detector", "genre_labels", "load_melody_model", "melody_styles"]


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
