"""The fund history read model: every event of every fund, in order, for auditors to page.

One row per event, keyed by fund and per-fund sequence number, with its effective date,
recorded time, actor, data (canonical JSON) and chain hashes: what
`GET /v1/funds/{code}/events?after=&limit=` answers, shaped as `event_record` shapes it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson

from ledger.domain.chain import data_of
from ledger.projections.database import Tx
from ledger.projections.view import Item, View, add_funds, directory_ddl, find_fund

COLUMNS = ("fund_id", "seq", "notification_id", "type", "effective_on", "recorded_at",
           "actor", "data", "prev_hash", "hash")


class History(View):
    """Every fund event, by fund and sequence number."""

    name = "history"
    tables = (
        directory_ddl("fund_history_funds"),
        "CREATE TABLE IF NOT EXISTS {fund_history} (fund_id TEXT, seq BIGINT,"
        " notification_id BIGINT NOT NULL, type TEXT NOT NULL, effective_on TEXT NOT NULL,"
        " recorded_at TEXT NOT NULL, actor TEXT NOT NULL, data TEXT NOT NULL,"
        " prev_hash TEXT NOT NULL, hash TEXT NOT NULL, PRIMARY KEY (fund_id, seq))",
    )

    def apply(self, tx: Tx, batch: Sequence[Item]) -> None:
        rows = [
            (fid, e.originator_version, notification_id, what, e.effective_on,
             e.timestamp.isoformat(), e.actor, data_json(data_of(e.__dict__)), e.prev_hash,
             e.hash)
            for notification_id, e, what, fid in batch
        ]
        add_funds(tx, self.t("fund_history_funds"), batch)
        # a plain INSERT: an event applied twice is a bug that must fail loudly
        tx.write_rows(self.t("fund_history"), COLUMNS, rows)

    def history(self, tx: Tx, code: str, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        fund_id, currency = find_fund(tx, self.t("fund_history_funds"), code)
        rows = tx.all(
            f"SELECT seq, type, effective_on, recorded_at, actor, data, prev_hash, hash"
            f" FROM {self.t('fund_history')} WHERE fund_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (fund_id, after, limit),
        )
        return [
            {"fund": code, "currency": currency, "seq": int(seq), "type": type_,
             "effective_on": on, "recorded_at": at, "actor": actor, "data": json.loads(data),
             "prev_hash": prev, "hash": hash_}
            for seq, type_, on, at, actor, data, prev, hash_ in rows
        ]


_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def data_json(data: dict[str, Any]) -> str:
    """An event's data as compact JSON text, non-ASCII kept as is. orjson writes the same
    text as the standard library for the strings, integers, booleans, nulls, lists and
    objects that fund events hold, many times faster; what it refuses (integers beyond 64
    bits, non-string keys, lone surrogates) the standard library encodes."""
    try:
        return orjson.dumps(data).decode()
    except TypeError:
        return _dumps(data)
