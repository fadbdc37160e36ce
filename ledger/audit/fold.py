"""The figures of a fund folded from its stored events' plain data, without aggregates.

This is the auditor's own fold: a pure function of the events' JSON content (as the
event store holds it), equal in its figures to `Fund.replay` — the tests check that over
random histories. It exists because an audit replays whole histories: it skips the
library's event objects (their construction and per-event checks cost several times the
fold itself) and keeps only what the figures need.

An event here is `(type, state)`: the event class name (`DonationReceived`) and the
decoded JSON mapping of its attributes (data fields, `effective_on`, `timestamp`, …).
Amounts are integer minor units of the fund's currency.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from ledger.domain import figures as spec
from ledger.domain.money import Money

#: the figures that are sums of event amounts (see `Figures.add`), by attribute
LINEAR = ("received", "transferred_in", "transferred_out", "disbursed", "returned",
          "allocated_unspent")


@dataclass
class Figures:
    """A fund's running totals, in minor units; `pledges` maps a pledge id to
    `[amount, applied, active]`."""

    code: str = ""
    name: str = ""
    currency: str = ""
    purpose: str = ""
    restricted: bool = False
    opened_on: str = ""
    closed: bool = False
    seq: int = 0
    last_hash: str = ""
    received: int = 0
    transferred_in: int = 0
    transferred_out: int = 0
    disbursed: int = 0
    returned: int = 0
    allocated_unspent: int = 0
    pledges: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def cash(self) -> int:
        return spec.cash(self.received, self.transferred_in, self.transferred_out,
                         self.disbursed, self.returned)

    @property
    def available(self) -> int:
        return self.cash - self.allocated_unspent

    @property
    def pledged_outstanding(self) -> int:
        return spec.pledged_outstanding((p[0], p[1], p[2]) for p in self.pledges.values())

    def minor(self) -> dict[str, int]:
        """Every figure of SPEC §2 (named as `Fund.figures` names them), in minor units."""
        return spec.figures(
            received=self.received, transferred_in=self.transferred_in,
            transferred_out=self.transferred_out, disbursed=self.disbursed,
            returned=self.returned, allocated_unspent=self.allocated_unspent,
            outstanding=self.pledged_outstanding,
        )

    def money(self) -> dict[str, Money]:
        return {name: Money(v, self.currency) for name, v in self.minor().items()}

    def add(self, other: Figures) -> None:
        """Adds the linear totals of `other` (e.g. one month's events) to these."""
        for name in LINEAR:
            setattr(self, name, getattr(self, name) + getattr(other, name))


# ---- one function per event type: the state change, as the Fund's event bodies do -------

def _opened(f: Figures, d: dict[str, Any]) -> None:
    f.code, f.name, f.currency = d["code"], d["name"], d["currency"]
    f.purpose, f.restricted, f.opened_on = d["purpose"], d["restricted"], d["effective_on"]


def _closed(f: Figures, d: dict[str, Any]) -> None:
    f.closed = True


def _pledge_made(f: Figures, d: dict[str, Any]) -> None:
    f.pledges[d["pledge_id"]] = [d["amount_minor"], 0, True]


def _pledge_cancelled(f: Figures, d: dict[str, Any]) -> None:
    p = f.pledges.get(d["pledge_id"])
    if p is not None:
        p[2] = False


def _donation_received(f: Figures, d: dict[str, Any]) -> None:
    f.received += d["credited_minor"]
    pledge = d["pledge_id"]
    if pledge is not None and pledge in f.pledges:
        f.pledges[pledge][1] += d["credited_minor"]


def _donation_reversed(f: Figures, d: dict[str, Any]) -> None:
    f.received -= d["credited_minor"]
    pledge = d["pledge_id"]
    if pledge is not None and pledge in f.pledges:
        f.pledges[pledge][1] -= d["credited_minor"]


def _allocation_made(f: Figures, d: dict[str, Any]) -> None:
    f.allocated_unspent += d["amount_minor"]


def _allocation_released(f: Figures, d: dict[str, Any]) -> None:
    f.allocated_unspent -= d["amount_minor"]


def _award_disbursed(f: Figures, d: dict[str, Any]) -> None:
    f.disbursed += d["amount_minor"]
    f.allocated_unspent -= d["amount_minor"]


def _award_returned(f: Figures, d: dict[str, Any]) -> None:
    f.returned += d["amount_minor"]


def _transferred_out(f: Figures, d: dict[str, Any]) -> None:
    f.transferred_out += d["amount_minor"]


def _transferred_in(f: Figures, d: dict[str, Any]) -> None:
    f.transferred_in += d["amount_minor"]


def _no_figure(f: Figures, d: dict[str, Any]) -> None:
    """Awards granted and revoked move no money: they change remainders only."""


#: event type name → its effect on the figures
APPLY: dict[str, Callable[[Figures, dict[str, Any]], None]] = {
    "Opened": _opened,
    "Closed": _closed,
    "PledgeMade": _pledge_made,
    "PledgeCancelled": _pledge_cancelled,
    "DonationReceived": _donation_received,
    "DonationReversed": _donation_reversed,
    "AllocationMade": _allocation_made,
    "AllocationReleased": _allocation_released,
    "AwardGranted": _no_figure,
    "AwardRevoked": _no_figure,
    "AwardDisbursed": _award_disbursed,
    "AwardReturned": _award_returned,
    "TransferredOut": _transferred_out,
    "TransferredIn": _transferred_in,
}


def recorded_at(state: dict[str, Any]) -> datetime:
    """The recorded time of a stored event (the library stores it as an ISO string)."""
    stamp = state["timestamp"]
    return datetime.fromisoformat(stamp["_data_"] if isinstance(stamp, dict) else stamp)


def fold(
    events: Iterable[tuple[str, dict[str, Any]]],
    *,
    as_of: date | None = None,
    known_at: datetime | None = None,
) -> Figures | None:
    """The figures of the events (oldest first) effective on or before `as_of` and
    recorded at or before `known_at`, as `Fund.replay` makes them; None if the fund was
    not yet opened. `seq` and `last_hash` are those of the last event known at `known_at`."""
    day = as_of.isoformat() if as_of else None
    figures: Figures | None = None
    apply = APPLY
    known = 0
    last: dict[str, Any] = {}
    for kind, state in events:
        if known_at is not None and recorded_at(state) > known_at:
            continue
        known += 1
        last = state
        if figures is None:
            figures = Figures()
            _opened(figures, state)
        elif day is None or state["effective_on"] <= day:
            apply[kind](figures, state)
    if figures is not None:
        figures.seq, figures.last_hash = known, last["hash"]
    return figures
