"""Genre panel driven by pytest-qt: result -> bars/timeline/style button, cancel, errors.

The panel takes any object with GenreDetector's detect(); most tests use the real head on real
musicnn taggrams of the repository's reference clips behind a stand-in audio front end (no
backbone, no shared data needed); one end-to-end test runs the real detector on a generated WAV."""

from __future__ import annotations

import threading
from pathlib import Path

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

    def detect(self, path_or_samples, sr=None, progress=None, is_cancelled=None, partial=None):
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


REFERENCE = Path(__file__).resolve().parents[1] / "data" / "musicnn_reference" / "reference.npz"


@pytest.fixture(scope="module")
def taggrams():
    """Real musicnn taggrams of the repository's reference clips (tests/data/musicnn_reference):
    the organ chorale sounds classical to the real head, the jazz combo like jazz."""
    with np.load(REFERENCE) as d:
        return {"classical": d["chorale_organ/taggram"], "jazz": d["jazz_combo/taggram"]}


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


def test_every_detected_genre_can_be_used_as_a_style(qtbot, taggrams, wav):
    panel = GenrePanel(detector=FakeAudioDetector(taggrams["jazz"]))
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.resultReady, timeout=30000):
        panel.open_file(wav)
    assert panel.result.top == "jazz"
    assert panel.style_button.isEnabled()  # jazz is a melody style now
    with qtbot.waitSignal(panel.useAsStyle) as styled:
        panel.style_button.click()
    assert styled.args == ["jazz"]
    # the genres without melody data are used through their stand-in, and the panel says so
    from gtzcomposer.services.models import melody_style_choice

    for genre, stand_in in (("metal", "classical"), ("rock", "blues"), ("country", "folk"), ("hiphop", "pop")):
        choice = melody_style_choice(genre)
        assert choice is not None and choice.style == stand_in and "no melody data of its own" in choice.note
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

    def detect(self, path, sr=None, progress=None, is_cancelled=None, partial=None):
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


class MinuteByMinuteDetector:
    """The real head on three "minutes" of reference taggrams, reporting each as the real
    detector does for a long file (partial results, then the whole)."""

    def __init__(self, taggrams):
        self.minutes = [taggrams["classical"], taggrams["jazz"], taggrams["jazz"]]
        self.release = threading.Event()

    def detect(self, path, sr=None, progress=None, is_cancelled=None, partial=None):
        det = g.GenreDetector()
        for n in range(1, len(self.minutes)):
            tg = np.concatenate(self.minutes[:n])
            so_far = det.detect_taggram(tg, np.arange(len(tg)) * 10.0, duration=10.0 * len(tg))
            partial(so_far)
            self.release.wait(5)
            self.release.clear()
        tg = np.concatenate(self.minutes)
        return det.detect_taggram(tg, np.arange(len(tg)) * 10.0, duration=10.0 * len(tg))


def test_segments_appear_while_a_long_file_is_analysed(qtbot, taggrams, wav):
    det = MinuteByMinuteDetector(taggrams)
    panel = GenrePanel(detector=det)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.partialResult, timeout=30000) as first:
        panel.open_file(wav)
    assert panel.running and panel.timeline.segments  # something to look at already
    assert [s[2] for s in panel.timeline.segments] == [s.top for s in first.args[0].segments]
    assert panel.timeline.segments[0][2] == "classical" and "So far" in panel.top_label.text()
    n_first = len(panel.timeline.segments)
    with qtbot.waitSignal(panel.partialResult, timeout=30000):
        det.release.set()
    assert len(panel.timeline.segments) > n_first
    with qtbot.waitSignal(panel.resultReady, timeout=30000) as done:
        det.release.set()
    assert not panel.running and panel.timeline.segments[-1][1] == pytest.approx(done.args[0].duration)
    assert "Sounds most like" in panel.top_label.text()
    panel.wait()
