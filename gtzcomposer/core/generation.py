"""Generation settings as data: one frozen type for the Continue panel, the CLI, the project
file, the HTTP service and ``continue_melody``.

Decisions:

* The ranges are checked when the object is made (``GenerationSettingsError``, a ``GtzError`` with a
  sentence naming the setting), so a settings object that exists is always valid; whether the
  *style* is known is the model's business (its card lists the styles), not this module's.
* ``seed=None`` means "choose one": the caller that draws it (panel, CLI) puts the drawn seed back
  with :meth:`GenerationSettings.replace` so that what is saved or reported reproduces the result.
* ``parts`` is an ordered tuple of distinct names from :data:`PARTS`; ``melody`` is always among
  them (the band plays under a melody).
* ``to_dict``/``from_dict`` use plain JSON types; ``from_dict`` ignores unknown keys (a newer file)
  and fills missing ones with the defaults (an older file).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .errors import GtzError

MAX_BARS = 32
MAX_VARIATIONS = 16
MAX_STRENGTH = 5.0
MAX_SEED = 2**32 - 1
PARTS = ("melody", "chords", "bass", "drums")
DEFAULT_STYLE_STRENGTH = 0.75


class GenerationSettingsError(GtzError):
    """A generation setting is out of range."""


@dataclass(frozen=True)
class GenerationSettings:
    style: str = "classical"
    bars: int = 4
    variations: int = 4
    temperature: float = 1.0
    top_p: float = 0.95
    seed: int | None = None
    key_lock: bool = False
    strength: float = DEFAULT_STYLE_STRENGTH  # style guidance, 0 = plain sampling
    parts: tuple[str, ...] = ("melody",)

    def __post_init__(self) -> None:
        def bad(msg: str):
            raise GenerationSettingsError(msg)

        if not isinstance(self.style, str) or not self.style.strip():
            bad("the style must be a non-empty name")
        if isinstance(self.bars, bool) or not isinstance(self.bars, int) or not 1 <= self.bars <= MAX_BARS:
            bad(f"bars must be a whole number from 1 to {MAX_BARS}, got {self.bars!r}")
        if (isinstance(self.variations, bool) or not isinstance(self.variations, int)
                or not 1 <= self.variations <= MAX_VARIATIONS):
            bad(f"variations must be a whole number from 1 to {MAX_VARIATIONS}, got {self.variations!r}")
        if not _real(self.temperature) or not 0 < self.temperature <= 10:
            bad(f"temperature must be above 0 and at most 10, got {self.temperature!r}")
        if not _real(self.top_p) or not 0 < self.top_p <= 1:
            bad(f"top-p must be above 0 and at most 1, got {self.top_p!r}")
        if not _real(self.strength) or not 0 <= self.strength <= MAX_STRENGTH:
            bad(f"style strength must be from 0 to {MAX_STRENGTH:g}, got {self.strength!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, int)
                                      or not 0 <= self.seed <= MAX_SEED):
            bad(f"the random seed must be a whole number from 0 to {MAX_SEED}, got {self.seed!r}")
        if not isinstance(self.key_lock, bool):
            bad(f"key lock must be true or false, got {self.key_lock!r}")
        parts = self.parts
        if isinstance(parts, str) or not all(isinstance(p, str) for p in parts):
            bad(f"parts must be a list of names from {', '.join(PARTS)}")
        unknown = [p for p in parts if p not in PARTS]
        if unknown:
            bad(f"unknown part {unknown[0]!r}; the parts are {', '.join(PARTS)}")
        ordered = tuple(p for p in PARTS if p in parts or p == "melody")
        object.__setattr__(self, "parts", ordered)
        object.__setattr__(self, "temperature", float(self.temperature))
        object.__setattr__(self, "top_p", float(self.top_p))
        object.__setattr__(self, "strength", float(self.strength))

    def replace(self, **changes: Any) -> GenerationSettings:
        return dataclasses.replace(self, **changes)

    @property
    def band_parts(self) -> tuple[str, ...]:
        return tuple(p for p in self.parts if p != "melody")

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["parts"] = list(self.parts)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GenerationSettings:
        if not isinstance(data, dict):
            raise GenerationSettingsError("generation settings must be a JSON object")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs = {k: v for k, v in data.items() if k in names}
        if "parts" in kwargs and isinstance(kwargs["parts"], list):
            kwargs["parts"] = tuple(kwargs["parts"])
        for k in ("temperature", "top_p", "strength"):  # JSON writes 1.0 as 1
            if isinstance(kwargs.get(k), int) and not isinstance(kwargs[k], bool):
                kwargs[k] = float(kwargs[k])
        return cls(**kwargs)


def _real(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
