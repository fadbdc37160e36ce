"""Importing donations files into the ledger on memory, SQLite and PostgreSQL: good files in
both formats, bad files refused whole with every error, re-imports that record nothing."""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID, uuid4

import pytest
from test_import_files import (
    HEADER,
    donations,
    good_rows,
    seed,
    write_csv,
    write_xlsx,
)

from ledger.application import Ledger
from ledger.domain.money import Money
from ledger.imports import DonationImport, ImportRefused, Mapping
from ledger.imports.rows import donation_id_for, sponsor_id_for


def events(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


def importer(ledger: Ledger, **options) -> DonationImport:
    return DonationImport(ledger, actor="treasurer", **options)


def test_a_good_csv_file_records_every_row_with_its_sponsors_and_currencies(ledger, tmp_path):
    sponsor = seed(ledger)
    outcome = importer(ledger).run(write_csv(tmp_path / "sept.csv", good_rows(sponsor)))
    assert (outcome.recorded, outcome.present, outcome.sponsors_registered) == (3, 0, 2)
    assert ledger.figures("TT")["received_total"] == Money.parse("1700000", "VND")
    assert ledger.figures("PN")["received_total"] == Money.parse("2900000", "VND")
    (eur,) = donations(ledger, "PN")
    assert (eur.amount_minor, eur.amount_currency, eur.credited_minor) == (10050, "EUR", 2900000)
    assert eur.donation_id == str(donation_id_for("PN", "FT25246003"))
    assert eur.effective_on == "2025-09-03" and eur.actor == "treasurer"
    family = ledger.sponsor(sponsor_id_for("Famille Martin", "family"))
    assert (family["name"], family["kind"]) == ("Famille Martin", "family")


def test_a_good_xlsx_file_with_number_and_date_cells_records_every_row(ledger, tmp_path):
    sponsor = seed(ledger)
    rows = [
        ["TT", str(sponsor), None, None, 1500000, "VND", None, date(2025, 9, 1),
         "bank_transfer", "FT1"],
        ["PN", None, "Famille Martin", "family", 100.5, "EUR", 2900000,
         datetime(2025, 9, 3), "bank_transfer", "FT2"],
        [None] * len(HEADER),  # a blank row, as exports often end with
    ]
    outcome = importer(ledger).run(write_xlsx(tmp_path / "sept.xlsx", rows))
    assert outcome.recorded == 2
    (eur,) = donations(ledger, "PN")
    assert (eur.amount_minor, eur.amount_currency, eur.credited_minor) == (10050, "EUR", 2900000)
    assert donations(ledger, "TT")[0].effective_on == "2025-09-01"


def test_a_csv_file_without_a_bom_is_read_the_same(ledger, tmp_path):
    sponsor = seed(ledger)
    outcome = importer(ledger).run(write_csv(tmp_path / "a.csv", good_rows(sponsor), bom=False))
    assert outcome.recorded == 3
    assert {e.sponsor_id for e in donations(ledger, "TT")} == {
        str(sponsor), str(sponsor_id_for("nguyễn  văn AN", "individual"))}


def test_importing_the_same_file_twice_records_nothing_the_second_time(ledger, tmp_path):
    sponsor = seed(ledger)
    path = write_csv(tmp_path / "sept.csv", good_rows(sponsor))
    importer(ledger).run(path)
    before = events(ledger)
    again = importer(ledger).run(path)
    assert (again.recorded, again.present, again.sponsors_registered) == (0, 3, 0)
    assert (again.check.new, again.check.present) == (0, 3)
    assert events(ledger) == before
    assert len(donations(ledger, "TT")) == 2


def test_a_file_that_grew_records_only_its_new_rows(ledger, tmp_path):
    sponsor = seed(ledger)
    rows = good_rows(sponsor)
    importer(ledger).run(write_csv(tmp_path / "a.csv", rows[:1]))
    outcome = importer(ledger, batch_size=1).run(write_csv(tmp_path / "b.csv", rows))
    assert (outcome.recorded, outcome.present) == (2, 1)


def test_a_file_with_bad_rows_of_every_kind_is_refused_whole_with_each_error(ledger, tmp_path):
    sponsor = str(seed(ledger))
    good = ["TT", sponsor, "", "", "100000", "VND", "", "2025-09-01", "bank_transfer"]
    rows = [
        good + ["R1"],                                                   # line 2: good
        ["TT", sponsor, "", "", "12,5", "VND", "", "2025-09-01", "cash", "R2"],  # bad amount
        ["XX", sponsor, "", "", "100", "VND", "", "2025-09-01", "cash", "R3"],   # unknown fund
        ["TT", sponsor, "", "", "100", "ZZZ", "", "2025-09-01", "cash", "R4"],   # currency
        ["TT", sponsor, "", "", "100", "VND", "", "2025-02-30", "cash", "R5"],   # no such date
        good + ["R1"],                                                   # line 7: repeat
        ["TT", sponsor, "", "", "", "VND", "", "2025-09-01", "cash", "R8"],      # empty amount
        ["TT", sponsor, "", "", "100", "VND", "", "2025-09-01", "=HYPERLINK(\"x\")", "R9"],
        ["TT", "", "@SUM(A1)", "individual", "100", "VND", "", "2025-09-01", "cash", "R10"],
        ["TT", str(uuid4()), "", "", "100", "VND", "", "2025-09-01", "cash", "R11"],
        ["TT", sponsor, "", "", "100", "EUR", "", "2025-09-01", "cash", "R12"],  # no credited
        ["TT", sponsor, "", "", "100", "VND", "", "2025-09-01", "cash", ""],     # no reference
        ["TT", sponsor, "", "", "100", "VND", "", "1899-12-31", "cash", "R14"],  # too early
    ]
    path = write_csv(tmp_path / "bad.csv", rows)
    before = events(ledger)
    with pytest.raises(ImportRefused) as refused:
        importer(ledger).run(path)
    found = {(e.line, e.column) for e in refused.value.check.errors}
    assert found == {
        (3, "amount"), (4, "fund"), (5, "currency"), (6, "received_on"), (7, "reference"),
        (8, "amount"), (9, "method"), (10, "sponsor_name"), (11, "sponsor_id"),
        (12, "credited"), (13, "reference"), (14, "received_on"),
    }
    reasons = {(e.line, e.column): e.reason for e in refused.value.check.errors}
    assert "not a plain decimal" in reasons[3, "amount"]
    assert reasons[4, "fund"] == "no fund XX"
    assert "unknown currency" in reasons[5, "currency"]
    assert "not a date that exists" in reasons[6, "received_on"]
    assert reasons[7, "reference"] == "repeats the reference of line 2"
    assert reasons[8, "amount"] == "empty required cell"
    assert "formula" in reasons[9, "method"] and "formula" in reasons[10, "sponsor_name"]
    assert "between 1900-01-01 and 2999-12-31" in reasons[14, "received_on"]
    assert refused.value.check.error_count == 12
    assert events(ledger) == before


def test_a_pledge_column_applies_gifts_and_an_unknown_pledge_is_refused(ledger, tmp_path):
    sponsor = seed(ledger)
    pledge = UUID(ledger.make_pledge("TT", sponsor, Money.parse("3000000", "VND"),
                                     actor="t").result["id"])
    header = HEADER + ["pledge_id"]
    row = ["TT", str(sponsor), "", "", "1000000", "VND", "", "2025-09-01", "bank_transfer"]
    with pytest.raises(ImportRefused) as refused:
        importer(ledger).run(write_csv(tmp_path / "bad.csv", [row + ["P1", str(uuid4())]],
                                       header))
    assert [(e.line, e.column) for e in refused.value.check.errors] == [(2, "pledge_id")]
    importer(ledger).run(write_csv(tmp_path / "ok.csv", [row + ["P1", str(pledge)]], header))
    assert ledger.figures("TT")["pledged_outstanding"] == Money.parse("2000000", "VND")


def test_an_explicit_id_column_names_the_donation_and_matches_a_single_write(ledger, tmp_path):
    sponsor = seed(ledger)
    gift = uuid4()
    ledger.record_donation("TT", sponsor, Money.parse("500", "VND"),
                           received_on=date(2025, 9, 1), method="cash", actor="t",
                           donation_id=gift)
    header = ["id", "sponsor_id", "amount", "currency", "received_on", "method"]
    path = write_csv(tmp_path / "ids.csv", [[str(gift), str(sponsor), "500", "VND",
                                            "2025-09-01", "cash"],
                                           [str(uuid4()), str(sponsor), "700", "VND",
                                            "2025-09-02", "cash"]], header)
    outcome = importer(ledger, fund="TT").run(path)
    assert (outcome.recorded, outcome.present) == (1, 1)


def test_a_row_already_recorded_with_other_content_is_refused(ledger, tmp_path):
    sponsor = seed(ledger)
    rows = good_rows(sponsor)
    importer(ledger).run(write_csv(tmp_path / "a.csv", rows))
    rows[0][4] = "1600000"  # the treasurer edited the amount of a recorded gift
    with pytest.raises(ImportRefused) as refused:
        importer(ledger).run(write_csv(tmp_path / "b.csv", rows))
    assert [(e.line, e.column) for e in refused.value.check.errors] == [(2, "reference")]


def test_a_recorded_gift_whose_date_or_method_was_corrected_in_the_file_is_refused(
        ledger, tmp_path):
    sponsor = seed(ledger)
    rows = good_rows(sponsor)
    importer(ledger).run(write_csv(tmp_path / "a.csv", rows))
    before = events(ledger)
    rows[1][7] = "2025-09-12"  # the treasurer corrected the date of a recorded gift
    rows[2][8] = "cash"  # and the method of another
    with pytest.raises(ImportRefused) as refused:
        importer(ledger).run(write_csv(tmp_path / "b.csv", rows))
    found = [(e.line, e.column) for e in refused.value.check.errors]
    assert found == [(3, "reference"), (4, "reference")]
    assert "received date" in refused.value.check.errors[0].reason
    assert "method" in refused.value.check.errors[1].reason
    assert events(ledger) == before


def test_a_row_whose_id_is_already_another_records_id_is_refused_before_any_batch(
        ledger, tmp_path):
    sponsor = seed(ledger)
    ledger.record_donation("TT", sponsor, Money.parse("10", "VND"),
                           received_on=date(2025, 9, 1), method="cash", actor="t")
    taken = UUID(ledger.allocate("TT", "r", Money.parse("1", "VND"), actor="t").result["id"])
    header = ["id", "sponsor_id", "amount", "currency", "received_on", "method"]
    rows = [[str(uuid4()), str(sponsor), "5", "VND", "2025-09-01", "cash"] for _ in range(5)]
    rows += [[str(taken), str(sponsor), "5", "VND", "2025-09-01", "cash"],
             [str(sponsor), str(sponsor), "5", "VND", "2025-09-01", "cash"]]
    before = events(ledger)
    with pytest.raises(ImportRefused) as refused:
        importer(ledger, fund="TT", batch_size=2).run(write_csv(tmp_path / "ids.csv", rows,
                                                                header))
    errors = refused.value.check.errors
    assert [(e.line, e.column) for e in errors] == [(7, "id"), (8, "id")]
    assert "id of an allocation" in errors[0].reason and "id of a sponsor" in errors[1].reason
    assert events(ledger) == before


def test_a_mapping_lets_a_banks_own_export_be_used(ledger, tmp_path):
    sponsor = seed(ledger)
    mapping_file = tmp_path / "vcb.toml"
    mapping_file.write_text(
        'delimiter = ";"\n[columns]\namount = "Credit Amount"\nreceived_on = "Value Date"\n'
        'reference = "Transaction Ref"\nsponsor_name = "Remitter"\n'
        '[defaults]\ncurrency = "VND"\nmethod = "bank_transfer"\nsponsor_kind = "organization"\n',
        encoding="utf-8")
    header = ["Transaction Ref", "Value Date", "Remitter", "Credit Amount", "Balance"]
    rows = [["FT1", "2025-09-01", "Vietcombank Da Nang", "1500000", "99"],
            ["FT2", "2025-09-02", "VIETCOMBANK  DA NANG", "500000", "99"]]
    path = tmp_path / "vcb.csv"
    path.write_bytes(b"\n".join(";".join(r).encode() for r in [header, *rows]) + b"\n")
    mapping = Mapping.load(mapping_file)
    outcome = importer(ledger, fund="TT", mapping=mapping).run(path)
    assert (outcome.recorded, outcome.sponsors_registered) == (2, 1)
    assert {e.sponsor_id for e in donations(ledger, "TT")} == {
        str(sponsor_id_for("Vietcombank Da Nang", "organization"))}
    assert sponsor_id_for("Vietcombank Da Nang", "organization") != sponsor


def test_a_missing_column_is_reported_on_the_header_line(ledger, tmp_path):
    seed(ledger)
    path = write_csv(tmp_path / "a.csv", [["TT", "100"]], ["fund", "amount"])
    with pytest.raises(ImportRefused) as refused:
        importer(ledger).run(path)
    (error,) = refused.value.check.errors
    assert error.line == 1 and "currency" in error.column and "reference" in error.column


def test_a_dry_run_checks_every_row_and_records_nothing(ledger, tmp_path):
    sponsor = seed(ledger)
    before = events(ledger)
    outcome = importer(ledger).run(write_csv(tmp_path / "a.csv", good_rows(sponsor)),
                                   dry_run=True)
    assert (outcome.check.new, outcome.check.sponsors_new, outcome.recorded) == (3, 2, 0)
    assert events(ledger) == before


def test_a_file_that_is_neither_utf8_nor_a_workbook_is_refused(ledger, tmp_path):
    seed(ledger)
    path = tmp_path / "latin1.csv"
    path.write_bytes(",".join(HEADER).encode() + b"\nTT,,Nguy\xe9n,individual,1,VND,,"
                                                  b"2025-09-01,cash,R1\n")
    with pytest.raises(ImportRefused) as refused:
        importer(ledger).run(path)
    assert [(e.line, e.column) for e in refused.value.check.errors] == [(2, "file")]


def test_a_batch_of_donations_across_funds_is_recorded_in_one_transaction(ledger):
    sponsor = seed(ledger)
    day = date(2025, 9, 1)
    batch = [
        {"code": code, "donation_id": uuid4(), "sponsor_id": sponsor,
         "amount": Money.parse("100", "VND"), "received_on": day, "method": "cash",
         "reference": f"R{i}"}
        for i, code in enumerate(["TT", "PN", "TT"])
    ]
    before = events(ledger)
    written = ledger.record_donations(batch, actor="t")
    assert [w.created for w in written] == [True, True, True]
    assert events(ledger) == before + 6  # three donations, three receipts
    again = ledger.record_donations(batch, actor="t")
    assert [w.created for w in again] == [False, False, False]
    assert events(ledger) == before + 6


def test_an_upload_records_all_rows_or_none_even_if_a_fund_closes_after_the_check(
    ledger, tmp_path,
):
    """The API records an upload in one transaction: a fund closed between the check and
    the recording refuses the whole file. (The command line records large files in
    batches, each atomic: there the batches before the closed fund's stay recorded, and
    it says so.)"""
    from ledger.domain.errors import FundClosed
    from ledger.imports import ONE_TRANSACTION

    sponsor = seed(ledger)
    rows = [["TT", str(sponsor), "", "", "1000", "VND", "", "2025-09-01", "cash", f"T{i}"]
            for i in range(30)]
    rows += [["PN", str(sponsor), "", "", "1000", "VND", "", "2025-09-01", "cash", f"P{i}"]
             for i in range(5)]
    path = write_csv(tmp_path / "mixed.csv", rows)

    def close_pn_once_checked(phase: str, done: int, total: int | None) -> None:
        if phase == "checking" and total is not None:
            ledger.close_fund("PN", actor="treasurer")

    before = events(ledger)
    with pytest.raises(FundClosed):
        importer(ledger, batch_size=ONE_TRANSACTION).run(path, progress=close_pn_once_checked)
    assert events(ledger) == before + 2  # the closing and its receipt, nothing of the file
    assert donations(ledger, "TT") == []

    ledger.open_fund("PN2", "Second", actor="treasurer")
    rows = [[("PN2" if r[0] == "PN" else r[0]), *r[1:]] for r in rows]
    path = write_csv(tmp_path / "mixed2.csv", rows)
    with pytest.raises(FundClosed):  # in batches of 10, the first three stay recorded
        importer(ledger, batch_size=10).run(
            path, progress=lambda phase, done, total: (
                ledger.close_fund("PN2", actor="treasurer")
                if phase == "checking" and total is not None else None))
    assert len(donations(ledger, "TT")) == 30
