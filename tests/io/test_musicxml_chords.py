"""MusicXML chord symbols: the song's chord track is exported as <harmony> symbols over the melody,
a real lead sheet survives import -> export -> import, the band's comping is written as its part
and as the symbols inferred per chord slot, and MuseScore 3 reads the symbols we write."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from gtzcomposer.core import Note, Song, TimeSignature, Track, new_track
from gtzcomposer.core.chords import (
    MUSICXML_KINDS,
    QUALITIES,
    SYMBOL_SUFFIXES,
    Chord,
    chord_track_index,
    chords_from_notes,
    is_chord_track_name,
    parse_symbol,
    slot_spans,
)
from gtzcomposer.core.timing import iter_bars
from gtzcomposer.io.musicxml import musicxml_to_song, notation_song, song_to_musicxml

BAR = 1920
# real lead sheets: slash basses (29 of 79 symbols), triplets and sus chords, a chord repeated inside a bar
LEAD_SHEETS = [
    "Al_Dubin-Fred_Rath-Jos_Garren/Just_a_Girl_That_Men_Forget/Just_a_Girl_That_Men_Forget.mxl",
    "Al_Dubin-Harry_Warren/I_Only_Have_Eyes_for_You/I_Only_Have_Eyes_for_You.mxl",
    "Abe_Olman-Ed_Rose/Oh_Johnny,_oh_Johnny,_Oh!/Oh_Johnny,_oh_Johnny,_Oh!.mxl",
]


def lead_sheet(shared_data: Path, rel: str) -> Path:
    path = shared_data / "openewld" / "dataset" / rel
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    return path


def harmonies(path: Path) -> list[tuple[str, int, str, str | None, str | None]]:
    """(part id, measure number, kind, root + alter, bass + alter) of every <harmony>, in order."""
    import zipfile

    data = path.read_bytes()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(path) as zf:
            data = zf.read(next(n for n in zf.namelist() if n.endswith(("xml", "musicxml")) and "META" not in n))
    root = ET.fromstring(data)
    out = []

    def step(h, tag):
        el = h.find(tag)
        if el is None:
            return None
        alter = el.findtext(f"{tag}-alter") or "0"
        return el.findtext(f"{tag}-step") + {"-1": "b", "0": "", "1": "#", "-2": "bb", "2": "##"}[alter.strip()]

    for part in root.iter("part"):
        for m in part.iter("measure"):
            for h in m.iter("harmony"):
                out.append((part.get("id"), int(m.get("number")), h.findtext("kind"), step(h, "root"),
                            step(h, "bass")))
    return out


def chords_per_bar(song: Song) -> list[list[Chord | None]]:
    """The chords of the song's chord track in each bar, read from its notes with the project's own
    inference per beat (what the melody generator reads)."""
    track = song.tracks[chord_track_index(song)]
    out = []
    for bar in iter_bars(song, track.end_tick - 1):
        beats = [(t, t + bar.beat_ticks) for t in range(bar.start, bar.end, bar.beat_ticks)]
        out.append([s.chord for s in chords_from_notes(track.notes, beats)])
    return out


def blocks(chords, bar=BAR) -> tuple[Note, ...]:
    """A lead sheet's Chords track as the importer voices symbols: one block per bar, root at 48 +
    pitch class, a slash bass at 36 + its pitch class; ``None`` a bar of "N.C."."""
    notes = []
    for i, item in enumerate(chords):
        if item is None:
            continue
        chord, bass = item if isinstance(item, tuple) else (item, None)
        if bass is not None:
            notes.append(Note(i * bar, 36 + bass, bar, 70))
        notes += [Note(i * bar, 48 + chord.root + iv, bar, 70) for iv in chord.intervals]
    return tuple(notes)


# --- a real lead sheet: import -> export -> import -----------------------------------------------------------
@pytest.mark.parametrize("rel", LEAD_SHEETS)
def test_openewld_lead_sheet_keeps_its_chords_through_export_and_import(tmp_path, shared_data, rel):
    src = lead_sheet(shared_data, rel)
    first = musicxml_to_song(src)
    ci = chord_track_index(first)
    assert ci is not None and first.tracks[ci].name == "Chords"
    out = tmp_path / "ours.musicxml"
    song_to_musicxml(first, out)
    again = musicxml_to_song(out)

    # same Chords track, not doubled; the melody is the same notation
    assert [t.name for t in again.tracks] == [t.name for t in first.tracks]
    assert sum(is_chord_track_name(t.name) for t in again.tracks) == 1
    assert again.tracks[chord_track_index(again)].notes == first.tracks[ci].notes
    assert len(chords_per_bar(first)) > 16
    assert chords_per_bar(again) == chords_per_bar(first)
    assert again.tracks[0].notes == notation_song(first)[0].tracks[0].notes

    # a lead sheet stays a lead sheet: one part, the symbols on it, no Chords staff
    root = ET.parse(out).getroot()
    assert [sp.findtext("part-name") for sp in root.iter("score-part")] == [first.tracks[0].name]
    assert {h[0] for h in harmonies(out)} == {"P1"}
    assert {h[2] for h in harmonies(out)} <= set(MUSICXML_KINDS.values())
    # every symbol of the original, as music21 reads both files: same place, chord and slash bass
    ours, theirs = read_symbols(out), read_symbols(src)
    assert ours == theirs and len(ours) > 25
    if "Just_a_Girl" in rel:
        assert sum(bass is not None for _t, _c, bass in ours) >= 20  # slash basses are written


def read_symbols(path: Path) -> list[tuple[int, Chord, int | None]]:
    """(tick, chord of the vocabulary, slash bass pitch class) of each readable symbol, as music21
    reads the file; of two symbols at one tick the later one (the one that sounds)."""
    import zipfile

    from music21 import converter, harmony

    data = path.read_bytes()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(path) as zf:
            data = zf.read(next(n for n in zf.namelist() if n.endswith(("xml", "musicxml")) and "META" not in n))
    score = converter.parse(data, format="musicxml")
    part = next(p for p in score.parts if p.recurse().getElementsByClass(harmony.ChordSymbol))
    out: dict[int, tuple[Chord, int | None] | None] = {}
    for h in part.recurse().getElementsByClass(harmony.ChordSymbol):
        tick = round(float(h.getOffsetInHierarchy(part)) * 480)
        chord = None
        if not isinstance(h, harmony.NoChord):
            try:
                chord = parse_symbol(f"{h.root().name.replace('-', 'b')}:{h.chordKind}")
            except Exception:  # noqa: BLE001 - the importer leaves unreadable symbols out too
                chord = None
        bass = h.bass().pitchClass if chord is not None and h.bass() is not None else None
        out[tick] = None if chord is None else (chord, bass if bass != chord.root else None)
    return [(t, *v) for t, v in sorted(out.items()) if v is not None]


# --- every quality of the vocabulary ----------------------------------------------------------------------------
def test_every_quality_of_the_vocabulary_survives_export_and_import(tmp_path):
    qualities = list(QUALITIES)
    chords: list = [Chord((5 * i) % 12, q) for i, q in enumerate(qualities)]  # roots around the circle
    chords += [(Chord(0, "maj"), 4), (Chord(2, "min7"), 0), None, (Chord(7, "7"), 2)]  # C/E, Dm7/C, N.C., G7/D
    bars = len(chords)
    melody = tuple(Note(i * 480, 72 + (i % 5), 480, 90) for i in range(bars * 4))
    song = Song(tracks=(Track(name="Melody", notes=melody), new_track(1, name="Chords", notes=blocks(chords))),
                time_signatures=(TimeSignature(0, 4, 4),))
    out = tmp_path / "all.musicxml"
    song_to_musicxml(song, out)

    hs = harmonies(out)
    written = [h for h in hs if h[2] != "none"]
    expected = [c if isinstance(c, Chord) else c[0] for c in chords if c is not None]
    assert [h[2] for h in written] == [MUSICXML_KINDS[c.quality] for c in expected]
    assert [parse_symbol(f"{h[3]}:{h[2]}") for h in written] == expected
    assert [h[4] for h in written][-3:] == ["E", "C", "D"]  # the slash basses, spelt in C major
    assert [h[1] for h in hs if h[2] == "none"] == [bars - 1]  # the N.C. bar
    texts = [h.find("kind").get("text", "") for h in ET.parse(out).getroot().iter("harmony") if h.findtext("kind") != "none"]
    assert texts == [SYMBOL_SUFFIXES[c.quality] for c in expected]

    again = musicxml_to_song(out)
    assert [t.name for t in again.tracks] == ["Melody", "Chords"]
    assert again.tracks[1].notes == song.tracks[1].notes
    assert len(list(ET.parse(out).getroot().iter("score-part"))) == 1  # symbols only


def test_roots_are_spelt_in_the_key(tmp_path):
    """In E major the chord on pitch class 3 is D#m7b5 and the one on 8 is G#m, not Eb and Ab."""
    from gtzcomposer.core import KeySignature

    chords = [Chord(4, "maj"), Chord(3, "hdim7"), Chord(8, "min"), Chord(11, "7")]
    song = Song(tracks=(Track(name="Melody", notes=tuple(Note(i * BAR, 76, BAR, 90) for i in range(4))),
                        new_track(1, name="Chords", notes=blocks(chords))),
                key_signatures=(KeySignature.from_sharps(0, 4, False),))
    out = tmp_path / "e.musicxml"
    song_to_musicxml(song, out)
    assert [h[3] for h in harmonies(out)] == ["E", "D#", "G#", "B"]


