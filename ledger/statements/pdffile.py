"""A statement as a printable A4 PDF, with the association's heading, tables and totals.

Text is set in Source Sans Pro (see `ledger.statements.fonts`), so Vietnamese prints with
every diacritic. Tables are drawn cell by cell (fpdf2's table layout engine is several
times slower, and a run writes thousands of statements); a table that reaches the bottom
of a page continues on the next with its header repeated, and a section heading is never
left alone at the foot of a page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from fpdf import FPDF

from ledger.domain.money import Money
from ledger.statements import fonts
from ledger.statements.formatting import Lang, day, moment
from ledger.statements.formatting import money as fmt_money
from ledger.statements.labels import ASSOCIATION, label
from ledger.statements.lines import FIGURE_KEYS, FLOW_KEYS, TOTAL_KEYS
from ledger.statements.model import FundStatement, Statement

Align = Literal["L", "R", "C"]

_MARGIN = 12.0
_WIDTH = 210.0 - 2 * _MARGIN
_ROW = 4.6
_BODY = 8.0
_NOTE = 7.0
_NOTE_ROW = 3.6
_HEADER_FILL = (221, 231, 240)
_RULE = (170, 170, 170)


@dataclass(frozen=True)
class Column:
    title: str
    width: float  # a share of the page width
    align: Align = "L"


class _Document(FPDF):
    """An A4 page with the statement's running header and numbered footer."""

    def __init__(self, statement: Statement, lang: Lang) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.statement = statement
        self.lang = lang
        self.set_margins(_MARGIN, _MARGIN, _MARGIN)
        self.set_auto_page_break(auto=True, margin=_MARGIN + 4)
        fonts.install(self)
        self.set_title(f"{label('title', lang)} — {statement.sponsor.name}")
        self.set_author(ASSOCIATION[lang])
        self.set_creator("scholarship-ledger")
        self._widths: dict[tuple[str, float, str], float] = {}

    def header(self) -> None:
        if self.page_no() == 1:
            return
        self.set_font(fonts.FAMILY, "", 7)
        self.set_text_color(90, 90, 90)
        running = (f"{ASSOCIATION[self.lang]} — {label('title', self.lang)} — "
                   f"{self.statement.sponsor.name}")
        self.cell(0, 4, fonts.printable(running), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0, 0, 0)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-_MARGIN)
        self.set_font(fonts.FAMILY, "", 7)
        self.set_text_color(90, 90, 90)
        self.cell(0, 4, label("page", self.lang, page=self.page_no(), pages="{nb}"), align="R")
        self.set_text_color(0, 0, 0)

    # ---- building blocks ---------------------------------------------------------------

    def text_line(self, text: str, size: float = _BODY, style: str = "", height: float = _ROW,
                  indent: float = 0.0) -> None:
        """A paragraph, wrapped at spaces (a word longer than the line, like a hash, is cut
        where it must); laid out here, as multi_cell's line breaking is slow."""
        self.set_font(fonts.FAMILY, style, size)
        room = _WIDTH - indent
        for line in self._lines(fonts.printable(text), room):
            if self.get_y() + height > self.page_break_trigger:
                self.add_page()
                self.set_font(fonts.FAMILY, style, size)
            self.text(_MARGIN + indent, self.get_y() + height / 2 + self.font_size * 0.35, line)
            self.set_y(self.get_y() + height)

    def _lines(self, text: str, room: float) -> list[str]:
        lines: list[str] = []
        current = ""
        for word in text.split(" "):
            candidate = f"{current} {word}" if current else word
            if self._width(candidate) <= room:
                current = candidate
                continue
            if current:
                lines.append(current)
            while self._width(word) > room:
                cut = len(word)
                while cut > 1 and self._width(word[:cut]) > room:
                    cut -= 1
                lines.append(word[:cut])
                word = word[cut:]
            current = word
        lines.append(current)
        return lines

    def heading(self, text: str, size: float = 10.5, room: float = 4 * _ROW) -> None:
        """A section heading, moved to the next page when what follows would not fit."""
        if self.get_y() + room + 7 > self.page_break_trigger:
            self.add_page()
        self.ln(1.5)
        self.text_line(text, size=size, style="B", height=size * 0.5)
        self.ln(0.8)

    def table(self, columns: Sequence[Column], rows: Sequence[Sequence[str] | str],
              bold_rows: frozenset[int] = frozenset()) -> None:
        """A table; a row given as one string is a note under the row before it, set
        small across the whole width."""
        total = sum(c.width for c in columns)
        widths = [c.width / total * _WIDTH for c in columns]
        self._table_header(columns, widths)
        for index, row in enumerate(rows):
            if isinstance(row, str):
                self._note(row)
            else:
                if self.get_y() + _ROW > self.page_break_trigger:
                    self.add_page()
                    self._table_header(columns, widths)
                self.set_font(fonts.FAMILY, "B" if index in bold_rows else "", _BODY)
                # an amount is never cut: it is set smaller if it must be (see _row)
                self._row(columns, widths,
                          [fonts.printable(text) if column.align == "R" else
                           self._fit(text, width)
                           for column, text, width in zip(columns, row, widths)],
                          self.get_y())
                self.set_y(self.get_y() + _ROW)
            if index + 1 == len(rows) or not isinstance(rows[index + 1], str):
                self.set_draw_color(*_RULE)
                self.line(_MARGIN, self.get_y(), _MARGIN + _WIDTH, self.get_y())
        self.ln(1.5)

    def _note(self, text: str) -> None:
        self.set_font(fonts.FAMILY, "", _NOTE)
        for line in self._lines(fonts.printable(text), _WIDTH - 6):
            if self.get_y() + _NOTE_ROW > self.page_break_trigger:
                self.add_page()
                self.set_font(fonts.FAMILY, "", _NOTE)
            self.text(_MARGIN + 4, self.get_y() + _NOTE_ROW / 2 + self.font_size * 0.35, line)
            self.set_y(self.get_y() + _NOTE_ROW)

    def _table_header(self, columns: Sequence[Column], widths: Sequence[float]) -> None:
        """The header row; a title too long for its column takes two lines."""
        self.set_font(fonts.FAMILY, "B", _BODY)
        titles = [self._wrap(c.title, w) for c, w in zip(columns, widths)]
        lines = max(len(t) for t in titles)
        height = lines * (_ROW - 0.8) + 0.8
        top = self.get_y()
        self.set_fill_color(*_HEADER_FILL)
        self.rect(_MARGIN, top, _WIDTH, height, style="F")
        for n in range(lines):
            self._row(columns, widths, [t[n] if n < len(t) else "" for t in titles],
                      top + n * (_ROW - 0.8), _ROW - 0.8)
        self.set_y(top + height + 0.4)

    def _row(self, columns: Sequence[Column], widths: Sequence[float], texts: Sequence[str],
             top: float, height: float = _ROW) -> None:
        # text() is several times faster than cell(); positions are computed here
        baseline = top + height / 2 + self.font_size * 0.35
        x = _MARGIN
        for column, width, text in zip(columns, widths, texts):
            if text:
                if column.align == "R":
                    room = width - 2 * self.c_margin
                    size = self.font_size_pt
                    if self._width(text) > room:
                        self.set_font_size(size * room / self._width(text))
                    self.text(x + width - self.c_margin - self._width(text), baseline, text)
                    if self.font_size_pt != size:
                        self.set_font_size(size)
                else:
                    self.text(x + self.c_margin, baseline, text)
            x += width

    def _width(self, text: str) -> float:
        key = (self.font_style, self.font_size, text)
        width = self._widths.get(key)
        if width is None:
            cw = self.current_font.cw
            width = self._widths[key] = (sum(map(cw.__getitem__, map(ord, text)))
                                         * self.font_size / 1000)
        return width

    def _fit(self, text: str, width: float) -> str:
        """The text, cut with an ellipsis to fit its cell."""
        text = fonts.printable(text)
        room = width - 2 * self.c_margin
        if self._width(text) <= room:
            return text
        while text and self._width(text + "…") > room:
            text = text[:-1]
        return text + "…"

    def _wrap(self, text: str, width: float, most: int = 3) -> list[str]:
        """The words of a header on at most `most` lines, the last cut to fit."""
        lines = self._lines(fonts.printable(text), width - 2 * self.c_margin)
        if len(lines) > most:
            lines = lines[: most - 1] + [" ".join(lines[most - 1:])]
        return [self._fit(line, width) for line in lines]


