"""The continuation workflow in the real window: the panel, the ghost notes, Accept, Audition and
the project, driven through the widgets with the bundled melody model."""

from __future__ import annotations

import pytest

from gtzcomposer.core import Song, TimeSignature
from gtzcomposer.resources import model_path
from tests.helpers import melody_song, two_track_song
from tests.ui.mw_helpers import Speaker, make_window

pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")
BAR = 1920


def window_with_panel(qtbot, song, **kw):
    w = make_window(qtbot, song, **kw)
    w.resize(1200, 800)
    w.show()
    panel = w.continue_dock.ensure_panel()
    panel.bars.setValue(1)
    panel.variations.setValue(2)
    panel.seed_box.setValue(5)
    return w, panel


def generate(qtbot, panel):
    with qtbot.waitSignal(panel.variationsReady, timeout=30000) as got:
        panel.generate_button.click()
    return got.args[0]


def test_accept_after_switching_tracks_writes_to_the_track_it_was_made_for(qtbot):
    """Generate on track 0, select track 1, Accept: once the bass line got the melody's notes."""
    song = two_track_song()
    w, panel = window_with_panel(qtbot, song)
    first = generate(qtbot, panel)[0]
    w.document.current_track = 1  # the user clicks the bass track
    assert w.editor.controller.ghost_variation == tuple(sorted(first.notes))  # still shown, in the lead's colour
    assert w.editor.controller.ghost_color == song.tracks[0].color
    panel.accept_button.click()
    after = w.document.song
    assert set(first.notes) <= set(after.tracks[0].notes)
    assert after.tracks[1] == song.tracks[1]


def middle_song() -> Song:
    """Three bars of melody: the continuation of the first two lands on the third."""
    pitches = [67, 69, 71, 72, 74, 72, 71, 69, 67, 66, 67, 69]
    return melody_song(pitches=pitches, step=480)


def select_first_two_bars(w):
    notes = [n for n in w.document.song.tracks[0].notes if n.start < 2 * BAR]
    w.editor.controller.set_selection(notes)


def test_continuing_mid_track_replaces_the_bars_after_the_selection_by_default(qtbot):
    song = middle_song()
    w, panel = window_with_panel(qtbot, song)
    select_first_two_bars(w)
    first = generate(qtbot, panel)[0]
    replaced = [n for n in song.tracks[0].notes if 2 * BAR <= n.start < 3 * BAR]
    ctl = w.editor.controller
    # the preview hides what Accept replaces (a replaced note the continuation plays again stays)
    assert ctl.ghost_covered == {0: frozenset(set(replaced) - set(first.notes))} and replaced
    panel.accept_button.click()
    notes = w.document.song.tracks[0].notes
    in_bar = [n for n in notes if 2 * BAR <= n.start < 3 * BAR]
    assert in_bar == sorted(first.notes)  # nothing stacked on the old notes
    assert not any(a.end > b.start for a, b in zip(notes, notes[1:]))  # no overlaps
    w.document.undo_stack.undo()
    assert w.document.song == song


def test_insert_shifts_the_later_notes_and_new_track_leaves_the_track_alone(qtbot):
    song = middle_song()
    w, panel = window_with_panel(qtbot, song)
    select_first_two_bars(w)
    panel.set_write_mode("insert")
    first = generate(qtbot, panel)[0]
    later = [n for n in song.tracks[0].notes if n.start >= 2 * BAR]
    assert w.editor.controller.ghost_covered == {0: frozenset(set(later) - set(first.notes) - {n.moved(BAR) for n in later})}
    panel.accept_button.click()
    notes = w.document.song.tracks[0].notes
    assert [n for n in notes if 2 * BAR <= n.start < 3 * BAR] == sorted(first.notes)
    assert [n for n in notes if n.start >= 3 * BAR] == [n.moved(BAR) for n in later]
    assert w.document.undo_stack.count() == 1

    w.document.undo_stack.undo()
    select_first_two_bars(w)
    panel.set_write_mode("new_track")
    first = generate(qtbot, panel)[0]
    assert w.editor.controller.ghost_covered == {}
    panel.accept_button.click()
    after = w.document.song
    assert after.tracks[0] == song.tracks[0] and after.tracks[1].notes == tuple(sorted(first.notes))
    assert w.document.current_track == 1 and w.document.undo_stack.count() == 1


def test_a_project_keeps_the_continue_panels_settings(qtbot, tmp_path):
    w, panel = window_with_panel(qtbot, melody_song())
    panel.style_box.setCurrentText("folk")
    panel.bars.setValue(12)
    panel.variations.setValue(3)
    panel.temperature.setValue(1.3)
    panel.key_lock.setChecked(True)
    panel.set_write_mode("new_track")
    assert w.files.save_to(tmp_path / "folk.gtzc")
    w2 = make_window(qtbot)
    with qtbot.waitSignal(w2.files.fileLoaded, timeout=10000):
        w2.files.open_file(tmp_path / "folk.gtzc")
    p2 = w2.continue_dock.ensure_panel()  # the panel is built after the project opened
    s = p2.settings()
    assert (s.style, s.bars, s.variations, s.temperature, s.key_lock) == ("folk", 12, 3, 1.3, True)
    assert p2.write_mode().value == "new_track"


def test_audition_without_an_audio_device_says_why(qtbot):
    w, panel = window_with_panel(qtbot, melody_song(), make_playback=Speaker(audio=False, reason="no audio device"))
    w.playback.start_probe(background=False)
    generate(qtbot, panel)
    w.statusBar().clearMessage()
    panel.audition_button.click()
    assert w.statusBar().currentMessage() == "Cannot audition: no audio device"


def test_audition_plays_the_song_as_accept_would_leave_it(qtbot):
    speaker = Speaker()
    song = middle_song()
    w, panel = window_with_panel(qtbot, song, make_playback=speaker)
    w.playback.start_probe(background=False)
    select_first_two_bars(w)
    first = generate(qtbot, panel)[0]
    panel.audition_button.click()
    speaker.run(2 * 60 / 120 * 4 + 0.5)  # from bar 2 (the bar before the continuation) through bar 3
    heard = [p for _ch, p in speaker.notes_on()]
    expected = [n.pitch for n in sorted(first.notes)]
    assert heard[-len(expected):] == expected  # the continuation, not the replaced notes
    assert w.document.song == song  # auditioning changes nothing


def test_a_meter_the_grid_cannot_hold_is_one_sentence(qtbot):
    song = melody_song()
    song = Song(tracks=song.tracks, tempos=song.tempos, time_signatures=(TimeSignature(0, 5, 32),))
    w, panel = window_with_panel(qtbot, song)
    with qtbot.waitSignal(panel.errorOccurred, timeout=30000) as err:
        panel.generate_button.click()
    assert "16th-note grid" in err.args[0] and w.document.song == song


def test_new_open_clears_the_offer(qtbot):
    w, panel = window_with_panel(qtbot, melody_song())
    generate(qtbot, panel)
    assert w.editor.controller.ghost_variation
    w.files.new_file()
    assert w.editor.controller.ghost_variation is None and panel.current_offer() is None
