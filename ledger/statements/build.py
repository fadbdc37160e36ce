"""Builds sponsor statements from the funds' raw events.

The sponsor's figures are a fold of the sponsor's own events in the fund, with the same
rules as `Fund` (seq order, filtered by effective date, a gift applies to a pledge only if
the pledge is in the filtered history), so the totals of every sponsor of a fund add up
to the fund's replayed figures. The fund's part of a statement (its figures, what it did
over the period, the digest of its history) is the same for every sponsor, so it is built
once per fund and period and shared: `StatementBuilder` builds many statements from one
reading of the events.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from ledger.application import Ledger, today
from ledger.domain import values
from ledger.domain.errors import InvalidInput
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.statements.books import FundBook, read_books
from ledger.statements.model import (
    AwardGroup,
    AwardLine,
    CurrencyTotals,
    Digest,
    FundActivity,
    FundFigures,
    FundStatement,
    Gift,
    Instalment,
    Period,
    Pledge,
    Reversal,
    SponsorRef,
    SponsorTotals,
    Statement,
)
from ledger.statements.privacy import initials

#: The earliest day a statement may start: the ledger keeps no effective date before it.
EARLIEST = values.EARLIEST_DATE


def period(start: date | None, end: date | None) -> tuple[date, date]:
    """The period a request names: by default from 1 January of the end's year to today."""
    end = end or today()
    start = start or date(end.year, 1, 1)
    if start < EARLIEST:
        raise InvalidInput("from", f"must be on or after {EARLIEST.isoformat()}")
    if start > end:
        raise InvalidInput("from", "must be on or before to")
    return start, end


def build_statement(
    ledger: Ledger,
    sponsor_id: UUID,
    start: date | None = None,
    end: date | None = None,
    known_at: datetime | None = None,
) -> Statement:
    """One sponsor's statement, from every fund's events (SponsorNotFound if unknown)."""
    sponsor = ledger.sponsor(sponsor_id)
    start, end = period(start, end)
    return StatementBuilder(read_books(ledger), start, end, known_at).build(sponsor)


@dataclass
class _PledgeState:
    pledged_on: str
    amount: int
    schedule: list[tuple[str, int]]
    applied: int = 0
    active: bool = True
    cancelled_on: str | None = None


@dataclass
class _SponsorFold:
    """The sponsor's part of a fund, folded from their events effective by a cutoff."""

    given: int = 0
    pledges: dict[str, _PledgeState] = field(default_factory=dict)
    reversed_ids: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, events: Sequence[Any], cutoff: str) -> _SponsorFold:
        fold = cls()
        for e in events:
            if e.effective_on > cutoff:
                continue
            kind = type(e).__name__
            if kind == "PledgeMade":
                fold.pledges[e.pledge_id] = _PledgeState(
                    e.effective_on, e.amount_minor,
                    [(i["due"], i["amount_minor"]) for i in e.schedule])
            elif kind == "PledgeCancelled":
                if e.pledge_id in fold.pledges:
                    fold.pledges[e.pledge_id].active = False
                    fold.pledges[e.pledge_id].cancelled_on = e.effective_on
            elif kind == "DonationReceived":
                fold.given += e.credited_minor
                if e.pledge_id in fold.pledges:
                    fold.pledges[e.pledge_id].applied += e.credited_minor
            elif kind == "DonationReversed":
                fold.given -= e.credited_minor
                fold.reversed_ids.add(e.donation_id)
                if e.pledge_id in fold.pledges:
                    fold.pledges[e.pledge_id].applied -= e.credited_minor
        return fold

    def outstanding(self, pledge_id: str | None = None) -> int:
        """Σ over active pledges of max(0, pledged − applied), as `Fund` counts it."""
        pledges = self.pledges.values() if pledge_id is None else [self.pledges[pledge_id]]
        return sum(max(0, p.amount - p.applied) for p in pledges if p.active)


