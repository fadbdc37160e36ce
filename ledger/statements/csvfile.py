"""A statement as a CSV file that Excel opens correctly and cannot be turned against.

UTF-8 with a byte-order mark, so Excel reads Vietnamese text as UTF-8 rather than the
reader's ANSI code page. Amounts are plain decimal numbers (`1500000`, `12000.50`) with a
currency column, so a spreadsheet sums them exactly; dates and words are in the language.
Every cell that a spreadsheet could take for a formula (it begins with = + - @, a tab or a
carriage return) is neutralised with a leading apostrophe: a sponsor's name, a reference
or a reason is text typed by someone, and must never run as a formula (CSV injection).
"""

from __future__ import annotations

import csv
import io

from ledger.domain.money import Money
from ledger.statements.formatting import Lang, day
from ledger.statements.labels import label
from ledger.statements.lines import COLUMNS, Line, statement_lines
from ledger.statements.model import Statement

BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """The cell as inert text: prefixed with an apostrophe if it could start a formula."""
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def render_csv(statement: Statement, lang: Lang) -> bytes:
    """The statement as CSV bytes (UTF-8 with BOM, CRLF line ends as RFC 4180 says)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([label(column, lang) for column in COLUMNS])
    for line in statement_lines(statement, lang):
        writer.writerow([neutralise(cell) for cell in _cells(line, lang)])
    return (BOM + out.getvalue()).encode("utf-8")


def _cells(line: Line, lang: Lang) -> list[str]:
    given = line.given
    return [
        line.fund,
        label(line.section, lang),
        day(line.day, lang),
        line.description,
        line.school,
        line.category,
        _amount(given),
        given.currency if given else "",
        _amount(line.amount),
        _amount(line.paid),
        _amount(line.outstanding),
        _amount(line.overdue),
        _amount(line.returned),
        line.currency,
    ]


def _amount(value: Money | None) -> str:
    return "" if value is None else value.text
