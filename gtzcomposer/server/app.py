"""The Flask application factory: :func:`create_app` builds the app of one worker and loads its
models before returning, so a worker takes no traffic before its models are ready.

Decisions:

* Every answer is JSON (``{"error": sentence, "status": code, "request_id": id}`` for errors),
  apart from ``/v1/continue`` with ``Accept: application/zip``. A GtzError's sentence is the
  same one the command line prints; anything else is logged with its trace under the request id
  and the client gets "internal error" and the id, never a trace.
* Request ids: the client's ``X-Request-ID`` when it is a plain token of at most 128 characters,
  else a new one; it is echoed in the response header and prefixes every log line of the request.
* The API key (optional) is compared in constant time; it is read from ``Authorization: Bearer
  KEY`` or ``X-API-Key: KEY`` and guards every ``/v1`` route but the OpenAPI document (and
  ``/invocations``), so load balancer health checks (``/healthz``, ``/readyz``, ``/ping``) need no key.
* SageMaker hosting's contract is served too: ``GET /ping`` (= ``/readyz``) and ``POST
  /invocations`` (the content type picks genre or continue; parameters in the query string or in
  the ``X-Amzn-SageMaker-Custom-Attributes`` header, written as a query string).
* Heavy requests hold one of the worker's slots (:meth:`ModelHost.slot`) only while the model
  works, not while the upload arrives; a request that finds none within the queue timeout gets
  429 with ``Retry-After``. The model work stops at the request timeout (the models' own
  ``is_cancelled`` hook) and the client gets 504.
"""

from __future__ import annotations

import base64
import hmac
import io
import json
import logging
import math
import os
import re
import sys
import time
import uuid
import zipfile
from collections.abc import Mapping
from concurrent.futures import CancelledError
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, has_request_context, jsonify, request
from werkzeug.exceptions import HTTPException

from .. import __version__
from ..core.errors import GtzError
from .config import ServerConfig
from .models import Busy, ModelHost
from .uploads import (
    AUDIO_EXTENSIONS,
    AUDIO_TYPES,
    SONG_EXTENSIONS,
    SONG_TYPES,
    UploadError,
    clean_message,
    drain,
    received,
    too_large,
)

log = logging.getLogger("gtzcomposer.server")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_MULTIPART_SLACK = 64 * 1024  # form boundaries and fields around the file
SETTINGS_PARAMS = ("style", "bars", "variations", "temperature", "top_p", "seed", "key_lock", "strength", "parts")
BAND_PARAMS = ("band_genre", "band_under_seed")
CONTINUE_PARAMS = (*SETTINGS_PARAMS, "track", *BAND_PARAMS)
JSON_SEED_KEYS = ("notes", "song", "tempo", "time_signature", "key")


