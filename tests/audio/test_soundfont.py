"""Soundfont resolution: user's choice -> system GM font -> TimGM6mb inside pretty_midi."""

from __future__ import annotations

from pathlib import Path

import pytest

from gtzcomposer.audio import soundfont as sfmod
from gtzcomposer.audio.soundfont import SoundfontError, bundled_soundfont, check_soundfont, resolve_soundfont
from gtzcomposer.core.errors import GtzError


def _fake_sf2(path: Path, payload: bytes = b"LIST\x04\x00\x00\x00INFO") -> Path:
    body = b"sfbk" + payload
    path.write_bytes(b"RIFF" + len(body).to_bytes(4, "little") + body)
    return path


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv(sfmod.ENV_VAR, raising=False)


def test_bundled_font_is_found_without_importing_pretty_midi():
    import sys

    was_imported = "pretty_midi" in sys.modules
    path = bundled_soundfont()
    if path is None:
        pytest.skip("pretty_midi is not installed")
    assert path.name == "TimGM6mb.sf2" and path.is_file()
    assert ("pretty_midi" in sys.modules) == was_imported
    check_soundfont(path)


def test_user_choice_wins(tmp_path, monkeypatch):
    mine = _fake_sf2(tmp_path / "mine.sf2")
    sf = resolve_soundfont(mine)
    assert sf.path == mine and sf.source == "user"
    monkeypatch.setenv(sfmod.ENV_VAR, str(mine))
    assert resolve_soundfont().path == mine


def test_system_font_before_bundled(tmp_path, monkeypatch):
    system = tmp_path / "sys"
    system.mkdir()
    _fake_sf2(system / "FluidR3_GM.sf2")
    monkeypatch.setattr(sfmod, "_SYSTEM_FONT_DIRS", (system,))
    sf = resolve_soundfont()
    assert sf.path == system / "FluidR3_GM.sf2" and sf.source == "system"


def test_bundled_when_no_system_font(tmp_path, monkeypatch):
    monkeypatch.setattr(sfmod, "_SYSTEM_FONT_DIRS", (tmp_path / "nothing",))
    if bundled_soundfont() is None:
        pytest.skip("pretty_midi is not installed")
    sf = resolve_soundfont()
    assert sf.source == "bundled" and sf.path.name == "TimGM6mb.sf2"


def test_broken_system_font_is_skipped(tmp_path, monkeypatch):
    system = tmp_path / "sys"
    system.mkdir()
    (system / "FluidR3_GM.sf2").write_bytes(b"not a soundfont at all")
    _fake_sf2(system / "default-GM.sf2")
    monkeypatch.setattr(sfmod, "_SYSTEM_FONT_DIRS", (system,))
    assert resolve_soundfont().path.name == "default-GM.sf2"


def test_nothing_at_all_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(sfmod, "_SYSTEM_FONT_DIRS", (tmp_path,))
    monkeypatch.setattr(sfmod, "bundled_soundfont", lambda: None)
    with pytest.raises(SoundfontError, match="fluid-soundfont-gm"):
        resolve_soundfont()


@pytest.mark.parametrize(("content", "message"), [
    (None, "no such file"),
    (b"", "not a SoundFont"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "not a SoundFont"),
    (b"RIFF\xff\xff\x00\x00sfbkLIST", "cut short"),
])
def test_bad_user_font_is_a_gtz_error_naming_the_file(tmp_path, content, message):
    path = tmp_path / "bad.sf2"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SoundfontError, match=message) as info:
        resolve_soundfont(path)
    assert isinstance(info.value, GtzError)
    assert "bad.sf2" in str(info.value)


def test_folder_is_refused(tmp_path):
    with pytest.raises(SoundfontError, match="folder"):
        check_soundfont(tmp_path)


def test_corrupt_inside_is_refused_by_the_synth(tmp_path):
    """A file with a good header but garbage inside: FluidSynth refuses it, we say so."""
    from gtzcomposer.audio.synth import Synth, fluidsynth_available

    if not fluidsynth_available()[0]:
        pytest.skip("FluidSynth not available")
    path = _fake_sf2(tmp_path / "garbage.sf2", payload=b"\x00" * 64)
    with pytest.raises(SoundfontError, match="garbage.sf2"):
        Synth(path)
