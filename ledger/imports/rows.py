"""One row of a donations file: its checks on its own, and the ids derived from it.

`read_row` turns a row's cells (ledger column → text) into a `DonationRow`, or reports
every cell that is wrong with it. Checks that need the ledger (does the fund exist, is the
pledge active) are the importer's. Ids are derived, not drawn, so that the same row always
names the same donation and the same sponsor, whichever run reads it.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from datetime import date
from uuid import UUID, uuid5

from ledger.domain import values
from ledger.domain.errors import InvalidInput
from ledger.domain.money import Money, exponent
from ledger.domain.sponsor import SPONSOR_KINDS

#: Namespaces of the ids an import derives (never change them: re-runs depend on them).
DONATION_NAMESPACE = UUID("0c8f2a4e-6d1b-5e3a-9f70-2b4c6d8e1a35")
SPONSOR_NAMESPACE = UUID("5a1e9c3d-7b2f-5d4e-8a60-1f3b5c7d9e24")
#: SHA-1 over the donation namespace, the start of every donation id's digest (uuid5)
_DONATION_DIGEST = hashlib.sha1(DONATION_NAMESPACE.bytes, usedforsecurity=False)

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
    """The id of the donation the bank reference names in this fund: `uuid5` over the
    donation namespace, with the namespace's share of the digest computed once."""
    digest = _DONATION_DIGEST.copy()
    digest.update(f"{fund}\x1f{reference}".encode())
    return UUID(bytes=digest.digest()[:16], version=5)


@lru_cache(maxsize=4096)
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
            return _uuid("id", explicit), "id"
        except InvalidInput:
            return None
    fund, reference = cells.get("fund", "").strip(), cells.get("reference", "").strip()
    if fund and reference:
        return donation_id_for(fund, reference), "reference"
    return None


def read_row(
    line: int, cells: dict[str, str], required: tuple[str, ...],
    key: tuple[UUID, str] | None = None,
) -> tuple[DonationRow | None, list[RowError]]:
    """The row, or every reason it is wrong on its own. `key` is `donation_key(cells)`
    when the caller has it already."""
    errors: list[RowError] = []
    cell: dict[str, str] = {}
    for name, value in cells.items():
        text = value.strip()
        if text.startswith(_FORMULA_START if name in TEXT_COLUMNS else "=") \
                or value.startswith(("\t", "\r")):
            errors.append(RowError(line, name, f"{text[:20]!r} looks like a spreadsheet "
                                               "formula; formulas are refused"))
        elif text:
            cell[name] = text
    bad = {e.column for e in errors}
    for name in required:
        if name not in bad and name not in cell:
            errors.append(RowError(line, name, "empty required cell"))
    parsed: dict[str, object] = {}
    for name, text in cell.items():
        parse = _PARSERS.get(name)
        if parse is None:
            continue
        try:
            parsed[name] = parse(text)
        except InvalidInput as e:
            errors.append(RowError(line, name, e.reason))
    amount = None
    if "amount" in cell and "currency" in parsed:
        try:
            amount = _amount(cell["amount"], cell["currency"])
        except InvalidInput as e:
            errors.append(RowError(line, "amount", e.reason))

    sponsor_id = parsed.get("sponsor_id")
    new_sponsor = None
    if "sponsor_id" not in cell and "sponsor_id" not in bad:
        name, kind = parsed.get("sponsor_name"), parsed.get("sponsor_kind")
        if "sponsor_name" not in cell and "sponsor_name" not in bad:
            errors.append(RowError(line, "sponsor_id", "empty required cell: give sponsor_id, "
                                                       "or sponsor_name and sponsor_kind"))
        elif name and "sponsor_kind" not in cell and "sponsor_kind" not in bad:
            errors.append(RowError(line, "sponsor_kind", "empty required cell (a sponsor "
                                                         "named without an id needs a kind)"))
        if isinstance(name, str) and isinstance(kind, str):
            new_sponsor = (name, kind)
            sponsor_id = sponsor_id_for(name, kind)
    if "id" not in cell and "reference" not in cell and not bad & {"id", "reference"}:
        errors.append(RowError(line, "reference", "empty required cell: each row needs the "
                                                  "bank's reference (or an id)"))
    if errors:
        return None, errors
    fund = cell["fund"]
    reference = cell.get("reference", "")
    key = key or donation_key(cells)
    return DonationRow(
        line=line,
        fund=fund,
        donation_id=key[0] if key else donation_id_for(fund, reference),
        sponsor_id=sponsor_id,  # type: ignore[arg-type]
        new_sponsor=new_sponsor,
        amount=amount,  # type: ignore[arg-type]
        credited=cell.get("credited", ""),
        received_on=parsed["received_on"],  # type: ignore[arg-type]
        method=cell["method"],
        reference=reference,
        pledge_id=parsed.get("pledge_id"),  # type: ignore[arg-type]
    ), []


@lru_cache(maxsize=4096)
def _uuid(field: str, text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput(field, f"{text[:40]!r} is not an id (UUID)") from None


def _kind(text: str) -> str:
    if text not in SPONSOR_KINDS:
        raise InvalidInput("sponsor_kind", f"must be one of {', '.join(SPONSOR_KINDS)}")
    return text


#: a file's amounts repeat (gifts of a round sum); Money is immutable, so one serves all
_amount = lru_cache(maxsize=4096)(Money.parse)


@lru_cache(maxsize=4096)
def _date(text: str) -> date:
    return values.effective_date("received_on", values.iso_date("received_on", text))


#: How each column's text is checked (amount needs the currency, so it is done apart).
_PARSERS: dict[str, Callable[[str], object]] = {
    "fund": lru_cache(maxsize=1024)(values.fund_code),
    "currency": lambda c: (exponent(c), c)[1],
    "received_on": _date,
    "method": lambda m: values.text("method", m, max_len=64),
    "reference": lambda r: values.text("reference", r, max_len=140),
    "pledge_id": lambda p: _uuid("pledge_id", p),
    "id": lambda i: _uuid("id", i),
    "sponsor_id": lambda s: _uuid("sponsor_id", s),
    "sponsor_name": lambda n: values.text("sponsor_name", n, max_len=200),
    "sponsor_kind": _kind,
}
