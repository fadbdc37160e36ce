"""The express lane of the API's one hot write: `POST /v1/funds/{code}/donations`.

Donations are what a server records by the thousand (bank statements, the busy days of a
campaign). For each, FastAPI's routing, dependency resolution and response handling cost
the server's event loop about as much as the donation's own work (`scripts/bench_api.py
--cpu`). This lane answers, beneath that machinery, a donation request that is plainly in
order: a POST without a query string, a body of Content-Type `application/json` that the
route's own model (`DonationIn`, read with the API's strict `loads`) accepts, and the key
of an active treasurer. It records the donation with the same group commit, waits for the
read models the same way, and answers the same status, headers and body as the route.

On PostgreSQL the lane remembers the keys it found active, and records a remembered
key's donation on condition that the key is still active when it commits (the group
commit's guard, checked in the recording transaction under the event table's lock): a key
revoked before then is refused and nothing is recorded, as a lookup would have refused it,
without a lookup per donation, which each waited for the one under way. For a remembered
key, anything but a new record (a replay, a refusal) is looked up first, and a key no
longer active goes to the route (401).

Anything else goes on to the route (`api/routers/donations.py`), which stays the contract
and the OpenAPI schema's description, and answers with its own problems: another media
type, a query string, a missing key or another role's, a body the model refuses. A write
the ledger refuses, or a database that is busy or gone, is answered by the app's own
exception handlers, as the route's would be. So the lane decides nothing the route does
not: it only skips the route's machinery when the route could only have said yes.
"""

from __future__ import annotations

import inspect
from typing import Any

from fastapi.security.utils import get_authorization_scheme_param
from starlette.requests import Request

from api import resources
from api.middleware import header
from api.models import DonationIn
from api.routers import donations
from api.routing import loads
from api.writes import outcome_async
from ledger.postgres_recorder import GuardRefused
from ledger.users import key_hash, well_formed

#: the most keys the lane remembers (a server has a few treasurers)
KNOWN_KEYS = 1024
#: the route whose requests the lane may answer (its path, as Starlette matches it)
ROUTE = next(route for route in donations.router.routes
             if getattr(route, "endpoint", None) is donations.record_donation)


class DonationExpress:
    """ASGI middleware: plainly valid donations of a treasurer, answered as the route
    would; every other request passed on untouched (with its body, if the lane read it)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        #: treasurers' keys found active before, by hash: their donations are recorded on
        #: condition that the key is still active when they commit (where the ledger can
        #: check so: `DonationGroupCommit.checks_keys`), without a lookup of their own
        self._known: dict[str, Any] = {}

    def _remember(self, digest: str, user: Any) -> None:
        if len(self._known) >= KNOWN_KEYS:
            self._known.clear()
        self._known[digest] = user

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        found = _plain_donation(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        code, key = found
        body = await _body(receive)
        if body is None:  # the client went away
            return
        unread = [body]

        async def again() -> dict:  # the body once more, for the route
            if unread:
                return {"type": "http.request", "body": unread.pop(), "more_body": False}
            return await receive()

        app = scope["app"]
        runtime = app.state.runtime
        try:
            commit = runtime.donations  # (opened at first use, without a lifespan)
            digest = key_hash(key) if commit.checks_keys and well_formed(key) else None
            user = self._known.get(digest) if digest is not None else None
            known = user is not None  # then the write's transaction finds the key active
            if not known:
                user = await runtime.users.authenticate_async(key)
        except Exception as e:  # a busy or lost database: answered as the route would
            await _refused(app, e, scope, again, send)
            return
        if not known and digest is not None and user is not None and user.role == "treasurer":
            self._remember(digest, user)
        donation = _donation(body) if user is not None and user.role == "treasurer" else None
        if donation is None:
            await self.app(scope, again, send)
            return
        scope["route"] = ROUTE  # for the access log, as the router sets it
        scope.setdefault("state", {})["actor"] = user.name
        error: Exception | None = None
        active = True  # as far as the write knows
        try:
            written = await commit.record_async(user.name, digest if known else None,
                                                code=code, **donation.recorded_as())
        except GuardRefused:
            written, active = None, False  # the key is no longer active: the route answers
        except Exception as e:  # a write the ledger refuses, a busy or lost database
            written, error = None, e
        if known and (written is None or not written.created):
            # Nothing was recorded, so no transaction found the key active: a key revoked
            # since it was known hears what the route would tell it (401), nothing else.
            if active:
                try:
                    active = await runtime.users.authenticate_async(key) is not None
                except Exception as e:  # noqa: BLE001 - the database's answer, below
                    error, written = e, None
            if not active:
                self._known.pop(digest, None)
                del scope["route"]
                scope["state"].pop("actor", None)
                await self.app(scope, again, send)
                return
        if written is None:
            await _refused(app, error, scope, again, send)
            return
        try:
            status, shaped = await outcome_async(written, runtime.visibility,
                                                 runtime.settings, resources.recorded)
        except Exception as e:  # a busy or lost database
            await _refused(app, e, scope, again, send)
            return
        payload = resources.Donation.model_validate(shaped).model_dump_json(
            by_alias=True).encode()
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-length", str(len(payload)).encode("ascii")),
            (b"content-type", b"application/json"),
        ]})
        await send({"type": "http.response.body", "body": payload})


def _plain_donation(scope: dict) -> tuple[str, str] | None:
    """(fund code, key) of a request the lane may take: POST to the donations path, no
    query string, a JSON body, a bearer key (as the route's `HTTPBearer` reads it)."""
    if (scope["type"] != "http" or scope["method"] != "POST" or scope.get("query_string")
            or scope.get("root_path")):  # behind a prefix, the router knows the paths
        return None
    path = ROUTE.path_regex.match(scope["path"])
    if path is None:
        return None
    media_type = (header(scope, b"content-type") or "").partition(";")[0].strip().lower()
    if media_type != "application/json":
        return None
    scheme, key = get_authorization_scheme_param(header(scope, b"authorization"))
    if scheme.lower() != "bearer" or not key:
        return None
    return path.group("code"), key


async def _body(receive: Any) -> bytes | None:
    """The whole request body (None if the client disconnected first)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _donation(body: bytes) -> DonationIn | None:
    """The donation, if the route's model accepts the body as the route reads it."""
    try:
        return DonationIn.model_validate(loads(body))
    except Exception:  # noqa: BLE001 - whatever the reason, the route answers it
        return None


async def _refused(app: Any, error: Exception, scope: dict, receive: Any, send: Any) -> None:
    """Answers an error as the app answers it for the route: by its exception handler, or,
    for a fault (no handler), by raising it to the server's error middleware."""
    handler = _handler(app, error)
    if handler is None:
        raise error
    scope["route"] = ROUTE
    response = handler(Request(scope, receive), error)
    if inspect.isawaitable(response):
        response = await response
    await response(scope, receive, send)


def _handler(app: Any, error: Exception) -> Any:
    """The app's handler for this error, looked up as Starlette does (by the error's
    classes, nearest first); none for a fault, which the server answers as for a route."""
    for cls in type(error).__mro__:
        if cls is Exception:
            return None
        handler = app.exception_handlers.get(cls)
        if handler is not None:
            return handler
    return None
