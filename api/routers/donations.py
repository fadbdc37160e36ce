"""Donations: record a gift (in any currency, with what the bank credited), or reverse one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from api import resources
from api.deps import DonationsDep, LedgerDep, SettingsDep, TreasurerDep, VisibilityDep
from api.models import DonationIn, ReverseIn
from api.routing import LedgerRoute
from api.writes import answer, answer_async, created

router = APIRouter(prefix="/v1/funds/{code}/donations", tags=["donations"],
                   route_class=LedgerRoute)


@router.post("", **created(resources.Donation, "Record a donation"))
async def record_donation(
    code: str, body: DonationIn, principal: TreasurerDep, donations: DonationsDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    # concurrent donations share a transaction (group commit), each still atomic
    # (async: the request waits for its commit and its views holding no thread)
    # (`api.express` answers most donations before they reach this route, alike)
    written = await donations.record_async(principal.name, code=code, **body.recorded_as())
    return await answer_async(written, response, visible, settings, resources.recorded)


@router.post("/{donation_id}/reverse", **created(resources.DonationReversed,
                                                 "Reverse a donation"))
def reverse_donation(
    code: str, donation_id: UUID, body: ReverseIn, principal: TreasurerDep, ledger: LedgerDep,
    visible: VisibilityDep, settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.reverse_donation(code, donation_id, body.reason, actor=principal.name,
                                      write_id=body.id, reversed_on=body.reversed_on)
    return answer(written, response, visible, settings, resources.recorded)
