"""The API's routes read a request strictly: the body in the media type they take, each
key once, and only the query parameters they name, each once.

A route that reads a JSON body answers 415 for a body sent as another media type (or with
none named), and one that reads a form (the file import) for a body that is not a form,
before anything else is read: a client learns what to send, not that its fields are wrong.
A query parameter the route does not take, or one given twice, is 422 as well: a mistyped
`as-of` would otherwise be ignored, and an auditor shown today's figures as the ones asked
for.

`json.loads` keeps the last of repeated keys, so `{"amount": …, "amount": …}` would be
read as whichever came last, while another reader of the same request (a proxy, a log,
an auditor's tool) may take the first. A body that can be read two ways is refused like
any body that is not JSON: 422, the `json_invalid` error FastAPI reports, with the
reason. Every router of the API uses `LedgerRoute` (FastAPI's documented way to give
routes their own request class); the web pages post forms and keep theirs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response, params
from fastapi.routing import APIRoute

from api.problems import http_problem

#: a key named in an error only when it looks like a field name (never echo free input)
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}", re.ASCII)
#: a query parameter named in an error only when it looks like a name
_QUERY_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,39}", re.ASCII)
#: a media type named in an error only when it looks like one
_MEDIA_TYPE = re.compile(r"[a-z0-9!#$&^_.+-]{1,40}/[a-z0-9!#$&^_.+-]{1,60}", re.ASCII)
#: the media types of a form body
FORM_TYPES = ("multipart/form-data", "application/x-www-form-urlencoded")


class RepeatedKey(ValueError):
    def __init__(self, key: str) -> None:
        named = repr(key) if _FIELD_NAME.fullmatch(key) else "a key"
        super().__init__(f"an object repeats {named}: send each key once")


def loads(body: bytes | str) -> Any:
    """`json.loads`, refusing an object that repeats a key (as a JSONDecodeError)."""
    try:
        return json.loads(body, object_pairs_hook=_unique)
    except RepeatedKey as e:
        text = body if isinstance(body, str) else body.decode("utf-8", "replace")
        raise json.JSONDecodeError(str(e), text, 0) from None


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKey(key)
            seen.add(key)
    return found


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads(await self.body())
        return self._json


def is_json(media_type: str) -> bool:
    """Whether a media type is JSON: application/json or a `+json` type."""
    kind, _, subtype = media_type.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").partition(";")[0].strip().lower()


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


def _query_names(dependant: Any) -> frozenset[str]:
    """The query parameters a route takes (its dependencies' included), by their names."""
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return frozenset(names)


def _refuse_query(request: Request, known: frozenset[str]) -> None:
    """422 for a query parameter the route does not take, or one given twice."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in known and name not in seen:
            seen.add(name)
            continue
        shown = name if _QUERY_NAME.fullmatch(name) else None
        if name in seen:
            reason = f"the query gives {name!r} more than once"
        else:
            taken = (f"it takes {', '.join(sorted(known))}" if known
                     else "it takes no query parameters")
            reason = (f"this route takes no query parameter {shown!r}; {taken}" if shown
                      else f"this route takes no such query parameter; {taken}")
        raise http_problem(422, reason, errors=[{"loc": ["query", shown or "?"],
                                                 "msg": reason}])


def _refuse_media_type(request: Request, wanted: str) -> None:
    """415 for a body whose Content-Type is not the one the route reads."""
    given = _media_type(request)
    sent = f"it came as {given}" if _MEDIA_TYPE.fullmatch(given) else "it came without one"
    raise http_problem(415, f"this route reads a body of Content-Type {wanted}; {sent}")


class LedgerRoute(APIRoute):
    """An API route that refuses a body of another media type (415) and query parameters
    it does not take (422), and reads a JSON body with `loads`."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()
        body = self.body_field
        if body is None:
            takes: Callable[[str], bool] | None = None
        elif isinstance(body.field_info, params.Form):
            wanted = FORM_TYPES[0]
            takes = FORM_TYPES.__contains__
        else:
            wanted = "application/json"
            takes = is_json
        known = _query_names(self.dependant)

        async def strict(request: Request) -> Response:
            if request.scope.get("query_string"):
                _refuse_query(request, known)
            if takes is not None and _has_body(request) and not takes(_media_type(request)):
                _refuse_media_type(request, wanted)
            return await handle(StrictJSONRequest(request.scope, request.receive))

        return strict
