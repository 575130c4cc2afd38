"""Run long pure functions off the GUI thread.

A task is any callable ``fn(*args, progress=..., is_cancelled=..., **kwargs)`` from ml/io/audio.
:class:`TaskRunner` runs one task at a time on a worker thread, throttles its progress reports,
delivers the result (or the error) on the GUI thread, and cancels the previous task when a new
one starts. Results of a cancelled or superseded task are dropped.

A task that has something to show before it is done (genre segments of the first minutes) is
started with ``partial=True``: it then also gets ``partial=callback`` and each
``callback(value)`` arrives on the GUI thread as ``partialResult(value)``.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from ..core.errors import Cancelled

__all__ = ["Cancelled", "TaskRunner"]


class _Emitter(QObject):
    # Lives in the GUI thread; signals emitted from the worker are queued to it.
    progress = Signal(int, float, str)
    partial = Signal(int, object)
    done = Signal(int, object)
    error = Signal(int, object)


class _Job(QRunnable):
    def __init__(self, task_id: int, fn: Callable, args, kwargs, emitter: _Emitter, cancel: threading.Event,
                 interval: float) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._id, self._fn, self._args, self._kwargs = task_id, fn, args, kwargs
        self._emitter, self._cancel, self._interval = emitter, cancel, interval
        self._last = 0.0

    def _emit(self, signal: str, *args) -> bool:
        try:
            getattr(self._emitter, signal).emit(self._id, *args)
            return True
        except RuntimeError:  # the runner was destroyed (window closed, app quitting): stop quietly
            self._cancel.set()
            return False

    def _progress(self, fraction: float, message: str = "") -> None:
        now = time.monotonic()
        if fraction >= 1.0 or now - self._last >= self._interval:
            self._last = now
            self._emit("progress", float(fraction), str(message))

    def _partial(self, value: object) -> None:
        self._emit("partial", value)

    def run(self) -> None:
        kwargs = dict(self._kwargs)
        if kwargs.pop("__partial__", False):
            kwargs["partial"] = self._partial
        try:
            result = self._fn(*self._args, progress=self._progress, is_cancelled=self._cancel.is_set, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - delivered to the GUI thread, shown there
            self._emit("error", exc)
        else:
            self._emit("done", result)


class TaskRunner(QObject):
    """One background task at a time, for one panel or feature."""

    started = Signal(str)
    progress = Signal(float, str)  # fraction 0..1, message
    partialResult = Signal(object)  # what a task started with partial=True has so far
    finished = Signal(object)  # the task's result
    failed = Signal(object)  # the exception it raised (not Cancelled)
    cancelled = Signal()
    busyChanged = Signal(bool)

    _ids = itertools.count(1)

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None,
                 progress_interval: float = 0.05) -> None:
        super().__init__(parent)
        self._pool = pool or QThreadPool.globalInstance()
        self._emitter = _Emitter()
        self._emitter.progress.connect(self._on_progress)
        self._emitter.partial.connect(self._on_partial)
        self._emitter.done.connect(self._on_done)
        self._emitter.error.connect(self._on_error)
        self._current: int | None = None
        self._cancel: threading.Event | None = None
        self._interval = progress_interval

    @property
    def busy(self) -> bool:
        return self._current is not None

    def start(self, fn: Callable, *args: Any, label: str = "", partial: bool = False, **kwargs: Any) -> int:
        """Start ``fn`` on a worker; a task already running is cancelled first. With ``partial``
        the task gets a ``partial`` callback too (see the module docstring)."""
        self.cancel()
        if partial:
            kwargs["__partial__"] = True
        task_id = next(self._ids)
        self._current, self._cancel = task_id, threading.Event()
        self._pool.start(_Job(task_id, fn, args, kwargs, self._emitter, self._cancel, self._interval))
        self.started.emit(label)
        self.busyChanged.emit(True)
        return task_id

    def cancel(self) -> None:
        """Ask the running task to stop; its result, if it still comes, is dropped."""
        if self._current is None:
            return
        assert self._cancel is not None
        self._cancel.set()
        self._current = None
        self.cancelled.emit()
        self.busyChanged.emit(False)

    def wait(self, msecs: int = -1) -> bool:
        """Block until the pool's workers are idle (for tests and shutdown)."""
        return self._pool.waitForDone(msecs)

    def _on_progress(self, task_id: int, fraction: float, message: str) -> None:
        if task_id == self._current:
            self.progress.emit(fraction, message)

    def _on_partial(self, task_id: int, value: object) -> None:
        if task_id == self._current:
            self.partialResult.emit(value)

    def _on_done(self, task_id: int, result: object) -> None:
        if task_id != self._current:
            return
        self._current = None
        self.busyChanged.emit(False)
        self.finished.emit(result)

    def _on_error(self, task_id: int, exc: object) -> None:
        if task_id != self._current:
            return
        self._current = None
        self.busyChanged.emit(False)
        if isinstance(exc, Cancelled):
            self.cancelled.emit()
        else:
            self.failed.emit(exc)
