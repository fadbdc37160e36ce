"""A statement as an Excel workbook: a summary sheet, then one sheet per fund.

Amounts are real numeric cells, exact: an `int` for a currency without decimals (VND,
JPY) and a `Decimal` for one with (EUR, USD), never a float computed from money; an
amount of more than 15 digits, which a spreadsheet number would round, is its text. Each has
a number format showing its currency; dates are real date cells. The header row of every
sheet is frozen. Text is always a string cell, so a name beginning with `=` is shown, not
evaluated. The workbook is streamed (openpyxl's write-only mode) to stay fast for
thousands of statements.
"""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from ledger.domain.money import Money, exponent
from ledger.statements.formatting import (
    Lang,
    excel_date_format,
    excel_number_format,
    moment,
    money,
)
from ledger.statements.labels import ASSOCIATION, label
from ledger.statements.lines import COLUMNS, TOTAL_KEYS, Line, fund_lines
from ledger.statements.model import Statement

_BOLD = Font(bold=True)
_TITLE = Font(bold=True, size=14)
_HEADER_FILL = PatternFill("solid", fgColor="DDE7F0")
_WRAP = Alignment(wrap_text=True, vertical="top")
_RIGHT = Alignment(horizontal="right")
#: the fund sheets leave out the fund column (the sheet is the fund)
_FUND_COLUMNS = COLUMNS[1:]
_SUMMARY_COLUMNS = ("fund", "fund_name", "currency", *TOTAL_KEYS)
_WIDTHS = {"section": 24, "date": 12, "description": 44, "school": 30, "category": 20,
           "fund_name": 40, "original_currency": 10, "currency": 9}


#: the significant digits a spreadsheet number keeps (Excel stores a double): an amount of
#: more digits goes in as text, exactly as the statement formats it, never rounded
EXCEL_DIGITS = 15


def excel_value(amount: Money) -> int | Decimal:
    """The exact number a cell holds for an amount: int or Decimal, in major units."""
    exp = exponent(amount.currency)
    return amount.minor if exp == 0 else Decimal(amount.minor).scaleb(-exp)


def sheet_title(code: str, taken: set[str]) -> str:
    """A sheet name for a fund: at most 31 characters, unique in the workbook."""
    title = code[:31]
    n = 2
    while title.lower() in taken:
        suffix = f"~{n}"
        title = code[: 31 - len(suffix)] + suffix
        n += 1
    taken.add(title.lower())
    return title


def render_xlsx(statement: Statement, lang: Lang) -> bytes:
    workbook = Workbook(write_only=True)
    sheets = _Sheets(workbook, lang)
    sheets.summary(statement)
    taken = {label("summary", lang).lower()}
    for fund in statement.funds:
        sheets.fund(sheet_title(fund.code, taken), list(fund_lines(statement, fund, lang)))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


class _Sheets:
    def __init__(self, workbook: Workbook, lang: Lang) -> None:
        self.workbook = workbook
        self.lang = lang
        self.date_format = excel_date_format(lang)
        self._formats: dict[str, str] = {}

    def summary(self, statement: Statement) -> None:
        lang = self.lang
        ws = self.workbook.create_sheet(label("summary", lang))
        self._widths(ws, _SUMMARY_COLUMNS)
        ws.freeze_panes = "A8"
        start, end = statement.period.from_, statement.period.to
        ws.append([self._text(ws, ASSOCIATION[lang], _TITLE)])
        ws.append([self._text(ws, label("title", lang), _BOLD)])
        ws.append([self._text(ws, label("sponsor", lang), _BOLD),
                   self._text(ws, statement.sponsor.name)])
        ws.append([self._text(ws, label("period", lang), _BOLD), self._date(ws, start),
                   self._date(ws, end)])
        ws.append([self._text(ws, label("known_at", lang), _BOLD),
                   self._text(ws, moment(statement.known_at, lang))])
        ws.append([])
        ws.append(self._header(ws, _SUMMARY_COLUMNS))
        for fund in statement.funds:
            ws.append([self._text(ws, fund.code), self._text(ws, fund.name),
                       self._text(ws, fund.currency)]
                      + [self._money(ws, getattr(fund.totals, key)) for key in TOTAL_KEYS])
        for totals in statement.totals:
            ws.append([self._text(ws, label("total", lang), _BOLD), None,
                       self._text(ws, totals.currency, _BOLD)]
                      + [self._money(ws, getattr(totals, key), _BOLD) for key in TOTAL_KEYS])
        if not statement.funds:
            ws.append([self._text(ws, label("no_funds", lang))])

    def fund(self, title: str, lines: list[Line]) -> None:
        ws = self.workbook.create_sheet(title)
        self._widths(ws, _FUND_COLUMNS)
        ws.freeze_panes = "A2"
        ws.append(self._header(ws, _FUND_COLUMNS))
        for line in lines:
            given = line.given
            ws.append([
                self._text(ws, label(line.section, self.lang)),
                self._date(ws, line.day),
                self._text(ws, line.description),
                self._text(ws, line.school),
                self._text(ws, line.category),
                self._money(ws, given),
                self._text(ws, given.currency if given else ""),
                self._money(ws, line.amount),
                self._money(ws, line.paid),
                self._money(ws, line.outstanding),
                self._money(ws, line.overdue),
                self._money(ws, line.returned),
                self._text(ws, line.currency),
            ])

    # ---- cells -------------------------------------------------------------------------

    def _header(self, ws: Any, columns: tuple[str, ...]) -> list[WriteOnlyCell]:
        cells = []
        for column in columns:
            cell = self._text(ws, label(column, self.lang), _BOLD)
            cell.fill = _HEADER_FILL
            cell.alignment = _WRAP
            cells.append(cell)
        return cells

    def _widths(self, ws: Any, columns: tuple[str, ...]) -> None:
        for index, column in enumerate(columns, start=1):
            ws.column_dimensions[get_column_letter(index)].width = _WIDTHS.get(column, 16)

    @staticmethod
    def _text(ws: Any, value: str, font: Font | None = None) -> WriteOnlyCell | None:
        if not value:
            return None
        cell = WriteOnlyCell(ws, value)
        # openpyxl takes a string starting with "=" for a formula: text stays text
        cell.data_type = "s"
        if font is not None:
            cell.font = font
        return cell

    def _date(self, ws: Any, value: date | None) -> WriteOnlyCell | None:
        if value is None:
            return None
        cell = WriteOnlyCell(ws, value)
        cell.number_format = self.date_format
        return cell

    def _money(self, ws: Any, amount: Money | None, font: Font | None = None) -> Any:
        if amount is None:
            return None
        if len(str(abs(amount.minor))) > EXCEL_DIGITS:
            cell = WriteOnlyCell(ws, money(amount, self.lang))
            cell.alignment = _RIGHT
        else:
            cell = WriteOnlyCell(ws, excel_value(amount))
            fmt = self._formats.get(amount.currency)
            if fmt is None:
                fmt = self._formats[amount.currency] = excel_number_format(amount.currency,
                                                                           self.lang)
            cell.number_format = fmt
        if font is not None:
            cell.font = font
        return cell
