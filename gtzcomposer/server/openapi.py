"""The OpenAPI 3.1 document served at ``/v1/openapi.json``, written by hand.

``tests/server/test_server.py`` keeps it true: every route of the app is in it with its methods
(and nothing else is), and every status code the tests see a route answer is documented for it.
"""

from __future__ import annotations

from ..core.generation import DEFAULT_STYLE_STRENGTH, MAX_STRENGTH
from ..ml.band.styles import GENRES
from .uploads import AUDIO_TYPES, SONG_TYPES


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def _retry(description: str) -> dict:
    r = _error(description)
    r["headers"] = {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait before retrying"}}
    return r


_UNAUTHORIZED = _error("the server needs an API key and none or a wrong one was sent")
_BUSY = _retry("every slot of the worker stayed busy for the queue timeout")
_UNAVAILABLE = _retry("the model this route needs is not loaded (see /readyz)")
_TIMEOUT = _error("the model work took longer than the server's request timeout")
_TOO_LARGE = _error("the upload is larger than the server's limit (default 25 MB)")
_WRONG_TYPE = _error("the content type is not one this route takes")


def _file_body(types: dict, extra_json: bool = False) -> dict:
    raw = {t: {"schema": {"type": "string", "format": "binary"}} for t in sorted(types)}
    if extra_json:
        raw["application/json"] = {"schema": {"$ref": "#/components/schemas/NoteList"}}
    raw["multipart/form-data"] = {
        "schema": {"type": "object", "required": ["file"],
                   "properties": {"file": {"type": "string", "format": "binary"}},
                   "additionalProperties": {"type": "string"},
                   "description": "field 'file' holds the file; the other fields are the parameters"},
    }
    return {"required": True, "content": raw}


def _query(name: str, schema: dict, description: str, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


CONTINUE_PARAMETERS = [
    _query("style", {"type": "string"}, "target style; GET /v1/models lists the melody model's styles", True),
    _query("bars", {"type": "integer", "minimum": 1, "maximum": 32, "default": 4}, "length of each continuation"),
    _query("variations", {"type": "integer", "minimum": 1, "maximum": 16, "default": 4}, "how many continuations"),
    _query("temperature", {"type": "number", "exclusiveMinimum": 0, "maximum": 10, "default": 1.0}, "sampling temperature"),
    _query("top_p", {"type": "number", "exclusiveMinimum": 0, "maximum": 1, "default": 0.95}, "nucleus sampling mass"),
    _query("seed", {"type": "integer", "minimum": 0}, "random seed (the same seed gives the same result); drawn when absent"),
    _query("key_lock", {"type": "boolean", "default": False}, "only pitches of the song's key"),
    _query("strength", {"type": "number", "minimum": 0, "maximum": MAX_STRENGTH, "default": DEFAULT_STYLE_STRENGTH}, "style guidance (0 = plain sampling)"),
    _query("parts", {"type": "string", "default": "melody"},
           "parts to generate, joined by commas (a JSON list in a JSON body): melody, chords, bass, drums, any "
           "subset (melody is always there). The band parts need the program mma on the server; without it (or "
           "with no groove in the seed's meter) the melody alone comes back and 'band.error' says why"),
    _query("track", {"type": "integer", "minimum": 0}, "index of the seed track (default: the first non-drum track with notes)"),
    _query("band_genre", {"type": "string", "enum": list(GENRES)},
           "GTZAN genre the band plays (default: the style, or its stand-in for a folk style)"),
    _query("band_under_seed", {"type": "boolean", "default": False}, "the band plays under the seed's bars too"),
]


def spec(version: str) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gtzcomposer inference service",
            "version": version,
            "description": "Genre detection (10 GTZAN genres) of audio and melody continuation in a style, from the "
                           "code the gtzcomposer desktop app uses. Errors are JSON with one sentence. Routes under "
                           "/v1 except this document need the API key when the server has one.",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
            "schemas": {
                "Error": {"type": "object", "required": ["error", "status", "request_id"], "properties": {
                    "error": {"type": "string", "description": "one sentence saying what is wrong"},
                    "status": {"type": "integer"},
                    "request_id": {"type": "string", "description": "also in the X-Request-ID header and the server log"},
                }},
                "GenreDocument": {"type": "object", "required": ["schema", "labels", "files"],
                                  "description": "exactly what `gtzcomposer genre --json` prints (docs/genre.md)",
                                  "properties": {
                                      "schema": {"const": 1},
                                      "labels": {"type": "array", "items": {"type": "string"}},
                                      "files": {"type": "array", "items": {"type": "object"}},
                                  }},
                "Note": {"type": "object", "required": ["start", "pitch", "duration"], "properties": {
                    "start": {"type": "integer", "minimum": 0, "description": "ticks, 480 per quarter note"},
                    "pitch": {"type": "integer", "minimum": 0, "maximum": 127},
                    "duration": {"type": "integer", "minimum": 0},
                    "velocity": {"type": "integer", "minimum": 1, "maximum": 127, "default": 100},
                }},
                "NoteList": {"type": "object", "description": "a seed as JSON; the parameters may be keys of it too",
                             "properties": {
                                 "notes": {"type": "array", "items": {"oneOf": [
                                     {"$ref": "#/components/schemas/Note"},
                                     {"type": "array", "items": {"type": "integer"}, "minItems": 3, "maxItems": 4,
                                      "description": "[start, pitch, duration, velocity]"}]}},
                                 "tempo": {"type": "number", "default": 120, "description": "beats per minute"},
                                 "time_signature": {"type": "string", "default": "4/4"},
                                 "key": {"type": "string", "description": "e.g. 'G major', 'F# minor'"},
                                 "song": {"type": "object", "description": "instead of notes: the song object of a "
                                                                           ".gtzc project file (docs/io.md)"},
                             }},
                "Continuations": {"type": "object", "required": ["schema", "seed", "variations"],
                                  "description": "the keys of `gtzcomposer continue`'s continuations.json "
                                                 "(docs/melody.md) but 'results', and the variations",
                                  "properties": {
                                      "schema": {"const": 1},
                                      "seed": {"type": "integer"},
                                      "variations": {"type": "array", "items": {"type": "object", "properties": {
                                          "rank": {"type": "integer"},
                                          "file": {"type": "string"},
                                          "score": {"type": "number"},
                                          "note_count": {"type": "integer"},
                                          "notes": {"type": "array", "items": {"$ref": "#/components/schemas/Note"},
                                                    "description": "the melody's continuation"},
                                          "band": {"type": "object", "description": "when the band played: "
                                                   "rank_score, fit, grooves, drums, chords, tracks (docs/band.md)"},
                                          "parts": {"type": "object", "description": "when the band played: per band "
                                                    "part (chords, bass, drums) its track, program, channel and notes",
                                                    "additionalProperties": {"type": "object", "properties": {
                                                        "track": {"type": "string"},
                                                        "program": {"type": "integer"},
                                                        "channel": {"type": ["integer", "null"]},
                                                        "notes": {"type": "array",
                                                                  "items": {"$ref": "#/components/schemas/Note"}}}}},
                                          "midi": {"type": "string", "contentEncoding": "base64",
                                                   "description": "the seed song with this continuation appended "
                                                                  "(and the band's tracks)"},
                                      }}},
                                  }},
            },
        },
        "paths": {
            "/healthz": {"get": {"summary": "the process is alive", "responses": {
                "200": {"description": "alive", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/readyz": {"get": {"summary": "the worker's models are loaded", "responses": {
                "200": {"description": "ready: every model loaded and warmed up"},
                "503": {"description": "a model is not loaded; 'models' says which and why"}}}},
            "/ping": {"get": {"summary": "SageMaker hosting's health check: the same answer as /readyz", "responses": {
                "200": {"description": "ready"}, "503": {"description": "a model is not loaded"}}}},
            "/invocations": {"post": {
                "summary": "SageMaker hosting's route: audio is sent to /v1/genre, a song or a JSON note list to "
                           "/v1/continue; parameters in the query string or, written as a query string "
                           "(style=irish&bars=8), in the X-Amzn-SageMaker-Custom-Attributes header",
                "security": [{"bearer": []}, {"apiKey": []}],
                "parameters": [{"name": "X-Amzn-SageMaker-Custom-Attributes", "in": "header", "required": False,
                                "schema": {"type": "string"}, "description": "the parameters as a query string"}],
                "requestBody": {"required": True, "content": {
                    **{t: {"schema": {"type": "string", "format": "binary"}} for t in sorted({**AUDIO_TYPES, **SONG_TYPES})},
                    "application/json": {"schema": {"$ref": "#/components/schemas/NoteList"}}}},
                "responses": {
                    "200": {"description": "what /v1/genre or /v1/continue answers"},
                    "401": _UNAUTHORIZED, "413": _TOO_LARGE, "415": _WRONG_TYPE,
                    "422": _error("as for /v1/genre or /v1/continue"),
                    "429": _BUSY, "503": _UNAVAILABLE, "504": _TIMEOUT,
                }}},
            "/v1/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI 3.1"}}}},
            "/v1/models": {"get": {"summary": "the bundled models' cards", "security": [{"bearer": []}, {"apiKey": []}],
                                   "responses": {"200": {"description": "{'models': [card, ...]}"},
                                                 "401": _UNAUTHORIZED}}},
            "/v1/genre": {"post": {
                "summary": "genre probabilities of an audio file (wav, flac, ogg, mp3)",
                "security": [{"bearer": []}, {"apiKey": []}],
                "parameters": [_query("segments", {"type": "boolean", "default": False},
                                      "also give per-segment (10 s) probabilities")],
                "requestBody": _file_body(AUDIO_TYPES),
                "responses": {
                    "200": {"description": "the genre document",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GenreDocument"}}}},
                    "400": _error("a multipart request without the field 'file'"),
                    "401": _UNAUTHORIZED, "413": _TOO_LARGE, "415": _WRONG_TYPE,
                    "422": _error("the file is not audio, is damaged, too short or too long, or a parameter is bad: "
                                  "the sentence `gtzcomposer genre` prints"),
                    "429": _BUSY, "503": _UNAVAILABLE, "504": _TIMEOUT,
                }}},
            "/v1/continue": {"post": {
                "summary": "continue the melody of a MIDI or MusicXML file, or of a JSON note list, in a style",
                "security": [{"bearer": []}, {"apiKey": []}],
                "parameters": CONTINUE_PARAMETERS,
                "requestBody": _file_body(SONG_TYPES, extra_json=True),
                "responses": {
                    "200": {"description": "the continuations, best first",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Continuations"}},
                                        "application/zip": {"schema": {"type": "string", "format": "binary"},
                                                            "description": "with Accept: application/zip: the files "
                                                                           "`gtzcomposer continue` writes"}}},
                    "400": _error("a multipart request without the field 'file'"),
                    "401": _UNAUTHORIZED, "413": _TOO_LARGE, "415": _WRONG_TYPE,
                    "422": _error("the song cannot be read, the seed is empty or too short, or a setting is out of "
                                  "range: the sentence `gtzcomposer continue` prints"),
                    "429": _BUSY, "503": _UNAVAILABLE, "504": _TIMEOUT,
                }}},
        },
    }