def render_pdf(statement: Statement, lang: Lang) -> bytes:
    """The statement as PDF bytes."""
    pdf = _Document(statement, lang)
    pdf.add_page()
    _heading(pdf, statement, lang)
    _summary(pdf, statement, lang)
    for fund in statement.funds:
        _fund(pdf, statement, fund, lang)
    pdf.ln(2)
    pdf.text_line(label("students_note", lang), size=7.5)
    return bytes(pdf.output())


def _heading(pdf: _Document, statement: Statement, lang: Lang) -> None:
    other: Lang = "en" if lang == "vi" else "vi"
    pdf.text_line(ASSOCIATION[lang].upper(), size=13, style="B", height=6)
    pdf.text_line(ASSOCIATION[other], size=9, height=4.5)
    pdf.set_draw_color(0, 0, 0)
    pdf.line(_MARGIN, pdf.get_y() + 1, _MARGIN + _WIDTH, pdf.get_y() + 1)
    pdf.ln(4)
    pdf.text_line(label("title", lang), size=15, style="B", height=8)
    start, end = statement.period.from_, statement.period.to
    for key, value in (
        ("sponsor", statement.sponsor.name),
        ("period", label("period_range", lang, start=day(start, lang), end=day(end, lang))),
        ("known_at", moment(statement.known_at, lang)),
    ):
        top = pdf.get_y()
        pdf.text_line(label(key, lang), size=9.5, style="B", height=5.2)
        pdf.set_y(top)
        pdf.text_line(value, size=9.5, height=5.2, indent=42)


