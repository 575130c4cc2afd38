"""The Continue panel: generate in the background, browse variations, audition, accept (undoable)."""

from __future__ import annotations

import pytest

from gtzcomposer.core import Note, apply
from gtzcomposer.core.continuation import Part, WriteMode
from gtzcomposer.core.generation import GenerationSettings
from gtzcomposer.resources import model_path
from tests.helpers import melody_song, two_track_song

pytest.importorskip("pytestqt")
pytestmark = pytest.mark.skipif(not model_path("melody").exists(), reason="bundled melody model not built")


@pytest.fixture
def panel(qtbot):
    from gtzcomposer.ui.continue_panel import ContinuePanel

    p = ContinuePanel()
    qtbot.addWidget(p)
    yield p
    p.runner.cancel()
    p.runner.wait(5000)


def test_generate_browse_accept(panel, qtbot):
    song = melody_song(meter=(6, 8), key="E minor")
    seed = song.tracks[0].notes
    assert not panel.generate_button.isEnabled()  # nothing selected yet
    panel.set_seed(seed, song)
    assert panel.generate_button.isEnabled()
    assert [panel.style_box.itemText(i) for i in range(panel.style_box.count())] == \
           ["classical", "folk", "chinese", "irish", "scottish", "jazz", "blues", "pop",
            "country", "disco", "hiphop", "metal", "reggae", "rock"]
    panel.style_box.setCurrentText("irish")
    panel.bars.setValue(2)
    panel.variations.setValue(3)
    panel.seed_box.setValue(11)
    with qtbot.waitSignal(panel.variationsReady, timeout=20000) as ready:
        panel.generate_button.click()
    variations = ready.args[0]
    assert len(variations) == 3
    bar = song.time_signatures[0].bar_ticks
    for v in variations:
        assert v.notes[0].start == seed[-1].end and max(n.end for n in v.notes) <= seed[-1].end + 2 * bar
    assert panel.current_variation is variations[0]
    assert not panel.prev_button.isEnabled() and panel.next_button.isEnabled()

    with qtbot.waitSignal(panel.currentVariationChanged) as changed:
        panel.next_button.click()
    assert changed.args == [1, variations[1]]
    with qtbot.waitSignal(panel.currentVariationChanged) as changed:
        panel.prev_button.click()
    assert changed.args == [0, variations[0]]
    panel.next_variation()
    panel.next_variation()
    panel.next_variation()  # clamps at the last one
    assert panel.current_variation is variations[2] and not panel.next_button.isEnabled()

    with qtbot.waitSignal(panel.auditionRequested) as audition:
        panel.audition_button.click()
    offer = audition.args[0]
    assert offer.parts == (Part(0, tuple(variations[2].notes)),) and offer.mode is WriteMode.REPLACE
    assert offer.start == seed[-1].end and offer.end == seed[-1].end + 2 * bar

    panel.set_write_mode("insert")
    with qtbot.waitSignal(panel.acceptRequested) as accepted:
        panel.accept_button.click()
    offer = accepted.args[0]
    assert offer.notes == tuple(variations[2].notes) and all(isinstance(n, Note) for n in offer.notes)
    assert offer.mode is WriteMode.INSERT
    assert panel.current_variation is None and not panel.accept_button.isEnabled()

    # what the window does with it: one undoable edit
    new_song, inverse = apply(song, offer.place(song).edit)
    assert new_song.tracks[0].notes == tuple(sorted(seed + offer.notes))
    undone, _ = apply(new_song, inverse)
    assert undone.tracks[0].notes == seed


def test_the_offer_keeps_the_track_it_was_made_for(panel, qtbot):
    song = two_track_song()
    panel.set_seed(song.tracks[1].notes, song, track=1)
    panel.bars.setValue(1)
    with qtbot.waitSignal(panel.variationsReady, timeout=20000):
        panel.generate(seed=2)
    panel.set_seed(song.tracks[0].notes, song, track=0)  # the user switched tracks
    assert panel.current_offer().parts[0].track == 1


