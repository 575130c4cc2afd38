"""Engraving decisions for MusicXML export, kept apart from music21 so they can be tested alone.

A song holds MIDI pitches; notation needs a spelling (F# or Gb), a clef, staves, voices and
accidentals. The rules, each a function here:

* :func:`spell` - a pitch's letter and alteration from the key and the line. Pitches of the key's
  scale take its spelling. Others: in a minor key the raised 3rd, 6th and 7th degrees are sharps of
  the scale's letters (E# in F# minor, D# and A# there, never F, Eb or Bb); in a major key the
  raised 1st and 4th are sharpened and the lowered 7th flattened; the rest follow the line (a note
  the melody leaves upwards is raised, downwards lowered) and, without a line, the key's side
  (sharps in sharp keys, flats in flat keys). A double sharp or flat is used only where the key
  asks for it.
* :func:`estimate_key` - a song without a key signature is spelt in the key its notes suggest
  (Krumhansl-Schmuckler); the estimate is not written as a signature.
* :func:`choose_staves` - a drum track gets a percussion staff; a keyboard track (or any track
  whose range needs more ledger lines than a grand staff) that spans both clefs gets a grand staff
  split at middle C; other tracks get the clef with the fewest ledger lines among those usual for
  the instrument: treble or bass; bass or tenor clef for cello, bassoon and trombone (treble only
  for a line that lies above G4); treble-8vb too for a tenor voice.
* :func:`limit_voices` - notes packed into at most four voices per staff (what MuseScore shows);
  a note that finds no free voice joins a chord starting with it (taking its length) or, failing
  that, shortens the note in the voice that frees up soonest. Nothing is lost; the count is
  reported.
* :func:`pedal_spans` - the sustain pedal is engraved as "Ped." marks under the lowest staff of
  the part, over the notes that start while it is down (export only: a score's pedal marks are
  not read back into controller changes).
* :func:`mark_accidentals` - the accidentals a reader needs, and no others, from the key
  signature and the accidentals earlier in the bar on the same staff line (ties carry no sign).
* :data:`GM_DRUM_DISPLAY` - where each General MIDI drum sits on a five-line percussion staff.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..core.song import KeySignature, Note, Song, Track

LETTERS = "CDEFGAB"
LETTER_PC = (0, 2, 4, 5, 7, 9, 11)
_SHARP_ORDER = "FCGDAEB"
MAX_VOICES = 4


def key_alterations(sharps: int) -> dict[str, int]:
    """Letter -> alteration the key signature gives it (+1 sharp, -1 flat)."""
    out = dict.fromkeys(LETTERS, 0)
    if sharps > 0:
        for letter in _SHARP_ORDER[:sharps]:
            out[letter] = 1
    elif sharps < 0:
        for letter in reversed(_SHARP_ORDER[sharps:]):
            out[letter] = -1
    return out


@dataclass(frozen=True, slots=True)
class Spelling:
    step: str  # C..B
    alter: int  # -2..2
    octave: int

    @property
    def midi(self) -> int:
        return 12 * (self.octave + 1) + LETTER_PC[LETTERS.index(self.step)] + self.alter


def _written_pitch(pitch) -> Spelling:
    """The spelling a MusicXML ``<pitch>`` element writes (missing parts as MusicXML's defaults)."""
    return Spelling((pitch.findtext("step") or "C").strip(), round(float(pitch.findtext("alter") or 0)),
                    int(pitch.findtext("octave") or 4))


def _with_octave(midi: int, step: str, alter: int) -> Spelling:
    base = midi - alter - LETTER_PC[LETTERS.index(step)]
    return Spelling(step, alter, base // 12 - 1)


def spell(midi: int, key: KeySignature | None, direction: int = 0) -> Spelling:
    """The spelling of ``midi`` in ``key`` (C major when None); ``direction`` is where the line
    goes next (+1 up, -1 down, 0 unknown). See the module docstring for the rules."""
    sharps = key.sharps if key is not None else 0
    tonic = key.tonic if key is not None else 0
    minor = key is not None and key.mode == "minor"
    alters = key_alterations(sharps)
    pc = midi % 12
    raise_to = lower_to = None
    for i, letter in enumerate(LETTERS):
        natural = (LETTER_PC[i] + alters[letter]) % 12
        if natural == pc:
            return _with_octave(midi, letter, alters[letter])
        if (natural + 1) % 12 == pc:
            raise_to = (letter, alters[letter] + 1)
        if (natural - 1) % 12 == pc:
            lower_to = (letter, alters[letter] - 1)
    degree = (pc - tonic) % 12
    if minor and degree in (4, 9, 11):
        choice = "raise"
    elif not minor and degree in (1, 6):
        choice = "raise"
    elif not minor and degree == 10:
        choice = "lower"
    elif direction:
        choice = "raise" if direction > 0 else "lower"
    else:
        choice = "lower" if sharps < 0 else "raise"
    first, other = (raise_to, lower_to) if choice == "raise" else (lower_to, raise_to)
    if abs(first[1]) > 1 and abs(other[1]) <= 1:
        first = other
    return _with_octave(midi, *first)


# Krumhansl and Kessler's key profiles (1982): how well each pitch class fits a major / minor key.
_MAJOR_PROFILE = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
_MINOR_PROFILE = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)


def estimate_key(notes: Iterable[Note]) -> KeySignature | None:
    """The key whose profile correlates best with the notes' duration-weighted pitch classes
    (the Krumhansl-Schmuckler method); None without notes. Used to spell a song that has no key
    signature; it is never written as one."""
    weights = [0.0] * 12
    for n in notes:
        weights[n.pitch % 12] += max(1, n.duration)
    total = sum(weights)
    if not total:
        return None
    mean_w = total / 12

    def corr(profile, tonic):
        rotated = [profile[(pc - tonic) % 12] for pc in range(12)]
        mean_p = sum(rotated) / 12
        num = sum((w - mean_w) * (p - mean_p) for w, p in zip(weights, rotated))
        den = (sum((w - mean_w) ** 2 for w in weights) * sum((p - mean_p) ** 2 for p in rotated)) ** 0.5
        return num / den if den else 0.0

    best = max(((corr(_MAJOR_PROFILE, t), t, "major") for t in range(12)),
               key=lambda c: c[0])
    best_minor = max(((corr(_MINOR_PROFILE, t), t, "minor") for t in range(12)), key=lambda c: c[0])
    score, tonic, mode = max(best, best_minor, key=lambda c: c[0])
    return KeySignature(0, tonic, mode)


def line_directions(notes: Iterable[Note]) -> dict[Note, int]:
    """For each note, where the music goes next: the sign of the step to the nearest pitch among
    the notes that start next (0 for the last notes)."""
    by_start: dict[int, list[int]] = defaultdict(list)
    notes = list(notes)
    for n in notes:
        by_start[n.start].append(n.pitch)
    starts = sorted(by_start)
    following = {a: by_start[b] for a, b in zip(starts, starts[1:])}
    out = {}
    for n in notes:
        nxt = following.get(n.start)
        if not nxt:
            out[n] = 0
            continue
        target = min(nxt, key=lambda p: (abs(p - n.pitch), p))
        out[n] = (target > n.pitch) - (target < n.pitch)
    return out


# --- clefs and staves ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Clef:
    name: str  # treble, bass, tenor, treble8vb, percussion
    sign: str
    line: int
    octave_change: int = 0
    bottom: int = 0  # diatonic index (7 per octave, C-1 = 0) of the bottom and top staff lines
    top: int = 0


def _diatonic(step: str, octave: int) -> int:
    return (octave + 1) * 7 + LETTERS.index(step)


CLEFS = {
    "treble": Clef("treble", "G", 2, 0, _diatonic("E", 4), _diatonic("F", 5)),
    "bass": Clef("bass", "F", 4, 0, _diatonic("G", 2), _diatonic("A", 3)),
    "tenor": Clef("tenor", "C", 4, 0, _diatonic("D", 3), _diatonic("E", 4)),
    "treble8vb": Clef("treble8vb", "G", 2, -1, _diatonic("E", 3), _diatonic("F", 4)),
    "percussion": Clef("percussion", "percussion", 2),
}

KEYBOARD_PROGRAMS = frozenset(range(0, 8)) | frozenset(range(16, 24)) | {46}  # pianos, organs, harp
TENOR_CLEF_PROGRAMS = frozenset({42, 57, 70})  # cello, trombone, bassoon
GRAND_SPLIT = 60  # middle C and above: upper staff
_NATURAL_STEP = (0, 0, 1, 1, 2, 3, 3, 4, 4, 5, 5, 6)  # pitch class -> letter index (sharps)


def _ledger_cost(pitches: list[int], clef: Clef) -> int:
    """Diatonic steps outside the staff, summed over the notes: how much reading the clef costs."""
    cost = 0
    for p in pitches:
        d = (p // 12) * 7 + _NATURAL_STEP[p % 12]
        cost += max(0, clef.bottom - d, d - clef.top)
    return cost


@dataclass(frozen=True, slots=True)
class Staff:
    clef: Clef
    notes: tuple[Note, ...]


def choose_staves(track: Track) -> tuple[Staff, ...]:
    """The staves (one, or two for a grand staff) and their clefs for ``track``."""
    notes = track.notes
    if track.is_drum:
        return (Staff(CLEFS["percussion"], notes),)
    pitches = [n.pitch for n in notes]
    if not pitches:
        return (Staff(CLEFS["treble"], notes),)
    options = ["treble", "bass"]
    if track.program in TENOR_CLEF_PROGRAMS:  # read in bass and tenor clef; treble only when high
        options = ["bass", "tenor"] + (["treble"] if statistics.median(pitches) > 67 else [])
    if "tenor" in track.name.lower():
        options.append("treble8vb")
    costs = {name: _ledger_cost(pitches, CLEFS[name]) for name in options}
    costs = {name: c + (len(pitches) * 0.25 if name in ("tenor", "treble8vb") and c else 0) for name, c in costs.items()}
    best = min(options, key=lambda name: (costs[name], options.index(name)))
    upper = [n for n in notes if n.pitch >= GRAND_SPLIT]
    lower = [n for n in notes if n.pitch < GRAND_SPLIT]
    both = min(len(upper), len(lower)) >= max(1, len(notes) // 20)
    if both:
        grand = _ledger_cost([n.pitch for n in upper], CLEFS["treble"]) + _ledger_cost(
            [n.pitch for n in lower], CLEFS["bass"])
        keyboard = track.program in KEYBOARD_PROGRAMS
        spread = statistics.pstdev(pitches) if len(pitches) > 1 else 0.0
        if (keyboard and spread > 4) or costs[best] > grand + 2 * len(pitches):
            return Staff(CLEFS["treble"], tuple(upper)), Staff(CLEFS["bass"], tuple(lower))
    return (Staff(CLEFS[best], notes),)


def pedal_spans(track: Track, end: int) -> tuple[tuple[int, int], ...]:
    """(down, up) ticks of each time the track's sustain pedal is held (a pedal never released
    is released at ``end``)."""
    spans, down = [], None
    for c in track.controls_of(64):
        if c.value >= 64 and down is None:
            down = c.tick
        elif c.value < 64 and down is not None:
            if c.tick > down:
                spans.append((down, c.tick))
            down = None
    if down is not None and end > down:
        spans.append((down, end))
    return tuple(spans)


# --- voices ----------------------------------------------------------------------------------------
Chord = tuple[int, int, list[Note]]  # start, end, notes


def limit_voices(notes: Iterable[Note], max_voices: int = MAX_VOICES) -> tuple[list[list[Chord]], int, int]:
    """Chords (same start and end) packed greedily into at most ``max_voices`` voices.

    Returns the voices, how many notes joined a chord starting with them (taking its length) and
    how many notes were shortened to make room; every note is kept."""
    chords: dict[tuple[int, int], list[Note]] = defaultdict(list)
    for n in notes:
        chords[(n.start, n.end)].append(n)
    voices: list[list[list]] = []
    joined = shortened = 0
    for (start, end), members in sorted(chords.items()):
        for voice in voices:
            if voice[-1][1] <= start:
                voice.append([start, end, list(members)])
                break
        else:
            if len(voices) < max_voices:
                voices.append([[start, end, list(members)]])
                continue
            same = [v for v in voices if v[-1][0] == start]
            if same:
                target = same[0][-1]
                have = {m.pitch for m in target[2]}
                target[2].extend(replace(m, duration=target[1] - target[0]) for m in members if m.pitch not in have)
                joined += len(members)
                continue
            voice = min(voices, key=lambda v: (v[-1][1], voices.index(v)))
            last = voice[-1]
            if last[0] < start:
                last[1] = start
                last[2] = [replace(m, duration=start - last[0]) for m in last[2]]
                shortened += len(last[2])
                voice.append([start, end, list(members)])
            else:  # pragma: no cover - a chord starting together joins it above
                last[2].extend(members)
    return [[(s, e, ms) for s, e, ms in v] for v in voices], joined, shortened


def fit_voices(song: Song) -> tuple[Song, list[str]]:
    """The song with every staff's notes fitting :data:`MAX_VOICES` voices (see
    :func:`limit_voices`), and a sentence per track that had to change."""
    tracks, report = [], []
    for index, track in enumerate(song.tracks):
        out: list[Note] = []
        joined = shortened = 0
        for staff in choose_staves(track):
            voices, j, sh = limit_voices(staff.notes)
            joined, shortened = joined + j, shortened + sh
            out += [m for voice in voices for _s, _e, members in voice for m in members]
        label = f"track {index + 1} ({track.name!r})"
        if joined:
            report.append(f"{label}: {joined} note{'s' if joined != 1 else ''} joined a chord starting with "
                          f"{'them' if joined != 1 else 'it'} (notation shows at most {MAX_VOICES} voices per staff)")
        if shortened:
            report.append(f"{label}: {shortened} note{'s' if shortened != 1 else ''} shortened to make room "
                          f"for a fifth voice (notation shows at most {MAX_VOICES} voices per staff)")
        tracks.append(track.with_notes(out) if joined or shortened else track)
    return replace(song, tracks=tuple(tracks)), report


# --- drums ------------------------------------------------------------------------------------------
GM_DRUM_DISPLAY: dict[int, tuple[str, int, str]] = {
    35: ("E", 4, "normal"), 36: ("F", 4, "normal"),  # bass drums: bottom space / below
    37: ("C", 5, "x"), 38: ("C", 5, "normal"), 39: ("C", 5, "x"), 40: ("C", 5, "normal"),  # snare family
    41: ("G", 4, "normal"), 43: ("A", 4, "normal"),  # floor toms
    45: ("B", 4, "normal"), 47: ("D", 5, "normal"), 48: ("E", 5, "normal"), 50: ("F", 5, "normal"),  # toms
    42: ("G", 5, "x"), 44: ("D", 4, "x"), 46: ("G", 5, "circle-x"),  # hi-hat closed, pedal, open
    49: ("A", 5, "x"), 57: ("A", 5, "x"), 52: ("B", 5, "x"), 55: ("B", 5, "x"),  # crash, china, splash
    51: ("F", 5, "x"), 59: ("F", 5, "x"), 53: ("F", 5, "diamond"),  # ride, ride bell
    54: ("E", 5, "x"), 56: ("E", 5, "triangle"),  # tambourine, cowbell
}
"""GM drum key -> (display step, display octave, notehead) on a percussion staff, after the usual
drum-set notation (kick in the bottom space, snare on the third space, cymbals above the staff
with x noteheads). Other keys sit on C5 with a normal head."""


GM_DRUM_NAMES = dict(enumerate((
    "Acoustic Bass Drum", "Bass Drum 1", "Side Stick", "Acoustic Snare", "Hand Clap", "Electric Snare",
    "Low Floor Tom", "Closed Hi-Hat", "High Floor Tom", "Pedal Hi-Hat", "Low Tom", "Open Hi-Hat",
    "Low-Mid Tom", "Hi-Mid Tom", "Crash Cymbal 1", "High Tom", "Ride Cymbal 1", "Chinese Cymbal",
    "Ride Bell", "Tambourine", "Splash Cymbal", "Cowbell", "Crash Cymbal 2", "Vibraslap", "Ride Cymbal 2",
    "Hi Bongo", "Low Bongo", "Mute Hi Conga", "Open Hi Conga", "Low Conga", "High Timbale", "Low Timbale",
    "High Agogo", "Low Agogo", "Cabasa", "Maracas", "Short Whistle", "Long Whistle", "Short Guiro",
    "Long Guiro", "Claves", "Hi Wood Block", "Low Wood Block", "Mute Cuica", "Open Cuica", "Mute Triangle",
    "Open Triangle"), start=35))
"""General MIDI percussion key -> sound name (keys 35..81)."""


def drum_name(key: int) -> str:
    return GM_DRUM_NAMES.get(key, f"Drum {key}")


def drum_display(key: int) -> tuple[str, int, str]:
    return GM_DRUM_DISPLAY.get(key, ("C", 5, "normal"))


# --- accidentals --------------------------------------------------------------------------------------
_ACCIDENTAL_NAMES = {-2: "flat-flat", -1: "flat", 0: "natural", 1: "sharp", 2: "double-sharp"}


_NOTE_ORDER = ("grace", "cue", "chord", "pitch", "unpitched", "rest", "duration", "tie", "instrument", "footnote",
               "level", "voice", "type", "dot", "accidental", "time-modification", "stem", "notehead",
               "notehead-text", "staff", "beam", "notations", "lyric", "play", "listen")


def _insert_in_order(parent, child) -> None:
    """Insert ``child`` into a MusicXML ``<note>`` where the schema's order puts it."""
    rank = _NOTE_ORDER.index(child.tag)
    children = list(parent)
    index = next((i for i, c in enumerate(children) if c.tag in _NOTE_ORDER and _NOTE_ORDER.index(c.tag) > rank),
                 len(children))
    parent.insert(index, child)


def unpitch_drums(root, score_part, part, part_id: str, channel: int, program: int = 0) -> int:
    """Turn a drum part's pitched notes (GM keys as pitches) into unpitched notes at the drum-set
    display positions, each naming its sound through a score instrument with ``midi-unpitched``.
    Returns how many notes were turned."""
    import xml.etree.ElementTree as ET

    used: dict[int, str] = {}
    count = 0
    for note in part.iter("note"):
        pitch = note.find("pitch")
        if pitch is None:
            continue
        midi = _written_pitch(pitch).midi
        d_step, d_octave, head = drum_display(midi)
        unpitched = ET.Element("unpitched")
        ET.SubElement(unpitched, "display-step").text = d_step
        ET.SubElement(unpitched, "display-octave").text = str(d_octave)
        note.insert(list(note).index(pitch), unpitched)
        note.remove(pitch)
        for acc in note.findall("accidental"):
            note.remove(acc)
        inst_id = used.setdefault(midi, f"{part_id}-I{midi + 1}")
        _insert_in_order(note, ET.Element("instrument", id=inst_id))
        if head != "normal":
            nh = ET.Element("notehead")
            nh.text = head
            _insert_in_order(note, nh)
        count += 1
    if not used:
        return 0
    for tag in ("score-instrument", "midi-instrument"):
        for old in score_part.findall(tag):
            score_part.remove(old)
    for midi, inst_id in sorted(used.items()):
        si = ET.SubElement(score_part, "score-instrument", id=inst_id)
        ET.SubElement(si, "instrument-name").text = drum_name(midi)
    for midi, inst_id in sorted(used.items()):
        mi = ET.SubElement(score_part, "midi-instrument", id=inst_id)
        ET.SubElement(mi, "midi-channel").text = str(channel + 1)
        ET.SubElement(mi, "midi-program").text = str(program + 1)  # the kit (GM2/GS drum sets)
        ET.SubElement(mi, "midi-unpitched").text = str(midi + 1)
    return count


def renumber_voices(part) -> None:
    """Number the voices of each bar 1-4 on the first staff and 5-8 on the second, keeping their
    order (music21 shifts a lower staff's voices when the upper one has a single voice, and
    MuseScore then finds "too many voices")."""
    for measure in part.iter("measure"):
        used: dict[int, set[int]] = defaultdict(set)
        notes = [n for n in measure.iter("note") if n.find("voice") is not None]
        for n in notes:
            text = (n.findtext("voice") or "").strip()
            if text.isdigit():
                used[int(n.findtext("staff") or 1)].add(int(text))
        mapping = {(staff, v): str(i + 1 + MAX_VOICES * (staff - 1)) for staff, vs in used.items()
                   for i, v in enumerate(sorted(vs))}
        for n in notes:
            el = n.find("voice")
            text = (el.text or "").strip()
            if text.isdigit():
                el.text = mapping.get((int(n.findtext("staff") or 1), int(text)), text)


def mark_accidentals(root) -> int:
    """Rewrite every ``<accidental>`` of a partwise MusicXML tree (ElementTree) so that exactly
    the notes that need a sign carry one; returns how many do."""
    import xml.etree.ElementTree as ET

    shown = 0
    for part in root.iter("part"):
        fifths = 0
        for measure in part.iter("measure"):
            state: dict[tuple[str, int, int], int] = {}  # (staff, step, octave) -> alteration in force
            timed = []
            pos = 0
            last_start = 0
            order = 0
            for el in measure:
                if el.tag == "attributes":
                    f = el.find("key/fifths")
                    if f is not None and (f.text or "").strip().lstrip("-").isdigit():
                        fifths = int(f.text)
                elif el.tag == "backup":
                    pos -= int(el.findtext("duration") or 0)
                elif el.tag == "forward":
                    pos += int(el.findtext("duration") or 0)
                elif el.tag == "note":
                    duration = int(el.findtext("duration") or 0)
                    if el.find("chord") is not None:
                        start = last_start
                    else:
                        start, last_start = pos, pos
                        if el.find("grace") is None:
                            pos += duration
                    timed.append((start, order, el, fifths))
                    order += 1
            for _start, _order, note, key_fifths in sorted(timed, key=lambda t: (t[0], t[1])):
                for old in note.findall("accidental"):
                    note.remove(old)
                pitch = note.find("pitch")
                if pitch is None:
                    continue
                written = _written_pitch(pitch)
                step, alter, octave = written.step, written.alter, written.octave
                staff = int(note.findtext("staff") or 1)
                slot = (staff, step, octave)
                expected = state.get(slot, key_alterations(max(-7, min(7, key_fifths)))[step])
                tied = any(t.get("type") == "stop" for t in note.findall("tie"))
                if tied:
                    continue  # a tied continuation repeats its note's sign, which never shows
                if alter != expected and alter in _ACCIDENTAL_NAMES:
                    acc = ET.Element("accidental")
                    acc.text = _ACCIDENTAL_NAMES[alter]
                    _insert_in_order(note, acc)
                    shown += 1
                state[slot] = alter
    return shown
