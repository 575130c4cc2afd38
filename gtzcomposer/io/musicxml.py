"""MusicXML (.musicxml, .xml, compressed .mxl) <-> :class:`~gtzcomposer.core.Song`, via music21.

Export writes notation, so times must fit a notation grid. Each quarter-note beat of each track
is quantised either to sixteenths or to eighth-note triplets (whichever moves its note starts
and ends less); zero-length notes get one grid step; time-signature changes move to the nearest
bar line of the meter before them, key changes to the nearest bar line. Everything that moved is reported in the list of notes
:func:`song_to_musicxml` returns (and logged). A song already on that grid exports unchanged:
music21 reads back the same pitches, onsets, durations, parts and instruments.

Each track is one part: its name, a MIDI instrument (GM program and channel; drums keep channel
10 and their GM drum keys as pitched notes, since music21 does not read back per-note drum
sounds of unpitched notation), notes that sound together with the same length as chords,
overlapping notes in separate voices, notes across bar lines tied. Tempo, meter and key changes
are exported. Velocities travel as MusicXML note dynamics.

Chord symbols. A song's chord track (``core.chords.chord_track_index``: a track named Chords)
is written as chord symbols (``<harmony>``: root, kind from ``core.chords.MUSICXML_KINDS``, a
slash bass where the chord has one) at each chord change, over the top staff of the first pitched,
non-drum track that is not the chord track (the melody; with no such track, over the chord track's
own part). Where the chords change is read from the track's notes (:func:`chord_symbols`):

* **block chords** -- every group of notes that start together ends together, is exactly one
  chord of the vocabulary (its lowest note the root, or a slash bass under it), and lasts until
  the next group (a gap of a whole bar or more is a "N.C."): one symbol per group, also where a
  group repeats the chord before it (lead sheets repeat symbols, and reading them back must
  strike the chord again);
* anything else (the band's comping, a hand-played part): the chord of each chord slot
  (``core.chords.slot_spans``) inferred with ``core.chords.chords_from_notes``, equal neighbours
  merged, a slot where nothing sounds a "N.C." (none before the first chord).

Decision: whether the chord track is also a sounding part. Reading a file makes a Chords track
of block chords from its symbols (:func:`block_chord_notes`: root in the octave below middle C,
a slash bass an octave lower, each chord until the next symbol or the end of the last note of
the part on any of its staves). When the song's chord track is exactly the track that reading
the symbols back would make (same notes, name, program and channel, and it is the last track),
only the symbols are written: a lead sheet stays a lead sheet. Otherwise (the band's comping, edited chords) the chord track is
written as its own part AND as symbols; reading such a file keeps the part and makes no second
chord track from the symbols (a part named Chords, Chord or Harmony is the chord track). Either
way, a file written here reads back with the same chord track.

music21 is imported inside the functions: it costs about 0.3 s to import.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import os
import re
import sys
import warnings
import zipfile
from collections import defaultdict
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from ..core import PPQ, GtzError, KeySignature, Note, Song, SongError, TempoChange, TimeSignature, Track, new_track
from ..core.chords import (
    MUSICXML_KINDS,
    QUALITIES,
    SYMBOL_SUFFIXES,
    Chord,
    chord_track_index,
    chords_from_notes,
    is_chord_track_name,
    slot_spans,
)
from ..core.gm import GM_PROGRAM_NAMES
from ..core.limits import check_song_extent
from ..core.song import TRACK_PALETTE
from ..core.timing import bar_at, iter_bars
from ._files import Source, atomic_write, read_limited, sniff
from .engraving import (
    LETTER_PC,
    LETTERS,
    MAX_VOICES,
    Spelling,
    choose_staves,
    estimate_key,
    fit_voices,
    limit_voices,
    line_directions,
    mark_accidentals,
    pedal_spans,
    renumber_voices,
    spell,
    unpitch_drums,
)

log = logging.getLogger(__name__)

MAX_MUSICXML_BYTES = 64 * 1024 * 1024
"""Largest MusicXML file read, and largest score inside a compressed .mxl once unpacked."""

MAX_MUSICXML_NOTES = 20_000
"""Most notes read from one score: music21 reads about 1,500 notes a second on a quiet 2-core
machine (a 200,000-note score took 2 minutes; 10,000 notes in one-bar measures 40 s on the busy
shared one), so larger scores are refused before it starts: an accepted score reads in seconds."""
MAX_METER = 64
"""Largest meter numerator (beats, summed for 3+2 meters) and beat type read, as a song holds."""
MAX_TUPLET = 64
"""Largest tuplet (actual or normal notes of a time modification) read."""
MAX_DIVISIONS = 1_000_000
"""Largest <divisions> per quarter note read (exporters use up to about 10,000)."""

MAX_TICK = 2**40
DUPLE = PPQ // 4  # a sixteenth
TRIPLET = PPQ // 3  # an eighth-note triplet
EXTENSIONS = (".musicxml", ".xml", ".mxl")

_CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container>
  <rootfiles>
    <rootfile full-path="score.musicxml" media-type="application/vnd.recordare.musicxml+xml"/>
  </rootfiles>
</container>
"""


class MusicXMLError(GtzError):
    """A MusicXML file that cannot be read, or a song that cannot be written as MusicXML."""


# ----------------------------------------------------------------------------------------------
# quantising for notation
# ----------------------------------------------------------------------------------------------
def _bar_lines(song: Song) -> tuple[tuple[TimeSignature, ...], list[str]]:
    """Time signatures moved to bar lines (nearest bar line of the meter before each change)."""
    notes: list[str] = []
    out: list[TimeSignature] = []
    for sig in song.time_signatures:
        if not out:
            out.append(sig)
            continue
        prev = out[-1]
        bars = (sig.tick - prev.tick) / prev.bar_ticks
        tick = prev.tick + max(1, math.floor(bars + 0.5)) * prev.bar_ticks
        if tick != sig.tick:
            notes.append(f"time signature {sig} at tick {sig.tick} moved to the bar line at tick {tick}")
        if (sig.numerator, sig.denominator) == (prev.numerator, prev.denominator):
            continue
        if tick == prev.tick:
            out[-1] = replace(sig, tick=tick)
        else:
            out.append(replace(sig, tick=tick))
    return tuple(out), notes


