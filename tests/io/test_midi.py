"""MIDI import/export: exact round trips, import rules, files written by other tools."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import mido
import pytest
from hypothesis import HealthCheck, given, settings

from gtzcomposer.core import (
    PITCH_BEND,
    PPQ,
    ControlChange,
    KeySignature,
    Note,
    Song,
    TempoChange,
    TempoMap,
    TimeSignature,
    Track,
    new_track,
)
from gtzcomposer.core.interchange import prepare_for_midi
from gtzcomposer.io.midi import GTZC_TAG, MidiError, midi_to_song, song_to_midi, song_to_midi_bytes, song_to_midifile
from tests.helpers import melody_song, notes, random_song, two_track_song
from tests.io import midi_bytes as mb
from tests.io.strategies import songs

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = sorted(DATA.glob("*.mid"))


def roundtrip(song: Song) -> Song:
    return midi_to_song(song_to_midi_bytes(song))


def prepared(song: Song) -> Song:
    return prepare_for_midi(song)[0]


# ---------------------------------------------------------------------------------------------
# hypothesis: every song our model can hold survives Song -> MIDI -> Song exactly, as export
# prepares it (own channels, no same-pitch overlaps); a prepared song is left as it is
# ---------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(songs)
def test_roundtrip_is_exact_for_any_song(song):
    back = roundtrip(song)
    ready, changes = prepare_for_midi(song)
    assert back == ready
    assert prepare_for_midi(ready) == (ready, [])
    assert (ready == song) == (not changes)
    # and the file itself is stable: writing the song read back gives the same bytes
    assert song_to_midi_bytes(back) == song_to_midi_bytes(song)


@pytest.mark.parametrize("song", [two_track_song(), melody_song(), *(random_song(s) for s in range(5)), Song()],
                         ids=["two_track", "melody", *(f"random{s}" for s in range(5)), "empty"])
def test_roundtrip_of_helper_songs(song):
    assert roundtrip(song) == prepared(song)


def test_written_file_layout():
    song = two_track_song()
    mf = mido.MidiFile(file=io.BytesIO(song_to_midi_bytes(song)))
    assert mf.type == 1 and mf.ticks_per_beat == PPQ
    assert len(mf.tracks) == 1 + len(song.tracks)
    conductor = [m.type for m in mf.tracks[0]]
    assert conductor.count("set_tempo") == 2 and conductor.count("time_signature") == 2
    assert "key_signature" in conductor and "note_on" not in conductor
    assert mf.tracks[0][0].type == "track_name" and mf.tracks[0][0].name == song.title
    for mtrack, track in zip(mf.tracks[1:], song.tracks):
        kinds = [m.type for m in mtrack]
        assert kinds[:5] == ["track_name", "sequencer_specific", "program_change", "control_change", "control_change"]
        chans = {m.channel for m in mtrack if not m.is_meta}
        assert chans == {track.channel}
        assert [m.value for m in mtrack if m.type == "control_change"] == [track.volume, track.pan]
        assert sum(m.type == "note_on" for m in mtrack) == len(track.notes)
    drums = mf.tracks[3]
    assert all(m.channel == 9 for m in drums if not m.is_meta)


def test_unicode_names_are_utf8():
    song = Song(tracks=(new_track(0, "Flöte 音轨"),), title="Ständchen")
    data = song_to_midi_bytes(song)
    assert "Flöte 音轨".encode() in data and "Ständchen".encode() in data
    assert roundtrip(song) == song


def test_crossing_same_pitch_notes_end_where_the_next_starts_and_every_reader_agrees(tmp_path):
    # a long note with a short one of the same pitch inside, a zero-length one, a duplicate start
    track = new_track(0, notes=notes((60, 0, 960), (60, 240, 120), (60, 480, 0), (62, 0, 480),
                                     (64, 0, 480, 50), (64, 0, 240, 90)))
    path = tmp_path / "x.mid"
    log = song_to_midi(Song(tracks=(track,)), path)
    assert log == ["track 1 ('Track 1'): 1 note shortened to end where the next note of the same pitch starts; "
                   "1 note of a pitch already starting there merged"]
    back = midi_to_song(path).tracks[0]
    assert [(n.pitch, n.start, n.duration, n.velocity) for n in back.notes] == [
        (60, 0, 240, 100), (62, 0, 480, 100), (64, 0, 480, 90), (60, 240, 120, 100), (60, 480, 0, 100)]
    # pretty_midi (which ends every sounding note of a pitch at its first note-off) reads the same
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    theirs = sorted((n.pitch, round(n.start * 960), round(n.end * 960)) for n in pm.instruments[0].notes)
    ours = sorted((n.pitch, n.start, n.end) for n in back.notes if n.duration)  # it drops zero-length notes
    assert theirs == ours


def test_pairing_hints_of_files_from_earlier_versions_are_followed():
    # the short note inside the long one ends first; the hint says which note-on each off closes
    payload = GTZC_TAG + b'{"color":"#4e79a7","mute":false,"solo":false,"pair":{"0/60":[1,0]}}'
    mtrack = mido.MidiTrack([
        mido.MetaMessage("sequencer_specific", data=tuple(payload)),
        mido.Message("note_on", note=60, velocity=100, time=0),
        mido.Message("note_on", note=60, velocity=100, time=240),
        mido.Message("note_off", note=60, time=120),
        mido.Message("note_off", note=60, time=600),
    ])
    mf = mido.MidiFile(type=1, ticks_per_beat=PPQ)
    mf.tracks.append(mtrack)
    buf = io.BytesIO()
    mf.save(file=buf)
    got = midi_to_song(buf.getvalue()).tracks[0].notes
    assert [(n.start, n.duration) for n in got] == [(0, 960), (240, 120)]
    # without the hint the same events pair first-in-first-out, as other readers do
    mtrack.pop(0)
    buf = io.BytesIO()
    mf.save(file=buf)
    assert [(n.start, n.duration) for n in midi_to_song(buf.getvalue()).tracks[0].notes] == [(0, 360), (240, 720)]


def test_tracks_sharing_a_channel_get_their_own_and_drums_go_to_channel_10():
    chorale = Song(tracks=tuple(Track(name=v, channel=0, program=p, notes=notes((60 + k, 0, 480)))
                                for k, (v, p) in enumerate([("S", 52), ("A", 52), ("T", 0), ("B", 0)])))
    chorale = chorale.add_track(Track(name="kit on 3", channel=2, is_drum=True, notes=notes((36, 0, 10))))
    chorale = chorale.add_track(Track(name="piano on 10", channel=9, notes=notes((60, 0, 10))))
    log: list[str] = []
    mf = song_to_midifile(chorale, log)
    assert [sorted({m.channel for m in t if not m.is_meta}) for t in mf.tracks[1:]] == [[0], [1], [2], [3], [9], [4]]
    assert log == [
        "track 2 ('A'): moved from channel 1 to channel 2 (it shared channel 1 with track 1 ('S'))",
        "track 3 ('T'): moved from channel 1 to channel 3 (it shared channel 1 with track 1 ('S'))",
        "track 4 ('B'): moved from channel 1 to channel 4 (it shared channel 1 with track 1 ('S'))",
        "track 5 ('kit on 3'): drums moved from channel 3 to channel 10",
        "track 6 ('piano on 10'): moved from channel 10 to channel 5 (channel 10 is for drums)",
    ]
    back = roundtrip(chorale)
    assert [(t.channel, t.is_drum, t.program) for t in back.tracks] == [
        (0, False, 52), (1, False, 52), (2, False, 0), (3, False, 0), (9, True, 0), (4, False, 0)]
    assert prepare_for_midi(back) == (back, [])


def test_more_than_15_melodic_tracks_share_channels_with_the_same_program_first():
    song = Song(tracks=tuple(new_track(i, program=i % 2, notes=notes((60, 0, 480))) for i in range(17)))
    ready, log = prepare_for_midi(song)
    assert len({t.channel for t in ready.tracks[:15]}) == 15
    assert [t.channel for t in ready.tracks[15:]] == [ready.tracks[1].channel, ready.tracks[0].channel]
    assert "track 17 ('Track 17'): shares channel 1 with track 1 ('Track 1') (MIDI has only 15 channels for melodic tracks)" in log
    # their notes now meet on one channel: the same pitch starting together is one note there
    assert "track 17 ('Track 17'): 1 note of a pitch already starting there merged" in log


def test_controllers_and_pitch_bend_survive_and_other_controllers_are_counted(caplog):
    events = [
        (0, b"\xb0\x07\x50"),  # volume
        (0, b"\xb0\x40\x7f"),  # sustain down
        (0, b"\x90\x3c\x40"),
        (240, b"\xe0\x00\x50"),  # pitch bend: 0x50 << 7 = 10240, minus 8192 = 2048
        (0, b"\xb0\x5b\x28"),  # reverb send: dropped
        (240, b"\x80\x3c\x00"),
        (0, b"\xb0\x07\x40"),  # a later volume change
        (0, b"\xb0\x40\x00"),  # sustain up
    ]
    with caplog.at_level(logging.INFO, logger="gtzcomposer.io.midi"):
        song = midi_to_song(mb.midi(mb.track(*events), fmt=0))
    t = song.tracks[0]
    assert t.volume == 0x50
    assert t.controls == (ControlChange(0, 64, 127), ControlChange(240, PITCH_BEND, 2048),
                          ControlChange(480, 7, 64), ControlChange(480, 64, 0))
    assert "1 changes of controllers a song does not keep were dropped" in caplog.text
    assert roundtrip(song) == song
    mtrack = song_to_midifile(song).tracks[1]
    kinds = [(m.type, getattr(m, "control", None)) for m in mtrack if not m.is_meta]
    assert kinds == [("program_change", None), ("control_change", 7), ("control_change", 10),
                     ("control_change", 64), ("note_on", None), ("pitchwheel", None),
                     ("control_change", 7), ("control_change", 64), ("note_off", None)]


def test_pop909_sustain_pedal_survives(shared_data):
    path = shared_data / "pop909" / "songs" / "001" / "001.mid"
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    mf = mido.MidiFile(str(path))
    pedal = sum(1 for t in mf.tracks for m in t if m.type == "control_change" and m.control == 64)
    song = midi_to_song(path)
    kept = sum(len(t.controls_of(64)) for t in song.tracks)
    assert pedal == kept == 274
    back = roundtrip(song)
    assert sum(len(t.controls_of(64)) for t in back.tracks) == 274


def test_drum_flag_off_channel_10_and_melodic_channel_10_survive_in_our_data_event():
    song = Song(tracks=(Track(name="kit on 3", channel=2, is_drum=False, notes=notes((36, 0, 10))),
                        Track(name="drums on 1", channel=0, is_drum=True, notes=notes((60, 0, 10)))))
    back = roundtrip(song)
    assert [(t.channel, t.is_drum) for t in back.tracks] == [(2, False), (9, True)]
    assert back == prepared(song)


def test_damaged_data_event_is_ignored():
    mf = song_to_midifile(Song(tracks=(new_track(3, "x", notes=notes((60, 0, 10))),)))
    for i, m in enumerate(mf.tracks[1]):
        if m.type == "sequencer_specific":
            mf.tracks[1][i] = mido.MetaMessage("sequencer_specific", data=tuple(GTZC_TAG + b'{"color": [1'))
    buf = io.BytesIO()
    mf.save(file=buf)
    track = midi_to_song(buf.getvalue()).tracks[0]
    assert track.name == "x" and track.notes == notes((60, 0, 10)) and not track.mute
    assert track.color == "#4e79a7"  # palette colour of the first track, not the stored one


def test_too_long_song_is_refused():
    song = Song(tracks=(new_track(0, notes=(Note(2**30, 60, 1),)),))
    with pytest.raises(MidiError, match="too long"):
        song_to_midi_bytes(song)
    pedal_far_out = Song(tracks=(new_track(0, controls=(ControlChange(2**30, 64, 127),)),))
    with pytest.raises(MidiError, match="too long"):
        song_to_midi_bytes(pedal_far_out)


def test_read_and_write_paths_and_file_objects(tmp_path):
    song = two_track_song()
    path = tmp_path / "song.mid"
    song_to_midi(song, path)
    song_to_midi(song, str(path))  # overwrite in place
    assert midi_to_song(path) == song and midi_to_song(str(path)) == song
    buf = io.BytesIO()
    song_to_midi(song, buf)
    assert buf.getvalue() == path.read_bytes()
    with open(path, "rb") as fh:
        assert midi_to_song(fh) == song
    assert midi_to_song(bytearray(path.read_bytes())) == song
    assert midi_to_song(memoryview(path.read_bytes())) == song
    assert [p.name for p in tmp_path.iterdir()] == ["song.mid"]  # no temporary files left


# ---------------------------------------------------------------------------------------------
# import rules, on hand-made bytes
# ---------------------------------------------------------------------------------------------
def test_type0_running_status_velocity_zero_channels_and_programs():
    events = [
        (0, mb.name(b"My tune")),
        (0, mb.tempo(400_000)),
        (0, b"\xc0\x18"),             # ch 1: program 24 (nylon guitar)
        (0, b"\xc1\x21"),             # ch 2: program 33 (bass)
        (0, b"\x90\x3c\x50"),         # ch 1 note on C4
        (0, b"\x40\x51"),             # running status: note on E4
        (0, b"\x91\x24\x60"),         # ch 2 note on
        (0, b"\x99\x24\x7f"),         # ch 10 kick
        (240, b"\x89\x24\x00"),       # kick off (note-off message)
        (240, b"\x90\x3c\x00"),       # C4 off as note-on velocity 0
        (0, b"\x40\x00"),             # running status: E4 off
        (0, b"\xc0\x49"),             # ch 1 switches to flute
        (0, b"\x90\x48\x40"),         # ch 1 note on, now a flute note
        (480, b"\x48\x00"),           # running status off
        (0, b"\x81\x24\x00"),         # ch 2 off
    ]
    song = midi_to_song(mb.midi(mb.track(*events), fmt=0))
    assert song.title == "My tune" and song.tempos == (TempoChange(0, 400_000),)
    got = [(t.name, t.channel, t.program, t.is_drum, t.notes) for t in song.tracks]
    assert got == [
        ("Acoustic Guitar (nylon)", 0, 24, False, notes((60, 0, 480, 80), (64, 0, 480, 81))),
        ("Electric Bass (finger)", 1, 33, False, notes((36, 0, 960, 96))),
        ("Drums", 9, 0, True, notes((36, 0, 240, 127))),
        ("Flute", 0, 73, False, notes((72, 480, 480, 64))),
    ]


def test_multi_channel_type1_track_keeps_its_name_per_part():
    events = [(0, mb.name(b"Band")), (0, b"\x90\x3c\x50"), (0, b"\x99\x26\x50"), (10, b"\x80\x3c\x00"), (0, b"\x89\x26\x00")]
    song = midi_to_song(mb.midi(mb.track((0, mb.tempo(500_000))), mb.track(*events)))
    assert [t.name for t in song.tracks] == ["Band (Acoustic Grand Piano)", "Band (Drums)"]


def test_same_pitch_overlaps_pair_first_in_first_out_and_unclosed_notes_end_at_track_end(caplog):
    events = [
        (0, b"\x90\x3c\x40"),   # A on
        (100, b"\x90\x3c\x41"),  # B on (same pitch)
        (50, b"\x80\x3c\x00"),  # first off closes A (FIFO)
        (0, b"\x80\x3e\x00"),   # stray off: ignored
        (50, b"\x80\x3c\x00"),  # closes B
        (0, b"\x90\x3c\x42"),   # C on at 200, zero length
        (0, b"\x80\x3c\x00"),
        (0, b"\x90\x40\x43"),   # D on at 200, never closed
        (300, b"\xb0\x07\x50"),  # a controller at 500: the track ends here
    ]
    with caplog.at_level(logging.INFO, logger="gtzcomposer.io.midi"):
        song = midi_to_song(mb.midi(mb.track(*events), fmt=0))
    assert song.tracks[0].notes == notes((60, 0, 150, 64), (60, 100, 100, 65), (60, 200, 0, 66), (64, 200, 300, 67))
    assert song.tracks[0].volume == 0x50
    assert "1 note-offs without a note, 1 notes never ended" in caplog.text


@pytest.mark.parametrize("division, tick, expect", [
    (96, 1, 5),        # 5 exactly
    (960, 1, 1),       # 0.5 rounds half up
    (960, 3, 2),       # 1.5 -> 2
    (1000, 1001, 480),  # 480.48 -> 480
    (220, 11, 24),
])
def test_ppq_is_rescaled_to_480(division, tick, expect):
    events = [(tick, b"\x90\x3c\x40"), (tick, b"\x80\x3c\x40")]
    n = midi_to_song(mb.midi(mb.track(*events), fmt=0, division=division)).tracks[0].notes[0]
    assert n.start == expect and n.end == (4 * tick * 480 + division) // (2 * division)


def test_smpte_time_is_read_at_120_bpm():
    # 25 fps x 40 ticks per frame = 1000 ticks per second; 500 ticks = 0.5 s = one beat at 120 bpm
    division = ((256 - 25) << 8) | 40
    events = [(0, mb.tempo(1_000_000)), (500, b"\x90\x3c\x40"), (1000, b"\x80\x3c\x40")]
    song = midi_to_song(mb.midi(mb.track(*events), fmt=0, division=division))
    assert song.tempos == (TempoChange(0),)
    assert song.tracks[0].notes == (Note(480, 60, 960, 64),)


def test_meta_events_from_every_track_form_the_maps_and_odd_values_are_skipped(caplog):
    conductor = mb.track(
        (0, mb.tempo(500_000)), (0, mb.meta(0x58, bytes([6, 3, 36, 8]))), (0, mb.meta(0x59, bytes([0xFE, 1]))),
        (960, mb.tempo(0)),  # impossible tempo
        (0, mb.meta(0x58, bytes([0, 2, 24, 8]))),  # 0/4: impossible meter
    )
    part = mb.track((0, mb.name(b"Piano\x00 ")), (1920, mb.tempo(300_000)), (0, mb.meta(0x59, bytes([3, 0]))),
                    (0, b"\x90\x3c\x40"), (10, b"\x80\x3c\x40"))
    with caplog.at_level(logging.WARNING):
        song = midi_to_song(mb.midi(conductor, part))
    assert song.tempos == (TempoChange(0, 500_000), TempoChange(1920, 300_000))
    assert song.time_signatures == (TimeSignature(0, 6, 8),)
    assert song.key_signatures == (KeySignature(0, 7, "minor"), KeySignature(1920, 9, "major"))
    assert song.tracks[0].name == "Piano"
    assert "time signature 0/4" in caplog.text and "tempo of 0" in caplog.text


def test_empty_tracks_with_a_program_are_kept_and_meta_only_tracks_are_not():
    data = mb.midi(mb.track((0, mb.name(b"Song"))), mb.track((0, mb.name(b"Strings")), (0, b"\xc3\x30")),
                   mb.track((0, mb.name(b"Lyrics")), (0, mb.meta(0x05, b"la"))))
    song = midi_to_song(data)
    assert song.title == "Song"
    assert [(t.name, t.channel, t.program, t.notes) for t in song.tracks] == [("Strings", 3, 48, ())]


def test_unknown_chunks_are_skipped():
    tune = mb.track((0, b"\x90\x3c\x40"), (10, b"\x80\x3c\x40"))
    xf = b"XFIH" + (12).to_bytes(4, "big") + bytes(12)
    song = midi_to_song(mb.header(1, 2) + xf + tune + b"XFKM\x00\x00\x00\x02ab" + tune)
    assert [len(t.notes) for t in song.tracks] == [1, 1]


def test_type2_files_are_read():
    song = midi_to_song(mb.midi(mb.track((0, b"\x90\x3c\x40"), (10, b"\x80\x3c\x40")), fmt=2))
    assert song.note_count == 1


def test_rmid_wrapper_is_unwrapped():
    smf = song_to_midi_bytes(two_track_song())
    riff = b"RIFF" + (len(smf) + 12).to_bytes(4, "little") + b"RMID" + b"data" + len(smf).to_bytes(4, "little") + smf
    assert midi_to_song(riff) == two_track_song()
    with pytest.raises(MidiError, match="'data' chunk"):
        midi_to_song(b"RIFF\x04\x00\x00\x00RMIDLIST\x00\x00\x00\x00")


# ---------------------------------------------------------------------------------------------
# files written by other tools (tests/data/README.md says where each comes from)
# ---------------------------------------------------------------------------------------------
def _pretty_midi_notes(path):
    """An independent reading: pretty_midi's instruments and notes, in seconds."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    return sorted((i.is_drum, i.program if not i.is_drum else 0, n.pitch, n.velocity, round(n.start, 3), round(n.end, 3))
                  for i in pm.instruments for n in i.notes)


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_real_files_match_pretty_midi_and_roundtrip(path):
    song = midi_to_song(path)
    assert song.note_count > 0
    tm = TempoMap.of(song)
    ours = sorted((t.is_drum, t.program if not t.is_drum else 0, n.pitch, n.velocity,
                   round(tm.seconds(n.start), 3), round(tm.seconds(n.end), 3))
                  for t in song.tracks for n in t.notes)
    theirs = _pretty_midi_notes(path)
    # pretty_midi drops zero-length notes (test16 has one) ...
    ours = [n for n in ours if n[4] != n[5]]
    if path.name == "pretty_midi_band.mid":
        # ... and ends every sounding note of a pitch at its first note-off; we pair first-in,
        # first-out, which keeps the overlap pretty_midi itself wrote (0-2.4 s and 1.2-3.0 s)
        assert [n[4:] for n in ours if n[2] == 48] == [(0.0, 2.4), (1.2, 3.0)]
        assert [n[4:] for n in theirs if n[2] == 48] == [(0.0, 2.4), (1.2, 2.4)]
        ours = [n for n in ours if n[2] != 48]
        theirs = [n for n in theirs if n[2] != 48]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a[:4] == b[:4]
        assert abs(a[4] - b[4]) <= 0.002 and abs(a[5] - b[5]) <= 0.002
    assert roundtrip(song) == prepared(song)


