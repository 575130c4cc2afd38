import pytest

from gtzcomposer.core import AddNotes, EditError, MoveNotes, Note, UpdateTrack
from gtzcomposer.ui.document import SongDocument
from tests.helpers import melody_song, two_track_song


@pytest.fixture
def doc(qtbot):
    return SongDocument(melody_song())


def test_push_undo_redo_restore_exactly(doc):
    original = doc.song
    changes = []
    doc.songChanged.connect(changes.append)
    doc.push(AddNotes(0, [Note(0, 90, 10)]))
    assert doc.modified and doc.undo_stack.undoText() == "Add notes"
    doc.undo_stack.undo()
    assert doc.song == original and not doc.modified
    doc.undo_stack.redo()
    assert Note(0, 90, 10) in doc.song.tracks[0].notes
    assert len(changes) == 3


def test_bad_edit_pushes_nothing(doc):
    with pytest.raises(EditError):
        doc.push(AddNotes(5, [Note(0, 60, 1)]))
    assert doc.undo_stack.count() == 0


def test_drag_merges_into_one_step_and_separate_drags_do_not(doc):
    original = doc.song
    n = original.tracks[0].notes[0]
    doc.push(MoveNotes(0, [n], 10), merge_key="drag-1")
    doc.push(MoveNotes(0, [n.moved(10)], 10), merge_key="drag-1")
    doc.push(MoveNotes(0, [n.moved(20)], 0, 1), merge_key="drag-2")
    assert doc.undo_stack.count() == 2
    doc.undo_stack.undo()
    assert doc.song.tracks[0].notes[0] == n.moved(20)
    doc.undo_stack.undo()
    assert doc.song == original
    doc.undo_stack.redo()
    assert doc.song.tracks[0].notes[0] == n.moved(20)


def test_set_song_resets_history_and_path(doc, tmp_path):
    doc.push(UpdateTrack(0, (("name", "x"),)))
    paths = []
    doc.pathChanged.connect(paths.append)
    doc.set_song(two_track_song(), tmp_path / "a.gtzc")
    assert doc.undo_stack.count() == 0 and not doc.modified
    assert doc.path == tmp_path / "a.gtzc" and paths == [tmp_path / "a.gtzc"]
    doc.current_track = 2
    assert doc.current_track == 2
    doc.set_song(melody_song())
    assert doc.current_track == 0 and doc.path is None
    doc.push(UpdateTrack(0, (("name", "y"),)))
    doc.mark_saved()
    assert not doc.modified
