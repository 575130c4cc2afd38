"""Genre panel: open or drop an audio file -> waveform, genre bar chart, per-segment timeline.

``GenrePanel(parent=None)`` is a plain QWidget (the main window puts it in a dock). It emits
``useAsStyle(str)`` with the detected genre as the melody style name (every GTZAN genre is one;
genres without melody data are written in a stand-in style, which the tooltip names),
``resultReady(object)`` with the :class:`~gtzcomposer.ml.genre.GenreResult` and
``failed(str)`` with an error message. Detection runs through :class:`~gtzcomposer.services.tasks.TaskRunner`
on a one-thread pool (one analysis at a time: a cancelled one finishes before the next starts),
with progress and cancel (:class:`gtzcomposer.core.errors.Cancelled`).
Nothing heavy is imported at module level: the models load inside the worker on first use.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, QThreadPool, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..services.models import genre_detector, genre_labels, melody_style_choice, melody_styles
from ..services.tasks import TaskRunner

GENRES = genre_labels()  # from the genre model's card (JSON only: nothing heavy loads)
GENRE_COLORS = {
    "blues": "#1f77b4", "classical": "#c5b0d5", "country": "#8c564b", "disco": "#e377c2", "hiphop": "#7f7f7f",
    "jazz": "#bcbd22", "metal": "#d62728", "pop": "#17becf", "reggae": "#2ca02c", "rock": "#ff7f0e",
}
# A detected genre is used as the melody style under its own name: the generator accepts every
# GTZAN genre, six of them through a stand-in style (services.models.melody_style_choice says).
AUDIO_FILTER = "Audio files (*.wav *.au *.flac *.ogg *.mp3 *.m4a *.aac);;All files (*)"
AUDIO_SUFFIXES = {".wav", ".au", ".snd", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".aif", ".aiff"}


def _detect(get_detector, path: str, progress=None, is_cancelled=None, partial=None):
    """The task the panel's runner runs: load the detector (first time) and analyse ``path``."""
    return get_detector().detect(path, progress=progress, is_cancelled=is_cancelled, partial=partial)


# ----------------------------------------------------------------------------- views

class WaveformView(QWidget):
    """Peak envelope of the audio (|x| per 20 ms), mirrored around the centre line."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.envelope = None
        self.setMinimumHeight(60)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_envelope(self, env) -> None:
        self.envelope = env
        self.update()

    def paintEvent(self, event):  # noqa: N802 - Qt
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        w, h = self.width(), self.height()
        env = self.envelope
        if env is None or len(env) == 0:
            p.setPen(self.palette().placeholderText().color())
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "open or drop an audio file")
            return
        import numpy as np

        n = len(env)
        cols = max(1, min(w, n))
        edges = np.linspace(0, n, cols + 1).astype(int)
        peaks = np.array([env[a:max(b, a + 1)].max() for a, b in zip(edges[:-1], edges[1:])])
        top = max(float(peaks.max()), 1e-6)
        mid = h / 2
        path = QPainterPath()
        path.moveTo(0, mid)
        xs = np.linspace(0, w, cols)
        for x, v in zip(xs, peaks):
            path.lineTo(QPointF(float(x), mid - float(v) / top * (mid - 2)))
        for x, v in zip(xs[::-1], peaks[::-1]):
            path.lineTo(QPointF(float(x), mid + float(v) / top * (mid - 2)))
        path.closeSubpath()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillPath(path, QColor("#4a90d9"))


class GenreBars(QWidget):
    """Horizontal bar chart of the 10 genre probabilities (GENRES order), drawn with QPainter."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._values = [0.0] * len(GENRES)
        self.setMinimumHeight(18 * len(GENRES) + 4)

    def set_values(self, values) -> None:
        vals = [float(v) for v in values]
        if len(vals) != len(GENRES):
            raise ValueError(f"expected {len(GENRES)} values, got {len(vals)}")
        self._values = vals
        self.update()

    def values(self) -> list[float]:
        return list(self._values)

    def paintEvent(self, event):  # noqa: N802 - Qt
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        fm = p.fontMetrics()
        label_w = max(fm.horizontalAdvance(g) for g in GENRES) + 8
        value_w = fm.horizontalAdvance("100.0%") + 8
        row = (self.height() - 4) / len(GENRES)
        bar_w = max(1.0, self.width() - label_w - value_w)
        best = max(range(len(GENRES)), key=lambda i: self._values[i]) if any(self._values) else -1
        text = self.palette().text().color()
        for i, (g, v) in enumerate(zip(GENRES, self._values)):
            y = 2 + i * row
            p.setPen(text)
            f = p.font()
            f.setBold(i == best)
            p.setFont(f)
            p.drawText(QRectF(2, y, label_w - 4, row), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, g)
            p.fillRect(QRectF(label_w, y + row * 0.15, bar_w * max(0.0, min(1.0, v)), row * 0.7), QColor(GENRE_COLORS[g]))
            p.drawText(QRectF(label_w + bar_w, y, value_w, row), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                       f"{v:.1%}")