def test_slash_basses_are_spelt_as_the_chord_tone_they_are(tmp_path):
    """In G major: Cm/Eb (not Cm/D#), D7/F#, E7/G#, Cdim7/A, Bbaug/F# (the augmented 5th), and
    a bass outside the chord in the key: C/D."""
    from gtzcomposer.core import KeySignature

    chords = [(Chord(0, "min"), 3), (Chord(2, "7"), 6), (Chord(4, "7"), 8), (Chord(0, "dim7"), 9),
              (Chord(10, "aug"), 6), (Chord(0, "maj"), 2)]
    song = Song(tracks=(Track(name="Melody", notes=tuple(Note(i * BAR, 79, BAR, 90) for i in range(6))),
                        new_track(1, name="Chords", notes=blocks(chords))),
                key_signatures=(KeySignature.from_sharps(0, 1, False),))
    out = tmp_path / "g.musicxml"
    song_to_musicxml(song, out)
    assert [f"{h[3]}/{h[4]}" for h in harmonies(out)] == ["C/Eb", "D/F#", "E/G#", "C/A", "Bb/F#", "C/D"]
    assert musicxml_to_song(out).tracks[1].notes == song.tracks[1].notes


# --- comping from the band: part and symbols -------------------------------------------------------------------
needs_mma = pytest.mark.skipif(shutil.which("mma") is None,
                               reason="the program mma (Debian package mma) is not installed")


