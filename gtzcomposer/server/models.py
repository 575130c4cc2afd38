"""The models one worker serves, loaded once before it takes traffic, and the slots that bound
how many heavy requests run at once.

Thread safety: a :class:`~gtzcomposer.ml.genre.GenreDetector` is not meant to be shared between
threads, so the host keeps one detector per slot (they share the process-wide backbone, whose
compiled function TensorFlow runs safely from several threads) and lends one to each request.
The melody generator holds read-only numpy weights and keeps every sampling state in local
variables, so one instance serves every thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time

import numpy as np

from ..core.errors import GtzError
from .config import ServerConfig

log = logging.getLogger("gtzcomposer.server")


class Busy(Exception):  # noqa: N818 - the name says what happened
    """Every slot stayed taken for the whole queue timeout."""


class ModelHost:
    def __init__(self, config: ServerConfig):
        self.config = config
        self._slots = threading.BoundedSemaphore(config.max_concurrent)
        self._busy = 0
        self._busy_lock = threading.Lock()
        self._detectors: queue.SimpleQueue = queue.SimpleQueue()
        self.generator = None
        # name -> {"ready": bool, "error": sentence or None, "load_seconds": float}
        self.status: dict[str, dict] = {
            name: {"ready": False, "error": "not loaded yet", "load_seconds": None} for name in config.models
        }

    # -- loading --------------------------------------------------------------------------------
    def load(self) -> ModelHost:
        """Load (and warm up) every configured model; a model that fails is reported in
        :attr:`status` and by ``/readyz``, and its endpoint answers 503, while the others serve."""
        _one_blas_thread_per_worker()
        for name in self.config.models:
            t0 = time.perf_counter()
            try:
                getattr(self, f"_load_{name}")()
            except GtzError as exc:
                self.status[name] = {"ready": False, "error": str(exc), "load_seconds": None}
                log.error("model %s not loaded: %s", name, exc)
                continue
            except Exception:  # noqa: BLE001 - a broken install must not take the other model down
                log.exception("model %s not loaded", name)
                self.status[name] = {"ready": False, "error": f"the {name} model could not be loaded "
                                     "(the server's log says why)", "load_seconds": None}
                continue
            seconds = time.perf_counter() - t0
            self.status[name] = {"ready": True, "error": None, "load_seconds": round(seconds, 3)}
            log.info("model %s loaded and warmed up in %.1f s (pid %d)", name, seconds, os.getpid())
        return self

    def _load_genre(self) -> None:
        from ..ml.genre import SAMPLE_RATE, GenreDetector

        noise = np.random.default_rng(0).standard_normal(4 * SAMPLE_RATE).astype(np.float32) * 0.1
        for _ in range(self.config.max_concurrent):
            detector = GenreDetector().load()
            if self.config.warm_up:  # traces the backbone's compiled function and the feature code
                detector.detect(noise, sr=SAMPLE_RATE)
            self._detectors.put(detector)

    def _load_melody(self) -> None:
        from ..ml.melody.generator import MelodyGenerator

        gen = MelodyGenerator.load()
        if self.config.warm_up:
            from ..core import Note, Song, new_track
            from ..core.generation import GenerationSettings

            notes = tuple(Note(i * 240, p, 240, 90) for i, p in enumerate((60, 62, 64, 65, 67, 65, 64, 62)))
            song = Song(tracks=(new_track(0, notes=notes),))
            gen.continue_melody(notes, song, GenerationSettings(style=gen.styles[0], bars=1, variations=1, seed=0))
        self.generator = gen

    # -- state ----------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return all(s["ready"] for s in self.status.values())

    def serves(self, name: str) -> bool:
        return name in self.status and self.status[name]["ready"]

    def why_not(self, name: str) -> str:
        """The sentence for a client (the reason itself, which may name server paths, is in /readyz)."""
        if name not in self.status:
            return f"this server does not serve the {name} model (it was started with --models " \
                   f"{','.join(self.config.models)})"
        return f"the {name} model is not loaded on this server; /readyz says why"

    @property
    def busy(self) -> int:
        return self._busy

    # -- lending --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def slot(self):
        """Hold one of the worker's ``max_concurrent`` slots; raises :class:`Busy` when none frees
        up within ``queue_timeout`` seconds."""
        if not self._slots.acquire(timeout=self.config.queue_timeout):
            raise Busy()
        with self._busy_lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._busy_lock:
                self._busy -= 1
            self._slots.release()

    @contextlib.contextmanager
    def detector(self):
        """Lend a genre detector (call inside :meth:`slot`: there is one per slot)."""
        d = self._detectors.get()
        try:
            yield d
        finally:
            self._detectors.put(d)


def _one_blas_thread_per_worker() -> None:
    """Workers x threads already use every core; BLAS threads on top only fight over them (the
    melody generator measured 10x slower on a busy 2-core machine with them)."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1, user_api="blas")
    except Exception:  # noqa: BLE001 - an optimisation only
        pass
