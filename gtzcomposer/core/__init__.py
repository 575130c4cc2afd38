"""Song model, timing, transforms and edits. No Qt, no Keras, no file formats."""

from .edits import (
    AddNotes,
    AddTrack,
    Edit,
    EditError,
    Macro,
    MoveNotes,
    MoveTrack,
    RemoveNotes,
    RemoveTrack,
    ReplaceNotes,
    ResizeNotes,
    SetKeySignatures,
    SetTempos,
    SetTimeSignatures,
    SetTitle,
    SetVelocities,
    UpdateTrack,
    apply,
)
from .errors import GtzError
from .gm import GM_FAMILIES, GM_PROGRAM_NAMES, gm_family
from .song import (
    DRUM_CHANNEL,
    PPQ,
    KeySignature,
    Note,
    Song,
    SongError,
    TempoChange,
    TimeSignature,
    Track,
    free_channel,
    new_track,
    note_name,
)
from .timing import TempoMap, bar_at, bar_start, format_position, grid_ticks, iter_bars

__all__ = [
    "AddNotes", "AddTrack", "Edit", "EditError", "Macro", "MoveNotes", "MoveTrack", "RemoveNotes",
    "RemoveTrack", "ReplaceNotes", "ResizeNotes", "SetKeySignatures", "SetTempos",
    "SetTimeSignatures", "SetTitle", "SetVelocities", "UpdateTrack", "apply", "GtzError",
    "DRUM_CHANNEL", "PPQ", "KeySignature", "Note", "Song", "SongError", "TempoChange",
    "TimeSignature", "Track", "free_channel", "new_track", "note_name", "TempoMap", "bar_at", "bar_start",
    "format_position", "grid_ticks", "iter_bars", "GM_FAMILIES", "GM_PROGRAM_NAMES", "gm_family",
]
