"""The window and hostile files: opening any fuzz case (tests/fuzz_cases.py) shows an error
dialog and keeps the current song, or opens it; the largest song the app accepts is drawn at
every zoom without a crash."""

import os
import sys

import pytest

from gtzcomposer.core import Note, Song, new_track
from gtzcomposer.core.limits import MAX_SONG_TICK
from gtzcomposer.ui.pianoroll.geometry import MAX_PX_PER_TICK, MIN_PX_PER_TICK
from tests.fuzz_cases import SONG_EXTS, cleanup, make_cases
from tests.helpers import two_track_song
from tests.ui.mw_helpers import Dialogs, make_window

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FIFOs are Linux's")]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    folder = tmp_path_factory.mktemp("window-cases")
    made = [c for c in make_cases(folder, seed=1, scale="ci") if c.path.endswith(SONG_EXTS) and not c.heavy]
    yield made
    cleanup(folder)


def open_and_wait(qtbot, w, path) -> str:
    """Open ``path`` as the user does (read on the window's worker); 'loaded' or 'failed'."""
    outcome = []

    def loaded(_path):
        outcome.append("loaded")

    def failed(_message):
        outcome.append("failed")

    w.files.fileLoaded.connect(loaded)
    w.files.fileFailed.connect(failed)
    try:
        w.files.open_file(path, ask=False)
        qtbot.waitUntil(lambda: bool(outcome), timeout=60000)
    finally:
        w.files.fileLoaded.disconnect(loaded)
        w.files.fileFailed.disconnect(failed)
    return outcome[0]


def test_every_hostile_file_gives_an_error_dialog_or_opens(qtbot, monkeypatch, cases):
    dialogs = Dialogs(monkeypatch)
    w = make_window(qtbot, two_track_song())
    w.resize(900, 600)
    w.show()
    refused = opened = 0
    for case in cases:
        before = w.document.song
        shown = len(dialogs.errors)
        outcome = open_and_wait(qtbot, w, case.path)
        w.grab()  # a frame is drawn either way
        assert (outcome == "failed") == (len(dialogs.errors) > shown), case
        if outcome == "failed":
            refused += 1
            assert len(dialogs.errors) == shown + 1, case
            title, text = dialogs.errors[-1]
            assert title.startswith("Cannot open") and text, case
            assert w.document.song is before, f"{case.name}: the current song was replaced"
        else:
            opened += 1
            readable = ("valid", "extreme", "flipped", "truncated", "wrong-extension", "huge-length")
            assert case.kind in readable or (case.kind == "unreadable" and os.geteuid() == 0), case
            w.editor.zoom_in()
            w.grab()
    assert refused > 40 and opened > 5
    for name in ("x-note-at-2^31-ppq1.mid", "x-note-2^40-long.gtzc", "x-loop-to-2^40.gtzc", "fifo.mid", "loop.gtzc"):
        assert any(name in text for _, text in dialogs.errors), name
    w.shutdown()


def test_a_refused_file_names_the_offending_event(qtbot, monkeypatch, cases):
    dialogs = Dialogs(monkeypatch)
    w = make_window(qtbot, two_track_song())
    before = w.document.song
    far = next(c for c in cases if c.name == "x-note-2^40-long.gtzc")
    assert open_and_wait(qtbot, w, far.path) == "failed"
    assert len(dialogs.errors) == 1 and "beyond the last tick" in dialogs.errors[0][1]
    assert w.document.song is before
    w.shutdown()


def test_the_largest_song_accepted_is_drawn_at_every_zoom(qtbot):
    song = Song(tracks=(new_track(0, notes=(Note(0, 60, 480), Note(MAX_SONG_TICK - 480, 72, 480))),))
    w = make_window(qtbot, song)
    w.resize(900, 600)
    w.show()
    ctl = w.editor.controller
    for px in (MIN_PX_PER_TICK, 0.1, MAX_PX_PER_TICK):
        ctl.geometry.px_per_tick = px
        ctl.scroll_to_tick(MAX_SONG_TICK - 480)
        ctl.viewChanged.emit()
        qtbot.wait(1)
        image = w.grab()
        assert not image.isNull()
    assert w.editor.hbar.maximum() > 0
    w.shutdown()