class ApiError(Exception):
    """An answer other than 200: status, one sentence, extra headers."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = dict(headers or {})


# ----------------------------------------------------------------------------------------------
# logging with request ids


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = g.get("request_id", "-") if has_request_context() else "-"
        return True


def _setup_logging() -> None:
    logger = logging.getLogger("gtzcomposer")
    if any(getattr(h, "_gtzcomposer_server", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler._gtzcomposer_server = True  # type: ignore[attr-defined]
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s [%(process)d] [%(request_id)s] %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


# ----------------------------------------------------------------------------------------------
# the factory


def create_app(config: ServerConfig | None = None, host: ModelHost | None = None) -> Flask:
    """The app of one worker: models loaded (and warmed up) before this returns, unless a loaded
    ``host`` is given."""
    config = config or ServerConfig()
    _setup_logging()
    app = Flask("gtzcomposer.server")
    app.config["MAX_CONTENT_LENGTH"] = config.max_upload_bytes + _MULTIPART_SLACK
    app.json.sort_keys = False
    if host is None:
        host = ModelHost(config).load()
    app.extensions["gtzcomposer"] = host

    @app.before_request
    def _start():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.t0 = time.perf_counter()
        if config.api_key is not None and _guarded(request.path):
            _check_key(config.api_key)
        length = request.content_length
        if length is not None and length > app.config["MAX_CONTENT_LENGTH"]:
            if length <= 2 * config.max_upload_bytes:  # cheap enough to read, and keeps the connection
                drain(request.environ, length)
            raise ApiError(413, too_large(config.max_upload_bytes))

    @app.after_request
    def _finish(resp: Response):
        resp.headers["X-Request-ID"] = g.get("request_id", "-")
        ms = (time.perf_counter() - g.get("t0", time.perf_counter())) * 1000
        log.info("%s %s %d %.1f ms", request.method, request.full_path.rstrip("?"), resp.status_code, ms)
        return resp

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return _error(exc.status, str(exc), exc.headers)

    @app.errorhandler(UploadError)
    def _upload_error(exc: UploadError):
        return _error(exc.status, str(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if exc.code == 413:
            return _error(413, too_large(config.max_upload_bytes))
        if exc.code == 404:
            return _error(404, f"there is no {request.path} here; the routes are listed at /v1/openapi.json")
        if exc.code == 405:
            return _error(405, f"{request.path} does not take {request.method}", {"Allow": ", ".join(exc.valid_methods or ())})
        return _error(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        log.exception("internal error")
        return _error(500, f"internal error (a bug); it is logged under request id {g.get('request_id', '-')}")

    _routes(app, config, host)
    return app


def _guarded(path: str) -> bool:
    """Routes the API key guards: /v1/... but the OpenAPI document, and SageMaker's /invocations."""
    return (path.startswith("/v1/") and path != "/v1/openapi.json") or path == "/invocations"


def _error(status: int, message: str, headers: Mapping[str, str] | None = None):
    body = {"error": message, "status": status, "request_id": g.get("request_id", "-")}
    if status >= 500:
        log.warning("answered %d: %s", status, message)
    return jsonify(body), status, dict(headers or {})


def _check_key(key: str) -> None:
    auth = request.headers.get("Authorization", "")
    given = auth[7:].strip() if auth[:7].lower() == "bearer " else request.headers.get("X-API-Key", "")
    if not given:
        raise ApiError(401, "this server needs an API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'",
                       {"WWW-Authenticate": 'Bearer realm="gtzcomposer"'})
    if not hmac.compare_digest(given.encode("utf-8"), key.encode("utf-8")):
        raise ApiError(401, "the API key is not valid", {"WWW-Authenticate": 'Bearer realm="gtzcomposer", error="invalid_token"'})


# ----------------------------------------------------------------------------------------------
# parameters


def _bool(params: Mapping[str, Any], name: str, default: bool) -> bool:
    v = params.get(name)
    if v is None:
        return default
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("1", "true", "yes", "on"):
        return True
    if s in ("0", "false", "no", "off"):
        return False
    raise ApiError(422, f"{name} must be true or false, got {v!r}")


def _number(params: Mapping[str, Any], name: str, kind: type):
    v = params[name]
    if isinstance(v, bool):
        raise ApiError(422, f"{name} must be a number, got {v!r}")
    if isinstance(v, (int, float)) and not (kind is int and isinstance(v, float)):
        return kind(v)
    try:
        out = kind(str(v).strip())
    except ValueError:
        whole = "a whole number" if kind is int else "a number"
        raise ApiError(422, f"{name} must be {whole}, got {v!r}") from None
    if kind is float and not math.isfinite(out):
        raise ApiError(422, f"{name} must be a finite number, got {v!r}")
    return out


