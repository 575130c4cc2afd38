"""Which real grooves play each GTZAN genre, in each meter.

Every groove named here is a musician-written MMA groove (Debian package ``mma``, files under
``/usr/share/mma/lib/``); the band never invents a pattern. Per genre and meter:

* ``grooves``: the main grooves; variation ``v`` plays ``grooves[v % len]`` (a different groove
  per variation, then the same ones with another random seed);
* ``fills``: grooves for the bar before each phrase end (every 4th bar and the last bar), where
  the library has them; GMD drums bring their own fills (see ``drums.py``);
* ``bass`` / ``comp``: the MMA track names (prefixes) that make the Bass and the Chords parts, in
  order of preference; ``program`` overrides the comping instrument (General MIDI, 0-based) where
  the groove's own would not suit the genre;
* ``drums``: ``"gmd"`` (human performances from the Groove MIDI Dataset, 4/4 only: every GMD style
  we use is in 4/4), ``"mma"`` (the groove's own drum tracks) or ``None`` (classical: no drums).

Genres without a groove in a meter are missing from that meter's table, and
:func:`band_style` raises :class:`NoGrooveError` with a sentence naming the meters it has.
Melody styles that are not GTZAN genres (the folk styles) play with a stand-in band
(:data:`STAND_INS`), which the CLI and the panel name.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...core import GtzError

GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
# melody style -> band genre, for the melody styles that are not GTZAN genres
STAND_INS = {"folk": "country", "irish": "country", "scottish": "country", "chinese": "pop"}
# Groove MIDI Dataset style (first part of its ``style`` column) per genre
GMD_STYLES = {"blues": "blues", "country": "country", "disco": "dance", "hiphop": "hiphop", "jazz": "jazz",
              "pop": "pop", "reggae": "reggae", "rock": "rock"}


class NoGrooveError(GtzError):
    """The genre has no groove in the song's meter, or the genre is unknown."""


@dataclass(frozen=True)
class BandStyle:
    genre: str
    meter: str  # "4/4", "3/4", "6/8"
    mma_time: int  # MMA's ``Time`` (beats of its bar; 6/8 grooves count six eighths)
    grooves: tuple[str, ...]
    fills: tuple[str, ...] = ()
    bass: tuple[str, ...] = ("Bass", "Walk")
    comp: tuple[str, ...] = ("Chord", "Plectrum", "Arpeggio")
    program: int | None = None
    bass_program: int | None = None
    comp_all: bool = False  # the Chords part merges every comping track named in ``comp``
    drums: str | None = "mma"
    borrow: tuple[tuple[str, str], ...] = ()  # (MMA track, groove): that track plays the other groove


def _s(genre, meter, grooves, **kw) -> BandStyle:
    time = {"4/4": 4, "3/4": 3, "6/8": 6}[meter]
    return BandStyle(genre, meter, time, tuple(grooves), **kw)


