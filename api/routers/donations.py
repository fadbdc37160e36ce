"""Donations: record a gift (in any currency, with what the bank credited), or reverse one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from api import resources
from api.deps import LedgerDep, ReadModelsDep, SettingsDep, TreasurerDep
from api.models import DonationIn, ReverseIn
from api.writes import answer, created

router = APIRouter(prefix="/v1/funds/{code}/donations", tags=["donations"])


@router.post("", **created(resources.Donation, "Record a donation"))
def record_donation(
    code: str, body: DonationIn, principal: TreasurerDep, ledger: LedgerDep,
    views: ReadModelsDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.record_donation(
        code, body.sponsor_id, body.amount.money,
        body.credited.money if body.credited else None,
        received_on=body.received_on, method=body.method, reference=body.reference,
        pledge_id=body.pledge_id, actor=principal.name, donation_id=body.id,
    )
    return answer(written, response, views, settings, resources.recorded)


@router.post("/{donation_id}/reverse", **created(resources.DonationReversed,
                                                 "Reverse a donation"))
def reverse_donation(
    code: str, donation_id: UUID, body: ReverseIn, principal: TreasurerDep, ledger: LedgerDep,
    views: ReadModelsDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.reverse_donation(code, donation_id, body.reason, actor=principal.name,
                                      write_id=body.id, reversed_on=body.reversed_on)
    return answer(written, response, views, settings, resources.recorded)
