"""`ledger audit export`: a fund's whole history as JSON lines or CSV, read page by page,
equal to the ledger's own history, and safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from uuid import UUID

from click.testing import CliRunner

from ledger.application import Ledger
from ledger.audit.export import fund_records, safe_cell, write_csv, write_jsonl
from ledger.audit.stored import StoredEvents
from ledger.cli import main
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.settings import Settings, get_settings
from ledger.storage import open_ledger

D = date(2025, 3, 1)


def fill(app: Ledger, actor: str = "treasurer") -> None:
    app.open_fund("TT", "Thien Tam", actor=actor, opened_on=D)
    s = UUID(app.register_sponsor("Trần Thị B", "individual", actor=actor).result["id"])
    for n in range(1, 8):
        app.record_donation("TT", s, Money(n * 1000, "VND"), received_on=D, method="bank",
                            reference=f"=HYPERLINK(\"http://x/{n}\")", actor=actor)
    app.record_donation("TT", s, Money.parse("12.50", "EUR"), Money(350_000, "VND"),
                        received_on=D, method="bank", actor=actor)


def test_the_export_equals_the_ledgers_history_on_every_store(ledger: Ledger):
    fill(ledger)
    out = io.StringIO()
    assert write_jsonl(fund_records(ledger, "TT"), out) == 9
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines == ledger.history("TT")
    assert lines[-1]["data"]["amount_currency"] == "EUR" and lines[-1]["currency"] == "VND"


def test_rows_are_read_page_by_page_in_order(ledger: Ledger):
    fill(ledger)
    rows = list(StoredEvents(ledger, page=3).fund_rows(Fund.id_for("TT")))
    assert [seq for seq, _, _ in rows] == list(range(1, 10))
    after = list(StoredEvents(ledger, page=2).fund_rows(Fund.id_for("TT"), after=6))
    assert [seq for seq, _, _ in after] == [7, 8, 9]
    everything = list(StoredEvents(ledger, page=4).all_rows())
    assert len(everything) == ledger.recorder.max_notification_id()


def test_csv_cells_never_start_a_formula():
    app = open_ledger(Settings(database_url="memory:"))
    fill(app, actor="=cmd|' /C calc'!A0")
    out = io.StringIO()
    assert write_csv(fund_records(app, "TT"), out) == 9
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert len(rows) == 9 and rows[0]["type"] == "Opened"
    assert all(r["actor"] == "'=cmd|' /C calc'!A0" for r in rows)
    assert json.loads(rows[1]["data"])["reference"].startswith("=HYPERLINK")
    for cell in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(cell) == "'" + cell
    assert safe_cell("plain") == "plain" and safe_cell(None) == ""


def test_the_cli_streams_to_stdout_or_a_file_and_refuses_an_unknown_fund(
        sqlite_settings, tmp_path, monkeypatch):
    app = open_ledger(sqlite_settings)
    fill(app)
    app.close()
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    monkeypatch.setenv("LEDGER_SQLITE_PATH", str(sqlite_settings.sqlite_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        jsonl = runner.invoke(main, ["audit", "export", "--fund", "TT"])
        assert jsonl.exit_code == 0 and len(jsonl.output.splitlines()) == 9
        target = tmp_path / "tt.csv"
        made = runner.invoke(main, ["audit", "export", "--fund", "TT", "--format", "csv",
                                    "--out", str(target)])
        assert made.exit_code == 0, made.output
        assert len(target.read_text(encoding="utf-8").splitlines()) == 10
        unknown = runner.invoke(main, ["audit", "export", "--fund", "NOPE"])
        assert unknown.exit_code == 1 and "NOPE" in unknown.output
    finally:
        get_settings.cache_clear()
