"""Allocations: set money of a fund aside for a round of awards, or release part of it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from api import resources
from api.deps import LedgerDep, SettingsDep, TreasurerDep, VisibilityDep
from api.models import AllocationIn, ReleaseIn
from api.routing import LedgerRoute
from api.writes import answer, created

router = APIRouter(prefix="/v1/funds/{code}/allocations", tags=["allocations"],
                   route_class=LedgerRoute)


@router.post("", **created(resources.Allocation, "Allocate money for awards"))
def allocate(
    code: str, body: AllocationIn, principal: TreasurerDep, ledger: LedgerDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.allocate(code, body.name, body.amount.money, actor=principal.name,
                              allocation_id=body.id, allocated_on=body.allocated_on)
    return answer(written, response, visible, settings, resources.recorded)


@router.post("/{allocation_id}/release", **created(resources.AllocationReleased,
                                                   "Release part of an allocation"))
def release_allocation(
    code: str, allocation_id: UUID, body: ReleaseIn, principal: TreasurerDep,
    ledger: LedgerDep, visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.release_allocation(
        code, allocation_id, body.amount.money, body.reason, actor=principal.name,
        write_id=body.id, released_on=body.released_on,
    )
    return answer(written, response, visible, settings, resources.recorded)
