"""Transfers between two funds of one currency: both legs land atomically or neither."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api import resources
from api.deps import LedgerDep, SettingsDep, TreasurerDep, VisibilityDep
from api.models import TransferIn
from api.routing import LedgerRoute
from api.writes import answer, created

router = APIRouter(prefix="/v1/transfers", tags=["transfers"], route_class=LedgerRoute)


@router.post("", **created(resources.Transfer, "Transfer money between two funds"))
def transfer(
    body: TransferIn, principal: TreasurerDep, ledger: LedgerDep, visible: VisibilityDep,
    settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.transfer(
        body.from_fund, body.to_fund, body.amount.money, body.reason, actor=principal.name,
        transfer_id=body.id, transferred_on=body.transferred_on,
    )
    return answer(written, response, visible, settings, resources.transfer)