def test_fixture_details():
    band = midi_to_song(DATA / "pretty_midi_band.mid")
    assert [(t.name, t.program, t.is_drum) for t in band.tracks] == [("Piano", 0, False), ("Bass", 33, False), ("Kit", 0, True)]
    assert band.tempos[0].bpm == pytest.approx(100)
    assert [str(s) for s in band.time_signatures] == ["4/4", "3/4"]
    assert band.key.name == "D major"
    chorale = midi_to_song(DATA / "music21_bwv66_6.mid")
    assert [t.name for t in chorale.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert chorale.key.name == "F# minor"
    type0 = midi_to_song(DATA / "music21_test06.mid")
    assert type0.title == "Miss Galvin's" and len(type0.tracks) == 1 and type0.tracks[0].name == "Acoustic Grand Piano"


def test_installed_music21_midi_files_read_and_roundtrip():
    """Every MIDI file that ships inside music21 (other tools wrote them; PPQs 192..1024)."""
    import music21

    files = sorted(Path(music21.__file__).parent.rglob("*.mid"))
    if not files:
        pytest.skip("music21 ships no MIDI files in this version")
    for path in files:
        song = midi_to_song(path)
        assert roundtrip(song) == prepared(song), path.name


def _exported_notes_as_pretty_midi_reads_them(song: Song, path: Path) -> tuple[list, list]:
    """(pitch, start s, end s) of every sounding note: as we read our export, as pretty_midi does."""
    import pretty_midi

    song_to_midi(song, path)
    ours = midi_to_song(path)
    tm = TempoMap.of(ours)
    mine = sorted((n.pitch, round(tm.seconds(n.start), 3), round(tm.seconds(n.end), 3))
                  for t in ours.tracks for n in t.notes if n.duration)
    pm = pretty_midi.PrettyMIDI(str(path))
    theirs = sorted((n.pitch, round(n.start, 3), round(n.end, 3)) for i in pm.instruments for n in i.notes)
    return mine, theirs


@pytest.mark.parametrize("path", FIXTURES, ids=[p.name for p in FIXTURES])
def test_other_readers_see_the_notes_we_export(path, tmp_path):
    """pretty_midi (which pairs same-pitch notes differently from us) reads exactly our notes
    back from every file we write: no extra or lost notes from overlaps."""
    ours, theirs = _exported_notes_as_pretty_midi_reads_them(midi_to_song(path), tmp_path / "out.mid")
    assert len(ours) == len(theirs)
    assert all(a[0] == b[0] and abs(a[1] - b[1]) < 0.002 and abs(a[2] - b[2]) < 0.002 for a, b in zip(ours, theirs))


def test_other_readers_see_the_notes_of_a_dense_real_song(tmp_path, shared_data):
    songs = sorted((shared_data / "pop909" / "songs").glob("00[1-5]/00?.mid"))
    if not songs:
        pytest.skip("POP909 is not on this machine")
    for path in songs:
        ours, theirs = _exported_notes_as_pretty_midi_reads_them(midi_to_song(path), tmp_path / "out.mid")
        assert len(ours) == len(theirs), path.name
        assert all(a[0] == b[0] and abs(a[1] - b[1]) < 0.002 and abs(a[2] - b[2]) < 0.002
                   for a, b in zip(ours, theirs)), path.name
