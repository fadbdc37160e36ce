"""Named domain errors: every refused command raises one of these, before any event exists.

Errors carry structured attributes and know nothing of HTTP; `api/problems.py` maps each
class to a status and a problem type in one table. `kind` groups them: `invalid` (the input
is wrong on its own), `not_found`, `conflict` (a rule that depends on the ledger's state).
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger reports to a user."""

    kind = "conflict"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(LedgerError):
    """Input that is malformed or out of range on its own (a field and why)."""

    kind = "invalid"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class NotFound(LedgerError):
    """Something named by id or code that the ledger does not hold."""

    kind = "not_found"

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"no {what} {key}")
        self.what = what
        self.key = str(key)


class FundNotFound(NotFound):
    def __init__(self, code: str) -> None:
        super().__init__("fund", code)


class SponsorNotFound(NotFound):
    def __init__(self, sponsor_id: object) -> None:
        super().__init__("sponsor", sponsor_id)


class PledgeNotFound(NotFound):
    def __init__(self, pledge_id: object) -> None:
        super().__init__("pledge", pledge_id)


class DonationNotFound(NotFound):
    def __init__(self, donation_id: object) -> None:
        super().__init__("donation", donation_id)


class AllocationNotFound(NotFound):
    def __init__(self, allocation_id: object) -> None:
        super().__init__("allocation", allocation_id)


class AwardNotFound(NotFound):
    def __init__(self, award_id: object) -> None:
        super().__init__("award", award_id)


class FundClosed(LedgerError):
    def __init__(self, code: str) -> None:
        super().__init__(f"fund {code} is closed and takes nothing but reads")
        self.code = code


class FundAlreadyExists(LedgerError):
    def __init__(self, code: str) -> None:
        super().__init__(f"a different fund with code {code} already exists")
        self.code = code


class FundNotSettled(LedgerError):
    """A fund closes only with no cash and no outstanding pledge."""

    def __init__(self, code: str, cash: str, pledged_outstanding: str) -> None:
        super().__init__(
            f"fund {code} cannot close: cash {cash}, pledged outstanding {pledged_outstanding}"
        )
        self.code = code


class CurrencyMismatch(LedgerError):
    def __init__(self, fund: str, expected: str, given: str) -> None:
        super().__init__(f"fund {fund} keeps its books in {expected}, not {given}")
        self.fund = fund
        self.expected = expected
        self.given = given


class Insufficient(LedgerError):
    """An amount exceeds what a figure or a remainder allows."""

    #: the figure that would go below zero, e.g. "available"
    figure = "available"

    def __init__(self, fund: str, limit: str, requested: str, what: str | None = None) -> None:
        figure = what or self.figure
        super().__init__(f"{requested} exceeds the {figure} of {limit} in fund {fund}")
        self.fund = fund
        self.limit = limit
        self.requested = requested


class InsufficientAvailable(Insufficient):
    figure = "available"


class InsufficientCash(Insufficient):
    figure = "cash"


class ExceedsAllocationRemainder(Insufficient):
    figure = "allocation's ungranted remainder"


class ExceedsAwardRemainder(Insufficient):
    figure = "award's undisbursed remainder"


class ExceedsReturnable(Insufficient):
    figure = "amount disbursed on the award and not yet returned"


class TurnoverLimit(LedgerError):
    """A write that would take the money a fund's events have moved past what its sums
    can hold."""

    def __init__(self, code: str, limit_major: int, currency: str) -> None:
        super().__init__(
            f"fund {code} has moved nearly {limit_major:,} {currency} in all, the most one "
            "fund's books can hold; record this in a new fund")
        self.code = code


class AlreadyReversed(LedgerError):
    def __init__(self, donation_id: object) -> None:
        super().__init__(f"donation {donation_id} is already reversed")


class PledgeNotActive(LedgerError):
    def __init__(self, pledge_id: object) -> None:
        super().__init__(f"pledge {pledge_id} is cancelled")


class PledgeOfAnotherSponsor(LedgerError):
    def __init__(self, pledge_id: object) -> None:
        super().__init__(f"pledge {pledge_id} belongs to another sponsor")


class AwardRevoked(LedgerError):
    def __init__(self, award_id: object) -> None:
        super().__init__(f"award {award_id} is revoked")


class IdConflict(LedgerError):
    """A client-chosen id was used before for other content."""

    def __init__(self, entity_id: object) -> None:
        super().__init__(f"id {entity_id} was already used for different content")
        self.entity_id = str(entity_id)


class Contention(LedgerError):
    """Concurrent writers kept winning; the command was retried and then given up."""

    def __init__(self, attempts: int) -> None:
        super().__init__(f"the fund was busy; gave up after {attempts} attempts, retry later")
