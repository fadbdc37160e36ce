"""Receipts: the event store's memory of every write, keyed by the write's id.

A receipt is saved in the same transaction as the events of the write it records, with
the write's client-chosen (or server-made) id as its aggregate id. The store refuses a
second aggregate with the same id, so a write can never be recorded twice, whichever
process or retry sends it; the receipt's fingerprint tells a faithful retry (answer the
original result) from a different write reusing the id (refuse it).
"""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

from ledger.domain import chain, events
from ledger.domain.errors import IdConflict
from ledger.domain.fund import RecordedDonation


def fingerprint(kind: str, request: dict[str, Any]) -> str:
    """A digest of a write's kind and its normalised content, as the client sent it."""
    return hashlib.sha256(chain.canonical({"kind": kind, "request": request})).hexdigest()


class Receipt(Aggregate):
    """The record that the write with this id happened, and what it answered."""

    class Issued(Aggregate.Created):
        kind: str
        fingerprint: str
        result: dict[str, Any]

    @classmethod
    def issue(cls, write_id: UUID, kind: str, fingerprint: str, result: dict[str, Any]) -> Receipt:
        issued = cls.issued(write_id, kind, fingerprint, result)
        receipt = issued.mutate(None)
        assert isinstance(receipt, cls)
        receipt._pending_events.append(issued)
        return receipt

    @classmethod
    def issued(cls, write_id: UUID, kind: str, fingerprint: str,
               result: dict[str, Any]) -> Receipt.Issued:
        """The event that issues a receipt, without building the receipt: a bulk write
        stores thousands and reads none of them back. `issue` builds the receipt from
        this same event, as a replay does."""
        return events.build(cls.Issued, {
            "originator_id": write_id, "originator_version": cls.INITIAL_VERSION,
            "timestamp": cls.Issued.create_timestamp(), "originator_topic": _TOPIC,
            "kind": kind, "fingerprint": fingerprint, "result": result,
        })

    @event(Issued)
    def __init__(self, kind: str, fingerprint: str, result: dict[str, Any]) -> None:
        self.kind = kind
        self.fingerprint = fingerprint
        self.result = result

    def replay(self, kind: str, fingerprint: str) -> dict[str, Any]:
        """The original result, if this is the same write again; IdConflict if not."""
        if kind != self.kind or fingerprint != self.fingerprint:
            raise IdConflict(self.id)
        return self.result


_TOPIC = get_topic(Receipt)


def recorded_donation(kind: str, result: dict[str, Any]) -> RecordedDonation | None:
    """The donation a receipt of this kind and result witnesses (its result holds the
    DonationReceived event as recorded), or None for a receipt of another kind of write."""
    if kind != "donation":
        return None
    event = result["events"][-1]
    return RecordedDonation.of(result["fund"], event["data"], event["effective_on"])
