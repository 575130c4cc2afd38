"""The genre band: drums, bass and chords under a continuation (see ``band.py``).

The names below load their module on first use, so that importing ``ml.band.styles`` (the CLI's
``--band-genre`` choices) costs nothing at start-up.
"""

from __future__ import annotations

import importlib

_WHERE = {
    "band": ("BAND_PARTS", "TRACK_NAMES", "BandError", "BandPart", "BandResult", "BandTake", "band_bars",
             "band_continuation", "band_edits", "band_parts", "band_for_continuation", "band_track_index", "play_band",
             "progression", "warm_up", "with_band"),
    "fit": ("Fit", "band_fit", "rank_score"),
    "mma": ("MmaError", "MmaMissingError", "mma_available"),
    "styles": ("GENRES", "STAND_INS", "NoGrooveError", "band_genre", "band_style"),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
