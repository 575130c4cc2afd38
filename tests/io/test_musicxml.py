"""MusicXML export/import through music21: quantised songs survive; the rest is quantised and said so."""

from __future__ import annotations

import io
import logging
import random
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtzcomposer.core import PPQ, GtzError, KeySignature, Note, Song, TempoChange, TimeSignature, new_track
from gtzcomposer.io.musicxml import (
    MusicXMLError,
    musicxml_to_song,
    notation_song,
    quantize_for_notation,
    song_to_musicxml,
)
from tests.helpers import melody_song, notes, two_track_song

music21 = pytest.importorskip("music21")
CORPUS = Path(music21.__file__).parent / "corpus"


def roundtrip(song: Song, tmp_path, ext=".musicxml") -> tuple[Song, list[str]]:
    path = tmp_path / f"song{ext}"
    messages = song_to_musicxml(song, path)
    return musicxml_to_song(path), messages


def assert_same_music(back: Song, expected: Song) -> None:
    """Pitches, onsets, durations, velocities, parts, instruments, tempo, meter and key."""
    assert len(back.tracks) == len(expected.tracks)
    for b, e in zip(back.tracks, expected.tracks):
        assert (b.name, b.program, b.channel, b.is_drum) == (e.name, e.program, e.channel, e.is_drum)
        assert b.notes == e.notes, b.name
    assert back.time_signatures == expected.time_signatures
    assert back.key_signatures == expected.key_signatures
    assert [round(t.bpm, 2) for t in back.tempos] == [round(t.bpm, 2) for t in expected.tempos]
    assert [t.tick for t in back.tempos] == [t.tick for t in expected.tempos]
    assert back.title == expected.title


@pytest.mark.parametrize("ext", [".musicxml", ".xml", ".mxl"])
def test_quantised_song_roundtrips_in_every_container(tmp_path, ext):
    song = two_track_song()
    song = song.with_track(2, song.tracks[2].with_notes(notes((36, 0, 120), (38, 480, 120), (42, 240, 120, 70), (36, 960, 120))))
    back, messages = roundtrip(song, tmp_path, ext)
    assert messages == []
    assert_same_music(back, song)
    assert back.tracks[2].is_drum and back.tracks[2].channel == 9
    if ext == ".mxl":
        with zipfile.ZipFile(tmp_path / "song.mxl") as zf:
            assert zf.namelist()[0] == "mimetype" and "META-INF/container.xml" in zf.namelist()
    else:
        text = (tmp_path / f"song{ext}").read_text("utf-8")
        assert "<score-partwise" in text and "<!DOCTYPE score-partwise" in text and 'id="P1"' in text
        assert "<midi-channel>10</midi-channel>" in text and "<midi-program>74</midi-program>" in text


def test_voices_chords_ties_triplets_and_meter_changes(tmp_path):
    lead = new_track(0, "Lead", program=40, notes=notes(
        (60, 0, 1920), (64, 0, 480), (67, 480, 160), (69, 640, 160), (71, 800, 160),  # a held note under triplets
        (72, 960, 2400),  # tied across the bar line and beyond
        (60, 3360, 360, 50), (64, 3360, 360, 50), (67, 3360, 360, 50),  # a chord
        (62, 3720, 120, 90)))
    bass = new_track(1, "Bass", program=33, notes=notes((36, 0, 720), (36, 720, 720), (43, 1440, 2880)))
    song = Song(tracks=(lead, bass), tempos=(TempoChange.from_bpm(0, 90), TempoChange.from_bpm(1920, 132)),
                time_signatures=(TimeSignature(0, 4, 4), TimeSignature(1920, 6, 8), TimeSignature(3360, 5, 4)),
                key_signatures=(KeySignature(0, 9, "minor"), KeySignature(1920, 4, "major")), title="Voices")
    q, messages = quantize_for_notation(song)
    assert q == song and messages == []
    back, messages = roundtrip(song, tmp_path)
    assert messages == []
    assert_same_music(back, song)


