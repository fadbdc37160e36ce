"""What the command modules share: opening the ledger and parsing values."""

from __future__ import annotations

from datetime import date, datetime

import click

from ledger.application import Ledger
from ledger.domain.errors import LedgerError
from ledger.domain.values import iso_date
from ledger.storage import open_ledger


def ledger_app() -> Ledger:
    return open_ledger()


def parse_date(value: str, field: str = "date") -> date:
    try:
        return iso_date(field, value)
    except LedgerError as e:
        raise click.BadParameter(e.detail) from None


def parse_time(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise click.BadParameter("a time needs an offset, e.g. 2025-06-30T17:00:00+07:00")
    return moment
