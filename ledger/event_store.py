"""The event store, converting new events to stored ones without per-event dataclasses.

The library's `EventStore.put` maps each event to a `StoredEvent` and, once recorded, to a
`Recording` holding a `Notification`: three frozen dataclasses per event, whose generated
`__init__`s set each field through `object.__setattr__`, about 2.5 µs an event, a tenth
of what a bulk import spends recording a donation. `LedgerEventStore.put` builds the same
objects as the library's mapper rebuilds stored events (a bare object, its `__dict__`
given whole), with the same fields and values, so nothing downstream can tell them apart.
With a compressor or cipher configured, or another mapper, it is the library's `put`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    EventStore,
    Mapper,
    Notification,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import get_topic

from ledger.domain.events import bare


class LedgerEventStore(EventStore[UUID]):
    """The library's event store, with a faster `put`."""

    def put(self, domain_events: Sequence[Any], **kwargs: Any) -> list[Recording[UUID]]:
        mapper = self.mapper
        if type(mapper) is not Mapper or mapper.compressor or mapper.cipher:
            return super().put(domain_events, **kwargs)
        stored_events = [self._stored(event) for event in domain_events]
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        if not notification_ids:
            return []
        if len(notification_ids) != len(stored_events):
            raise AssertionError("the recorder answered a notification id per event")
        return [
            Recording(event, bare(Notification, dict(stored.__dict__, id=notification_id)))
            for event, stored, notification_id in zip(domain_events, stored_events,
                                                       notification_ids, strict=True)
        ]

    def _stored(self, event: Any) -> StoredEvent:
        """`Mapper.to_stored_event`, without a compressor or cipher."""
        state = dict(event.__dict__)
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        return bare(StoredEvent, {
            "originator_id": originator_id, "originator_version": originator_version,
            "topic": get_topic(type(event)), "state": self.mapper.transcoder.encode(state),
        })
