"""A bug in a route: the client gets one sentence and the request id, never a trace; the log gets
the trace under that id. Served over real HTTP by waitress in this process (no models needed)."""

from __future__ import annotations

import logging
import threading

import pytest
import requests

from gtzcomposer.server import ServerConfig, create_app
from gtzcomposer.server.models import ModelHost


@pytest.fixture
def buggy_url(caplog):
    import waitress

    config = ServerConfig()
    app = create_app(config, host=ModelHost(config))  # models not loaded: not needed here

    @app.get("/v1/bug")
    def bug():
        raise ZeroDivisionError("a secret detail: /srv/models/x.keras")

    logging.getLogger("gtzcomposer").propagate = True  # let caplog see the app's log lines
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=2)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        logging.getLogger("gtzcomposer").propagate = False


def test_a_bug_answers_500_without_a_trace(buggy_url, caplog):
    with caplog.at_level(logging.INFO, logger="gtzcomposer.server"):
        r = requests.get(buggy_url + "/v1/bug", headers={"X-Request-ID": "bug-1"}, timeout=30)
    assert r.status_code == 500
    assert r.json() == {"error": "internal error (a bug); it is logged under request id bug-1", "status": 500,
                        "request_id": "bug-1"}
    assert "Traceback" not in r.text and "secret" not in r.text and "ZeroDivisionError" not in r.text
    logged = [rec for rec in caplog.records if rec.getMessage() == "internal error"]
    assert logged and logged[0].request_id == "bug-1" and logged[0].exc_info[0] is ZeroDivisionError


def test_models_not_loaded_answer_503_and_readyz_says_so(buggy_url):
    r = requests.get(buggy_url + "/readyz", timeout=30)
    assert r.status_code == 503 and r.json()["models"]["genre"]["error"] == "not loaded yet"
    r = requests.post(buggy_url + "/v1/genre", data=b"x", headers={"Content-Type": "audio/wav"}, timeout=30)
    assert r.status_code == 503 and r.json()["error"] == "the genre model is not loaded on this server; /readyz says why"
