"""The express lane (`api.express`) answers plainly valid donations exactly as the route
would, and leaves every other request to the route: on memory through TestClient and on
PostgreSQL through uvicorn.

Whether the route answered is seen from outside the lane: the route resolves its
`get_donations` dependency, which the test overrides with one that counts its calls."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi import Request

from api.deps import get_donations
from test_api_support import Api, money

pytest_plugins = ["test_api_support"]

#: a media type the route takes and the lane does not: the request goes to the route
ROUTE_ONLY = {"Content-Type": "application/vnd.api+json"}


@contextmanager
def route_calls(api: Api) -> Iterator[list[int]]:
    """A list that grows by one each time the donation route itself records."""
    calls: list[int] = []

    async def counted(request: Request) -> Any:
        calls.append(1)
        return request.app.state.runtime.donations

    api.app.dependency_overrides[get_donations] = counted
    try:
        yield calls
    finally:
        api.app.dependency_overrides.pop(get_donations)


def a_fund(api: Api, code: str, currency: str = "VND") -> str:
    """A fund `code` and a sponsor; the sponsor's id."""
    assert api.post("/v1/funds", {"code": code, "name": code,
                                  "currency": currency}).status_code == 201
    return api.sponsor(f"Sponsor of {code}")


def gift(sponsor: str, amount: str = "250000", **more: Any) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "sponsor_id": sponsor, "amount": money(amount),
            "received_on": "2025-09-01", "method": "bank_transfer", **more}


def post_raw(api: Api, code: str, body: Any, who: str = "treasurer",
             headers: dict[str, str] | None = None, **kw: Any) -> Any:
    return api.http.post(f"/v1/funds/{code}/donations", json=body,
                         headers={**api.auth(who), **(headers or {})}, **kw)


def test_a_plain_donation_is_recorded_by_the_lane_and_answered_as_the_route_answers(api):
    sponsor = a_fund(api, "EXA")
    api.add_user("Trần Thị Mai", "treasurer")  # her name is in every answer: not ASCII
    who = "Trần Thị Mai"
    body = gift(sponsor, method="chuyển khoản", reference="Học bổng Thiện Tâm — UNC 0912")
    with route_calls(api) as calls:
        before = api.events()
        first = post_raw(api, "EXA", body, who=who)
        assert first.status_code == 201, first.text
        assert calls == []  # the lane answered
        lane_events = api.events() - before
        assert first.json()["actor"] == who and first.json()["reference"] == body["reference"]

        # the same request through the route: the original result, recorded nothing
        by_route = post_raw(api, "EXA", body, who=who, headers=ROUTE_ONLY)
        assert by_route.status_code == 200 and calls == [1]
        by_lane = post_raw(api, "EXA", body, who=who)
        assert by_lane.status_code == 200 and calls == [1]
        assert by_lane.content == by_route.content
        assert first.json() == by_route.json()
        for name in ("content-type", "content-length"):
            assert by_lane.headers[name] == by_route.headers[name]
        for answer in (first, by_route, by_lane):  # bytes, not characters
            assert int(answer.headers["content-length"]) == len(answer.content)
        assert by_lane.headers["x-request-id"] != by_route.headers["x-request-id"]

        # a donation the route records adds what the lane's added, and both are read at once
        before = api.events()
        assert post_raw(api, "EXA", gift(sponsor), headers=ROUTE_ONLY).status_code == 201
        assert api.events() - before == lane_events
    figures = api.get("/v1/funds/EXA").json()["figures"]
    assert figures["received_total"] == money("500000")


def test_a_donation_without_an_id_gets_one_from_the_lane_and_counts_once(api):
    sponsor = a_fund(api, "EXB")
    body = gift(sponsor)
    del body["id"]
    r = post_raw(api, "EXB", body)
    assert r.status_code == 201, r.text
    uuid.UUID(r.json()["id"])
    assert api.get("/v1/funds/EXB").json()["figures"]["received_total"] == money("250000")


