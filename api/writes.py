"""How a route answers a write: 201 the first time, 200 for a replay, once the read
models reflect it (bounded by `read_your_writes_timeout`), so a client that writes then
reads sees its write."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog
from fastapi import Response

from api import problems
from ledger.application import Written
from ledger.settings import Settings

log = structlog.get_logger("api.writes")

#: how a route turns a write's result into its answer
Shape = Callable[[dict[str, Any]], dict[str, Any]]

#: the statuses every write may answer, for the OpenAPI schema
WRITE_ERRORS = problems.responses(404, 409, 422, 503)


def answer(written: Written, response: Response, visibility: Any, settings: Settings,
           shape: Shape) -> dict[str, Any]:
    if _waits(written):
        _seen(visibility.wait_for(written.position, settings.read_your_writes_timeout),
              written)
    return _answered(written, response, shape)


async def answer_async(written: Written, response: Response, visibility: Any,
                       settings: Settings, shape: Shape) -> dict[str, Any]:
    """As `answer`, for an async route: waits for the read models without a thread."""
    response.status_code, body = await outcome_async(written, visibility, settings, shape)
    return body


async def outcome_async(written: Written, visibility: Any, settings: Settings,
                        shape: Shape) -> tuple[int, dict[str, Any]]:
    """The status and body answering a write, once the read models reflect it (awaited)."""
    if _waits(written):
        _seen(await visibility.wait(written.position, settings.read_your_writes_timeout),
              written)
    return status_of(written), shape(written.result)


def _waits(written: Written) -> bool:
    return written.created and written.position is not None


def _seen(reflected: bool, written: Written) -> None:
    if not reflected:
        # the write is committed: answer it, but say the views are behind
        log.warning("read models behind a write", position=written.position)


def _answered(written: Written, response: Response, shape: Shape) -> dict[str, Any]:
    response.status_code = status_of(written)
    return shape(written.result)


def status_of(written: Written) -> int:
    """201 for a write recorded now, 200 for the replay of one recorded before."""
    return 201 if written.created else 200


def created(model: type, summary: str) -> dict[str, Any]:
    """Route options of a write answering `model`: 201 created, 200 replayed."""
    return {
        "status_code": 201,
        "response_model": model,
        "summary": summary,
        "responses": {
            200: {"model": model, "description": "a replay of a write already recorded "
                                                 "with this id and content: the original body"},
            **WRITE_ERRORS,
        },
    }
