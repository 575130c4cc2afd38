"""Genre panel driven by pytest-qt: result -> bars/timeline/style button, cancel, errors.

The panel takes any object with GenreDetector's detect(); most tests use the real head on real
GTZAN taggram rows behind a stand-in audio front end (no backbone needed); the end-to-end test on a
generated WAV skips until the musicnn backbone is merged."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from gtzcomposer.ml import genre as g
from gtzcomposer.ui.genre_panel import GENRES, GenrePanel


class FakeAudioDetector(g.GenreDetector):
    """detect(path) checks the path like the real one, then uses a fixed taggram; can block."""

    def __init__(self, taggram, gate: threading.Event | None = None):
        super().__init__()
        self.taggram = taggram
        self.gate = gate
        self.started = threading.Event()

    def detect(self, path_or_samples, sr=None, progress=None, is_cancelled=None):
        from pathlib import Path

        if not Path(path_or_samples).is_file():
            return super().detect(path_or_samples, sr, progress, is_cancelled)
        if Path(path_or_samples).read_bytes()[:4] != b"RIFF":
            raise g.GenreError(f"{path_or_samples} is not an audio file.")
        self.started.set()
        for i in range(100):
            if is_cancelled and is_cancelled():
                raise g.Cancelled()
            if self.gate is not None and not self.gate.is_set():
                self.gate.wait(0.05)
                continue
            if progress:
                progress(i / 100, "working")
            break
        if self.gate is not None and not self.gate.is_set():
            raise g.Cancelled()
        r = self.detect_taggram(self.taggram)
        env = np.abs(np.sin(np.linspace(0, 20, 500))).astype(np.float32)
        return g.GenreResult(r.probabilities, r.duration, r.patch_times, r.patch_probabilities, 10.0, env, str(path_or_samples))


@pytest.fixture
def taggrams(shared_data):
    with np.load(shared_data / "gtzan-musicnn" / "evaluation_data_GTZAN_MSDmusicnn_taggram.npz") as d:
        ids, x = d["IDS"].astype(str), d["X"]
    pick = lambda genre: x[ids == ids[np.char.startswith(ids, genre + "/")][0]]
    return {"classical": pick("classical"), "metal": pick("metal")}


@pytest.fixture
def wav(tmp_path):
    import soundfile as sf

    p = tmp_path / "clip.wav"
    sr = 22050
    t = np.arange(sr * 5) / sr
    sf.write(p, 0.3 * np.sin(2 * np.pi * 440 * t), sr)
    return p


def test_result_fills_bars_timeline_and_style(qtbot, taggrams, wav):
    panel = GenrePanel(detector=FakeAudioDetector(taggrams["classical"]))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.resultReady, timeout=30000) as blocker:
        panel.open_file(wav)
    result = blocker.args[0]
    assert result.top == "classical"
    np.testing.assert_allclose(panel.bars.values(), result.probabilities, rtol=1e-6)
    assert panel.bars.values()[GENRES.index("classical")] == max(panel.bars.values())
    assert [s[2] for s in panel.timeline.segments] == [s.top for s in result.segments]
    assert panel.timeline.segments[-1][1] == pytest.approx(result.duration)
    assert panel.waveform.envelope is not None and len(panel.waveform.envelope) == 500
    assert not panel.running and not panel.progress.isVisible()
    assert panel.style_button.isEnabled()
    with qtbot.waitSignal(panel.useAsStyle) as styled:
        panel.style_button.click()
    assert styled.args == ["classical"]
    panel.grab()  # paints every view without error


def test_genre_without_style_disables_the_button(qtbot, taggrams, wav):
    panel = GenrePanel(detector=FakeAudioDetector(taggrams["metal"]))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.resultReady, timeout=30000):
        panel.open_file(wav)
    assert panel.result.top == "metal"
    assert not panel.style_button.isEnabled()
    assert "No melody style matches 'metal'" in panel.style_button.toolTip()
    panel.grab()


def test_cancel_stops_the_worker(qtbot, taggrams, wav):
    gate = threading.Event()  # never set: the fake blocks until cancelled
    det = FakeAudioDetector(taggrams["classical"], gate)
    panel = GenrePanel(detector=det)
    qtbot.addWidget(panel)
    results = []
    panel.resultReady.connect(results.append)
    panel.open_file(wav)
    assert det.started.wait(30)
    assert panel.running and panel.cancel_button.isEnabled()
    with qtbot.waitSignal(panel.cancelled, timeout=5000):
        panel.cancel_button.click()
    assert panel.wait(10000)
    qtbot.wait(50)
    assert results == [] and not panel.running
    assert panel.status.text() == "Cancelled." and not panel.cancel_button.isEnabled()
    # the panel is usable again afterwards
    gate.set()
    with qtbot.waitSignal(panel.resultReady, timeout=30000):
        panel.open_file(wav)


def test_bad_files_show_an_error(qtbot, taggrams, tmp_path):
    panel = GenrePanel(detector=FakeAudioDetector(taggrams["classical"]))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.failed, timeout=5000) as blocker:
        panel.open_file(tmp_path / "missing.wav")
    assert "no such file" in blocker.args[0] and "no such file" in panel.status.text()
    junk = tmp_path / "junk.wav"
    junk.write_text("hello")
    with qtbot.waitSignal(panel.failed, timeout=30000) as blocker:
        panel.open_file(junk)
    assert "not an audio file" in panel.status.text()
    assert not panel.style_button.isEnabled() and not panel.running
    panel.grab()


def test_drop_accepts_audio_urls(qtbot, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "a.txt")), QUrl.fromLocalFile(str(tmp_path / "b.flac"))])
    assert GenrePanel._dropped_path(mime) == str(tmp_path / "b.flac")
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "a.txt"))])
    assert GenrePanel._dropped_path(mime) is None


def test_panel_module_is_light():
    import subprocess
    import sys

    code = ("import sys; import gtzcomposer.ui.genre_panel; "
            "print(any(m in sys.modules for m in ('keras', 'tensorflow', 'librosa', 'matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.slow
def test_end_to_end_real_detector(qtbot, tmp_path):
    import soundfile as sf

    sr = 16000
    t = np.arange(sr * 8) / sr
    p = tmp_path / "tone.wav"
    sf.write(p, 0.2 * np.sin(2 * np.pi * 330 * t) * np.sin(2 * np.pi * 0.5 * t), sr)
    panel = GenrePanel()
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.resultReady, timeout=120000) as blocker:
        panel.open_file(p)
    assert sum(panel.bars.values()) == pytest.approx(1.0, abs=1e-4)
    assert blocker.args[0].duration == pytest.approx(8.0, abs=0.01)
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"\x00" * 1000)
    with qtbot.waitSignal(panel.failed, timeout=60000):
        panel.open_file(bad)


class ShortClipDetector:
    """The real result type for 1.5 s of audio (one padded patch) from the real head."""

    def detect(self, path, sr=None, progress=None, is_cancelled=None):
        det = g.GenreDetector()
        taggram = np.full((1, 50), 0.1, np.float32)
        r = det.detect_taggram(taggram, np.zeros(1), duration=1.5)
        return r


def test_a_clip_too_short_to_trust_gets_a_warning(qtbot, wav):
    panel = GenrePanel(detector=ShortClipDetector())
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.resultReady, timeout=30000) as got:
        panel.open_file(wav)
    assert got.args[0].warning and "Only 1.5 s of audio" in panel.status.text()
    assert "padded with silence" in panel.status.text()
    assert "warning" in got.args[0].to_dict()
