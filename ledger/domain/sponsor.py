"""The sponsor aggregate: a person, organisation, family or clan who pledges and gives."""

from __future__ import annotations

import re
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.domain import values
from ledger.domain.errors import InvalidInput

SPONSOR_KINDS = ("individual", "organization", "family", "clan")
_NOT_IN_EMAIL = f"@{values.WHITESPACE_RANGES}{values.CONTROL_RANGES}"
#: an email address as the ledger takes it: one "@" between two parts, no whitespace and
#: no control characters (Python's and JSON Schema's regular expressions read it alike)
EMAIL_PATTERN = f"[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+"


class Sponsor(Aggregate):
    """A sponsor, identified by a UUID that a client may choose."""

    class Registered(Aggregate.Created):
        name: str
        kind: str
        email: str
        actor: str

    @classmethod
    def register(cls, sponsor_id: UUID, name: str, kind: str, email: str, *, actor: str) -> Sponsor:
        values.text("name", name, max_len=200)
        if kind not in SPONSOR_KINDS:
            raise InvalidInput("kind", f"must be one of {', '.join(SPONSOR_KINDS)}")
        email = values.text("email", email, max_len=254, required=False)
        if email and not re.fullmatch(EMAIL_PATTERN, email):
            raise InvalidInput("email", "is not an email address")
        return cls._create(
            cls.Registered, id=sponsor_id, name=name, kind=kind, email=email, actor=actor
        )

    @event(Registered)
    def __init__(self, name: str, kind: str, email: str, actor: str) -> None:
        self.name = name
        self.kind = kind
        self.email = email

    def as_dict(self) -> dict[str, str]:
        return {"id": str(self.id), "name": self.name, "kind": self.kind, "email": self.email}
