"""Export of a fund's whole history as JSON lines or CSV, streamed in constant memory.

Each line or row is one stored event as plain data — fund, currency, seq, type, effective
date, recorded time, actor, data, prev_hash, hash — read page by page from the event
store, so a history of any size streams without being held. CSV cells that a spreadsheet
would run as a formula (starting with = + - @, a tab or a carriage return) are prefixed
with an apostrophe.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import Any, TextIO

from ledger.audit.decode import loads, record
from ledger.audit.stored import FUND_TOPIC, StoredEvents
from ledger.domain.errors import FundNotFound
from ledger.domain.fund import Fund

CSV_COLUMNS = ("fund", "currency", "seq", "type", "effective_on", "recorded_at", "actor",
               "prev_hash", "hash", "data")
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def fund_records(app: Any, code: str) -> Iterator[dict[str, Any]]:
    """Every event of the fund as plain data, oldest first; FundNotFound if none."""
    cut = len(FUND_TOPIC)
    currency = None
    for seq, topic, raw in StoredEvents(app).fund_rows(Fund.id_for(code)):
        state = loads(raw)
        kind = topic[cut:]
        if currency is None:
            if kind != "Opened" or state.get("code") != code:
                raise FundNotFound(code)
            currency = state["currency"]
        yield record(code, currency, seq, kind, state)
    if currency is None:
        raise FundNotFound(code)


def write_jsonl(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    """Writes one JSON object per line; answers how many."""
    n = 0
    for n, r in enumerate(records, 1):
        out.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
    return n


def safe_cell(value: Any) -> str:
    """A CSV cell that no spreadsheet runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_csv(records: Iterator[dict[str, Any]], out: TextIO) -> int:
    """Writes a header and one row per event (data as JSON); answers how many."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    n = 0
    for n, r in enumerate(records, 1):
        row = dict(r, data=json.dumps(r["data"], ensure_ascii=False, sort_keys=True,
                                      separators=(",", ":")))
        writer.writerow([safe_cell(row[c]) for c in CSV_COLUMNS])
    return n
