"""The raw events of every fund, read once, indexed for building many statements.

Statements are built from the event store itself (never from a read model), so a statement
is exactly what a replay of the history says. Reading is the expensive part, so each
fund's events are read once and every sponsor's statement is built from that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.application import Ledger
from ledger.domain.fund import Fund

#: The events that name a sponsor (their data has `sponsor_id`).
SPONSOR_EVENTS = frozenset({"PledgeMade", "PledgeCancelled", "DonationReceived",
                            "DonationReversed"})


@dataclass
class FundBook:
    """One fund's events in seq order, and the indices the statements need."""

    code: str
    name: str
    currency: str
    events: list[Any]
    #: sponsor id → that sponsor's events in this fund, in seq order
    by_sponsor: dict[str, list[Any]] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Sequence[Any]) -> FundBook:
        """The book of a fund from its events, oldest first (the first is `Opened`)."""
        opened = events[0]
        if not isinstance(opened, Fund.Opened):
            raise ValueError("a fund's history starts with Opened")
        by_sponsor: dict[str, list[Any]] = defaultdict(list)
        for e in events:
            if type(e).__name__ in SPONSOR_EVENTS:
                by_sponsor[e.sponsor_id].append(e)
        return cls(opened.code, opened.name, opened.currency, list(events), dict(by_sponsor))

    def known_at(self, moment: datetime | None) -> FundBook | None:
        """The book as the ledger knew it at `moment` (events recorded by then); None if
        the fund was not yet opened then."""
        if moment is None or all(e.timestamp <= moment for e in self.events):
            return self
        known = [e for e in self.events if e.timestamp <= moment]
        return FundBook.of(known) if known and isinstance(known[0], Fund.Opened) else None


def read_books(ledger: Ledger, codes: Iterable[str] | None = None) -> list[FundBook]:
    """Every fund's book (or the named funds'), each fund's events read once."""
    books = []
    for code in ledger.fund_codes() if codes is None else codes:
        events = list(ledger.fund_events(Fund.id_for(code)))
        if events:
            books.append(FundBook.of(events))
    return books
