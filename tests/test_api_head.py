"""HEAD is answered wherever GET is (RFC 9110 §9.3.2): the same status and headers, no body.

Through TestClient and through a real uvicorn on PostgreSQL, where the connection must stay
usable after a HEAD (the server sends no body bytes for the Content-Length it announces).
"""

from __future__ import annotations

import pytest

from test_api_support import Api

pytest_plugins = ["test_api_support"]

SAME_HEADERS = ("content-type", "content-length")


def assert_head_like_get(api: Api, path: str, who: str = "treasurer") -> int:
    got = api.http.get(path, headers=api.auth(who))
    head = api.http.head(path, headers=api.auth(who))
    assert head.status_code == got.status_code, (path, who)
    assert head.content == b""
    for name in SAME_HEADERS:
        assert head.headers.get(name) == got.headers.get(name), (path, who, name)
    assert head.headers["x-request-id"]
    return head.status_code


def test_head_answers_as_get_without_the_body(api: Api):
    sponsor = api.sponsor("Thien Tam")
    assert api.post("/v1/funds", {"code": "TT", "name": "Thien Tam"}).status_code == 201
    assert assert_head_like_get(api, "/healthz") == 200
    assert assert_head_like_get(api, "/v1/funds") == 200
    assert assert_head_like_get(api, "/v1/funds/TT") == 200
    assert assert_head_like_get(api, "/v1/funds/TT/events") == 200
    assert assert_head_like_get(api, f"/v1/sponsors/{sponsor}", who="auditor") == 200
    # refusals are the same as for GET: no key, a wrong role, a missing fund
    assert assert_head_like_get(api, "/v1/funds", who="nobody") == 401
    assert assert_head_like_get(api, "/v1/funds/NOPE") == 404
    # the connection still answers after a HEAD (nothing left unread on it)
    assert api.get("/v1/funds/TT").json()["code"] == "TT"


def test_head_where_get_is_not_answered_is_405_listing_get_and_head_only_where_get_is(
        api: Api):
    r = api.http.head("/v1/funds/TT/donations", headers=api.auth("treasurer"))
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    r = api.http.delete("/v1/funds/TT", headers=api.auth("treasurer"))
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    r = api.http.delete("/v1/funds", headers=api.auth("treasurer"))
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD, POST"
    assert api.http.head("/v1/nothing").status_code == 404

