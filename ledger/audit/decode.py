"""Decoding stored event state: the JSON bytes the event store holds, as plain data.

Fund events hold only JSON values (ids and dates as strings, amounts as integers) except
the recorded time, which the library stores as `{"_type_": "datetime_iso", "_data_": …}`;
so the stored JSON, decoded as it is, is the event's content. orjson decodes it several
times faster than the standard library (which is the fallback).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

try:
    from orjson import loads
except ImportError:  # pragma: no cover - orjson is a dependency; this keeps audits working
    from json import loads

from ledger.domain import chain

__all__ = ["loads", "recorded_at_text", "record", "event_hash"]


def recorded_at_text(state: dict[str, Any]) -> str:
    """The recorded time as ISO 8601, as the hash chain and exports spell it."""
    stamp = state["timestamp"]
    text = stamp["_data_"] if isinstance(stamp, dict) else stamp
    return datetime.fromisoformat(text).isoformat()


def event_hash(fund_id: str, seq: int, kind: str, state: dict[str, Any]) -> str:
    """The hash the chain gives this event's content after its stored `prev_hash`."""
    return chain.link(
        state["prev_hash"],
        fund_id=fund_id,
        seq=seq,
        event_type=kind,
        effective_on=state["effective_on"],
        recorded_at=recorded_at_text(state),
        actor=state["actor"],
        data=chain.data_of(state),
    )


def record(code: str, currency: str, seq: int, kind: str, state: dict[str, Any]) -> dict[str, Any]:
    """A stored fund event as plain data, as `ledger.application.event_record` makes it."""
    return {
        "fund": code,
        "currency": currency,
        "seq": seq,
        "type": kind,
        "effective_on": state["effective_on"],
        "recorded_at": recorded_at_text(state),
        "actor": state["actor"],
        "data": chain.data_of(state),
        "prev_hash": state["prev_hash"],
        "hash": state["hash"],
    }
