"""Funds: open, list, read, close, and a fund's history (SPEC §3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response

from api import resources
from api.deps import LedgerDep, ReadModelsDep, ReaderDep, SettingsDep, TreasurerDep, VisibilityDep
from api.models import CloseIn, FundIn
from api.routing import LedgerRoute
from api.writes import answer, created
from ledger.domain.errors import FundNotFound

router = APIRouter(prefix="/v1/funds", tags=["funds"], route_class=LedgerRoute)

#: the largest `after` a client may send (a fund's seq never gets near it)
MAX_SEQ = 2**62


@router.post("", **created(resources.FundOpened, "Open a fund"))
def open_fund(
    body: FundIn, principal: TreasurerDep, ledger: LedgerDep, visible: VisibilityDep,
    settings: SettingsDep, response: Response,
) -> Any:
    written = ledger.open_fund(
        body.code, body.name, body.currency, purpose=body.purpose, restricted=body.restricted,
        actor=principal.name, write_id=body.id, opened_on=body.opened_on,
    )
    return answer(written, response, visible, settings, resources.recorded)


@router.get("", response_model=resources.FundList, summary="Every fund with its figures")
def list_funds(principal: ReaderDep, views: ReadModelsDep) -> Any:
    return {"funds": [fund_view(f, f["code"]) for f in views.funds()]}


@router.get("/{code}", response_model=resources.FundView, summary="A fund with its figures")
def get_fund(code: str, principal: ReaderDep, views: ReadModelsDep) -> Any:
    return fund_view(views.fund(code), code)


@router.post("/{code}/close", **created(resources.FundClosed,
                                        "Close a fund (no cash, no outstanding pledge)"))
def close_fund(
    code: str, principal: TreasurerDep, ledger: LedgerDep, visible: VisibilityDep,
    settings: SettingsDep, response: Response, body: Annotated[CloseIn | None, Body()] = None,
) -> Any:
    body = body or CloseIn()
    written = ledger.close_fund(code, actor=principal.name, write_id=body.id,
                                closed_on=body.closed_on)
    return answer(written, response, visible, settings, resources.recorded)


@router.get("/{code}/events", response_model=resources.History,
            summary="The fund's history, oldest first, with hashes")
def fund_events(
    code: str, principal: ReaderDep, views: ReadModelsDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="events with seq > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    fund = fund_view(views.fund(code), code)
    events = views.history(code, after, limit)
    return {
        "fund": code,
        "currency": fund["currency"],
        "events": [_event(e) for e in events],
        "next_after": events[-1]["seq"] if len(events) == limit else None,
    }


def fund_view(found: dict[str, Any] | None, code: str) -> dict[str, Any]:
    """A fund as the API shows it, from a read model's row."""
    if found is None:
        raise FundNotFound(code)
    return {key: found[key] for key in resources.FundView.model_fields}


def _event(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in resources.EventOut.model_fields}
