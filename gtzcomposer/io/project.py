"""The ``.gtzc`` project file: everything a session holds, as versioned JSON.

A project is the song (every field, including colours, mute/solo, volume and pan), the loop
region, the selected style, the generation settings and free-form view state. The format is
documented field by field in ``docs/io.md``. Saving is atomic (a temporary file in the same
folder, flushed and fsynced, then renamed over the old one), so a crash or a full disk part-way
never destroys the last good file. Loading validates every value; any problem is a
:class:`ProjectError` that names the file and the place in it.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from ..core import (
    PITCH_BEND,
    PPQ,
    ControlChange,
    GtzError,
    KeySignature,
    Note,
    Song,
    SongError,
    TempoChange,
    TimeSignature,
    Track,
)
from ..core.generation import GenerationSettings, GenerationSettingsError
from ._files import Source, atomic_write, read_limited, sniff

FORMAT = "gtzcomposer-project"
SCHEMA = 2
"""The schema version this code writes and the newest it reads. Schema 2 added each track's
``controls`` (controller and pitch-bend changes); schema 1 files load with none."""

MAX_PROJECT_BYTES = 64 * 1024 * 1024
MAX_TICK = 2**40
MAX_TEXT = 10_000  # longest name, title, colour or style accepted

class ProjectError(GtzError):
    """A project file that cannot be read or a project that cannot be saved."""


@dataclass(frozen=True)
class Project:
    """What a session holds. ``loop`` is ``(start, end)`` in ticks or None; ``generation`` holds the
    Continue panel's settings (a :class:`~gtzcomposer.core.generation.GenerationSettings`);
    ``style`` is the style picked (the same as ``generation.style`` when the app saved it); ``view``
    is free-form JSON-able state
    of the window (zoom, scroll, selected track...)."""

    song: Song = field(default_factory=Song)
    loop: tuple[int, int] | None = None
    style: str | None = None
    generation: GenerationSettings = field(default_factory=GenerationSettings)
    view: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------------------------
# to JSON
# ----------------------------------------------------------------------------------------------
def song_to_dict(song: Song) -> dict[str, Any]:
    """The song as plain JSON data (notes as ``[start, pitch, duration, velocity]``)."""
    return {
        "title": song.title,
        "ppq": song.ppq,
        "tempos": [{"tick": t.tick, "uspq": t.uspq} for t in song.tempos],
        "time_signatures": [{"tick": s.tick, "numerator": s.numerator, "denominator": s.denominator}
                            for s in song.time_signatures],
        "key_signatures": [{"tick": k.tick, "tonic": k.tonic, "mode": k.mode} for k in song.key_signatures],
        "tracks": [
            {
                "name": t.name,
                "program": t.program,
                "channel": t.channel,
                "is_drum": t.is_drum,
                "color": t.color,
                "mute": t.mute,
                "solo": t.solo,
                "volume": t.volume,
                "pan": t.pan,
                "notes": [[n.start, n.pitch, n.duration, n.velocity] for n in t.notes],
                "controls": [[c.tick, c.controller, c.value] for c in t.controls],
            }
            for t in song.tracks
        ],
    }


def project_to_dict(project: Project) -> dict[str, Any]:
    from .. import __version__

    generation = _check_project_fields(project, "project")
    return {
        "format": FORMAT,
        "schema": SCHEMA,
        "app": {"name": "gtzcomposer", "version": __version__},
        "song": song_to_dict(project.song),
        "loop": None if project.loop is None else {"start": project.loop[0], "end": project.loop[1]},
        "style": project.style,
        "generation": generation,
        "view": dict(project.view),
    }


_NOTE_ARRAY = re.compile(r"\[\s*(-?\d+),\s*(-?\d+),\s*(-?\d+),\s*(-?\d+)\s*\]")
_CONTROL_ARRAY = re.compile(r"\[\s*(-?\d+),\s*(-?\d+),\s*(-?\d+)\s*\]")


def project_to_json(project: Project) -> str:
    try:
        text = json.dumps(project_to_dict(project), indent=2, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ProjectError(f"the project cannot be saved: its settings or view state are not plain JSON ({exc})") from None
    text = _NOTE_ARRAY.sub(r"[\1, \2, \3, \4]", text)  # one note per line
    return _CONTROL_ARRAY.sub(r"[\1, \2, \3]", text) + "\n"  # one controller change per line


def save_project(project: Project, path: str | os.PathLike) -> None:
    """Write ``project`` to ``path`` atomically: the old file stays intact until the new one is
    complete on disk."""
    data = project_to_json(project).encode("utf-8")
    atomic_write(path, lambda fh: fh.write(data), ProjectError)


# ----------------------------------------------------------------------------------------------
# from JSON, validating everything
# ----------------------------------------------------------------------------------------------
class _Invalid(Exception):
    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, str):
        return json.dumps(value[:40] + ("..." if len(value) > 40 else ""), ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _obj(value: Any, where: str) -> dict:
    if not isinstance(value, dict):
        raise _Invalid(where, f"expected an object, got {_show(value)}")
    return value


def _list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise _Invalid(where, f"expected a list, got {_show(value)}")
    return value


def _int(value: Any, where: str, low: int, high: int) -> int:
    if type(value) is not int:
        raise _Invalid(where, f"expected a whole number, got {_show(value)}")
    if not low <= value <= high:
        raise _Invalid(where, f"must be {low}..{high}, got {value}")
    return value


def _number(value: Any, where: str, low: float, high: float, low_open: bool = False) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _Invalid(where, f"expected a number, got {_show(value)}")
    if value > high or value < low or (low_open and value == low):
        raise _Invalid(where, f"must be {'more than' if low_open else 'at least'} {low} and at most {high}, got {value}")
    return float(value)


def _bool(value: Any, where: str) -> bool:
    if type(value) is not bool:
        raise _Invalid(where, f"expected true or false, got {_show(value)}")
    return value


def _str(value: Any, where: str, allow_empty: bool = True) -> str:
    if not isinstance(value, str):
        raise _Invalid(where, f"expected text, got {_show(value)}")
    if len(value) > MAX_TEXT:
        raise _Invalid(where, f"text longer than {MAX_TEXT} characters")
    if not allow_empty and not value:
        raise _Invalid(where, "must not be empty")
    return value


def _get(obj: dict, key: str, where: str, default: Any = ..., required: bool = False) -> Any:
    if key in obj:
        return obj[key]
    if required or default is ...:
        raise _Invalid(where, f"missing {key!r}")
    return default


def song_from_dict(data: Any, where: str = "song") -> Song:
    """Build a Song from :func:`song_to_dict` data; raises :class:`ProjectError` on any bad value."""
    try:
        return _song(data, where)
    except _Invalid as exc:
        raise ProjectError(str(exc)) from None


def _song(data: Any, where: str) -> Song:
    d = _obj(data, where)
    ppq = _get(d, "ppq", where, PPQ)
    if ppq != PPQ or type(ppq) is not int:
        raise _Invalid(f"{where}.ppq", f"must be {PPQ}, got {_show(ppq)}")
    title = _str(_get(d, "title", where, ""), f"{where}.title")
    tempos = []
    for i, t in enumerate(_list(_get(d, "tempos", where, []), f"{where}.tempos")):
        w = f"{where}.tempos[{i}]"
        t = _obj(t, w)
        tempos.append(TempoChange(_int(_get(t, "tick", w), f"{w}.tick", 0, MAX_TICK),
                                  _int(_get(t, "uspq", w), f"{w}.uspq", 1, 0xFFFFFF)))
    signatures = []
    for i, s in enumerate(_list(_get(d, "time_signatures", where, []), f"{where}.time_signatures")):
        w = f"{where}.time_signatures[{i}]"
        s = _obj(s, w)
        den = _int(_get(s, "denominator", w), f"{w}.denominator", 1, 64)
        if den not in (1, 2, 4, 8, 16, 32, 64):
            raise _Invalid(f"{w}.denominator", f"must be a power of two up to 64, got {den}")
        signatures.append(TimeSignature(_int(_get(s, "tick", w), f"{w}.tick", 0, MAX_TICK),
                                        _int(_get(s, "numerator", w), f"{w}.numerator", 1, 64), den))
    keys = []
    for i, k in enumerate(_list(_get(d, "key_signatures", where, []), f"{where}.key_signatures")):
        w = f"{where}.key_signatures[{i}]"
        k = _obj(k, w)
        mode = _get(k, "mode", w)
        if mode not in ("major", "minor"):
            raise _Invalid(f"{w}.mode", f"must be \"major\" or \"minor\", got {_show(mode)}")
        keys.append(KeySignature(_int(_get(k, "tick", w), f"{w}.tick", 0, MAX_TICK),
                                 _int(_get(k, "tonic", w), f"{w}.tonic", 0, 11), mode))
    track_list = _list(_get(d, "tracks", where, []), f"{where}.tracks")
    _check_note_count(track_list, where)
    tracks = [_track(t, f"{where}.tracks[{i}]") for i, t in enumerate(track_list)]
    try:
        return Song(tracks=tuple(tracks), tempos=tuple(tempos), time_signatures=tuple(signatures),
                    key_signatures=tuple(keys), title=title)
    except SongError as exc:  # pragma: no cover - every value was checked above
        raise _Invalid(where, str(exc)) from None


def _check_note_count(tracks: list, where: str) -> None:
    """Refuse more notes than a song may have before building any of them."""
    from ..core.limits import MAX_SONG_NOTES

    count = sum(len(t["notes"]) for t in tracks if isinstance(t, dict) and isinstance(t.get("notes"), list))
    if count > MAX_SONG_NOTES:
        raise _Invalid(f"{where}.tracks", f"{count:,} notes; songs may have at most {MAX_SONG_NOTES:,}")


def _track(data: Any, where: str) -> Track:
    t = _obj(data, where)
    default = Track()
    notes = []
    for i, n in enumerate(_list(_get(t, "notes", where, []), f"{where}.notes")):
        w = f"{where}.notes[{i}]"
        if not isinstance(n, list) or len(n) != 4:
            raise _Invalid(w, f"expected [start, pitch, duration, velocity], got {_show(n)}")
        notes.append(Note(start=_int(n[0], f"{w} start", 0, MAX_TICK), pitch=_int(n[1], f"{w} pitch", 0, 127),
                          duration=_int(n[2], f"{w} duration", 0, MAX_TICK),
                          velocity=_int(n[3], f"{w} velocity", 1, 127)))
    controls = []
    for i, c in enumerate(_list(_get(t, "controls", where, []), f"{where}.controls")):
        w = f"{where}.controls[{i}]"
        if not isinstance(c, list) or len(c) != 3:
            raise _Invalid(w, f"expected [tick, controller, value], got {_show(c)}")
        controller = _int(c[1], f"{w} controller", 0, PITCH_BEND)
        low, high = (-8192, 8191) if controller == PITCH_BEND else (0, 127)
        controls.append(ControlChange(_int(c[0], f"{w} tick", 0, MAX_TICK), controller, _int(c[2], f"{w} value", low, high)))
    return Track(
        name=_str(_get(t, "name", where, default.name), f"{where}.name"),
        program=_int(_get(t, "program", where, 0), f"{where}.program", 0, 127),
        channel=_int(_get(t, "channel", where, 0), f"{where}.channel", 0, 15),
        is_drum=_bool(_get(t, "is_drum", where, False), f"{where}.is_drum"),
        notes=tuple(sorted(notes)),
        color=_str(_get(t, "color", where, default.color), f"{where}.color", allow_empty=False),
        mute=_bool(_get(t, "mute", where, False), f"{where}.mute"),
        solo=_bool(_get(t, "solo", where, False), f"{where}.solo"),
        volume=_int(_get(t, "volume", where, default.volume), f"{where}.volume", 0, 127),
        pan=_int(_get(t, "pan", where, default.pan), f"{where}.pan", 0, 127),
        controls=tuple(controls),
    )


def _generation(data: Any, where: str, style: str | None = None) -> GenerationSettings:
    """The settings (missing keys get the defaults, unknown keys are ignored; a file without a
    style there takes the project's ``style``)."""
    g = dict(_obj(data, where))
    if style and "style" not in g:
        g["style"] = style
    try:
        return GenerationSettings.from_dict(g)
    except GenerationSettingsError as exc:
        raise _Invalid(where, str(exc)) from None
    except TypeError as exc:  # e.g. parts that are not a list
        raise _Invalid(where, f"unusable settings ({exc})") from None


def _loop(data: Any, where: str) -> tuple[int, int] | None:
    if data is None:
        return None
    d = _obj(data, where)
    start = _int(_get(d, "start", where), f"{where}.start", 0, MAX_TICK)
    end = _int(_get(d, "end", where), f"{where}.end", 0, MAX_TICK)
    if end <= start:
        raise _Invalid(where, f"the loop must end after it starts (start {start}, end {end})")
    return start, end


def _check_project_fields(project: Project, where: str) -> dict[str, Any]:
    """Refuse to save what could not be loaded again; returns the complete generation settings."""
    try:
        if not isinstance(project.song, Song):
            raise _Invalid(f"{where}.song", f"expected a Song, got {type(project.song).__name__}")
        if project.loop is not None:
            loop = project.loop
            if not isinstance(loop, (tuple, list)) or len(loop) != 2:
                raise _Invalid(f"{where}.loop", f"expected (start, end) or None, got {loop!r}")
            _loop({"start": loop[0], "end": loop[1]}, f"{where}.loop")
        if project.style is not None:
            _str(project.style, f"{where}.style", allow_empty=False)
        _obj(project.view, f"{where}.view")
        if not isinstance(project.generation, GenerationSettings):
            raise _Invalid(f"{where}.generation", f"expected GenerationSettings, got {type(project.generation).__name__}")
        generation = project.generation.to_dict()
    except _Invalid as exc:
        raise ProjectError(f"the project cannot be saved: {exc}") from None
    from ..core.limits import check_song_extent

    check_song_extent(project.song, "the project cannot be saved", project.loop, error=ProjectError)
    return generation


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def project_from_json(text: str | bytes, name: str = "<data>") -> Project:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ProjectError(f"{name}: not a gtzcomposer project (not UTF-8 text: {exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise ProjectError(f"{name}: the file is empty")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ProjectError(f"{name}: not a gtzcomposer project (the JSON is nested too deeply)") from None
    except ValueError as exc:
        what = sniff(text[:4096].encode("utf-8", "replace"))
        if what and "JSON" not in what and "gtzcomposer" not in what:
            raise ProjectError(f"{name}: not a gtzcomposer project; it looks like {what}") from None
        raise ProjectError(f"{name}: damaged project file (invalid JSON: {exc})") from None
    try:
        return _project(data, name)
    except _Invalid as exc:
        raise ProjectError(f"{name}: invalid project file: {exc}") from None


def _project(data: Any, name: str) -> Project:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ProjectError(f"{name}: not a gtzcomposer project (no \"format\": \"{FORMAT}\" in it)")
    schema = data.get("schema")
    if type(schema) is not int or schema < 1:
        raise _Invalid("schema", f"expected a positive whole number, got {_show(schema)}")
    if schema > SCHEMA:
        raise ProjectError(f"{name}: the project was saved by a newer gtzcomposer (file schema {schema}; "
                           f"this version reads up to {SCHEMA}); please update gtzcomposer to open it")
    style = data.get("style")
    if style is not None:
        style = _str(style, "style", allow_empty=False)
    project = Project(
        song=_song(_get(data, "song", "project", required=True), "song"),
        loop=_loop(data.get("loop"), "loop"),
        style=style,
        generation=_generation(data.get("generation", {}), "generation", style),
        view=dict(_obj(data.get("view", {}), "view")),
    )
    from ..core.limits import check_song_extent

    check_song_extent(project.song, name, project.loop, error=ProjectError)
    return project




def load_project(source: Source) -> Project:
    """Read a ``.gtzc`` project (path, bytes or binary file object)."""
    name, data = read_limited(source, MAX_PROJECT_BYTES, ProjectError, "project")
    if not data:
        raise ProjectError(f"{name}: the file is empty")
    if not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{"):
        what = sniff(data)
        hint = f"it looks like {what}" if what else "it is not JSON text"
        raise ProjectError(f"{name}: not a gtzcomposer project; {hint}")
    return project_from_json(data, name)
