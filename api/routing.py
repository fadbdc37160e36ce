"""The API's routes read a JSON body strictly: an object that repeats a key is refused.

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

from fastapi import Request, Response
from fastapi.routing import APIRoute

#: a key named in an error only when it looks like a field name (never echo free input)
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,39}", re.ASCII)


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


class LedgerRoute(APIRoute):
    """An API route whose request reads its JSON body with `loads`."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handle(StrictJSONRequest(request.scope, request.receive))

        return strict
