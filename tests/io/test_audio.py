"""Audio input: formats, rates, channels, short files, bad files, long files in bounded memory."""

from __future__ import annotations

import os
import tracemalloc
from concurrent.futures import CancelledError

import numpy as np
import pytest
import soundfile as sf

from gtzcomposer.core.errors import GtzError
from gtzcomposer.io import audio as A
from gtzcomposer.io.audio import AudioError, audio_info, iter_audio_blocks, load_audio


def tone(seconds: float, sr: int, channels: int = 1, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    y = 0.5 * np.sin(2 * np.pi * freq * t)
    return np.stack([y * (1 - 0.1 * c) for c in range(channels)], axis=1).astype(np.float32)


def write(path, data, sr, **kw):
    sf.write(str(path), data, sr, **kw)
    return path


def peak_hz(y: np.ndarray, sr: int) -> float:
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spec) * sr / len(y))


# --- formats, rates, channels ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, kw",
    [
        ("a.wav", {"subtype": "PCM_16"}),
        ("a.au", {}),
        ("a.flac", {}),
        ("a.ogg", {}),
        ("a.mp3", {"format": "MP3"}),
        ("a.aiff", {}),
    ],
)
def test_formats_decode_to_mono_16k(tmp_path, name, kw):
    path = write(tmp_path / name, tone(2.0, 44100, 2), 44100, **kw)
    info = audio_info(path)
    assert info.sample_rate == 44100 and info.channels == 2
    assert info.duration_s == pytest.approx(2.0, abs=0.1)
    assert info.format == {"a.wav": "WAV", "a.au": "AU", "a.flac": "FLAC", "a.ogg": "OGG",
                           "a.mp3": "MP3", "a.aiff": "AIFF"}[name]
    y = load_audio(path)
    assert y.dtype == np.float32 and y.ndim == 1
    assert len(y) == pytest.approx(32000, abs=2000)  # mp3 adds encoder delay/padding
    assert peak_hz(y, 16000) == pytest.approx(440, abs=3)
    assert 0.3 < np.max(np.abs(y)) < 0.6


@pytest.mark.parametrize("sr", [8000, 11025, 22050, 32000, 48000, 96000])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_any_rate_and_channel_count(tmp_path, sr, channels):
    path = write(tmp_path / "x.wav", tone(1.0, sr, channels, freq=1000), sr, subtype="FLOAT")
    y = load_audio(path)
    assert len(y) == 16000
    assert peak_hz(y, 16000) == pytest.approx(1000, abs=3)
    multi = load_audio(path, mono=False)
    assert multi.shape == (channels, 16000)
    np.testing.assert_allclose(multi.mean(axis=0), y, atol=1e-5)


def test_matches_librosa_load(tmp_path):
    librosa = pytest.importorskip("librosa")
    data = np.random.default_rng(0).uniform(-0.5, 0.5, (44100 * 3 + 17, 2)).astype(np.float32)
    path = write(tmp_path / "n.wav", data, 44100, subtype="PCM_24")
    ref, _ = librosa.load(str(path), sr=16000)
    np.testing.assert_array_equal(load_audio(path), ref)


def test_native_rate_and_max_seconds(tmp_path):
    path = write(tmp_path / "x.flac", tone(5.0, 22050, 2), 22050)
    assert load_audio(path, sr=None).shape == (5 * 22050,)
    assert load_audio(path, max_seconds=1.5).shape == (24000,)
    assert load_audio(path, sr=None, max_seconds=1.0, mono=False).shape == (2, 22050)


def test_progress_and_cancel(tmp_path):
    path = write(tmp_path / "x.wav", tone(25.0, 16000), 16000)
    seen = []
    load_audio(path, progress=lambda f, m: seen.append(f))
    assert seen[-1] == 1.0 and seen == sorted(seen) and len(seen) >= 3
    with pytest.raises(CancelledError):
        load_audio(path, is_cancelled=lambda: True)
    with pytest.raises(CancelledError):
        list(iter_audio_blocks(path, block_seconds=5, is_cancelled=lambda: True))


