"""Amounts, dates and times as a Vietnamese or an English reader expects them.

Vietnamese: `1.500.000 ₫`, `12.000,50 EUR`, `01/09/2025`. English: `VND 1,500,000`,
`EUR 12,000.50`, `2025-09-01`. Formatting works on integer minor units only; there is no
float anywhere between the event and the printed digit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from ledger.domain.money import Money, exponent

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")

#: Statements show times on the association's clock.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_SEPARATORS = {"vi": (".", ","), "en": (",", ".")}  # (thousands, decimal)


def number(minor: int, currency: str, lang: Lang) -> str:
    """The amount's digits grouped for the language, without the currency."""
    thousands, decimal = _SEPARATORS[lang]
    exp = exponent(currency)
    whole, fraction = divmod(abs(minor), 10**exp)
    digits = f"{whole:,}".replace(",", thousands)
    if exp:
        digits += f"{decimal}{fraction:0{exp}d}"
    return f"-{digits}" if minor < 0 else digits


def money(amount: Money, lang: Lang) -> str:
    """`1.500.000 ₫` (vi) or `VND 1,500,000` (en)."""
    digits = number(amount.minor, amount.currency, lang)
    if lang == "vi":
        return f"{digits} ₫" if amount.currency == "VND" else f"{digits} {amount.currency}"
    return f"{amount.currency} {digits}"


def day(value: date | None, lang: Lang) -> str:
    """`01/09/2025` (vi) or `2025-09-01` (en); empty for no date."""
    if value is None:
        return ""
    return value.strftime("%d/%m/%Y") if lang == "vi" else value.isoformat()


def moment(value: datetime, lang: Lang) -> str:
    """A recorded time on the association's clock, to the minute, with its offset."""
    local = value.astimezone(LOCAL_TZ)
    clock = local.strftime("%H:%M")
    return f"{day(local.date(), lang)} {clock} (UTC+07:00)"


def excel_number_format(currency: str, lang: Lang) -> str:
    """The spreadsheet number format of an amount of this currency: exact decimals, the
    currency shown beside the number (Excel groups digits by the reader's own locale)."""
    digits = "#,##0" + ("." + "0" * exponent(currency) if exponent(currency) else "")
    if lang == "vi":
        return f'{digits} "₫"' if currency == "VND" else f'{digits} "{currency}"'
    return f'"{currency}" {digits}'


def excel_date_format(lang: Lang) -> str:
    return "dd/mm/yyyy" if lang == "vi" else "yyyy-mm-dd"
