"""The sponsor statement as data: what every format (JSON, CSV, XLSX, PDF) shows.

A statement covers one sponsor and one period (`from`–`to`, both days included), as the
ledger knew it at `known_at`. Per fund the sponsor gave or pledged to, it shows the
sponsor's own pledges, gifts and reversals with opening and closing totals, what the fund
did with its money over the period, the fund's opening and closing figures, and the digest
of the fund's history behind it. Money is `Money` in Python and `{"amount": "<decimal
string>", "currency": "<ISO 4217>"}` in JSON. Students appear only as initials, school and
category (many are minors): no model here has a field for a student's name.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema

from ledger.domain.money import Money

MONEY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Money",
    "description": "An exact amount: a plain decimal string in major units and its currency",
    "properties": {
        "amount": {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
                   "examples": ["1500000"]},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "examples": ["VND"]},
    },
    "required": ["amount", "currency"],
}


def _money(value: Any) -> Money:
    if isinstance(value, Money):
        return value
    if isinstance(value, dict) and set(value) == {"amount", "currency"}:
        text, currency = value["amount"], value["currency"]
        negative = isinstance(text, str) and text.startswith("-")
        parsed = Money.parse(text[1:] if negative else text, currency) if text not in (
            "0", "-0") else Money.zero(currency)
        return Money(-parsed.minor, currency) if negative else parsed
    raise ValueError("money is {amount, currency}")


#: `Money` inside, `{"amount", "currency"}` in JSON and in the OpenAPI schema.
MoneyField = Annotated[
    Money,
    PlainValidator(_money),
    PlainSerializer(lambda m: m.as_json(), return_type=dict),
    WithJsonSchema(MONEY_SCHEMA),
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)


class SponsorRef(_Model):
    """Who the statement is for."""

    id: str
    name: str
    kind: str


class Period(_Model):
    """The days the statement covers, both included."""

    from_: date = Field(alias="from")
    to: date


class Digest(_Model):
    """The fund's history behind the statement: the hash-chain link of its last event
    (by seq) that is effective on or before the period's end and was recorded by
    `known_at`. An auditor confirms event `seq` of the fund still has this `hash`; the
    chain then proves no earlier event was edited, removed, inserted or reordered."""

    fund: str
    seq: int
    hash: str
    effective_through: date


class Instalment(_Model):
    """One due date of a pledge; payments to the pledge cover instalments in due order."""

    due: date
    amount: MoneyField
    paid: MoneyField
    outstanding: MoneyField
    overdue: bool = Field(description="due on or before the period's end and not paid")


class Pledge(_Model):
    """A pledge of the sponsor, as of the period's end."""

    pledge_id: str
    pledged_on: date
    amount: MoneyField
    status: Literal["active", "cancelled"]
    cancelled_on: date | None = None
    paid: MoneyField = Field(description="gifts applied to the pledge, net of reversals")
    outstanding: MoneyField = Field(description="max(0, amount − paid) while active")
    overdue: MoneyField = Field(description="unpaid instalments due by the period's end")
    schedule: list[Instalment]


class Gift(_Model):
    """A gift received in the period: what the sponsor gave, and what the fund was credited."""

    donation_id: str
    received_on: date
    amount: MoneyField = Field(description="in the currency the sponsor gave")
    credited: MoneyField = Field(description="in the fund's currency")
    method: str
    reference: str
    pledge_id: str | None = None
    reversed: bool = Field(description="reversed on or before the period's end")


class Reversal(_Model):
    """A gift taken back in the period (e.g. a transfer the bank returned)."""

    donation_id: str
    reversed_on: date
    credited: MoneyField
    reason: str


class SponsorTotals(_Model):
    """The sponsor's own figures in one currency: `closing_given = opening_given + received
    − reversed`; pledges outstanding count active pledges only, as the fund does."""

    opening_given: MoneyField
    opening_outstanding: MoneyField
    pledged: MoneyField = Field(description="pledges made in the period")
    received: MoneyField = Field(description="gifts credited in the period")
    reversed: MoneyField = Field(description="gifts reversed in the period")
    closing_given: MoneyField
    closing_outstanding: MoneyField
    closing_overdue: MoneyField


class CurrencyTotals(SponsorTotals):
    """The sponsor's totals over every fund of one currency."""

    currency: str


class FundFigures(_Model):
    """A fund's figures (SPEC §2) on one day, replayed from its events."""

    received_total: MoneyField
    cash: MoneyField
    allocated_unspent: MoneyField
    available: MoneyField
    pledged_outstanding: MoneyField
    transferred_in: MoneyField
    transferred_out: MoneyField
    disbursed_total: MoneyField
    returned_total: MoneyField


class AwardLine(_Model):
    """An award the fund granted, paid, got money back on or revoked in the period. The
    student is shown only by initials, school and category."""

    round: str
    initials: str
    school: str
    category: str
    granted_on: date
    amount: MoneyField = Field(description="the award as granted")
    granted_in_period: bool
    paid: MoneyField = Field(description="disbursed in the period")
    returned: MoneyField = Field(description="given back by the student in the period")
    revoked_on: date | None = None


class AwardGroup(_Model):
    """Awards of one round, school and category over the period."""

    round: str
    school: str
    category: str
    awards: int = Field(description="awards granted in the period")
    granted: MoneyField
    paid: MoneyField
    returned: MoneyField


class FundActivity(_Model):
    """What the fund did over the period, from all its sponsors' money."""

    opening: FundFigures
    received: MoneyField
    reversed: MoneyField
    transferred_in: MoneyField
    transferred_out: MoneyField
    allocated: MoneyField
    released: MoneyField
    granted: MoneyField
    disbursed: MoneyField
    returned: MoneyField
    awards: list[AwardLine]
    by_group: list[AwardGroup]
    closing: FundFigures


class FundStatement(_Model):
    """One fund on the statement: the sponsor's part and the fund's part."""

    code: str
    name: str
    currency: str
    digest: Digest
    totals: SponsorTotals
    pledges: list[Pledge]
    gifts: list[Gift]
    reversals: list[Reversal]
    activity: FundActivity


class Statement(_Model):
    """A sponsor's statement for a period, as the ledger knew it at `known_at`."""

    sponsor: SponsorRef
    period: Period
    known_at: datetime
    funds: list[FundStatement]
    totals: list[CurrencyTotals]
