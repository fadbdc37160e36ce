"""Bulk imports: a bank statement export of donations (CSV or XLSX), all rows or none."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Response, UploadFile
from pydantic import BaseModel

from api import problems
from api.deps import LedgerDep, ReadModelsDep, SettingsDep, TreasurerDep
from api.routing import LedgerRoute
from ledger.imports import COLUMNS, ONE_TRANSACTION, DonationImport, ImportRefused, Mapping

router = APIRouter(prefix="/v1/imports", tags=["imports"], route_class=LedgerRoute)

#: errors listed in one refusal (the count says how many there were in all)
MAX_ERRORS = 1000


class ImportResult(BaseModel):
    """What an import did: rows in the file, donations recorded now, already present."""

    rows: int
    new: int
    recorded: int
    already_present: int
    sponsors_registered: int
    dry_run: bool


@router.post(
    "/donations",
    status_code=201,
    response_model=ImportResult,
    summary="Import a file of donations, all rows or none",
    description=(
        "A multipart upload: `file` is a CSV (UTF-8, with or without BOM) or XLSX export, "
        "its first row the headers. `fund` names the fund of every row when the file has "
        "no fund column; `dry_run` checks and records nothing; `mapping` is a JSON object "
        '`{"columns": {"amount": "Credit Amount"}, "defaults": {"method": "bank_transfer"}}` '
        "naming the file's headers and defaults. Columns: "
        + "; ".join(f"`{k}`: {v}" for k, v in COLUMNS.items())
        + ". A bad file is refused whole (422, `import-refused`) with an `errors` list of "
        "`{line, column, reason}`. Each row's id derives from its fund and bank reference, "
        "so sending a file again records only what is new (200 when nothing was). "
        "Uploads are limited to 1 MiB like every request (413); import larger files with "
        "`ledger import donations`."
    ),
    responses={200: {"model": ImportResult, "description": "nothing new was recorded"},
               **problems.responses(413, 422, 503)},
)
def import_donations(
    file: UploadFile,
    principal: TreasurerDep,
    ledger: LedgerDep,
    views: ReadModelsDep,
    settings: SettingsDep,
    response: Response,
    fund: Annotated[str | None, Form()] = None,
    dry_run: Annotated[bool, Form()] = False,
    mapping: Annotated[str | None, Form()] = None,
) -> Any:
    # an upload is at most 1 MiB: its rows go in one transaction, all or none, even if a
    # fund closes while the file is checked
    importer = DonationImport(
        ledger, actor=principal.name, fund=fund or None,
        mapping=Mapping.parse(mapping) if mapping else None, max_errors=MAX_ERRORS,
        batch_size=ONE_TRANSACTION,
    )
    try:
        outcome = importer.run(file.file, dry_run=dry_run)
    except ImportRefused as refused:
        check = refused.check
        raise problems.Problem(
            422, "import-refused", "The file has bad rows; nothing was recorded",
            f"{check.error_count} errors in the file; nothing was recorded",
            errors=[e.as_dict() for e in check.errors], error_count=check.error_count,
        ) from None
    if outcome.position is not None:
        views.wait_for(outcome.position, settings.read_your_writes_timeout)
    response.status_code = 201 if outcome.recorded else 200
    return outcome.summary()
