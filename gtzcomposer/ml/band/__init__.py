"""The genre band: drums, bass and chords under a continuation (see ``band.py``)."""

from .band import BAND_PARTS, TRACK_NAMES, BandError, BandPart, BandTake, band_bars, play_band, progression
from .mma import MmaError, MmaMissingError, mma_available
from .styles import GENRES, STAND_INS, NoGrooveError, band_genre, band_style

__all__ = ["BAND_PARTS", "GENRES", "STAND_INS", "TRACK_NAMES", "BandError", "BandPart", "BandTake", "MmaError",
           "MmaMissingError", "NoGrooveError", "band_bars", "band_genre", "band_style", "mma_available", "play_band",
           "progression"]
