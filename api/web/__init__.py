"""The web pages (SPEC §1, §4): what the treasurer, the auditor and a sponsor do in a
browser, served under /web by the API's own app, on the API's own routes, models, roles
and read models. Plain HTML forms and one stylesheet; no script, nothing from elsewhere.
"""

from fastapi import APIRouter

from api.web import imports, pages, session, writes

router = APIRouter()
# the forms first: /web/funds/new is a form, not the fund "new"
for module in (session, writes, imports, pages):
    router.include_router(module.router)
