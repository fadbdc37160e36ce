"""Pledges: promise money to a fund (optionally by instalments), or cancel a promise."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from api import resources
from api.deps import LedgerDep, SettingsDep, TreasurerDep, VisibilityDep
from api.models import CancelIn, PledgeIn
from api.routing import LedgerRoute
from api.writes import answer, created

router = APIRouter(prefix="/v1/funds/{code}/pledges", tags=["pledges"], route_class=LedgerRoute)


@router.post("", **created(resources.Pledge, "Record a pledge"))
def make_pledge(
    code: str, body: PledgeIn, principal: TreasurerDep, ledger: LedgerDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.make_pledge(
        code, body.sponsor_id, body.amount.money,
        [(i.due, i.amount.money) for i in body.schedule],
        actor=principal.name, pledge_id=body.id, pledged_on=body.pledged_on,
    )
    return answer(written, response, visible, settings, resources.recorded)


@router.post("/{pledge_id}/cancel", **created(resources.PledgeCancelled, "Cancel a pledge"))
def cancel_pledge(
    code: str, pledge_id: UUID, body: CancelIn, principal: TreasurerDep, ledger: LedgerDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.cancel_pledge(code, pledge_id, body.reason, actor=principal.name,
                                   write_id=body.id, cancelled_on=body.cancelled_on)
    return answer(written, response, visible, settings, resources.recorded)
