"""GET /v1/sponsors/{id}/statement: a sponsor's statement as JSON, CSV, XLSX or PDF."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.deps import LedgerDep, SponsorReaderDep
from api.models import Day
from api.routing import LedgerRoute
from ledger.domain.errors import SponsorNotFound
from ledger.statements.build import build_statement
from ledger.statements.formatting import Lang
from ledger.statements.model import Statement
from ledger.statements.render import MEDIA_TYPES, Format, file_name, render

router = APIRouter(prefix="/v1/sponsors", tags=["statements"], route_class=LedgerRoute)

_FILES = {
    media: {"schema": {"type": "string", "format": "binary"}}
    for fmt, media in MEDIA_TYPES.items() if fmt != "json"
}


@router.get(
    "/{sponsor_id}/statement",
    response_model=Statement,
    summary="A sponsor's statement for a period",
    description=(
        "The sponsor's pledges (with instalments paid, outstanding and overdue), gifts "
        "(original currency and amount credited), reversals, opening and closing totals, "
        "and per fund what it did over the period (awards by round, school and category; "
        "students only as initials) with its opening and closing figures, and the digest "
        "of each fund's history at the period's end. `from` defaults to 1 January of "
        "`to`'s year, `to` to today. `format=csv|xlsx|pdf` answers a file in `lang` "
        "(`vi` or `en`); JSON is language-neutral. A sponsor key reads only its own "
        "statement: any other id answers 404."
    ),
    responses={200: {"content": _FILES}},
)
def get_statement(
    sponsor_id: UUID,
    principal: SponsorReaderDep,
    ledger: LedgerDep,
    from_: Annotated[Day | None, Query(alias="from", description="first day, YYYY-MM-DD")] = None,
    to: Annotated[Day | None, Query(description="last day, YYYY-MM-DD")] = None,
    fmt: Annotated[Format, Query(alias="format")] = "json",
    lang: Lang = "vi",
) -> Any:
    # another sponsor's id answers exactly as a missing one
    if not principal.may_see_sponsor(sponsor_id):
        raise SponsorNotFound(sponsor_id)
    statement = build_statement(ledger, sponsor_id, from_, to)
    if fmt == "json":
        return statement
    return Response(
        render(statement, fmt, lang),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{file_name(statement, fmt)}"'},
    )
