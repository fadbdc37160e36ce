"""Every error as `application/problem+json` (RFC 9457): one table of domain errors.

Routes raise a `LedgerError` (mapped here by its class) or a `Problem`. Validation errors,
unknown routes, wrong methods, malformed bodies and database lock timeouts become problems
too, so no answer of the API is anything but JSON, and none is a 500 by design.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger.domain import errors

PROBLEM_MEDIA_TYPE = "application/problem+json"
#: problem types are URI references relative to the API's base
TYPE_BASE = "/problems/"
#: seconds a client should wait before retrying a write that met contention
RETRY_AFTER_SECONDS = 1


class Problem(Exception):
    """An error a route answers directly: status, problem type (a slug), title, detail."""

    def __init__(
        self,
        status: int,
        type_: str,
        title: str,
        detail: str = "",
        *,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.type = type_ if "/" in type_ or ":" in type_ else TYPE_BASE + type_
        self.title = title
        self.detail = detail or title
        self.headers = headers or {}
        self.extensions = extensions


class ProblemDetails(BaseModel):
    """An RFC 9457 problem: what went wrong, for a program (type) and a person (detail)."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None


#: Each domain error class → (HTTP status, problem type slug, title). Looked up along the
#: class's MRO, so a subclass without its own row gets its parent's.
LEDGER_ERRORS: dict[type[errors.LedgerError], tuple[int, str, str]] = {
    errors.InvalidInput: (422, "invalid-input", "Invalid input"),
    errors.NotFound: (404, "not-found", "Not found"),
    errors.FundNotFound: (404, "fund-not-found", "No such fund"),
    errors.SponsorNotFound: (404, "sponsor-not-found", "No such sponsor"),
    errors.PledgeNotFound: (404, "pledge-not-found", "No such pledge"),
    errors.DonationNotFound: (404, "donation-not-found", "No such donation"),
    errors.AllocationNotFound: (404, "allocation-not-found", "No such allocation"),
    errors.AwardNotFound: (404, "award-not-found", "No such award"),
    errors.FundClosed: (409, "fund-closed", "The fund is closed"),
    errors.FundAlreadyExists: (409, "fund-exists", "A fund with this code exists"),
    errors.FundNotSettled: (409, "fund-not-settled", "The fund still holds cash or pledges"),
    errors.CurrencyMismatch: (409, "currency-mismatch", "Wrong currency for this fund"),
    errors.Insufficient: (409, "insufficient", "Amount exceeds what the fund allows"),
    errors.InsufficientAvailable: (409, "insufficient-available", "Amount exceeds available"),
    errors.InsufficientCash: (409, "insufficient-cash", "Amount exceeds cash"),
    errors.ExceedsAllocationRemainder: (
        409, "exceeds-allocation-remainder", "Amount exceeds the allocation's remainder"),
    errors.ExceedsAwardRemainder: (
        409, "exceeds-award-remainder", "Amount exceeds the award's undisbursed remainder"),
    errors.ExceedsReturnable: (
        409, "exceeds-returnable", "Amount exceeds what was disbursed and not returned"),
    errors.AlreadyReversed: (409, "already-reversed", "The donation is already reversed"),
    errors.TurnoverLimit: (409, "fund-turnover-limit",
                           "The fund has moved the most money its books can hold"),
    errors.PledgeNotActive: (409, "pledge-not-active", "The pledge is cancelled"),
    errors.PledgeOfAnotherSponsor: (
        409, "pledge-of-another-sponsor", "The pledge belongs to another sponsor"),
    errors.AwardRevoked: (409, "award-revoked", "The award is revoked"),
    errors.IdConflict: (409, "id-conflict", "The id was used for different content"),
    errors.Contention: (503, "contention", "The fund is busy, retry later"),
    errors.LedgerError: (409, "ledger-rule", "Refused by a rule of the ledger"),
}