def test_unquantised_material_is_quantised_and_reported(tmp_path, caplog):
    track = new_track(0, "Loose", notes=(
        Note(7, 60, 470), Note(475, 62, 0), Note(960, 64, 10, 40), Note(960, 67, 10, 90),  # chord of mixed velocity
        Note(1445, 65, 150), Note(1600, 65, 170), Note(1770, 67, 150), Note(1450, 65, 100)))  # triplet-ish, duplicate
    song = Song(tracks=(track,), time_signatures=(TimeSignature(0, 4, 4), TimeSignature(2500, 3, 4)),
                tempos=(TempoChange(0), TempoChange(1001, 400_000)))
    with caplog.at_level(logging.INFO, logger="gtzcomposer.io.musicxml"):
        back, messages = roundtrip(song, tmp_path)
    text = "\n".join(messages)
    assert "notes moved to the nearest sixteenth or eighth-note triplet" in text
    assert "notes shorter than the grid were given one grid step" in text
    assert "notes of the same pitch starting together were merged" in text
    assert "time signature 3/4 at tick 2500 moved to the bar line at tick 1920" in text
    assert "tempo change at tick 1001 moved to tick 960" in text
    assert "take the loudest note's velocity" in text
    assert all(m in caplog.text for m in messages)
    q, _ = quantize_for_notation(song)
    assert_same_music(back, q)
    got = {(n.start, n.pitch, n.duration, n.velocity) for n in back.tracks[0].notes}
    assert (0, 60, 480, 100) in got and (480, 62, 120, 100) in got
    assert (960, 64, 120, 90) in got and (960, 67, 120, 90) in got
    assert {(n.start, n.pitch) for n in back.tracks[0].notes if n.pitch == 65} == {(1440, 65), (1600, 65)}
    assert (1760, 67, 160, 100) in got  # the beat from 1440 took eighth-note triplets


def test_quantize_for_notation_is_idempotent():
    rng = random.Random(5)
    ns = tuple(Note(rng.randrange(0, 8000), rng.randrange(40, 90), rng.randrange(0, 900), rng.randrange(1, 128))
               for _ in range(200))
    song = Song(tracks=(new_track(0, notes=ns),), time_signatures=(TimeSignature(0, 3, 4), TimeSignature(3000, 7, 8)))
    q, messages = quantize_for_notation(song)
    assert messages
    again, more = quantize_for_notation(q)
    assert again == q and more == []


@st.composite
def notated_songs(draw):
    """Songs already on the notation grid: sixteenths, with some beats in eighth triplets."""
    tracks = []
    for i in range(draw(st.integers(1, 3))):
        drum = draw(st.booleans()) and i == 2
        ns = []
        for _ in range(draw(st.integers(0, 12))):
            if draw(st.booleans()):
                beat = draw(st.integers(0, 15)) * PPQ
                start = beat + draw(st.integers(0, 2)) * 160
                duration = draw(st.sampled_from([160, 320]))
                if (start + duration) % PPQ:
                    duration = beat + PPQ - start
            else:
                start = draw(st.integers(0, 63)) * 120
                duration = draw(st.integers(1, 24)) * 120
            ns.append(Note(start, draw(st.integers(24, 100)), duration, draw(st.integers(1, 127))))
        tracks.append(new_track(i, f"Part {i}", program=draw(st.integers(0, 127)), is_drum=drum, notes=tuple(ns)))
    first = TimeSignature(0, draw(st.integers(2, 7)), draw(st.sampled_from([4, 8])))
    sigs = [first]
    if draw(st.booleans()):
        sigs.append(TimeSignature(first.bar_ticks * draw(st.integers(1, 3)), draw(st.integers(2, 6)), 4))
    return Song(tracks=tuple(tracks), time_signatures=tuple(sigs),
                tempos=(TempoChange.from_bpm(0, draw(st.integers(40, 200))),),
                key_signatures=(KeySignature(0, draw(st.integers(0, 11)), draw(st.sampled_from(["major", "minor"]))),),
                title=draw(st.sampled_from(["", "A title"])))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(notated_songs())
def test_notated_songs_roundtrip(tmp_path, song):
    q, _ = quantize_for_notation(song)
    # on the grid nothing moves; only duplicates and mixed-velocity chords can change
    assert all(n.start % 40 == 0 for t in q.tracks for n in t.notes)
    # dense parts are fitted into four voices per staff: the export reads back as notation_song says
    expected, _ = notation_song(song)
    assert expected.note_count == q.note_count
    back, _ = roundtrip(song, tmp_path)
    assert_same_music(back, expected)


