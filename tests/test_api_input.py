"""The bad input catalogue: every malformed request is a 4xx problem and records nothing.

Amounts (negative, zero, extra decimals, 10^16, non-numeric, JSON numbers), currencies
(unknown, mismatched), dates that do not exist, bodies over 1 MiB (declared or chunked),
invalid JSON and UTF-8, out-of-range `limit`, and fields a client may not send.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from test_api_support import Api, Side, build_side, memory_api_running, money

pytest_plugins = ["test_api_support"]


@pytest.fixture(name="world", scope="module")
def _world() -> Iterator[tuple[Api, Side]]:
    """Sponsor A's fund FA with an object of every kind (shared: refusals change nothing)."""
    with memory_api_running() as api:
        yield api, build_side(api, "Vietcombank Da Nang", "FA")


def donation(side: Side, **changes: Any) -> dict[str, Any]:
    body = {"sponsor_id": side.sponsor, "amount": money("1000"), "received_on": "2025-09-09",
            "method": "bank_transfer"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def assert_refused(api: Api, r: httpx.Response, before: int, status: int | None = None) -> None:
    assert 400 <= r.status_code < 500, r.text
    if status is not None:
        assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == r.status_code and problem["type"].startswith("/problems/")
    assert api.events() == before


BAD_AMOUNTS = ["-1", "0", "0.0", "1.5", "10000000000000000", "1000000000000001", "abc", "",
               "1e5", "+1", "1,000", "1 000", " 1", "1.", ".5", "١٢٣", "１２", "0x10",
               1000, 1.5, -1, None, True, ["1000"], {"amount": "1"}]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=[repr(a) for a in BAD_AMOUNTS])
def test_a_malformed_or_out_of_range_amount_is_422_and_records_nothing(world, amount):
    api, side = world
    before = api.events()
    r = api.post("/v1/funds/FA/donations",
                 donation(side, amount={"amount": amount, "currency": "VND"}))
    assert_refused(api, r, before, 422)


@pytest.mark.parametrize("amount", ["1.001", "0.00", "1000000000000000.01"])
def test_decimals_beyond_the_currency_and_amounts_over_the_limit_are_422_in_euros(
        world, amount):
    api, side = world
    before = api.events()
    r = api.post("/v1/funds/FA/donations", donation(
        side, amount={"amount": amount, "currency": "EUR"}, credited=money("1000")))
    assert_refused(api, r, before, 422)


@pytest.mark.parametrize("currency", ["XXX", "vnd", "", "VNDD", 704, None, "€"])
def test_an_unknown_currency_is_422(world, currency):
    api, side = world
    before = api.events()
    r = api.post("/v1/funds/FA/donations",
                 donation(side, amount={"amount": "1000", "currency": currency}))
    assert_refused(api, r, before, 422)


def test_a_currency_other_than_the_funds_is_409_currency_mismatch(world):
    api, side = world
    before = api.events()
    r = api.post("/v1/funds/FA/allocations", {"name": "x", "amount": money("10.00", "USD")})
    assert_refused(api, r, before, 409)
    assert r.json()["type"] == "/problems/currency-mismatch"
    r = api.post("/v1/funds/FA/donations", donation(side, amount=money("10", "EUR"),
                                                    credited=money("10.00", "USD")))
    assert_refused(api, r, before, 409)


BAD_DATES = ["2025-02-29", "2025-02-30", "2025-13-01", "2025-00-10", "2025-1-1", "20250101",
             "2025/01/01", "01-01-2025", "2025-01-01T00:00:00", "２０２５-01-01", "", 20250101,
             None, "0001-01-01", "1899-12-31", "3000-01-01", "9999-12-31"]  # out of range too


@pytest.mark.parametrize("day", BAD_DATES, ids=[repr(d) for d in BAD_DATES])
def test_a_date_that_does_not_exist_or_is_not_yyyy_mm_dd_is_422(world, day):
    api, side = world
    before = api.events()
    assert_refused(api, api.post("/v1/funds/FA/donations", donation(side, received_on=day)),
                   before, 422)
    if day is not None:  # an optional date may be null: the default, today
        assert_refused(api, api.post("/v1/funds/FA/allocations", {
            "name": "x", "amount": money("1"), "allocated_on": day}), before, 422)


def test_the_first_and_last_effective_dates_the_ledger_keeps_are_taken(world):
    api, side = world
    assert api.post("/v1/funds", {"code": "DATES", "name": "Dates"}).status_code == 201
    for day in ("1900-01-01", "2999-12-31"):
        r = api.post("/v1/funds/DATES/donations", donation(side, received_on=day))
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("field,value", [
    ("actor", "someone else"), ("balance", "999"), ("seq", 1), ("hash", "0" * 64),
    ("credited_minor", 5), ("created", True),
])
def test_a_field_the_client_may_not_send_is_422(world, field, value):
    api, side = world
    before = api.events()
    assert_refused(api, api.post("/v1/funds/FA/donations", donation(side, **{field: value})),
                   before, 422)


