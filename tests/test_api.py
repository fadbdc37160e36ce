"""The API's operations, through TestClient (memory) and a real uvicorn (PostgreSQL):
every endpoint does what SPEC §3 says, replays answer the original body, and every rule of
SPEC §2 is refused with its own problem type and nothing recorded."""

from __future__ import annotations

import uuid

import pytest

from test_api_support import Api, Side, build_side, money

pytest_plugins = ["test_api_support"]

PROBLEM = "application/problem+json"


@pytest.fixture(name="side")
def _side(api: Api) -> Side:
    """Sponsor A's fund FA with an object of every kind."""
    return build_side(api, "Vietcombank Da Nang", "FA")


def assert_problem(r, status: int, slug: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["type"] == f"/problems/{slug}"
    assert body["status"] == status and body["title"] and body["detail"]


def figures(api: Api, code: str = "FA") -> dict[str, str]:
    r = api.get(f"/v1/funds/{code}")
    assert r.status_code == 200, r.text
    return {k: v["amount"] for k, v in r.json()["figures"].items() if k in SPEC_FIGURES}


SPEC_FIGURES = ("received_total", "cash", "allocated_unspent", "available",
                "pledged_outstanding")


def test_healthz_needs_no_key_and_names_the_database(api: Api):
    r = api.http.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"
    assert r.json()["database"] in ("memory", "postgresql")


def test_a_fund_opens_lists_reads_and_reports_its_figures(api: Api):
    r = api.post("/v1/funds", {"code": "TT", "name": "Thien Tam", "currency": "VND",
                               "purpose": "poor students", "restricted": True})
    assert r.status_code == 201, r.text
    opened = r.json()
    assert (opened["code"], opened["seq"], opened["actor"]) == ("TT", 1, "treasurer")
    assert opened["prev_hash"] == "0" * 64 and len(opened["hash"]) == 64
    listed = api.get("/v1/funds", who="auditor").json()["funds"]
    assert [f["code"] for f in listed] == ["TT"]
    fund = api.get("/v1/funds/TT", who="auditor").json()
    assert fund["restricted"] is True and fund["closed"] is False
    assert fund["figures"]["available"] == money("0")


def test_the_whole_cycle_moves_the_figures_as_specified_and_writes_are_read_at_once(
        api: Api, side: Side):
    # build_side: 10,100,000 received; 200,000 paid on the award
    assert figures(api) == {"received_total": "10100000", "cash": "9900000",
                            "allocated_unspent": "4800000", "available": "5100000",
                            "pledged_outstanding": "3000000"}
    api.post(f"/v1/funds/FA/awards/{side.award}/returns",
             {"amount": money("50000"), "returned_on": "2025-10-01", "reason": "moved away"})
    api.post(f"/v1/funds/FA/allocations/{side.allocation}/release",
             {"amount": money("1000000"), "reason": "round closed"})
    api.post(f"/v1/funds/FA/donations/{side.donation}/reverse", {"reason": "bounced"})
    api.post(f"/v1/funds/FA/pledges/{side.pledge}/cancel", {"reason": "withdrawn"})
    assert figures(api) == {"received_total": "10000000", "cash": "9850000",
                            "allocated_unspent": "3800000", "available": "6050000",
                            "pledged_outstanding": "0"}


def test_a_donation_answers_a_resource_with_money_objects_dates_and_its_event(
        api: Api, side: Side):
    donation_id = str(uuid.uuid4())
    r = api.post("/v1/funds/FA/donations", {
        "id": donation_id, "sponsor_id": side.sponsor, "amount": money("1500.50", "EUR"),
        "credited": money("41000000"), "received_on": "2025-03-01", "method": "swift",
        "reference": "PN-2025-03"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id"] == donation_id and body["fund"] == "FA"
    assert body["amount"] == money("1500.50", "EUR")
    assert body["credited"] == money("41000000")
    assert body["received_on"] == "2025-03-01" and body["event"] == "DonationReceived"
    assert body["actor"] == "treasurer"
    history = api.get("/v1/funds/FA/events", params={"after": body["seq"] - 1}).json()
    assert history["events"][0]["hash"] == body["hash"]


CREATES = {
    "fund": lambda s: ("/v1/funds", {"code": "NEW", "name": "New fund"}),
    "sponsor": lambda s: ("/v1/sponsors", {"name": "Ho family", "kind": "family"}),
    "pledge": lambda s: ("/v1/funds/FA/pledges", {"sponsor_id": s.sponsor,
                                                  "amount": money("1000")}),
    "donation": lambda s: ("/v1/funds/FA/donations", {
        "sponsor_id": s.sponsor, "amount": money("1000"), "received_on": "2025-09-09",
        "method": "cash"}),
    "allocation": lambda s: ("/v1/funds/FA/allocations", {"name": "r",
                                                          "amount": money("1000")}),
    "award": lambda s: ("/v1/funds/FA/awards", {
        "allocation_id": s.allocation, "recipient": {"name": "B", "school": "S"},
        "amount": money("1000")}),
    "disbursement": lambda s: (f"/v1/funds/FA/awards/{s.award}/disbursements", {
        "amount": money("1000"), "paid_on": "2025-09-09", "method": "cash"}),
    "return": lambda s: (f"/v1/funds/FA/awards/{s.award}/returns", {
        "amount": money("1000"), "returned_on": "2025-09-09", "reason": "r"}),
    "transfer": lambda s: ("/v1/transfers", {"from_fund": "FA", "to_fund": "FB",
                                             "amount": money("1000"), "reason": "r"}),
    "release": lambda s: (f"/v1/funds/FA/allocations/{s.allocation}/release", {
        "amount": money("1000"), "reason": "r"}),
    "reversal": lambda s: (f"/v1/funds/FA/donations/{s.donation}/reverse", {"reason": "r"}),
    "cancellation": lambda s: (f"/v1/funds/FA/pledges/{s.pledge}/cancel", {"reason": "r"}),
    "revocation": lambda s: (f"/v1/funds/FA/awards/{s.revocable_award}/revoke",
                             {"reason": "r"}),
    "closing": lambda s: ("/v1/funds/EMPTY/close", {}),
}


def check_replay(api: Api, side: Side, kind: str) -> None:
    path, body = CREATES[kind](side)
    body = {**body, "id": str(uuid.uuid4())}
    first = api.post(path, body)
    assert first.status_code == 201, (kind, first.text)
    recorded = api.events()
    again = api.post(path, body)
    assert again.status_code == 200, (kind, again.text)
    assert again.json() == first.json()
    assert api.events() == recorded
    if kind == "closing":
        changed = {**body, "closed_on": "2025-01-01"}
    elif "reason" in body:
        changed = {**body, "reason": "changed"}
    elif "name" in body:
        changed = {**body, "name": "changed"}
    else:
        changed = {**body, "amount": money("999")}
    assert_problem(api.post(path, changed), 409, "id-conflict")
    assert api.events() == recorded


def replayable_world(api: Api) -> Side:
    """Side A, plus a second fund FB and an empty fund EMPTY to close."""
    side = build_side(api, "Vietcombank Da Nang", "FA")
    api.post("/v1/funds", {"code": "FB", "name": "B"})
    api.post("/v1/funds", {"code": "EMPTY", "name": "Empty"})
    return side


@pytest.mark.parametrize("kind", CREATES)
def test_every_write_replayed_with_its_id_answers_200_with_the_same_body_and_records_once(
        memory_api: Api, kind: str):
    check_replay(memory_api, replayable_world(memory_api), kind)


@pytest.mark.postgres
def test_every_write_replays_and_conflicts_the_same_over_uvicorn_on_postgresql(pg_api: Api):
    side = replayable_world(pg_api)
    for kind in CREATES:
        check_replay(pg_api, side, kind)


RULES = [
    # (what, path, body, status, problem type)
    ("allocation beyond available", "/v1/funds/FA/allocations",
     lambda s: {"name": "x", "amount": money("5100001")}, 409, "insufficient-available"),
    ("release beyond the ungranted remainder", "/v1/funds/FA/allocations/{allocation}/release",
     lambda s: {"amount": money("3000001"), "reason": "x"}, 409,
     "exceeds-allocation-remainder"),
    ("award beyond the allocation's remainder", "/v1/funds/FA/awards",
     lambda s: {"allocation_id": s.allocation, "recipient": {"name": "A", "school": "S"},
                "amount": money("3000001")}, 409, "exceeds-allocation-remainder"),
    ("disbursement beyond the award", "/v1/funds/FA/awards/{award}/disbursements",
     lambda s: {"amount": money("800001"), "paid_on": "2025-09-09", "method": "cash"}, 409,
     "exceeds-award-remainder"),
    ("return beyond what was paid", "/v1/funds/FA/awards/{award}/returns",
     lambda s: {"amount": money("200001"), "returned_on": "2025-09-09", "reason": "x"}, 409,
     "exceeds-returnable"),
    ("transfer beyond available", "/v1/transfers",
     lambda s: {"from_fund": "FA", "to_fund": "FB", "amount": money("5100001"),
                "reason": "x"}, 409, "insufficient-available"),
    ("transfer between currencies", "/v1/transfers",
     lambda s: {"from_fund": "FA", "to_fund": "EUR1", "amount": money("1"), "reason": "x"},
     409, "currency-mismatch"),
    ("transfer to the same fund", "/v1/transfers",
     lambda s: {"from_fund": "FA", "to_fund": "FA", "amount": money("1"), "reason": "x"},
     422, "invalid-input"),
    ("donation in another currency without the credited amount", "/v1/funds/FA/donations",
     lambda s: {"sponsor_id": s.sponsor, "amount": money("10.00", "EUR"),
                "received_on": "2025-09-09", "method": "swift"}, 409, "currency-mismatch"),
    ("allocation in another currency", "/v1/funds/FA/allocations",
     lambda s: {"name": "x", "amount": money("10.00", "USD")}, 409, "currency-mismatch"),
    ("donation from an unknown sponsor", "/v1/funds/FA/donations",
     lambda s: {"sponsor_id": str(uuid.uuid4()), "amount": money("1"),
                "received_on": "2025-09-09", "method": "cash"}, 404, "sponsor-not-found"),
    ("donation to an unknown fund", "/v1/funds/NOPE/donations",
     lambda s: {"sponsor_id": s.sponsor, "amount": money("1"), "received_on": "2025-09-09",
                "method": "cash"}, 404, "fund-not-found"),
    ("donation against another sponsor's pledge", "/v1/funds/FA/donations",
     lambda s: {"sponsor_id": s.other_sponsor, "amount": money("1"),
                "received_on": "2025-09-09", "method": "cash", "pledge_id": s.pledge},
     409, "pledge-of-another-sponsor"),
    ("reversal of an unknown donation", "/v1/funds/FA/donations/{missing}/reverse",
     lambda s: {"reason": "x"}, 404, "donation-not-found"),
    ("cancel an unknown pledge", "/v1/funds/FA/pledges/{missing}/cancel",
     lambda s: {"reason": "x"}, 404, "pledge-not-found"),
    ("release of an unknown allocation", "/v1/funds/FA/allocations/{missing}/release",
     lambda s: {"amount": money("1"), "reason": "x"}, 404, "allocation-not-found"),
    ("disbursement of an unknown award", "/v1/funds/FA/awards/{missing}/disbursements",
     lambda s: {"amount": money("1"), "paid_on": "2025-09-09", "method": "cash"}, 404,
     "award-not-found"),
    ("close a fund that holds cash", "/v1/funds/FA/close", lambda s: {}, 409,
     "fund-not-settled"),
    ("open a fund whose code is taken", "/v1/funds",
     lambda s: {"code": "FA", "name": "again"}, 409, "fund-exists"),
]


def with_rules(api: Api) -> Side:
    """Side A plus a second VND fund FB (sponsor B), a EUR fund and a closed fund."""
    side = build_side(api, "Vietcombank Da Nang", "FA")
    side.other_sponsor = api.sponsor("BIDV")  # type: ignore[attr-defined]
    for code, currency in (("FB", "VND"), ("EUR1", "EUR"), ("SHUT", "VND")):
        assert api.post("/v1/funds", {"code": code, "name": code,
                                      "currency": currency}).status_code == 201
    assert api.post("/v1/funds/SHUT/close", {}).status_code == 201
    return side


def check_rule(api: Api, side: Side, path: str, body, status: int, slug: str) -> None:
    before = api.events()
    path = path.format(allocation=side.allocation, award=side.award, missing=uuid.uuid4())
    assert_problem(api.post(path, body(side)), status, slug)
    assert api.events() == before


@pytest.mark.parametrize("what,path,body,status,slug", RULES, ids=[r[0] for r in RULES])
def test_every_rule_is_refused_with_its_problem_type_and_records_nothing(
        memory_api: Api, what, path, body, status, slug):
    check_rule(memory_api, with_rules(memory_api), path, body, status, slug)


@pytest.mark.postgres
def test_every_rule_is_refused_the_same_over_uvicorn_on_postgresql(pg_api: Api):
    side = with_rules(pg_api)
    for _, path, body, status, slug in RULES:
        check_rule(pg_api, side, path, body, status, slug)


def test_a_reversal_is_refused_when_available_is_short_and_when_done_twice(
        api: Api, side: Side):
    big = api.post("/v1/funds/FA/donations", {
        "sponsor_id": side.sponsor, "amount": money("1000000"), "received_on": "2025-09-03",
        "method": "cash"}).json()["id"]
    assert api.post("/v1/funds/FA/allocations", {"name": "all",
                                                 "amount": money("6000000")}).status_code == 201
    before = api.events()
    assert_problem(api.post(f"/v1/funds/FA/donations/{big}/reverse", {"reason": "x"}),
                   409, "insufficient-available")
    assert api.post(f"/v1/funds/FA/donations/{side.donation}/reverse",
                    {"reason": "x"}).status_code == 201
    before = api.events()
    assert_problem(api.post(f"/v1/funds/FA/donations/{side.donation}/reverse",
                            {"reason": "x"}), 409, "already-reversed")
    assert api.events() == before


def test_a_closed_fund_takes_nothing_but_reads(api: Api):
    ruled = with_rules(api)
    before = api.events()
    assert_problem(api.post("/v1/funds/SHUT/donations", {
        "sponsor_id": ruled.sponsor, "amount": money("1"), "received_on": "2025-09-09",
        "method": "cash"}), 409, "fund-closed")
    assert_problem(api.post("/v1/funds/SHUT/allocations", {"name": "x",
                                                           "amount": money("1")}),
                   409, "fund-closed")
    assert api.events() == before
    assert api.get("/v1/funds/SHUT").json()["closed"] is True


def test_a_revoked_award_takes_no_disbursement_and_a_cancelled_pledge_no_donation(
        api: Api, side: Side):
    api.post(f"/v1/funds/FA/awards/{side.revocable_award}/revoke", {"reason": "left"})
    api.post(f"/v1/funds/FA/pledges/{side.pledge}/cancel", {"reason": "withdrawn"})
    before = api.events()
    assert_problem(api.post(f"/v1/funds/FA/awards/{side.revocable_award}/disbursements", {
        "amount": money("1"), "paid_on": "2025-09-09", "method": "cash"}), 409, "award-revoked")
    assert_problem(api.post("/v1/funds/FA/donations", {
        "sponsor_id": side.sponsor, "amount": money("1"), "received_on": "2025-09-09",
        "method": "cash", "pledge_id": side.pledge}), 409, "pledge-not-active")
    assert api.events() == before


def test_a_disbursement_beyond_cash_is_refused(api: Api):
    sponsor = api.sponsor("S")
    api.post("/v1/funds", {"code": "C", "name": "C"})
    api.post("/v1/funds/C/donations", {"sponsor_id": sponsor, "amount": money("1000"),
                                       "received_on": "2025-09-01", "method": "cash"})
    allocation = api.post("/v1/funds/C/allocations", {"name": "r", "amount": money("1000")})
    award = api.post("/v1/funds/C/awards", {
        "allocation_id": allocation.json()["id"], "recipient": {"name": "A", "school": "S"},
        "amount": money("1000")}).json()["id"]
    # the cash leaves by another route: a transfer out of what the allocation released
    api.post(f"/v1/funds/C/awards/{award}/disbursements", {
        "amount": money("1000"), "paid_on": "2025-09-02", "method": "cash"})
    before = api.events()
    assert_problem(api.post(f"/v1/funds/C/awards/{award}/disbursements", {
        "amount": money("1"), "paid_on": "2025-09-02", "method": "cash"}), 409,
        "exceeds-award-remainder")
    assert api.events() == before


def test_history_pages_by_seq_with_after_and_limit(api: Api, side: Side):
    page = api.get("/v1/funds/FA/events", params={"limit": 3}).json()
    assert [e["seq"] for e in page["events"]] == [1, 2, 3]
    assert page["next_after"] == 3
    rest = api.get("/v1/funds/FA/events", params={"after": 3, "limit": 1000}).json()
    assert rest["events"][0]["seq"] == 4 and rest["next_after"] is None
    assert rest["events"][0]["prev_hash"] == page["events"][-1]["hash"]


def test_every_write_records_the_user_as_its_actor(api: Api):
    api.add_user("Tran Van Minh", "treasurer")
    api.post("/v1/funds", {"code": "M", "name": "M"}, who="Tran Van Minh")
    events = api.get("/v1/funds/M/events").json()["events"]
    assert events[0]["actor"] == "Tran Van Minh"


@pytest.mark.postgres
def test_a_write_that_waits_too_long_for_the_table_lock_is_503_with_retry_after(pg_settings):
    import time

    import psycopg

    from api.app import create_app
    from test_api_support import TestClient, _with_users

    settings = pg_settings.model_copy(update={"lock_timeout_seconds": 1})
    app = create_app(settings)
    with TestClient(app) as client:
        api = _with_users(Api(client, app))
        sponsor = api.sponsor("Agribank")
        api.post("/v1/funds", {"code": "TT", "name": "Thien Tam"})
        api.post("/v1/funds/TT/donations", {
            "sponsor_id": sponsor, "amount": money("100"), "received_on": "2025-09-01",
            "method": "cash"})
        before = api.events()
        with psycopg.connect(settings.database_url, autocommit=False) as holder:
            holder.execute(f'LOCK TABLE "{settings.postgres_schema}".ledger_events '
                           "IN EXCLUSIVE MODE")  # reads pass, inserts wait
            started = time.monotonic()
            r = api.post("/v1/funds/TT/allocations", {"name": "x", "amount": money("1")})
            waited = time.monotonic() - started
            holder.rollback()
        assert_problem(r, 503, "unavailable")
        assert waited < 5  # one lock timeout of 1 s, not one per retry of the insert
        assert r.headers["retry-after"] == "1"
        assert api.events() == before
