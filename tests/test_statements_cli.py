"""`ledger statements` run as the real command in a subprocess, on SQLite and PostgreSQL:
one sponsor's file, and every sponsor's files with one that cannot be written reported at
the end while all the others are written; `ledger audit statement` checks the digests."""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
from datetime import date
from pathlib import Path
from uuid import UUID

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from ledger.demo import load_demo
from ledger.domain.money import Money
from ledger.settings import Settings
from ledger.statements.batch import write_statements
from ledger.statements.books import read_books
from ledger.statements.build import StatementBuilder
from ledger.statements.model import Statement
from ledger.statements.render import file_name
from ledger.storage import open_ledger
from test_import_cli import environment

LEDGER = str(Path(sys.executable).with_name("ledger"))
YEAR = ("--from", "2024-09-01", "--to", "2025-08-31")


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LEDGER, "statements", *args], env=environment(settings),
                          capture_output=True, text=True, timeout=300)


def one_gift(settings: Settings) -> str:
    """A fund TT with one gift of 3,000,000 VND from Lê Thị Mai; her id."""
    app = open_ledger(settings)
    app.open_fund("TT", "Quỹ Thiện Tâm", actor="t", opened_on=date(2025, 1, 1))
    sponsor = app.register_sponsor("Lê Thị Mai", "individual", actor="t").result["id"]
    app.record_donation("TT", UUID(sponsor), Money(3_000_000, "VND"),
                        received_on=date(2025, 3, 1), method="cash", actor="t")
    app.close()
    return sponsor


@pytest.fixture(name="demo_store", scope="module")
def _demo_store(tmp_path_factory) -> Settings:
    """An SQLite file holding the demo year."""
    settings = Settings(sqlite_path=tmp_path_factory.mktemp("demo") / "ledger.sqlite3")
    app = open_ledger(settings)
    load_demo(app)
    app.close()
    return settings


def test_all_statements_are_written_and_one_that_fails_is_reported_at_the_end(demo_store,
                                                                              tmp_path):
    app = open_ledger(demo_store)
    builder = StatementBuilder(read_books(app), date(2024, 9, 1), date(2025, 8, 31))
    sponsors = [app.sponsor(UUID(s)) for s in builder.sponsor_ids()]
    blocked = next(s for s in sponsors if s["name"] == "BIDV Da Nang")
    # a folder where BIDV's file should go: that one file cannot be written
    (tmp_path / file_name(builder.build(blocked), "pdf")).mkdir()
    app.close()
    result = run(demo_store, "--all", *YEAR, "--format", "pdf", "--lang", "vi",
                 "--out", str(tmp_path), "--jobs", "2")
    assert result.returncode == 1, result.stderr
    assert f"{len(sponsors) - 1} statement(s) written to {tmp_path}" in result.stdout
    assert "1 statement(s) failed" in result.stderr
    assert f"{blocked['id']} BIDV Da Nang: IsADirectoryError" in result.stderr
    pdfs = sorted(p for p in tmp_path.glob("*.pdf") if p.is_file())
    assert len(pdfs) == len(sponsors) - 1
    for path in pdfs:
        assert PdfReader(path).pages and b"%%EOF" in path.read_bytes()[-32:]
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.postgres
def test_one_sponsors_workbook_is_written_from_postgresql(pg_settings, tmp_path):
    sponsor = one_gift(pg_settings)
    result = run(pg_settings, "--sponsor", sponsor, "--from", "2025-01-01", "--to",
                 "2025-12-31", "--format", "xlsx", "--lang", "en", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    (path,) = tmp_path.glob("*.xlsx")
    assert result.stdout.splitlines()[0] == str(path)
    book = load_workbook(io.BytesIO(path.read_bytes()))
    assert book["Summary"]["B3"].value == "Lê Thị Mai"
    assert book["Summary"]["G8"].value == 3_000_000  # received in the period


def test_an_unknown_sponsor_or_a_bad_option_is_refused_with_a_clear_message(demo_store,
                                                                            tmp_path):
    result = run(demo_store, "--sponsor", str(UUID(int=5)), *YEAR, "--out", str(tmp_path))
    assert result.returncode == 1 and f"no sponsor {UUID(int=5)}" in result.stderr
    result = run(demo_store, "--sponsor", "nobody", "--out", str(tmp_path))
    assert result.returncode == 2 and "is not a sponsor id" in result.stderr
    result = run(demo_store, "--all", "--from", "2025-09-01", "--to", "2025-01-01")
    assert result.returncode == 2 and "must be on or before to" in result.stderr
    result = run(demo_store, *YEAR)
    assert result.returncode == 2 and "either --sponsor ID or --all" in result.stderr
    assert not list(tmp_path.iterdir())


def test_the_batch_writer_reports_progress_for_every_sponsor(demo_store, tmp_path):
    app = open_ledger(demo_store)
    builder = StatementBuilder(read_books(app), date(2025, 1, 1), date(2025, 6, 30))
    sponsors = [app.sponsor(UUID(s)) for s in builder.sponsor_ids()]
    app.close()
    seen = []
    report = write_statements(builder, sponsors, "csv", "en", tmp_path / "out",
                              progress=lambda sponsor, ok: seen.append((sponsor["id"], ok)))
    assert sorted(seen) == sorted((s["id"], True) for s in sponsors)
    assert sorted(report.written) == sorted((tmp_path / "out").glob("*.csv"))
    assert report.failures == []


def test_an_auditor_confirms_a_statements_digests_and_catches_a_rewritten_history(tmp_path):
    settings = Settings(sqlite_path=tmp_path / "ledger.sqlite3")
    sponsor = one_gift(settings)
    written = run(settings, "--sponsor", sponsor, "--from", "2025-01-01", "--to", "2025-12-31",
                  "--format", "json", "--out", str(tmp_path / "out"))
    assert written.returncode == 0, written.stderr
    (path,) = (tmp_path / "out").glob("*.json")

    def audit_statement() -> subprocess.CompletedProcess[str]:
        return subprocess.run([LEDGER, "audit", "statement", str(path)],
                              env=environment(settings), capture_output=True, text=True,
                              timeout=120)

    ok = audit_statement()
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.startswith("ok       TT: event #2 has the hash")
    # someone rewrites the stored gift (and its hash) behind the statement's back
    digest = Statement.model_validate_json(path.read_bytes()).funds[0].digest
    with sqlite3.connect(settings.sqlite_path) as db:
        (state,) = [row[0] for row in db.execute(
                        "SELECT state FROM stored_events WHERE originator_version = 2")
                    if digest.hash.encode() in bytes(row[0])]
        db.execute("UPDATE stored_events SET state = ? WHERE state = ?",
                   (bytes(state).replace(digest.hash.encode(), b"0" * 64), state))
    changed = audit_statement()
    assert changed.returncode == 1
    assert f"CHANGED  TT: event #2 now has hash {'0' * 64}" in changed.stdout
    bad = tmp_path / "not-a-statement.json"
    bad.write_text("{}")
    refused = subprocess.run([LEDGER, "audit", "statement", str(bad)], env=environment(settings),
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and "is not a JSON statement" in refused.stderr
