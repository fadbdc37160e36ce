"""The fund aggregate: every change to a scholarship fund is one immutable event on it.

All amounts in the state are integers in minor units of the fund's currency (VND and JPY
have none, so a minor unit is one đồng or one yen; USD and EUR count cents). Every figure
is non-negative. The figures of SPEC §2 are defined in `ledger.domain.figures`.

A public command checks its rules and raises a named `LedgerError`; only then does it
emit an event. Event bodies (the `@event` methods) only change state and run again on
every replay, so they use the amounts the event carries and tolerate a history filtered
by date (see `Fund.replay`). Every event is stamped with its actor, effective date,
recorded time and its link in the fund's hash chain (`ledger.domain.chain`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from ledger.domain import chain, events, moments, values
from ledger.domain import figures as spec
from ledger.domain.errors import (
    AllocationNotFound,
    AlreadyReversed,
    AwardNotFound,
    AwardRevoked,
    CurrencyMismatch,
    DonationNotFound,
    ExceedsAllocationRemainder,
    ExceedsAwardRemainder,
    ExceedsReturnable,
    FundClosed,
    FundNotFound,
    FundNotSettled,
    InsufficientAvailable,
    InsufficientCash,
    InvalidInput,
    PledgeNotActive,
    PledgeNotFound,
    PledgeOfAnotherSponsor,
    TurnoverLimit,
)
from ledger.domain.money import Money, exponent

#: Namespace of the ids derived from fund codes.
FUND_NAMESPACE = UUID("7d5f3a2e-0b9c-4f1e-9a57-3c1d2b6e8f40")

RECIPIENT_FIELDS = {"name": 200, "school": 200, "grade": 40, "category": 100}

#: the field of each money-moving event that holds its amount in the fund's currency
MONEY_FIELD = {
    "PledgeMade": "amount_minor", "DonationReceived": "credited_minor",
    "DonationReversed": "credited_minor", "AllocationMade": "amount_minor",
    "AllocationReleased": "amount_minor", "AwardGranted": "amount_minor",
    "AwardRevoked": "remainder_minor", "AwardDisbursed": "amount_minor",
    "AwardReturned": "amount_minor", "TransferredOut": "amount_minor",
    "TransferredIn": "amount_minor",
}
#: the field of each event's effective date in the command that makes it
DATE_FIELD = {
    "Opened": "opened_on", "Closed": "closed_on", "PledgeMade": "pledged_on",
    "PledgeCancelled": "cancelled_on", "DonationReceived": "received_on",
    "DonationReversed": "reversed_on", "AllocationMade": "allocated_on",
    "AllocationReleased": "released_on", "AwardGranted": "granted_on",
    "AwardRevoked": "revoked_on", "AwardDisbursed": "paid_on", "AwardReturned": "returned_on",
    "TransferredOut": "transferred_on", "TransferredIn": "transferred_on",
}
#: the most a fund's events may move in all, in minor units. Each amount is at most 10^15
#: major units, but sums of them are kept too (the fund's figures, the read models'
#: totals by month, sponsor, school), in 64-bit integers; every such sum is at most the
#: turnover, so this bound (10^18 < 2^63) keeps them all in range.
MAX_TURNOVER_MINOR = 10**18


@dataclass(frozen=True)
class RecordedDonation:
    """What a reversal needs to know of a donation recorded earlier. A fund keeps no entry
    per donation (a fund may hold millions): the application finds the donation where
    its write was recorded and hands it to `Fund.reverse_donation`."""

    donation_id: str
    fund: str
    sponsor_id: str
    credited_minor: int
    pledge_id: str | None
    #: the rest of what was recorded (an import compares a row with it)
    amount_minor: int
    amount_currency: str
    received_on: str
    method: str
    reference: str

    @classmethod
    def of(cls, fund: str, data: Mapping[str, Any], received_on: str) -> RecordedDonation:
        """The donation a `Fund.DonationReceived` event of fund `fund` records, from the
        event's data and its effective date."""
        return cls(fund=fund, received_on=received_on,
                   **{name: data[name] for name in _RECORDED_FIELDS})