def _summary(pdf: _Document, statement: Statement, lang: Lang) -> None:
    pdf.heading(label("summary", lang), size=12)
    if not statement.funds:
        pdf.text_line(label("no_funds", lang))
        return
    columns = [Column(label("fund", lang), 34)] + [
        Column(label(key, lang), 22, "R") for key in ("opening_given", "received", "reversed",
                                                      "closing_given", "closing_outstanding",
                                                      "closing_overdue")]
    keys = ("opening_given", "received", "reversed", "closing_given", "closing_outstanding",
            "closing_overdue")
    rows = [[f"{f.name} ({f.code})"] + [_m(getattr(f.totals, k), lang) for k in keys]
            for f in statement.funds]
    totals = [[f"{label('total', lang)} ({t.currency})"] + [_m(getattr(t, k), lang) for k in keys]
              for t in statement.totals]
    pdf.table(columns, rows + totals, bold_rows=frozenset(range(len(rows), len(rows) + len(totals))))


def _fund(pdf: _Document, statement: Statement, fund: FundStatement, lang: Lang) -> None:
    pdf.heading(f"{label('fund', lang)}: {fund.name} ({fund.code})", size=12, room=10 * _ROW)
    pdf.text_line(f"{label('digest', lang)}: "
                  + label("digest_line", lang, seq=fund.digest.seq, hash=fund.digest.hash),
                  size=7.5, height=3.8)
    pdf.text_line(label("digest_note", lang, seq=fund.digest.seq, fund=fund.code), size=7,
                  height=3.4)

    pdf.heading(label("your_totals", lang))
    pdf.table([Column(label("description", lang), 70), Column(label("amount", lang), 30, "R")],
              [[label(k, lang), _m(getattr(fund.totals, k), lang)] for k in TOTAL_KEYS],
              bold_rows=frozenset({5}))

    if fund.pledges:
        pdf.heading(label("pledges", lang))
        rows, bold = [], set()
        for p in fund.pledges:
            bold.add(len(rows))
            rows.append([f"{label('pledge', lang)} {day(p.pledged_on, lang)}",
                         label(p.status, lang) + (f" {day(p.cancelled_on, lang)}"
                                                  if p.cancelled_on else ""),
                         _m(p.amount, lang), _m(p.paid, lang), _m(p.outstanding, lang),
                         _m(p.overdue, lang)])
            for i in p.schedule:
                rows.append([f"   {label('due', lang)} {day(i.due, lang)}",
                             label("overdue", lang) if i.overdue else "",
                             _m(i.amount, lang), _m(i.paid, lang), _m(i.outstanding, lang),
                             _m(i.outstanding, lang) if i.overdue else ""])
        pdf.table([Column(label("date", lang), 24), Column(label("status", lang), 18),
                   Column(label("amount", lang), 19, "R"), Column(label("paid", lang), 19, "R"),
                   Column(label("outstanding", lang), 19, "R"),
                   Column(label("overdue", lang), 19, "R")], rows, frozenset(bold))

    if fund.gifts:
        pdf.heading(label("gifts", lang))
        pdf.table(
            [Column(label("date", lang), 14), Column(label("description", lang), 40),
             Column(label("original_amount", lang), 22, "R"),
             Column(label("credited", lang), 22, "R")],
            [[day(g.received_on, lang),
              " · ".join(x for x in (g.method, g.reference) if x)
              + (f" ({label('reversed_mark', lang)})" if g.reversed else ""),
              _m(g.amount, lang), _m(g.credited, lang)] for g in fund.gifts],
        )

    if fund.reversals:
        pdf.heading(label("reversals", lang))
        pdf.table([Column(label("date", lang), 14), Column(label("reason", lang), 62),
                   Column(label("amount", lang), 22, "R")],
                  [[day(r.reversed_on, lang), r.reason, _m(r.credited, lang)]
                   for r in fund.reversals])

    _fund_activity(pdf, fund, lang)