@needs_mma
def test_band_comping_exports_its_part_and_the_chords_inferred_per_slot(tmp_path, shared_data):
    from music21 import converter, harmony

    from gtzcomposer.ml.band import play_band, with_band

    src = lead_sheet(shared_data, "Al_Dubin-Harry_Warren/September_in_the_Rain/September_in_the_Rain.mxl")  # 4/4
    sheet = musicxml_to_song(src)
    ci = chord_track_index(sheet)
    bars = 8
    prog = chords_from_notes(sheet.tracks[ci].notes, slot_spans(sheet, 0, bars * BAR))
    melody_only = Song(tracks=(sheet.tracks[0],), tempos=sheet.tempos, time_signatures=sheet.time_signatures,
                       key_signatures=sheet.key_signatures, title=sheet.title)
    take = play_band(melody_only, [prog], "jazz", ["chords", "bass"], 0, bars * BAR, seed=3)[0]
    song = with_band(melody_only, take)
    names = [t.name for t in song.tracks]
    assert "Chords" in names and "Bass" in names
    comp = song.tracks[chord_track_index(song)]
    assert len({n.start for n in comp.notes}) > 2 * bars  # comping, not one block per chord

    out = tmp_path / "band.musicxml"
    song_to_musicxml(song, out)
    notated, _ = notation_song(song)
    ncomp = notated.tracks[chord_track_index(notated)]
    expected = [s for s in chords_from_notes(ncomp.notes, slot_spans(notated, 0, ncomp.end_tick))]
    while expected and expected[0].chord is None:
        expected.pop(0)

    score = converter.parse(str(out))
    symbols = []
    for part in score.parts:
        for h in part.recurse().getElementsByClass(harmony.ChordSymbol):
            tick = round(float(h.getOffsetInHierarchy(part)) * 480)
            chord = None if isinstance(h, harmony.NoChord) else parse_symbol(f"{h.root().name.replace('-', 'b')}:"
                                                                             f"{h.chordKind}")
            symbols.append((part.partName, tick, chord))
    assert {p for p, _t, _c in symbols} == {names[0]}  # over the melody only
    assert [(t, c) for _p, t, c in symbols] == [(s.start, s.chord) for s in expected]
    assert len(expected) >= bars  # the progression changes at least once a bar

    # the comping is its own part too, and reading the file back makes no second chord track
    root = ET.parse(out).getroot()
    assert [sp.findtext("part-name") for sp in root.iter("score-part")] == names
    again = musicxml_to_song(out)
    assert [t.name for t in again.tracks] == names
    assert again.tracks[chord_track_index(again)].notes == ncomp.notes


