"""File formats: MIDI, MusicXML, the .gtzc project file (and, elsewhere, audio loading).

Every reader raises only its format's error (a :class:`~gtzcomposer.core.GtzError` subclass with a
sentence naming the file and the problem). Heavy libraries (mido, music21) load inside the
functions that need them, so importing this package is cheap.
"""

from .formats import SONG_FORMATS, UnknownFormatError, load_song, save_song, song_format
from .midi import MidiError, midi_to_song, song_to_midi, song_to_midi_bytes
from .musicxml import MusicXMLError, musicxml_to_song, quantize_for_notation, song_to_musicxml
from .project import Project, ProjectError, load_project, save_project, song_from_dict, song_to_dict

__all__ = [
    "SONG_FORMATS", "UnknownFormatError", "load_song", "save_song", "song_format",
    "MidiError", "midi_to_song", "song_to_midi", "song_to_midi_bytes",
    "MusicXMLError", "musicxml_to_song", "quantize_for_notation", "song_to_musicxml",
    "Project", "ProjectError", "load_project", "save_project", "song_from_dict", "song_to_dict",
]
