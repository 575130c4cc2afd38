"""Run the app under a production WSGI server: gunicorn (Linux, macOS) with ``gthread`` workers,
or waitress (one process, a thread pool) where gunicorn cannot run (Windows) or when asked.

gunicorn is used as a library (its "custom application"): the master binds the socket and forks
``workers`` processes; each worker calls :func:`~gtzcomposer.server.app.create_app`, which loads
and warms up the models *after* the fork (TensorFlow's threads do not survive a fork) and
*before* the worker accepts a connection. The master's worker timeout is long enough for that
load; the request timeout is the app's own (``ServerConfig.request_timeout``).
"""

from __future__ import annotations

import importlib.util
import logging
import sys

from .config import ServerConfig

log = logging.getLogger("gtzcomposer.server")
BACKENDS = ("auto", "gunicorn", "waitress")
LOAD_TIMEOUT = 300  # seconds a gunicorn worker may take to load its models before the master restarts it


def gunicorn_available() -> bool:
    return sys.platform != "win32" and importlib.util.find_spec("gunicorn") is not None


def choose_backend(backend: str = "auto") -> str:
    from ..core.errors import GtzError

    if backend == "auto":
        backend = "gunicorn" if gunicorn_available() else "waitress"
    if backend == "gunicorn" and not gunicorn_available():
        raise GtzError("gunicorn cannot run here (it needs Linux or macOS and the gunicorn package); "
                       "use --server waitress")
    if backend == "waitress" and importlib.util.find_spec("waitress") is None:
        raise GtzError("the waitress package is not installed (pip install waitress)")
    return backend


def serve(config: ServerConfig, host: str = "127.0.0.1", port: int = 8000, workers: int = 1, threads: int = 4,
          backend: str = "auto") -> None:
    """Serve until stopped (SIGTERM or Ctrl+C)."""
    backend = choose_backend(backend)
    if backend == "gunicorn":
        _serve_gunicorn(config, host, port, workers, threads)
    else:
        if workers != 1:
            log.warning("waitress runs one process: --workers %d is served by one worker with %d threads",
                        workers, threads)
        _serve_waitress(config, host, port, threads)


def _serve_gunicorn(config: ServerConfig, host: str, port: int, workers: int, threads: int) -> None:
    from gunicorn.app.base import BaseApplication

    class Application(BaseApplication):
        def load_config(self):
            options = {
                "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "timeout": max(LOAD_TIMEOUT, int(config.request_timeout * 2)),
                "graceful_timeout": int(config.request_timeout) + 5,
                "keepalive": 5,
                "preload_app": False,  # load the models in each worker, after the fork
                "accesslog": None,  # the app logs each request with its id
                "errorlog": "-",
                "loglevel": "info",
                "proc_name": "gtzcomposer-serve",
                "post_worker_init": lambda worker: log.info("worker %d ready", worker.pid),
                "control_socket_disable": True,  # gunicorn 27's ~/.gunicorn socket: not used, and HOME may be read-only
            }
            for key, value in options.items():
                if key in self.cfg.settings:  # settings newer than the installed gunicorn are skipped
                    self.cfg.set(key, value)

        def load(self):
            from .app import create_app

            return create_app(config)

    Application().run()


def _serve_waitress(config: ServerConfig, host: str, port: int, threads: int) -> None:
    import waitress

    from .app import create_app

    app = create_app(config)  # models loaded before the socket listens
    log.info("serving on http://%s:%d with waitress (%d threads)", host, port, threads)
    waitress.serve(app, host=host, port=port, threads=threads, ident="gtzcomposer",
                   max_request_body_size=config.max_upload_bytes + 1024 * 1024, channel_timeout=120)
