"""A fault of the ledger itself (not of the request) still answers a problem, and the log
holds its traceback, rendered by the ledger's own log format."""

from __future__ import annotations

import io
import logging

from test_api_support import TestClient

from api.app import create_app
from ledger.settings import Settings


def test_an_unexpected_error_answers_a_problem_and_logs_its_traceback():
    app = create_app(Settings(database_url="memory:"))  # configures logging
    root = logging.getLogger()
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(root.handlers[0].formatter)  # the ledger's JSON lines
    root.addHandler(handler)

    def broken() -> None:
        raise RuntimeError("a bug in a route")

    app.add_api_route("/v1/broken", broken)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            r = client.get("/v1/broken")
    finally:
        root.removeHandler(handler)
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"] == "/problems/internal-error"
    assert "a bug in a route" not in r.text  # the client hears no internals
    logged = sink.getvalue()
    assert "Traceback" in logged and "RuntimeError: a bug in a route" in logged
