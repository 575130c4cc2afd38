"""Find bundled files (models, icons, example seeds) in a source checkout, an installed wheel
and a PyInstaller bundle alike.

Layout:
- source checkout: ``<repo>/models`` and ``<repo>/resources`` beside the package;
- installed wheel: ``gtzcomposer/_models`` and ``gtzcomposer/_resources`` (see pyproject.toml);
- PyInstaller bundle: the same two folders under ``sys._MEIPASS/gtzcomposer``.
"""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def _candidates(kind: str) -> list[Path]:
    # kind is "models" or "resources"
    out = []
    env = os.environ.get(f"GTZCOMPOSER_{kind.upper()}_DIR")
    if env:
        out.append(Path(env))
    out.append(_PACKAGE / f"_{kind}")
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        out.append(Path(bundle) / "gtzcomposer" / f"_{kind}")
    out.append(_PACKAGE.parent / kind)
    return out


@cache
def _find(kind: str) -> Path:
    for c in _candidates(kind):
        if c.is_dir():
            return c
    # Fall back to the source layout so that error messages name a sensible place.
    return _PACKAGE.parent / kind


def models_dir() -> Path:
    """The folder holding ``<name>.keras`` and ``<name>.json`` model cards."""
    return _find("models")


def resources_dir() -> Path:
    """The folder holding icons, example seeds and style sheets."""
    return _find("resources")


def model_path(name: str, suffix: str = ".keras") -> Path:
    return models_dir() / f"{name}{suffix}"


def model_card_path(name: str) -> Path:
    return models_dir() / f"{name}.json"


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
