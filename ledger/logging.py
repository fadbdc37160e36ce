"""Logging for every process of the ledger: structlog, configured once.

Context bound with `structlog.contextvars` (a request id, a projection's name) is merged
into every line first; lines are JSON when stderr is not a terminal (servers, CI) and
readable key=value pairs on a terminal (`LEDGER_LOG_JSON`, 1 or 0, decides instead: the
server's views process writes as the server does). structlog's lines are rendered and
written by structlog alone (the request's line is on every request's path: the standard
library's records and handlers took three quarters of its cost); the standard library's lines
(uvicorn, eventsourcing) are rendered alike, and both write under one lock.

Nothing here logs a student's personal data: callers log ids, codes, statuses and
timings, never names, schools or request bodies.
"""

from __future__ import annotations

import json as stdlib_json
import logging
import os
import sys
import threading
from typing import Any

import orjson
import structlog

#: set in a child process's environment: "1" for JSON lines, "0" for readable ones
JSON_VARIABLE = "LEDGER_LOG_JSON"
#: whether this process writes JSON lines (once configured)
_as_json = True
_configured = False
_lock = threading.Lock()
#: held while a line is written, by structlog's writer and the standard library's handler
_LINES = threading.RLock()
#: where both write: stderr as it was when logging was configured
_stream: Any = None


def configure(level: int = logging.INFO, *, json: bool | None = None) -> None:
    """Configures structlog and the standard library's root logger (idempotent)."""
    global _configured, _stream
    with _lock:
        if _configured:
            return
        _configured = True
    global _as_json
    if json is None:
        # a child process writing to its parent through a pipe writes as the parent does
        chosen = os.environ.get(JSON_VARIABLE)
        json = (not sys.stderr.isatty()) if chosen not in ("0", "1") else chosen == "1"
    _as_json = json
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (structlog.processors.JSONRenderer(serializer=_json) if _as_json
                else structlog.dev.ConsoleRenderer(colors=False))
    # structlog's own lines (a request's line among them) are rendered and written whole,
    # without the standard library's records; the standard library's lines (uvicorn,
    # eventsourcing) get the same processors and renderer through its handler.
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=_NamedLineWriter,
        cache_logger_on_first_use=True,
    )
    _stream = sys.stderr
    handler = _LineHandler(_stream)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        # the standard library's records carry their exceptions too: render the traceback
        foreign_pre_chain=[*shared, structlog.processors.format_exc_info],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # uvicorn's own access log would be a second, differently shaped line per request.
    logging.getLogger("uvicorn.access").disabled = True
    # a client library's line per outgoing request says nothing an operator needs
    logging.getLogger("httpx").setLevel(logging.WARNING)


def get_logger(name: str | None = None) -> Any:
    return structlog.get_logger(name)


class _NamedLineWriter:
    """Writes each rendered line whole where the standard library's handler writes, under
    the lock that handler holds too, so that lines from both never interleave; `name` is
    the logger's, for `add_logger_name`."""

    def __init__(self, name: str | None = None, *_: Any) -> None:
        self.name = name

    def msg(self, message: str) -> None:
        write_line(message)

    log = debug = info = warn = warning = err = error = critical = exception = fatal = msg


def child_environment() -> dict[str, str]:
    """What a child process whose lines this process relays (`write_line`) needs in its
    environment to write them as this process does, JSON or readable."""
    return {JSON_VARIABLE: "1" if _as_json else "0"}


def write_line(text: str) -> None:
    """Writes one line whole among this process's log lines (under the lock both writers
    hold): a line of structlog's, or one relayed from a child process."""
    with _LINES:
        stream = _stream or sys.stderr
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.flush()


class _LineHandler(logging.StreamHandler):  # type: ignore[type-arg]
    def createLock(self) -> None:  # noqa: N802 - the standard library's name
        self.lock = _LINES


def _json(data: Any, **kw: Any) -> str:
    """JSON text of a log line, by orjson (a tenth of the time the standard library takes),
    or by the standard library for what orjson cannot write (integers past 64 bits)."""
    try:
        return orjson.dumps(data, default=kw.get("default")).decode()
    except TypeError:
        return stdlib_json.dumps(data, **kw)
