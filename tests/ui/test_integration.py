"""The features working together in the real main window, with the real models and panels."""

import pytest

from tests.helpers import melody_song
from tests.ui.mw_helpers import make_window


@pytest.mark.slow
def test_continue_from_the_selection_shows_ghosts_and_accept_is_one_undo_step(qtbot):
    song = melody_song([60, 62, 64, 65, 67, 65, 64, 62, 60, 64, 67, 72, 67, 64, 62, 60])
    w = make_window(qtbot, song)
    w.resize(1200, 800)
    w.show()
    w.editor.select_all()
    w.continue_dock.show()
    panel = w.continue_dock.ensure_panel()
    qtbot.waitUntil(lambda: panel is not None and w.continue_dock.panel is panel, timeout=5000)
    panel.bars.setValue(2)
    with qtbot.waitSignal(panel.variationsReady, timeout=30000) as got:
        panel.generate(seed=3)
    variations = got.args[0]
    assert len(variations) >= 1
    first = variations[0]
    seed_end = max(n.end for n in song.tracks[0].notes)
    assert min(n.start for n in first.notes) >= seed_end
    # the current variation is drawn as ghost notes in the editor, in view
    assert w.editor.controller.ghost_variation == tuple(sorted(first.notes))
    lo, hi = w.editor.controller.geometry.visible_ticks(w.editor.controller.viewport[0])
    assert lo <= min(n.start for n in first.notes) < hi
    panel.next_variation()
    assert w.editor.controller.ghost_variation == tuple(sorted(variations[1].notes))
    panel.previous_variation()
    before = w.document.song
    panel.accept()
    after = w.document.song
    assert set(first.notes) <= set(after.tracks[0].notes)
    assert len(after.tracks[0].notes) == len(before.tracks[0].notes) + len(first.notes)
    assert w.editor.controller.ghost_variation is None
    w.document.undo_stack.undo()
    assert w.document.song == before
    w.document.undo_stack.redo()
    assert w.document.song == after
