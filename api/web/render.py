"""How a page is answered: Jinja2 templates with amounts and dates formatted per language
as the statements format them, security headers on every page, and every error a page
meets (no sign-in, wrong role, unknown fund, malformed path) as an HTML page, never a 500.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.problems import Problem, http_problem, problem_for
from api.web.labels import label
from ledger.domain.errors import LedgerError
from ledger.domain.money import Money, exponent
from ledger.statements import formatting
from ledger.statements.formatting import LANGS, Lang

HERE = Path(__file__).parent
LANG_COOKIE = "ledger_lang"
#: the signed-in session: its random token (HttpOnly, SameSite=Strict; see api.web.session)
SESSION_COOKIE = "ledger_session"

#: No script, no frame, nothing from elsewhere: pages are plain HTML and one stylesheet.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """The request has no valid session: the page answers a redirect to the sign-in page."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def lang_of(request: Request) -> Lang:
    """The reader's language: their choice (a cookie), else their browser's, else English."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGS:
        return chosen  # type: ignore[return-value]
    accepted = request.headers.get("accept-language", "").lower()
    return "vi" if accepted.startswith("vi") else "en"


def money_of(value: Mapping[str, str]) -> Money:
    """A money object of a read model as Money: zero and totals too, which `Money.parse`
    (for what a client sends) refuses."""
    currency = value["currency"]
    digits = value["amount"]
    whole, _, fraction = digits.lstrip("-").partition(".")
    minor = int(whole) * 10 ** exponent(currency) + int(
        fraction.ljust(exponent(currency), "0") or "0")
    return Money.of(-minor if digits.startswith("-") else minor, currency)


def format_money(value: Mapping[str, str] | Money | None, lang: Lang) -> str:
    if value is None:
        return ""
    return formatting.money(value if isinstance(value, Money) else money_of(value), lang)


def _day(value: str | date | None, lang: Lang) -> str:
    if not value:
        return ""
    return formatting.day(value if isinstance(value, date) else date.fromisoformat(value), lang)


def _month(value: str, lang: Lang) -> str:
    """`2025-09` as `09/2025` (vi) or as it is (en)."""
    year, _, month = value.partition("-")
    return f"{month}/{year}" if lang == "vi" else value


def _moment(value: str, lang: Lang) -> str:
    return formatting.moment(datetime.fromisoformat(value), lang)


_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template rendered for this request's reader (language, session, path)."""
    lang = lang_of(request)
    html = _env.get_template(template).render(
        lang=lang,
        t=lambda key, **values: label(key, lang, **values),
        money=lambda value: format_money(value, lang),
        day=lambda value: _day(value, lang),
        month=lambda value: _month(value, lang),
        moment=lambda value: _moment(value, lang),
        path=request.url.path,
        session=getattr(request.state, "web_session", None),
        **context,
    )
    return HTMLResponse(html, status)


def error_page(request: Request, problem: Problem) -> HTMLResponse:
    return page(request, "error.html", problem.status, problem=problem)


def redirect(url: str) -> RedirectResponse:
    """See other: the browser GETs `url` (after a form, a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def sign_in_url(request: Request) -> str:
    if request.method != "GET":
        return "/web/sign-in"
    return f"/web/sign-in?next={quote(request.url.path)}"


class PageRoute(APIRoute):
    """A route whose errors are pages: what the API answers as a problem, a page answers
    as HTML with the same status and detail (a sponsor's 404 says no more than the API's)."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handle = super().get_route_handler()

        async def handle_page(request: Request) -> Response:
            try:
                response = await handle(request)
            except SignInRequired:
                response = redirect(sign_in_url(request))
                response.delete_cookie(SESSION_COOKIE, path="/web")
            except Problem as problem:
                response = error_page(request, problem)
            except LedgerError as error:
                response = error_page(request, problem_for(error))
            except RequestValidationError as invalid:
                detail = "; ".join(str(e.get("msg", "")) for e in invalid.errors())
                response = error_page(request, http_problem(422, detail))
            except StarletteHTTPException as exc:
                detail = exc.detail if isinstance(exc.detail, str) else ""
                response = error_page(request, http_problem(exc.status_code, detail))
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return handle_page


_STATIC = {"style.css": ("text/css; charset=utf-8", (HERE / "static" / "style.css"))}


def static_file(name: str) -> Response:
    """A file of `static/` (only those listed), cacheable for an hour."""
    if name not in _STATIC:
        raise http_problem(404, "not found")
    media_type, path = _STATIC[name]
    return Response(path.read_bytes(), media_type=media_type,
                    headers={"Cache-Control": "public, max-age=3600"})
