"""Statement files: the CSV parses back to the same lines and totals and cannot inject a
formula; the workbook holds the same exact numbers; the PDF's text carries the sponsor's
name and amounts with their Vietnamese diacritics, and its page is not blank; no format
ever shows a student's full name."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from ledger.application import Ledger
from ledger.demo import load_demo
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.settings import Settings
from ledger.statements.csvfile import BOM, neutralise
from ledger.statements.formatting import LANGS, Lang
from ledger.statements.labels import ASSOCIATION, label, section_keys
from ledger.statements.lines import COLUMNS, Line, statement_lines
from ledger.statements.model import Statement
from ledger.statements.render import file_name, render
from ledger.statements.formatting import money as format_money
from ledger.statements.xlsxfile import EXCEL_DIGITS, excel_value
from ledger.storage import open_ledger
from test_statements_support import STUDENTS, random_history, statements_for

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SCHOOL_YEAR = (date(2024, 9, 1), date(2025, 8, 31))
AMOUNTS = ("amount", "paid", "outstanding", "overdue", "returned")


@pytest.fixture(name="demo", scope="module")
def _demo() -> tuple[Ledger, list[Statement]]:
    """The demo year and every sponsor's statement for the school year."""
    app = open_ledger(Settings(database_url="memory:"))
    load_demo(app)
    return app, statements_for(app, *SCHOOL_YEAR)


@pytest.fixture(name="random_statements", scope="module")
def _random_statements() -> list[Statement]:
    """Statements of a random history with EUR funds, foreign gifts and a sponsor whose
    name is a spreadsheet formula."""
    app = open_ledger(Settings(database_url="memory:"))
    random_history(app, 3)
    return statements_for(app, date(2024, 1, 1), date(2025, 12, 31))


def by_name(statements: list[Statement], name: str) -> Statement:
    return next(s for s in statements if s.sponsor.name == name)


# ---- CSV ------------------------------------------------------------------------------


def parse_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM.encode("utf-8"))
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


@pytest.mark.parametrize("lang", LANGS)
def test_the_csv_parses_back_to_the_same_lines_and_totals(demo, random_statements, lang):
    sections = {label(key, lang): key for key in section_keys()}
    for statement in demo[1] + random_statements:
        rows = parse_csv(render(statement, "csv", lang))
        assert rows[0] == [label(c, lang) for c in COLUMNS]
        lines = list(statement_lines(statement, lang))
        assert len(rows) - 1 == len(lines)
        for row, line in zip(rows[1:], lines):
            cells = dict(zip(COLUMNS, row))
            assert sections[cells["section"]] == line.section
            assert cells["fund"] == line.fund
            for column in AMOUNTS:
                value = getattr(line, column)
                assert cells[column] == ("" if value is None else value.text)
            if line.given is not None:
                assert (cells["original_amount"], cells["original_currency"]) == (
                    line.given.text, line.given.currency)
        _check_csv_totals(statement, rows, sections)


def _check_csv_totals(statement: Statement, rows: list[list[str]], sections: dict) -> None:
    """Sums of the parsed gift, reversal and award lines equal the statement's totals."""
    for fund in statement.funds:
        def total(section: str, column: str) -> Money:
            minor = sum(Money.parse(c[column], fund.currency).minor
                        for c in (dict(zip(COLUMNS, r)) for r in rows[1:])
                        if c["fund"] == fund.code and sections[c["section"]] == section
                        and c[column] not in ("", "0"))
            return Money(minor, fund.currency)

        assert total("gift", "amount") == fund.totals.received
        assert total("reversal", "amount") == fund.totals.reversed
        assert total("award", "paid") == fund.activity.disbursed
        assert total("award_group", "amount") == fund.activity.granted


