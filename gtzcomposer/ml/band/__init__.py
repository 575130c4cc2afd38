"""The genre band: drums, bass and chords under a continuation (see ``band.py``)."""

from .band import (
    BAND_PARTS,
    TRACK_NAMES,
    BandError,
    BandPart,
    BandResult,
    BandTake,
    band_bars,
    band_continuation,
    band_edits,
    band_for_continuation,
    band_track_index,
    play_band,
    progression,
    with_band,
)
from .fit import Fit, band_fit, rank_score
from .mma import MmaError, MmaMissingError, mma_available
from .styles import GENRES, STAND_INS, NoGrooveError, band_genre, band_style

__all__ = ["BAND_PARTS", "GENRES", "STAND_INS", "TRACK_NAMES", "BandError", "BandPart", "BandResult", "BandTake", "Fit", "MmaError",
           "MmaMissingError", "NoGrooveError", "band_bars", "band_continuation", "band_edits", "band_fit", "band_for_continuation", "band_genre",
           "band_track_index", "band_style", "mma_available", "play_band",
           "progression", "rank_score", "with_band"]
