"""ASGI middleware: one access log line per request, the 1 MiB body limit, and HEAD.

All are plain ASGI (not `BaseHTTPMiddleware`) so they see every request, including the
ones the framework refuses before routing, and cost little on the hot path.
"""

from __future__ import annotations

import os
import random
import re
import time
from typing import Any

import structlog

from api.problems import http_problem, problem_response

#: the largest request body the API reads (SPEC §3: 413 beyond)
MAX_BODY_BYTES = 1024 * 1024

_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}", re.ASCII)
log = structlog.get_logger("api.access")

#: request ids: 128 random bits from a generator seeded once per process (and again in a
#: forked child), since `uuid4` asks the kernel on every request and lets go of the GIL
#: there, so the event loop waited for another thread on each one
_ids = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def new_request_id() -> str:
    """A fresh request id: 32 hex digits."""
    return f"{_ids.getrandbits(128):032x}"


class AccessLog:
    """Binds request_id, method and path for every log line of the request, answers the
    id in `X-Request-ID`, and writes one line when the request ends: request id, actor,
    method, route template, status and latency (never bodies, never query strings)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.fullmatch(given) else new_request_id()
        status = 500

        async def send_with_id(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"],
                                      (b"x-request-id", request_id.encode("ascii"))]
            await send(message)

        scope.setdefault("state", {})
        with structlog.contextvars.bound_contextvars(
            request_id=request_id, method=scope["method"], path=scope["path"]
        ):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                route = scope.get("route")
                log.info(
                    "request",
                    actor=scope["state"].get("actor"),
                    route=getattr(route, "path", None),
                    status=status,
                    latency_ms=round((time.perf_counter() - started) * 1000, 2),
                )


class BodyLimit:
    """Reads the request body up to `limit` bytes before the app sees it and answers 413
    beyond (by Content-Length at once, or while counting a chunked body)."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, receive, send, 413 if declared.isdigit() else 400)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, receive, send, 413)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict, receive: Any, send: Any, status: int) -> None:
        detail = (f"the request body may be at most {self.limit} bytes" if status == 413
                  else "Content-Length is not a number")
        response = problem_response(http_problem(status, detail))
        # the client may still be sending; close rather than read a body we refuse
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def header(scope: dict, name: bytes) -> str | None:
    """The first value of a request header (latin-1), or None."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class HeadAsGet:
    """Answers HEAD wherever GET is answered, as HTTP asks (RFC 9110 §9.3.2): the request
    goes to the app as a GET, and its answer keeps the status and headers (Content-Length
    included) without the body. Where GET is not answered, HEAD is not either (405, 404)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: dict) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        # a copy: the server still sees a HEAD (uvicorn then sends no body either)
        as_get = {**scope, "method": "GET"}
        try:
            await self.app(as_get, receive, headers_only)
        finally:
            if "route" in as_get:
                scope["route"] = as_get["route"]  # for the access log