def test_unknown_fields_inside_nested_objects_are_422(world):
    api, side = world
    before = api.events()
    r = api.post("/v1/funds/FA/donations", donation(
        side, amount={"amount": "1", "currency": "VND", "minor": 1}))
    assert_refused(api, r, before, 422)
    r = api.post("/v1/funds/FA/awards", {
        "allocation_id": side.allocation, "amount": money("1"),
        "recipient": {"name": "A", "school": "S", "phone": "0905"}})
    assert_refused(api, r, before, 422)


@pytest.mark.parametrize("field,value", [
    ("method", ""), ("method", "   "), ("method", "x" * 65), ("method", "cash\x00"),
    ("method", "a\u0085b"), ("method", "a\u2028b"), ("reference", "FT\u202e1"),
    ("reference", "r" * 141), ("sponsor_id", "not-a-uuid"), ("sponsor_id", 5),
    ("pledge_id", "x"), ("received_on", ...), ("method", ...), ("sponsor_id", ...),
])
def test_missing_blank_too_long_or_malformed_fields_are_422(world, field, value):
    api, side = world
    before = api.events()
    assert_refused(api, api.post("/v1/funds/FA/donations", donation(side, **{field: value})),
                   before, 422)


@pytest.mark.parametrize("restricted", ["yes", "true", 1, 0, "on", None])
def test_restricted_is_true_or_false_and_nothing_else(world, restricted):
    api, _ = world
    before = api.events()
    assert_refused(api, api.post("/v1/funds", {"code": "RX", "name": "Restricted?",
                                               "restricted": restricted}), before, 422)


@pytest.mark.parametrize("body", [
    b"{", b"{'a': 1}", b"[]", b"null", b"1", b'"text"', b"", b'{"a":1}{"b":2}',
    b"\xff\xfe\x00", b'{"method": "\xe9"}', b"[" * 100_000 + b"]" * 100_000,
    b'{"amount": NaN}', b'{"amount": {"amount": Infinity, "currency": "VND"}}',
])
def test_a_body_that_is_not_a_json_object_in_utf8_is_refused(world, body: bytes):
    api, _ = world
    before = api.events()
    r = api.http.post("/v1/funds/FA/donations", content=body,
                      headers={**api.auth("treasurer"), "content-type": "application/json"})
    assert_refused(api, r, before)


@pytest.mark.parametrize("media_type", [
    "text/plain", None, "application/x-www-form-urlencoded", "multipart/form-data",
    "application/jsonx", "text/json", "<script>/x",
])
def test_a_json_body_sent_as_another_media_type_or_none_is_415(world, media_type):
    api, side = world
    before = api.events()
    headers = api.auth("treasurer")
    if media_type is not None:
        headers["content-type"] = media_type
    r = api.http.post("/v1/funds/FA/donations", content=json.dumps(donation(side)),
                      headers=headers)
    assert_refused(api, r, before, 415)
    problem = r.json()
    assert problem["type"] == "/problems/unsupported-media-type"
    assert "application/json" in problem["detail"]
    assert "<script>" not in problem["detail"]  # a media type is named only if it is one


@pytest.mark.parametrize("media_type", [
    "application/json; charset=utf-8", "Application/JSON", "application/vnd.ledger+json"])
def test_json_is_taken_under_any_json_media_type(memory_api, media_type):
    name = f"Sponsor sending {media_type}"
    r = memory_api.http.post(
        "/v1/sponsors", content=json.dumps({"name": name, "kind": "organization"}),
        headers={**memory_api.auth("treasurer"), "content-type": media_type})
    assert r.status_code == 201, r.text
    assert memory_api.get(f"/v1/sponsors/{r.json()['id']}").json()["name"] == name


def test_a_request_without_a_body_is_422_whatever_its_media_type(world):
    api, _ = world
    before = api.events()
    r = api.http.post("/v1/funds/FA/donations", headers=api.auth("treasurer"))
    assert_refused(api, r, before, 422)


def test_an_import_sent_as_json_is_415_naming_a_form(world):
    api, _ = world
    before = api.events()
    r = api.http.post("/v1/imports/donations", content=b'{"file": "a,b"}', headers={
        **api.auth("treasurer"), "content-type": "application/json"})
    assert_refused(api, r, before, 415)
    assert "multipart/form-data" in r.json()["detail"]


