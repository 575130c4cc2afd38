"""Random sequences of piano-roll operations: every one is a single undo step, undoing all of
them gives back the original song exactly and redoing all gives the final one."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gtzcomposer.core import Note
from gtzcomposer.ui.document import SongDocument
from gtzcomposer.ui.pianoroll import RollController
from tests.helpers import random_song

OPS = ("select_some", "transpose", "nudge", "quantize", "velocity", "delete", "copy_paste",
       "duplicate", "resize_left", "resize_right", "draw", "erase", "cut", "track")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), ops=st.lists(st.tuples(st.sampled_from(OPS), st.integers(0, 10**6)), max_size=14))
def test_random_operations_undo_and_redo_exactly(qtbot, seed, ops):
    doc = SongDocument(random_song(seed, n_tracks=3, n_notes=30))
    ctl = RollController(doc)
    original = doc.song
    for op, r in ops:
        before, steps = doc.song, doc.undo_stack.index()
        notes = ctl.index().notes
        if op == "select_some":
            ctl.set_selection(notes[r % max(1, len(notes)):][: 1 + r % 7])
        elif op == "transpose":
            ctl.transpose_selection((r % 25) - 12)
        elif op == "nudge":
            ctl.nudge_selection(((r % 9) - 4) * 120)
        elif op == "quantize":
            ctl.quantize_selection((120, 240, 160)[r % 3], strength=(r % 5) / 4, lengths=bool(r % 2))
        elif op == "velocity":
            sel = ctl.selected_notes()
            ctl.set_velocities(sel, [1 + (r + i) % 127 for i in range(len(sel))])
        elif op == "delete":
            ctl.delete_selection()
        elif op == "copy_paste":
            ctl.copy()
            ctl.paste(r % 20_000)
        elif op == "duplicate":
            ctl.duplicate()
        elif op == "resize_left":
            ctl.resize_notes(ctl.selected_notes(), (r % 481) - 240, 0)
        elif op == "resize_right":
            ctl.resize_notes(ctl.selected_notes(), 0, (r % 961) - 480)
        elif op == "draw":
            ctl.add_note(Note(r % 30_000, r % 128, 1 + r % 960, 1 + r % 127))
        elif op == "erase" and notes:
            ctl.erase(notes[r % len(notes): r % len(notes) + 2])
        elif op == "cut":
            ctl.cut()
        elif op == "track":
            doc.current_track = r % 3
        assert doc.undo_stack.index() - steps in (0, 1)  # at most one step per operation
        if doc.undo_stack.index() == steps:
            assert doc.song == before  # no step: no change
        assert all(ctl.index().contains(n) for n in ctl.selected_notes())
    final = doc.song
    while doc.undo_stack.canUndo():
        doc.undo_stack.undo()
    assert doc.song == original
    while doc.undo_stack.canRedo():
        doc.undo_stack.redo()
    assert doc.song == final
