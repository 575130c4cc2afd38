"""Chords: one vocabulary for every source (WJD, OpenEWLD, POP909, Lieder, the song's own chord
track) and for what the melody model and the band play.

A chord is a root pitch class (0 = C) and a quality from :data:`QUALITIES`; extensions, alterations
and slash basses fold into the nearest quality of the vocabulary (``C9`` -> ``C7``, ``Cm7b5`` ->
``C hdim7``, ``C/E`` -> ``C maj``), because what the models and the band need is the chord's
function and chord tones, not its voicing. ``None`` stands for "no chord" (``N``, ``NC``).

A :class:`ChordSpan` places a chord on the song's tick axis. :func:`infer_chords` guesses chords
under notes (template matching over duration-weighted pitch classes) for songs without chords.

A song's own chords live in its chord track (:func:`chord_track_index`: a track named Chords);
:func:`chords_from_notes` reads them per chord slot (:func:`slot_spans`). These live here, beside
the vocabulary, because both the melody model (``ml``) and MusicXML export (``io``) read them.

:data:`MUSICXML_KINDS` names each quality as a MusicXML ``<kind>`` (every quality has one, and
:func:`parse_symbol` reads each back to the same quality):

=========  ======================  =========  ======================
quality    MusicXML kind           quality    MusicXML kind
=========  ======================  =========  ======================
maj        major                   minmaj7    major-minor
min        minor                   dim        diminished
7          dominant                dim7       diminished-seventh
maj7       major-seventh           hdim7      half-diminished
min7       minor-seventh           aug        augmented
6          major-sixth             sus4       suspended-fourth
min6       minor-sixth             sus2       suspended-second
=========  ======================  =========  ======================
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import GtzError

# Quality -> intervals above the root.  Order matters: it is the vocabulary's index order.
QUALITIES: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "7": (0, 4, 7, 10),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "6": (0, 4, 7, 9),
    "min6": (0, 3, 7, 9),
    "minmaj7": (0, 3, 7, 11),
    "dim": (0, 3, 6),
    "dim7": (0, 3, 6, 9),
    "hdim7": (0, 3, 6, 10),
    "aug": (0, 4, 8),
    "sus4": (0, 5, 7),
    "sus2": (0, 2, 7),
}
QUALITY_NAMES = tuple(QUALITIES)
PITCH_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
SYMBOL_SUFFIXES = {"maj": "", "min": "m", "7": "7", "maj7": "maj7", "min7": "m7", "6": "6", "min6": "m6",
                  "minmaj7": "m(maj7)", "dim": "dim", "dim7": "dim7", "hdim7": "m7b5", "aug": "aug",
                  "sus4": "sus4", "sus2": "sus2"}
N_CHORD_CLASSES = 12 * len(QUALITIES) + 1  # + "no chord"
MUSICXML_KINDS: dict[str, str] = {
    "maj": "major", "min": "minor", "7": "dominant", "maj7": "major-seventh", "min7": "minor-seventh",
    "6": "major-sixth", "min6": "minor-sixth", "minmaj7": "major-minor", "dim": "diminished",
    "dim7": "diminished-seventh", "hdim7": "half-diminished", "aug": "augmented", "sus4": "suspended-fourth",
    "sus2": "suspended-second"}
"""Quality -> MusicXML ``<kind>`` value (see the module docstring); the symbol text of the kind is
``Chord.symbol`` without its root."""


class ChordError(GtzError):
    """A chord symbol that cannot be read."""


@dataclass(frozen=True, order=True)
class Chord:
    root: int  # pitch class 0..11, 0 = C
    quality: str = "maj"

    def __post_init__(self) -> None:
        if not isinstance(self.root, int) or not 0 <= self.root < 12:
            raise ChordError(f"a chord root is a pitch class 0..11, got {self.root!r}")
        if self.quality not in QUALITIES:
            raise ChordError(f"unknown chord quality {self.quality!r}; known: {', '.join(QUALITIES)}")

    @property
    def intervals(self) -> tuple[int, ...]:
        return QUALITIES[self.quality]

    @property
    def pitch_classes(self) -> frozenset[int]:
        return frozenset((self.root + i) % 12 for i in self.intervals)

    @property
    def symbol(self) -> str:
        """A lead-sheet symbol, e.g. ``Bb7``, ``F#m7b5``."""
        return PITCH_NAMES[self.root] + SYMBOL_SUFFIXES[self.quality]

    @property
    def index(self) -> int:
        """Class index in 0..N_CHORD_CLASSES-2 (``N_CHORD_CLASSES - 1`` is "no chord")."""
        return QUALITY_NAMES.index(self.quality) * 12 + self.root

    @staticmethod
    def from_index(i: int) -> Chord | None:
        if i == N_CHORD_CLASSES - 1:
            return None
        return Chord(i % 12, QUALITY_NAMES[i // 12])

    def transposed(self, semitones: int) -> Chord:
        return Chord((self.root + semitones) % 12, self.quality)

    def __str__(self) -> str:
        return self.symbol


def chord_index(chord: Chord | None) -> int:
    return N_CHORD_CLASSES - 1 if chord is None else chord.index


@dataclass(frozen=True)
class ChordSpan:
    start: int  # tick
    end: int  # tick, > start
    chord: Chord | None


_ROOT = re.compile(r"^\s*([A-Ga-g])([#b♯♭]*)")
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Harte-style shorthands (POP909's chord_midi.txt, "C:maj7", "A:min") and music21/MusicXML kinds.
_HARTE = {"maj": "maj", "min": "min", "7": "7", "maj7": "maj7", "min7": "min7", "maj6": "6", "min6": "min6",
          "dim": "dim", "dim7": "dim7", "hdim7": "hdim7", "aug": "aug", "sus4": "sus4", "sus2": "sus2",
          "minmaj7": "minmaj7", "9": "7", "maj9": "maj7", "min9": "min7", "11": "7", "min11": "min7", "13": "7",
          "maj13": "maj7", "min13": "min7", "7sus4": "sus4", "5": "maj", "1": "maj", "6": "6",
          "major": "maj", "minor": "min", "dominant": "7", "major-seventh": "maj7", "minor-seventh": "min7",
          "diminished": "dim", "diminished-seventh": "dim7", "half-diminished": "hdim7", "augmented": "aug",
          "major-sixth": "6", "minor-sixth": "min6", "suspended-fourth": "sus4", "suspended-second": "sus2",
          "dominant-ninth": "7", "major-ninth": "maj7", "minor-ninth": "min7", "dominant-11th": "7",
          "dominant-13th": "7", "major-minor": "minmaj7", "augmented-seventh": "7", "power": "maj",
          "dominant-seventh": "7", "half-diminished-seventh": "hdim7", "minor-major-seventh": "minmaj7",
          "minor-11th": "min7", "minor-13th": "min7", "major-11th": "maj7", "major-13th": "maj7",
          "augmented-ninth": "7", "augmented-major-seventh": "maj7", "suspended-fourth-seventh": "sus4",
          "pedal": "maj", "Neapolitan": "maj", "Italian": "7", "French": "7", "German": "7", "Tristan": "hdim7"}


def parse_symbol(text: str) -> Chord | None:
    """Read a chord symbol in lead-sheet (``Bb7``, ``C-7``, ``F#m7b5``, ``Eø``, ``Co7``, ``CΔ``,
    ``C7alt``, ``D/F#``), Harte (``C:maj7``, ``A:min``) or MusicXML-kind (``C:dominant``) form.
    ``N``/``NC``/``N.C.`` give ``None``. Raises :class:`ChordError` for anything else."""
    if not isinstance(text, str):
        raise ChordError(f"a chord symbol must be text, got {text!r}")
    s = text.strip()
    if s.upper().replace(".", "") in ("N", "NC", "X", ""):
        return None
    m = _ROOT.match(s)
    if not m:
        raise ChordError(f"cannot read the chord symbol {text!r}")
    root = _LETTER[m.group(1).upper()]
    for acc in m.group(2):
        root += 1 if acc in "#♯" else -1
    root %= 12
    rest = s[m.end():]
    if rest.startswith(":"):
        kind = rest[1:].split("/")[0].split("(")[0].strip()
        if kind in _HARTE:
            return Chord(root, _HARTE[kind])
        raise ChordError(f"cannot read the chord symbol {text!r} (unknown kind {kind!r})")
    rest = rest.split("/")[0].strip()  # slash bass: the chord's function is what counts
    return Chord(root, _quality_from_suffix(rest, text))


def _quality_from_suffix(q: str, text: str) -> str:
    q = (q.replace("♭", "b").replace("♯", "#").replace("Δ", "maj7").replace("^", "maj7")
         .replace("ø", "m7b5").replace("°", "dim").replace("(", "").replace(")", ""))
    q = re.sub(r"^(mi|min|m|-)(?!aj)", "m", q)
    q = re.sub(r"^(Maj|MAJ|M|ma|j)(?=\d|$)", "maj", q)
    if q in ("", "maj", "add9", "add2", "5", "69", "6/9") or q.startswith("add"):
        return "6" if q in ("69", "6/9") else "maj"
    table = [
        (r"^m7b5", "hdim7"), (r"^mmaj7|^m#7|^mM7|^mmaj9|^mj7", "minmaj7"), (r"^m6", "min6"),
        (r"^m(7|9|11|13)", "min7"), (r"^m(add\d+)?$|^m[b#]?\d*$", "min"),
        (r"^(dim7|o7)", "dim7"), (r"^(dim|o)$", "dim"), (r"^(aug|\+)(7|9)", "7"), (r"^(aug|\+|#5)", "aug"),
        (r"^maj(7|9|11|13)", "maj7"), (r"^6", "6"),
        (r"^(7|9|11|13)?sus(4)?$|^(7|9|11|13)sus|^sus4?(7|9|11|13)", "sus4"), (r"^sus2", "sus2"),
        (r"^(7|9|11|13|alt)", "7"),
    ]
    for pattern, quality in table:
        if re.search(pattern, q):
            return quality
    raise ChordError(f"cannot read the chord symbol {text!r}")


def infer_chords(notes: Iterable, spans: Sequence[tuple[int, int]]) -> list[Chord | None]:
    """The most likely chord of the vocabulary in each ``(start, end)`` tick span, from the
    duration-weighted pitch classes of ``notes`` (objects with ``start``, ``end``/``duration`` and
    ``pitch``) sounding there; ``None`` where nothing sounds. Triads win ties over sevenths.
    Each span looks only at the notes that start at most the longest note's length before it, so
    a long track (a band's comping) is read in time linear in its length."""
    notes = sorted(notes, key=lambda n: n.start)
    starts = [n.start for n in notes]
    longest = max((n.duration for n in notes), default=0)
    out: list[Chord | None] = []
    for s0, s1 in spans:
        w = [0.0] * 12
        lowest: tuple[int, int] | None = None
        for n in notes[bisect.bisect_left(starts, s0 - longest):bisect.bisect_left(starts, s1)]:
            end = n.start + n.duration
            overlap = min(end, s1) - max(n.start, s0)
            if overlap > 0:
                w[n.pitch % 12] += overlap * (1.5 if s0 <= n.start < s0 + (s1 - s0) // 4 else 1.0)
                if lowest is None or n.pitch < lowest[0]:
                    lowest = (n.pitch, n.pitch % 12)
        total = sum(w)
        if total <= 0:
            out.append(None)
            continue
        best, best_score = None, -1e18
        for qi, (quality, ivs) in enumerate(QUALITIES.items()):
            for root in range(12):
                tones = {(root + i) % 12 for i in ivs}
                inside = sum(w[p] for p in tones)
                score = inside - 0.7 * (total - inside) + 0.25 * w[root]
                score -= total * (0.06 * (len(ivs) - 3) + 0.002 * qi)  # prefer simple chords
                if lowest is not None and lowest[1] == root:
                    score += 0.05 * total
                if score > best_score:
                    best, best_score = Chord(root, quality), score
        out.append(best)
    return out


# --- the song's own chords ----------------------------------------------------------------------------
CHORD_TRACK_NAMES = ("chords", "chord", "harmony")
"""Names (any case) that make a non-drum track the song's chord track."""


def is_chord_track_name(name: str | None) -> bool:
    return (name or "").strip().lower() in CHORD_TRACK_NAMES


def chord_track_index(song) -> int | None:
    """Index of the song's chord track: a non-drum track named Chords (or Chord, Harmony), with notes."""
    for i, t in enumerate(song.tracks):
        if is_chord_track_name(t.name) and not t.is_drum and t.notes:
            return i
    return None


def slot_ticks(numerator: int, denominator: int) -> int:
    """Ticks of one chord slot in this meter: half a bar in 4/4 (two slots), one beat in 2/4, a
    dotted quarter in 6/8, 9/8 and 12/8, the whole bar in 3/4, 3/8 and other meters."""
    from .song import PPQ

    beat = PPQ * 4 // denominator
    if denominator == 8 and numerator in (6, 9, 12):
        return 3 * beat
    if numerator == 4:
        return 2 * beat
    if numerator == 2:
        return beat
    return numerator * beat


def slot_spans(song, start: int, end: int) -> list[tuple[int, int]]:
    """Chord-slot spans covering [start, end), following the song's bar lines and meters."""
    from .timing import bar_at

    out = []
    t = start
    while t < end:
        sig = song.time_signature_at(t)
        bar = bar_at(song, t)
        slot = slot_ticks(sig.numerator, sig.denominator)
        k = (t - bar.start) // slot
        nxt = min(bar.start + (k + 1) * slot, bar.start + sig.bar_ticks, end)
        if nxt <= t:
            nxt = min(end, t + slot)
        out.append((t, nxt))
        t = nxt
    return out


def merge_spans(spans: Iterable[ChordSpan]) -> list[ChordSpan]:
    """Equal neighbouring chords joined into one span."""
    out: list[ChordSpan] = []
    for s in spans:
        if out and out[-1].chord == s.chord and out[-1].end == s.start:
            out[-1] = ChordSpan(out[-1].start, s.end, s.chord)
        else:
            out.append(s)
    return out


def chords_from_notes(notes, spans: Sequence[tuple[int, int]]) -> list[ChordSpan]:
    """Chord spans inferred under ``notes`` (:func:`infer_chords`), equal neighbours merged."""
    return merge_spans([ChordSpan(a, b, c) for (a, b), c in zip(spans, infer_chords(notes, spans))])


def chord_at(spans: Sequence[ChordSpan], tick: int) -> Chord | None:
    for s in spans:
        if s.start <= tick < s.end:
            return s.chord
    return None