def test_no_csv_cell_can_start_a_formula():
    app = open_ledger(Settings(database_url="memory:"))
    app.open_fund("TT", "Thien Tam", actor="t", opened_on=date(2025, 1, 1))
    sponsor = UUID(app.register_sponsor('=HYPERLINK("http://x","y")', "individual",
                                        actor="t").result["id"])
    vnd = Money(5_000_000, "VND")
    gift = UUID(app.record_donation("TT", sponsor, vnd, received_on=date(2025, 2, 1),
                                    method="+cash", reference="@x", actor="t").result["id"])
    app.record_donation("TT", sponsor, vnd, received_on=date(2025, 2, 2), method="cash",
                        actor="t")
    app.reverse_donation("TT", gift, "-1 refunded", actor="t", reversed_on=date(2025, 2, 3))
    round_ = UUID(app.allocate("TT", "=1+2", vnd, actor="t",
                               allocated_on=date(2025, 2, 4)).result["id"])
    app.grant_award("TT", round_, {"name": "Lê Văn An", "school": "\tTrường A",
                                   "category": "-poor"}, vnd, actor="t",
                    granted_on=date(2025, 2, 5))
    (statement,) = statements_for(app, date(2025, 1, 1), date(2025, 12, 31))
    rows = parse_csv(render(statement, "csv", "vi"))
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells
    assert "'-1 refunded" in cells and "'-poor" in cells and "'+cash · @x (đã hoàn lại)" in cells
    assert any(c.startswith("'=1+2") for c in cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert neutralise("-1") == "'-1" and neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("\tx") == "'\tx" and neutralise("\rx") == "'\rx"
    assert neutralise("Quỹ") == "Quỹ"
    # in the workbook the same text is a string cell, never a formula
    book = load_workbook(io.BytesIO(render(statement, "xlsx", "vi")))
    texts = [c for sheet in book for row in sheet.iter_rows() for c in row
             if isinstance(c.value, str)]
    assert '=HYPERLINK("http://x","y")' in [c.value for c in texts]
    assert all(c.data_type == "s" for c in texts)


# ---- XLSX -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_workbook_holds_the_same_exact_numbers_with_number_formats(demo, random_statements,
                                                                       lang):
    for statement in [demo[1][0], *random_statements]:
        book = load_workbook(io.BytesIO(render(statement, "xlsx", lang)))
        assert book.sheetnames == [label("summary", lang)] + [f.code for f in statement.funds]
        summary = book[label("summary", lang)]
        assert summary.freeze_panes == "A8"
        assert summary["B3"].value == statement.sponsor.name
        assert summary["B3"].data_type == "s"
        for n, fund in enumerate(statement.funds):
            row = [c for c in summary[8 + n]]
            assert row[0].value == fund.code
            for cell, key in zip(row[3:], ("opening_given", "opening_outstanding", "pledged",
                                           "received", "reversed", "closing_given",
                                           "closing_outstanding", "closing_overdue")):
                _same_number(cell, getattr(fund.totals, key), lang)
            _check_fund_sheet(book[fund.code], statement, fund.code, lang)


def _check_fund_sheet(sheet, statement: Statement, code: str, lang: Lang) -> None:
    assert sheet.freeze_panes == "A2"
    lines = [line for line in statement_lines(statement, lang) if line.fund == code]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) == len(lines)
    columns = COLUMNS[1:]
    for row, line in zip(rows, lines):
        cells = dict(zip(columns, row))
        assert cells["section"].value == label(line.section, lang)
        if line.day is not None:
            assert cells["date"].value == datetime.combine(line.day, datetime.min.time())
            assert cells["date"].is_date
        for column in AMOUNTS:
            value = getattr(line, column)
            if value is None:
                assert cells[column].value is None
            else:
                _same_number(cells[column], value, lang)
        if line.given is not None:
            _same_number(cells["original_amount"], line.given, lang)


