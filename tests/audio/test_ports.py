"""MIDI ports: listing without an ALSA sequencer, sending playback to a port, recording."""

from __future__ import annotations

from types import SimpleNamespace

import mido
import pytest

from gtzcomposer.audio import ports
from gtzcomposer.audio.player import Player
from gtzcomposer.audio.ports import (
    InputRecorder,
    MidiOutputSink,
    PortError,
    PortsState,
    Recorder,
    midi_ports,
    record_into_track,
)
from gtzcomposer.core import PPQ, Note, Song, TempoChange, new_track
from gtzcomposer.core.errors import GtzError
from tests.audio.fakes import FakeClock, FakePort
from tests.helpers import two_track_song


def test_listing_never_raises_and_says_why():
    state = midi_ports()
    assert isinstance(state, PortsState)
    if not state.available:
        assert state.reason and not state.outputs and not state.inputs


def test_rtmidi_error_at_construction_is_a_clear_state(monkeypatch):
    import rtmidi

    def boom():
        raise rtmidi.SystemError("MidiOutAlsa::initialize: error creating ALSA sequencer client object.")

    monkeypatch.setattr(mido, "get_output_names", boom)
    state = midi_ports()
    assert not state.available
    assert "ALSA sequencer" in state.reason
    assert ports.list_outputs() == ()


def test_no_ports_is_available_but_empty(monkeypatch):
    monkeypatch.setattr(mido, "get_output_names", lambda: [])
    monkeypatch.setattr(mido, "get_input_names", lambda: [])
    state = midi_ports()
    assert state.available and state.outputs == () and "no MIDI ports" in state.reason


def test_opening_a_missing_port_is_a_gtz_error(monkeypatch):
    def fail(name=None, **kw):
        raise OSError("open /dev/snd/seq failed")

    monkeypatch.setattr(mido, "open_output", fail)
    monkeypatch.setattr(mido, "open_input", fail)
    with pytest.raises(PortError, match="Synth Port") as info:
        MidiOutputSink("Synth Port")
    assert isinstance(info.value, GtzError)
    with pytest.raises(PortError, match="Keyboard"):
        InputRecorder("Keyboard", two_track_song(), 0)


def test_playback_to_a_port_sends_programs_notes_and_all_notes_off_on_stop():
    song = two_track_song()
    port = FakePort()
    clock = FakeClock()
    player = Player(MidiOutputSink(port=port), clock=clock, threaded=False)
    player.set_song(song)
    assert player.available() == (True, "Fake Port")
    player.play()
    for _ in range(300):
        clock.advance(0.004)
        player.pump()
    programs = {(m.channel, m.program) for m in port.sent if m.type == "program_change"}
    assert programs == {(0, 73), (1, 33), (9, 0)}  # the tracks' own channels; drums on channel 10
    assert {m.channel for m in port.sent if m.type == "note_on" and m.note in (38, 42)} == {9}
    sounding = {(m.channel, m.note) for m in port.sent if m.type == "note_on"}
    assert sounding
    player.stop()
    tail = port.sent[-20:]
    assert {m.channel for m in tail if m.type == "control_change" and m.control == 123} == {0, 1, 9}
    # every note that was started got its note-off
    on = sum(1 for m in port.sent if m.type == "note_on")
    off = sum(1 for m in port.sent if m.type == "note_off")
    assert on == off
    player.close()
    assert port.closed


def _msg(kind, note, velocity=100, channel=0):
    return mido.Message(kind, note=note, velocity=velocity, channel=channel)


def test_recorder_builds_notes_on_the_tempo_map():
    song = Song(tempos=(TempoChange.from_bpm(0, 120), TempoChange.from_bpm(4 * PPQ, 60)))
    rec = Recorder(song, start_tick=2 * PPQ, start_time=50.0)  # recording starts at 1.0 s of song time
    rec.feed(_msg("note_on", 60, 90), 50.0)
    rec.feed(_msg("note_off", 60), 50.5)
    rec.feed(_msg("note_on", 64, 80), 51.0)  # song time 2.0 s = tick 1920, where the tempo changes
    rec.feed(_msg("note_on", 64, 0), 52.0)  # a note-on with velocity 0 is a note-off; 1 s at 60 bpm
    rec.feed(SimpleNamespace(type="control_change"), 52.1)
    rec.feed(_msg("note_off", 70), 52.2)  # pressed before recording began: ignored
    rec.feed(_msg("note_on", 67, 70), 52.5)
    assert rec.held == (67,)
    notes = rec.notes(end_time=53.0)
    assert notes == (Note(960, 60, 480, 90), Note(1920, 64, 480, 80), Note(2640, 67, 240, 70))
    assert rec.notes() == notes[:2]
    assert rec.ignored == 1


def test_recorder_channel_filter():
    rec = Recorder(Song(), 0, 0.0, channel=2)
    rec.feed(_msg("note_on", 60, channel=0), 0.0)
    rec.feed(_msg("note_on", 62, channel=2), 0.0)
    rec.feed(_msg("note_off", 62, channel=2), 0.5)
    assert [n.pitch for n in rec.notes(1.0)] == [62]


def test_record_into_track_with_input_quantize():
    track = new_track(0, notes=(Note(0, 48, PPQ),))
    played = (Note(130, 60, 200, 90), Note(470, 62, 230, 90))  # a little off the 1/8 grid (240)
    loose = record_into_track(track, played)
    assert [n.start for n in loose.notes] == [0, 130, 470]
    tight = record_into_track(track, played, quantize_grid=PPQ // 2)
    assert [n.start for n in tight.notes] == [0, 240, 480]
    half = record_into_track(track, played, quantize_grid=PPQ // 2, strength=0.5)
    assert [n.start for n in half.notes] == [0, 185, 475]


def test_input_recorder_with_a_fake_input():
    clock = FakeClock(10.0)
    port = FakePort("Keyboard")
    seen = []
    rec = InputRecorder(None, Song(), start_tick=0, clock=clock, port=port, on_message=seen.append)
    rec.receive(_msg("note_on", 60))
    clock.advance(0.25)
    rec.receive(_msg("note_off", 60))
    rec.receive(_msg("note_on", 72))
    clock.advance(0.5)
    notes = rec.stop()
    assert port.closed
    assert notes == (Note(0, 60, 240, 100), Note(240, 72, 480, 100))
    assert len(seen) == 3