_TABLE: tuple[BandStyle, ...] = (
    # blues: Chicago-style shuffles with a walking line; 6/8 slow blues
    _s("blues", "4/4", ["Blues", "Blues1", "SlowBlues", "BluesTriple"], drums="gmd"),
    _s("blues", "6/8", ["Blues68WalkPlus", "Blues68Plus"], comp=("Chord", "Arpeggio"), comp_all=True,
       borrow=(("Chord", "68Swing"),)),
    # classical: chorale (four-part hymn) and Lieder-style broken chords; no drums
    _s("classical", "4/4", ["Arpeggio4", "Hymn", "Arpeggio8", "HymnRoot"], comp=("Chord", "Arpeggio"), program=0,
       bass_program=0, drums=None, borrow=(("Bass", "Hymn"),)),
    _s("classical", "3/4", ["ArpeggioWaltz", "ArpeggioWaltz8"], comp=("Arpeggio",), program=0, bass_program=0, drums=None,
       borrow=(("Bass", "Waltz"), ("Walk", "Waltz"))),
    _s("classical", "6/8", ["Arpeggio68Sus", "Arpeggio68Sus-816"], comp=("Arpeggio", "Chord-Sus", "Chord"),
       comp_all=True, program=0, bass_program=0, drums=None,
       borrow=(("Walk", "68Swing"), ("Chord", "68Swing"))),
    # country: train beat, two-beat bass, acoustic/steel guitar strums
    _s("country", "4/4", ["CountrySwing", "CountrySwing1", "SlowCountry", "BlueGrass"], drums="gmd"),
    _s("country", "3/4", ["CountryWaltz", "CountryWaltz1", "CountryWaltzWalk"]),
    # disco: four on the floor, octave bass (MMA's BoneyM bass plays the chord's third: not used)
    _s("disco", "4/4", ["Dance2", "8BeatDance", "Dance1", "DancePop1"], drums="gmd"),
    # hiphop
    _s("hiphop", "4/4", ["Hip-Hop", "ModernR&B"], comp=("Chord-6", "Chord"), drums="gmd"),
    # jazz: swing with an acoustic walking bass, comping piano/guitar; jazz waltz; 6/8 swing
    _s("jazz", "4/4", ["JazzCombo", "Swing", "SwingWalk", "JazzCombo1"], comp=("Chord-Piano", "Chord"),
       bass=("Walk", "Bass"), bass_program=32, drums="gmd"),
    _s("jazz", "3/4", ["JazzWaltz", "JazzWaltz1"], fills=("JazzWaltzFill",), bass=("Walk", "Bass")),
    _s("jazz", "6/8", ["68SwingPlus", "68SwingSus", "68Swing2"], comp=("Chord", "Arpeggio", "Chord-Sus"),
       comp_all=True),
    # metal: distorted power chords, driving eighth bass
    _s("metal", "4/4", ["HeavyMetal", "metal1A", "metal2A", "metal1B"], fills=("metal1FA", "metal2FA"),
       bass=("Bass", "Bass-9", "Scale-Bass"), comp=("Chord-7", "Chord-6", "Chord-Guitar", "Chord-Piano"),
       comp_all=True, program=30),
    # pop
    _s("pop", "4/4", ["8BeatPop1", "PopBallad", "PopRock1", "8BeatPop2"], drums="gmd"),
    _s("pop", "3/4", ["PopWaltz"]),
    # reggae: off-beat skank (clean electric guitar) over an electric bass line (MMA's ska), GMD drums
    _s("reggae", "4/4", ["Ska", "Ska1"], comp=("Chord",), program=27, bass_program=33, drums="gmd"),
    # rock
    _s("rock", "4/4", ["BasicRock", "60sRock", "FolkRock", "Rock128"], comp=("Chord-Dist", "Chord", "Plectrum"),
       drums="gmd"),
    _s("rock", "3/4", ["RockWaltz", "RockWaltz1"]),
)
STYLES = {(s.genre, s.meter): s for s in _TABLE}


def band_genre(style: str) -> str:
    """The band genre for a melody style: the style itself for a GTZAN genre, else its stand-in."""
    if style in GENRES:
        return style
    if style in STAND_INS:
        return STAND_INS[style]
    raise NoGrooveError(f"no band plays the style {style!r}; band genres: {', '.join(GENRES)}")


def meters_of(genre: str) -> list[str]:
    return [s.meter for s in _TABLE if s.genre == genre]


def band_style(genre: str, numerator: int, denominator: int) -> BandStyle:
    if genre not in GENRES:
        raise NoGrooveError(f"unknown band genre {genre!r}; band genres: {', '.join(GENRES)}")
    meter = f"{numerator}/{denominator}"
    style = STYLES.get((genre, meter))
    if style is None:
        raise NoGrooveError(f"the {genre} band has no groove in {meter}; it plays in {', '.join(meters_of(genre))}")
    return style
