"""GET /v1/funds/{code}/balance and GET /v1/audit/verify through TestClient (memory) and a
real uvicorn (PostgreSQL): roles, figures as money objects, backdating, and problems."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from test_api_support import Api, money

pytest_plugins = ["test_api_support"]

PROBLEM = "application/problem+json"


def world(api: Api) -> tuple[str, str]:
    """Fund AU with a gift on 20 June and a backdated one (28 June) recorded later;
    answers the recorded time of the first."""
    assert api.post("/v1/funds", {"code": "AU", "name": "Audit fund",
                                  "opened_on": "2025-06-01"}).status_code == 201
    sponsor = api.sponsor("BIDV")
    first = api.post("/v1/funds/AU/donations", {
        "sponsor_id": sponsor, "amount": money("5000000"), "received_on": "2025-06-20",
        "method": "bank"})
    assert first.status_code == 201, first.text
    later = api.post("/v1/funds/AU/donations", {
        "sponsor_id": sponsor, "amount": money("2000000"), "received_on": "2025-06-28",
        "method": "bank"})
    assert later.status_code == 201, later.text
    return first.json()["recorded_at"], later.json()["recorded_at"]


def test_the_balance_is_replayed_by_effective_date_as_known_at_a_time(api: Api):
    first, later = world(api)
    now = api.get("/v1/funds/AU/balance?as_of=2025-06-30", who="auditor")
    assert now.status_code == 200, now.text
    body = now.json()
    assert body["figures"]["cash"] == money("7000000")
    assert body["figures"]["received_total"] == money("7000000")
    assert (body["fund"], body["currency"], body["as_of"], body["seq"]) == (
        "AU", "VND", "2025-06-30", 3)
    known = api.get("/v1/funds/AU/balance", params={"as_of": "2025-06-30", "known_at": first})
    assert known.json()["figures"]["cash"] == money("5000000")
    before = api.get("/v1/funds/AU/balance", params={"as_of": "2025-06-25"})
    assert before.json()["figures"]["available"] == money("5000000")


@pytest.mark.parametrize("query", [
    {"as_of": "2025-13-01"}, {"as_of": "30/06/2025"}, {"as_of": "2025-6-1"},
    {"known_at": "2025-06-30T17:00:00"}, {"known_at": "yesterday"}, {"known_at": "1751300000"},
])
def test_a_bad_date_or_a_time_without_offset_is_a_422_problem(memory_api: Api, query):
    world(memory_api)
    r = memory_api.get("/v1/funds/AU/balance", params=query, who="auditor")
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)


def test_an_unknown_fund_or_one_not_yet_known_is_404(memory_api: Api):
    first, _ = world(memory_api)
    assert memory_api.get("/v1/funds/NOPE/balance").status_code == 404
    earlier = (datetime.fromisoformat(first) - timedelta(days=1)).isoformat()
    r = memory_api.get("/v1/funds/AU/balance", params={"known_at": earlier})
    assert r.status_code == 404 and r.headers["content-type"].startswith(PROBLEM)


def test_verify_is_for_auditors_and_reports_a_clean_ledger(api: Api):
    world(api)
    assert api.get("/v1/audit/verify", who="treasurer").status_code == 403
    assert api.get("/v1/audit/verify", who="nobody").status_code == 401
    r = api.get("/v1/audit/verify", who="auditor")
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["ok"], body["funds"], body["events"], body["problems"]) == (True, 1, 3, [])
    kept = body["digest"]["digest"]
    again = api.get("/v1/audit/verify", params={"since": kept}, who="auditor").json()
    assert again["ok"] is True


def test_verify_names_the_fund_and_seq_of_a_problem(memory_api: Api):
    world(memory_api)
    kept = memory_api.get("/v1/audit/verify", who="auditor").json()["digest"]
    forged = dict(kept, size=kept["size"] + 1)
    text = f"ledger-digest:v1:{forged['size']}:{forged['root']}:{forged['at']}"
    body = memory_api.get("/v1/audit/verify", params={"since": text}, who="auditor").json()
    assert body["ok"] is False and body["problems"][0]["fund"] is None
    bad = memory_api.get("/v1/audit/verify", params={"since": "x"}, who="auditor")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
    # a size of more digits than Python converts (and than any ledger holds)
    huge = f"ledger-digest:v1:{'9' * 5000}:{kept['root']}:{kept['at']}"
    bad = memory_api.get("/v1/audit/verify", params={"since": huge}, who="auditor")
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