class StatementBuilder:
    """Builds the statements of any number of sponsors for one period from fund books."""

    def __init__(
        self,
        books: Sequence[FundBook],
        start: date,
        end: date,
        known_at: datetime | None = None,
    ) -> None:
        self.start, self.end = period(start, end)
        self.known_at = known_at or datetime.now(timezone.utc)
        self._first = self.start.isoformat()
        self._last = self.end.isoformat()
        self._before = (self.start - timedelta(days=1)).isoformat()
        known = (book.known_at(self.known_at) for book in books)
        self.books = [book for book in known if book is not None]
        self._fund_parts: dict[str, tuple[Digest, FundActivity]] = {}

    def sponsor_ids(self) -> list[str]:
        """Every sponsor with a pledge or gift effective by the period's end, in the order
        they first appear."""
        seen: dict[str, None] = {}
        for book in self.books:
            for sponsor_id, events in book.by_sponsor.items():
                if any(e.effective_on <= self._last for e in events):
                    seen.setdefault(sponsor_id, None)
        return list(seen)

    def build(self, sponsor: dict[str, str]) -> Statement:
        """The statement of one sponsor (`{"id", "name", "kind"}` as `Ledger.sponsor` gives)."""
        funds = []
        for book in self.books:
            events = book.by_sponsor.get(sponsor["id"], ())
            if any(e.effective_on <= self._last for e in events):
                funds.append(self._fund_statement(book, events))
        return Statement(
            sponsor=SponsorRef(id=sponsor["id"], name=sponsor["name"], kind=sponsor["kind"]),
            period=Period(from_=self.start, to=self.end),
            known_at=self.known_at,
            funds=funds,
            totals=_currency_totals(funds),
        )

    # ---- the sponsor's part ------------------------------------------------------------

    def _fund_statement(self, book: FundBook, events: Sequence[Any]) -> FundStatement:
        money = _money_of(book.currency)
        opening = _SponsorFold.of(events, self._before)
        closing = _SponsorFold.of(events, self._last)
        in_period = [e for e in events if self._first <= e.effective_on <= self._last]
        kinds = defaultdict(list)
        for e in in_period:
            kinds[type(e).__name__].append(e)
        gifts = [
            Gift(
                donation_id=e.donation_id, received_on=e.effective_on,
                amount=Money.of(e.amount_minor, e.amount_currency), credited=money(e.credited_minor),
                method=e.method, reference=e.reference, pledge_id=e.pledge_id,
                reversed=e.donation_id in closing.reversed_ids,
            )
            for e in kinds["DonationReceived"]
        ]
        reversals = [
            Reversal(donation_id=e.donation_id, reversed_on=e.effective_on,
                     credited=money(e.credited_minor), reason=e.reason)
            for e in kinds["DonationReversed"]
        ]
        touched = {e.pledge_id for e in in_period if getattr(e, "pledge_id", None)}
        pledges = [
            self._pledge(pledge_id, state, money)
            for pledge_id, state in closing.pledges.items()
            if pledge_id in touched
            or (pledge_id in opening.pledges and opening.outstanding(pledge_id) > 0)
        ]
        totals = SponsorTotals(
            opening_given=money(opening.given),
            opening_outstanding=money(opening.outstanding()),
            pledged=money(sum(e.amount_minor for e in kinds["PledgeMade"])),
            received=money(sum(g.credited.minor for g in gifts)),
            reversed=money(sum(r.credited.minor for r in reversals)),
            closing_given=money(closing.given),
            closing_outstanding=money(closing.outstanding()),
            closing_overdue=money(sum(p.overdue.minor for p in pledges)),
        )
        digest, activity = self._fund_part(book)
        return FundStatement(
            code=book.code, name=book.name, currency=book.currency, digest=digest,
            totals=totals, pledges=pledges, gifts=gifts, reversals=reversals, activity=activity,
        )

    def _pledge(self, pledge_id: str, state: _PledgeState, money: Any) -> Pledge:
        # Payments cover the instalments in due order; a cancelled pledge owes nothing.
        pool = max(0, state.applied)
        schedule = []
        for due, amount in state.schedule:
            paid = min(amount, pool)
            pool -= paid
            owed = amount - paid if state.active else 0
            schedule.append(Instalment(due=due, amount=money(amount), paid=money(paid),
                                       outstanding=money(owed),
                                       overdue=owed > 0 and due <= self._last))
        overdue = sum(i.outstanding.minor for i in schedule if i.overdue)
        return Pledge(
            pledge_id=pledge_id, pledged_on=state.pledged_on, amount=money(state.amount),
            status="active" if state.active else "cancelled", cancelled_on=state.cancelled_on,
            paid=money(state.applied),
            outstanding=money(max(0, state.amount - state.applied) if state.active else 0),
            overdue=money(overdue), schedule=schedule,
        )

    # ---- the fund's part, shared by every sponsor --------------------------------------

    def _fund_part(self, book: FundBook) -> tuple[Digest, FundActivity]:
        part = self._fund_parts.get(book.code)
        if part is None:
            part = self._fund_parts[book.code] = (self._digest(book), self._activity(book))
        return part

    def _digest(self, book: FundBook) -> Digest:
        last = book.events[0]
        for e in book.events:
            if e.effective_on <= self._last:
                last = e
        return Digest(fund=book.code, seq=last.originator_version, hash=last.hash,
                      effective_through=self.end)

    def _activity(self, book: FundBook) -> FundActivity:
        money = _money_of(book.currency)
        flows: dict[str, int] = defaultdict(int)
        rounds: dict[str, str] = {}
        awards: dict[str, dict[str, Any]] = {}
        for e in book.events:
            kind = type(e).__name__
            if kind == "AllocationMade":
                rounds[e.allocation_id] = e.name
            elif kind == "AwardGranted":
                awards[e.award_id] = {"event": e, "paid": 0, "returned": 0, "revoked_on": None,
                                      "in_period": False}
            if not e.effective_on <= self._last:
                continue
            in_period = e.effective_on >= self._first
            award = awards.get(getattr(e, "award_id", None))
            if kind == "AwardRevoked" and award is not None:
                award["revoked_on"] = e.effective_on
                award["in_period"] |= in_period
            if not in_period:
                continue
            flow = _FLOWS.get(kind)
            if flow is not None:
                # a gift's amount_minor is in the gift's currency; the fund books credited_minor
                credited = kind in ("DonationReceived", "DonationReversed")
                flows[flow] += e.credited_minor if credited else e.amount_minor
            if award is not None:
                award["in_period"] = True
                if kind == "AwardDisbursed":
                    award["paid"] += e.amount_minor
                elif kind == "AwardReturned":
                    award["returned"] += e.amount_minor
        lines = sorted(
            # an award paid in the period shows even if its grant is dated later (backdating)
            (self._award_line(a, rounds, money) for a in awards.values() if a["in_period"]),
            key=lambda line: (line.round, line.school, line.category, line.granted_on,
                              line.initials),
        )
        return FundActivity(
            opening=_figures(Fund.replay(book.events, as_of=self.start - timedelta(days=1))),
            **{name: money(flows[name]) for name in _FLOWS.values()},
            awards=lines,
            by_group=_groups(lines, money),
            closing=_figures(Fund.replay(book.events, as_of=self.end)),
        )

    def _award_line(self, award: dict[str, Any], rounds: dict[str, str], money: Any) -> AwardLine:
        granted = award["event"]
        recipient = granted.recipient
        return AwardLine(
            round=rounds.get(granted.allocation_id, ""),
            initials=initials(recipient["name"]),
            school=recipient["school"],
            category=recipient.get("category") or "",
            granted_on=granted.effective_on,
            amount=money(granted.amount_minor),
            granted_in_period=self._first <= granted.effective_on <= self._last,
            paid=money(award["paid"]),
            returned=money(award["returned"]),
            revoked_on=award["revoked_on"],
        )


