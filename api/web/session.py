"""Signing in to the web pages with an API key, and the CSRF check of every form.

Signing in with a key opens a session kept by the user store (`ledger.users`): the cookie
holds only the session's random token (HttpOnly, SameSite=Strict, path /web; Secure over
HTTPS or when LEDGER_SECURE_COOKIES is set, as behind a proxy that terminates TLS), never
the key, and the token is no API key. Each request looks the session up with its user's
key, so signing out, an idle or old session, and a revoked key end it at once, in every
process. A form that writes carries the session's CSRF token, random and kept with the
session, which a page from another site can neither read nor guess. The sign-in form
itself carries a nonce that must match a cookie set with the form (no signing in a
browser from elsewhere). A form that is not UTF-8 text is refused, as the JSON API
refuses one, rather than recorded with replacement characters.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.deps import Principal, UsersDep, require
from api.problems import Problem
from api.web.encoding import not_utf8
from api.web.render import (
    LANG_COOKIE,
    SESSION_COOKIE,
    PageRoute,
    SignInRequired,
    page,
    redirect,
)
from ledger.statements.formatting import LANGS

SIGN_IN_COOKIE = "ledger_sign_in"
COOKIE_PATH = "/web"

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@dataclass(frozen=True)
class Session:
    """Who is signed in, and the token their forms must carry."""

    principal: Principal
    csrf: str


def current_session(request: Request, users: UsersDep) -> Session:
    """The session of the request's cookie; SignInRequired without one that is valid now."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        raise SignInRequired()
    found = users.session(token)
    if found is None:
        raise SignInRequired("the session ended, or its key was revoked")
    user = found.user
    principal = Principal(user.name, user.role, user.sponsor_id)
    # read by the access log middleware, as for a bearer key (see api.deps.principal_for)
    request.state.actor = principal.name
    session = Session(principal, found.csrf)
    request.state.web_session = session
    return session


SessionDep = Annotated[Session, Depends(current_session)]


def role(*roles: str) -> Any:
    """A dependency letting only these roles through, by the API's own rule (403; a
    sponsor gets 404 for anything not its own)."""
    check = require(*roles)

    async def allowed(session: SessionDep) -> Session:
        await check(session.principal)
        return session

    return Depends(allowed)


TreasurerSession = Annotated[Session, role("treasurer")]
ReaderSession = Annotated[Session, role("treasurer", "auditor")]
AnyoneSession = Annotated[Session, role("treasurer", "auditor", "sponsor")]


def _same(given: str, expected: str) -> bool:
    """Compared in constant time, as bytes (`compare_digest` raises on a str that is not
    ASCII, which anyone can post)."""
    return hmac.compare_digest(given.encode(), expected.encode())


async def posted_form(request: Request, session: SessionDep) -> AsyncIterator[FormData]:
    """The posted form, once its CSRF token is the session's (403 otherwise) and it is
    UTF-8 text (422 otherwise); its uploaded files are closed when the request is done."""
    body = await request.body()  # kept: the form parser reads it from there
    form = await request.form()
    try:
        token = form.get("csrf")
        if not isinstance(token, str) or not _same(token, session.csrf):
            raise Problem(403, "csrf", "The form could not be checked",
                          "This form is not from this session (it may be old, or from "
                          "another site). Nothing was recorded: reload the page and try "
                          "again.")
        field = not_utf8(request.headers.get("content-type", ""), body)
        if field is not None:
            raise Problem(422, "invalid-input", "Invalid input",
                          f"{field}: is not UTF-8 text (as this site's pages send it). "
                          "Nothing was recorded.")
        yield form
    finally:
        await form.close()


PostedForm = Annotated[FormData, Depends(posted_form)]


def _secure(request: Request) -> bool:
    """Whether cookies are Secure: over HTTPS, or whenever the settings say so (behind a
    proxy that terminates TLS the server itself only sees HTTP)."""
    return request.url.scheme == "https" or request.app.state.runtime.settings.secure_cookies


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path=COOKIE_PATH,
                        secure=_secure(request))


def safe_next(target: object) -> str:
    """Where to go after signing in: a page of this site only."""
    if (isinstance(target, str) and target.startswith("/web")
            and "//" not in target and "\\" not in target):
        return target
    return "/web"


def _sign_in_page(request: Request, target: str, error: str | None = None,
                  status: int = 200) -> Response:
    nonce = secrets.token_urlsafe(16)
    response = page(request, "sign_in.html", status, nonce=nonce, next=target, error=error)
    _cookie(response, request, SIGN_IN_COOKIE, nonce)
    return response


@router.get("/web/sign-in")
def sign_in_form(request: Request, next: str = "/web") -> Response:
    return _sign_in_page(request, safe_next(next))


@router.post("/web/sign-in")
async def sign_in(request: Request, users: UsersDep) -> Response:
    form = await request.form()
    nonce, key = form.get("nonce"), form.get("key")
    target = safe_next(form.get("next"))
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    if not (isinstance(nonce, str) and expected and _same(nonce, expected)):
        return _sign_in_page(request, target, "sign_in_expired", 403)
    key = key.strip() if isinstance(key, str) else ""
    # the user store may be a database: it is used off the event loop
    started = await run_in_threadpool(users.start_session, key)
    if started is None:
        return _sign_in_page(request, target, "bad_key", 401)
    token, session = started
    request.state.actor = session.user.name
    # a session this browser held before ends: one browser, one session
    await run_in_threadpool(users.end_session, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect(target)
    _cookie(response, request, SESSION_COOKIE, token)
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/web/sign-out")
def sign_out(request: Request, form: PostedForm, users: UsersDep) -> Response:
    users.end_session(request.cookies.get(SESSION_COOKIE, ""))
    response = redirect("/web/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/web/lang/{lang}")
def choose_language(request: Request, lang: str, next: str = "/web") -> Response:
    response = redirect(safe_next(next))
    if lang in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True,
                             samesite="lax", path=COOKIE_PATH, secure=_secure(request))
    return response
