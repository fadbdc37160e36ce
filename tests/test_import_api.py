"""`POST /v1/imports/donations` through TestClient (memory) and a real uvicorn (PostgreSQL):
a good file recorded then recognised, a bad file refused whole as problem+json with every
error, and the treasurer role required."""

from __future__ import annotations

import json

from test_api_support import _api, _memory_api, _pg_api  # noqa: F401  (fixtures)
from test_import_files import csv_bytes, donations, good_rows, seed, write_xlsx

PATH = "/v1/imports/donations"
CSV = "text/csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(api, content: bytes, name: str = "sept.csv", kind: str = CSV, who="treasurer",
           **form):
    return api.http.post(PATH, files={"file": (name, content, kind)}, data=form,
                         headers=api.auth(who))


def test_a_good_file_is_recorded_then_a_second_upload_records_nothing(api):
    sponsor = seed(api.ledger)
    content = csv_bytes(good_rows(sponsor))
    first = upload(api, content)
    assert first.status_code == 201, first.text
    assert first.json() == {"rows": 3, "new": 3, "recorded": 3, "already_present": 0,
                            "sponsors_registered": 2, "dry_run": False}
    before = api.events()
    second = upload(api, content)
    assert second.status_code == 200
    assert (second.json()["recorded"], second.json()["already_present"]) == (0, 3)
    assert api.events() == before
    fund = api.get("/v1/funds/TT")
    assert fund.status_code == 200, fund.text


def test_a_good_xlsx_upload_with_a_fund_and_a_mapping_is_recorded(api, tmp_path):
    sponsor = seed(api.ledger)
    path = write_xlsx(tmp_path / "s.xlsx", [[str(sponsor), 1500000, "FT1", "2025-09-01"]],
                      ["Sponsor", "Credit", "Ref", "Value date"])
    mapping = {"columns": {"sponsor_id": "Sponsor", "amount": "Credit", "reference": "Ref",
                           "received_on": "Value date"},
               "defaults": {"currency": "VND", "method": "bank_transfer"}}
    r = upload(api, path.read_bytes(), "s.xlsx", XLSX, fund="TT", mapping=json.dumps(mapping))
    assert r.status_code == 201, r.text
    assert [e.amount_minor for e in donations(api.ledger, "TT")] == [1500000]


def test_a_bad_file_is_refused_whole_as_a_problem_listing_every_error(api):
    sponsor = seed(api.ledger)
    rows = good_rows(sponsor)
    rows[0][4] = "1.5"                 # VND has no decimals
    rows[1][0] = "NOPE"                # unknown fund
    rows[2][9] = "=cmd|' /C calc'!A0"  # a formula
    before = api.events()
    r = upload(api, csv_bytes(rows))
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["type"].endswith("/import-refused") and body["status"] == 422
    assert body["error_count"] == 3
    assert [(e["line"], e["column"]) for e in body["errors"]] == [
        (2, "amount"), (3, "fund"), (4, "reference")]
    assert all(e["reason"] for e in body["errors"])
    assert api.events() == before


def test_a_dry_run_upload_checks_and_records_nothing(api):
    sponsor = seed(api.ledger)
    before = api.events()
    r = upload(api, csv_bytes(good_rows(sponsor)), dry_run="true")
    assert r.status_code == 200, r.text
    assert (r.json()["new"], r.json()["recorded"], r.json()["dry_run"]) == (3, 0, True)
    assert api.events() == before


def test_a_malformed_mapping_is_a_problem_not_an_error(api):
    sponsor = seed(api.ledger)
    r = upload(api, csv_bytes(good_rows(sponsor)), mapping='{"columns": {"amonut": "x"}}')
    assert r.status_code == 422
    assert "amonut" in r.json()["detail"]


def test_only_a_treasurer_may_import(api):
    sponsor = seed(api.ledger)
    r = upload(api, csv_bytes(good_rows(sponsor)), who="auditor")
    assert r.status_code == 403
    assert api.ledger.figures("TT")["received_total"].minor == 0