#: Event type → the period flow of `FundActivity` it adds to.
_FLOWS = {
    "DonationReceived": "received",
    "DonationReversed": "reversed",
    "TransferredIn": "transferred_in",
    "TransferredOut": "transferred_out",
    "AllocationMade": "allocated",
    "AllocationReleased": "released",
    "AwardGranted": "granted",
    "AwardDisbursed": "disbursed",
    "AwardReturned": "returned",
}


def _money_of(currency: str) -> Any:
    def money(minor: int) -> Money:
        return Money(minor, currency)

    return money


def _figures(fund: Fund) -> FundFigures:
    return FundFigures(**fund.figures())


def _groups(lines: Sequence[AwardLine], money: Any) -> list[AwardGroup]:
    groups: dict[tuple[str, str, str], list[AwardLine]] = {}
    for line in lines:
        groups.setdefault((line.round, line.school, line.category), []).append(line)
    return [
        AwardGroup(
            round=key[0], school=key[1], category=key[2],
            awards=sum(1 for line in members if line.granted_in_period),
            granted=money(sum(line.amount.minor for line in members if line.granted_in_period)),
            paid=money(sum(line.paid.minor for line in members)),
            returned=money(sum(line.returned.minor for line in members)),
        )
        for key, members in groups.items()
    ]


def _currency_totals(funds: Sequence[FundStatement]) -> list[CurrencyTotals]:
    by_currency: dict[str, dict[str, int]] = {}
    for fund in funds:
        sums = by_currency.setdefault(fund.currency, defaultdict(int))
        for name in SponsorTotals.model_fields:
            sums[name] += getattr(fund.totals, name).minor
    return [
        CurrencyTotals(currency=currency,
                       **{name: Money(minor, currency) for name, minor in sums.items()})
        for currency, sums in sorted(by_currency.items())
    ]