class _Grid:
    """Notation grid: per quarter-note window from each bar start, sixteenths or eighth triplets."""

    def __init__(self, bars) -> None:
        self.bars = bars  # list of (start, end)
        self.starts = [b[0] for b in bars]
        self.triplet: set[int] = set()  # window starts that use triplets

    def window(self, tick: int) -> tuple[int, int, int]:
        """(window start, window end, duple unit) of the window holding ``tick``."""
        import bisect

        i = max(0, bisect.bisect_right(self.starts, tick) - 1)
        start, end = self.bars[i]
        unit = math.gcd(DUPLE, end - start)
        w = start + (tick - start) // PPQ * PPQ
        return w, min(w + PPQ, end), unit

    def choose(self, points: list[int]) -> None:
        by_window: dict[int, list[int]] = defaultdict(list)
        for p in points:
            by_window[self.window(p)[0]].append(p)
        for w, ps in by_window.items():
            _, end, unit = self.window(w)
            if end - w != PPQ:
                continue
            duple = sum(abs(p - w - _round(p - w, unit)) for p in ps)
            triple = sum(abs(p - w - _round(p - w, TRIPLET)) for p in ps)
            if triple < duple:
                self.triplet.add(w)

    def snap(self, tick: int) -> int:
        w, end, unit = self.window(tick)
        step = TRIPLET if w in self.triplet else unit
        return min(w + _round(tick - w, step), end)

    def step_at(self, tick: int) -> int:
        w, _end, unit = self.window(tick)
        return TRIPLET if w in self.triplet else unit


def _round(value: int, step: int) -> int:
    return (2 * value + step) // (2 * step) * step


def quantize_for_notation(song: Song) -> tuple[Song, list[str]]:
    """The song on the notation grid, and sentences saying what had to move."""
    signatures, notes = _bar_lines(song)
    song = replace(song, time_signatures=signatures)
    tracks = []
    ends = [song.end_tick + 4 * PPQ]
    for track in song.tracks:
        bars = [(b.start, b.end) for b in iter_bars(song, max(ends))]
        grid = _Grid(bars)
        grid.choose([p for n in track.notes for p in (n.start, n.end)])
        moved = lengthened = merged = 0
        largest = 0
        out: dict[tuple[int, int], Note] = {}
        for n in track.notes:
            start, end = grid.snap(n.start), grid.snap(n.end)
            if end <= start:
                end = start + grid.step_at(start)
                lengthened += 1
            elif (start, end) != (n.start, n.end):
                moved += 1
                largest = max(largest, abs(start - n.start), abs(end - n.end))
            key = (start, n.pitch)
            if key in out:  # two notes of one pitch cannot start together in notation
                merged += 1
                if out[key].end >= end:
                    continue
            out[key] = Note(start=start, pitch=n.pitch, duration=end - start, velocity=n.velocity)
        chords: dict[tuple[int, int], list[Note]] = defaultdict(list)
        for n in out.values():
            chords[(n.start, n.end)].append(n)
        unified = 0
        for members in chords.values():
            loudest = max(m.velocity for m in members)
            if any(m.velocity != loudest for m in members):
                unified += 1
                for m in members:
                    out[(m.start, m.pitch)] = replace(m, velocity=loudest)
        label = f"track {len(tracks) + 1} ({track.name!r})"
        if unified:
            notes.append(f"{label}: in {unified} chords the notes take the loudest note's velocity "
                         "(notation has one loudness per chord)")
        if moved:
            notes.append(f"{label}: {moved} note{'s' if moved != 1 else ''} moved to the nearest sixteenth or eighth-note triplet "
                         f"(at most {largest} ticks)")
        if lengthened:
            notes.append(f"{label}: {lengthened} notes shorter than the grid were given one grid step")
        if merged:
            notes.append(f"{label}: {merged} notes of the same pitch starting together were merged")
        tracks.append(track.with_notes(out.values()))
    song = replace(song, tracks=tuple(tracks))
    # tempo changes sit on the sixteenth grid, key changes on bar lines
    last = max([song.end_tick, *(k.tick for k in song.key_signatures)]) + 1
    bar_lines = [b.start for b in iter_bars(song, last)]
    for name, label in (("tempos", "tempo change"), ("key_signatures", "key change")):
        events = getattr(song, name)
        if name == "tempos":
            snapped = tuple(replace(e, tick=_round(e.tick, DUPLE)) for e in events)
        else:
            snapped = tuple(replace(e, tick=min(bar_lines, key=lambda b, t=e.tick: (abs(b - t), b))) for e in events)
        for before, after in zip(events, snapped):
            if before.tick != after.tick:
                notes.append(f"{label} at tick {before.tick} moved to tick {after.tick}")
        song = replace(song, **{name: snapped})
    return song, notes


def notation_song(song: Song) -> tuple[Song, list[str]]:
    """The song exactly as its MusicXML export holds it (quantised, then at most four voices per
    staff), and the sentences saying what changed. Reading the export back gives this song."""
    notated, notes = quantize_for_notation(song)
    notated, voice_notes = fit_voices(notated)
    return notated, notes + voice_notes


# ----------------------------------------------------------------------------------------------
# chord symbols
# ----------------------------------------------------------------------------------------------
CHORDS_TRACK_NAME = "Chords"
CHORD_ROOT_PITCH = 48
"""Block chords read from symbols: the root in the octave below middle C, chord tones above it."""
CHORD_BASS_PITCH = 36
"""A slash bass sounds in the octave below the root's."""
CHORD_VELOCITY = 70


@dataclass(frozen=True)
class ChordSymbol:
    """A chord symbol at a tick: a chord of the vocabulary (``None``: "N.C.") and, for a slash
    chord, the bass pitch class (never the root's)."""

    tick: int
    chord: Chord | None
    bass: int | None = None


