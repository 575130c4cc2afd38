"""The bundled models and their cards: one frozen :class:`ModelCard` type, read in one place.

Every model in ``models/`` is ``<name>.keras`` plus its card ``<name>.json`` (what it is, its
labels or styles, how ``python -m training`` reproduces it, its metrics). The genre detector,
the melody generator and its critic, the musicnn backbone, ``gtzcomposer models`` and the
panels (through ``services.models``) all read cards here, and the label lists come from the
cards, never from copies. Only ``json`` is imported: reading a card costs nothing at start-up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ..core.errors import GtzError

GENRE_MODEL = "genre_head"
MELODY_MODEL = "melody"
BACKBONE_MODEL = "msd_musicnn"


class ModelCardError(GtzError):
    """A model card that is missing or cannot be read (the sentence names the file)."""


@dataclass(frozen=True)
class ModelCard:
    name: str
    path: Path  # the .json card
    data: Mapping[str, Any]  # the card as written (read-only)

    @property
    def model_file(self) -> Path:
        """The file the card describes: its ``file`` entry (e.g. a data bank), else ``<name>.keras``."""
        name = self.data.get("file")
        return self.path.with_name(name) if isinstance(name, str) and name else self.path.with_suffix(".keras")

    @property
    def labels(self) -> tuple[str, ...]:
        """What the model's outputs mean, in output order (genres, tags, styles of a classifier)."""
        return tuple(self.data.get("labels") or ())

    @property
    def styles(self) -> tuple[str, ...]:
        """The styles a generator is conditioned on (or a classifier tells apart)."""
        return tuple(self.data.get("styles") or ())

    @property
    def version(self) -> str:
        return str(self.data.get("version", "?"))

    @property
    def task(self) -> str:
        return str(self.data.get("task", ""))

    @property
    def metrics(self) -> Mapping[str, Any]:
        return self.data.get("metrics") or {}

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        """The card as plain JSON, with its name and model file (``gtzcomposer models --json``)."""
        return {**_thaw(self.data), "name": self.name, "file": self.model_file.name}


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_thaw(v) for v in value]
    return value


_cache: dict[tuple[str, float], ModelCard] = {}


def read_card(name: str, models_dir: str | Path | None = None) -> ModelCard:
    """The card of model ``name`` (from the bundled models folder unless ``models_dir``)."""
    from ..resources import models_dir as default_dir

    path = Path(models_dir or default_dir()) / f"{name}.json"
    try:
        key = (str(path), path.stat().st_mtime)
    except OSError:
        raise ModelCardError(f"the model card {path} is missing (train the model with `python -m training`)") from None
    if key not in _cache:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelCardError(f"the model card {path} cannot be read ({exc})") from None
        if not isinstance(data, dict):
            raise ModelCardError(f"the model card {path} is not a JSON object")
        _cache[key] = ModelCard(str(data.get("name") or name), path, _freeze(data))
    return _cache[key]


def all_cards(models_dir: str | Path | None = None) -> list[ModelCard]:
    """Every card in the models folder, by name."""
    from ..resources import models_dir as default_dir

    folder = Path(models_dir or default_dir())
    return [read_card(p.stem, folder) for p in sorted(folder.glob("*.json"))]


def genre_labels() -> tuple[str, ...]:
    """The genres the bundled detector tells apart, in its output order."""
    return read_card(GENRE_MODEL).labels


def melody_styles() -> tuple[tuple[str, ...], str]:
    """(styles, reason when there are none) of the bundled melody model, without loading it."""
    try:
        card = read_card(MELODY_MODEL)
    except ModelCardError as exc:
        return (), f"no melody model: {exc}"
    if not card.model_file.exists():
        return (), f"no melody model found in {card.path.parent} (train it with `python -m training melody`)"
    if not card.styles:
        return (), f"the melody model card {card.path.name} lists no styles"
    return card.styles, ""