def test_a_body_over_one_mebibyte_is_413_whether_declared_or_chunked(world):
    api, side = world
    before = api.events()
    big = json.dumps(donation(side, reference="r" * (2 * 1024 * 1024))).encode()
    headers = {**api.auth("treasurer"), "content-type": "application/json"}
    assert_refused(api, api.http.post("/v1/funds/FA/donations", content=big, headers=headers),
                   before, 413)

    def chunks():
        for i in range(0, len(big), 64 * 1024):
            yield big[i:i + 64 * 1024]

    # a generator body is sent chunked, with no Content-Length to trust
    r = api.http.post("/v1/funds/FA/donations", content=chunks(), headers=headers)
    assert_refused(api, r, before, 413)


def test_a_body_just_under_one_mebibyte_is_read(world):
    api, side = world
    body = json.dumps(donation(side, reference="r" * 100)).encode()
    padded = body[:-1] + b" " * (1024 * 1024 - len(body)) + b"}"
    assert len(padded) == 1024 * 1024
    r = api.http.post("/v1/funds/FA/donations", content=padded,
                      headers={**api.auth("treasurer"), "content-type": "application/json"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("query", [
    {"limit": 0}, {"limit": 1001}, {"limit": 10**30}, {"limit": -1}, {"limit": "ten"},
    {"limit": 1.5}, {"after": -1}, {"after": 10**30}, {"after": "x"},
])
def test_limit_outside_1_to_1000_and_a_bad_after_are_422(world, query):
    api, _ = world
    before = api.events()
    assert_refused(api, api.get("/v1/funds/FA/events", params=query), before, 422)


def test_an_unknown_route_and_a_wrong_method_are_problems(world):
    api, _ = world
    r = api.get("/v1/nothing")
    assert r.status_code == 404 and r.headers["content-type"].startswith(
        "application/problem+json")
    r = api.http.delete("/v1/funds/FA", headers=api.auth("treasurer"))
    assert r.status_code == 405 and r.json()["type"] == "/problems/method-not-allowed"


def test_a_malformed_id_in_the_path_is_422_and_a_well_formed_unknown_one_404(world):
    api, _ = world
    before = api.events()
    assert_refused(api, api.post("/v1/funds/FA/pledges/not-a-uuid/cancel", {"reason": "r"}),
                   before, 422)
    assert_refused(api, api.get("/v1/sponsors/123"), before, 422)


@pytest.mark.postgres
def test_a_body_over_one_mebibyte_is_413_over_a_real_socket_declared_or_chunked(pg_api: Api):
    before = pg_api.events()
    big = b'{"name": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    headers = {**pg_api.auth("treasurer"), "content-type": "application/json"}

    def chunks():
        for i in range(0, len(big), 64 * 1024):
            yield big[i:i + 64 * 1024]

    for content in (big, chunks()):
        r = pg_api.http.post("/v1/sponsors", content=content, headers=headers)
        assert_refused(pg_api, r, before, 413)
    assert pg_api.http.get("/healthz").status_code == 200


@pytest.mark.parametrize(("body", "reason"), [
    (b'{"method": "cash", "method": "bank_transfer"}', "an object repeats 'method'"),
    (b'{"amount": {"amount": "1", "currency": "VND", "currency": "EUR"}}',
     "an object repeats 'currency'"),
    ('{"Nguyễn Văn A": 1, "Nguyễn Văn A": 2}'.encode(), "an object repeats a key"),
])
def test_a_body_that_repeats_a_key_is_422_naming_only_a_field_name(world, body, reason):
    """JSON readers disagree on which of two repeated keys counts: such a body is refused,
    and the reason names the key only if it looks like a field name (no personal data)."""
    api, _ = world
    before = api.events()
    r = api.http.post("/v1/funds/FA/donations", content=body,
                      headers={**api.auth("treasurer"), "content-type": "application/json"})
    assert_refused(api, r, before, 422)
    problem = r.json()
    assert problem["errors"][0]["type"] == "json_invalid"
    assert reason in problem["errors"][0]["msg"] and reason in problem["detail"]
    assert "Nguyễn" not in r.text



@pytest.mark.parametrize(("path", "query"), [
    ("/v1/funds/FA/balance", {"as_of": ""}),
    ("/v1/funds/FA/balance", {"as_of": "2025-02-30"}),
    ("/v1/funds/FA/balance", {"as_of": "1/9/2025"}),
    ("/v1/funds/FA/balance", {"known_at": "2025-09-01T00:00:00"}),  # no offset
    ("/v1/funds/FA/balance", {"known_at": "yesterday"}),
    ("/v1/funds/FA/balance", {"known_at": "2025-09-01T00:00:00+07:00" + " " * 64}),
    ("/v1/audit/verify", {"since": " ledger-digest:v1:1:" + "0" * 64 + ":2025-09-01T00:00:00+00:00"}),
    ("/v1/audit/verify", {"since": "ledger-digest:v1:1:" + "0" * 64 + ":later"}),
])
def test_a_malformed_date_time_or_digest_in_a_query_is_422(world, path, query):
    api, _ = world
    before = api.events()
    assert_refused(api, api.get(path, who="auditor", params=query), before, 422)


def test_a_malformed_statement_period_is_422_and_dates_are_documented_as_such(world):
    api, side = world
    before = api.events()
    for query in ({"from": "2025-13-01"}, {"to": "2025-09-31"}, {"from": ""}):
        r = api.get(f"/v1/sponsors/{side.sponsor}/statement", params=query)
        assert_refused(api, r, before, 422)
    parameters = {
        (path, p["name"]): p["schema"]
        for path, operations in api.http.get("/openapi.json").json()["paths"].items()
        for operation in operations.values() for p in operation.get("parameters", ())
    }
    for name in ("as_of", "from", "to"):
        path = ("/v1/funds/{code}/balance" if name == "as_of"
                else "/v1/sponsors/{sponsor_id}/statement")
        assert {"format": "date"}.items() <= _schema_of(parameters[path, name]).items()
    assert _schema_of(parameters["/v1/funds/{code}/balance", "known_at"])["format"] == "date-time"
    assert _schema_of(parameters["/v1/audit/verify", "since"])["pattern"].startswith(
        "^ledger-digest:v1:")


def _schema_of(parameter: dict[str, Any]) -> dict[str, Any]:
    """The schema of an optional parameter (FastAPI writes `anyOf: [it, null]`)."""
    return next((s for s in parameter.get("anyOf", ()) if s.get("type") != "null"), parameter)


def test_the_documented_text_and_date_patterns_are_the_ledgers_rules():
    """The schema's patterns say what the domain accepts (schemathesis sends what they
    allow and expects it taken): control characters, C1 and bidirectional overrides
    included, and the effective dates' years."""
    import re as python_re

    from api.models import EFFECTIVE_DATE_PATTERN, OPTIONAL_TEXT_PATTERN, TEXT_PATTERN
    from ledger.domain import values
    from ledger.domain.errors import InvalidInput

    for sample in ["Nguyễn Thị Lan", "a\tb", "\x85", "\x9f", "a\u202eb", "\u2066", "\x7f",
                   "\x00", " ", "line\nbreak", "ok\u2067"]:
        for pattern, required in ((TEXT_PATTERN, True), (OPTIONAL_TEXT_PATTERN, False)):
            try:
                values.text("f", sample, max_len=100, required=required)
                taken = True
            except InvalidInput:
                taken = False
            assert bool(python_re.fullmatch(pattern, sample)) == taken, (repr(sample), required)
    for day, taken in [("1899-12-31", False), ("1900-01-01", True), ("2999-12-31", True),
                       ("3000-01-01", False), ("0001-01-01", False)]:
        assert bool(python_re.fullmatch(EFFECTIVE_DATE_PATTERN, day)) == taken, day
        assert (values.EARLIEST_DATE <= date.fromisoformat(day) <= values.LATEST_DATE) == taken


@pytest.mark.parametrize(("path", "query", "named"), [
    ("/v1/funds/FA/balance", "as-of=2025-09-01", "'as-of'; it takes as_of, known_at"),
    ("/v1/funds/FA/events", "limit=5&limit=500", "'limit' more than once"),
    ("/v1/funds/FA/events", "_=1700000000", "'_'; it takes after, limit"),
    ("/v1/funds", "code=FA", "'code'; it takes no query parameters"),
    ("/v1/funds/FA/events", "%C2%89=1", "no such query parameter"),
])
def test_a_query_parameter_the_route_does_not_take_or_repeats_is_422(world, path, query, named):
    """A mistyped parameter would be ignored, and an auditor shown today's figures as the
    ones asked for."""
    api, _ = world
    before = api.events()
    r = api.get(f"{path}?{query}", who="auditor")
    assert_refused(api, r, before, 422)
    assert named in r.json()["detail"]


def test_a_write_with_a_query_parameter_is_422_and_records_nothing(world):
    api, side = world
    before = api.events()
    r = api.post("/v1/funds/FA/donations?dry_run=true", donation(side))
    assert_refused(api, r, before, 422)


@pytest.mark.parametrize("email", ["a@b@c", "lan@vcb.vn ", "lan\t@vcb.vn", "lan@vcb.vn\u00a0",
                                   "lan@vcb.vn\ufeff", "@vcb.vn", "lan@", "lan\u0085@vcb.vn"])
def test_an_email_with_whitespace_control_characters_or_not_one_at_is_422(world, email):
    api, _ = world
    before = api.events()
    r = api.post("/v1/sponsors", {"name": "Tran Van Lan", "kind": "individual", "email": email})
    assert_refused(api, r, before, 422)


def test_an_email_in_vietnamese_letters_is_taken(memory_api):
    r = memory_api.post("/v1/sponsors", {"name": "Trần Văn Lân", "kind": "individual",
                                         "email": "lân@trường.vn"})
    assert r.status_code == 201, r.text
