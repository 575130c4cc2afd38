"""What the panels may know about the bundled models before any is loaded: their labels and
styles, from the cards (:mod:`gtzcomposer.ml.registry`; only JSON is read)."""

from __future__ import annotations

from ..ml.registry import genre_labels, melody_styles

__all__ = ["genre_labels", "melody_styles"]