@pytest.mark.parametrize(("case", "status", "problem"), [
    ("an auditor's key", 403, "forbidden"),
    ("no key", 401, "unauthenticated"),
    ("a key of another scheme", 401, "unauthenticated"),
    ("an unknown key", 401, "unauthenticated"),
    ("a revoked key", 401, "unauthenticated"),
    ("a field the client may not send", 422, "invalid-input"),
    ("a JSON number for an amount", 422, "invalid-input"),
    ("a repeated key", 422, "invalid-input"),
    ("a body that is not JSON", 422, "invalid-input"),
    ("a query parameter", 422, "invalid-input"),
    ("a body sent as text", 415, "unsupported-media-type"),
    ("a fund of another currency", 409, "currency-mismatch"),
    ("a fund that does not exist", 404, "fund-not-found"),
    ("a sponsor that does not exist", 404, "sponsor-not-found"),
    ("a pledge that does not exist", 404, "pledge-not-found"),
])
def test_what_the_route_refuses_is_refused_alike_and_records_nothing(api, case, status,
                                                                     problem):
    sponsor = a_fund(api, "EXC")
    a_fund(api, "EXE", currency="EUR")
    body: Any = gift(sponsor)
    code, who, headers, extra = "EXC", "treasurer", {}, {}
    if case == "an auditor's key":
        who = "auditor"
    elif case == "no key":
        who = "nobody"
    elif case == "a key of another scheme":
        who, headers = "nobody", {"Authorization": f"Basic {api.keys['treasurer']}"}
    elif case == "an unknown key":
        who, headers = "nobody", {"Authorization": "Bearer " + "x" * 43}
    elif case == "a revoked key":
        api.add_user("Former treasurer", "treasurer")
        api.app.state.runtime.users.revoke("Former treasurer")
        who = "Former treasurer"
    elif case == "a field the client may not send":
        body["actor"] = "someone else"
    elif case == "a JSON number for an amount":
        body["amount"] = {"amount": 250000, "currency": "VND"}
    elif case == "a repeated key":
        headers = {"Content-Type": "application/json"}
        extra = {"content": b'{"method": "cash", "method": "cash"}', "json": None}
    elif case == "a body that is not JSON":
        headers = {"Content-Type": "application/json"}
        extra = {"content": b'{"sponsor_id": ', "json": None}
    elif case == "a query parameter":
        extra = {"params": {"as_of": "2025-09-01"}}
    elif case == "a body sent as text":
        headers = {"Content-Type": "text/plain"}
        extra = {"content": b"{}", "json": None}
    elif case == "a fund of another currency":
        code = "EXE"
    elif case == "a fund that does not exist":
        code = "NOSUCH"
    elif case == "a sponsor that does not exist":
        body["sponsor_id"] = str(uuid.uuid4())
    elif case == "a pledge that does not exist":
        body["pledge_id"] = str(uuid.uuid4())
    if "json" in extra:
        body = extra.pop("json")
    before = api.events()
    r = post_raw(api, code, body, who=who, headers=headers, **extra)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == f"/problems/{problem}"
    assert api.events() == before
    # the route itself answers the same
    if case not in ("a body sent as text", "a query parameter"):
        again = post_raw(api, code, body, who=who, headers={**headers, **ROUTE_ONLY}, **extra)
        assert (again.status_code, again.json()["type"]) == (status, r.json()["type"])
        assert api.events() == before


@pytest.mark.postgres
def test_a_donation_meeting_a_busy_database_is_503_through_the_lane_as_through_the_route(
        pg_settings):
    import psycopg

    from api.app import create_app
    from test_api_support import TestClient, _with_users

    settings = pg_settings.model_copy(update={"lock_timeout_seconds": 1})
    app = create_app(settings)
    with TestClient(app) as client:
        api = _with_users(Api(client, app))
        sponsor = a_fund(api, "EXD")
        assert post_raw(api, "EXD", gift(sponsor)).status_code == 201
        before = api.events()
        answers = []
        with psycopg.connect(settings.database_url, autocommit=False) as holder:
            holder.execute(f'LOCK TABLE "{settings.postgres_schema}".ledger_events '
                           "IN EXCLUSIVE MODE")  # reads pass, inserts wait
            with route_calls(api) as calls:
                answers.append(post_raw(api, "EXD", gift(sponsor)))
                assert calls == []
                answers.append(post_raw(api, "EXD", gift(sponsor), headers=ROUTE_ONLY))
                assert calls == [1]
            holder.rollback()
        for r in answers:
            assert r.status_code == 503, r.text
            assert r.json()["type"] == "/problems/unavailable"
            assert r.headers["retry-after"] == "1"
        assert answers[0].json() == answers[1].json()
        assert api.events() == before


def test_behind_a_root_path_the_router_decides_and_the_lane_stands_aside(memory_api):
    """(The router strips the root path from the path; the lane takes no request with
    one, so it never answers a path the router does not.)"""
    from test_api_support import TestClient

    api = memory_api
    sponsor = a_fund(api, "EXF")
    with TestClient(api.app, root_path="/v1") as behind:
        for path in ("/funds/EXF/donations", "/v1/funds/EXF/donations"):
            before = api.events()
            by_lane, by_route = (
                behind.post(path, json=gift(sponsor), headers={**api.auth("treasurer"), **media})
                for media in ({}, ROUTE_ONLY))
            assert by_lane.status_code == by_route.status_code == 404
            assert api.events() == before


def test_the_lane_takes_the_path_the_app_serves_the_route_at(memory_api):
    from api.express import ROUTE

    operation = memory_api.app.openapi()["paths"][ROUTE.path]["post"]
    assert operation["operationId"].startswith("record_donation")
