"""Helpers of the import tests (no tests here): CSV and XLSX writers, a seeded ledger."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.application import Ledger

HEADER = ["fund", "sponsor_id", "sponsor_name", "sponsor_kind", "amount", "currency",
          "credited", "received_on", "method", "reference"]


def seed(ledger: Ledger) -> UUID:
    """Funds TT (VND) and PN (VND) and one registered sponsor, whose id it answers."""
    ledger.open_fund("TT", "Thien Tam scholarship fund", actor="treasurer")
    ledger.open_fund("PN", "IT training with Passerelles Numeriques", actor="treasurer")
    return UUID(ledger.register_sponsor("Vietcombank Da Nang", "organization",
                                        actor="treasurer").result["id"])


def good_rows(sponsor: UUID) -> list[list[str]]:
    """Three gifts: by sponsor id, by a new sponsor's name, and a EUR gift."""
    return [
        ["TT", str(sponsor), "", "", "1500000", "VND", "", "2025-09-01", "bank_transfer",
         "FT25244001"],
        ["TT", "", "Nguyễn Văn An", "individual", "200000", "VND", "", "2025-09-02", "cash",
         "FT25245002"],
        ["PN", "", "Famille Martin", "family", "100.50", "EUR", "2900000", "2025-09-03",
         "bank_transfer", "FT25246003"],
    ]


def csv_bytes(rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER,
              bom: bool = True) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode("utf-8")


def write_csv(path: Path, rows: Iterable[Sequence[str]], header: Sequence[str] = HEADER,
              bom: bool = True) -> Path:
    path.write_bytes(csv_bytes(rows, header, bom))
    return path


def write_xlsx(path: Path, rows: Iterable[Sequence[Any]], header: Sequence[str] = HEADER) -> Path:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Statement")
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    book.save(path)
    return path


def donations(ledger: Ledger, code: str) -> list[Any]:
    """Every DonationReceived event of a fund."""
    from ledger.domain.fund import Fund

    return [e for e in ledger.fund_events(Fund.id_for(code))
            if type(e).__name__ == "DonationReceived"]