def block_chord_notes(symbols: list[ChordSymbol], end: int) -> list[Note]:
    """The block chords a file's chord symbols sound as: each symbol until the next one (the
    last until ``end``, the end of its part's last note, and at least a beat)."""
    notes: list[Note] = []
    for i, sym in enumerate(symbols):
        stop = symbols[i + 1].tick if i + 1 < len(symbols) else max(end, sym.tick + PPQ)
        if sym.chord is None or stop <= sym.tick:
            continue
        length = stop - sym.tick
        if sym.bass is not None and sym.bass != sym.chord.root:
            notes.append(Note(start=sym.tick, pitch=CHORD_BASS_PITCH + sym.bass, duration=length,
                              velocity=CHORD_VELOCITY))
        root = CHORD_ROOT_PITCH + sym.chord.root
        for iv in sym.chord.intervals:
            notes.append(Note(start=sym.tick, pitch=root + iv, duration=length, velocity=CHORD_VELOCITY))
    return notes


def _exact(pcs: frozenset[int], root: int) -> Chord | None:
    for quality, ivs in QUALITIES.items():
        if frozenset((root + i) % 12 for i in ivs) == pcs:
            return Chord(root, quality)
    return None


def identify_block(pitches) -> tuple[Chord, int | None] | None:
    """The chord (and slash bass) of notes sounding together when they are exactly one chord of
    the vocabulary: the root lowest, or a bass under the chord (below the root's octave, or any
    bass under a chord of three or more notes), or an inversion (the lowest tone the bass)."""
    ps = sorted(set(pitches))
    if len(ps) < 3:
        return None
    low = ps[0] % 12
    pcs = frozenset(p % 12 for p in ps)
    upper = ps[1:]
    under = None
    if len(upper) >= 3:
        under = _exact(frozenset(p % 12 for p in upper), upper[0] % 12)
    if under is not None and ps[0] < CHORD_ROOT_PITCH <= ps[1]:
        return under, (low if low != under.root else None)
    chord = _exact(pcs, low)
    if chord is not None:
        return chord, None
    if under is not None:
        return under, (low if low != under.root else None)
    for root in sorted(pcs):
        chord = _exact(pcs, root)
        if chord is not None:
            return chord, low
    return None


def _block_symbols(song: Song, track: Track) -> list[ChordSymbol] | None:
    """The symbols of a track of block chords (see the module docstring), or None when the
    track is not one."""
    groups: dict[int, list[Note]] = defaultdict(list)
    for n in track.notes:
        groups[n.start].append(n)
    starts = sorted(groups)
    out: list[ChordSymbol] = []
    for i, start in enumerate(starts):
        ends = {n.end for n in groups[start]}
        if len(ends) != 1:
            return None
        end = ends.pop()
        found = identify_block(n.pitch for n in groups[start])
        if found is None:
            return None
        if i + 1 < len(starts):
            nxt = starts[i + 1]
            if end > nxt:
                return None
            if end < nxt and nxt - end < bar_at(song, end).signature.bar_ticks:
                return None
        out.append(ChordSymbol(start, *found))
        if i + 1 < len(starts) and end < starts[i + 1]:
            out.append(ChordSymbol(end, None))
    return out


def chord_symbols(song: Song, track: Track) -> tuple[list[ChordSymbol], str]:
    """The chord symbols a chord track is written as, and how they were found ("block chords"
    or "inferred per chord slot"); see the module docstring."""
    symbols = _block_symbols(song, track)
    if symbols is not None:
        return symbols, "block chords"
    spans = chords_from_notes(track.notes, slot_spans(song, 0, track.end_tick))
    while spans and spans[0].chord is None:
        spans.pop(0)
    return [ChordSymbol(s.start, s.chord) for s in spans], "inferred per chord slot"


@dataclass(frozen=True)
class _ChordPlan:
    tracks: tuple[Track, ...]  # the tracks written as parts
    host: int | None  # index (in tracks) of the part that carries the symbols
    symbols: tuple[ChordSymbol, ...]
    symbols_only: bool


def _chord_plan(song: Song) -> _ChordPlan:
    ci = chord_track_index(song)
    if ci is None:
        return _ChordPlan(song.tracks, None, (), False)
    track = song.tracks[ci]
    symbols, how = chord_symbols(song, track)
    others = [i for i, t in enumerate(song.tracks) if i != ci and not t.is_drum]
    host = next((i for i in others if song.tracks[i].notes), others[0] if others else ci)
    symbols_only = False
    if host != ci and ci == len(song.tracks) - 1 and symbols:
        end = max((n.end for n in song.tracks[host].notes), default=symbols[-1].tick)
        read_back = new_track(ci, name=CHORDS_TRACK_NAME, notes=tuple(block_chord_notes(symbols, end)))
        symbols_only = all(getattr(track, f) == getattr(read_back, f)
                           for f in ("name", "program", "channel", "is_drum", "notes"))
    tracks = song.tracks[:ci] if symbols_only else song.tracks
    log.info("%d chord symbols from the chord track (%s) over part %d (%r)%s", len(symbols), how, host + 1,
             song.tracks[host].name, "; the chord track is written as symbols only" if symbols_only else "")
    return _ChordPlan(tracks, host, tuple(symbols), symbols_only)


# letters above the root of each chord tone (the 4th tone of a dim7 as the 6th it sounds: Cdim7/A)
_TONE_LETTERS = {0: 0, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 4, 8: 4, 9: 5, 10: 6, 11: 6}


def _tone_letter(root_step: str, root_alter: int, interval: int) -> tuple[str, int]:
    """The spelling (letter, alteration) of the chord tone ``interval`` semitones above a root."""
    letter = (LETTERS.index(root_step) + _TONE_LETTERS[interval]) % 7
    pc = (LETTER_PC[LETTERS.index(root_step)] + root_alter + interval) % 12
    return LETTERS[letter], (pc - LETTER_PC[letter] + 6) % 12 - 6


def _spell_root(chord: Chord, key):
    """The root spelt in the key, unless its enharmonic twin spells the chord's tones with fewer
    signs (Bbaug in G major: Bb D F#, not A# C## E##)."""
    in_key = spell(CHORD_ROOT_PITCH + chord.root, key)
    candidates = [in_key]
    for i, natural in enumerate(LETTER_PC):
        alter = (chord.root - natural + 6) % 12 - 6
        if abs(alter) <= 1 and LETTERS[i] != in_key.step:
            candidates.append(Spelling(LETTERS[i], alter, in_key.octave))

    def signs(sp) -> int:
        alters = [_tone_letter(sp.step, sp.alter, iv)[1] for iv in chord.intervals]
        return sum(abs(a) for a in alters) + 10 * sum(abs(a) > 1 for a in alters)

    return min(candidates, key=signs)  # the key's own spelling wins a tie (it comes first)