def test_a_chord_track_named_harmony_is_not_doubled_on_import(tmp_path):
    chords = [Chord(0, "maj"), Chord(9, "min"), Chord(5, "maj"), Chord(7, "7")]
    song = Song(tracks=(Track(name="Melody", notes=tuple(Note(i * BAR, 72, BAR, 90) for i in range(4))),
                        new_track(1, name="Harmony", notes=blocks(chords))))
    out = tmp_path / "h.musicxml"
    song_to_musicxml(song, out)
    assert [h[3] + ":" + h[2] for h in harmonies(out)] == ["C:major", "A:minor", "F:major", "G:dominant"]
    again = musicxml_to_song(out)
    assert [t.name for t in again.tracks] == ["Melody", "Harmony"]  # the part, and no Chords from its symbols
    assert again.tracks[1].notes == song.tracks[1].notes


def test_a_chord_track_alone_carries_its_own_symbols(tmp_path):
    chords = [Chord(2, "min7"), Chord(7, "7"), Chord(0, "maj7")]
    song = Song(tracks=(new_track(0, name="Chords", notes=blocks(chords)),))
    out = tmp_path / "alone.musicxml"
    song_to_musicxml(song, out)
    assert [(h[0], h[2]) for h in harmonies(out)] == [("P1", "minor-seventh"), ("P1", "dominant"),
                                                       ("P1", "major-seventh")]
    again = musicxml_to_song(out)
    assert [t.name for t in again.tracks] == ["Chords"] and again.tracks[0].notes == song.tracks[0].notes


def test_songs_without_a_chord_track_write_no_symbols(tmp_path):
    song = Song(tracks=(Track(name="Piano", notes=blocks([Chord(0, "maj"), Chord(7, "7")])),))
    out = tmp_path / "plain.musicxml"
    song_to_musicxml(song, out)
    assert harmonies(out) == []
    assert [t.name for t in musicxml_to_song(out).tracks] == ["Piano"]


# --- MuseScore 3 reads our symbols -------------------------------------------------------------------------------
MSCORE = shutil.which("mscore3") or shutil.which("musescore3")


