"""load_song / save_song pick the format by extension; the content must match it."""

from __future__ import annotations

import pytest

from gtzcomposer.core import GtzError
from gtzcomposer.io import (
    MidiError,
    MusicXMLError,
    ProjectError,
    UnknownFormatError,
    load_song,
    save_song,
    song_format,
)
from tests.helpers import melody_song, two_track_song


@pytest.mark.parametrize("name, fmt", [("a.mid", "midi"), ("A.MIDI", "midi"), ("a.musicxml", "musicxml"),
                                       ("a.xml", "musicxml"), ("a.mxl", "musicxml"), ("a.gtzc", "project")])
def test_song_format(name, fmt):
    assert song_format(name) == fmt


@pytest.mark.parametrize("name", ["a.txt", "a", "a.mid.bak", "a.wav"])
def test_unknown_extensions(tmp_path, name):
    with pytest.raises(UnknownFormatError, match=f"^{name}: unknown file type"):
        load_song(tmp_path / name)
    with pytest.raises(UnknownFormatError):
        save_song(melody_song(), tmp_path / name)
    assert issubclass(UnknownFormatError, GtzError)


@pytest.mark.parametrize("ext", [".mid", ".gtzc"])
def test_exact_formats_roundtrip(tmp_path, ext):
    assert save_song(two_track_song(), tmp_path / f"s{ext}") == []
    assert load_song(tmp_path / f"s{ext}") == two_track_song()


def test_musicxml_through_formats(tmp_path):
    assert save_song(melody_song(), tmp_path / "s.mxl") == []
    assert load_song(tmp_path / "s.mxl").tracks[0].notes == melody_song().tracks[0].notes


@pytest.mark.parametrize("written, renamed, error, what", [
    (".mid", "x.musicxml", MusicXMLError, "it looks like a MIDI file"),
    (".mid", "x.gtzc", ProjectError, "it looks like a MIDI file"),
    (".gtzc", "x.mid", MidiError, "it looks like a gtzcomposer project"),
    (".gtzc", "x.xml", MusicXMLError, "it looks like a gtzcomposer project"),
    (".musicxml", "x.mid", MidiError, "it looks like a MusicXML file"),
    (".musicxml", "x.gtzc", ProjectError, "it looks like a MusicXML file"),
    (".mxl", "x.mid", MidiError, "it looks like a ZIP archive"),
    (".mxl", "x.gtzc", ProjectError, "it looks like a ZIP archive"),
])
def test_content_that_does_not_match_its_extension(tmp_path, written, renamed, error, what):
    source = tmp_path / f"s{written}"
    save_song(melody_song(), source)
    source.rename(tmp_path / renamed)
    with pytest.raises(error, match=what):
        load_song(tmp_path / renamed)


# --- only regular files are read ----------------------------------------------------------------
@pytest.mark.parametrize("ext", [".mid", ".musicxml", ".mxl", ".gtzc"])
def test_a_named_pipe_is_refused_at_once(tmp_path, ext):
    """Opening a FIFO nobody writes to used to block `info` and `convert` for ever."""
    import os

    from gtzcomposer.core import GtzError
    from gtzcomposer.io.formats import load_song

    fifo = tmp_path / f"pipe{ext}"
    os.mkfifo(fifo)
    with pytest.raises(GtzError, match=rf"pipe\{ext}: is a named pipe \(FIFO\), not a regular"):
        load_song(fifo)


def test_a_symlink_loop_is_refused(tmp_path):
    from gtzcomposer.core import GtzError
    from gtzcomposer.io.formats import load_song

    loop = tmp_path / "loop.mid"
    loop.symlink_to(loop)
    with pytest.raises(GtzError, match="loop.mid: could not be read"):
        load_song(loop)