def test_settings_round_trip_through_generation_settings(panel):
    settings = GenerationSettings(style="folk", bars=12, variations=3, temperature=1.3, top_p=0.8, seed=7,
                                  key_lock=True, strength=1.25)
    panel.set_settings(settings)
    assert panel.settings() == settings
    panel.set_settings(settings.replace(style="polka", seed=None))
    assert panel.settings().style == "folk" and panel.settings().seed is None and "polka" in panel.notice.text()


def test_same_seed_reproduces_and_regenerate_differs(panel, qtbot):
    song = melody_song()
    panel.set_seed(song.tracks[0].notes, song)
    panel.seed_box.setValue(3)
    runs = []
    for _ in range(2):
        with qtbot.waitSignal(panel.variationsReady, timeout=20000) as ready:
            panel.generate()
        runs.append([v.notes for v in ready.args[0]])
    assert runs[0] == runs[1]
    with qtbot.waitSignal(panel.variationsReady, timeout=20000) as ready:
        panel.regenerate_button.click()
    assert [v.notes for v in ready.args[0]] != runs[0]


def test_polyphonic_selection_notice_and_errors(panel, qtbot):
    song = melody_song()
    mel = song.tracks[0].notes
    panel.set_seed(tuple(mel) + tuple(Note(n.start, n.pitch - 7, n.duration) for n in mel), song)
    assert "top line" in panel.notice.text()
    with qtbot.waitSignal(panel.errorOccurred, timeout=20000) as err:
        panel.set_seed((Note(0, 60, 120),), song)
        panel.generate()
    assert "beat" in err.args[0] and "beat" in panel.status.text()
    panel.set_seed((), song)
    assert not panel.generate_button.isEnabled()


def test_cancel(panel, qtbot):
    song = melody_song()
    panel.set_seed(song.tracks[0].notes, song)
    panel.bars.setValue(32)
    panel.variations.setValue(16)
    got = []
    panel.variationsReady.connect(got.append)
    panel.generate()
    assert panel.cancel_button.isEnabled()
    panel.cancel()
    panel.runner.wait(10000)
    qtbot.wait(50)
    assert got == [] and panel.status.text() == "Cancelled." and panel.generate_button.isEnabled()


def test_generate_button_with_a_random_seed_reports_the_seed_it_drew(panel, qtbot):
    """The button's clicked(bool) once reached generate() as the seed: every click used seed 0 and
    the status said "(seed False)"."""
    import re

    song = melody_song(meter=(4, 4), key="G")
    panel.set_seed(song.tracks[0].notes, song)
    panel.seed_box.setValue(-1)  # random
    seeds, results = [], []
    for _ in range(2):
        with qtbot.waitSignal(panel.variationsReady, timeout=20000) as ready:
            panel.generate_button.click()
        m = re.search(r"\(seed (\d+)\)", panel.status.text())
        assert m, panel.status.text()
        seeds.append(int(m.group(1)))
        results.append([v.notes for v in ready.args[0]])
    assert seeds[0] != seeds[1] and results[0] != results[1]


def test_every_genre_is_offered_with_plain_words_for_stand_ins_and_chords_are_shown(panel, qtbot):
    from gtzcomposer.ml.genre import GENRES

    offered = [panel.style_box.itemText(i) for i in range(panel.style_box.count())]
    assert set(GENRES) | {"folk", "chinese", "irish", "scottish"} <= set(offered)
    panel.style_box.setCurrentText("reggae")
    assert "reggae has no melody data of its own" in panel.style_note.text() and "pop" in panel.style_note.text()
    panel.style_box.setCurrentText("jazz")
    assert panel.style_note.text() == ""
    panel.style_box.setCurrentText("disco")
    song = melody_song(key="G")
    panel.set_seed(song.tracks[0].notes, song)
    panel.seed_box.setValue(3)
    with qtbot.waitSignal(panel.variationsReady, timeout=60000):
        panel.generate()
    result = panel.result
    assert result.style == "disco" and result.model_style == "pop"
    assert "written in the pop style" in panel.status.text()
    text = panel.chords_label.text()
    assert text.startswith("Chords (proposed in pop)")
    first = result.chords_per_bar(song)[0]
    assert f"bar {first['bar']}: {first['chords'][0]['chord']}" in text
