"""Response bodies: resources shaped from what the ledger answered, and their schemas.

A write's body is built only from `Written.result` (the recorded event, kept verbatim in
the write's receipt), so a replay of the same write answers byte for byte the same body.
Amounts are money objects `{"amount": "<decimal string>", "currency": "<ISO 4217>"}`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ledger.domain.money import Money

#: the effective date of each event type, under the name a client knows it by
DATE_FIELDS = {
    "Opened": "opened_on",
    "Closed": "closed_on",
    "PledgeMade": "pledged_on",
    "PledgeCancelled": "cancelled_on",
    "DonationReceived": "received_on",
    "DonationReversed": "reversed_on",
    "AllocationMade": "allocated_on",
    "AllocationReleased": "released_on",
    "AwardGranted": "granted_on",
    "AwardRevoked": "revoked_on",
    "AwardDisbursed": "paid_on",
    "AwardReturned": "returned_on",
    "TransferredOut": "transferred_on",
    "TransferredIn": "transferred_on",
}


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyOut(Out):
    amount: str = Field(description="decimal string in major units", examples=["1500000"])
    currency: str = Field(examples=["VND"])


class Recorded(Out):
    """What every recorded write answers: its id, and the event that recorded it."""

    id: str
    fund: str
    event: str = Field(description="the event type recorded")
    seq: int = Field(description="the event's per-fund sequence number")
    recorded_at: str
    actor: str
    prev_hash: str
    hash: str


class FundOpened(Recorded):
    code: str
    name: str
    currency: str
    purpose: str
    restricted: bool
    opened_on: str


class FundClosed(Recorded):
    closed_on: str


class InstalmentOut(Out):
    due: str
    amount: MoneyOut


class Pledge(Recorded):
    sponsor_id: str
    amount: MoneyOut
    schedule: list[InstalmentOut]
    pledged_on: str


class PledgeCancelled(Recorded):
    sponsor_id: str
    reason: str
    cancelled_on: str


class Donation(Recorded):
    sponsor_id: str
    amount: MoneyOut = Field(description="the gift, in its own currency")
    credited: MoneyOut = Field(description="what the bank credited, in the fund's currency")
    received_on: str
    method: str
    reference: str
    pledge_id: str | None


class DonationReversed(Recorded):
    sponsor_id: str
    credited: MoneyOut
    pledge_id: str | None
    reason: str
    reversed_on: str


class Allocation(Recorded):
    name: str
    amount: MoneyOut
    allocated_on: str


class AllocationReleased(Recorded):
    amount: MoneyOut
    reason: str
    released_on: str


class RecipientOut(Out):
    name: str
    school: str
    grade: str
    category: str


class Award(Recorded):
    allocation_id: str
    recipient: RecipientOut
    amount: MoneyOut
    granted_on: str


class AwardRevoked(Recorded):
    allocation_id: str
    remainder: MoneyOut = Field(description="the ungranted amount given back to the allocation")
    reason: str
    revoked_on: str


class Disbursement(Recorded):
    award_id: str
    allocation_id: str
    amount: MoneyOut
    method: str
    reference: str
    paid_on: str


class Return(Recorded):
    award_id: str
    amount: MoneyOut
    reason: str
    returned_on: str


class Leg(Out):
    fund: str
    event: str
    seq: int
    prev_hash: str
    hash: str


class Transfer(Out):
    id: str
    from_fund: str
    to_fund: str
    amount: MoneyOut
    reason: str
    transferred_on: str
    recorded_at: str
    actor: str
    legs: list[Leg] = Field(description="the event on each fund: out of the source, into the "
                                        "target")


class Sponsor(Out):
    id: str
    name: str
    kind: str
    email: str


def _money(minor: int, currency: str) -> dict[str, str]:
    return Money(int(minor), currency).as_json()


def _data(data: dict[str, Any], currency: str) -> dict[str, Any]:
    """Event data with every `<name>_minor` as a money object `<name>`."""
    shaped: dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("_currency"):
            continue
        if key.endswith("_minor"):
            name = key[: -len("_minor")]
            shaped[name] = _money(value, data.get(f"{name}_currency", currency))
        elif key == "schedule":
            shaped[key] = [_data(item, currency) for item in value]
        else:
            shaped[key] = value
    return shaped


def recorded(result: dict[str, Any]) -> dict[str, Any]:
    """The body answering a write on one fund, from its `Written.result`."""
    (record,) = result["events"]
    body = {
        "id": result["id"],
        "fund": record["fund"],
        "event": record["type"],
        "seq": record["seq"],
        "recorded_at": record["recorded_at"],
        "actor": record["actor"],
        "prev_hash": record["prev_hash"],
        "hash": record["hash"],
    }
    for key, value in _data(record["data"], record["currency"]).items():
        # the entity's own id is the body's `id`
        if not (key.endswith("_id") and value == result["id"]):
            body[key] = value
    body[DATE_FIELDS[record["type"]]] = record["effective_on"]
    return body


def transfer(result: dict[str, Any]) -> dict[str, Any]:
    """The body answering a transfer, from its `Written.result` (both legs)."""
    out, into = result["events"]
    return {
        "id": result["id"],
        "from_fund": out["fund"],
        "to_fund": into["fund"],
        "amount": _money(out["data"]["amount_minor"], out["currency"]),
        "reason": out["data"]["reason"],
        "transferred_on": out["effective_on"],
        "recorded_at": out["recorded_at"],
        "actor": out["actor"],
        "legs": [{"fund": e["fund"], "event": e["type"], "seq": e["seq"],
                  "prev_hash": e["prev_hash"], "hash": e["hash"]} for e in (out, into)],
    }


# ---- reads ----------------------------------------------------------------------------


class FundView(Out):
    code: str
    name: str
    currency: str
    purpose: str
    restricted: bool
    closed: bool
    opened_on: str
    seq: int = Field(description="the sequence number of the fund's last event")
    last_hash: str = Field(description="the hash of the fund's last event")
    figures: dict[str, MoneyOut] = Field(
        description="received_total, cash, allocated_unspent, available, pledged_outstanding "
                    "(SPEC §2), and the totals they come from")
    counts: dict[str, int] = Field(description="how many events of each kind")


class FundList(Out):
    funds: list[FundView]


class EventOut(Out):
    seq: int
    type: str
    effective_on: str
    recorded_at: str
    actor: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


class History(Out):
    fund: str
    currency: str
    events: list[EventOut] = Field(description="oldest first")
    next_after: int | None = Field(description="pass as `after` for the next page; null at "
                                               "the end")
