"""The authorization matrix: every principal × every endpoint × {sponsor A's object,
sponsor B's object, a missing id}, each cell asserted.

Principals: admin (CLI only: 403 everywhere), treasurer, auditor, sponsor A, sponsor B,
no key, a revoked key, a malformed key (401 everywhere). A sponsor key reaches its own
sponsor's data only; anything else (another sponsor's object, a staff-only endpoint)
answers 404, exactly as a missing one.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from test_api_support import (
    Api, Side, build_side, memory_api_running, money, pg_api_running,
)

PRINCIPALS = ("admin", "treasurer", "auditor", "sponsor A", "sponsor B", "no key",
              "revoked key", "malformed key")
COLUMNS = ("A", "B", "missing")


@dataclass
class Endpoint:
    method: str
    #: the path for a side (None: the missing object)
    path: Callable[[Side | None], str]
    #: roles that may call it
    roles: tuple[str, ...]
    #: the status a permitted call answers on an existing object
    success: int
    body: Callable[[Side | None], Any] | None = None
    #: whether it reads one sponsor's data (so a sponsor may reach its own)
    sponsor_scoped: bool = False
    #: whether it names an object (else one column: "A")
    has_object: bool = True


def _fund(s: Side | None) -> str:
    return s.fund if s else "NOPE"


def _obj(s: Side | None, name: str) -> str:
    return getattr(s, name) if s else str(uuid.uuid4())


T, R = ("treasurer",), ("treasurer", "auditor")


def _sponsor_of(s: Side | None) -> str:
    return s.sponsor if s else str(uuid.uuid4())


ENDPOINTS: dict[str, Endpoint] = {
    "open fund": Endpoint("POST", lambda s: "/v1/funds", T, 201,
                          lambda s: {"code": f"N{uuid.uuid4().hex[:8]}", "name": "n"},
                          has_object=False),
    "list funds": Endpoint("GET", lambda s: "/v1/funds", R, 200, has_object=False),
    "read fund": Endpoint("GET", lambda s: f"/v1/funds/{_fund(s)}", R, 200),
    "close fund": Endpoint("POST", lambda s: f"/v1/funds/{_fund(s)}/close", T, 409,
                           lambda s: {}),
    "fund events": Endpoint("GET", lambda s: f"/v1/funds/{_fund(s)}/events", R, 200),
    "register sponsor": Endpoint("POST", lambda s: "/v1/sponsors", T, 201,
                                 lambda s: {"name": "n", "kind": "clan"}, has_object=False),
    "read sponsor": Endpoint("GET", lambda s: f"/v1/sponsors/{_sponsor_of(s)}",
                             ("treasurer", "auditor", "sponsor"), 200, sponsor_scoped=True),
    "pledge": Endpoint("POST", lambda s: f"/v1/funds/{_fund(s)}/pledges", T, 201,
                       lambda s: {"sponsor_id": _sponsor_of(s), "amount": money("1000")}),
    "cancel pledge": Endpoint(
        "POST", lambda s: f"/v1/funds/{_fund(s)}/pledges/{_obj(s, 'pledge')}/cancel", T, 201,
        lambda s: {"reason": "r"}),
    "donation": Endpoint("POST", lambda s: f"/v1/funds/{_fund(s)}/donations", T, 201,
                         lambda s: {"sponsor_id": _sponsor_of(s), "amount": money("1000"),
                                    "received_on": "2025-09-09", "method": "cash"}),
    "reverse donation": Endpoint(
        "POST", lambda s: f"/v1/funds/{_fund(s)}/donations/{_obj(s, 'donation')}/reverse", T,
        201, lambda s: {"reason": "r"}),
    "allocation": Endpoint("POST", lambda s: f"/v1/funds/{_fund(s)}/allocations", T, 201,
                           lambda s: {"name": "r", "amount": money("1000")}),
    "release": Endpoint(
        "POST", lambda s: f"/v1/funds/{_fund(s)}/allocations/{_obj(s, 'allocation')}/release",
        T, 201, lambda s: {"amount": money("1000"), "reason": "r"}),
    "award": Endpoint("POST", lambda s: f"/v1/funds/{_fund(s)}/awards", T, 201,
                      lambda s: {"allocation_id": _obj(s, "allocation"),
                                 "recipient": {"name": "A", "school": "S"},
                                 "amount": money("1000")}),
    "revoke award": Endpoint(
        "POST", lambda s: f"/v1/funds/{_fund(s)}/awards/{_obj(s, 'revocable_award')}/revoke",
        T, 201, lambda s: {"reason": "r"}),
    "disbursement": Endpoint(
        "POST", lambda s: f"/v1/funds/{_fund(s)}/awards/{_obj(s, 'award')}/disbursements", T,
        201, lambda s: {"amount": money("1000"), "paid_on": "2025-09-09", "method": "cash"}),
    "return": Endpoint(
        "POST", lambda s: f"/v1/funds/{_fund(s)}/awards/{_obj(s, 'award')}/returns", T, 201,
        lambda s: {"amount": money("1000"), "returned_on": "2025-09-09", "reason": "r"}),
    "transfer": Endpoint("POST", lambda s: "/v1/transfers", T, 201,
                         lambda s: {"from_fund": "FA", "to_fund": "FB",
                                    "amount": money("1000"), "reason": "r"},
                         has_object=False),
}

#: the endpoints other modules add, when present: balance, statement, audit, import
OPTIONAL_ENDPOINTS: dict[str, Endpoint] = {
    "balance": Endpoint("GET", lambda s: f"/v1/funds/{_fund(s)}/balance", R, 200),
    "statement": Endpoint("GET", lambda s: f"/v1/sponsors/{_sponsor_of(s)}/statement",
                          ("treasurer", "auditor", "sponsor"), 200, sponsor_scoped=True),
    "verify": Endpoint("GET", lambda s: "/v1/audit/verify", ("auditor",), 200,
                       has_object=False),
    "import": Endpoint("POST", lambda s: "/v1/imports/donations", T, 0, has_object=False),
}


def expected(principal: str, endpoint: Endpoint, column: str) -> int:
    """The status a cell must answer (0: any answer but 401/403/5xx)."""
    if principal in ("no key", "revoked key", "malformed key"):
        return 401
    role = "sponsor" if principal.startswith("sponsor") else principal
    if role not in endpoint.roles:
        # to a sponsor, whatever is not its own is not there
        return 404 if role == "sponsor" else 403
    if column == "missing":
        return 404
    if role == "sponsor" and principal != f"sponsor {column}":
        return 404
    return endpoint.success


@pytest.fixture(name="matrix", scope="module",
                params=["testclient", pytest.param("uvicorn", marks=pytest.mark.postgres)])
def _matrix(request) -> Iterator[tuple[Api, dict[str, Side]]]:
    """Sponsors A and B with a fund each, and a key for every principal, on memory through
    TestClient and on PostgreSQL through uvicorn (shared by the module's tests: only the
    treasurer's row writes, once per cell)."""
    running = memory_api_running() if request.param == "testclient" else pg_api_running()
    with running as api:
        yield _world(api)


def _world(api: Api) -> tuple[Api, dict[str, Side]]:
    sides = {"A": build_side(api, "Agribank", "FA"), "B": build_side(api, "Sacombank", "FB")}
    api.add_user("sponsor A", "sponsor", sides["A"].sponsor)
    api.add_user("sponsor B", "sponsor", sides["B"].sponsor)
    api.add_user("revoked key", "treasurer")
    api.app.state.runtime.users.revoke("revoked key")
    api.keys["malformed key"] = "not-a-key"
    return api, sides


#: how each optional endpoint's route ends, to find whether it is present
OPTIONAL_ROUTES = {"balance": ("/v1/funds/", "/balance"),
                   "statement": ("/v1/sponsors/", "/statement"),
                   "verify": ("/v1/audit/verify", ""), "import": ("/v1/imports/donations", "")}


def _endpoints(api: Api) -> dict[str, Endpoint]:
    paths = list(api.app.openapi()["paths"])
    present = {name: OPTIONAL_ENDPOINTS[name] for name, (start, end) in OPTIONAL_ROUTES.items()
               if any(p.startswith(start) and p.endswith(end) for p in paths)}
    return {**ENDPOINTS, **present}


def call(api: Api, who: str, endpoint: Endpoint, side: Side | None) -> Any:
    if endpoint.method == "GET":
        return api.get(endpoint.path(side), who=who)
    body = endpoint.body(side) if endpoint.body else None
    return api.post(endpoint.path(side), body, who=who)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_every_principal_gets_exactly_what_the_role_table_allows_on_every_endpoint(
        matrix, principal: str):
    api, sides = matrix
    failures = []
    cells = 0
    for name, endpoint in _endpoints(api).items():
        for column in COLUMNS if endpoint.has_object else ("A",):
            side = sides.get(column)
            want = expected(principal, endpoint, column)
            before = api.events()
            r = call(api, principal, endpoint, side)
            cells += 1
            ok = (r.status_code == want if want else
                  r.status_code not in (401, 403) and r.status_code < 500)
            if not ok:
                failures.append(f"{name} [{column}]: {r.status_code} != {want}: {r.text[:200]}")
            if r.status_code >= 400:
                assert r.headers["content-type"].startswith("application/problem+json")
                assert api.events() == before, f"{name} [{column}] recorded on a refusal"
            if principal == "sponsor A" and column == "B":
                # never another sponsor's data, not even its name
                assert "Sacombank" not in r.text
    assert cells >= 40 and set(_endpoints(api)) >= {"import"}
    assert not failures, "\n".join(failures)


def test_a_sponsor_asking_for_another_sponsor_gets_the_same_answer_as_for_a_missing_one(
        matrix):
    api, sides = matrix
    other = api.get(f"/v1/sponsors/{sides['B'].sponsor}", who="sponsor A")
    missing = api.get(f"/v1/sponsors/{uuid.uuid4()}", who="sponsor A")
    assert other.status_code == missing.status_code == 404
    assert other.json()["type"] == missing.json()["type"] == "/problems/sponsor-not-found"
    assert other.json().keys() == missing.json().keys()


def test_a_key_revoked_while_the_server_runs_is_refused_from_its_next_request(matrix):
    api, _ = matrix
    api.add_user("Le Thi Hoa", "auditor")
    assert api.get("/v1/funds", who="Le Thi Hoa").status_code == 200
    api.app.state.runtime.users.revoke("Le Thi Hoa")
    r = api.get("/v1/funds", who="Le Thi Hoa")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Basic dXNlcjpwYXNz", "lk_x",
                                    "Bearer lk_" + "A" * 43, "Bearer lk_" + "é" * 43])
def test_a_missing_or_malformed_authorization_header_is_401(matrix, header: str):
    api, _ = matrix
    r = api.http.get("/v1/funds", headers={"Authorization": header.encode("utf-8")})
    assert r.status_code == 401
    assert r.json()["type"] == "/problems/unauthenticated"