def _same_number(cell, amount: Money, lang: Lang) -> None:
    if len(str(abs(amount.minor))) > EXCEL_DIGITS:  # more than a spreadsheet number keeps
        assert cell.data_type == "s" and cell.value == format_money(amount, lang)
        return
    assert cell.data_type == "n"
    assert Decimal(str(cell.value)) == Decimal(amount.text)
    if amount.currency in ("VND", "JPY"):
        assert isinstance(cell.value, int)
        assert "." not in cell.number_format
    else:
        assert cell.number_format.count("0") >= 3 and ".00" in cell.number_format
    assert ("₫" if lang == "vi" and amount.currency == "VND" else amount.currency) in (
        cell.number_format)


@pytest.mark.parametrize("lang", LANGS)
def test_an_amount_a_spreadsheet_number_would_round_is_written_as_its_text(lang):
    app = open_ledger(Settings(database_url="memory:"))
    app.open_fund("PN", "IT training", "USD", actor="t", opened_on=date(2025, 1, 1))
    sponsor = UUID(app.register_sponsor("Famille Martin", "family", actor="t").result["id"])
    big = Money.parse("999999999999999.99", "USD")  # 17 digits
    app.record_donation("PN", sponsor, big, received_on=date(2025, 2, 1), method="cash",
                        actor="t")
    app.record_donation("PN", sponsor, Money.parse("12.34", "USD"),
                        received_on=date(2025, 2, 2), method="cash", actor="t")
    (statement,) = statements_for(app, date(2025, 1, 1), date(2025, 12, 31))
    book = load_workbook(io.BytesIO(render(statement, "xlsx", lang)))
    cells = [c for row in book["PN"].iter_rows() for c in row]
    assert format_money(big, lang) in [c.value for c in cells if c.data_type == "s"]
    assert Decimal("12.34") in [Decimal(str(c.value)) for c in cells
                                if isinstance(c.value, (int, float)) and c.data_type == "n"]
    _check_fund_sheet(book["PN"], statement, "PN", lang)


def test_excel_values_are_exact_integers_or_decimals():
    assert excel_value(Money(150_000_000, "VND")) == 150_000_000
    assert excel_value(Money(1_200_050, "EUR")) == Decimal("12000.50")
    assert isinstance(excel_value(Money(1, "EUR")), Decimal)


# ---- PDF ------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_pdf_carries_the_heading_the_sponsor_and_amounts_with_diacritics(demo):
    tran = by_name(demo[1], "Trần Văn Hùng")
    vi = pdf_text(render(tran, "pdf", "vi"))
    assert ASSOCIATION["vi"].upper() in vi and ASSOCIATION["en"] in vi
    assert "Trần Văn Hùng" in vi and "SAO KÊ TÀI TRỢ" in vi
    assert "Quỹ: Thien Tam scholarship fund (THIEN-TAM)" in vi
    fund = tran.funds[0]
    assert f"{fund.totals.received.minor:,}".replace(",", ".") + " ₫" in vi
    assert "5.000.000 ₫" in vi and "transfer returned by the bank" in vi
    assert "Hoàn lại trong kỳ" in vi and "Đã đóng góp cuối kỳ" in vi
    en = pdf_text(render(tran, "pdf", "en"))
    assert ASSOCIATION["en"].upper() in en and ASSOCIATION["vi"] in en
    assert "Trần Văn Hùng" in en and "VND 5,000,000" in en
    assert f"SHA-256 {fund.digest.hash}" in en.replace("\n", "")


def test_a_long_pdf_runs_over_pages_that_are_numbered(demo):
    bank = by_name(demo[1], "Vietcombank Da Nang")
    reader = PdfReader(io.BytesIO(render(bank, "pdf", "vi")))
    pages = len(reader.pages)
    assert pages >= 2
    assert f"Trang {pages}/{pages}" in reader.pages[-1].extract_text()