def test_changes_after_the_last_note_are_kept(tmp_path):
    song = Song(tracks=(new_track(0, notes=notes((60, 0, 480))),), tempos=(TempoChange(0), TempoChange(7800, 400_000)),
                time_signatures=(TimeSignature(0), TimeSignature(3840, 3, 4)), key_signatures=(KeySignature(6720, 7),))
    back, messages = roundtrip(song, tmp_path)
    assert messages == []
    assert_same_music(back, song)
    # a key change inside a bar moves to the nearest bar line
    q, messages = quantize_for_notation(replace(song, key_signatures=(KeySignature(5760, 7),)))
    assert q.key_signatures == (KeySignature(5280, 7),) and messages == ["key change at tick 5760 moved to tick 5280"]


def test_empty_song_and_untitled(tmp_path):
    back, messages = roundtrip(Song(), tmp_path)
    assert messages == [] and back.note_count == 0 and back.title == ""
    melody = melody_song()
    back, _ = roundtrip(melody, tmp_path, ".mxl")
    assert_same_music(back, melody)


def test_file_objects_and_bytes(tmp_path):
    path = tmp_path / "m.musicxml"
    song_to_musicxml(melody_song(), path)
    with open(path, "rb") as fh:
        assert musicxml_to_song(fh).tracks[0].notes == melody_song().tracks[0].notes
    assert musicxml_to_song(path.read_bytes()).note_count == 8
    # notation programs on Windows write UTF-16 with a byte-order mark
    utf16 = path.read_text("utf-8").replace('encoding="utf-8"', 'encoding="UTF-16"').encode("utf-16")
    assert musicxml_to_song(utf16).tracks[0].notes == melody_song().tracks[0].notes


# ---------------------------------------------------------------------------------------------
# files from other tools: music21's corpus (MusicXML made by notation programs)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bach/bwv66.6.mxl", "johnson_j_r/lift_every_voice.mxl"])
def test_corpus_scores_match_music21(name):
    from music21 import converter

    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{name} is not in this music21")
    song = musicxml_to_song(path)
    score = converter.parse(path)
    assert [t.name for t in song.tracks] == [p.partName for p in score.parts]
    for track, part in zip(song.tracks, score.parts):
        theirs = sorted((round(float(n.offset) * PPQ), p.midi, round(float(n.quarterLength) * PPQ))
                        for n in part.stripTies().flatten().notes if not n.duration.isGrace for p in n.pitches)
        ours = sorted((n.start, n.pitch, n.duration) for n in track.notes)
        assert ours == theirs


def test_piano_staves_become_one_track():
    path = CORPUS / "schoenberg/opus19/movement2.mxl"
    if not path.exists():
        pytest.skip("not in this music21")
    song = musicxml_to_song(path)
    assert len(song.tracks) == 1 and song.note_count > 50


def test_exported_file_loads_in_music21_with_parts_and_instruments(tmp_path):
    from music21 import converter

    path = tmp_path / "x.musicxml"
    song_to_musicxml(two_track_song(), path)
    score = converter.parse(path)
    assert [p.partName for p in score.parts] == ["Lead", "Bass", "Drums"]
    assert [p.getInstrument().midiProgram for p in score.parts][:2] == [73, 33]
    assert score.parts[2].getInstrument().midiChannel == 9


# ---------------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------------
def test_error_is_a_gtz_error():
    assert issubclass(MusicXMLError, GtzError)


