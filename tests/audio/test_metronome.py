import numpy as np
import pytest

from gtzcomposer.audio.events import NOTE_ON
from gtzcomposer.audio.metronome import ACCENT_PITCH, BEAT_PITCH, click_ticks, with_click
from gtzcomposer.audio.player import Player
from gtzcomposer.core import PPQ, Note, Song, TempoChange, TimeSignature, new_track
from tests.audio.fakes import ListSink


def test_clicks_follow_the_meter_map():
    s = Song(time_signatures=(TimeSignature(0, 4, 4), TimeSignature(4 * PPQ, 3, 4), TimeSignature(7 * PPQ, 6, 8)))
    clicks = click_ticks(s, 7 * PPQ + 2 * 3 * PPQ)
    assert clicks[:4] == [(0, True), (PPQ, False), (2 * PPQ, False), (3 * PPQ, False)]
    assert clicks[4:7] == [(4 * PPQ, True), (5 * PPQ, False), (6 * PPQ, False)]
    # 6/8 is compound: two dotted-quarter clicks per bar
    assert clicks[7:] == [(7 * PPQ, True), (7 * PPQ + 720, False), (10 * PPQ, True), (10 * PPQ + 720, False)]


def test_with_click_adds_a_track_to_the_end_of_the_last_bar_and_leaves_the_song():
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, 100), Note(5 * PPQ, 62, 100))),))
    clicked = with_click(song)
    assert len(clicked.tracks) == 2 and song.tracks == clicked.tracks[:1]
    click = clicked.tracks[1]
    assert click.is_drum and [n.start for n in click.notes] == [i * PPQ for i in range(8)]
    assert [n.pitch for n in click.notes[:5]] == [ACCENT_PITCH, BEAT_PITCH, BEAT_PITCH, BEAT_PITCH, ACCENT_PITCH]
    assert len(with_click(Song()).tracks[0].notes) == 4  # an empty song still clicks one bar
    soloed = Song(tracks=(new_track(0, notes=(Note(0, 60, 100),), solo=True),))
    assert with_click(soloed).audible_tracks() == (0, 1)  # a solo does not silence the click


def test_service_adds_the_click_to_what_it_plays_only_while_on(qtbot):
    from gtzcomposer.services.playback import PlaybackService

    sink = ListSink()
    svc = PlaybackService(player=Player(sink), poll_ms=10)
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ),)),), tempos=(TempoChange.from_bpm(0, 480),))
    svc.setSong(song)
    svc.setMetronome(True)
    assert svc.metronome()
    with qtbot.waitSignal(svc.finished, timeout=5000):
        assert svc.play()
    pitches = [e.data1 for e in sink.events if e.kind == NOTE_ON]
    assert sorted(pitches) == sorted([60, ACCENT_PITCH, BEAT_PITCH, BEAT_PITCH, BEAT_PITCH])
    sink.got.clear()
    svc.setMetronome(False)
    with qtbot.waitSignal(svc.finished, timeout=5000):
        assert svc.play(0)
    assert [e.data1 for e in sink.events if e.kind == NOTE_ON] == [60]
    svc.close()


@pytest.mark.slow
def test_rendered_click_sounds_on_every_beat():
    import librosa

    from gtzcomposer.audio.render import render_song
    from gtzcomposer.audio.soundfont import bundled_soundfont

    song = with_click(Song(tempos=(TempoChange.from_bpm(0, 120),)), until=8 * PPQ)
    result = render_song(song, None, soundfont=bundled_soundfont(), sample_rate=22050)
    lead = 0.25  # silence before the first click, so that onset detection can see it
    mono = np.concatenate([np.zeros(int(lead * 22050), np.float32), result.audio.mean(axis=1)])
    onsets = librosa.onset.onset_detect(y=mono, sr=22050, hop_length=128, units="time") - lead
    assert len(onsets) == 8, onsets
    assert np.max(np.abs(onsets - np.arange(8) * 0.5)) < 0.03, onsets