#: the fields of a DonationReceived event that a RecordedDonation keeps as they are
_RECORDED_FIELDS = ("donation_id", "sponsor_id", "credited_minor", "pledge_id",
                    "amount_minor", "amount_currency", "method", "reference")


class Fund(Aggregate):
    """One scholarship fund and its books, in one currency."""

    #: the shape of a fund's state in its snapshots; 2: no entry per donation; 3: turnover
    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        """A snapshot taken while a fund kept an entry per donation: only the ids of the
        reversed ones are kept now."""
        donations = state.pop("donations", {})
        state["reversed"] = {d: True for d, entry in donations.items() if entry["reversed"]}

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        """A snapshot taken before funds counted their turnover: what its figures show of
        it (a lower bound: the money moved since opening is not all in the figures)."""
        state["turnover"] = (
            abs(state["received"]) + state["transferred_in"] + state["transferred_out"]
            + state["disbursed"] + state["returned"] + abs(state["allocated_unspent"])
            + sum(p["amount"] for p in state["pledges"].values())
        )

    class Event(Aggregate.Event):
        """Every fund event carries who recorded it, when it took effect, and its chain link."""

        actor: str
        effective_on: str
        prev_hash: str
        hash: str

        def apply(self, aggregate: Any) -> None:
            aggregate.last_hash = self.hash
            field = MONEY_FIELD.get(type(self).__name__)
            if field is not None:
                aggregate.turnover += getattr(self, field)

    class Opened(Event, Aggregate.Created):
        code: str
        name: str
        currency: str
        purpose: str
        restricted: bool

    # ---- identity and creation ------------------------------------------------------

    @staticmethod
    def id_for(code: str) -> UUID:
        """The aggregate id of the fund with this code (codes are case-sensitive)."""
        return uuid5(FUND_NAMESPACE, code)

    @classmethod
    def open(
        cls,
        code: str,
        name: str,
        currency: str,
        *,
        purpose: str = "",
        restricted: bool = False,
        actor: str,
        opened_on: date,
    ) -> Fund:
        values.fund_code(code)
        values.text("name", name, max_len=200)
        values.text("purpose", purpose, max_len=2000, required=False)
        exponent(currency)
        if not isinstance(restricted, bool):
            raise InvalidInput("restricted", "must be true or false")
        fund_id = cls.id_for(code)
        data = {
            "code": code,
            "name": name,
            "currency": currency,
            "purpose": purpose or "",
            "restricted": restricted,
        }
        stamp = _stamp(chain.GENESIS, fund_id, 1, "Opened", actor, opened_on, data)
        return cls._create(cls.Opened, id=fund_id, **stamp, **data)

    @event(Opened)
    def __init__(self, code: str, name: str, currency: str, purpose: str, restricted: bool):
        self.code = code
        self.name = name
        self.currency = currency
        self.purpose = purpose
        self.restricted = restricted
        self.closed = False
        #: every amount the fund's events moved, summed (see MAX_TURNOVER_MINOR)
        self.turnover = 0
        self.received = 0
        self.transferred_in = 0
        self.transferred_out = 0
        self.disbursed = 0
        self.returned = 0
        self.allocated_unspent = 0
        #: pledge id → {sponsor, amount, applied, active}
        self.pledges: dict[str, dict[str, Any]] = {}
        #: the ids of the donations reversed (a donation is reversed at most once)
        self.reversed: dict[str, bool] = {}
        #: allocation id → {name, amount, released, granted}; granted is net of revocations
        self.allocations: dict[str, dict[str, Any]] = {}
        #: award id → {allocation, amount, disbursed, returned, revoked}
        self.awards: dict[str, dict[str, Any]] = {}

    def copy(self) -> Fund:
        """This fund as it is now, apart: commands on either leave the other as it was
        (the ledger keeps one to go back to when another writer's save wins)."""
        twin = object.__new__(type(self))
        state = dict(vars(self))
        for name in ("pledges", "allocations", "awards"):
            state[name] = {key: dict(entry) for key, entry in state[name].items()}
        state["reversed"] = dict(state["reversed"])
        state["_pending_events"] = list(state["_pending_events"])
        twin.__dict__.update(state)
        return twin

    # ---- figures --------------------------------------------------------------------

    @property
    def cash(self) -> int:
        return spec.cash(self.received, self.transferred_in, self.transferred_out,
                         self.disbursed, self.returned)

    @property
    def available(self) -> int:
        return self.cash - self.allocated_unspent

    @property
    def pledged_outstanding(self) -> int:
        return spec.pledged_outstanding(
            (p["amount"], p["applied"], p["active"]) for p in self.pledges.values()
        )

    def figures(self) -> dict[str, Money]:
        """Every figure of SPEC §2, as money of the fund's currency."""
        minor = spec.figures(
            received=self.received, transferred_in=self.transferred_in,
            transferred_out=self.transferred_out, disbursed=self.disbursed,
            returned=self.returned, allocated_unspent=self.allocated_unspent,
            outstanding=self.pledged_outstanding,
        )
        return {name: self.money(value) for name, value in minor.items()}

    @property
    def size(self) -> int:
        """How many entries (reversals, pledges, allocations, awards) the state holds."""
        return len(self.reversed) + len(self.pledges) + len(self.allocations) + len(self.awards)

    def allocation_remainder(self, allocation_id: str) -> int:
        a = self._allocation(allocation_id)
        return a["amount"] - a["released"] - a["granted"]

    def award_remainder(self, award_id: str) -> int:
        a = self._award(award_id)
        return 0 if a["revoked"] else a["amount"] - a["disbursed"]

    # ---- commands -------------------------------------------------------------------

    def close(self, *, actor: str, closed_on: date) -> None:
        self._require_open()
        if self.cash != 0 or self.pledged_outstanding != 0:
            raise FundNotSettled(
                self.code,
                self.money(self.cash).text,
                self.money(self.pledged_outstanding).text,
            )
        self._emit(self.Closed, actor, closed_on)

    def make_pledge(
        self,
        pledge_id: str,
        sponsor_id: str,
        amount: Money,
        schedule: list[tuple[date, Money]],
        *,
        actor: str,
        pledged_on: date,
    ) -> None:
        self._require_open()
        self._require_currency(amount)
        for _, instalment in schedule:
            self._require_currency(instalment)
        if schedule and sum(m.minor for _, m in schedule) != amount.minor:
            raise InvalidInput("schedule", "the instalments must add up to the pledged amount")
        dues = [d for d, _ in schedule]
        if dues != sorted(dues) or len(set(dues)) != len(dues):
            raise InvalidInput("schedule", "instalment due dates must be distinct and in order")
        self._emit(
            self.PledgeMade,
            actor,
            pledged_on,
            pledge_id=pledge_id,
            sponsor_id=sponsor_id,
            amount_minor=amount.minor,
            schedule=[{"due": d.isoformat(), "amount_minor": m.minor} for d, m in schedule],
        )

    def cancel_pledge(self, pledge_id: str, reason: str, *, actor: str, cancelled_on: date) -> None:
        self._require_open()
        values.text("reason", reason, max_len=500)
        pledge = self.pledges.get(pledge_id)
        if pledge is None:
            raise PledgeNotFound(pledge_id)
        if not pledge["active"]:
            raise PledgeNotActive(pledge_id)
        self._emit(
            self.PledgeCancelled,
            actor,
            cancelled_on,
            pledge_id=pledge_id,
            sponsor_id=pledge["sponsor"],
            reason=reason,
        )

    def receive_donation(
        self,
        donation_id: str,
        sponsor_id: str,
        amount: Money,
        credited: Money | None,
        *,
        received_on: date,
        method: str,
        reference: str = "",
        pledge_id: str | None = None,
        actor: str,
    ) -> None:
        """Records a gift. `amount` is what the sponsor gave, in any currency; `credited`
        is what the bank credited in the fund's currency (required for a foreign gift)."""
        self._require_open()
        values.text("method", method, max_len=64)
        values.text("reference", reference, max_len=140, required=False)
        if credited is None:
            if amount.currency != self.currency:
                raise CurrencyMismatch(self.code, self.currency, amount.currency)
            credited = amount
        self._require_currency(credited)
        if pledge_id is not None:
            pledge = self.pledges.get(pledge_id)
            if pledge is None:
                raise PledgeNotFound(pledge_id)
            if not pledge["active"]:
                raise PledgeNotActive(pledge_id)
            if pledge["sponsor"] != sponsor_id:
                raise PledgeOfAnotherSponsor(pledge_id)
        self._emit(
            self.DonationReceived,
            actor,
            received_on,
            donation_id=donation_id,
            sponsor_id=sponsor_id,
            amount_minor=amount.minor,
            amount_currency=amount.currency,
            credited_minor=credited.minor,
            method=method,
            reference=reference or "",
            pledge_id=pledge_id,
        )

    def reverse_donation(
        self, donation_id: str, donation: RecordedDonation | None, reason: str, *, actor: str,
        reversed_on: date,
    ) -> None:
        """Reverses a donation of this fund; `donation` is what was recorded under
        `donation_id` (None if nothing was)."""
        self._require_open()
        values.text("reason", reason, max_len=500)
        if donation is None or donation.fund != self.code or donation.donation_id != donation_id:
            raise DonationNotFound(donation_id)
        if donation_id in self.reversed:
            raise AlreadyReversed(donation_id)
        self._require_available(donation.credited_minor)
        self._emit(
            self.DonationReversed,
            actor,
            reversed_on,
            donation_id=donation_id,
            sponsor_id=donation.sponsor_id,
            credited_minor=donation.credited_minor,
            pledge_id=donation.pledge_id,
            reason=reason,
        )

    def allocate(
        self, allocation_id: str, name: str, amount: Money, *, actor: str, allocated_on: date
    ) -> None:
        self._require_open()
        values.text("name", name, max_len=200)
        self._require_currency(amount)
        self._require_available(amount.minor)
        self._emit(
            self.AllocationMade,
            actor,
            allocated_on,
            allocation_id=allocation_id,
            name=name,
            amount_minor=amount.minor,
        )

    def release(
        self, allocation_id: str, amount: Money, reason: str, *, actor: str, released_on: date
    ) -> None:
        self._require_open()
        values.text("reason", reason, max_len=500)
        self._require_currency(amount)
        remainder = self.allocation_remainder(allocation_id)
        if amount.minor > remainder:
            raise ExceedsAllocationRemainder(
                self.code, self.money(remainder).text, amount.text
            )
        self._emit(
            self.AllocationReleased,
            actor,
            released_on,
            allocation_id=allocation_id,
            amount_minor=amount.minor,
            reason=reason,
        )

    def grant_award(
        self,
        award_id: str,
        allocation_id: str,
        recipient: dict[str, str],
        amount: Money,
        *,
        actor: str,
        granted_on: date,
    ) -> None:
        self._require_open()
        recipient = _recipient(recipient)
        self._require_currency(amount)
        remainder = self.allocation_remainder(allocation_id)
        if amount.minor > remainder:
            raise ExceedsAllocationRemainder(
                self.code, self.money(remainder).text, amount.text
            )
        self._emit(
            self.AwardGranted,
            actor,
            granted_on,
            award_id=award_id,
            allocation_id=allocation_id,
            recipient=recipient,
            amount_minor=amount.minor,
        )

    def revoke_award(self, award_id: str, reason: str, *, actor: str, revoked_on: date) -> None:
        self._require_open()
        values.text("reason", reason, max_len=500)
        award = self._award(award_id)
        if award["revoked"]:
            raise AwardRevoked(award_id)
        self._emit(
            self.AwardRevoked,
            actor,
            revoked_on,
            award_id=award_id,
            allocation_id=award["allocation"],
            remainder_minor=award["amount"] - award["disbursed"],
            reason=reason,
        )

    def disburse(
        self,
        disbursement_id: str,
        award_id: str,
        amount: Money,
        *,
        paid_on: date,
        method: str,
        reference: str = "",
        actor: str,
    ) -> None:
        self._require_open()
        values.text("method", method, max_len=64)
        values.text("reference", reference, max_len=140, required=False)
        self._require_currency(amount)
        award = self._award(award_id)
        if award["revoked"]:
            raise AwardRevoked(award_id)
        remainder = self.award_remainder(award_id)
        if amount.minor > remainder:
            raise ExceedsAwardRemainder(self.code, self.money(remainder).text, amount.text)
        if amount.minor > self.cash:
            raise InsufficientCash(self.code, self.money(self.cash).text, amount.text)
        self._emit(
            self.AwardDisbursed,
            actor,
            paid_on,
            disbursement_id=disbursement_id,
            award_id=award_id,
            allocation_id=award["allocation"],
            amount_minor=amount.minor,
            method=method,
            reference=reference or "",
        )

    def take_return(
        self, return_id: str, award_id: str, amount: Money, reason: str, *, actor: str,
        returned_on: date,
    ) -> None:
        """Money a recipient gives back: it adds to cash and available, not to the allocation."""
        self._require_open()
        values.text("reason", reason, max_len=500)
        self._require_currency(amount)
        award = self._award(award_id)
        returnable = award["disbursed"] - award["returned"]
        if amount.minor > returnable:
            raise ExceedsReturnable(self.code, self.money(returnable).text, amount.text)
        self._emit(
            self.AwardReturned,
            actor,
            returned_on,
            return_id=return_id,
            award_id=award_id,
            amount_minor=amount.minor,
            reason=reason,
        )

    def transfer_out(
        self, transfer_id: str, to: Fund, amount: Money, reason: str, *, actor: str,
        transferred_on: date,
    ) -> None:
        """Moves money to another fund of the same currency; the caller saves both funds
        in one transaction."""
        self._require_open()
        to._require_open()
        values.text("reason", reason, max_len=500)
        if to.id == self.id:
            raise InvalidInput("to_fund", "a transfer needs two different funds")
        if to.currency != self.currency:
            raise CurrencyMismatch(to.code, to.currency, self.currency)
        self._require_currency(amount)
        self._require_available(amount.minor)
        to._require_turnover(amount.minor)  # before either side has an event
        self._emit(
            self.TransferredOut,
            actor,
            transferred_on,
            transfer_id=transfer_id,
            to_fund=to.code,
            amount_minor=amount.minor,
            reason=reason,
        )
        to._emit(
            to.TransferredIn,
            actor,
            transferred_on,
            transfer_id=transfer_id,
            from_fund=self.code,
            amount_minor=amount.minor,
            reason=reason,
        )

    # ---- replay ---------------------------------------------------------------------

    @classmethod
    def replay(
        cls,
        events: Iterable[Fund.Event],
        *,
        as_of: date | None = None,
        known_at: datetime | None = None,
    ) -> Fund:
        """The fund as its events effective on or before `as_of` and recorded at or
        before `known_at` make it. Raises FundNotFound if it was not yet opened."""
        day = as_of.isoformat() if as_of else None
        fund: Fund | None = None
        for e in events:
            if known_at is not None and e.timestamp > known_at:
                continue
            if fund is None:
                fund = e.mutate(None)  # the Opened event
                continue
            if day is not None and e.effective_on > day:
                continue
            e.apply(fund)
        if fund is None:
            raise FundNotFound("?")
        return fund

    # ---- event bodies: state changes only -------------------------------------------
    # Each body's signature is its event's data: every field the event carries.

    @event("Closed")
    def _closed(self) -> None:
        self.closed = True

    @event("PledgeMade")
    def _pledge_made(
        self, pledge_id: str, sponsor_id: str, amount_minor: int, schedule: list[dict[str, Any]]
    ) -> None:
        self.pledges[pledge_id] = {
            "sponsor": sponsor_id,
            "amount": amount_minor,
            "applied": 0,
            "active": True,
        }

    @event("PledgeCancelled")
    def _pledge_cancelled(self, pledge_id: str, sponsor_id: str, reason: str) -> None:
        if pledge_id in self.pledges:
            self.pledges[pledge_id]["active"] = False

    @event("DonationReceived")
    def _donation_received(
        self,
        donation_id: str,
        sponsor_id: str,
        amount_minor: int,
        amount_currency: str,
        credited_minor: int,
        method: str,
        reference: str,
        pledge_id: str | None,
    ) -> None:
        self.received += credited_minor
        if pledge_id in self.pledges:
            self.pledges[pledge_id]["applied"] += credited_minor

    @event("DonationReversed")
    def _donation_reversed(
        self,
        donation_id: str,
        sponsor_id: str,
        credited_minor: int,
        pledge_id: str | None,
        reason: str,
    ) -> None:
        self.received -= credited_minor
        self.reversed[donation_id] = True
        if pledge_id in self.pledges:
            self.pledges[pledge_id]["applied"] -= credited_minor

    @event("AllocationMade")
    def _allocation_made(self, allocation_id: str, name: str, amount_minor: int) -> None:
        self.allocated_unspent += amount_minor
        self.allocations[allocation_id] = {
            "name": name,
            "amount": amount_minor,
            "released": 0,
            "granted": 0,
        }

    @event("AllocationReleased")
    def _allocation_released(self, allocation_id: str, amount_minor: int, reason: str) -> None:
        self.allocated_unspent -= amount_minor
        if allocation_id in self.allocations:
            self.allocations[allocation_id]["released"] += amount_minor

    @event("AwardGranted")
    def _award_granted(
        self, award_id: str, allocation_id: str, recipient: dict[str, str], amount_minor: int
    ) -> None:
        self.awards[award_id] = {
            "allocation": allocation_id,
            "amount": amount_minor,
            "disbursed": 0,
            "returned": 0,
            "revoked": False,
        }
        if allocation_id in self.allocations:
            self.allocations[allocation_id]["granted"] += amount_minor

    @event("AwardRevoked")
    def _award_revoked(
        self, award_id: str, allocation_id: str, remainder_minor: int, reason: str
    ) -> None:
        if award_id in self.awards:
            self.awards[award_id]["revoked"] = True
        if allocation_id in self.allocations:
            self.allocations[allocation_id]["granted"] -= remainder_minor

    @event("AwardDisbursed")
    def _award_disbursed(
        self,
        disbursement_id: str,
        award_id: str,
        allocation_id: str,
        amount_minor: int,
        method: str,
        reference: str,
    ) -> None:
        self.disbursed += amount_minor
        self.allocated_unspent -= amount_minor
        if award_id in self.awards:
            self.awards[award_id]["disbursed"] += amount_minor

    @event("AwardReturned")
    def _award_returned(
        self, return_id: str, award_id: str, amount_minor: int, reason: str
    ) -> None:
        self.returned += amount_minor
        if award_id in self.awards:
            self.awards[award_id]["returned"] += amount_minor

    @event("TransferredOut")
    def _transferred_out(
        self, transfer_id: str, to_fund: str, amount_minor: int, reason: str
    ) -> None:
        self.transferred_out += amount_minor

    @event("TransferredIn")
    def _transferred_in(
        self, transfer_id: str, from_fund: str, amount_minor: int, reason: str
    ) -> None:
        self.transferred_in += amount_minor

    # ---- helpers --------------------------------------------------------------------

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """The library's `trigger_event` (the next event in the fund's sequence, applied,
        then pending), with the event stamped and chained, and built by `events.build`."""
        field = MONEY_FIELD.get(event_class.__name__)
        if field is not None:
            self._require_turnover(kwargs[field])
        version = self.version + 1
        actor, on = kwargs.pop("actor"), kwargs.pop("on")
        stamp = _stamp(self.last_hash, self.id, version, event_class.__name__, actor, on,
                       kwargs)
        # the class's field order: originator, then the envelope, then the data
        new_event = events.build(event_class, {
            "originator_id": self.id, "originator_version": version, **stamp, **kwargs})
        new_event.mutate(self)
        self._pending_events.append(new_event)

    def _emit(self, event_class: Any, actor: str, on: date, **data: Any) -> None:
        self.trigger_event(event_class, actor=actor, on=on, **data)

    def _require_turnover(self, minor: int) -> None:
        if self.turnover + minor > MAX_TURNOVER_MINOR:
            raise TurnoverLimit(self.code, MAX_TURNOVER_MINOR // 10 ** exponent(self.currency),
                                self.currency)

    def _require_open(self) -> None:
        if self.closed:
            raise FundClosed(self.code)

    def _require_currency(self, amount: Money) -> None:
        if amount.currency != self.currency:
            raise CurrencyMismatch(self.code, self.currency, amount.currency)

    def _require_available(self, minor: int) -> None:
        if minor > self.available:
            raise InsufficientAvailable(
                self.code, self.money(self.available).text, self.money(minor).text
            )

    def _allocation(self, allocation_id: str) -> dict[str, Any]:
        try:
            return self.allocations[allocation_id]
        except KeyError:
            raise AllocationNotFound(allocation_id) from None

    def _award(self, award_id: str) -> dict[str, Any]:
        try:
            return self.awards[award_id]
        except KeyError:
            raise AwardNotFound(award_id) from None

    def money(self, minor: int) -> Money:
        """An amount in minor units of the fund's currency, as money."""
        return Money(minor, self.currency)