def continue_settings(params: Mapping[str, Any], styles: list[str]):
    """(GenerationSettings, track or None, band options) from query/form strings or JSON values;
    the band options are ``run_continuation``'s ``band_genre`` and ``band_under_seed``."""
    from ..core.generation import GenerationSettings
    from ..ml.band.styles import GENRES

    unknown = [k for k in params if k not in CONTINUE_PARAMS]
    if unknown:
        raise ApiError(422, f"unknown parameter {unknown[0]!r}; the parameters are {', '.join(CONTINUE_PARAMS)}")
    if not params.get("style"):
        raise ApiError(422, f"the parameter style is required; this model knows {', '.join(styles)}")
    kw: dict[str, Any] = {"style": str(params["style"])}
    for name in ("bars", "variations", "seed"):
        if params.get(name) not in (None, ""):
            kw[name] = _number(params, name, int)
    for name in ("temperature", "top_p", "strength"):
        if params.get(name) not in (None, ""):
            kw[name] = _number(params, name, float)
    kw["key_lock"] = _bool(params, "key_lock", False)
    parts = params.get("parts")
    if parts not in (None, ""):
        if isinstance(parts, str):
            parts = [p.strip() for p in parts.split(",") if p.strip()]
        if not isinstance(parts, list):
            raise ApiError(422, "parts must be a list of names (or, in a query string, names joined by commas)")
        kw["parts"] = tuple(parts)
    track = _number(params, "track", int) if params.get("track") not in (None, "") else None
    genre = params.get("band_genre")
    if genre in (None, ""):
        genre = None
    elif str(genre) not in GENRES:
        raise ApiError(422, f"band_genre {str(genre)!r} is not a genre the band plays; the genres are {', '.join(GENRES)}")
    band = {"band_genre": None if genre is None else str(genre),
            "band_under_seed": _bool(params, "band_under_seed", False)}
    try:
        return GenerationSettings(**kw), track, band
    except GtzError as exc:
        raise ApiError(422, str(exc)) from None


def song_from_json(data: Any):
    """A seed song from a JSON body: ``{"notes": [...], "tempo", "time_signature", "key"}`` with
    notes as ``[start, pitch, duration, velocity]`` or objects with those keys (ticks at PPQ 480),
    or ``{"song": <the song of a .gtzc project file>}``."""
    from ..core import KeySignature, Note, Song, SongError, TempoChange, TimeSignature, new_track
    from ..core.limits import check_song_extent
    from ..io.project import song_from_dict

    if "song" in data:
        try:
            song = song_from_dict(data["song"])
            check_song_extent(song)  # the same bounds as a song read from a file
        except GtzError as exc:
            raise ApiError(422, str(exc)) from None
        return song
    notes = data.get("notes")
    if not isinstance(notes, list) or not notes:
        raise ApiError(422, "the JSON body needs a non-empty list 'notes' (or a 'song' object)")
    out = []
    for i, n in enumerate(notes):
        if isinstance(n, dict):
            n = [n.get("start"), n.get("pitch"), n.get("duration"), n.get("velocity", 100)]
        if not isinstance(n, list) or len(n) not in (3, 4):
            raise ApiError(422, f"notes[{i}]: expected [start, pitch, duration, velocity] or an object with "
                                f"those keys, got {json.dumps(n)[:80]}")
        try:
            out.append(Note(start=n[0], pitch=n[1], duration=n[2], velocity=n[3] if len(n) > 3 else 100))
        except SongError as exc:
            raise ApiError(422, f"notes[{i}]: {exc}") from None
    try:
        tempo = _number(data, "tempo", float) if data.get("tempo") is not None else 120.0
        if not 10 <= tempo <= 400:
            raise ApiError(422, f"tempo must be 10..400 beats per minute, got {tempo:g}")
        sig = str(data.get("time_signature", "4/4"))
        m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", sig)
        if not m:
            raise ApiError(422, f"time_signature must look like '3/4', got {sig!r}")
        keys = (KeySignature.parse(str(data["key"])),) if data.get("key") else ()
        song = Song(tracks=(new_track(0, "Melody", notes=tuple(out)),), tempos=(TempoChange.from_bpm(0, tempo),),
                    time_signatures=(TimeSignature(0, int(m.group(1)), int(m.group(2))),), key_signatures=keys)
    except SongError as exc:
        raise ApiError(422, str(exc)) from None
    try:
        check_song_extent(song, "the notes")  # the same bounds as a song read from a file
    except GtzError as exc:
        raise ApiError(422, str(exc)) from None
    return song


