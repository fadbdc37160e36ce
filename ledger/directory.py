"""The directory of sponsors: every sponsor ever registered, read from the event store.

A sponsor is one event (`Sponsor.Registered`) that never changes, so the directory is the
list of those events, in the order they were recorded. The read models hold sponsors'
money, not their names; the web pages name sponsors from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from eventsourcing.utils import get_topic

from ledger.application import Ledger
from ledger.domain.sponsor import Sponsor

#: notifications read per query
PAGE = 1000


def _registrations(ledger: Ledger) -> Iterator[Any]:
    topics = [get_topic(Sponsor.Registered)]
    start = 1
    while page := ledger.recorder.select_notifications(start, PAGE, topics=topics):
        yield from (ledger.mapper.to_domain_event(n) for n in page)
        if len(page) < PAGE:
            return
        start = page[-1].id + 1


def sponsors(ledger: Ledger) -> list[dict[str, str]]:
    """Every sponsor as `Ledger.sponsor` answers it (`id`, `name`, `kind`, `email`), in the
    order they were registered."""
    return [{"id": str(e.originator_id), "name": e.name, "kind": e.kind, "email": e.email}
            for e in _registrations(ledger)]
