"""gtzcomposer serve [--host 127.0.0.1] [--port 8000] [--workers N] [--api-key-file F] ...

Runs the HTTP inference service (``gtzcomposer.server``) under gunicorn, or waitress where
gunicorn does not run. See docs/deploy-on-aws.md for the endpoints and a deployment.
"""

from __future__ import annotations


def _positive_float(text: str) -> float:
    import argparse
    import math

    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return v


def _positive_int(text: str) -> int:
    import argparse

    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return v


def _port(text: str) -> int:
    import argparse

    v = _positive_int(text)
    if v > 65535:
        raise argparse.ArgumentTypeError(f"a port is 1..65535, got {text!r}")
    return v


def register(sub) -> None:
    import os

    env = os.environ.get
    p = sub.add_parser(
        "serve", help="run the HTTP inference service (genre and continuation) for a web or mobile front end",
        description="Serve POST /v1/genre and POST /v1/continue (and /healthz, /readyz, /v1/models, "
                    "/v1/openapi.json) over HTTP. Each worker loads the models once before it takes traffic. "
                    "--host, --port and --workers default to $GTZCOMPOSER_HOST, $GTZCOMPOSER_PORT and "
                    "$GTZCOMPOSER_WORKERS where set (the image sets them).")
    p.add_argument("--host", default=env("GTZCOMPOSER_HOST", "127.0.0.1"),
                   help="address to listen on (default $GTZCOMPOSER_HOST or 127.0.0.1; 0.0.0.0 for all)")
    p.add_argument("--port", type=_port, default=env("GTZCOMPOSER_PORT", "8000"),
                   help="TCP port (default $GTZCOMPOSER_PORT or 8000)")
    p.add_argument("--workers", type=_positive_int, default=env("GTZCOMPOSER_WORKERS", "1"),
                   help="worker processes, each with its own models (default $GTZCOMPOSER_WORKERS or 1; "
                        "about one per core)")
    p.add_argument("--threads", type=_positive_int, default=4, help="threads per worker (default 4)")
    p.add_argument("--max-concurrent", type=_positive_int, default=2,
                   help="heavy requests at work at once per worker; more wait, then get 429 (default 2)")
    p.add_argument("--queue-timeout", type=float, default=5.0,
                   help="seconds a heavy request waits for a free slot before 429 (default 5)")
    p.add_argument("--api-key-file", metavar="F", help="require the API key in file F (its first line)")
    p.add_argument("--max-upload-mb", type=_positive_float, default=25.0, help="largest upload (default 25 MB)")
    p.add_argument("--max-audio-minutes", type=_positive_float, default=10.0,
                   help="longest audio analysed (default 10 min)")
    p.add_argument("--timeout", type=_positive_float, default=60.0,
                   help="seconds of model work one request may take before 504 (default 60)")
    p.add_argument("--models", default="genre,melody",
                   help="models this server serves, joined by commas (default genre,melody)")
    p.add_argument("--server", choices=("auto", "gunicorn", "waitress"), default="auto",
                   help="WSGI server (default auto: gunicorn where it runs, else waitress)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.errors import GtzError
    from ..server.config import MB, ServerConfig, read_api_key
    from ..server.wsgi import choose_backend, serve

    if args.queue_timeout < 0:
        raise GtzError(f"--queue-timeout cannot be negative, got {args.queue_timeout:g}")
    config = ServerConfig(
        max_upload_bytes=int(args.max_upload_mb * MB),
        max_audio_seconds=args.max_audio_minutes * 60,
        request_timeout=args.timeout,
        max_concurrent=args.max_concurrent,
        queue_timeout=args.queue_timeout,
        api_key=read_api_key(args.api_key_file) if args.api_key_file else None,
        models=tuple(m.strip() for m in args.models.split(",") if m.strip()),
    )
    backend = choose_backend(args.server)  # a clear error before anything starts
    serve(config, args.host, args.port, args.workers, args.threads, backend)
    return 0
