"""A statement as one flat table of lines: what the CSV file and the XLSX fund sheets hold.

Every line has the same columns, so a spreadsheet can filter and sum them: the fund, the
section (a label key), a date, a description, a school and category (award lines), the
amount a sponsor gave in its own currency (gift lines), and amounts in the fund's currency.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from ledger.domain.money import Money
from ledger.statements.formatting import LOCAL_TZ, Lang, day, moment
from ledger.statements.labels import label
from ledger.statements.model import FundFigures, FundStatement, SponsorTotals, Statement

#: The amount columns of a line, in order, with their label keys.
AMOUNT_COLUMNS = ("amount", "paid", "outstanding", "overdue", "returned")

#: The columns of the table, as label keys.
COLUMNS = ("fund", "section", "date", "description", "school", "category",
           "original_amount", "original_currency", *AMOUNT_COLUMNS, "currency")

TOTAL_KEYS = tuple(SponsorTotals.model_fields)
FIGURE_KEYS = tuple(FundFigures.model_fields)
FLOW_KEYS = ("received", "reversed", "transferred_in", "transferred_out", "allocated",
             "released", "granted", "disbursed", "returned")


@dataclass(frozen=True)
class Line:
    """One line of the statement; amounts are in the fund's currency, except `given`."""

    section: str
    fund: str = ""
    day: date | None = None
    description: str = ""
    school: str = ""
    category: str = ""
    given: Money | None = None
    amount: Money | None = None
    paid: Money | None = None
    outstanding: Money | None = None
    overdue: Money | None = None
    returned: Money | None = None

    @property
    def currency(self) -> str:
        for column in AMOUNT_COLUMNS:
            value = getattr(self, column)
            if value is not None:
                return value.currency
        return ""


def statement_lines(statement: Statement, lang: Lang) -> Iterator[Line]:
    """The heading lines, each fund's lines, then the totals per currency."""
    start, end = statement.period.from_, statement.period.to
    yield Line("sponsor", description=statement.sponsor.name)
    yield Line("period", day=start, description=label(
        "period_range", lang, start=day(start, lang), end=day(end, lang)))
    yield Line("known_at", day=statement.known_at.astimezone(LOCAL_TZ).date(),
               description=moment(statement.known_at, lang))
    for fund in statement.funds:
        yield from fund_lines(statement, fund, lang)
    for totals in statement.totals:
        for key in TOTAL_KEYS:
            yield Line("total", day=end, description=label(key, lang),
                       amount=getattr(totals, key))


def fund_lines(statement: Statement, fund: FundStatement, lang: Lang) -> Iterator[Line]:
    """Everything the statement says about one fund."""
    start, end = statement.period.from_, statement.period.to
    code = fund.code
    yield Line("fund", code, description=fund.name)
    yield Line("digest", code, fund.digest.effective_through, label(
        "digest_line", lang, seq=fund.digest.seq, hash=fund.digest.hash))
    for key in ("opening_given", "opening_outstanding"):
        yield Line(key, code, start, label(key, lang), amount=getattr(fund.totals, key))
    for p in fund.pledges:
        yield Line("pledge", code, p.pledged_on, label(p.status, lang), amount=p.amount,
                   paid=p.paid, outstanding=p.outstanding, overdue=p.overdue)
        for i in p.schedule:
            zero = Money(0, i.amount.currency)
            yield Line("instalment", code, i.due, label("overdue", lang) if i.overdue else "",
                       amount=i.amount, paid=i.paid, outstanding=i.outstanding,
                       overdue=i.outstanding if i.overdue else zero)
    for g in fund.gifts:
        text = " · ".join(part for part in (g.method, g.reference) if part)
        if g.reversed:
            text += f" ({label('reversed_mark', lang)})"
        yield Line("gift", code, g.received_on, text, given=g.amount, amount=g.credited)
    for r in fund.reversals:
        yield Line("reversal", code, r.reversed_on, r.reason, amount=r.credited)
    for key in TOTAL_KEYS[2:]:
        yield Line(key, code, end, label(key, lang), amount=getattr(fund.totals, key))
    activity = fund.activity
    for a in activity.awards:
        text = f"{a.round} — {a.initials}"
        if a.revoked_on is not None:
            text += f" ({label('revoked', lang, day=day(a.revoked_on, lang))})"
        yield Line("award", code, a.granted_on, text, a.school, a.category, amount=a.amount,
                   paid=a.paid, returned=a.returned)
    for g in activity.by_group:
        yield Line("award_group", code, None, f"{g.round} · {label('count', lang)}: {g.awards}",
                   g.school, g.category, amount=g.granted, paid=g.paid, returned=g.returned)
    for key in FLOW_KEYS:
        yield Line("fund_flow", code, None, label(f"flow_{key}", lang),
                   amount=getattr(activity, key))
    for section, figures, on in (("fund_opening", activity.opening, start),
                                 ("fund_closing", activity.closing, end)):
        for key in FIGURE_KEYS:
            yield Line(section, code, on, label(key, lang), amount=getattr(figures, key))
