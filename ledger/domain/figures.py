"""The figures of SPEC §2, defined once, in integer minor units of a fund's currency.

    received_total       = donations − reversed donations
    cash                 = received_total + transferred_in − transferred_out
                           − disbursed_total + returned_total
    allocated_unspent    = allocations − released − disbursements
    available            = cash − allocated_unspent
    pledged_outstanding  = Σ over active pledges of max(0, pledged − donations applied)
"""

from __future__ import annotations

from collections.abc import Iterable


def cash(received: int, transferred_in: int, transferred_out: int, disbursed: int,
         returned: int) -> int:
    return received + transferred_in - transferred_out - disbursed + returned


def pledged_outstanding(pledges: Iterable[tuple[int, int, bool]]) -> int:
    """Of (pledged, applied, active) triples."""
    return sum(max(0, pledged - applied) for pledged, applied, active in pledges if active)


def figures(*, received: int, transferred_in: int, transferred_out: int, disbursed: int,
            returned: int, allocated_unspent: int, outstanding: int) -> dict[str, int]:
    """Every figure, by its name in the API."""
    in_cash = cash(received, transferred_in, transferred_out, disbursed, returned)
    return {
        "received_total": received,
        "cash": in_cash,
        "allocated_unspent": allocated_unspent,
        "available": in_cash - allocated_unspent,
        "pledged_outstanding": outstanding,
        "transferred_in": transferred_in,
        "transferred_out": transferred_out,
        "disbursed_total": disbursed,
        "returned_total": returned,
    }
