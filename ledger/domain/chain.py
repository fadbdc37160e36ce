"""The hash chain of a fund's history.

Each event's hash is SHA-256 over the canonical encoding of its content followed by the
previous event's hash, so editing, deleting, inserting or reordering any stored event
breaks every later link. The content is: fund id, sequence number, event type, effective
date, recorded time, actor and data. The canonical encoding is compact JSON with sorted
keys and ASCII escapes, so it is the same bytes on every machine and Python version.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import orjson

from ledger.domain.plain import plain

#: The previous hash of a fund's first event.
GENESIS = "0" * 64

#: Event attributes that are not data: identity, chaining and bookkeeping.
ENVELOPE = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor",
        "effective_on",
        "prev_hash",
        "hash",
    }
)


#: the types whose JSON both encoders write alike (containers are looked into)
_SCALARS = frozenset({str, int, bool, type(None)})


def canonical(content: dict[str, Any]) -> bytes:
    """The canonical bytes of a JSON-compatible mapping.

    orjson writes the same bytes as `json.dumps` with sorted keys, compact separators and
    ASCII escapes whenever its output is printable ASCII (same escapes of control
    characters, quotes and backslashes; keys in the same order), and much faster.
    Anything else (text beyond ASCII, DEL, integers beyond 64 bits, types orjson
    reads differently) takes the reference encoding, so the bytes never depend on which
    path made them (`tests/test_chain_canonical.py` holds the two to each other).
    """
    if plain(content, _SCALARS):
        try:
            fast = orjson.dumps(content, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            pass
        else:
            if fast.isascii() and b"\x7f" not in fast:
                return fast
    return reference_canonical(content)


def reference_canonical(content: dict[str, Any]) -> bytes:
    """The definition of the canonical bytes: compact JSON, sorted keys, ASCII escapes."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def link(
    prev_hash: str,
    *,
    fund_id: str,
    seq: int,
    event_type: str,
    effective_on: str,
    recorded_at: str,
    actor: str,
    data: dict[str, Any],
) -> str:
    """The hash of one event, chained to `prev_hash`."""
    content = {
        "fund": fund_id,
        "seq": seq,
        "type": event_type,
        "effective_on": effective_on,
        "recorded_at": recorded_at,
        "actor": actor,
        "data": data,
    }
    return hashlib.sha256(canonical(content) + prev_hash.encode("ascii")).hexdigest()


def data_of(attributes: dict[str, Any]) -> dict[str, Any]:
    """The data part of an event's attributes: everything but the envelope."""
    return {k: v for k, v in attributes.items() if k not in ENVELOPE}
