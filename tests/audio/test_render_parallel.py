"""The parallel render (several synths, each playing whole tracks, each in a thread of its own)
against the single-synth render, and its progress, cancel and error paths.

FluidSynth's reverb and chorus are linear and every synth starts alike, so the sum of the
synths' output is the one synth's output up to float rounding, with one exception that
FluidSynth itself makes: in the first 64-frame block of a note, a voice carries over some state
from the note that used the same voice slot before it (which slot a note gets depends on what
else is playing in that synth). Dry, the two renders must therefore be equal everywhere except
in those blocks; with reverb and chorus on, those blocks' differences ring on in the effects,
so there the renders must correlate closely, and the parallel render must be exactly the sum of
its groups of tracks each rendered alone.
"""

from __future__ import annotations

import random
import threading
from dataclasses import replace

import numpy as np
import pytest

from gtzcomposer.audio import render as R
from gtzcomposer.audio.events import NOTE_ON, compile_events
from gtzcomposer.audio.render import RenderCancelled, default_workers, plan_groups, render_song
from gtzcomposer.audio.soundfont import bundled_soundfont
from gtzcomposer.audio.synth import Synth, SynthError
from gtzcomposer.core import PPQ, Note, Song, TempoChange, TempoMap, new_track

SR = 22050
BLOCK = 64  # FluidSynth's block: an event takes effect at the next block boundary


@pytest.fixture(scope="module")
def soundfont():
    sf = bundled_soundfont()
    if sf is None:
        pytest.skip("pretty_midi's TimGM6mb.sf2 is not installed")
    return sf


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


def _note_on_blocks(song: Song, frames: int, sample_rate: int) -> np.ndarray:
    """True for the frames of the first block of every note (where FluidSynth's voice-slot
    carry-over may differ between the renders)."""
    _, events = compile_events(song, "synth")
    ticks = np.array([e.tick for e in events if e.kind == NOTE_ON], dtype=np.float64)
    starts = R._ticks_to_frames(TempoMap.of(song), ticks, sample_rate)
    mask = np.zeros(frames, dtype=bool)
    for f in starts:
        first = -(-int(f) // BLOCK) * BLOCK
        mask[first:first + BLOCK] = True
    return mask


def _dry(monkeypatch) -> None:
    def new_synth(spec):
        return Synth(spec.soundfont, sample_rate=spec.sample_rate, channels=spec.channels,
                     reverb=False, chorus=False)

    monkeypatch.setattr(R, "_new_synth", new_synth)


def _render_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("gtz-render-")]


def test_parallel_render_equals_single_render_when_dry(soundfont, monkeypatch):
    _dry(monkeypatch)
    song = _band()
    one = render_song(song, soundfont=soundfont, sample_rate=SR, workers=1)
    two = render_song(song, soundfont=soundfont, sample_rate=SR, workers=2)
    three = render_song(song, soundfont=soundfont, sample_rate=SR, workers=3)
    assert (one.workers, two.workers, three.workers) == (1, 2, 3)
    peak = float(np.abs(one.audio).max())
    assert peak > 0.05
    for other in (two, three):
        assert other.audio.shape == one.audio.shape
        diff = np.abs(other.audio - one.audio).max(axis=1)
        outside = ~_note_on_blocks(song, len(diff), SR)
        assert outside.mean() > 0.9
        # Everywhere but the first block of a note: equal up to float rounding.
        assert diff[outside].max() < 1e-6 * max(1.0, peak), diff[outside].max()
        # ... and the whole render correlates almost perfectly.
        assert np.corrcoef(one.audio.ravel(), other.audio.ravel())[0, 1] > 0.999


def test_parallel_render_is_the_sum_of_its_groups_with_reverb_and_chorus(soundfont):
    """With reverb and chorus on, the parallel render is exactly the sum of each group of
    tracks rendered on its own (a fresh synth each, as in the workers)."""
    song = _band()
    setups, events = compile_events(song, "synth")
    frames = R._ticks_to_frames(TempoMap.of(song), np.array([e.tick for e in events], float), SR)
    groups = plan_groups(setups, events, frames, SR, workers=2, auto=False)
    two = render_song(song, soundfont=soundfont, sample_rate=SR, workers=2)
    assert two.workers == 2 and two.scaled == 1.0
    total = np.zeros_like(two.audio)
    for g in groups:
        keep = {events[i].track for i in g}
        alone = song
        for t in range(len(song.tracks)):
            alone = alone.with_track(t, replace(song.tracks[t], mute=t not in keep))
        part = render_song(alone, soundfont=soundfont, sample_rate=SR, workers=1).audio
        assert len(part) <= len(total)
        total[:len(part)] += part  # a group alone stops where its own tail dies away
    peak = float(np.abs(two.audio).max())
    assert peak > 0.05
    assert np.abs(total - two.audio).max() < 2 * R.SILENCE  # (the parts cut below -80 dBFS)
    end = int(frames[-1])  # up to the last event nothing was cut: equal up to float rounding
    assert np.abs(total[:end] - two.audio[:end]).max() < 1e-6


