"""Awards to students: grant, revoke, disburse, and take back money a recipient returns."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from api import resources
from api.deps import LedgerDep, SettingsDep, TreasurerDep, VisibilityDep
from api.models import AwardIn, DisbursementIn, ReturnIn, RevokeIn
from api.routing import LedgerRoute
from api.writes import answer, created

router = APIRouter(prefix="/v1/funds/{code}/awards", tags=["awards"], route_class=LedgerRoute)


@router.post("", **created(resources.Award, "Grant an award from an allocation"))
def grant_award(
    code: str, body: AwardIn, principal: TreasurerDep, ledger: LedgerDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.grant_award(
        code, body.allocation_id, body.recipient.model_dump(), body.amount.money,
        actor=principal.name, award_id=body.id, granted_on=body.granted_on,
    )
    return answer(written, response, visible, settings, resources.recorded)


@router.post("/{award_id}/revoke", **created(resources.AwardRevoked, "Revoke an award"))
def revoke_award(
    code: str, award_id: UUID, body: RevokeIn, principal: TreasurerDep, ledger: LedgerDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.revoke_award(code, award_id, body.reason, actor=principal.name,
                                  write_id=body.id, revoked_on=body.revoked_on)
    return answer(written, response, visible, settings, resources.recorded)


@router.post("/{award_id}/disbursements", **created(resources.Disbursement,
                                                    "Pay (part of) an award"))
def disburse_award(
    code: str, award_id: UUID, body: DisbursementIn, principal: TreasurerDep,
    ledger: LedgerDep, visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.disburse_award(
        code, award_id, body.amount.money, paid_on=body.paid_on, method=body.method,
        reference=body.reference, actor=principal.name, disbursement_id=body.id,
    )
    return answer(written, response, visible, settings, resources.recorded)


@router.post("/{award_id}/returns", **created(resources.Return,
                                              "Record money a recipient gave back"))
def record_return(
    code: str, award_id: UUID, body: ReturnIn, principal: TreasurerDep, ledger: LedgerDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.record_return(
        code, award_id, body.amount.money, body.reason, returned_on=body.returned_on,
        actor=principal.name, return_id=body.id,
    )
    return answer(written, response, visible, settings, resources.recorded)