# --- short files ----------------------------------------------------------------------------


def test_short_files(tmp_path):
    short = write(tmp_path / "short.wav", tone(0.2, 44100), 44100)
    with pytest.raises(AudioError, match=r"short\.wav.*only 0\.20 s.*0\.5 s"):
        load_audio(short)
    with pytest.raises(AudioError, match="only 0.20 s"):
        iter_audio_blocks(short)
    assert len(load_audio(short, min_seconds=0)) == 3200
    one = write(tmp_path / "one.wav", tone(1.0, 44100), 44100)
    assert len(load_audio(one)) == 16000  # kept as is; features pad it to a 3 s patch


# --- bad input ------------------------------------------------------------------------------


def _midi_bytes() -> bytes:
    import io

    import mido

    mid = mido.MidiFile()
    track = mido.MidiTrack()
    track += [mido.Message("note_on", note=60, velocity=64, time=0), mido.Message("note_off", note=60, time=480)]
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def _bad_files(tmp_path):
    good = write(tmp_path / "good.wav", tone(2.0, 22050, 2), 22050, subtype="PCM_16").read_bytes()
    flac = write(tmp_path / "good.flac", tone(2.0, 22050, 2), 22050).read_bytes()
    rng = np.random.default_rng(7)
    files = {
        "random.wav": rng.bytes(20000),
        "random.mp3": rng.bytes(20000),
        "random.flac": rng.bytes(20000),
        "random.ogg": rng.bytes(20000),
        "notes.wav": b"This is a text file, not a recording.\n" * 50,
        "song.wav": _midi_bytes(),
        "empty.wav": b"",
        "header_only.wav": good[:30],
        "cut_flac.flac": flac[:60],
        "image.wav": b"\x89PNG\r\n\x1a\n" + rng.bytes(3000),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = tmp_path / name
        paths[name].write_bytes(data)
    return paths


def test_not_audio_files_raise_audio_error_with_the_file_name(tmp_path):
    for name, path in _bad_files(tmp_path).items():
        for fn in (audio_info, load_audio, lambda p: list(iter_audio_blocks(p))):
            with pytest.raises(AudioError) as err:
                fn(path)
            msg = str(err.value)
            assert name in msg, msg
            assert isinstance(err.value, GtzError)


def test_error_sentences_say_what_is_wrong(tmp_path):
    paths = _bad_files(tmp_path)
    cases = {"song.wav": "MIDI", "notes.wav": "text file", "empty.wav": "empty", "image.wav": "image"}
    for name, words in cases.items():
        with pytest.raises(AudioError, match=words):
            load_audio(paths[name])
    with pytest.raises(AudioError, match="does not exist"):
        load_audio(tmp_path / "missing.wav")
    with pytest.raises(AudioError, match="folder"):
        load_audio(tmp_path)


def test_wav_without_samples(tmp_path):
    path = tmp_path / "silent_header.wav"
    with sf.SoundFile(str(path), "w", samplerate=16000, channels=1, subtype="PCM_16"):
        pass
    with pytest.raises(AudioError, match="no audio"):
        load_audio(path)


def test_truncated_data_gives_the_audio_that_is_there(tmp_path):
    whole = write(tmp_path / "w.wav", tone(4.0, 16000), 16000, subtype="PCM_16").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(whole[: len(whole) // 2])  # header promises 4 s, half the data is there
    y = load_audio(cut)
    assert len(y) == pytest.approx(32000, abs=30)
    assert peak_hz(y, 16000) == pytest.approx(440, abs=3)


def test_m4a_without_ffmpeg_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(A.shutil, "which", lambda name: None)
    path = tmp_path / "track.m4a"
    path.write_bytes(b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00" + bytes(200))
    with pytest.raises(AudioError, match=r"track\.m4a.*ffmpeg.*not installed"):
        load_audio(path)
    renamed = tmp_path / "renamed.wav"  # an MP4 container with the wrong extension
    renamed.write_bytes(path.read_bytes())
    with pytest.raises(AudioError, match="ffmpeg"):
        audio_info(renamed)


def test_ffmpeg_route_decodes_blocks(tmp_path, monkeypatch):
    """The audioread/ffmpeg reader, with a stand-in for ffmpeg's decoder output."""
    audioread_ffdec = pytest.importorskip("audioread.ffdec")
    stereo = (tone(3.0, 44100, 2) * 32767).astype("<i2")

    class FakeFFmpeg:
        def __init__(self, filename):
            self.samplerate, self.channels, self.duration = 44100, 2, 3.0

        def __iter__(self):
            raw = stereo.tobytes()
            for i in range(0, len(raw), 4096 + 2):  # odd chunk sizes, as a pipe delivers them
                yield raw[i : i + 4096 + 2]

        def close(self):
            pass

    monkeypatch.setattr(A.shutil, "which", lambda name: "/usr/bin/ffmpeg")
    monkeypatch.setattr(audioread_ffdec, "FFmpegAudioFile", FakeFFmpeg)
    path = tmp_path / "clip.m4a"
    path.write_bytes(b"\x00" * 100)
    info = audio_info(path)
    assert (info.sample_rate, info.channels, info.format) == (44100, 2, "M4A")
    assert info.duration_s == pytest.approx(3.0)
    y = load_audio(path)
    assert len(y) == 48000 and peak_hz(y, 16000) == pytest.approx(440, abs=3)
    np.testing.assert_allclose(np.concatenate(list(iter_audio_blocks(path, block_seconds=1))), y, atol=1e-6)


@pytest.mark.skipif(A.shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_real_m4a_with_ffmpeg(tmp_path):  # pragma: no cover - runs where ffmpeg exists
    import subprocess

    wav = write(tmp_path / "s.wav", tone(2.0, 44100, 2), 44100)
    m4a = tmp_path / "s.m4a"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    y = load_audio(m4a)
    assert len(y) == pytest.approx(32000, abs=2000) and peak_hz(y, 16000) == pytest.approx(440, abs=3)


# --- long files -----------------------------------------------------------------------------


def test_blocks_join_to_load_audio(tmp_path):
    data = np.random.default_rng(3).uniform(-0.5, 0.5, (44100 * 12 + 99, 2)).astype(np.float32)
    path = write(tmp_path / "n.flac", data, 44100)
    blocks = list(iter_audio_blocks(path, block_seconds=2.5))
    assert len(blocks) >= 4
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    assert max(len(b) for b in blocks) <= 2.5 * 16000 + 2000
    np.testing.assert_array_equal(np.concatenate(blocks), load_audio(path))
    same_rate = write(tmp_path / "m.wav", data[: 16000 * 5], 16000)
    np.testing.assert_array_equal(np.concatenate(list(iter_audio_blocks(same_rate, block_seconds=2))),
                                  load_audio(same_rate))


@pytest.mark.slow
def test_long_file_is_read_in_bounded_memory(tmp_path):
    """A 4-minute 44.1 kHz stereo WAV (42 MB): block-wise reading keeps Python-side memory to a
    few blocks, while loading it whole needs far more."""
    path = tmp_path / "long.wav"
    minutes = 4
    with sf.SoundFile(str(path), "w", samplerate=44100, channels=2, subtype="PCM_16") as f:
        chunk = tone(10.0, 44100, 2)
        for _ in range(minutes * 6):
            f.write(chunk)
    assert audio_info(path).duration_s == pytest.approx(minutes * 60)

    progress = []
    tracemalloc.start()
    try:
        total = 0
        biggest = 0
        for block in iter_audio_blocks(path, block_seconds=5, progress=lambda f, m: progress.append(f)):
            total += len(block)
            biggest = max(biggest, len(block))
        _, peak_blocks = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        whole = load_audio(path)
        _, peak_whole = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == len(whole) == minutes * 60 * 16000
    assert biggest <= 5 * 16000 + 2000
    assert progress[-1] == 1.0
    assert peak_blocks < 8e6, peak_blocks  # ~5 s of stereo float32 at 44.1 kHz is 1.8 MB
    assert peak_whole > 4 * peak_blocks


def test_non_finite_samples_are_made_safe(tmp_path):
    data = tone(1.0, 16000)
    data[100:200] = np.nan
    data[300] = np.inf
    path = write(tmp_path / "nan.wav", data, 16000, subtype="FLOAT")
    y = load_audio(path)
    assert np.all(np.isfinite(y)) and y[150] == 0.0 and y[300] == 1.0
    assert np.all(np.isfinite(np.concatenate(list(iter_audio_blocks(path)))))


# --- headers that lie, and files that are not files -------------------------------------------
def _wav_with_rate(tmp_path, rate):
    import struct

    import soundfile as sf

    path = tmp_path / f"rate{rate}.wav"
    sf.write(str(path), np.zeros(22050, dtype=np.float32), 22050)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, data.find(b"fmt ") + 12, rate)
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("rate", [1, 8, 7999, 192001, 1_000_000])
def test_a_sample_rate_outside_8_to_192_khz_is_refused_from_the_header(tmp_path, rate):
    from gtzcomposer.io.audio import AudioError, audio_info, iter_audio_blocks

    path = _wav_with_rate(tmp_path, rate)
    with pytest.raises(AudioError, match=f"declares a sample rate of {rate:,} Hz"):
        audio_info(path)
    with pytest.raises(AudioError, match="sample rate"):
        iter_audio_blocks(path)


def test_rates_at_the_edges_are_read(tmp_path):
    from gtzcomposer.io.audio import audio_info

    for rate in (8000, 192000):
        assert audio_info(_wav_with_rate(tmp_path, rate)).sample_rate == rate


def test_a_declared_length_over_the_limit_is_refused_before_decoding(tmp_path):
    import struct
    import time

    from gtzcomposer.io.audio import MAX_AUDIO_SECONDS, AudioError, load_audio

    path = tmp_path / "long.wav"
    frames = (MAX_AUDIO_SECONDS + 60) * 8000
    with open(path, "wb") as fh:  # sparse: a header, then silence that costs no disk
        fh.write(b"RIFF" + struct.pack("<I", 36 + frames) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8)
                 + b"data" + struct.pack("<I", frames))
        fh.truncate(44 + frames)
    t = time.perf_counter()
    with pytest.raises(AudioError, match=r"lasts 3\.0 hours; audio is read up to 3 hours"):
        load_audio(path)
    assert time.perf_counter() - t < 2


def test_a_real_header_then_gigabytes_of_zeros_is_refused_at_once(tmp_path):
    import time

    import soundfile as sf

    from gtzcomposer.io.audio import AudioError, audio_info

    path = tmp_path / "sparse.ogg"
    sf.write(str(path), np.zeros(22050, dtype=np.float32), 22050, format="OGG")
    for size, match in ((2 * 10**9, "header declares only 1.0 s"), (10**11, "audio files are read up to")):
        with open(path, "r+b") as fh:
            fh.truncate(size)
        t = time.perf_counter()
        with pytest.raises(AudioError, match=match):
            audio_info(path)
        assert time.perf_counter() - t < 10


def test_a_fifo_is_refused_without_blocking(tmp_path):
    from gtzcomposer.io.audio import AudioError, audio_info

    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(AudioError, match="not a regular file"):
        audio_info(fifo)


@pytest.mark.parametrize("rate", [44100, 22050, 48000, 8000])
def test_resample_equals_librosa_resample(rate):
    """io.audio.resample (soxr) gives librosa.resample's samples and length, without librosa."""
    librosa = pytest.importorskip("librosa", reason="librosa comes with the training extra; the app does not need it")
    from gtzcomposer.io.audio import resample

    rng = np.random.default_rng(rate)
    x = (0.3 * np.sin(np.arange(rate * 2 + 7) * 0.05) + 0.05 * rng.normal(size=rate * 2 + 7)).astype(np.float32)
    got = resample(x, rate, 16000)
    want = librosa.resample(x, orig_sr=rate, target_sr=16000)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(resample(x, 16000, 16000), x)
