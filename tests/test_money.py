"""Money parses exactly, refuses what is not exact, and never meets a float."""

import pytest

from ledger.domain.errors import InvalidInput
from ledger.domain.money import Money


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("1500000", "VND", 1500000), ("12.50", "EUR", 1250), ("12.5", "USD", 1250),
     ("500000", "JPY", 500000), ("0.01", "EUR", 1), ("1000000000000000", "VND", 10**15)],
)
def test_a_plain_decimal_string_parses_to_exact_minor_units(text, currency, minor):
    assert Money.parse(text, currency) == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency"),
    [("-1", "VND"), ("0", "VND"), ("0.00", "EUR"), ("1.5", "VND"), ("1.0", "JPY"),
     ("1.001", "EUR"), ("1e6", "VND"), ("1,000", "VND"), ("+5", "VND"), (" 5", "VND"),
     ("١٢", "VND"), ("1000000000000001", "VND"), ("10000000000000000", "VND"), ("", "VND"),
     (".5", "EUR"), ("5.", "EUR"), ("9" * 5000, "VND"), ("5", "XXX"), ("5", "vnd")],
)
def test_anything_but_an_exact_amount_in_range_is_refused(text, currency):
    with pytest.raises(InvalidInput):
        Money.parse(text, currency)


@pytest.mark.parametrize("value", [1500000.0, 1500000, None, b"15"])
def test_a_non_string_amount_is_refused(value):
    with pytest.raises(InvalidInput):
        Money.parse(value, "VND")


def test_money_prints_major_units_and_refuses_mixing_currencies():
    assert Money(1250, "EUR").text == "12.50"
    assert Money(7, "EUR").text == "0.07"
    assert Money(1500000, "VND").as_json() == {"amount": "1500000", "currency": "VND"}
    with pytest.raises(ValueError):
        Money(1, "EUR") + Money(1, "USD")