class SegmentStrip(QWidget):
    """A timeline: one coloured block per segment (colour = its top genre), and a legend."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.segments = []  # [(start, end, top genre)]
        self.duration = 0.0
        self.setMinimumHeight(48)

    def set_segments(self, segments, duration: float) -> None:
        self.segments = [(float(s.start), float(s.end), s.top) for s in segments]
        self.duration = float(duration)
        self.setToolTip("\n".join(f"{a:.0f}-{b:.0f} s: {g}" for a, b, g in self.segments))
        self.update()

    def paintEvent(self, event):  # noqa: N802 - Qt
        p = QPainter(self)
        p.fillRect(self.rect(), self.palette().base())
        fm = p.fontMetrics()
        strip_h = max(12, self.height() - fm.height() - 6)
        if not self.segments or self.duration <= 0:
            return
        w = self.width()
        for a, b, g in self.segments:
            x0, x1 = a / self.duration * w, b / self.duration * w
            p.fillRect(QRectF(x0, 0, max(1.0, x1 - x0), strip_h), QColor(GENRE_COLORS[g]))
        p.setPen(QPen(self.palette().base().color(), 1))
        for a, _b, _g in self.segments[1:]:
            x = a / self.duration * w
            p.drawLine(QPointF(x, 0), QPointF(x, strip_h))
        # legend: the genres present, in order of first appearance
        x = 2.0
        y = strip_h + 4
        p.setPen(self.palette().text().color())
        for g in dict.fromkeys(s[2] for s in self.segments):
            p.fillRect(QRectF(x, y + 2, 10, fm.height() - 4), QColor(GENRE_COLORS[g]))
            p.drawText(QPointF(x + 14, y + fm.ascent()), g)
            x += 14 + fm.horizontalAdvance(g) + 12


# ----------------------------------------------------------------------------- the panel

class GenrePanel(QWidget):
    useAsStyle = Signal(str)  # noqa: N815 - Qt signal name requested by the main window
    resultReady = Signal(object)  # noqa: N815
    partialResult = Signal(object)  # noqa: N815 - the result so far, while a long file is analysed
    failed = Signal(str)
    cancelled = Signal()

    def __init__(self, parent=None, detector=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._detector = detector
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.runner = TaskRunner(self, pool=self._pool)
        self.runner.progress.connect(self._on_progress)
        self.runner.finished.connect(self._on_finished)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.partialResult.connect(self._on_partial)
        self.result = None
        self.path: str | None = None

        self.open_button = QPushButton("Open audio…")
        self.open_button.clicked.connect(self._ask_open)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.style_button = QPushButton("Use as style")
        self.style_button.clicked.connect(self._use_as_style)
        self.file_label = QLabel("No file")
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setVisible(False)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.waveform = WaveformView()
        self.bars = GenreBars()
        self.timeline = SegmentStrip()
        self.top_label = QLabel("")

        buttons = QHBoxLayout()
        for wdg in (self.open_button, self.cancel_button, self.style_button):
            buttons.addWidget(wdg)
        buttons.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(buttons)
        lay.addWidget(self.file_label)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addWidget(self.waveform)
        lay.addWidget(self.top_label)
        lay.addWidget(self.bars)
        lay.addWidget(QLabel("Segments (10 s, coloured by top genre):"))
        lay.addWidget(self.timeline)
        lay.addStretch(1)
        self._update_style_button()

    # -- public API
    @property
    def running(self) -> bool:
        return self.runner.busy

    def open_file(self, path) -> None:
        """Analyse ``path`` in the background (cancels a running analysis first)."""
        self.cancel()
        path = str(path)
        self.path = path
        self.result = None
        self.file_label.setText(Path(path).name)
        self.file_label.setToolTip(path)
        self._set_error("")
        self.bars.set_values([0.0] * len(GENRES))
        self.timeline.set_segments([], 0.0)
        self.waveform.set_envelope(None)
        self.top_label.setText("")
        self._update_style_button()
        if not Path(path).is_file():
            self._fail(f"{path}: no such file." if not Path(path).exists() else f"{path} is not a file.")
            return
        self.progress.setValue(0)
        self.progress.setFormat("starting…")
        self.progress.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.status.setText("Analysing… (the first run loads the models)")
        self.runner.start(_detect, self._get_detector, path, label=f"Analysing {Path(path).name}", partial=True)

    def cancel(self) -> None:
        self.runner.cancel()  # -> _on_cancelled

    def wait(self, msecs: int = 30000) -> bool:
        """Block until the worker thread is idle (for tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    # -- internals
    def _get_detector(self):
        if self._detector is None:
            self._detector = genre_detector()
        return self._detector

    def _finish_task(self):
        self.progress.setVisible(False)
        self.cancel_button.setEnabled(False)

    def _on_progress(self, fraction, message):
        self.progress.setValue(int(1000 * max(0.0, min(1.0, fraction))))
        self.progress.setFormat(f"%p%  {message}")

    def _on_partial(self, result):
        """What the first minutes of a long file sound like, while the rest is analysed."""
        self.bars.set_values(result.probabilities)
        self.timeline.set_segments(result.segments, result.duration)
        self.waveform.set_envelope(result.envelope)
        top, p = result.sorted()[0]
        self.top_label.setText(f"So far most like <b>{top}</b> ({p:.0%}), {result.duration:.0f} s analysed…")
        self.partialResult.emit(result)

    def _on_finished(self, result):
        self._finish_task()
        self.result = result
        self.status.setText("")
        self.bars.set_values(result.probabilities)
        self.timeline.set_segments(result.segments, result.duration)
        self.waveform.set_envelope(result.envelope)
        top, p = result.sorted()[0]
        self.top_label.setText(f"Sounds most like <b>{top}</b> ({p:.0%}), {result.duration:.1f} s analysed")
        if result.warning:
            self.status.setText(result.warning)
        self._update_style_button()
        self.resultReady.emit(result)

    def _on_failed(self, exc):
        from ..core.errors import GtzError

        self._finish_task()
        message = str(exc) if isinstance(exc, GtzError) else f"{type(exc).__name__}: {exc}"
        self._fail(message or type(exc).__name__)

    def _on_cancelled(self):
        self._finish_task()
        self.status.setText("Cancelled.")
        self.cancelled.emit()

    def _fail(self, message: str):
        self._set_error(message)
        self.failed.emit(message)

    def _set_error(self, message: str):
        self.status.setText(message)
        self.status.setStyleSheet("color: #c0392b;" if message else "")

    def style_for_result(self) -> str | None:
        if self.result is None:
            return None
        choice = melody_style_choice(self.result.top)
        return choice.requested if choice is not None else None

    def _update_style_button(self):
        style = self.style_for_result()
        self.style_button.setEnabled(style is not None)
        if self.result is None:
            self.style_button.setToolTip("Analyse an audio file first.")
        elif style is None:
            self.style_button.setToolTip(
                f"No melody style matches '{self.result.top}': the generator knows {', '.join(melody_styles()[0])}.")
        else:
            note = melody_style_choice(style).note
            self.style_button.setToolTip(f"Set the generation style to '{style}'." + (f" {note}" if note else ""))

    def _use_as_style(self):
        style = self.style_for_result()
        if style:
            self.useAsStyle.emit(style)

    def _ask_open(self):
        path, _ = QFileDialog.getOpenFileName(self, "Open audio", "", AUDIO_FILTER)
        if path:
            self.open_file(path)

    # -- drag and drop
    def dragEnterEvent(self, event):  # noqa: N802 - Qt
        if self._dropped_path(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event):  # noqa: N802 - Qt
        path = self._dropped_path(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.open_file(path)

    @staticmethod
    def _dropped_path(mime) -> str | None:
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in AUDIO_SUFFIXES:
                return url.toLocalFile()
        return None

    def closeEvent(self, event):  # noqa: N802 - Qt
        self.cancel()
        self._pool.waitForDone(5000)
        super().closeEvent(event)
