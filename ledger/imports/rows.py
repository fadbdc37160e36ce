"""One row of a donations file: its checks on its own, and the ids derived from it.

`read_row` turns a row's cells (ledger column → text) into a `DonationRow`, or reports
every cell that is wrong with it. Checks that need the ledger (does the fund exist, is the
pledge active) are the importer's. Ids are derived, not drawn, so that the same row always
names the same donation and the same sponsor, whichever run reads it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from uuid import UUID, uuid5

from ledger.domain import values
from ledger.domain.errors import InvalidInput
from ledger.domain.money import Money, exponent
from ledger.domain.sponsor import SPONSOR_KINDS

#: Namespaces of the ids an import derives (never change them: re-runs depend on them).
DONATION_NAMESPACE = UUID("0c8f2a4e-6d1b-5e3a-9f70-2b4c6d8e1a35")
SPONSOR_NAMESPACE = UUID("5a1e9c3d-7b2f-5d4e-8a60-1f3b5c7d9e24")

#: Free-text columns, where a leading =, +, - or @ would run as a formula in a spreadsheet.
TEXT_COLUMNS = ("fund", "sponsor_name", "sponsor_kind", "currency", "method", "reference")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row of the file is refused: its line number, the column and the reason."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DonationRow:
    """A row that is well-formed on its own. `credited` stays text until the fund's
    currency is known; `new_sponsor` is (name, kind) when the sponsor is named, not id'd."""

    line: int
    fund: str
    donation_id: UUID
    sponsor_id: UUID
    new_sponsor: tuple[str, str] | None
    amount: Money
    credited: str
    received_on: date
    method: str
    reference: str
    pledge_id: UUID | None


def donation_id_for(fund: str, reference: str) -> UUID:
    """The id of the donation the bank reference names in this fund."""
    return uuid5(DONATION_NAMESPACE, f"{fund}\x1f{reference}")


def sponsor_id_for(name: str, kind: str) -> UUID:
    """The id of a sponsor named in a file: the same for the same name and kind, whatever
    the case, spacing or Unicode normal form of the name."""
    key = " ".join(unicodedata.normalize("NFC", name).casefold().split())
    return uuid5(SPONSOR_NAMESPACE, f"{kind}\x1f{key}")


def donation_key(cells: dict[str, str]) -> tuple[UUID, str] | None:
    """The donation id a row names and the column it comes from, if it names one."""
    explicit = cells.get("id", "").strip()
    if explicit:
        try:
            return UUID(explicit), "id"
        except ValueError:
            return None
    fund, reference = cells.get("fund", "").strip(), cells.get("reference", "").strip()
    if fund and reference:
        return donation_id_for(fund, reference), "reference"
    return None


def read_row(
    line: int, cells: dict[str, str], required: tuple[str, ...]
) -> tuple[DonationRow | None, list[RowError]]:
    """The row, or every reason it is wrong on its own."""
    errors: list[RowError] = []

    def fail(column: str, reason: str) -> None:
        errors.append(RowError(line, column, reason))

    for name, value in cells.items():
        stripped = value.strip()
        if value.startswith(("\t", "\r")) or stripped.startswith("=") or (
            name in TEXT_COLUMNS and stripped.startswith(_FORMULA_START)
        ):
            fail(name, f"{stripped[:20]!r} looks like a spreadsheet formula; "
                       "formulas are refused")
    bad = {e.column for e in errors}
    cell = {name: value.strip() for name, value in cells.items() if name not in bad}
    for name in required:
        if name not in bad and not cell.get(name):
            fail(name, "empty required cell")

    def check(column: str, parse):  # type: ignore[no-untyped-def]
        if column in bad or not cell.get(column):
            return None
        try:
            return parse(cell[column])
        except InvalidInput as e:
            fail(column, e.reason)
        return None

    fund = check("fund", values.fund_code)
    currency = check("currency", lambda c: (exponent(c), c)[1])
    amount = check("amount", lambda a: Money.parse(a, currency)) if currency else None
    received_on = check("received_on", lambda d: values.iso_date("received_on", d))
    method = check("method", lambda m: values.text("method", m, max_len=64))
    reference = check("reference", lambda r: values.text("reference", r, max_len=140))
    pledge_id = check("pledge_id", lambda p: _uuid("pledge_id", p))
    explicit_id = check("id", lambda i: _uuid("id", i))

    sponsor_id = check("sponsor_id", lambda s: _uuid("sponsor_id", s))
    new_sponsor = None
    if sponsor_id is None and "sponsor_id" not in {e.column for e in errors}:
        name = check("sponsor_name", lambda n: values.text("sponsor_name", n, max_len=200))
        kind = check("sponsor_kind", _kind)
        if not cell.get("sponsor_name") and "sponsor_name" not in bad:
            fail("sponsor_id", "empty required cell: give sponsor_id, or sponsor_name and "
                               "sponsor_kind")
        elif name and not cell.get("sponsor_kind") and "sponsor_kind" not in bad:
            fail("sponsor_kind", "empty required cell (a sponsor named without an id needs "
                                 "a kind)")
        if name and kind:
            new_sponsor = (name, kind)
            sponsor_id = sponsor_id_for(name, kind)
    if explicit_id is None and not cell.get("reference") and "id" not in bad \
            and "reference" not in bad:
        fail("reference", "empty required cell: each row needs the bank's reference "
                          "(or an id)")

    if errors:
        return None, errors
    assert fund and amount and received_on and method and sponsor_id  # checked above
    return DonationRow(
        line=line,
        fund=fund,
        donation_id=explicit_id or donation_id_for(fund, reference or ""),
        sponsor_id=sponsor_id,
        new_sponsor=new_sponsor,
        amount=amount,
        credited=cell.get("credited", ""),
        received_on=received_on,
        method=method,
        reference=reference or "",
        pledge_id=pledge_id,
    ), []


def _uuid(field: str, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput(field, f"{text[:40]!r} is not an id (UUID)") from None


def _kind(text: str) -> str:
    if text not in SPONSOR_KINDS:
        raise InvalidInput("sponsor_kind", f"must be one of {', '.join(SPONSOR_KINDS)}")
    return text
