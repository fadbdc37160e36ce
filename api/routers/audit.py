"""Audit: a fund's balances replayed from raw events as of a date, as known at a time, and
verification of the whole ledger (SPEC §3). Neither reads a fund's figures from the read
models: both fold the stored events themselves."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import Field, WithJsonSchema

from api.deps import AuditorDep, LedgerDep, ReadModelsDep, ReaderDep
from api.models import Day, Moment
from api.resources import MoneyOut, Out
from api.routing import LedgerRoute
from ledger.audit.digest import PATTERN as DIGEST_PATTERN
from ledger.audit.digest import Digest
from ledger.audit.replay import replay
from ledger.audit.verify import verify

router = APIRouter(tags=["audit"], route_class=LedgerRoute)

#: a digest's text, its form documented (`Digest.parse` checks it)
DigestText = Annotated[str, WithJsonSchema({"type": "string", "pattern": f"^{DIGEST_PATTERN}$"})]


class Balance(Out):
    fund: str
    currency: str
    as_of: str | None = Field(description="events effective on or before this date count")
    known_at: str | None = Field(description="events recorded at or before this time count")
    seq: int = Field(description="how many of the fund's events were known at `known_at`")
    last_hash: str = Field(description="the hash of the last of those events")
    figures: dict[str, MoneyOut]


class VerifyProblem(Out):
    fund: str | None = Field(description="the fund's code (or id), null for the ledger")
    seq: int | None
    problem: str


class DigestOut(Out):
    digest: str = Field(description="keep it: `GET /v1/audit/verify?since=` proves later "
                                    "that history only grew")
    size: int
    root: str
    at: str


class VerifyReport(Out):
    ok: bool
    funds: int
    events: int = Field(description="fund events checked")
    stored_events: int = Field(description="every stored event, covered by the digest")
    problem_count: int
    problems: list[VerifyProblem] = Field(description="the first 1000 problems")
    read_models_checked: bool
    read_models_position: int | None
    digest: DigestOut | None


@router.get("/v1/funds/{code}/balance", response_model=Balance,
            summary="Balances replayed from the raw events by effective date, as known then")
def balance(
    code: str,
    principal: ReaderDep,
    ledger: LedgerDep,
    as_of: Annotated[Day | None, Query(description="YYYY-MM-DD (default: every event)")] = None,
    known_at: Annotated[Moment | None, Query(
        description="ISO 8601 time with an offset (default: now)")] = None,
) -> Any:
    fund = replay(ledger, code, as_of, known_at)
    return {
        "fund": fund["code"],
        "currency": fund["currency"],
        "as_of": fund["as_of"],
        "known_at": fund["known_at"],
        "seq": fund["seq"],
        "last_hash": fund["last_hash"],
        "figures": {name: money.as_json() for name, money in fund["figures"].items()},
    }


@router.get("/v1/audit/verify", response_model=VerifyReport,
            summary="Check every hash chain, sequence, receipt, transfer and read model")
def verify_ledger(
    principal: AuditorDep,
    ledger: LedgerDep,
    views: ReadModelsDep,
    since: Annotated[DigestText | None, Query(
        description="a digest kept earlier: also prove that history only grew")] = None,
) -> Any:
    digest = Digest.parse(since) if since is not None else None
    return verify(ledger, since=digest, read_models=views).as_json()

