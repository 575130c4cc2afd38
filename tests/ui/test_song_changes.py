"""Tempo, meter and key changes in the middle of a song, through the song panel's Changes menu:
added at the cursor (tempo) or at the start of the cursor's bar (meter, key), then edited with the
panel's editors, removed again; each one undoable step; tempo changes shown in the ruler."""

from __future__ import annotations

from gtzcomposer.core import PPQ, Note, Song, new_track
from gtzcomposer.core.timing import bar_at
from tests.ui.mw_helpers import make_window

BAR = 4 * PPQ


def _window(qtbot):
    song = Song(tracks=(new_track(0, "Tune", notes=tuple(Note(i * PPQ, 60 + i % 5, PPQ) for i in range(32))),))
    w = make_window(qtbot, song)
    return w, w.transport.song_panel


def _cursor(w, tick: int) -> None:
    w.editor.set_cursor(tick)
    assert w.transport.song_panel._cursor == tick


def test_a_tempo_change_at_the_cursor_then_edited_then_undone(qtbot):
    w, panel = _window(qtbot)
    original = w.document.song.tempos
    _cursor(w, 2 * BAR + PPQ)  # bar 3, beat 2
    w.resize(1280, 800)
    ruler = w.editor.ruler
    plain = ruler.grab().toImage()
    panel.update_change_actions()
    assert panel.add_tempo_action.isEnabled() and not panel.remove_tempo_action.isEnabled()
    panel.add_tempo_action.trigger()
    song = w.document.song
    assert [(t.tick, round(t.bpm)) for t in song.tempos] == [(0, 120), (2 * BAR + PPQ, 120)]
    panel.tempo_spin.setValue(90)  # edits the change in effect at the cursor: the new one
    assert [(t.tick, round(t.bpm)) for t in w.document.song.tempos] == [(0, 120), (2 * BAR + PPQ, 90)]
    panel.update_change_actions()
    assert not panel.add_tempo_action.isEnabled()  # there is one here already
    assert panel.remove_tempo_action.isEnabled() and "3.2.000" in panel.remove_tempo_action.text()
    assert ruler.grab().toImage() != plain  # the ruler shows the change (♩=90)
    _cursor(w, PPQ)  # before the change: the first tempo, which stays
    assert panel.tempo_spin.value() == 120
    panel.update_change_actions()
    assert not panel.remove_tempo_action.isEnabled()
    stack = w.document.undo_stack
    assert stack.undoText() == "Tempo 90 bpm"
    stack.undo()
    assert stack.undoText() == "Add tempo change at 3.2.000"
    stack.undo()
    assert w.document.song.tempos == original
    _cursor(w, 2 * BAR + PPQ)  # (the cursor is drawn in the ruler too)
    assert ruler.grab().toImage() == plain  # and no longer once it is undone


def test_removing_a_tempo_change_at_the_cursor(qtbot):
    w, panel = _window(qtbot)
    _cursor(w, BAR)
    panel.add_change("tempo")
    panel.tempo_spin.setValue(150)
    _cursor(w, BAR + 3 * PPQ)  # later in the bar: the change at bar 2 is in effect
    assert panel.remove_change("tempo")
    assert [t.tick for t in w.document.song.tempos] == [0]
    assert w.document.undo_stack.undoText() == "Remove tempo change at 2.1.000"
    w.document.undo_stack.undo()
    assert [(t.tick, round(t.bpm)) for t in w.document.song.tempos] == [(0, 120), (BAR, 150)]


def test_a_meter_change_starts_at_the_bar_and_moves_the_bar_lines_after_it(qtbot):
    w, panel = _window(qtbot)
    _cursor(w, 2 * BAR + 2 * PPQ)  # the middle of bar 3
    panel.add_meter_action.trigger()
    assert [(s.tick, s.numerator, s.denominator) for s in w.document.song.time_signatures] == [(0, 4, 4), (2 * BAR, 4, 4)]
    panel.numerator_spin.setValue(3)
    song = w.document.song
    assert [(s.tick, s.numerator) for s in song.time_signatures] == [(0, 4), (2 * BAR, 3)]
    assert bar_at(song, 2 * BAR + 3 * PPQ).start == 2 * BAR + 3 * PPQ  # bar 4 now starts after 3 beats
    assert bar_at(song, BAR + PPQ).start == BAR  # bars before it stay
    assert panel.remove_change("meter")
    assert [s.tick for s in w.document.song.time_signatures] == [0]
    _cursor(w, PPQ)
    assert not panel.remove_change("meter")  # the song's first meter stays


def test_a_key_change_at_a_bar_then_a_new_key_there(qtbot):
    w, panel = _window(qtbot)
    first = w.document.song.key_signatures
    assert [(k.tick, k.name) for k in first] == [(0, "C major")]
    _cursor(w, 3 * BAR + PPQ)
    panel.add_change("key")  # starts as the key in effect
    assert [(k.tick, k.name) for k in w.document.song.key_signatures] == [(0, "C major"), (3 * BAR, "C major")]
    panel.key_combo.setCurrentIndex(panel.key_combo.findText("D major"))
    assert [(k.tick, k.name) for k in w.document.song.key_signatures] == [(0, "C major"), (3 * BAR, "D major")]
    _cursor(w, BAR)
    assert panel.key_combo.currentText() == "C major"  # before the change: the first key
    _cursor(w, 3 * BAR)
    panel.update_change_actions()
    assert panel.remove_key_action.isEnabled()
    panel.remove_key_action.trigger()
    assert w.document.song.key_signatures == first


def test_tempo_labels_never_overlap_the_bar_numbers_when_zoomed_out(qtbot):
    from gtzcomposer.core import TempoChange

    tune = new_track(0, "Tune", notes=tuple(Note(i * PPQ, 60 + i % 5, PPQ) for i in range(256)))
    song = Song(tracks=(tune,), tempos=tuple(TempoChange.from_bpm(b * BAR, 100 + b) for b in range(64)))
    w = make_window(qtbot, song)
    w.resize(1280, 800)
    w.show()
    ruler = w.editor.ruler
    ruler.grab()
    assert any("♩=" in text for _r, text in ruler.drawn_labels)  # close up the tempos are there
    for _ in range(12):
        w.editor.zoom_out()
    ruler.grab()
    rects = [r for r, _t in ruler.drawn_labels]
    assert len(rects) > 4
    overlaps = [(a, b) for i, a in enumerate(rects) for b in rects[i + 1:] if a.adjusted(0, 0, 2, 0).intersects(b)]
    assert overlaps == []  # once "♩=…" ran over the next bar number