def _m21_symbol(sym: ChordSymbol, key):
    """A music21 chord symbol: the root spelt in the key, a slash bass that is a chord tone spelt
    as that tone of the chord (Cm/Eb, not Cm/D#), any other bass in the key; the kind's text is
    our symbol's."""
    from music21 import harmony

    if sym.chord is None:
        return harmony.NoChord()

    def name(step: str, alter: int) -> str:
        return step + ("#" * alter if alter > 0 else "-" * -alter)

    root = _spell_root(sym.chord, key)
    bass = None
    if sym.bass is not None and sym.bass != sym.chord.root:
        interval = (sym.bass - sym.chord.root) % 12
        if interval in sym.chord.intervals:
            step, alter = _tone_letter(root.step, root.alter, interval)
            bass = name(step, alter) if abs(alter) <= 2 else None
        if bass is None:
            sp = spell(CHORD_BASS_PITCH + sym.bass, key)
            bass = name(sp.step, sp.alter)
    cs = harmony.ChordSymbol(root=name(root.step, root.alter), kind=MUSICXML_KINDS[sym.chord.quality], bass=bass)
    cs.chordKindStr = SYMBOL_SUFFIXES[sym.chord.quality]
    return cs


# ----------------------------------------------------------------------------------------------
# writing
# ----------------------------------------------------------------------------------------------
_DUPLE_TYPES = sorted({base * mult // 4 for base in (30, 60, 120, 240, 480, 960, 1920, 3840) for mult in (4, 6, 7)})


def _pieces(start: int, end: int, windows) -> list[tuple[int, int]]:
    """Split [start, end) into spans that notation can show as one note each."""
    if end - start in _DUPLE_TYPES and start % DUPLE == 0 and end % DUPLE == 0:
        return [(start, end)]
    cuts = sorted({start, end, *(w for w in windows if start < w < end)})
    return list(zip(cuts, cuts[1:]))


def _element(members: list[Note] | None, ticks: int, spelled=None):
    """A rest, note or chord of ``ticks``; ``spelled(note)`` gives each pitch's music21 name."""
    from music21 import chord, note

    ql = Fraction(ticks, PPQ)
    if not members:
        return note.Rest(quarterLength=ql)
    names = [spelled(m) if spelled is not None else m.pitch for m in members]
    if len(members) == 1:
        el = note.Note(names[0], quarterLength=ql)
        el.volume.velocity = members[0].velocity
        return el
    el = chord.Chord(names, quarterLength=ql)
    el.volume.velocity = max(m.velocity for m in members)
    return el


def _fill(container, content, bar_start: int, bar_end: int, windows, spelled=None, placed=None, voice=0) -> None:
    """Put a voice's chords (clipped to the bar, tied across it) and rests into ``container``;
    ``placed`` (a list), when given, collects (voice, tick, element) of every note and chord."""
    from music21 import tie

    now = bar_start
    for start, end, members in content:
        if end <= bar_start or start >= bar_end:
            continue
        s, e = max(start, bar_start), min(end, bar_end)
        if s > now:
            for a, b in _pieces(now, s, windows):
                container.insert(Fraction(a - bar_start, PPQ), _element(None, b - a))
        pieces = _pieces(s, e, windows)
        for a, b in pieces:
            el = _element(members, b - a, spelled)
            first, last = a == start, b == end
            if not (first and last):
                el.tie = tie.Tie("start" if first else "stop" if last else "continue")
            container.insert(Fraction(a - bar_start, PPQ), el)
            if placed is not None:
                placed.append((voice, a, el))
        now = e
    if now < bar_end:
        for a, b in _pieces(now, bar_end, windows):
            container.insert(Fraction(a - bar_start, PPQ), _element(None, b - a))


def _instrument(track: Track, index: int):
    from music21 import instrument

    inst = instrument.Percussion() if track.is_drum else instrument.Instrument(GM_PROGRAM_NAMES[track.program])
    inst.midiProgram = track.program
    inst.midiChannel = track.channel
    inst.instrumentId = f"P{index + 1}-I1"
    inst.partName = track.name or None
    return inst


def _mark_pedal(part, spans, placed) -> None:
    """A music21 pedal mark ("Ped." ... "*") over the notes of one voice (the first that plays
    while the pedal is down: the mark's start and end are then written in time order)."""
    from music21 import expressions

    placed.sort(key=lambda p: (p[0], p[1]))
    for down, up in spans:
        inside = [(v, el) for v, tick, el in placed if down <= tick < up]
        if inside:
            voice = min(v for v, _el in inside)
            mark = expressions.PedalMark([el for v, el in inside if v == voice])
            mark.pedalForm = expressions.PedalForm.Line  # a pedal bracket under the staff
            part.insert(0, mark)


def _m21_name(spelling) -> str:
    return spelling.step + ("#" * spelling.alter if spelling.alter > 0 else "-" * -spelling.alter) + str(spelling.octave)


def _m21_clef(c):
    from music21 import clef

    return {"treble": clef.TrebleClef, "bass": clef.BassClef, "tenor": clef.TenorClef,
            "treble8vb": clef.Treble8vbClef, "percussion": clef.PercussionClef}[c.name]()


def _build_score(song: Song, host: int | None = None, symbols=()):
    """The music21 score of a song as :func:`notation_song` leaves it; ``symbols``
    (:class:`ChordSymbol`) go over the top staff of track ``host``."""
    from music21 import key, layout, metadata, meter, stream, tempo

    score = stream.Score()
    score.metadata = metadata.Metadata()
    score.metadata.title = song.title
    score.metadata.movementName = song.title
    last_event = max(e.tick for e in (*song.tempos, *song.time_signatures, *song.key_signatures, *symbols))
    end = max(song.end_tick, last_event + 1, 1)
    bars = list(iter_bars(song, end - 1))
    tracks = song.tracks or (new_track(0, "Empty"),)
    # a song without a key is spelt in the key its notes suggest (not written as a signature)
    guess = None if song.key_signatures else estimate_key(n for t in tracks if not t.is_drum for n in t.notes)
    for index, track in enumerate(tracks):
        staves = choose_staves(track)
        pedal = () if track.is_drum else pedal_spans(track, end)
        directions = line_directions(track.notes)
        spellings: dict[Note, str] = {}

        def spelled(n: Note, directions=directions, spellings=spellings, drum=track.is_drum) -> str:
            name = spellings.get(n)
            if name is None:
                k = None if drum else (song.key_at(n.start) or guess)
                name = spellings[n] = _m21_name(spell(n.pitch, k, directions.get(n, 0)))
            return name

        parts = []
        for s_index, staff in enumerate(staves):
            part = stream.PartStaff(id=f"P{index + 1}-Staff{s_index + 1}") if len(staves) > 1 else stream.Part(
                id=f"P{index + 1}")
            part.partName = track.name
            voices = limit_voices(staff.notes)[0]
            # the sustain pedal is marked under the lowest staff, as pianists read it
            placed: list | None = [] if pedal and s_index == len(staves) - 1 else None
            sig = None
            for bar in bars:
                measure = stream.Measure(number=bar.index + 1)
                if bar.index == 0:
                    measure.insert(0, _instrument(track, index))
                    measure.insert(0, _m21_clef(staff.clef))
                if bar.signature != sig:
                    sig = bar.signature
                    measure.insert(0, meter.TimeSignature(f"{sig.numerator}/{sig.denominator}"))
                if not track.is_drum:  # a percussion staff has no key
                    for k in song.key_signatures:
                        if bar.start <= k.tick < bar.end:
                            ks = key.KeySignature(k.sharps).asKey(k.mode)
                            measure.insert(Fraction(k.tick - bar.start, PPQ), ks)
                if index == host and s_index == 0:
                    for sym in symbols:
                        if bar.start <= sym.tick < bar.end:
                            measure.insert(Fraction(sym.tick - bar.start, PPQ),
                                           _m21_symbol(sym, song.key_at(sym.tick) or guess))
                if index == 0 and s_index == 0:
                    for t in song.tempos:
                        if bar.start <= t.tick < bar.end:
                            mm = tempo.MetronomeMark(number=round(t.bpm, 2), referent=1.0)
                            measure.insert(Fraction(t.tick - bar.start, PPQ), mm)
                windows = range(bar.start, bar.end, PPQ)
                if len(voices) <= 1 and len(staves) == 1:
                    _fill(measure, voices[0] if voices else [], bar.start, bar.end, windows, spelled, placed)
                else:
                    # voices 1-4 on the upper staff, 5-8 on the lower (as notation programs number them)
                    for v, content in enumerate(voices or [[]]):
                        if v and not any(c[0] < bar.end and c[1] > bar.start for c in content):
                            continue  # a voice with nothing in this bar is left out of it
                        voice = stream.Voice(id=str(v + 1 + MAX_VOICES * s_index))
                        _fill(voice, content, bar.start, bar.end, windows, spelled, placed, v)
                        measure.insert(0, voice)
                part.append(measure)
            if placed:
                _mark_pedal(part, pedal, placed)
            parts.append(part)
        for part in parts:
            score.insert(0, part)
        if len(parts) > 1:
            score.insert(0, layout.StaffGroup(parts, name=track.name, symbol="brace"))
    return score


_DOCTYPE = (b'<?xml version="1.0" encoding="utf-8"?>\n<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 '
            b'Partwise//EN" "http://www.musicxml.org/dtds/partwise.dtd">\n')


def _fix_part_list(xml: bytes, tracks) -> bytes:
    """music21 renumbers MIDI channels that two parts share and names parts by hashes: put back
    each track's channel and program, and call the parts P1, P2, ...; then write drum parts as
    unpitched notes and set the accidentals (:mod:`.engraving`)."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(xml)
    ids = {}
    for i, (sp, track) in enumerate(zip(root.iter("score-part"), tracks)):
        ids[sp.get("id")] = f"P{i + 1}"
        sp.set("id", f"P{i + 1}")
        for mi in sp.iter("midi-instrument"):
            for tag, value in (("midi-channel", track.channel + 1), ("midi-program", track.program + 1)):
                el = mi.find(tag)
                if el is not None:
                    el.text = str(value)
    for part in root.iter("part"):
        part.set("id", ids.get(part.get("id"), part.get("id")))
    parts = {p.get("id"): p for p in root.iter("part")}
    for i, (sp, track) in enumerate(zip(root.iter("score-part"), tracks)):
        if track.is_drum and f"P{i + 1}" in parts:
            unpitch_drums(root, sp, parts[f"P{i + 1}"], f"P{i + 1}", track.channel, track.program)
    for part in root.iter("part"):
        if part.find("measure/attributes/staves") is not None:
            renumber_voices(part)
        for direction in part.iter("direction"):  # pedal marks go under the staff
            if direction.find("direction-type/pedal") is not None:
                direction.set("placement", "below")
    mark_accidentals(root)
    for ident in root.findall("identification"):  # music21 signs itself as the composer
        for creator in ident.findall("creator"):
            if creator.text == "Music21":
                ident.remove(creator)
    return _DOCTYPE + ET.tostring(root, encoding="utf-8", xml_declaration=False)


_MUSIC21_NOTICE = re.compile(r"music21:\s*Certain music21 functions might need .*?installAdditional\.html\s*", re.S)


def _import_music21() -> None:
    """Import music21 once, keeping its start-up notice "Certain music21 functions might need the
    optional package matplotlib" off stderr (gtzcomposer never plots with music21, and the desktop
    bundle leaves matplotlib out); anything else it writes there is passed on."""
    if "music21" in sys.modules:
        return
    buf = io.StringIO()
    try:
        with contextlib.redirect_stderr(buf):
            import music21  # noqa: F401
    finally:
        rest = _MUSIC21_NOTICE.sub("", buf.getvalue())
        if rest:
            sys.stderr.write(rest)


def song_to_musicxml(song: Song, path: str | os.PathLike, progress=None, is_cancelled=None) -> list[str]:
    """Write ``song`` as MusicXML (.musicxml/.xml) or compressed MusicXML (.mxl), atomically.

    Returns sentences for the user about what had to be quantised for notation and fitted into
    voices (also logged). ``progress`` and ``is_cancelled`` are the task protocol of
    :mod:`gtzcomposer.services.tasks`; a cancelled export raises
    :class:`~gtzcomposer.core.errors.Cancelled` and writes nothing.
    """
    _import_music21()
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    from ..core.errors import Cancelled

    def step(fraction: float, message: str) -> None:
        if is_cancelled is not None and is_cancelled():
            raise Cancelled("MusicXML export cancelled")
        if progress is not None:
            progress(fraction, message)

    path = Path(path)
    ext = path.suffix.lower()
    if ext not in EXTENSIONS:
        raise MusicXMLError(f"{path.name}: MusicXML files end in .musicxml, .xml or .mxl")
    step(0.0, "quantising for notation")
    notated, notes = notation_song(song)
    plan = _chord_plan(notated)
    written = replace(notated, tracks=plan.tracks)
    try:
        step(0.1, "laying out staves and voices")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            score = _build_score(written, plan.host, plan.symbols)
            step(0.4, "writing MusicXML")
            xml = GeneralObjectExporter(score).parse()
        step(0.9, "spelling and accidentals")
        xml = _fix_part_list(xml, written.tracks or (new_track(0),))
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - music21 fails in many ways; report, don't crash
        raise MusicXMLError(f"{path.name}: music21 could not write this song as notation ({exc})") from exc
    if ext == ".mxl":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.recordare.musicxml")
            zf.writestr("META-INF/container.xml", _CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
            zf.writestr("score.musicxml", xml, compress_type=zipfile.ZIP_DEFLATED)
        xml = buf.getvalue()
    atomic_write(path, lambda fh: fh.write(xml), MusicXMLError)
    for note in notes:
        log.info("%s: %s", path.name, note)
    return notes


# ----------------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------------
def _unzip(name: str, data: bytes) -> bytes:
    import xml.etree.ElementTree as ET

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            root = None
            damaged = False
            if "META-INF/container.xml" in names:
                info = zf.getinfo("META-INF/container.xml")
                if info.file_size > 1024 * 1024:
                    raise MusicXMLError(f"{name}: the .mxl container description is implausibly large")
                try:
                    container = ET.fromstring(zf.read(info))
                except ET.ParseError:  # e.g. OpenEWLD's full-path='Sweet Adeline's.xml': look for the score
                    container, damaged = None, True
                rootfile = container.find(".//rootfile") if container is not None else None
                root = rootfile.get("full-path") if rootfile is not None else None
            if root is None:
                candidates = [n for n in names if n.lower().endswith((".xml", ".musicxml")) and not n.startswith("META-INF/")]
                root = candidates[0] if candidates else None
            if root is None and damaged:
                raise MusicXMLError(f"{name}: damaged .mxl archive (its container description cannot be read "
                                    "and it holds no other MusicXML score)")
            if root is None or root not in names:
                raise MusicXMLError(f"{name}: the .mxl archive holds no MusicXML score")
            info = zf.getinfo(root)
            if info.file_size > MAX_MUSICXML_BYTES:
                raise MusicXMLError(f"{name}: the score inside is larger than {MAX_MUSICXML_BYTES // 2**20} MB unpacked")
            with zf.open(info) as fh:
                out = fh.read(MAX_MUSICXML_BYTES + 1)
            if len(out) > MAX_MUSICXML_BYTES:
                raise MusicXMLError(f"{name}: the score inside is larger than {MAX_MUSICXML_BYTES // 2**20} MB unpacked")
            return out
    except MusicXMLError:
        raise
    except Exception as exc:  # noqa: BLE001 - zipfile/zlib/ET raise many types on damaged archives
        raise MusicXMLError(f"{name}: damaged .mxl archive ({exc or type(exc).__name__})") from None


def musicxml_to_song(source: Source) -> Song:
    """Read MusicXML (.musicxml/.xml, or compressed .mxl) into a Song; raises only MusicXMLError."""
    import xml.etree.ElementTree as ET

    name, data = read_limited(source, MAX_MUSICXML_BYTES, MusicXMLError, "MusicXML")
    if not data.strip():
        raise MusicXMLError(f"{name}: the file is empty")
    if data.startswith(b"PK\x03\x04"):
        data = _unzip(name, data)
    _count_notes(data, name)
    try:
        root = ET.fromstring(data)
    except Exception as exc:  # noqa: BLE001 - ParseError, ValueError, RecursionError, ...
        what = sniff(data)
        if what and "XML" not in what and "MusicXML" not in what:
            raise MusicXMLError(f"{name}: not a MusicXML file; it looks like {what}") from None
        raise MusicXMLError(f"{name}: damaged MusicXML file ({exc or type(exc).__name__})") from None
    if root.tag == "score-timewise":
        raise MusicXMLError(f"{name}: timewise MusicXML is not supported; save it as partwise MusicXML")
    if root.tag != "score-partwise":
        raise MusicXMLError(f"{name}: not a MusicXML score (the document is a <{root.tag}>)")
    check_before_parse(root, name)
    try:
        _import_music21()
        from music21.musicxml.xmlToM21 import MusicXMLImporter

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            importer = MusicXMLImporter()
            _pitch_unpitched_notes(root)
            importer.xmlRoot = root
            importer.xmlRootToScore(root, importer.stream)
            return _score_to_song(importer.stream, name, _midi_instruments(root))
    except MusicXMLError:
        raise
    except SongError as exc:
        raise MusicXMLError(f"{name}: the score holds a value a song cannot ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - music21 raises many types on unusual input
        raise MusicXMLError(f"{name}: music21 could not read this score ({exc or type(exc).__name__})") from None


def _whole(text: str | None) -> int | None:
    text = (text or "").strip()
    return int(text) if text.isdigit() and len(text) <= 30 else None


def _count_notes(data: bytes, name: str) -> None:
    """Refuse a score with too many notes from its bytes, before even the XML parser runs."""
    notes = data.count(b"<note>") + data.count(b"<note ")
    if notes > MAX_MUSICXML_NOTES:
        raise MusicXMLError(f"{name}: the score has {notes:,} notes; scores of at most {MAX_MUSICXML_NOTES:,} "
                            "notes are read (split it into movements or parts)")


def check_before_parse(root, name: str) -> None:
    """Refuse, on the raw XML and before music21 parses anything, what would make music21 run
    for minutes: too many notes, huge meters (1000/3 took 110 s inside music21 before the app's
    own meter limit refused it), huge tuplets or divisions."""

    def where(part, measure) -> str:
        number = measure.get("number") if measure is not None else None
        return f"measure {number} of part {part.get('id')!r}" if number else f"part {part.get('id')!r}"

    notes = sum(1 for _ in root.iter("note"))
    if notes > MAX_MUSICXML_NOTES:
        raise MusicXMLError(f"{name}: the score has {notes:,} notes; scores of at most {MAX_MUSICXML_NOTES:,} "
                            "notes are read (split it into movements or parts)")
    for part in root.iter("part"):
        for measure in part.iter("measure"):
            attributes = measure.findall("attributes")
            for attr in attributes:
                divisions = _whole(attr.findtext("divisions"))
                if divisions is not None and divisions > MAX_DIVISIONS:
                    raise MusicXMLError(f"{name}: {where(part, measure)} sets {divisions:,} divisions per quarter "
                                        f"note; at most {MAX_DIVISIONS:,} are read")
                for time in attr.iter("time"):
                    for beats in time.findall("beats"):
                        parts = [_whole(p) for p in (beats.text or "").replace(",", "+").split("+")]
                        if any(p is None for p in parts):
                            continue  # music21 reports what it cannot read
                        if sum(parts) > MAX_METER:
                            raise MusicXMLError(f"{name}: {where(part, measure)} has a time signature of "
                                                f"{(beats.text or '').strip()} beats; at most {MAX_METER} are read")
                    for beat_type in time.findall("beat-type"):
                        value = _whole(beat_type.text)
                        if value is not None and value > MAX_METER:
                            raise MusicXMLError(f"{name}: {where(part, measure)} has a time signature with beat type "
                                                f"{value}; at most {MAX_METER} is read")
            for mod in measure.iter("time-modification"):
                for tag in ("actual-notes", "normal-notes"):
                    value = _whole(mod.findtext(tag))
                    if value is not None and value > MAX_TUPLET:
                        raise MusicXMLError(f"{name}: {where(part, measure)} has a tuplet of {value} notes; "
                                            f"tuplets of at most {MAX_TUPLET} are read")


def _pitch_unpitched_notes(root) -> int:
    """Give each unpitched note whose ``<instrument>`` names a sound with ``midi-unpitched`` in the
    part list that key as its pitch (music21 reads only a part's first MIDI instrument, so it would
    give every drum of a kit the same sound). Returns how many notes were given a pitch."""
    import xml.etree.ElementTree as ET

    keys: dict[str, int] = {}
    for sp in root.iter("score-part"):
        for mi in sp.iter("midi-instrument"):
            text = (mi.findtext("midi-unpitched") or "").strip()
            if text.isdigit() and 1 <= int(text) <= 128 and mi.get("id"):
                keys[mi.get("id")] = int(text) - 1
    if not keys:
        return 0
    count = 0
    for note in root.iter("note"):
        unpitched, inst = note.find("unpitched"), note.find("instrument")
        if unpitched is None or inst is None or inst.get("id") not in keys:
            continue
        spelling = spell(keys[inst.get("id")], None)
        pitch = ET.Element("pitch")
        ET.SubElement(pitch, "step").text = spelling.step
        if spelling.alter:
            ET.SubElement(pitch, "alter").text = str(spelling.alter)
        ET.SubElement(pitch, "octave").text = str(spelling.octave)
        note.insert(list(note).index(unpitched), pitch)
        note.remove(unpitched)
        count += 1
    return count


def _midi_instruments(root) -> dict[str, dict[str, int | bool]]:
    """Part id -> MIDI channel (0-15), program (0-127) and whether it plays unpitched sounds, read
    from the score's part list (music21 keeps only a guess at the instrument class)."""
    out: dict[str, dict[str, int | bool]] = {}
    for part in root.iter("score-part"):
        info: dict[str, int | bool] = {}
        mi = part.find("midi-instrument")
        if mi is not None:
            for tag, key in (("midi-channel", "channel"), ("midi-program", "program")):
                text = (mi.findtext(tag) or "").strip()
                if text.isdigit():
                    info[key] = int(text) - 1
            info["unpitched"] = mi.find("midi-unpitched") is not None
        out[str(part.get("id"))] = info
    return out


def _ticks(offset) -> int:
    return math.floor(Fraction(offset) * PPQ + Fraction(1, 2))


def _voice_elements(part):
    """(offset in the part, voice id, element) for every note and chord, in time order."""
    from music21 import stream

    out = []
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:
        return [(el.offset, "1", el) for el in part.flatten().notes]
    for m in measures:
        containers = [("1", m), *((str(v.id), v) for v in m.voices)]
        for voice, container in containers:
            for el in container.notes:
                out.append((m.offset + el.offset, voice, el))
    out.sort(key=lambda t: t[0])
    return out


def _part_notes(part, inst) -> tuple[list[Note], int, bool]:
    """The part's notes with tied pieces joined: a piece whose tie continues or stops joins the
    sounding note of the same pitch that ends exactly where the piece starts."""
    from music21 import harmony, note

    notes: list[Note] = []
    sounding: dict[int, list[list]] = defaultdict(list)  # pitch -> [[start, end, velocity, voice], ...]
    graces = skipped = 0
    unpitched = False

    for offset, voice, el in _voice_elements(part):
        if isinstance(el, harmony.Harmony):
            continue
        if el.duration.isGrace:
            graces += 1
            continue
        start = _ticks(offset)
        end = max(start, _ticks(offset + el.quarterLength))
        if start < 0 or end > MAX_TICK:  # music21 places some damaged measures before the start
            skipped += 1
            continue
        for m in el.notes if el.isChord else [el]:
            if isinstance(m, note.Unpitched):
                unpitched = True
                stored = getattr(m, "storedInstrument", None)
                pitch = getattr(stored, "percMapPitch", None) or getattr(inst, "percMapPitch", None)
                if pitch is None:
                    pitch = m.displayPitch().midi
            else:
                pitch = m.pitch.midi
            pitch = min(127, max(0, int(pitch)))
            velocity = m.volume.velocity if m.volume.velocity is not None else el.volume.velocity
            velocity = min(127, max(1, int(velocity or 100)))
            tie = m.tie or el.tie
            kind = tie.type if tie is not None else None
            open_notes = sounding[pitch]
            joined = None
            if kind in ("stop", "continue", "let-ring"):
                candidates = [o for o in open_notes if o[1] == start]
                joined = next((o for o in candidates if o[3] == voice), candidates[0] if candidates else None)
            if joined is not None:
                joined[1] = end
                if kind == "stop":
                    open_notes.remove(joined)
                    notes.append(Note(start=joined[0], pitch=pitch, duration=end - joined[0], velocity=joined[2]))
            elif kind in ("start", "continue"):
                open_notes.append([start, end, velocity, voice])
            else:
                notes.append(Note(start=start, pitch=pitch, duration=end - start, velocity=velocity))
    for pitch, open_notes in sounding.items():  # ties that never stop end with their last piece
        notes += [Note(start=o[0], pitch=pitch, duration=o[1] - o[0], velocity=o[2]) for o in open_notes]
    if skipped:
        log.info("%d notes outside the time a song can hold were skipped", skipped)
    return notes, graces, unpitched


def _read_symbol(el, tick: int) -> ChordSymbol:
    """A music21 chord symbol at ``tick`` as ours (the chord ``None`` for "N.C." and for symbols
    that cannot be read)."""
    from music21 import harmony

    from ..core.chords import ChordError, parse_symbol

    if isinstance(el, harmony.NoChord):
        return ChordSymbol(tick, None)
    try:
        chord = parse_symbol(f"{el.root().name.replace('-', 'b')}:{el.chordKind}")
    except (ChordError, AttributeError):
        try:
            chord = parse_symbol(el.figure)
        except ChordError:
            return ChordSymbol(tick, None)
    if chord is None:
        return ChordSymbol(tick, None)
    try:
        bass = el.bass()
    except Exception:  # noqa: BLE001 - music21 works the bass out of odd figures
        bass = None
    pc = bass.pitchClass if bass is not None else None
    return ChordSymbol(tick, chord, pc if pc is not None and pc != chord.root else None)


def _chords_track(groups: list[list], index: int) -> Track | None:
    """Chord symbols (<harmony>) of the score as a track named Chords: each symbol sounds as a
    block chord (:func:`block_chord_notes`) until the next symbol or the end of the last note of
    its part (all staves of it). Symbols that cannot be read, and "N.C.", sound as nothing.
    ``groups`` are the score's parts, the staves of one part together; the first staff that has
    symbols gives the one chord track."""
    from music21 import harmony

    for staves in groups:
        for part in staves:
            symbols = [_read_symbol(el, _ticks(offset)) for offset, _voice, el in _voice_elements(part)
                       if isinstance(el, harmony.ChordSymbol)]
            if symbols:
                end = max((_ticks(o + el.quarterLength) for staff in staves for o, _v, el in _voice_elements(staff)
                           if not isinstance(el, harmony.Harmony)), default=symbols[-1].tick)
                notes = block_chord_notes(symbols, end)
                return new_track(index, name=CHORDS_TRACK_NAME, notes=tuple(sorted(notes))) if notes else None
    return None


def _score_to_song(score, name: str, midi: dict | None = None) -> Song:
    from music21 import key, meter, tempo

    groups: dict[str, list] = {}
    for part in score.parts:
        inst = part.getInstrument(returnDefault=True)
        group = getattr(inst, "partId", None) or part.id
        groups.setdefault(str(group), []).append(part)

    tracks: list[Track] = []
    graces = 0
    for group_id, parts in groups.items():
        first = parts[0]
        inst = first.getInstrument(returnDefault=True)
        notes: list[Note] = []
        unpitched = False
        for part in parts:
            part_notes, part_graces, part_unpitched = _part_notes(part, inst)
            notes += part_notes
            graces += part_graces
            unpitched = unpitched or part_unpitched
        index = len(tracks)
        info = (midi or {}).get(group_id, {})
        channel = info.get("channel", inst.midiChannel)
        is_drum = channel == 9 or unpitched or info.get("unpitched") is True
        if channel is None or not 0 <= channel <= 15:
            channel = 9 if is_drum else new_track(index).channel
        program = info.get("program", inst.midiProgram)
        if program is None or not 0 <= program <= 127:
            program = 0
        track_name = first.partName or inst.partName or inst.instrumentName or f"Track {index + 1}"
        tracks.append(Track(name=str(track_name), program=program, channel=channel, is_drum=is_drum,
                            notes=tuple(sorted(notes)), color=TRACK_PALETTE[index % len(TRACK_PALETTE)]))
    if graces:
        log.info("%s: %d grace notes skipped (they take no time in the score)", name, graces)
    # a part named Chords (Chord, Harmony) is the chord track: its symbols make no second one
    has_chords = any(is_chord_track_name(t.name) and not t.is_drum and t.notes for t in tracks)
    chords = None if has_chords else _chords_track(list(groups.values()), len(tracks))
    if chords is not None:
        tracks.append(chords)

    reference = score.parts[0].flatten() if score.parts else score.flatten()
    tempos = []
    for mm in score.flatten().getElementsByClass(tempo.MetronomeMark):
        bpm = mm.getQuarterBPM()
        if bpm and 1 <= bpm <= 1000:  # slower than MIDI's slowest (3.58 bpm) is read as the slowest
            tempos.append(TempoChange(_ticks(mm.offset), min(0xFFFFFF, round(60_000_000 / bpm))))
    signatures = []
    for ts in reference.getElementsByClass(meter.TimeSignature):
        try:
            signatures.append(TimeSignature(_ticks(ts.offset), ts.numerator, ts.denominator))
        except SongError:
            log.info("%s: skipped the time signature %s", name, ts.ratioString)
    keys = []
    for ks in reference.getElementsByClass(key.KeySignature):
        keys.append(KeySignature.from_sharps(_ticks(ks.offset), ks.sharps, getattr(ks, "mode", None) == "minor"))
    md = score.metadata
    title = (md.title or md.movementName or "") if md is not None else ""
    song = Song(tracks=tuple(tracks), tempos=tuple(tempos), time_signatures=tuple(signatures),
                key_signatures=tuple(keys), title=str(title))
    check_song_extent(song, name, error=MusicXMLError)
    return song