def _stamp(
    prev_hash: str,
    fund_id: UUID,
    seq: int,
    event_type: str,
    actor: str,
    on: date,
    data: dict[str, Any],
) -> dict[str, Any]:
    """The envelope of an event: recorded time, actor, effective date and chain link."""
    values.text("actor", actor, max_len=200)
    values.effective_date(DATE_FIELD.get(event_type, "effective_on"), on)
    effective_on = on.isoformat()
    recorded_at = Fund.Event.create_timestamp()
    return {
        "timestamp": recorded_at,
        "actor": actor,
        "effective_on": effective_on,
        "prev_hash": prev_hash,
        "hash": chain.link(
            prev_hash,
            fund_id=_text(fund_id),
            seq=seq,
            event_type=event_type,
            effective_on=effective_on,
            recorded_at=moments.isoformat(recorded_at),
            actor=actor,
            # the data holds no envelope field (the envelope is added after): no copy
            data=data if chain.ENVELOPE.isdisjoint(data) else chain.data_of(data),
        ),
    }


@lru_cache(maxsize=1024)
def _text(fund_id: UUID) -> str:
    """A fund id's text, written for each of its events' chain links."""
    return str(fund_id)


def _recipient(recipient: object) -> dict[str, str]:
    if not isinstance(recipient, dict):
        raise InvalidInput("recipient", "must be an object with name and school")
    unknown = set(recipient) - set(RECIPIENT_FIELDS)
    if unknown:
        raise InvalidInput("recipient", f"unknown fields {sorted(unknown)}")
    clean = {}
    for field, max_len in RECIPIENT_FIELDS.items():
        required = field in ("name", "school")
        value = values.text(f"recipient.{field}", recipient.get(field), max_len=max_len,
                            required=required)
        clean[field] = value
    return clean