@pytest.mark.skipif(MSCORE is None, reason="MuseScore 3 (mscore3) is not installed; scripts/install.sh --dev installs it")
@pytest.mark.parametrize("target", ["musicxml", "mscx"])
def test_musescore_reads_our_chord_symbols(tmp_path, shared_data, target):
    from tests.io.test_engraving import mscore

    first = musicxml_to_song(lead_sheet(shared_data, LEAD_SHEETS[0]))
    ours = tmp_path / "ours.musicxml"
    song_to_musicxml(first, ours)
    theirs = tmp_path / f"theirs.{target}"
    mscore(ours, theirs)
    mine = harmonies(ours)
    assert len(mine) > 50
    if target == "musicxml":
        # MuseScore writes back every symbol, in the same measures, with the same root, kind and bass
        back = harmonies(theirs)
        assert [(m, parse_symbol(f"{r}:{k}"), b) for _p, m, k, r, b in back] == \
               [(m, parse_symbol(f"{r}:{k}"), b) for _p, m, k, r, b in mine]
        again = musicxml_to_song(theirs)
        assert again.tracks[chord_track_index(again)].notes == first.tracks[chord_track_index(first)].notes
    else:
        # its own score: one Harmony per symbol, named as we name them, the root and the slash bass
        # as tonal pitch classes (14 = C, one more per fifth up)
        root = ET.parse(theirs).getroot()
        found = list(root.iter("Harmony"))
        assert len(found) == len(mine)
        suffix = {v: SYMBOL_SUFFIXES[q] for q, v in MUSICXML_KINDS.items()}
        assert [h.findtext("name") or "" for h in found] == [suffix[k] for _p, _m, k, _r, _b in mine]

        def pc(tpc):
            return None if tpc is None else 7 * (int(tpc) - 14) % 12

        def letter(name):
            return None if name is None else parse_symbol(f"{name}:major").root

        assert [(pc(h.findtext("root")), pc(h.findtext("base"))) for h in found] == \
               [(letter(r), letter(b)) for _p, _m, _k, r, b in mine]
        assert sum(h.find("base") is not None for h in found) >= 20


def test_symbols_sit_over_the_top_staff_of_a_grand_staff_melody(tmp_path):
    chords = [Chord(0, "maj"), Chord(9, "min"), Chord(2, "min7"), Chord(7, "7")]
    piano = tuple([Note(i * 480, 72 + i % 3, 480, 90) for i in range(16)] +
                  [Note(i * 960, 40 + i % 4, 960, 80) for i in range(8)])
    song = Song(tracks=(Track(name="Piano", notes=piano), new_track(1, name="Chords", notes=blocks(chords))))
    out = tmp_path / "gs.musicxml"
    song_to_musicxml(song, out)
    root = ET.parse(out).getroot()
    assert root.findtext(".//staves") == "2"
    assert [(h.findtext("root/root-step"), h.findtext("kind"), h.findtext("staff")) for h in root.iter("harmony")] == \
           [("C", "major", "1"), ("A", "minor", "1"), ("D", "minor-seventh", "1"), ("G", "dominant", "1")]
    again = musicxml_to_song(out)
    assert [t.name for t in again.tracks] == ["Piano", "Chords"]
    assert again.tracks[0].notes == song.tracks[0].notes and again.tracks[1].notes == song.tracks[1].notes


def test_an_mxl_with_a_broken_container_description_is_read_from_its_score(tmp_path):
    """OpenEWLD writes full-path='Sweet Adeline's.xml' (not well-formed XML): the score is still read."""
    import zipfile

    song = Song(tracks=(Track(name="Melody", notes=tuple(Note(i * 480, 60 + i, 480, 90) for i in range(8))),))
    plain = tmp_path / "s.musicxml"
    song_to_musicxml(song, plain)
    mxl = tmp_path / "broken.mxl"
    with zipfile.ZipFile(mxl, "w") as zf:
        zf.writestr("META-INF/container.xml", "<?xml version='1.0'?><container><rootfiles>"
                                              "<rootfile full-path='Sweet Adeline's.xml'/></rootfiles></container>")
        zf.writestr("Sweet Adeline's.xml", plain.read_bytes())
    assert musicxml_to_song(mxl).tracks[0].notes == song.tracks[0].notes
