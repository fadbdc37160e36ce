"""GET /v1/sponsors/{id}/statement through TestClient (memory) and a real uvicorn
(PostgreSQL): a sponsor key gets its own statement in every format and 404 for any other;
treasurers and auditors read any; bad input is a problem, never a 500."""

from __future__ import annotations

import csv
import io
from datetime import date
from uuid import UUID

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from ledger.domain.money import Money
from ledger.statements.build import build_statement
from test_api_support import Api

pytest_plugins = ["test_api_support"]

PROBLEM = "application/problem+json"
PERIOD = {"from": "2025-01-01", "to": "2025-12-31"}


@pytest.fixture(name="world")
def _world(api: Api) -> tuple[str, str]:
    """Two sponsors of one fund, a pledge, gifts and an award; a key for the first."""
    ledger = api.ledger
    ledger.open_fund("TT", "Quỹ Thiện Tâm", actor="t", opened_on=date(2025, 1, 1))
    mine = UUID(api.sponsor("Trần Văn Hùng"))
    other = UUID(api.sponsor("Công ty Sông Hàn"))
    vnd = Money(4_000_000, "VND")
    pledge = UUID(ledger.make_pledge("TT", mine, Money(8_000_000, "VND"),
                                     [(date(2025, 3, 1), vnd), (date(2025, 9, 1), vnd)],
                                     actor="t", pledged_on=date(2025, 2, 1)).result["id"])
    ledger.record_donation("TT", mine, vnd, received_on=date(2025, 2, 20), method="bank_transfer",
                           pledge_id=pledge, actor="t")
    ledger.record_donation("TT", other, Money(9_000_000, "VND"), received_on=date(2025, 2, 21),
                           method="cash", actor="t")
    round_ = UUID(ledger.allocate("TT", "Đợt 1", Money(5_000_000, "VND"), actor="t",
                                  allocated_on=date(2025, 3, 1)).result["id"])
    ledger.grant_award("TT", round_, {"name": "Nguyễn Thị Lan", "school": "THPT Lê Quý Đôn",
                                      "category": "nghèo vượt khó"},
                       Money(2_000_000, "VND"), actor="t", granted_on=date(2025, 3, 5))
    api.add_user("hung", "sponsor", str(mine))
    return str(mine), str(other)


def statement_path(sponsor: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in {**PERIOD, **params}.items())
    return f"/v1/sponsors/{sponsor}/statement?{query}"


def assert_problem(r, status: int, slug: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    assert r.json()["type"] == f"/problems/{slug}"


def test_a_sponsor_key_gets_its_own_statement_as_json(api, world):
    mine, _ = world
    r = api.get(statement_path(mine), who="hung")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["sponsor"]["name"] == "Trần Văn Hùng"
    assert body["period"] == PERIOD
    (fund,) = body["funds"]
    assert fund["totals"]["received"] == {"amount": "4000000", "currency": "VND"}
    assert fund["totals"]["closing_outstanding"] == {"amount": "4000000", "currency": "VND"}
    assert fund["pledges"][0]["schedule"][1]["overdue"] is True
    assert fund["activity"]["awards"][0]["initials"] == "N.T.L."
    assert "Nguyễn Thị Lan" not in r.text
    # the same totals as the statement built from the events directly
    direct = build_statement(api.ledger, UUID(mine), date(2025, 1, 1), date(2025, 12, 31))
    assert fund["totals"] == direct.funds[0].totals.model_dump(mode="json")
    assert fund["digest"] == direct.funds[0].digest.model_dump(mode="json")


def test_a_sponsor_key_gets_404_for_any_other_sponsor_exactly_as_for_a_missing_one(api, world):
    _, other = world
    for sponsor in (other, str(UUID(int=99))):
        for fmt in ("json", "pdf"):
            r = api.get(statement_path(sponsor, format=fmt), who="hung")
            assert_problem(r, 404, "sponsor-not-found")
            assert "Công ty" not in r.text


def test_treasurers_and_auditors_read_any_sponsors_statement(api, world):
    _, other = world
    api.add_user("aud", "auditor")
    for who in ("treasurer", "aud"):
        r = api.get(statement_path(other), who=who)
        assert r.status_code == 200 and r.json()["sponsor"]["name"] == "Công ty Sông Hàn"


def test_no_key_is_401_and_an_admin_key_is_403(api, world):
    mine, _ = world
    assert_problem(api.get(statement_path(mine), who="nobody"), 401, "unauthenticated")
    assert_problem(api.get(statement_path(mine), who="admin"), 403, "forbidden")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_file_format_comes_with_its_media_type_and_a_file_name(api, world, lang):
    mine, _ = world
    r = api.get(statement_path(mine, format="csv", lang=lang), who="hung")
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert ["", "Nhà tài trợ" if lang == "vi" else "Sponsor", "", "Trần Văn Hùng"] == rows[1][:4]
    assert 'filename="statement_tran-van-hung_2025-01-01_2025-12-31_' in (
        r.headers["content-disposition"])
    r = api.get(statement_path(mine, format="xlsx", lang=lang), who="hung")
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames[1] == "TT"
    r = api.get(statement_path(mine, format="pdf", lang=lang), who="hung")
    assert r.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert "Trần Văn Hùng" in text and "Hội Khuyến học thành phố Đà Nẵng".upper() in text.upper()
    assert ("4.000.000 ₫" if lang == "vi" else "VND 4,000,000") in text


@pytest.mark.parametrize("query,field", [
    ({"from": "2025-13-01"}, "from"),
    ({"from": "01/02/2025"}, "from"),
    ({"to": "2025-02-30"}, "to"),
    ({"from": "2025-06-01", "to": "2025-01-01"}, "from"),
    ({"format": "docx"}, "format"),
    ({"lang": "fr"}, "lang"),
])
def test_a_malformed_period_format_or_language_is_422(api, world, query, field):
    mine, _ = world
    path = f"/v1/sponsors/{mine}/statement?" + "&".join(f"{k}={v}" for k, v in query.items())
    r = api.get(path)
    assert_problem(r, 422, "invalid-input")
    assert field in r.json()["detail"]


def test_a_missing_sponsor_is_404_for_the_treasurer_too(api, world):
    assert_problem(api.get(statement_path(str(UUID(int=3)))), 404, "sponsor-not-found")
    assert_problem(api.get("/v1/sponsors/not-a-uuid/statement"), 422, "invalid-input")


def test_the_openapi_schema_documents_the_statement_and_its_money(api):
    schema = api.http.get("/openapi.json").json()
    operation = schema["paths"]["/v1/sponsors/{sponsor_id}/statement"]["get"]
    content = operation["responses"]["200"]["content"]
    assert set(content) == {"application/json", "text/csv; charset=utf-8", "application/pdf",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
    components = schema["components"]["schemas"]
    assert components["Gift"]["properties"]["credited"]["properties"]["amount"]["type"] == "string"
    assert {"from", "to"} <= set(components["Period"]["properties"])
    params = {p["name"] for p in operation["parameters"]}
    assert {"from", "to", "format", "lang"} <= params