def test_a_pdf_page_rasterised_with_pdftoppm_is_not_blank(demo, tmp_path):
    if shutil.which("pdftoppm") is None:
        if ON_CI:
            pytest.fail("pdftoppm (Debian package poppler-utils) is required on CI")
        pytest.skip("pdftoppm not installed (apt-get install poppler-utils)")
    path = tmp_path / "statement.pdf"
    path.write_bytes(render(by_name(demo[1], "Lê Thị Mai"), "pdf", "vi"))
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-f", "1", "-l", "1", str(path),
                    str(tmp_path / "page")], check=True, timeout=60)
    (image,) = tmp_path.glob("page*.pgm")
    width, height, pixels = _pgm(image.read_bytes())
    dark = sum(1 for p in pixels if p < 128)
    assert width > 300 and height > 400
    assert dark > 0.01 * width * height  # text and rules, not an empty page


def _pgm(data: bytes) -> tuple[int, int, bytes]:
    """Width, height and pixels of a binary PGM (P5) image."""
    fields, rest = [], data
    while len(fields) < 4:
        rest = rest.lstrip()
        if rest.startswith(b"#"):
            rest = rest.split(b"\n", 1)[1]
            continue
        token, rest = rest.split(None, 1) if len(fields) < 3 else (rest.split(b"\n", 1)[0],
                                                                   rest.split(b"\n", 1)[1])
        fields.append(token)
    assert fields[0] == b"P5"
    width, height = int(fields[1]), int(fields[2])
    return width, height, rest[: width * height]


def test_text_the_font_cannot_draw_is_replaced_not_dropped(random_statements):
    statement = random_statements[0].model_copy(update={
        "sponsor": random_statements[0].sponsor.model_copy(update={"name": "Asahi 朝日新聞"})})
    text = pdf_text(render(statement, "pdf", "en"))
    assert "Asahi ????" in text


# ---- privacy --------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
def test_no_format_ever_shows_a_students_full_name(demo, random_statements, fmt):
    app, statements = demo
    names = {e.recipient["name"] for code in app.fund_codes()
             for e in app.fund_events(Fund.id_for(code))
             if type(e).__name__ == "AwardGranted"} | set(STUDENTS)
    for statement in statements + random_statements:
        for lang in LANGS:
            text = _text_of(render(statement, fmt, lang), fmt)
            shown = [n for n in names - {statement.sponsor.name} if n in text]
            assert not shown, (statement.sponsor.name, fmt, lang, shown)


def _text_of(data: bytes, fmt: str) -> str:
    if fmt == "csv":
        return data.decode("utf-8-sig")
    if fmt == "pdf":
        return pdf_text(data)
    book = load_workbook(io.BytesIO(data))
    return "\n".join(str(c.value) for sheet in book for row in sheet.iter_rows() for c in row
                     if c.value is not None)


def test_lines_put_every_amount_in_the_funds_currency_except_what_was_given(random_statements):
    for statement in random_statements:
        currencies = {f.code: f.currency for f in statement.funds}
        for line in statement_lines(statement, "en"):
            if line.fund and line.currency:
                assert line.currency == currencies[line.fund]
            assert isinstance(line, Line)


def test_statement_file_names_are_plain_ascii(demo, tmp_path):
    for statement in demo[1]:
        name = file_name(statement, "pdf")
        assert name.isascii() and "/" not in name and " " not in name
        Path(tmp_path / name).write_bytes(b"")


def test_the_largest_amount_is_printed_whole_never_cut():
    app = open_ledger(Settings(database_url="memory:"))
    app.open_fund("BIG", "Quỹ rất lớn", actor="t", opened_on=date(2025, 1, 1))
    sponsor = UUID(app.register_sponsor("Ngân hàng TMCP Ngoại thương Việt Nam", "organization",
                                        actor="t").result["id"])
    app.record_donation("BIG", sponsor, Money(999_999_999_999_999, "VND"),
                        received_on=date(2025, 2, 1), method="bank_transfer", actor="t")
    (statement,) = statements_for(app, date(2025, 1, 1), date(2025, 12, 31))
    text = pdf_text(render(statement, "pdf", "en"))
    # the summary's totals, the sponsor's totals, the gift and the fund's figures
    assert text.count("VND 999,999,999,999,999") >= 8
    assert "999,…" not in text and "…" not in text.split("Summary")[1].split("Fund:")[0]