def _json_body() -> dict:
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(422, f"the request body is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the JSON body must be an object")
    return data


# ----------------------------------------------------------------------------------------------
# routes


def _routes(app: Flask, config: ServerConfig, host: ModelHost) -> None:
    def need(model: str) -> None:
        if not host.serves(model):
            raise ApiError(503, host.why_not(model), {"Retry-After": str(config.retry_after * 5)})

    def deadline():
        end = time.monotonic() + config.request_timeout
        return lambda: time.monotonic() > end

    def timed_out() -> ApiError:
        return ApiError(504, f"the request took longer than this server's limit of {config.request_timeout:g} s")

    def busy() -> ApiError:
        return ApiError(429, f"this server is busy ({config.max_concurrent} requests at work per worker); "
                             f"retry in {config.retry_after} s", {"Retry-After": str(config.retry_after)})

    @app.get("/healthz")
    def healthz():
        return {"status": "ok", "version": __version__}

    @app.get("/readyz")
    def readyz():
        body = {"ready": host.ready, "pid": os.getpid(), "models": host.status, "busy": host.busy,
                "slots": config.max_concurrent}
        return body, (200 if host.ready else 503)

    @app.get("/v1/openapi.json")
    def openapi():
        from .openapi import spec

        return spec(__version__)

    @app.get("/v1/models")
    def models():
        from ..ml.registry import all_cards

        return {"models": [card.to_dict() for card in all_cards()]}

    @app.get("/ping")
    def ping():
        """SageMaker hosting's health check: /readyz by another name."""
        return readyz()

    @app.post("/invocations")
    def invocations():
        """SageMaker hosting's one route: the content type picks genre (audio) or continue (a
        song or a JSON note list); the parameters come from the query string or, as a query
        string, from the X-Amzn-SageMaker-Custom-Attributes header that InvokeEndpoint sends."""
        from urllib.parse import parse_qsl

        query = {**request.args.to_dict(),
                 **dict(parse_qsl(request.headers.get("X-Amzn-SageMaker-Custom-Attributes", ""), keep_blank_values=True))}
        if request.mimetype in AUDIO_TYPES:
            return genre(query)
        if request.mimetype in SONG_TYPES or request.mimetype == "application/json":
            return continue_(query)
        shown = f"'{request.mimetype}'" if request.mimetype else "no content type"
        raise ApiError(415, f"/invocations cannot take {shown}; send audio ({', '.join(sorted(AUDIO_TYPES))}) for "
                            f"genre, or a song ({', '.join(sorted(SONG_TYPES))}, application/json) to continue it")

    @app.post("/v1/genre")
    def genre(query: dict | None = None):
        from ..io.audio import audio_info
        from ..ml.genre import analyse_files, genre_document

        need("genre")
        with received(request, AUDIO_TYPES, AUDIO_EXTENSIONS, config.max_upload_bytes, "audio", query) as up:
            unknown = [k for k in up.params if k != "segments"]
            if unknown:
                raise ApiError(422, f"unknown parameter {unknown[0]!r}; the only parameter is segments")
            segments = _bool(up.params, "segments", False)
            try:
                seconds = audio_info(up.path).duration_s
            except GtzError as exc:
                raise ApiError(422, up.clean(str(exc))) from None
            if seconds > config.max_audio_seconds:
                raise ApiError(422, f"'{up.name}' lasts {_duration(seconds)}; this server analyses at most "
                                    f"{_duration(config.max_audio_seconds)} of audio")
            try:
                with host.slot(), host.detector() as detector:
                    entries = analyse_files([up.path], segments, detector, is_cancelled=deadline(), names=[up.name])
            except Busy:
                raise busy() from None
            except CancelledError:
                raise timed_out() from None
            if "error" in entries[0]:
                raise ApiError(422, up.clean(entries[0]["error"]))
            return genre_document(entries)

    @app.post("/v1/continue")
    def continue_(query: dict | None = None):
        from ..io.formats import load_song

        need("melody")
        query = request.args.to_dict() if query is None else query
        if request.mimetype == "application/json":
            data = _json_body()
            params = {**query, **{k: v for k, v in data.items() if k not in JSON_SEED_KEYS}}
            settings, track, band = continue_settings(params, host.generator.accepted_styles)
            song, name = song_from_json(data), "notes.json"
            return _continue(song, name, settings, track, band)
        with received(request, {**SONG_TYPES, "application/json": ".json"}, SONG_EXTENSIONS,
                      config.max_upload_bytes, "a song", query) as up:
            settings, track, band = continue_settings(up.params, host.generator.accepted_styles)
            if up.path.suffix == ".json":  # a multipart part holding the JSON note list
                try:
                    data = json.loads(up.path.read_bytes())
                except ValueError as exc:
                    raise ApiError(422, f"'{up.name}' is not valid JSON ({exc})") from None
                if not isinstance(data, dict):
                    raise ApiError(422, f"'{up.name}' must hold a JSON object")
                song = song_from_json(data)
            else:
                try:
                    song = load_song(up.path)
                except GtzError as exc:
                    raise ApiError(422, up.clean(str(exc))) from None
            try:
                return _continue(song, up.name, settings, track, band)
            except ApiError as exc:
                raise ApiError(exc.status, clean_message(str(exc), up.folder), exc.headers) from None

    def _continue(song, name: str, settings, track, band: dict):
        from ..io.midi import song_to_midi_bytes
        from ..ml.melody.runs import SUMMARY_NAME, run_continuation

        try:
            with host.slot():
                run_ = run_continuation(host.generator, song, settings, track, is_cancelled=deadline(),
                                        track_option="track", **band)
        except Busy:
            raise busy() from None
        except CancelledError:
            raise timed_out() from None
        except GtzError as exc:
            raise ApiError(422, str(exc)) from None
        stem = Path(name).stem
        songs = run_.songs(stem)
        summary = run_.summary(name, stem)
        midis = [song_to_midi_bytes(s) for _, s in songs]
        if request.accept_mimetypes.best_match(["application/json", "application/zip"]) == "application/zip":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for (file, _), data in zip(songs, midis):
                    z.writestr(file, data)
                z.writestr(SUMMARY_NAME, json.dumps(summary, indent=2) + "\n")
            return Response(buf.getvalue(), mimetype="application/zip",
                            headers={"Content-Disposition": f'attachment; filename="{stem}_{settings.style}.zip"'})
        body = {k: v for k, v in summary.items() if k != "results"}
        body["variations"] = [_variation(e, v, take, data)
                              for e, v, take, data in zip(summary["results"], run_.result.variations, run_.takes(), midis)]
        return body


def _note_dicts(notes) -> list[dict]:
    return [{"start": n.start, "pitch": n.pitch, "duration": n.duration, "velocity": n.velocity} for n in notes]


def _variation(entry: dict, variation, take, midi: bytes) -> dict:
    """One variation of the JSON answer: the summary's entry, the melody's notes and, when the band
    played, its summary entry and each band part's track with its notes (``parts``)."""
    out = {"rank": entry["rank"], "file": entry["file"], "score": entry["score"], "note_count": entry["notes"],
           "lowest_pitch": entry["lowest_pitch"], "highest_pitch": entry["highest_pitch"],
           "notes": _note_dicts(variation.notes)}
    if take is not None:
        out["band"] = entry["band"]
        out["parts"] = {part: {"track": p.track_name, "program": p.program, "channel": 10 if p.is_drum else None,
                               "notes": _note_dicts(p.notes)}
                        for part, p in take.parts.items()}
    out["midi"] = base64.b64encode(midi).decode("ascii")
    return out


def _duration(seconds: float) -> str:
    if seconds >= 60:
        m, s = divmod(round(seconds), 60)
        return f"{m} min {s} s" if s else f"{m} min"
    return f"{seconds:.1f} s"
