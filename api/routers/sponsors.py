"""Sponsors: register one, read one (a sponsor key reads only its own)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from api import resources
from api.deps import LedgerDep, SettingsDep, SponsorReaderDep, TreasurerDep, VisibilityDep
from api.models import SponsorIn
from api.routing import LedgerRoute
from api.writes import answer, created
from ledger.domain.errors import SponsorNotFound

router = APIRouter(prefix="/v1/sponsors", tags=["sponsors"], route_class=LedgerRoute)


@router.post("", **created(resources.Sponsor, "Register a sponsor"))
def register_sponsor(
    body: SponsorIn, principal: TreasurerDep, ledger: LedgerDep, visible: VisibilityDep,
    settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.register_sponsor(body.name, body.kind, body.email, actor=principal.name,
                                      sponsor_id=body.id)
    return answer(written, response, visible, settings, dict)


@router.get("/{sponsor_id}", response_model=resources.Sponsor, summary="A sponsor")
def get_sponsor(sponsor_id: UUID, principal: SponsorReaderDep, ledger: LedgerDep) -> Any:
    # another sponsor's id answers exactly as a missing one
    if not principal.may_see_sponsor(sponsor_id):
        raise SponsorNotFound(sponsor_id)
    # sponsors are not projected (the read models hold their money, not their names);
    # the sponsor aggregate is one small stream, read as it is now
    return ledger.sponsor(sponsor_id)
