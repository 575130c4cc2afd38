"""The .gtzc project file: exact round trips, atomic saves, validation and a fuzz."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from gtzcomposer.core import Song
from gtzcomposer.core.generation import GenerationSettings
from gtzcomposer.io.project import (
    FORMAT,
    SCHEMA,
    Project,
    ProjectError,
    load_project,
    project_from_json,
    project_to_dict,
    project_to_json,
    save_project,
    song_from_dict,
    song_to_dict,
)
from tests.helpers import random_song, two_track_song
from tests.io.strategies import projects, songs

ROOT = Path(__file__).resolve().parents[2]


def full_project() -> Project:
    song = two_track_song()
    song = song.with_track(1, replace(song.tracks[1], mute=True, color="#abcdef", volume=77, pan=10))
    song = song.with_track(0, replace(song.tracks[0], solo=True))
    return Project(song=song, loop=(480, 1920), style="irish_reel",
                   generation=GenerationSettings(style="irish_reel", bars=16, variations=2, temperature=0.8, top_p=0.9,
                                                 seed=42, strength=1.5),
                   view={"zoom": 1.5, "scroll": [0, 60], "selected_track": 1})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(projects())
def test_roundtrip_is_exact(project):
    text = project_to_json(project)
    back = project_from_json(text)
    assert back == project
    assert project_to_json(back) == text


@settings(max_examples=100, deadline=None)
@given(songs)
def test_song_dict_roundtrip(song):
    d = song_to_dict(song)
    assert song_from_dict(json.loads(json.dumps(d))) == song


def test_save_and_load_a_full_project(tmp_path):
    project = full_project()
    path = tmp_path / "session.gtzc"
    save_project(project, path)
    assert load_project(path) == project
    assert load_project(str(path)) == project
    assert load_project(path.read_bytes()) == project
    with open(path, "rb") as fh:
        assert load_project(fh) == project
    data = json.loads(path.read_text("utf-8"))
    assert data["format"] == FORMAT and data["schema"] == SCHEMA and data["app"]["name"] == "gtzcomposer"
    assert data["loop"] == {"start": 480, "end": 1920} and data["style"] == "irish_reel"
    assert data["song"]["tracks"][1]["mute"] is True and data["song"]["tracks"][1]["color"] == "#abcdef"
    # one note per line keeps files readable and diffable
    assert "[0, 72, 480, 100]" in path.read_text("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["session.gtzc"]


def test_defaults_and_minimal_file():
    project = project_from_json(json.dumps({"format": FORMAT, "schema": 1, "song": {}}))
    assert project == Project(song=Song(tempos=(), time_signatures=(), key_signatures=()))
    assert project.generation == GenerationSettings()  # the one set of defaults


def test_unknown_keys_are_ignored():
    d = project_to_dict(full_project())
    d["future_field"] = [1, 2]
    d["song"]["tracks"][0]["future"] = "x"
    d["generation"]["sampler"] = "beam"  # a newer file's setting
    back = project_from_json(json.dumps(d))
    assert back.song == full_project().song and back.generation == full_project().generation


def test_an_older_file_without_a_generation_style_takes_the_projects_style():
    d = project_to_dict(full_project())
    del d["generation"]["style"], d["generation"]["strength"], d["generation"]["parts"]
    back = project_from_json(json.dumps(d))
    assert back.generation.style == "irish_reel" and back.generation.bars == 16


# ---------------------------------------------------------------------------------------------
# atomic saving
# ---------------------------------------------------------------------------------------------
def _old_file(tmp_path) -> tuple[Path, bytes]:
    path = tmp_path / "song.gtzc"
    save_project(Project(song=two_track_song()), path)
    return path, path.read_bytes()


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_failed_save_keeps_the_old_file(tmp_path, monkeypatch, where):
    path, before = _old_file(tmp_path)
    import gtzcomposer.io._files as files

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    if where == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, fh):
                self.fh = fh

            def write(self, data):
                self.fh.write(data[: len(data) // 2])
                boom()

            def __getattr__(self, name):
                return getattr(self.fh, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

        monkeypatch.setattr(files.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    else:
        monkeypatch.setattr(files.os, where, boom)
    with pytest.raises(ProjectError, match=r"^song\.gtzc: could not be saved \(No space left on device\); the previous file is unchanged"):
        save_project(Project(song=random_song(1)), path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert load_project(path).song == two_track_song()
    assert [p.name for p in tmp_path.iterdir()] == ["song.gtzc"]  # the temporary file was removed


def test_interrupted_save_keeps_the_old_file(tmp_path, monkeypatch):
    path, before = _old_file(tmp_path)
    import gtzcomposer.io._files as files

    monkeypatch.setattr(files.os, "replace", lambda *a: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_project(Project(song=random_song(2)), path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["song.gtzc"]


def test_a_process_killed_mid_save_leaves_the_last_good_file(tmp_path):
    """A real crash: the saving process dies (os._exit) after writing half of the new file."""
    path, before = _old_file(tmp_path)
    script = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        import gtzcomposer.io._files as files
        from gtzcomposer.io.project import Project, save_project
        from tests.helpers import random_song
        real = os.fdopen
        class Dying:
            def __init__(self, fh): self.fh = fh
            def __enter__(self): return self
            def __exit__(self, *e): pass
            def write(self, data):
                self.fh.write(data[: len(data) // 2]); self.fh.flush(); os._exit(9)
        files.os.fdopen = lambda fd, mode: Dying(real(fd, mode))
        save_project(Project(song=random_song(3)), {str(path)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert result.returncode == 9, result.stderr.decode()
    assert path.read_bytes() == before
    assert load_project(path).song == two_track_song()
    leftovers = [p for p in tmp_path.iterdir() if p.name != "song.gtzc"]
    assert len(leftovers) == 1 and leftovers[0].name.startswith(".song.gtzc.")  # the half-written temp file


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(ProjectError, match=r"song\.gtzc: cannot write in"):
        save_project(Project(), tmp_path / "no" / "song.gtzc")


def test_new_files_get_the_umask_permissions(tmp_path):
    from gtzcomposer.io import _files

    save_project(Project(), tmp_path / "new.gtzc")
    assert (tmp_path / "new.gtzc").stat().st_mode & 0o777 == 0o666 & ~_files._UMASK


def test_save_keeps_file_permissions(tmp_path):
    path, _ = _old_file(tmp_path)
    path.chmod(0o600)
    save_project(Project(), path)
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("project, match", [
    (Project(loop=(10, 5)), "loop must end after it starts"),
    (Project(loop=(1, 2, 3)), "expected \\(start, end\\)"),
    (Project(style=""), "style: must not be empty"),
    (Project(generation={"bars": 0}), "expected GenerationSettings"),
    (Project(view={"x": float("nan")}), "not plain JSON"),
    (Project(view={"x": object()}), "not plain JSON"),
    (Project(song="song"), "expected a Song"),
])
def test_invalid_projects_are_not_saved(tmp_path, project, match):
    with pytest.raises(ProjectError, match=match):
        save_project(project, tmp_path / "x.gtzc")
    assert not list(tmp_path.iterdir())


# ---------------------------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------------------------
def _valid() -> dict:
    return project_to_dict(full_project())


def _with(path: str, value) -> str:
    d = _valid()
    *parents, last = path.split("/")
    node = d
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if value is KeyError:
        del node[int(last) if isinstance(node, list) else last]
    else:
        node[int(last) if isinstance(node, list) else last] = value
    return json.dumps(d)


@pytest.mark.parametrize("text, match", [
    ("", "the file is empty"),
    ("   \n", "the file is empty"),
    ("{", "damaged project file \\(invalid JSON"),
    ('{"format": "gtzcomposer-project", "schema": 1, "song": {}, "x": NaN}', "NaN is not a JSON number"),
    ("[1, 2]", "not a gtzcomposer project \\(no \"format\""),
    ('{"format": "other"}', "not a gtzcomposer project"),
    (_with("schema", 2), "saved by a newer gtzcomposer \\(file schema 2; this version reads up to 1\\)"),
    (_with("schema", "1"), "schema: expected a positive whole number"),
    (_with("schema", 0), "schema"),
    (_with("song", KeyError), "project: missing 'song'"),
    (_with("song/ppq", 960), "song.ppq: must be 480, got 960"),
    (_with("song/tracks/0/notes/1", [0, 200, 10, 100]), r"song.tracks\[0\].notes\[1\] pitch: must be 0..127, got 200"),
    (_with("song/tracks/0/notes/1", [0, 60, 10]), r"expected \[start, pitch, duration, velocity\]"),
    (_with("song/tracks/0/notes/1", [0, 60, -1, 100]), "duration: must be"),
    (_with("song/tracks/0/notes/1", [0, 60, 1, 0]), "velocity: must be 1..127"),
    (_with("song/tracks/0/notes/1", [0.5, 60, 1, 1]), "start: expected a whole number, got 0.5"),
    (_with("song/tracks/0/notes/1", [True, 60, 1, 1]), "start: expected a whole number, got true"),
    (_with("song/tracks/0/channel", 16), "channel: must be 0..15"),
    (_with("song/tracks/0/mute", 1), "mute: expected true or false, got 1"),
    (_with("song/tracks/0/color", ""), "color: must not be empty"),
    (_with("song/tracks/0/name", None), "name: expected text, got null"),
    (_with("song/tracks/0/name", "x" * 20_000), "text longer than"),
    (_with("song/tracks/0", "track"), r"song.tracks\[0\]: expected an object"),
    (_with("song/tracks", {}), "song.tracks: expected a list, got an object"),
    (_with("song/tempos/0/uspq", 0), "uspq: must be 1..16777215"),
    (_with("song/tempos/0/tick", KeyError), r"song.tempos\[0\]: missing 'tick'"),
    (_with("song/time_signatures/0/denominator", 3), "must be a power of two"),
    (_with("song/time_signatures/0/numerator", 65), "numerator: must be 1..64"),
    (_with("song/key_signatures/0/mode", "dorian"), 'mode: must be "major" or "minor", got "dorian"'),
    (_with("song/key_signatures/0/tonic", 12), "tonic: must be 0..11"),
    (_with("song/title", ["x"]), "title: expected text, got a list of 1"),
    (_with("loop", {"start": 5, "end": 5}), "loop: the loop must end after it starts"),
    (_with("loop", [0, 10]), "loop: expected an object"),
    (_with("style", 3), "style: expected text"),
    (_with("generation/temperature", 0), "generation: temperature must be above 0"),
    (_with("generation/top_p", 1.5), "generation: top-p must be above 0 and at most 1"),
    (_with("generation/seed", -1), "generation: the random seed must be"),
    (_with("generation/key_lock", "yes"), "generation: key lock must be true or false"),
    (_with("generation/bars", 64), "generation: bars must be a whole number from 1 to 32"),
    (_with("generation", []), "generation: expected an object"),
    (_with("view", "zoomed"), "view: expected an object"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply|invalid JSON"),
    ('{"format": "gtzcomposer-project", "schema": 1, "song": {"tracks": [{"notes": [[1' + "0" * 5000 + ", 60, 1, 1]]}]}}",
     "invalid JSON|whole number|must be"),
])
def test_bad_project_text(text, match):
    with pytest.raises(ProjectError, match=match):
        project_from_json(text, "bad.gtzc")


def test_bad_files(tmp_path):
    cases = {
        "empty.gtzc": b"",
        "latin1.gtzc": '{"format": "gtzcomposer-project", "title": "caf\xe9"}'.encode("latin-1"),
        "midi.gtzc": b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x01\xe0",
        "random.gtzc": bytes(random.Random(3).randrange(256) for _ in range(500)),
        "xml.gtzc": b"<?xml version='1.0'?><score-partwise/>",
    }
    expected = {
        "empty.gtzc": "the file is empty",
        "latin1.gtzc": "not UTF-8 text",
        "midi.gtzc": "it looks like a MIDI file",
        "random.gtzc": "not a gtzcomposer project",
        "xml.gtzc": "it looks like a MusicXML file",
    }
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ProjectError, match=f"^{name}: .*{expected[name]}"):
            load_project(tmp_path / name)
    with pytest.raises(ProjectError, match="no such file"):
        load_project(tmp_path / "missing.gtzc")
    huge = tmp_path / "huge.gtzc"
    with open(huge, "wb") as fh:
        fh.truncate(100 * 1024 * 1024)
    with pytest.raises(ProjectError, match="larger than 64 MB"):
        load_project(huge)


# ---------------------------------------------------------------------------------------------
# fuzz: mutated project files give a Project or a ProjectError, nothing else
# ---------------------------------------------------------------------------------------------
ODD_VALUES = [None, True, False, 0, -1, 1, 127, 128, 2**40, 2**41, 2**70, -(2**70), 0.5, 1e308, -0.0, "", "x", "major",
              "#fff", [], {}, [1, 2, 3, 4], [0, 60, 10, 100], [[0, 60, 10, 100]], {"tick": 0}, {"start": 1, "end": 0}]


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node[:6]):
            yield from _paths(v, (*prefix, i))


def _mutate_structure(d, rng):
    d = copy.deepcopy(d)
    path = rng.choice(list(_paths(d))[1:])
    parent = d
    for p in path[:-1]:
        parent = parent[p]
    key = path[-1]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[key]
    elif action < 0.25 and isinstance(parent, list):
        parent.insert(key, rng.choice(ODD_VALUES))
    else:
        parent[key] = copy.deepcopy(rng.choice(ODD_VALUES))
    return d


def _mutate_text(text: str, rng) -> bytes:
    b = bytearray(text.encode("utf-8"))
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 6)):
            b[rng.randrange(len(b))] = rng.randrange(256)
    elif kind == 1:
        del b[rng.randrange(len(b)):]
    elif kind == 2:
        at = rng.randrange(len(b))
        b[at:at] = rng.choice([b"{", b"}", b"[", b"]", b",", b'"', b"\\", b"-", b"1e999", b"null", b"\xff"])
    else:
        at = rng.randrange(len(b))
        del b[at:at + rng.randint(1, 20)]
    return bytes(b)


def test_fuzz_mutated_projects():
    rng = random.Random(7)
    base = _valid()
    text = json.dumps(base, indent=1)
    loaded = errors = 0
    bad = []
    for i in range(2000):
        if i % 2:
            data = json.dumps(_mutate_structure(base, rng)).encode()
        else:
            data = _mutate_text(text, rng)
        try:
            project = load_project(data)
        except ProjectError as exc:
            assert str(exc).startswith("<data>: ")
            errors += 1
        except Exception as exc:  # noqa: BLE001 - what the fuzz hunts for
            bad.append(f"case {i}: {type(exc).__name__}: {exc}")
        else:
            loaded += 1
            assert project_from_json(project_to_json(project)) == project  # what loads, saves and loads again
    assert not bad, "\n".join(bad[:10])
    assert errors > 500 and loaded > 100
