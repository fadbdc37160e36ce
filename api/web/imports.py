"""The donations import page: upload a bank export (CSV or XLSX); it is checked whole and
recorded whole by the API's own import route, or refused with every bad row listed by
line, column and reason. A file sent again records only what is new."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from starlette.datastructures import UploadFile

from api.deps import LedgerDep, ReadModelsDep, SettingsDep
from api.problems import Problem, problem_for
from api.routers.imports import import_donations
from api.web.forms import new_router
from api.web.labels import label
from api.web.render import lang_of, page
from api.web.session import PostedForm, TreasurerSession
from ledger.domain.errors import LedgerError
from ledger.imports import COLUMNS

router = new_router()
PATH = "/web/imports/donations"


def _page(request: Request, views: Any, status: int = 200, **shown: Any) -> Response:
    funds = [(f["code"], f"{f['code']} — {f['name']}") for f in views.funds()]
    values = {"fund": "", "dry_run": "", "mapping": "", **shown.pop("values", {})}
    return page(request, "import.html", status, funds=funds, columns=COLUMNS, values=values,
                **{"error": None, "errors": [], "error_count": 0, "outcome": None, **shown})


@router.get(PATH)
def import_form(request: Request, session: TreasurerSession, views: ReadModelsDep,
                fund: str = "") -> Response:
    return _page(request, views, values={"fund": fund})


@router.post(PATH)
def import_file(
    request: Request, form: PostedForm, session: TreasurerSession, ledger: LedgerDep,
    views: ReadModelsDep, settings: SettingsDep,
) -> Response:
    upload = form.get("file")
    values = {name: form.get(name) if isinstance(form.get(name), str) else ""
              for name in ("fund", "dry_run", "mapping")}
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(request, views, 422, values=values,
                     error=label("err_choose_file", lang_of(request)))
    response = Response()
    try:
        outcome = import_donations(
            upload, session.principal, ledger, views, settings, response,
            fund=values["fund"] or None, dry_run=values["dry_run"] == "on",
            mapping=values["mapping"].strip() or None)
    except Problem as refused:
        return _page(request, views, refused.status, values=values, error=refused.detail,
                     errors=refused.extensions.get("errors", []),
                     error_count=refused.extensions.get("error_count", 0))
    except LedgerError as error:
        problem = problem_for(error)
        return _page(request, views, problem.status, values=values,
                     error=f"{problem.title}: {problem.detail}")
    return _page(request, views, response.status_code, values=values, outcome=outcome)
