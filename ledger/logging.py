"""Logging for every process of the ledger: structlog, configured once.

Context bound with `structlog.contextvars` (a request id, a projection's name) is merged
into every line first; lines are JSON when stderr is not a terminal (servers, CI) and
readable key=value pairs on a terminal. Nothing here logs a student's personal data:
callers log ids, codes, statuses and timings, never names, schools or request bodies.
"""

from __future__ import annotations

import logging
import sys
import threading

import structlog

_configured = False
_lock = threading.Lock()


def configure(level: int = logging.INFO, *, json: bool | None = None) -> None:
    """Configures structlog and the standard library's root logger (idempotent)."""
    global _configured
    with _lock:
        if _configured:
            return
        _configured = True
    as_json = (not sys.stderr.isatty()) if json is None else json
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer = (structlog.processors.JSONRenderer() if as_json
                else structlog.dev.ConsoleRenderer(colors=False))
    # structlog's lines and the standard library's (uvicorn, eventsourcing) meet in one
    # handler with one renderer.
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        wrapper_class=structlog.stdlib.BoundLogger,
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
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


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)
