"""Load and save songs by file extension: .mid/.midi, .musicxml/.xml/.mxl, .gtzc."""

from __future__ import annotations

from pathlib import Path

from ..core import GtzError, Song

SONG_FORMATS = {
    ".mid": "midi",
    ".midi": "midi",
    ".musicxml": "musicxml",
    ".xml": "musicxml",
    ".mxl": "musicxml",
    ".gtzc": "project",
}


class UnknownFormatError(GtzError):
    pass


def song_format(path: str | Path) -> str:
    ext = Path(path).suffix.lower()
    try:
        return SONG_FORMATS[ext]
    except KeyError:
        known = ", ".join(sorted(SONG_FORMATS))
        raise UnknownFormatError(
            f"{Path(path).name}: unknown file type {ext or '(no extension)'!r}; use one of {known}"
        ) from None


def load_song(path: str | Path) -> Song:
    """Read a song from any supported file; raises the format's own GtzError subclass."""
    fmt = song_format(path)
    if fmt == "midi":
        from .midi import midi_to_song

        return midi_to_song(path)
    if fmt == "musicxml":
        from .musicxml import musicxml_to_song

        return musicxml_to_song(path)
    from .project import load_project

    return load_project(path).song


def load_any(path: str | Path, progress=None, is_cancelled=None):
    """A :class:`~gtzcomposer.io.project.Project` from any song file: a ``.gtzc`` as saved, a
    MIDI or MusicXML file as a project holding just its song (titled after the file when it has
    no title). A task for the window's loader (``progress``/``is_cancelled`` are not used: one
    file reads in one go)."""
    from dataclasses import replace

    from .project import Project, load_project

    path = Path(path)
    if not path.is_file():
        raise GtzError(f"{path.name}: no such file")
    if song_format(path) == "project":
        return load_project(path)
    song = load_song(path)
    return Project(song=song if song.title else replace(song, title=path.stem))


def save_song(song: Song, path: str | Path) -> list[str]:
    """Write a song; returns notes for the user (e.g. what notation had to quantise)."""
    fmt = song_format(path)
    if fmt == "midi":
        from .midi import song_to_midi

        song_to_midi(song, path)
        return []
    if fmt == "musicxml":
        from .musicxml import song_to_musicxml

        return list(song_to_musicxml(song, path) or [])
    from .project import Project, save_project

    save_project(Project(song=song), path)
    return []
