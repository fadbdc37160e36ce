"""Checks of plain values that every command shares: free text, codes and dates."""

from __future__ import annotations

import re
from datetime import date, datetime

from ledger.domain.errors import InvalidInput

_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", re.ASCII)
#: control characters (C0 but tab and line breaks, DEL, C1), the Unicode line and
#: paragraph separators, and the bidirectional overrides and isolates, which can make a
#: printed name or reference read other than it is
#: (as the escapes of a character class, read alike by Python and JSON Schema: the API
#: documents text fields with them)
CONTROL_RANGES = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[{CONTROL_RANGES}]")
#: whitespace, as Python's and JSON Schema's `\s` would each have it (they differ)
WHITESPACE_RANGES = (r"\x09-\x0d\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f"
                     r"\u3000\ufeff")


def text(field: str, value: object, *, max_len: int, required: bool = True) -> str:
    """A piece of free text: a string of at most `max_len` characters, without control
    characters; when required, not blank. Absent optional text is the empty string."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    if required and not value.strip():
        raise InvalidInput(field, "must not be empty")
    if len(value) > max_len:
        raise InvalidInput(field, f"must be at most {max_len} characters")
    if _CONTROL.search(value):
        raise InvalidInput(field, "must not contain control characters")
    return value


def fund_code(value: object) -> str:
    """A fund code: 1–40 ASCII letters, digits, '_', '.' or '-', starting alphanumeric."""
    if not isinstance(value, str) or not _CODE.fullmatch(value):
        raise InvalidInput(
            "code", "must be 1-40 ASCII letters, digits, '_', '.' or '-', starting alphanumeric"
        )
    return value


#: the effective dates the ledger keeps: bookkeeping from 1900 on (statements start no
#: earlier), and nothing further ahead than any schedule needs or a Beancount file can hold
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


def effective_date(field: str, value: date) -> date:
    """A date an event takes effect on: within EARLIEST_DATE to LATEST_DATE."""
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise InvalidInput(field, f"must be between {EARLIEST_DATE.isoformat()} and "
                                  f"{LATEST_DATE.isoformat()}")
    return value


def iso_moment(field: str, value: object) -> datetime:
    """A moment given as ISO 8601 with its offset (`2025-06-30T17:00:00+07:00`)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value
    if not isinstance(value, str) or len(value) > 64:
        raise InvalidInput(field, "must be an ISO 8601 time with an offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, "is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise InvalidInput(field, "needs an offset, e.g. 2025-06-30T17:00:00+07:00")
    return moment


def iso_date(field: str, value: object) -> date:
    """A calendar date given as ISO 8601 `YYYY-MM-DD` (or a `date`)."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
        raise InvalidInput(field, "must be a date YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(field, f"{value} is not a date that exists") from None