def test_parallel_render_matches_single_render_with_reverb_and_chorus(soundfont):
    song = _band()
    one = render_song(song, soundfont=soundfont, sample_rate=SR, workers=1).audio.astype(np.float64)
    two = render_song(song, soundfont=soundfont, sample_rate=SR, workers=2).audio.astype(np.float64)
    assert abs(len(one) - len(two)) <= 0.1 * SR  # the tails are cut where each went quiet
    n = min(len(one), len(two))
    one, two = one[:n], two[:n]
    # The first-block differences (see the dry test) ring on in reverb and chorus: close, not equal.
    assert np.corrcoef(one.ravel(), two.ravel())[0, 1] > 0.998
    snr_db = 10 * np.log10(np.sum(one ** 2) / np.sum((one - two) ** 2))
    assert snr_db > 20, snr_db
    # Per channel and per second the level is the same (the mix is not louder or panned).
    for a, b in zip(np.array_split(one, int(n / SR)), np.array_split(two, int(n / SR))):
        rms_a, rms_b = np.sqrt(np.mean(a ** 2, axis=0)), np.sqrt(np.mean(b ** 2, axis=0))
        assert np.all(np.abs(20 * np.log10((rms_b + 1e-9) / (rms_a + 1e-9))) < 0.5)


def test_parallel_render_writes_a_file_and_scales_loud_songs_once(soundfont, tmp_path):
    import soundfile

    chord = tuple(Note(0, p, PPQ * 2, 127) for p in range(36, 96, 2))
    loud = Song(tracks=tuple(new_track(i, program=p, notes=chord, volume=127) for i, p in enumerate((0, 19, 48, 61))))
    one = render_song(loud, soundfont=soundfont, sample_rate=SR, workers=1)
    two = render_song(loud, tmp_path / "loud.wav", soundfont=soundfont, sample_rate=SR, workers=2)
    assert two.workers == 2
    assert one.scaled < 1.0 and two.scaled == pytest.approx(one.scaled, rel=0.02)
    assert np.abs(two.audio).max() <= 0.99
    back, rate = soundfile.read(str(tmp_path / "loud.wav"), dtype="float32")
    assert rate == SR and back.shape == two.audio.shape


def test_progress_and_cancel_in_the_parallel_render(soundfont, tmp_path):
    song = _band(bars=12)
    seen: list[tuple[float, str]] = []
    result = render_song(song, soundfont=soundfont, sample_rate=SR, workers=2,
                         progress=lambda f, m: seen.append((f, m)))
    assert result.workers == 2
    fractions = [f for f, _ in seen]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert len({round(f, 3) for f in fractions if 0 < f < 1}) >= 5
    assert not _render_threads()

    def cancel_midway() -> bool:
        return bool(seen) and seen[-1][0] > 0.3

    seen.clear()
    with pytest.raises(RenderCancelled):
        render_song(song, tmp_path / "x.wav", soundfont=soundfont, sample_rate=SR, workers=2,
                    progress=lambda f, m: seen.append((f, m)), is_cancelled=cancel_midway)
    assert 0.3 < seen[-1][0] < 1.0  # it stopped in the middle, not at the end
    assert not (tmp_path / "x.wav").exists()
    assert not _render_threads()  # every worker has stopped


def test_an_error_in_a_worker_reaches_the_caller(soundfont, monkeypatch):
    made = []
    real = R._new_synth

    def failing(spec):
        made.append(spec)
        if len(made) == 2:
            raise SynthError("FluidSynth failed to start")
        return real(spec)

    monkeypatch.setattr(R, "_new_synth", failing)
    with pytest.raises(SynthError, match="failed to start"):
        render_song(_band(), soundfont=soundfont, sample_rate=SR, workers=2)
    assert len(made) == 2
    assert not _render_threads()


def test_groups_keep_tracks_whole_and_balance_the_load():
    song = _band(bars=16)
    setups, events = compile_events(song, "synth")
    ticks = np.array([e.tick for e in events], dtype=np.float64)
    frames = R._ticks_to_frames(TempoMap.of(song), ticks, SR)
    groups = plan_groups(setups, events, frames, SR, workers=2, auto=False)
    assert len(groups) == 2
    assert sorted(i for g in groups for i in g) == list(range(len(events)))
    tracks = [{events[i].track for i in g} for g in groups]
    assert not tracks[0] & tracks[1]  # no track is split between synths
    for g in groups:
        assert g == sorted(g)  # each group's events stay in time order
    # One synth per track at most, and one synth when asked for one.
    assert len(plan_groups(setups, events, frames, SR, workers=8, auto=False)) == len(song.tracks)
    assert len(plan_groups(setups, events, frames, SR, workers=1)) == 1
    # A small song (two short notes) stays on one synth when the choice is automatic.
    small = Song(tracks=(new_track(0, notes=(Note(0, 60, PPQ),)), new_track(1, notes=(Note(0, 64, PPQ),))))
    s_setups, s_events = compile_events(small, "synth")
    s_frames = R._ticks_to_frames(TempoMap.of(small), np.array([e.tick for e in s_events], float), SR)
    assert len(plan_groups(s_setups, s_events, s_frames, SR, workers=2)) == 1
    assert len(plan_groups(s_setups, s_events, s_frames, SR, workers=2, auto=False)) == 2
    assert 1 <= default_workers() <= R.MAX_WORKERS
