"""The treasurer's forms through TestClient (memory): every write records what the API
would, a form sent twice records once, a form without the session's CSRF token records
nothing, and bad input re-shows the form with the reason beside the field, what was typed
kept, nothing recorded and never a 500. The donations import lists every bad row."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import pytest

from test_api_support import Api, Side, build_side
from test_import_files import csv_bytes, good_rows, seed
from test_web_support import Reader, field_error, inputs, reader_for, text

pytest_plugins = ["test_web_support"]


def figures(web: Api, code: str = "FA") -> dict[str, str]:
    return {k: v["amount"] for k, v in web.get(f"/v1/funds/{code}").json()["figures"].items()}


def recorded(r) -> str:
    """Where a recorded form sends the browser."""
    assert r.status_code == 303, text(r.text)[:2000]
    return r.headers["location"]


def test_a_fund_is_opened_and_a_sponsor_registered_from_their_forms(web: Api,
                                                                   treasurer: Reader):
    to = recorded(treasurer.submit("/web/funds/new", {
        "code": "THIEN-TAM", "name": "Thien Tam scholarship fund", "currency": "VND",
        "purpose": "pupils overcoming hardship", "restricted": "on"}))
    assert to == "/web/funds/THIEN-TAM?done=open_fund"
    page = text(treasurer.get(to).text)
    assert "Recorded: Open a fund" in page and "restricted" in page
    assert web.get("/v1/funds/THIEN-TAM").json()["restricted"] is True
    to = recorded(treasurer.submit("/web/sponsors/new", {
        "name": "Lê Thị Mai", "kind": "individual", "email": "mai@example.vn"}))
    sponsor_id = to.split("/")[3].split("?")[0]
    assert web.get(f"/v1/sponsors/{sponsor_id}").json()["name"] == "Lê Thị Mai"
    assert "Lê Thị Mai" in text(treasurer.get(to).text)


def test_a_donation_recorded_on_its_form_moves_the_figures_on_the_fund_page(
        web: Api, side: Side, treasurer: Reader):
    form = treasurer.form("/web/funds/FA/donations/new")
    assert form["currency"] == "VND" and form["method"] == "bank_transfer"
    to = recorded(treasurer.submit("/web/funds/FA/donations/new", {
        "sponsor_id": side.sponsor, "amount": "2500000", "received_on": "2025-10-01",
        "reference": "FT25274001", "pledge_id": side.pledge}))
    assert to == "/web/funds/FA?done=donation"
    assert figures(web)["received_total"] == "12600000"
    assert figures(web)["pledged_outstanding"] == "500000"
    page = text(treasurer.get(to).text)
    assert "Received (net) VND 12,600,000" in page and "FT25274001" in page


def test_a_foreign_gift_records_the_amount_given_and_the_amount_credited(
        web: Api, side: Side, treasurer: Reader):
    recorded(treasurer.submit("/web/funds/FA/donations/new", {
        "sponsor_id": side.sponsor, "amount": "120.50", "currency": "EUR",
        "credited": "3300000", "received_on": "2025-10-02"}))
    assert figures(web)["received_total"] == "13400000"
    page = text(treasurer.get(f"/web/sponsors/{side.sponsor}").text)
    assert "EUR 120.50" in page and "VND 3,300,000" in page


@pytest.mark.parametrize(("path", "values", "figure", "expected"), [
    ("allocations/new", {"name": "Tet round", "amount": "1000000"},
     "allocated_unspent", "5800000"),
    ("donations/new", {"amount": "700000", "received_on": "2025-10-01"},
     "received_total", "10800000"),
])
def test_a_form_sent_twice_records_once(web: Api, side: Side, treasurer: Reader, path: str,
                                        values: dict[str, str], figure: str, expected: str):
    path = f"/web/funds/FA/{path}"
    form = {**treasurer.form(path), "sponsor_id": side.sponsor, **values}
    first = treasurer.http.post(path, data=form, follow_redirects=False)
    events = web.events()
    again = treasurer.http.post(path, data=form, follow_redirects=False)
    assert recorded(first) == recorded(again)
    assert web.events() == events
    assert figures(web)[figure] == expected
    assert form["id"] != treasurer.form(path)["id"]


def test_a_form_sent_again_after_a_change_records_nothing_and_says_why(
        web: Api, side: Side, treasurer: Reader):
    form = {**treasurer.form("/web/funds/FA/allocations/new"),
            "name": "Tet round", "amount": "1000000"}
    recorded(treasurer.http.post("/web/funds/FA/allocations/new", data=form,
                                 follow_redirects=False))
    events = web.events()
    changed = treasurer.http.post("/web/funds/FA/allocations/new",
                                  data={**form, "amount": "2000000"})
    assert changed.status_code == 409
    assert "already recorded with other content" in text(changed.text)
    assert web.events() == events
    assert inputs(changed.text)["id"] != form["id"]


@pytest.mark.parametrize("csrf", [None, "", "0" * 64])
def test_a_form_without_the_sessions_csrf_token_records_nothing(
        web: Api, side: Side, treasurer: Reader, csrf: str | None):
    form = {**treasurer.form("/web/funds/FA/donations/new"), "sponsor_id": side.sponsor,
            "amount": "5000000", "received_on": "2025-10-01"}
    if csrf is None:
        del form["csrf"]
    else:
        form["csrf"] = csrf
    before = web.events()
    r = treasurer.http.post("/web/funds/FA/donations/new", data=form)
    assert r.status_code == 403
    assert "Nothing was recorded" in text(r.text)
    assert web.events() == before


def test_a_token_from_another_session_is_refused(web: Api, side: Side, treasurer: Reader):
    other = reader_for(web, "treasurer")
    form = {**other.form("/web/funds/FA/allocations/new"), "name": "x", "amount": "1"}
    before = web.events()
    assert treasurer.http.post("/web/funds/FA/allocations/new", data=form).status_code == 403
    assert web.events() == before


@pytest.mark.parametrize(("amount", "reason"), [
    ("1.500.000", "An amount is digits"),
    ("1,5", "An amount is digits"),
    ("-5", "An amount is digits"),
    ("١٢٣", "An amount is digits"),
    ("1e6", "An amount is digits"),
    ("0", "greater than zero"),
    ("1.5", "at most 0 decimal places"),
    ("10000000000000001", "at most 10^15"),
    ("", "Required"),
])
def test_a_bad_amount_is_shown_beside_the_field_with_what_was_typed_and_records_nothing(
        web: Api, side: Side, treasurer: Reader, amount: str, reason: str):
    before = web.events()
    r = treasurer.submit("/web/funds/FA/donations/new", {
        "sponsor_id": side.sponsor, "amount": amount, "received_on": "2025-10-01",
        "reference": "FT-kept"})
    assert r.status_code == 422, r.text
    assert reason in field_error(r.text, "amount")
    assert "Nothing was recorded" in text(r.text)
    kept = inputs(r.text)
    assert (kept["amount"], kept["reference"], kept["sponsor_id"]) == (
        amount, "FT-kept", side.sponsor)
    assert web.events() == before


def test_missing_and_malformed_fields_are_each_named(web: Api, side: Side,
                                                     treasurer: Reader):
    r = treasurer.submit("/web/funds/FA/donations/new", {
        "sponsor_id": "", "amount": "5", "received_on": "2025-02-30", "method": ""})
    assert r.status_code == 422
    assert field_error(r.text, "sponsor_id") and field_error(r.text, "method") == "Required."
    assert "not a date that exists" in field_error(r.text, "received_on")


def test_a_rule_of_the_ledger_is_shown_on_the_form_and_records_nothing(
        web: Api, side: Side, treasurer: Reader):
    before = web.events()
    r = treasurer.submit("/web/funds/FA/allocations/new", {"name": "too much",
                                                          "amount": "99000000"})
    assert r.status_code == 409
    assert "Amount exceeds available" in text(r.text)
    assert inputs(r.text)["amount"] == "99000000"
    r = treasurer.submit(f"/web/funds/FA/awards/{side.award}/disburse", {"amount": "900000"})
    assert r.status_code == 409 and "undisbursed remainder" in text(r.text)
    assert web.events() == before


def test_a_pledge_with_instalments_and_a_bad_instalment_line(web: Api, side: Side,
                                                             treasurer: Reader):
    bad = treasurer.submit("/web/funds/FA/pledges/new", {
        "sponsor_id": side.sponsor, "amount": "2000000",
        "schedule": "2025-09-15 1000000\n2025-13-01 1000000"})
    assert bad.status_code == 422
    assert field_error(bad.text, "schedule").startswith("line 2:")
    recorded(treasurer.submit("/web/funds/FA/pledges/new", {
        "sponsor_id": side.sponsor, "amount": "2000000",
        "schedule": "2025-09-15 1000000\n2026-02-15 1000000"}))
    assert figures(web)["pledged_outstanding"] == "5000000"


def test_the_award_cycle_from_its_forms(web: Api, side: Side, treasurer: Reader):
    form = treasurer.form("/web/funds/FA/awards/new")
    assert form == {**form, "allocation_id": ""}
    award_page = treasurer.get(f"/web/funds/FA/awards/new?allocation_id={side.allocation}")
    assert inputs(award_page.text)["allocation_id"] == side.allocation
    recorded(treasurer.submit("/web/funds/FA/awards/new", {
        "allocation_id": side.allocation, "recipient_name": "Alăng Thị Vy",
        "recipient_school": "Tay Giang Ethnic Boarding School", "recipient_grade": "9",
        "amount": "1500000"}))
    register = web.get("/v1/funds/FA").json()["counts"]
    assert register["awards"] == 3
    disburse = treasurer.get(f"/web/funds/FA/awards/{side.award}/disburse")
    assert "Nguyen Thi Lan" in text(disburse.text)  # the treasurer pays the right student
    recorded(treasurer.submit(f"/web/funds/FA/awards/{side.award}/disburse", {
        "amount": "300000", "paid_on": "2025-10-05", "reference": "UNC-1"}))
    recorded(treasurer.submit(f"/web/funds/FA/awards/{side.award}/return", {
        "amount": "100000", "returned_on": "2025-10-20", "reason": "moved school"}))
    recorded(treasurer.submit(f"/web/funds/FA/awards/{side.revocable_award}/revoke", {
        "reason": "left school"}))
    recorded(treasurer.submit(f"/web/funds/FA/allocations/{side.allocation}/release", {
        "amount": "100000", "reason": "round closed"}))
    # paid 300,000 and 100,000 back; 100,000 released from the allocation
    assert figures(web) == {**figures(web), "cash": "9700000", "allocated_unspent": "4400000",
                            "available": "5300000"}


def test_reversals_cancellations_transfers_and_closing_from_their_forms(
        web: Api, side: Side, treasurer: Reader):
    other = build_side(web, "BIDV Da Nang", "FB")
    recorded(treasurer.submit(f"/web/funds/FA/donations/{side.donation}/reverse", {
        "reason": "bounced"}))
    again = treasurer.submit(f"/web/funds/FA/donations/{side.donation}/reverse", {
        "reason": "bounced twice"})
    assert again.status_code == 409 and "already reversed" in text(again.text)
    recorded(treasurer.submit(f"/web/funds/FA/pledges/{side.pledge}/cancel",
                              {"reason": "withdrawn"}))
    to = recorded(treasurer.submit("/web/transfers/new?from_fund=FA", {
        "to_fund": "FB", "amount": "1000000", "reason": "joint Tet awards"}))
    assert to == "/web/funds/FA?done=transfer"
    assert figures(web)["available"] == "4000000"
    assert figures(web, "FB")["available"] == "6100000"
    refused = treasurer.submit(f"/web/funds/{other.fund}/close", {})
    assert refused.status_code == 409 and "still holds cash" in text(refused.text)


def test_an_unknown_id_on_a_form_is_not_found_and_a_forged_client_id_is_refused(
        web: Api, side: Side, treasurer: Reader):
    missing = uuid.uuid4()
    r = treasurer.submit(f"/web/funds/FA/donations/{missing}/reverse", {"reason": "x"})
    assert r.status_code == 404 and "No such donation" in text(r.text)
    form = {**treasurer.form("/web/funds/FA/allocations/new"), "name": "x", "amount": "1",
            "id": "not-a-uuid"}
    before = web.events()
    forged = treasurer.http.post("/web/funds/FA/allocations/new", data=form)
    assert forged.status_code == 422 and web.events() == before
    assert "The form is damaged" in text(forged.text)


@pytest.mark.parametrize("junk", ["\x00", "x" * 5000, "𝟙𝟚𝟛", "' OR 1=1 --", "<b>",
                                  "2025-09-01T00:00", "-1", "NaN"])
def test_no_junk_in_any_field_of_any_form_makes_a_500(web: Api, side: Side,
                                                      treasurer: Reader, junk: str):
    from api.web.writes import FORMS

    for template in FORMS:
        path = template.format(code="FA", pledge_id=side.pledge, donation_id=side.donation,
                               allocation_id=side.allocation, award_id=side.award)
        form = treasurer.form(path)
        for name in form:
            if name in ("csrf", "id"):
                continue
            r = treasurer.http.post(path, data={**form, name: junk}, follow_redirects=False)
            assert r.status_code < 500, (path, name, r.text)


# ---- the import page ----------------------------------------------------------------------


def upload(reader: Reader, content: bytes, name: str = "sept.csv", **values: str):
    form = reader.form("/web/imports/donations")
    return reader.http.post("/web/imports/donations", data={**form, **values},
                            files={"file": (name, content, "text/csv")})


def test_a_good_file_is_imported_then_recognised_when_sent_again(web: Api,
                                                                 treasurer: Reader):
    sponsor = seed(web.ledger)
    content = csv_bytes(good_rows(sponsor))
    first = upload(treasurer, content)
    assert first.status_code == 201, first.text
    shown = text(first.text)
    assert "The file was imported" in shown and "Recorded: 3" in shown
    events = web.events()
    second = upload(treasurer, content)
    assert second.status_code == 200
    assert "Recorded: 0" in text(second.text) and "Already present: 3" in text(second.text)
    assert web.events() == events


def test_a_bad_file_lists_every_bad_row_by_line_column_and_reason_and_records_nothing(
        web: Api, treasurer: Reader):
    sponsor = seed(web.ledger)
    rows = good_rows(sponsor)
    rows[0][4] = "1.5"
    rows[1][0] = "NOPE"
    rows[2][7] = "2025-02-30"
    before = web.events()
    r = upload(treasurer, csv_bytes(rows), dry_run="on")
    assert r.status_code == 422
    table = r.text[r.text.index('class="row-errors"'):]
    cells = [text(c) for c in table.split("<tr>")[2:]]
    assert [c.split(" ")[0] for c in cells] == ["2", "3", "4"]
    assert "amount" in cells[0] and "fund" in cells[1] and "received_on" in cells[2]
    assert "Nothing was recorded" in text(r.text)
    assert inputs(r.text)["dry_run"] == "on"
    assert web.events() == before


def test_an_import_without_a_file_or_with_a_bad_mapping_says_so(web: Api, treasurer: Reader):
    form = treasurer.form("/web/imports/donations")
    r = treasurer.http.post("/web/imports/donations", data=form,
                            files={"other": ("x", b"", "text/plain")})
    assert r.status_code == 422 and "Choose a file" in text(r.text)
    r = upload(treasurer, b"fund,amount\n", mapping="{not json")
    assert r.status_code == 422 and "mapping" in text(r.text).lower()
    r = treasurer.http.post("/web/imports/donations", data={"fund": "x"},
                            files={"file": ("a.csv", b"x", "text/csv")})
    assert r.status_code == 403


# ---- what is not UTF-8 --------------------------------------------------------------------


def multipart(fields: dict[str, bytes], boundary: str = "b0undary") -> tuple[bytes, dict]:
    """A multipart/form-data body of these fields, their bytes as they are."""
    parts = [b"--" + boundary.encode() + b'\r\nContent-Disposition: form-data; name="'
             + name.encode() + b'"\r\n\r\n' + value + b"\r\n" for name, value in fields.items()]
    body = b"".join(parts) + b"--" + boundary.encode() + b"--\r\n"
    return body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}


def donation_form(treasurer: Reader, side: Side) -> dict[str, str]:
    return {**treasurer.form("/web/funds/FA/donations/new"), "sponsor_id": side.sponsor,
            "amount": "700000", "received_on": "2025-10-01"}


def test_a_form_field_that_is_not_utf8_is_refused_and_records_nothing(
        web: Api, side: Side, treasurer: Reader):
    """Starlette would read it with replacement characters (urlencoded) or as Latin-1
    (multipart); the JSON API refuses such a body, and so do the pages."""
    form = donation_form(treasurer, side)
    del form["method"]
    before = web.events()
    urlencoded = urlencode(form).encode() + b"&method=%ED%A0%80"
    r = treasurer.http.post("/web/funds/FA/donations/new", content=urlencoded, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "method: is not UTF-8 text" in text(r.text) and "Nothing was recorded" in text(r.text)
    body, headers = multipart({**{k: v.encode() for k, v in form.items()},
                               "method": b"caf\xe9"})
    r = treasurer.http.post("/web/funds/FA/donations/new", content=body, headers=headers)
    assert r.status_code == 422 and "method: is not UTF-8 text" in text(r.text)
    raw_name = urlencode(form).encode() + b"&meth%FFod=cash"
    r = treasurer.http.post("/web/funds/FA/donations/new", content=raw_name, headers={
        "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 422 and "meth\ufffdod: is not UTF-8 text" in text(r.text)
    assert web.events() == before
    assert figures(web)["received_total"] == "10100000"


def test_utf8_text_is_recorded_as_sent_whatever_the_form_encoding(
        web: Api, side: Side, treasurer: Reader):
    # a replacement character the treasurer typed is text like any other
    form = {**donation_form(treasurer, side), "reference": "Chuyển khoản \ufffd"}
    recorded(treasurer.http.post("/web/funds/FA/donations/new", data=form,
                                 follow_redirects=False))
    body, headers = multipart({**{k: v.encode() for k, v in donation_form(
        treasurer, side).items()}, "reference": "Học bổng Đà Nẵng".encode()})
    recorded(treasurer.http.post("/web/funds/FA/donations/new", content=body,
                                 headers=headers, follow_redirects=False))
    references = {e["data"].get("reference") for e in web.get(
        "/v1/funds/FA/events?limit=1000").json()["events"]}
    assert {"Chuyển khoản \ufffd", "Học bổng Đà Nẵng"} <= references


def test_an_import_whose_mapping_is_not_utf8_is_refused(web: Api, treasurer: Reader):
    sponsor = seed(web.ledger)
    form = treasurer.form("/web/imports/donations")
    body, headers = multipart({"csrf": form["csrf"].encode(), "mapping": b'{"fund": "\xff"}'})
    boundary = headers["Content-Type"].split("=")[1].encode()
    body = body.removesuffix(b"--" + boundary + b"--\r\n") + (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="file"; '
        b'filename="sept.csv"\r\nContent-Type: text/csv\r\n\r\n'
        + csv_bytes(good_rows(sponsor)) + b"\r\n--" + boundary + b"--\r\n")
    before = web.events()
    r = treasurer.http.post("/web/imports/donations", content=body, headers=headers)
    assert r.status_code == 422 and "mapping: is not UTF-8 text" in text(r.text)
    assert web.events() == before