#: Plain HTTP statuses (from the framework) → problem type slug and title.
HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("malformed-request", "Malformed request"),
    401: ("unauthenticated", "Missing or invalid API key"),
    403: ("forbidden", "Your role may not do this"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("body-too-large", "Request body over 1 MiB"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    500: ("internal-error", "Internal error"),
    503: ("unavailable", "Service unavailable, retry later"),
}

log = logging.getLogger(__name__)


def problem_for(error: errors.LedgerError) -> Problem:
    """The problem that answers a domain error, from the table."""
    for cls in type(error).__mro__:
        if cls in LEDGER_ERRORS:
            status, slug, title = LEDGER_ERRORS[cls]  # type: ignore[index]
            break
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return Problem(status, slug, title, error.detail, headers=headers)


def http_problem(status: int, detail: str = "", **kwargs: Any) -> Problem:
    """The problem for a plain HTTP status."""
    slug, title = HTTP_PROBLEMS.get(status, ("http-error", "HTTP error"))
    return Problem(status, slug, title, detail, **kwargs)


def problem_response(problem: Problem) -> JSONResponse:
    body: dict[str, Any] = {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        **problem.extensions,
    }
    return JSONResponse(body, problem.status, headers=problem.headers,
                        media_type=PROBLEM_MEDIA_TYPE)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI documentation of the problems a route may answer."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        _, title = HTTP_PROBLEMS.get(status, ("", "Error"))
        documented[status] = {
            "description": title,
            "content": {PROBLEM_MEDIA_TYPE: {
                "schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
    return documented


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only where and why: never echo the input, which may hold personal data.
    return [
        {"loc": [str(part) for part in e.get("loc", ())], "msg": error_message(e),
         "type": str(e.get("type", ""))}
        for e in exc.errors()
    ]


def error_message(error: Mapping[str, Any]) -> str:
    """A validation error's message, without pydantic's "Value error, " before the
    ledger's own reasons; for a body that is not JSON, with the parser's reason (which
    names a position or a repeated field, never a value)."""
    message = str(error.get("msg", "")).removeprefix("Value error, ")
    reason = (error.get("ctx") or {}).get("error")
    if error.get("type") == "json_invalid" and isinstance(reason, str):
        return f"{message}: {reason}"
    return message


def _allowed(app: FastAPI, path: str) -> list[str]:
    """The methods the API answers on `path`, from its OpenAPI paths."""
    table = getattr(app.state, "allowed_methods", None)
    if table is None:
        table = [
            (re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"),
             sorted(m.upper() for m in operations))
            for template, operations in app.openapi().get("paths", {}).items()
        ]
        app.state.allowed_methods = table
    allowed = {m for pattern, methods in table if pattern.match(path) for m in methods}
    if "GET" in allowed:
        allowed.add("HEAD")  # `api.middleware.HeadAsGet`
    return sorted(allowed)


def _is_lock_timeout(exc: BaseException) -> bool:
    """Whether a database error is PostgreSQL's lock timeout (or SQLite's busy)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if getattr(current, "sqlstate", None) == "55P03":  # lock_not_available
            return True
        text = str(current).lower()
        if "lock timeout" in text or "database is locked" in text:
            return True
        current = current.__cause__ or current.__context__
    return False


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every error into a problem."""

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(errors.LedgerError)
    async def _ledger_error(request: Request, exc: errors.LedgerError) -> JSONResponse:
        return problem_response(problem_for(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        found = _validation_errors(exc)
        detail = "; ".join(
            f"{'.'.join(e['loc'][1:] or e['loc'])}: {e['msg']}" for e in found
        ) or "the request is not valid"
        return problem_response(http_problem(422, detail, errors=found))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else ""
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # the router names only the first route matching the path; list them all
            headers["Allow"] = ", ".join(_allowed(app, request.url.path))
        return problem_response(http_problem(exc.status_code, detail, headers=headers))

    async def _database(request: Request, exc: Exception) -> JSONResponse:
        # A lock timeout or a lost connection: the write did not happen, so a retry is safe.
        detail = ("the database was busy; retry later" if _is_lock_timeout(exc)
                  else "the database is unavailable; retry later")
        # the first line of a database error names the failure (timeout, lost connection),
        # never request data
        log.warning("database error: %s: %s", type(exc).__name__,
                    str(exc).splitlines()[0][:200] if str(exc) else "")
        return problem_response(http_problem(
            503, detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}))

    for database_error in database_errors():
        app.add_exception_handler(database_error, _database)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A fault of the ledger, not of the request: a problem like any other for the
        # client, and the whole traceback in the log (the server logs it once more as it
        # re-raises).
        log.error("unexpected error", exc_info=exc)
        return problem_response(http_problem(
            500, "an unexpected error in the ledger; it is logged (a write is recorded "
                 "whole or not at all)"))


def database_errors() -> list[type[Exception]]:
    """The errors that say the database is busy or unreachable (answered 503)."""
    import sqlite3

    import psycopg
    from eventsourcing.persistence import PersistenceError

    return [PersistenceError, psycopg.Error, sqlite3.Error]


def document(app: FastAPI) -> None:
    """Makes the OpenAPI schema describe the problems every route can answer: FastAPI's
    own 422 body is replaced by a problem, and the statuses any route may meet (a bad key,
    a wrong role, a body too large or malformed, a busy database) are listed on each."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["ProblemDetails"] = ProblemDetails.model_json_schema(
            ref_template="#/components/schemas/{model}")
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        for operations in schema.get("paths", {}).values():
            for method, operation in operations.items():
                statuses = [400, 404, 413, 422, 503]
                if operation.get("security"):
                    statuses += [401, 403]
                if method == "post":
                    statuses.append(409)
                if "requestBody" in operation:
                    statuses.append(415)
                documented = operation.setdefault("responses", {})
                for status, response in responses(*statuses).items():
                    if str(status) in documented and status != 422:
                        _problem_content(documented[str(status)])
                    else:
                        documented[str(status)] = response
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem_content(response: dict[str, Any]) -> None:
    response["content"] = {PROBLEM_MEDIA_TYPE: {
        "schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
