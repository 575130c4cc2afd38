"""Controller changes (sustain pedal, pitch bend, volume, ...) in the event stream, the
scheduler and the render; the render is judged by analysing its audio."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from gtzcomposer.audio.events import (
    CC_SUSTAIN,
    CONTROL,
    NOTE_ON,
    PITCH_BEND_EVENT,
    compile_events,
    controller_state,
)
from gtzcomposer.audio.render import render_song
from gtzcomposer.audio.scheduler import Scheduler
from gtzcomposer.core import PITCH_BEND, PPQ, ControlChange, Note, Song, TempoChange, new_track

SR = 22050


SHORT = (Note(0, 60, PPQ // 8, 100),)


def _piano(controls=(), notes=SHORT, program=0) -> Song:
    return Song(tracks=(new_track(0, "Piano", program=program, notes=tuple(notes), controls=tuple(controls)),),
                tempos=(TempoChange.from_bpm(0, 120),))


def test_controls_are_in_the_stream_before_notes_of_the_same_tick():
    song = _piano([ControlChange(0, 64, 127), ControlChange(240, PITCH_BEND, -4096), ControlChange(960, 64, 0)])
    _, events = compile_events(song)
    kinds = [(e.tick, e.kind, e.data1, e.data2) for e in events]
    assert kinds == [(0, CONTROL, 64, 127), (0, NOTE_ON, 60, 100), (60, 0x80, 60, 0),
                     (240, PITCH_BEND_EVENT, 0, -4096), (960, CONTROL, 64, 0)]


def test_controller_state_is_the_value_in_force_or_the_resting_value():
    song = _piano([ControlChange(480, 64, 127), ControlChange(960, 64, 0), ControlChange(480, 11, 90),
                   ControlChange(700, PITCH_BEND, 3000), ControlChange(2000, 7, 30)])
    song = song.with_track(0, replace(song.tracks[0], volume=88))
    layout = {0: 0}

    def state(tick):
        return {(e.kind, e.data1): e.data2 for e in controller_state(song, layout, tick)}

    assert state(0) == {(CONTROL, 7): 88, (CONTROL, 11): 127, (CONTROL, 64): 0, (PITCH_BEND_EVENT, 0): 0}
    assert state(800) == {(CONTROL, 7): 88, (CONTROL, 11): 90, (CONTROL, 64): 127, (PITCH_BEND_EVENT, 0): 3000}
    assert state(3000) == {(CONTROL, 7): 30, (CONTROL, 11): 90, (CONTROL, 64): 0, (PITCH_BEND_EVENT, 0): 3000}
    assert controller_state(_piano(), layout, 100) == []  # a track without changes sends nothing


def test_scheduler_chases_the_pedal_on_seek_and_play():
    song = _piano([ControlChange(0, 64, 127), ControlChange(4 * PPQ, 64, 0)],
                  notes=[Note(0, 60, PPQ, 100), Note(6 * PPQ, 62, PPQ, 100)])
    s = Scheduler(song)
    first = s.start(0.0, tick=2 * PPQ)  # inside the held pedal
    pedal = [e.data2 for e in first if e.kind == CONTROL and e.data1 == CC_SUSTAIN]
    assert pedal == [127]
    later = s.seek(5 * PPQ, now=0.01)  # after it was released
    assert [e.data2 for e in later if e.kind == CONTROL and e.data1 == CC_SUSTAIN] == [0]
    # played through, the release at beat 4 comes from the song itself
    s.seek(3 * PPQ, now=0.02)
    out = []
    t = 0.02
    while t < 1.5:
        t += 0.01
        out += s.advance(t)
    assert [(e.tick, e.data2) for e in out if e.kind == CONTROL and e.data1 == CC_SUSTAIN] == [(4 * PPQ, 0)]


def _rms(y: np.ndarray, start: float, end: float) -> float:
    part = y[int(start * SR):int(end * SR)]
    return float(np.sqrt(np.mean(part ** 2))) if len(part) else 0.0


def test_sustain_pedal_audibly_holds_a_short_note(soundfont):
    """A 60 ms piano note: without the pedal it dies away at once after its note-off; with the
    pedal held for 1.5 s it still sounds a second later."""
    dry = render_song(_piano(), soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
    held = render_song(_piano([ControlChange(0, 64, 127), ControlChange(3 * PPQ, 64, 0)]),
                       soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
    onset = _rms(held, 0.0, 0.1)
    assert onset > 0.003 and _rms(dry, 0.0, 0.1) == pytest.approx(onset, rel=0.2)
    assert _rms(held, 0.8, 1.2) > 0.1 * onset  # still ringing under the pedal
    assert _rms(dry, 0.8, 1.2) < 0.02 * onset  # released: gone
    assert len(held) > len(dry) + 0.8 * SR  # the render also lasts until the pedal is let go


def _pitch(y: np.ndarray, start: float, end: float) -> float:
    part = y[int(start * SR):int(end * SR)]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)), n=1 << 17))
    freqs = np.fft.rfftfreq(1 << 17, 1 / SR)
    band = (freqs > 300) & (freqs < 700)
    return float(freqs[band][np.argmax(spectrum[band])])


def test_pitch_bend_moves_the_pitch_measured_by_fft(soundfont):
    """A4 on an organ for 2 s; from 1 s on the bend is +4096 (one semitone up at the GM default
    range of two): the spectrum peak moves from 440 Hz to 466 Hz."""
    song = _piano([ControlChange(2 * PPQ, PITCH_BEND, 4096)], notes=[Note(0, 69, 4 * PPQ, 100)], program=19)
    y = render_song(song, soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
    before, after = _pitch(y, 0.3, 0.95), _pitch(y, 1.2, 1.9)
    assert before == pytest.approx(440.0, abs=4)
    assert after == pytest.approx(440.0 * 2 ** (1 / 12), abs=4)


def test_volume_change_makes_the_rest_quieter(soundfont):
    notes = [Note(i * PPQ, 69, PPQ // 2, 100) for i in range(4)]
    loud = render_song(_piano(notes=notes), soundfont=soundfont, sample_rate=SR).audio.mean(axis=1)
    quiet = render_song(_piano([ControlChange(2 * PPQ, 7, 30)], notes=notes), soundfont=soundfont,
                        sample_rate=SR).audio.mean(axis=1)
    assert _rms(quiet, 0.0, 0.25) == pytest.approx(_rms(loud, 0.0, 0.25), rel=0.05)
    assert _rms(quiet, 1.0, 1.25) < 0.3 * _rms(loud, 1.0, 1.25)
