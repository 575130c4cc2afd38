"""The threaded render (FluidSynth's ``synth.cpu-cores``: one synth, its voices shared out between
threads) against the one-thread render, and its progress, cancel, clip protection and choice of
thread count.

FluidSynth's helper threads render disjoint sets of voices and the synth sums them before its
reverb and chorus run, so the threaded render must be the one-thread render: same length, same
samples (up to float rounding in the sum), reverb and chorus included.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
import pytest

from gtzcomposer.audio import render as R
from gtzcomposer.audio.events import compile_events
from gtzcomposer.audio.render import RenderCancelled, choose_threads, default_threads, render_song
from gtzcomposer.core import PPQ, Note, Song, TempoChange, TempoMap, new_track

SR = 22050


def _band(bars: int = 8, seed: int = 3) -> Song:
    """Chords, pad, bass, lead and drums with overlapping notes and a tempo change."""
    rng = random.Random(seed)
    bar = 4 * PPQ
    chords = [(57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62)]
    piano, pad, bass, lead, drums = [], [], [], [], []
    for b in range(bars):
        t0 = b * bar
        root = chords[b % 4]
        for beat in range(4):
            piano += [Note(t0 + beat * PPQ, p, PPQ - 30, 70 + rng.randrange(30)) for p in root]
            bass.append(Note(t0 + beat * PPQ, root[0] - 24, PPQ // 2, 100))
        pad += [Note(t0, p + 12, bar - 10, 70) for p in root]
        t = t0
        while t < t0 + bar:
            step = rng.choice((PPQ // 4, PPQ // 2, PPQ))
            lead.append(Note(t, rng.choice((69, 71, 72, 74, 76, 79)), step + rng.choice((-20, 40)), 100))
            t += step
        for s in range(8):
            drums.append(Note(t0 + s * PPQ // 2, 42, 60, 80))
            if s in (0, 4):
                drums.append(Note(t0 + s * PPQ // 2, 36, 120, 115))
            if s in (2, 6):
                drums.append(Note(t0 + s * PPQ // 2, 38, 120, 105))
    return Song(
        tracks=(
            new_track(0, "Piano", program=0, notes=tuple(piano), pan=40),
            new_track(1, "Pad", program=48, notes=tuple(pad), volume=80),
            new_track(2, "Bass", program=33, notes=tuple(bass)),
            new_track(3, "Lead", program=80, notes=tuple(lead), pan=90),
            new_track(4, is_drum=True, notes=tuple(drums)),
        ),
        tempos=(TempoChange.from_bpm(0, 120), TempoChange.from_bpm(4 * bar, 140)),
    )


def _native_threads() -> int:
    return len(list(Path("/proc/self/task").iterdir()))


def test_threaded_render_is_the_one_thread_render(soundfont):
    song = _band()
    one = render_song(song, soundfont=soundfont, sample_rate=SR, threads=1)
    two = render_song(song, soundfont=soundfont, sample_rate=SR, threads=2)
    three = render_song(song, soundfont=soundfont, sample_rate=SR, threads=3)
    assert (one.threads, two.threads, three.threads) == (1, 2, 3)
    peak = float(np.abs(one.audio).max())
    assert peak > 0.05 and one.scaled == 1.0
    for other in (two, three):
        assert other.audio.shape == one.audio.shape
        assert np.abs(other.audio - one.audio).max() < 1e-6 * peak


def test_the_render_synth_really_gets_its_threads(soundfont):
    spec = R._Spec(soundfont, SR, 16, 3, 0, 0)
    if sys.platform.startswith("linux"):
        before = _native_threads()
    with R._new_synth(spec) as synth:
        assert synth._synth.get_setting("synth.cpu-cores") == 3
        if sys.platform.startswith("linux"):
            assert _native_threads() >= before + 2  # FluidSynth's two helper threads
    with R._new_synth(R._Spec(soundfont, SR, 16, 1, 0, 0)) as synth:
        assert synth._synth.get_setting("synth.cpu-cores") == 1


def test_threaded_render_writes_a_file_and_scales_loud_songs(soundfont, tmp_path):
    import soundfile

    chord = tuple(Note(0, p, PPQ * 2, 127) for p in range(36, 96, 2))
    loud = Song(tracks=tuple(new_track(i, program=p, notes=chord, volume=127) for i, p in enumerate((0, 19, 48, 61))))
    one = render_song(loud, soundfont=soundfont, sample_rate=SR, threads=1)
    two = render_song(loud, tmp_path / "loud.wav", soundfont=soundfont, sample_rate=SR, threads=2)
    assert two.threads == 2
    assert one.scaled < 1.0 and two.scaled == pytest.approx(one.scaled, rel=1e-6)
    assert np.abs(two.audio).max() <= 0.99
    back, rate = soundfile.read(str(tmp_path / "loud.wav"), dtype="float32")
    assert rate == SR and back.shape == two.audio.shape
    assert np.abs(back - two.audio).max() < 1.0 / 2 ** 15  # 16-bit rounding


def test_progress_and_cancel_in_the_threaded_render(soundfont, tmp_path):
    song = _band(bars=12)
    seen: list[tuple[float, str]] = []
    result = render_song(song, soundfont=soundfont, sample_rate=SR, threads=2,
                         progress=lambda f, m: seen.append((f, m)))
    assert result.threads == 2
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert len({round(f, 3) for f in fractions if 0 < f < 1}) >= 5

    def cancel_midway() -> bool:
        return bool(seen) and seen[-1][0] > 0.3

    seen.clear()
    threads_before = _native_threads() if sys.platform.startswith("linux") else 0
    with pytest.raises(RenderCancelled):
        render_song(song, tmp_path / "x.wav", soundfont=soundfont, sample_rate=SR, threads=2,
                    progress=lambda f, m: seen.append((f, m)), is_cancelled=cancel_midway)
    assert 0.3 < seen[-1][0] < 1.0  # it stopped in the middle, not at the end
    assert not (tmp_path / "x.wav").exists()
    if sys.platform.startswith("linux"):
        assert _native_threads() <= threads_before  # the synth and its helper threads are gone


def _timed(song: Song):
    _, events = compile_events(song, "synth")
    ticks = np.array([e.tick for e in events], dtype=np.float64)
    return events, R._ticks_to_frames(TempoMap.of(song), ticks, SR)


def test_thread_count_choice(monkeypatch):
    events, frames = _timed(_band(bars=16))
    assert R.voice_seconds(events, frames, SR) > R._THREADED_MIN_VOICE_SECONDS
    assert choose_threads(events, frames, SR, 3) == 3  # asked for: given
    assert choose_threads(events, frames, SR, 0) == 1
    assert choose_threads(events, frames, SR, None) == default_threads()
    # A small song (two short notes) renders on one thread when the choice is automatic.
    small = Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ),)), new_track(1, notes=(Note(0, 64, PPQ),))))
    s_events, s_frames = _timed(small)
    assert R.voice_seconds(s_events, s_frames, SR) == pytest.approx(2 * (0.5 + R._RELEASE_GUESS))
    assert choose_threads(s_events, s_frames, SR, None) == 1
    assert choose_threads(s_events, s_frames, SR, 2) == 2
    assert 1 <= default_threads() <= R.MAX_THREADS
    monkeypatch.setattr(R.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5, 6, 7}, raising=False)
    assert default_threads() == R.MAX_THREADS
    monkeypatch.setattr(R.os, "sched_getaffinity", lambda pid: {5}, raising=False)
    assert default_threads() == 1
    assert choose_threads(events, frames, SR, None) == 1


def test_a_kept_soundfont_renders_the_same_and_is_replaced_or_released(soundfont, tmp_path):
    import shutil

    song = _band(bars=2)
    R.release_soundfont()
    cold = render_song(song, soundfont=soundfont, sample_rate=SR)
    assert R.kept_soundfont() is None  # a render alone keeps nothing
    sf = R.keep_soundfont(soundfont)
    assert R.kept_soundfont() == sf.path == Path(soundfont)
    assert R.keep_soundfont(soundfont) == sf  # already kept: nothing to do
    warm = render_song(song, soundfont=sf, sample_rate=SR)
    assert np.array_equal(warm.audio, cold.audio)  # a fresh synth either way: the same render
    other = shutil.copy(soundfont, tmp_path / "copy.sf2")
    R.keep_soundfont(other)  # one at a time
    assert R.kept_soundfont() == Path(other)
    R.release_soundfont()
    assert R.kept_soundfont() is None
    R.release_soundfont()  # twice is harmless


def test_keeping_a_bad_soundfont_raises_and_keeps_nothing(tmp_path):
    from gtzcomposer.audio.soundfont import SoundfontError

    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFF\x04\x00\x00\x00sfbk")  # a header and nothing else
    R.release_soundfont()
    with pytest.raises(SoundfontError):
        R.keep_soundfont(bad)
    assert R.kept_soundfont() is None


def test_a_song_hours_long_is_refused_at_once_with_where_its_last_note_is(soundfont):
    stray = Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ), Note(4 * 3600 * 2 * PPQ, 62, PPQ))),))  # 4 h at 120 bpm
    with pytest.raises(R.RenderError, match=r"lasts 4\.0 hours \(its last note ends at 7201\.2\.000\)"):
        render_song(stray, soundfont=soundfont, sample_rate=SR)


def test_a_long_render_is_held_in_a_temporary_file_not_in_memory(soundfont, tmp_path, monkeypatch):
    import soundfile

    song = _band(bars=2)
    in_memory = render_song(song, soundfont=soundfont, sample_rate=SR, threads=1)
    monkeypatch.setattr(R, "IN_MEMORY_SECONDS", 1)
    mapped = render_song(song, tmp_path / "long.wav", soundfont=soundfont, sample_rate=SR, threads=1)
    assert isinstance(mapped.audio, np.memmap)
    assert np.array_equal(np.asarray(mapped.audio), in_memory.audio)
    back, _ = soundfile.read(str(tmp_path / "long.wav"), dtype="float32")
    assert back.shape == in_memory.audio.shape


def test_a_full_disk_for_a_long_render_is_a_clear_error(soundfont, tmp_path, monkeypatch):
    import errno

    def full(*_a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(R, "IN_MEMORY_SECONDS", 1)
    monkeypatch.setattr(R.os, "posix_fallocate", full, raising=False)
    with pytest.raises(R.RenderError, match="not enough space .* No space left on device"):
        render_song(_band(bars=2), tmp_path / "x.wav", soundfont=soundfont, sample_rate=SR)
    assert not (tmp_path / "x.wav").exists()
