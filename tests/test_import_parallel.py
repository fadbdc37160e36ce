"""An import checked and recorded by two worker processes, each with its own funds, on
SQLite and PostgreSQL: the same outcome as one process, a bad row in either share refuses
the whole file with nothing recorded, and a re-run records nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from test_import_files import donations, seed, write_csv, write_xlsx

from ledger.imports import DonationImport, ImportRefused
from ledger.imports.parallel import import_in_parallel, spread
from ledger.settings import Settings
from ledger.storage import open_ledger

FUNDS = ("TT", "PN", "BIDV", "ASAHI")


def _rows(sponsor: str, count: int) -> list[list[str]]:
    """Gifts over four funds; the sponsor named "Gia đình Hồ" (new) gives in every fund."""
    rows = []
    for i in range(count):
        fund = FUNDS[i % len(FUNDS)]
        if i % 10 == 3:
            rows.append([fund, "", "Gia đình Hồ", "family", str(5000 + i), "VND", "",
                         "2025-10-01", "cash", f"REF{i:05d}"])
        else:
            rows.append([fund, sponsor, "", "", str(1000 + i), "VND", "", "2025-10-01",
                         "bank_transfer", f"REF{i:05d}"])
    return rows


@pytest.fixture(name="books")
def _books(durable_settings: Settings) -> tuple[Settings, str]:
    ledger = open_ledger(durable_settings)
    sponsor = str(seed(ledger))
    ledger.open_fund("BIDV", "Banking-sector programme", actor="treasurer")
    ledger.open_fund("ASAHI", "Asahi Daily scholarship", actor="treasurer")
    ledger.close()
    return durable_settings, sponsor


def _import(settings: Settings, path: Path, **options) -> object:
    ledger = open_ledger(settings)
    try:
        importer = DonationImport(ledger, actor="treasurer", batch_size=50, max_errors=None)
        phases: list[tuple[str, int, int | None]] = []
        outcome = import_in_parallel(importer, settings, path, 2,
                                     progress=lambda *p: phases.append(p), **options)
        return outcome, phases
    finally:
        ledger.close()


def _recorded(settings: Settings) -> dict[str, list[object]]:
    ledger = open_ledger(settings)
    try:
        return {code: donations(ledger, code) for code in FUNDS}
    finally:
        ledger.close()


def test_two_workers_record_every_row_once_and_a_rerun_records_nothing(books, tmp_path):
    settings, sponsor = books
    path = write_csv(tmp_path / "october.csv", _rows(sponsor, 400))
    dry, _ = _import(settings, path, dry_run=True)
    assert dry.summary() | {"dry_run": None} == {
        "rows": 400, "recorded": 0, "already_present": 0, "sponsors_registered": 0,
        "dry_run": None, "new": 400}
    assert dry.check.sponsors_new == 1  # named in every fund's rows, counted once
    assert all(not rows for rows in _recorded(settings).values())

    outcome, phases = _import(settings, path)
    assert (outcome.recorded, outcome.present, outcome.sponsors_registered) == (400, 0, 1)
    assert phases[-1] == ("recording", 400, 400)
    assert ("checking", 400, 400) in phases
    recorded = _recorded(settings)
    assert {code: len(rows) for code, rows in recorded.items()} == dict.fromkeys(FUNDS, 100)
    references = Counter(e.reference for rows in recorded.values() for e in rows)
    assert len(references) == 400 and set(references.values()) == {1}
    # each fund's donations follow the file's order
    assert [e.reference for e in recorded["PN"]] == [f"REF{i:05d}" for i in range(1, 400, 4)]

    again, _ = _import(settings, path)
    assert (again.recorded, again.present, again.sponsors_registered) == (0, 400, 0)
    assert sum(map(len, _recorded(settings).values())) == 400


def test_a_bad_row_in_either_share_refuses_the_whole_file(books, tmp_path):
    settings, sponsor = books
    rows = _rows(sponsor, 200)
    rows[5][4] = "12.5"       # a VND amount with decimals (fund PN)
    rows[102][7] = "2025-02-30"  # a date that does not exist (fund BIDV)
    rows[150][0] = "NOPE"    # an unknown fund
    rows[199][9] = rows[3][9]  # ASAHI repeats a reference of ASAHI
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(ImportRefused) as refused:
        _import(settings, path)
    errors = [(e.line, e.column) for e in refused.value.check.errors]
    assert errors == [(7, "amount"), (104, "received_on"), (152, "fund"), (201, "reference")]
    assert refused.value.check.error_count == 4
    assert all(not rows for rows in _recorded(settings).values())


def test_an_error_of_the_file_itself_is_reported_once(books, tmp_path):
    settings, sponsor = books
    path = write_csv(tmp_path / "headers.csv", [r[:-1] for r in _rows(sponsor, 20)],
                     header=["fund", "sponsor_id", "sponsor_name", "sponsor_kind", "amount",
                             "currency", "credited", "received_on", "method"])
    with pytest.raises(ImportRefused) as refused:
        _import(settings, path)
    assert [(e.line, e.column) for e in refused.value.check.errors] == [(1, "reference")]
    assert refused.value.check.error_count == 1


def test_funds_are_dealt_largest_first_to_the_least_loaded_worker():
    counts = Counter({"A": 500, "B": 300, "C": 250, "D": 100, "E": 60})
    workers_of = spread(counts, 2)
    loads = Counter()
    for fund, worker in workers_of.items():
        loads[worker] += counts[fund]
    assert sorted(loads.values()) == [600, 610]  # A+D, B+C+E
    assert set(workers_of) == set(counts)


def test_a_workbook_asked_of_two_workers_is_imported_whole(books, tmp_path):
    settings, sponsor = books
    path = write_xlsx(tmp_path / "october.xlsx", _rows(sponsor, 40))
    outcome, _ = _import(settings, path)
    assert (outcome.recorded, outcome.sponsors_registered) == (40, 1)
    assert {code: len(rows) for code, rows in _recorded(settings).items()} == dict.fromkeys(
        FUNDS, 10)
