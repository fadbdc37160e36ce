"""Signing in to the web pages with an API key, and the CSRF check of every form.

The session cookie holds a random nonce and the API key (HttpOnly, SameSite=Strict, path
/web, Secure over HTTPS). The key is looked up on every request, as the API does, so a
revoked key ends its sessions at once. A form that writes carries the session's CSRF
token, HMAC-SHA256 of the nonce under the key: a new token at each sign-in, which a page
from another site can neither read nor compute. The sign-in form itself carries a nonce
that must match a cookie set with the form (no signing in a browser from elsewhere).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from api.deps import Principal, UsersDep, principal_for, require
from api.problems import Problem
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


def csrf_token(nonce: str, key: str) -> str:
    return hmac.new(key.encode(), f"csrf:{nonce}".encode(), hashlib.sha256).hexdigest()


def current_session(request: Request, users: UsersDep) -> Session:
    """The session of the request's cookie; SignInRequired without one that is valid now."""
    nonce, _, key = request.cookies.get(SESSION_COOKIE, "").partition(".")
    if not nonce or not key:
        raise SignInRequired()
    principal = principal_for(request, users, key)
    if principal is None:
        raise SignInRequired("the key is unknown or revoked")
    session = Session(principal, csrf_token(nonce, key))
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


async def posted_form(request: Request, session: SessionDep) -> AsyncIterator[FormData]:
    """The posted form, once its CSRF token is the session's (403 otherwise); its uploaded
    files are closed when the request is done."""
    form = await request.form()
    try:
        token = form.get("csrf")
        if not isinstance(token, str) or not hmac.compare_digest(token, session.csrf):
            raise Problem(403, "csrf", "The form could not be checked",
                          "This form is not from this session (it may be old, or from "
                          "another site). Nothing was recorded: reload the page and try "
                          "again.")
        yield form
    finally:
        await form.close()


PostedForm = Annotated[FormData, Depends(posted_form)]


def _cookie(response: Response, request: Request, name: str, value: str, **kw: Any) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path=COOKIE_PATH,
                        secure=request.url.scheme == "https", **kw)


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
    if not (isinstance(nonce, str) and expected and hmac.compare_digest(nonce, expected)):
        return _sign_in_page(request, target, "sign_in_expired", 403)
    key = key.strip() if isinstance(key, str) else ""
    # the user store may be a database: its lookup runs off the event loop
    principal = await run_in_threadpool(principal_for, request, users, key)
    if principal is None:
        return _sign_in_page(request, target, "bad_key", 401)
    response = redirect(target)
    _cookie(response, request, SESSION_COOKIE, f"{secrets.token_urlsafe(16)}.{key}")
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH)
    return response


@router.post("/web/sign-out")
def sign_out(form: PostedForm) -> Response:
    response = redirect("/web/sign-in")
    response.delete_cookie(SESSION_COOKIE, path=COOKIE_PATH)
    return response


@router.get("/web/lang/{lang}")
def choose_language(request: Request, lang: str, next: str = "/web") -> Response:
    response = redirect(safe_next(next))
    if lang in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True,
                             samesite="lax", path=COOKIE_PATH)
    return response