def _fund_activity(pdf: _Document, fund: FundStatement, lang: Lang) -> None:
    activity = fund.activity
    pdf.heading(label("fund_activity", lang), size=11, room=8 * _ROW)
    pdf.table([Column(label("fund_flow", lang), 70), Column(label("amount", lang), 30, "R")],
              [[label(f"flow_{k}", lang), _m(getattr(activity, k), lang)] for k in FLOW_KEYS])
    if activity.by_group:
        # Each group lists its students by initials only (* revoked); the award-by-award
        # amounts are in the JSON, CSV and XLSX statements.
        students: dict[tuple[str, str, str], list[str]] = {}
        for a in activity.awards:
            students.setdefault((a.round, a.school, a.category), []).append(
                a.initials + ("*" if a.revoked_on else ""))
        rows: list[Sequence[str] | str] = []
        for g in activity.by_group:
            rows.append([g.round, g.school, g.category, str(g.awards), _m(g.granted, lang),
                         _m(g.paid, lang), _m(g.returned, lang)])
            rows.append(f"{label('students', lang)}: "
                        + ", ".join(students.get((g.round, g.school, g.category), [])))
        pdf.heading(label("award_group", lang))
        pdf.table(
            [Column(label("round", lang), 29), Column(label("school", lang), 30),
             Column(label("category", lang), 18), Column(label("count", lang), 10, "R"),
             Column(label("granted", lang), 16, "R"), Column(label("award_paid", lang), 16, "R"),
             Column(label("returned", lang), 14, "R")],
            rows,
        )
        if any(a.revoked_on for a in activity.awards):
            pdf.text_line(label("revoked_note", lang), size=_NOTE)
    pdf.heading(label("fund_figures", lang))
    pdf.table([Column(label("description", lang), 50),
               Column(label("fund_opening", lang), 25, "R"),
               Column(label("fund_closing", lang), 25, "R")],
              [[label(k, lang), _m(getattr(activity.opening, k), lang),
                _m(getattr(activity.closing, k), lang)] for k in FIGURE_KEYS])


def _m(amount: Money, lang: Lang) -> str:
    return fmt_money(amount, lang)
