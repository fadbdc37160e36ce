"""Exact money: an integer count of minor units and an ISO 4217 currency code.

A `Money` never holds a float. Decimal strings are parsed only at the edge, by
`Money.parse`, which refuses (never rounds) more decimal places than the currency has.
Events store the primitives (`minor`, `currency`), so stored history never depends on
this class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledger.domain.errors import InvalidInput

#: ISO 4217 codes the ledger accepts, with the number of decimal places of each.
CURRENCY_EXPONENTS: dict[str, int] = {
    "VND": 0,
    "JPY": 0,
    "KRW": 0,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "AUD": 2,
    "CAD": 2,
    "CHF": 2,
    "CNY": 2,
    "HKD": 2,
    "SGD": 2,
    "THB": 2,
    "TWD": 2,
}

#: The largest amount, in major units, that the ledger accepts.
MAX_MAJOR = 10**15

_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)


def exponent(currency: str) -> int:
    """The number of decimal places of `currency`; `InvalidInput` if unknown."""
    try:
        return CURRENCY_EXPONENTS[currency]
    except (KeyError, TypeError):
        raise InvalidInput("currency", f"unknown currency {currency!r}") from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount of one currency, in integer minor units (đồng, yen, cents).

    `minor` is never negative in a recorded amount; arithmetic may produce any integer,
    and comparisons between different currencies raise `ValueError`.
    """

    minor: int
    currency: str

    @classmethod
    def parse(cls, amount: str, currency: str) -> Money:
        """Parses a plain ASCII decimal string in major units: > 0, ≤ 10^15, exact."""
        exp = exponent(currency)
        if not isinstance(amount, str) or len(amount) > 40 or not _DECIMAL.fullmatch(amount):
            raise InvalidInput("amount", f"{amount!r} is not a plain decimal string")
        whole, _, fraction = amount.partition(".")
        if len(fraction) > exp:
            raise InvalidInput(
                "amount", f"{currency} takes at most {exp} decimal places, got {amount}"
            )
        minor = int(whole) * 10**exp + (int(fraction.ljust(exp, "0")) if exp else 0)
        money = cls(minor, currency)
        money.require_valid_amount()
        return money

    @classmethod
    def of(cls, minor: int, currency: str) -> Money:
        """Money from stored primitives (the currency is checked, the amount is not)."""
        exponent(currency)
        return cls(int(minor), currency)

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls.of(0, currency)

    def require_valid_amount(self) -> None:
        """Refuses an amount that is zero, negative or over 10^15 major units."""
        if self.minor <= 0:
            raise InvalidInput("amount", "an amount must be greater than zero")
        if self.minor > MAX_MAJOR * 10 ** exponent(self.currency):
            raise InvalidInput("amount", "an amount may be at most 10^15 major units")

    @property
    def text(self) -> str:
        """The amount as a plain decimal string in major units, e.g. '12.50'."""
        exp = exponent(self.currency)
        sign = "-" if self.minor < 0 else ""
        whole, fraction = divmod(abs(self.minor), 10**exp)
        return f"{sign}{whole}.{fraction:0{exp}d}" if exp else f"{sign}{whole}"

    def as_json(self) -> dict[str, str]:
        return {"amount": self.text, "currency": self.currency}

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise ValueError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __str__(self) -> str:
        return f"{self.text} {self.currency}"
