"""The service's settings: one frozen object, made by ``gtzcomposer serve`` from its options and
handed to :func:`gtzcomposer.server.create_app` in every worker."""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import GtzError

MB = 1024 * 1024
MODEL_NAMES = ("genre", "melody")


@dataclass(frozen=True)
class ServerConfig:
    """Limits and switches of one worker process.

    ``max_concurrent`` heavy requests (``/v1/genre``, ``/v1/continue``) run at once per worker; a
    further one waits up to ``queue_timeout`` seconds for a free slot, then gets 429 with
    ``Retry-After: retry_after``. ``request_timeout`` bounds the model work of one request (504
    beyond it). ``api_key`` (None = open) guards every ``/v1`` route except the OpenAPI document.
    ``warm_up`` runs each model once at start-up so that the first request is as fast as the rest.
    """

    max_upload_bytes: int = 25 * MB
    max_audio_seconds: float = 600.0
    request_timeout: float = 60.0
    max_concurrent: int = 2
    queue_timeout: float = 5.0
    retry_after: int = 2
    api_key: str | None = None
    models: tuple[str, ...] = MODEL_NAMES
    warm_up: bool = True

    def __post_init__(self) -> None:
        if self.max_upload_bytes < 1:
            raise GtzError(f"the upload limit must be at least 1 byte, got {self.max_upload_bytes}")
        if not self.max_audio_seconds > 0:
            raise GtzError(f"the audio length limit must be above 0 s, got {self.max_audio_seconds:g}")
        if not self.request_timeout > 0:
            raise GtzError(f"the request timeout must be above 0 s, got {self.request_timeout:g}")
        if self.max_concurrent < 1:
            raise GtzError(f"at least 1 concurrent request per worker is needed, got {self.max_concurrent}")
        if self.queue_timeout < 0:
            raise GtzError(f"the queue timeout cannot be negative, got {self.queue_timeout:g}")
        if self.retry_after < 1:
            raise GtzError(f"Retry-After must be at least 1 s, got {self.retry_after}")
        if self.api_key is not None and not self.api_key:
            raise GtzError("the API key is empty")
        unknown = [m for m in self.models if m not in MODEL_NAMES]
        if unknown:
            raise GtzError(f"unknown model {unknown[0]!r}; the service has {', '.join(MODEL_NAMES)}")


def read_api_key(path) -> str:
    """The key in ``path`` (its first line, surrounding white space removed); a GtzError with a
    sentence when the file is missing, unreadable or empty."""
    from pathlib import Path

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GtzError(f"API key file {p} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GtzError(f"API key file {p} cannot be read ({exc})") from None
    lines = text.strip().splitlines()
    key = lines[0].strip() if lines else ""
    if not key:
        raise GtzError(f"API key file {p} is empty")
    return key
