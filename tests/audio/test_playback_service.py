"""The Qt playback service over the player (pytest-qt)."""

from __future__ import annotations

import mido
import pytest

from gtzcomposer.audio.events import NOTE_ON
from gtzcomposer.audio.player import Player
from gtzcomposer.core import PPQ, Note, Song, TempoChange, new_track
from tests.audio.fakes import FakePort, ListSink

pytest.importorskip("pytestqt")


def _short_song():
    return Song(tracks=(new_track(0, notes=tuple(Note(i * PPQ // 4, 60 + i, PPQ // 8) for i in range(6))),),
                tempos=(TempoChange.from_bpm(0, 240),))


@pytest.fixture
def service(qtbot):
    from gtzcomposer.services.playback import PlaybackService

    sink = ListSink()
    svc = PlaybackService(player=Player(sink), poll_ms=10)
    svc.sink = sink
    yield svc
    svc.close()


def test_play_emits_position_and_finishes(qtbot, service):
    service.setSong(_short_song())
    positions = []
    service.positionChanged.connect(positions.append)
    with qtbot.waitSignal(service.stateChanged, timeout=1000) as state:
        assert service.play()
    assert state.args == ["playing"]
    with qtbot.waitSignal(service.finished, timeout=5000):
        pass
    assert service.state() == "stopped"
    assert [e.data1 for e in service.sink.events if e.kind == NOTE_ON] == [60 + i for i in range(6)]
    assert len(positions) >= 2 and max(positions) > 0


def test_pause_seek_stop(qtbot, service):
    service.setSong(Song(tracks=(new_track(0, notes=(Note(0, 60, 40 * PPQ),)),)))
    service.play()
    service.pause()
    assert service.state() == "paused" and not service.isPlaying()
    with qtbot.waitSignal(service.positionChanged, timeout=1000) as pos:
        service.seek(960)
    assert pos.args == [960.0]
    service.setLoop(0, 480)
    assert service.player().loop.end == 480
    service.clearLoop()
    service.stop()
    assert service.state() == "stopped"
    assert service.preview(64)


def test_no_device_disables_playback_with_a_reason(qtbot):
    from gtzcomposer.services.playback import PlaybackService

    svc = PlaybackService(player=Player(None, unavailable_reason="no audio output device could be opened"))
    ok, why = svc.available()
    assert not ok and "no audio output" in why
    svc.setSong(_short_song())
    assert svc.play() is False
    assert svc.state() == "stopped"
    assert svc.preview(60) is False
    svc.stop()
    svc.close()


def test_real_fluidsynth_service_never_raises(qtbot):
    """Whatever this machine has: with no sound card the service is disabled and says why."""
    from gtzcomposer.services.playback import PlaybackService

    svc = PlaybackService()
    with qtbot.waitSignal(svc.availabilityChanged, timeout=10000) as sig:
        ok, why = svc.available()
    assert sig.args == [ok, why] and why
    state = svc.midiPorts()
    assert state.available or state.reason
    ok2, why2 = svc.setOutput("no such port, surely")
    assert not ok2 or why2
    svc.close()


def test_switch_to_a_port_and_back(qtbot, service, monkeypatch):
    port = FakePort("Synth Port")
    monkeypatch.setattr(mido, "open_output", lambda name=None, **kw: port)
    service.setSong(_short_song())
    ok, name = service.setOutput("Synth Port")
    assert ok and name == "Synth Port"
    with qtbot.waitSignal(service.finished, timeout=5000):
        service.play()
    assert [m.note for m in port.sent if m.type == "note_on"] == [60 + i for i in range(6)]
    ok, name = service.setOutput(None)
    assert ok and name == "list sink" and port.closed


def test_recording_into_a_track_with_input_quantize(qtbot, service):
    port = FakePort("Keyboard")
    ok, name = service.startRecording(None, 0, quantize_grid=PPQ, port=port)
    assert ok and name == "Keyboard"
    rec = service.recorder()
    clock = {"t": 0.0}
    rec.clock = lambda: clock["t"]
    rec.recorder.start_time = 0.0
    rec.receive(mido.Message("note_on", note=60, velocity=90))
    clock["t"] = 0.55  # 120 bpm: tick 528, quantised to 480
    rec.receive(mido.Message("note_on", note=64, velocity=90))
    clock["t"] = 0.8
    with qtbot.waitSignal(service.recordingFinished, timeout=1000) as sig:
        notes = service.stopRecording()
    assert sig.args[0] == 0
    assert [(n.start, n.pitch) for n in notes] == [(0, 60), (480, 64)]
    assert port.closed
