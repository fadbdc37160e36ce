"""The directory of sponsors: every sponsor ever registered, read from the event store.

A sponsor is one event (`Sponsor.Registered`) that never changes, so the directory is the
list of those events, in the order they were recorded. The read models hold sponsors'
money, not their names; the web pages name sponsors from here.
"""

from __future__ import annotations

from ledger.application import Ledger
from ledger.domain.sponsor import Sponsor


def sponsors(ledger: Ledger) -> list[dict[str, str]]:
    """Every sponsor as `Ledger.sponsor` answers it (`id`, `name`, `kind`, `email`), in the
    order they were registered."""
    return [{"id": str(e.originator_id), "name": e.name, "kind": e.kind, "email": e.email}
            for e in ledger.events_of(Sponsor.Registered)]
