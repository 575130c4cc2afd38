"""Style names the melody generator accepts: its own styles, and the ten GTZAN genres.

Six GTZAN genres have no honestly labelled melody data of their own here (country, disco, hiphop,
metal, reggae, rock). Asked for one of them, the generator writes its melody in a *stand-in*
style and says so (:class:`StyleChoice.note`). The mapping, and why:

* country -> folk: country song melodies come from the Anglo-Celtic ballad and folk-song
  tradition (diatonic, major, stepwise, regular phrases); the Essen folk songs share that profile
  more than any other style we have.
* rock -> blues: rock melody is blues-derived (minor-pentatonic lines and blue notes over
  dominant-seventh harmony); played straight, without the jazz swing.
* metal -> classical: metal's melodic language is minor-mode and harmonic-minor, with the
  "neoclassical" lineage (arpeggiated, scalar lines); the Lieder and chorales are the nearest.
* disco, hiphop, reggae -> pop: all three are verse/chorus song forms over repeated diatonic
  four-chord loops in 4/4, which is what the POP909 songs are; played straight.

A stand-in genre is always played straight (no swing): only jazz and blues swing.
"""

from __future__ import annotations

from dataclasses import dataclass

GTZAN_GENRES = ("blues", "classical", "country", "disco", "hiphop", "jazz", "metal", "pop", "reggae", "rock")
STAND_INS: dict[str, str] = {
    "country": "folk", "disco": "pop", "hiphop": "pop", "metal": "classical", "reggae": "pop", "rock": "blues",
}
REASONS: dict[str, str] = {
    "country": "country melodies come from the Anglo-Celtic folk-song tradition",
    "rock": "rock melody is blues-derived (pentatonic lines, blue notes), here played straight",
    "metal": "metal's minor-mode, harmonic-minor lines are nearest the classical songs",
    "disco": "disco songs are verse/chorus pop over four-chord loops",
    "hiphop": "hip-hop hooks are pop hooks over looped four-chord harmony",
    "reggae": "reggae songs are verse/chorus pop over repeated diatonic chords",
}
SWUNG_STYLES = ("jazz", "blues")


@dataclass(frozen=True)
class StyleChoice:
    requested: str  # what the user asked for
    style: str  # the model style that writes the melody
    stand_in: bool  # requested is a genre without data of its own

    @property
    def note(self) -> str:
        """A plain sentence for the panel, the CLI summary and ``gtzcomposer models``."""
        if not self.stand_in:
            return ""
        return (f"{self.requested} has no melody data of its own: the melody is written in the {self.style} "
                f"style as a stand-in ({REASONS.get(self.requested, 'the nearest style')}).")

    @property
    def swing_allowed(self) -> bool:
        return not self.stand_in and self.style in SWUNG_STYLES


def accepted_styles(model_styles) -> list[str]:
    """Every name the generator accepts for this model: its styles, then the GTZAN genres it can
    stand in for (those whose stand-in the model has)."""
    out = list(model_styles)
    for g in GTZAN_GENRES:
        if g not in out and STAND_INS.get(g) in out:
            out.append(g)
    return out


def resolve_style(name: str, model_styles) -> StyleChoice | None:
    """The model style for ``name`` (case-insensitive), or None if it cannot be written."""
    key = (name or "").strip().lower()
    styles = list(model_styles)
    if key in styles:
        return StyleChoice(key, key, False)
    if key in STAND_INS and STAND_INS[key] in styles:
        return StyleChoice(key, STAND_INS[key], True)
    return None


def stand_in_lines(model_styles) -> list[str]:
    """One line per stand-in genre, e.g. "rock -> blues (rock melody is blues-derived ...)"."""
    return [f"{g} -> {STAND_INS[g]} ({REASONS[g]})" for g in GTZAN_GENRES
            if g in STAND_INS and g not in model_styles and STAND_INS[g] in model_styles]
