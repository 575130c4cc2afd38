"""gtzcomposer render IN OUT.wav [--soundfont SF2] [--sample-rate HZ] [--bit-depth 16|24]"""

from __future__ import annotations

import pytest

from gtzcomposer.audio.soundfont import bundled_soundfont
from gtzcomposer.cli import main


def _write_midi(path, notes=((60, 0, 480), (64, 480, 480), (67, 960, 960)), program=0):
    """A tiny type-1 MIDI file: one piano track at 120 bpm."""
    import mido

    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    track = mido.MidiTrack([mido.Message("program_change", program=program, time=0)])
    events = sorted([(s, 1, "note_on", p, 100) for p, s, d in notes] + [(s + d, 0, "note_off", p, 0) for p, s, d in notes])
    last = 0
    for tick, _, kind, pitch, vel in events:
        track.append(mido.Message(kind, note=pitch, velocity=vel, time=tick - last))
        last = tick
    mid.tracks.extend([meta, track])
    mid.save(str(path))
    return path


@pytest.fixture
def soundfont():
    sf = bundled_soundfont()
    if sf is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    return str(sf)


@pytest.mark.parametrize(("name", "extra", "rate", "subtype"), [
    ("out.wav", [], 44100, "PCM_16"),
    ("out.flac", ["--sample-rate", "48000", "--bit-depth", "24"], 48000, "PCM_24"),
])
def test_render_writes_audio(tmp_path, soundfont, capsys, name, extra, rate, subtype):
    import soundfile

    src = _write_midi(tmp_path / "in.mid")
    out = tmp_path / name
    assert main(["render", str(src), str(out), "--soundfont", soundfont, *extra]) == 0
    info = soundfile.info(str(out))
    assert info.samplerate == rate and info.subtype == subtype and info.channels == 2
    assert 2.0 <= info.duration <= 2.0 + 2.0  # 2 s of music plus at most a 2 s tail
    assert f"wrote {out}" in capsys.readouterr().out


def test_render_with_default_soundfont(tmp_path):
    src = _write_midi(tmp_path / "in.mid")
    assert main(["render", str(src), str(tmp_path / "out.wav"), "--quiet"]) == 0
    assert (tmp_path / "out.wav").stat().st_size > 1000


def test_bad_soundfont_exits_2(tmp_path, capsys):
    src = _write_midi(tmp_path / "in.mid")
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"hello")
    assert main(["render", str(src), str(tmp_path / "out.wav"), "--soundfont", str(bad)]) == 2
    assert "bad.sf2" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()


def test_missing_soundfont_exits_2(tmp_path, capsys):
    src = _write_midi(tmp_path / "in.mid")
    assert main(["render", str(src), str(tmp_path / "out.wav"), "--soundfont", str(tmp_path / "nope.sf2")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_output_type_and_rate_exit_2(tmp_path, soundfont, capsys):
    src = _write_midi(tmp_path / "in.mid")
    assert main(["render", str(src), str(tmp_path / "out.mp3"), "--soundfont", soundfont]) == 2
    assert ".wav or .flac" in capsys.readouterr().err
    assert main(["render", str(src), str(tmp_path / "out.wav"), "--sample-rate", "1000", "--soundfont", soundfont]) == 2
    assert "1000 Hz" in capsys.readouterr().err


def test_bit_depth_choice_is_checked_by_argparse(tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["render", "in.mid", str(tmp_path / "out.wav"), "--bit-depth", "12"])
    assert info.value.code == 2


def test_missing_input_exits_2(tmp_path, soundfont):
    assert main(["render", str(tmp_path / "nope.mid"), str(tmp_path / "out.wav"), "--soundfont", soundfont]) == 2
