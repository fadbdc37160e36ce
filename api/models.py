"""Request bodies: strict pydantic models whose JSON Schema is the API's true contract.

Unknown fields are refused (so no client can send `actor` or `balance`); amounts are money
objects whose `amount` is a plain ASCII decimal string (a JSON number is malformed); dates
are `YYYY-MM-DD` and must exist; free text has the domain's length limits and no control
characters. Each rule is checked here, so malformed input is a 422 before the ledger runs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID, uuid4

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from ledger.domain.errors import InvalidInput
from ledger.domain.money import CURRENCY_EXPONENTS, Money
from ledger.domain.sponsor import EMAIL_PATTERN, SPONSOR_KINDS
from ledger.domain.values import CONTROL_RANGES, iso_date, iso_moment

#: a plain decimal string in major units (SPEC §3)
DECIMAL_PATTERN = r"^[0-9]+(\.[0-9]+)?$"
#: text with at least one visible character and no control characters
TEXT_PATTERN = rf"^(?!\s*$)[^{CONTROL_RANGES}]*$"
OPTIONAL_TEXT_PATTERN = rf"^[^{CONTROL_RANGES}]*$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$"

Currency = Literal[tuple(sorted(CURRENCY_EXPONENTS))]  # type: ignore[valid-type]


def Text(max_length: int) -> Any:  # noqa: N802 - a type factory
    return Annotated[str, StringConstraints(min_length=1, max_length=max_length,
                                            pattern=TEXT_PATTERN)]


def OptionalText(max_length: int) -> Any:  # noqa: N802 - a type factory
    return Annotated[str, StringConstraints(max_length=max_length,
                                            pattern=OPTIONAL_TEXT_PATTERN)]


def _reason_of(check: Callable[[str, Any], Any], value: Any) -> Any:
    """A domain check's answer, its refusal as pydantic's error (with the check's reason)."""
    try:
        return check("value", value)
    except InvalidInput as e:
        raise ValueError(e.reason) from None


def _day(value: Any) -> date:
    if not isinstance(value, str):
        raise ValueError("must be a date YYYY-MM-DD")
    return _reason_of(iso_date, value)


#: a calendar date `YYYY-MM-DD` that exists
Day = Annotated[date, BeforeValidator(_day),
                WithJsonSchema({"type": "string", "format": "date",
                                "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})]
#: the years of the dates an event may take effect on (`values.effective_date` checks the
#: whole range, EARLIEST_DATE to LATEST_DATE)
EFFECTIVE_DATE_PATTERN = r"^(19[0-9]{2}|2[0-9]{3})-[0-9]{2}-[0-9]{2}$"
#: a date an event takes effect on
EffectiveDay = Annotated[date, BeforeValidator(_day),
                         WithJsonSchema({"type": "string", "format": "date",
                                         "pattern": EFFECTIVE_DATE_PATTERN})]


def _moment(value: Any) -> datetime:
    return _reason_of(iso_moment, value)


#: a moment, ISO 8601 with its offset (RFC 3339's date-time)
Moment = Annotated[datetime, BeforeValidator(_moment),
                   WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 64})]
FundCode = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")


#: what an amount may be, by the currency's decimal places: > 0 and ≤ 10^15 major units
AMOUNT_PATTERNS = {
    0: r"^0*([1-9][0-9]{0,14}|1000000000000000)$",
    2: r"^(0*[1-9][0-9]{0,14}(\.[0-9]{1,2})?|0*1000000000000000(\.0{1,2})?"
       r"|0+\.(0[1-9]|[1-9][0-9]?))$",
}


def _money_schema(schema: dict[str, Any]) -> None:
    """Documents, per currency, exactly the amounts `Money.parse` accepts."""
    schema["anyOf"] = [
        {"properties": {
            "currency": {"enum": sorted(c for c, e in CURRENCY_EXPONENTS.items() if e == exp)},
            "amount": {"pattern": pattern}}}
        for exp, pattern in AMOUNT_PATTERNS.items()
    ]


class MoneyIn(Strict):
    """An amount of money: a decimal string in major units and an ISO 4217 currency, e.g.
    `{"amount": "1500000", "currency": "VND"}`; > 0, at most 10^15, and no more decimal
    places than the currency has (VND, JPY, KRW: 0; the others: 2)."""

    model_config = ConfigDict(json_schema_extra=_money_schema)

    amount: Annotated[str, StringConstraints(max_length=40, pattern=DECIMAL_PATTERN)]
    currency: Currency
    _money: Money = PrivateAttr()

    @model_validator(mode="after")
    def _exact(self) -> MoneyIn:
        try:
            self._money = Money.parse(self.amount, self.currency)
        except InvalidInput as e:
            raise ValueError(e.reason) from None
        return self

    @property
    def money(self) -> Money:
        return self._money


class WriteIn(Strict):
    id: UUID | None = Field(None, description="client-chosen id: the same request again "
                                              "answers the original result")


class FundIn(WriteIn):
    code: FundCode
    name: Text(200)
    currency: Currency = "VND"
    purpose: OptionalText(2000) = ""
    restricted: StrictBool = False  # true or false: not "yes", 1 or "on"
    opened_on: EffectiveDay | None = None


class CloseIn(WriteIn):
    closed_on: EffectiveDay | None = None


class SponsorIn(WriteIn):
    name: Text(200)
    kind: Literal[SPONSOR_KINDS]  # type: ignore[valid-type]
    email: Annotated[str, StringConstraints(max_length=254, pattern=f"^({EMAIL_PATTERN})?$")] = ""


class Instalment(Strict):
    due: EffectiveDay
    amount: MoneyIn


class PledgeIn(WriteIn):
    sponsor_id: UUID
    amount: MoneyIn
    schedule: list[Instalment] = Field(default_factory=list, max_length=120)
    pledged_on: EffectiveDay | None = None


class ReasonIn(WriteIn):
    """A compensating action; `id` makes it safe to retry."""

    reason: Text(500)


class CancelIn(ReasonIn):
    cancelled_on: EffectiveDay | None = None


class ReverseIn(ReasonIn):
    reversed_on: EffectiveDay | None = None


class RevokeIn(ReasonIn):
    revoked_on: EffectiveDay | None = None


class ReleaseIn(ReasonIn):
    amount: MoneyIn
    released_on: EffectiveDay | None = None


class DonationIn(WriteIn):
    sponsor_id: UUID
    amount: MoneyIn
    credited: MoneyIn | None = Field(
        None, description="what the bank credited in the fund's currency (for a foreign gift)")
    received_on: EffectiveDay
    method: Text(64)
    reference: OptionalText(140) = ""
    pledge_id: UUID | None = None

    def recorded_as(self) -> dict[str, Any]:
        """The donation as `Ledger.record_donation` takes it (less fund and actor), with
        an id made now when the client chose none."""
        return {
            "sponsor_id": self.sponsor_id, "amount": self.amount.money,
            "credited": self.credited.money if self.credited else None,
            "received_on": self.received_on, "method": self.method,
            "reference": self.reference, "pledge_id": self.pledge_id,
            "donation_id": self.id or uuid4(),
        }


class AllocationIn(WriteIn):
    name: Text(200)
    amount: MoneyIn
    allocated_on: EffectiveDay | None = None


class Recipient(Strict):
    """A student receiving an award (personal data: never logged)."""

    name: Text(200)
    school: Text(200)
    grade: OptionalText(40) = ""
    category: OptionalText(100) = ""


class AwardIn(WriteIn):
    allocation_id: UUID
    recipient: Recipient
    amount: MoneyIn
    granted_on: EffectiveDay | None = None


class DisbursementIn(WriteIn):
    amount: MoneyIn
    paid_on: EffectiveDay
    method: Text(64)
    reference: OptionalText(140) = ""


class ReturnIn(WriteIn):
    amount: MoneyIn
    returned_on: EffectiveDay
    reason: Text(500)


class TransferIn(WriteIn):
    from_fund: FundCode
    to_fund: FundCode
    amount: MoneyIn
    reason: Text(500)
    transferred_on: EffectiveDay | None = None
