"""Checking a statement's digests against the ledger, long after it was sent.

Each fund on a statement carries the hash-chain link (seq and hash) of the last event
behind it. If the stored event with that seq still has that hash, and the fund's chain
verifies (`ledger audit verify` recomputes every hash from the stored content), then no
event up to it was edited, removed, inserted or reordered since the statement was made.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.application import Ledger
from ledger.domain.errors import FundNotFound
from ledger.statements.model import Digest


@dataclass(frozen=True)
class DigestCheck:
    """The outcome for one fund's digest: `ok`, or what differs."""

    digest: Digest
    ok: bool
    detail: str


def check_digests(ledger: Ledger, digests: list[Digest]) -> list[DigestCheck]:
    """Whether each digest's event is still stored with the digest's hash."""
    checks = []
    for digest in digests:
        try:
            found = ledger.history(digest.fund, after=digest.seq - 1, limit=1)
        except FundNotFound:
            checks.append(DigestCheck(digest, False, f"fund {digest.fund} is not in the ledger"))
            continue
        if not found or found[0]["seq"] != digest.seq:
            checks.append(DigestCheck(digest, False, f"event #{digest.seq} is missing"))
        elif found[0]["hash"] != digest.hash:
            checks.append(DigestCheck(digest, False, f"event #{digest.seq} now has hash "
                                                     f"{found[0]['hash']}"))
        else:
            checks.append(DigestCheck(digest, True, f"event #{digest.seq} has the hash"))
    return checks