def _mxl(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize("data, match", [
    (b"", "the file is empty"),
    (b"   \n", "the file is empty"),
    (b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0", "not a MusicXML file; it looks like a MIDI file"),
    (b'{"format": "gtzcomposer-project"}', "not a MusicXML file; it looks like a gtzcomposer project"),
    (b"<score-partwise><part-list>", "damaged MusicXML file"),
    (b"<html><body>hi</body></html>", "not a MusicXML score \\(the document is a <html>\\)"),
    (b"<score-timewise/>", "timewise MusicXML is not supported"),
    (b"PK\x03\x04garbage", "damaged .mxl archive"),
    (_mxl({"readme.txt": b"hello"}), "the .mxl archive holds no MusicXML score"),
    (_mxl({"META-INF/container.xml": b"<container><rootfiles><rootfile full-path='x.xml'/></rootfiles></container>"}),
     "the .mxl archive holds no MusicXML score"),
    (_mxl({"META-INF/container.xml": b"<container"}), "damaged .mxl archive"),
    (_mxl({"score.xml": b"<score-partwise><part-list><score-part id='P1'/></part-list><part id='P1'><measure><note><pitch>"
                        b"<step>H</step><octave>4</octave></pitch><duration>1</duration></note></measure></part></score-partwise>"}),
     "music21 could not read this score \\(Cannot make a step out of 'H'\\)"),
    (b"<score-partwise><part-list><score-part id='P1'/></part-list><part id='P1'><measure><attributes><divisions>0"
     b"</divisions></attributes><note><pitch><step>C</step><octave>4</octave></pitch><duration>1</duration></note>"
     b"</measure></part></score-partwise>", "music21 could not read this score"),
])
def test_bad_files(tmp_path, data, match):
    path = tmp_path / "bad.musicxml"
    path.write_bytes(data)
    with pytest.raises(MusicXMLError, match=f"^bad.musicxml: {match}"):
        musicxml_to_song(path)


def test_missing_huge_and_wrong_extension(tmp_path):
    with pytest.raises(MusicXMLError, match="no such file"):
        musicxml_to_song(tmp_path / "none.musicxml")
    huge = tmp_path / "huge.musicxml"
    with open(huge, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    with pytest.raises(MusicXMLError, match="larger than 64 MB"):
        musicxml_to_song(huge)
    with pytest.raises(MusicXMLError, match="end in .musicxml, .xml or .mxl"):
        song_to_musicxml(melody_song(), tmp_path / "x.mid")
    with pytest.raises(MusicXMLError, match="cannot write in"):
        song_to_musicxml(melody_song(), tmp_path / "missing" / "x.musicxml")


def test_truncations_and_mutations_give_only_musicxml_errors(tmp_path):
    path = tmp_path / "m.musicxml"
    song_to_musicxml(two_track_song(), path)
    data = path.read_bytes()
    rng = random.Random(11)
    outcomes = {"song": 0, "error": 0}
    cases = [data[: rng.randrange(len(data))] for _ in range(40)]
    for _ in range(160):
        b = bytearray(data)
        kind = rng.randrange(3)
        if kind == 0:
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 1:  # change a number inside an element: durations, pitches, divisions...
            digits = [i for i, c in enumerate(b) if 48 <= c <= 57]
            for i in rng.sample(digits, 3):
                b[i] = rng.choice(b"0123456789")
        else:
            at = rng.randrange(len(b))
            b[at:at] = rng.choice([b"<note>", b"</measure>", b"<tie type='stop'/>", b"<chord/>", b"-", b"\x00"])
        cases.append(bytes(b))
    for case in cases:
        try:
            musicxml_to_song(case)
        except MusicXMLError as exc:
            assert str(exc).startswith("<data>: ")
            outcomes["error"] += 1
        else:
            outcomes["song"] += 1
    assert outcomes["error"] > 20 and outcomes["song"] > 20


def test_chord_symbols_become_a_chords_track(tmp_path):
    """A lead sheet's <harmony> symbols are read as a track named Chords (block chords), which
    the melody generator uses as the song's chords."""
    from music21 import harmony, meter, note, stream

    from gtzcomposer.core.chords import chord_track_index, chords_from_notes, parse_symbol

    part = stream.Part()
    part.append(meter.TimeSignature("4/4"))
    for sym, pitches in (("C7", "E4 G4"), ("F7", "A4 C5"), ("B-7", "D5 F5"), ("E-maj7", "G4 B-4")):
        part.append(harmony.ChordSymbol(sym))
        for p in pitches.split():
            part.append(note.Note(p, quarterLength=1.0))
    score = stream.Score([part])
    path = tmp_path / "lead.musicxml"
    score.write("musicxml", fp=str(path))
    song = musicxml_to_song(path)
    ci = chord_track_index(song)
    assert ci is not None and song.tracks[ci].name == "Chords"
    assert len(song.tracks[0].notes) == 8  # the melody is still its own track, without the symbols
    spans = chords_from_notes(song.tracks[ci].notes, [(0, 960), (960, 1920), (1920, 2880), (2880, 3840)])
    assert [s.chord for s in spans] == [parse_symbol(x) for x in ("C7", "F7", "Bb7", "Ebmaj7")]
