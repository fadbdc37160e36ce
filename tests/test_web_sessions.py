"""Web sessions on memory, SQLite and PostgreSQL, through TestClient: the cookie holds a
random session token and never the API key; the token is no API key; signing out, idling
past the limit, signing in again and revoking the user's key each end the session on the
server, so a copy of the cookie replayed from another browser is refused; the cookies are
Secure when LEDGER_SECURE_COOKIES says so."""

from __future__ import annotations

import time

import pytest

from ledger.settings import Settings
from test_api_support import Api, TestClient
from test_web_support import Reader, inputs, reader_for, web_running

pytest_plugins = ["test_web_support"]


def token_of(reader: Reader) -> str:
    return reader.http.cookies["ledger_session"]


def replayed(api: Api, token: str, path: str = "/web/funds") -> int:
    """The status a page answers to another browser presenting this session cookie (303:
    sent to sign in)."""
    r = TestClient(api.app, base_url="http://testserver").get(
        path, headers={"Cookie": f"ledger_session={token}"}, follow_redirects=False)
    assert r.status_code != 303 or r.headers["location"].startswith("/web/sign-in")
    return r.status_code


def sign_out(reader: Reader) -> None:
    out = reader.http.post("/web/sign-out", data={"csrf": reader.csrf()},
                           follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/web/sign-in"


def test_the_cookie_holds_a_random_session_token_and_never_the_key(web_on: Api):
    reader = reader_for(web_on, "treasurer")
    again = reader_for(web_on, "treasurer")
    token = token_of(reader)
    assert token.startswith("ws_") and len(token) == 46  # 32 random bytes
    assert reader.key not in token and reader.key[3:] not in token
    assert token != token_of(again)
    assert replayed(web_on, token) == 200


def test_the_session_token_is_not_an_api_key(web_on: Api):
    reader = reader_for(web_on, "treasurer")
    token = token_of(reader)
    for bearer in (token, f"lk_{token[3:]}"):
        r = web_on.http.get("/v1/funds", headers={"Authorization": f"Bearer {bearer}"})
        assert r.status_code == 401, bearer
        assert r.headers["content-type"].startswith("application/problem+json")
    assert web_on.http.get("/v1/funds", headers={
        "Authorization": f"Bearer {reader.key}"}).status_code == 200
    assert replayed(web_on, token) == 200  # refused as a key, still a session


def test_after_signing_out_a_copy_of_the_cookie_is_refused(web_on: Api):
    reader = reader_for(web_on, "treasurer")
    other = reader_for(web_on, "auditor")
    token = token_of(reader)
    sign_out(reader)
    assert replayed(web_on, token) == 303
    assert reader.get("/web/funds").status_code == 303
    # the user's other sessions and their key are not touched
    assert replayed(web_on, token_of(other)) == 200
    assert web_on.http.get("/v1/funds", headers={
        "Authorization": f"Bearer {reader.key}"}).status_code == 200
    signed = reader.sign_in(reader.key or "")
    assert signed.status_code == 303 and token_of(reader) != token
    assert reader.get("/web/funds").status_code == 200


def test_signing_in_again_ends_the_session_the_browser_held(web_on: Api):
    reader = reader_for(web_on, "treasurer")
    token = token_of(reader)
    assert reader.sign_in(reader.key or "").status_code == 303
    assert token_of(reader) != token
    assert replayed(web_on, token) == 303
    assert reader.get("/web/funds").status_code == 200


def test_revoking_a_users_key_ends_their_sessions(web_on: Api):
    reader = reader_for(web_on, "treasurer")
    other = reader_for(web_on, "treasurer")
    token = token_of(reader)
    name = next(n for n, k in web_on.keys.items() if k == reader.key)
    web_on.app.state.runtime.users.revoke(name)
    assert replayed(web_on, token) == 303
    assert replayed(web_on, token_of(other)) == 200
    # the same name with a new key does not revive the old session
    web_on.app.state.runtime.users.add(name, "treasurer")
    assert replayed(web_on, token) == 303


def test_a_session_idle_past_the_limit_is_refused(settings: Settings):
    idle = 2
    with web_running(settings.model_copy(update={"web_session_idle_seconds": idle})) as api:
        reader = reader_for(api, "treasurer")
        token = token_of(reader)
        assert replayed(api, token) == 200
        time.sleep(idle + 0.2)
        assert replayed(api, token) == 303
        assert reader.get("/web/funds").status_code == 303


def test_the_cookies_are_secure_when_the_settings_say_so():
    """Behind a proxy that terminates TLS the server sees plain HTTP: LEDGER_SECURE_COOKIES
    marks the cookies Secure anyway (a browser then sends them over HTTPS only)."""
    with web_running(Settings(database_url="memory:", secure_cookies=True)) as api:
        key = api.add_user("Tran Thi Mai", "treasurer")
        form = api.http.get("/web/sign-in")
        nonce_cookie = form.headers["set-cookie"]
        assert nonce_cookie.startswith("ledger_sign_in=") and "; Secure" in nonce_cookie
        nonce = nonce_cookie.split(";")[0].removeprefix("ledger_sign_in=")
        signed = api.http.post(
            "/web/sign-in", data={**inputs(form.text), "key": key},
            headers={"Cookie": f"ledger_sign_in={nonce}"}, follow_redirects=False)
        assert signed.status_code == 303, signed.text
        session = next(c for c in signed.headers.get_list("set-cookie")
                       if c.startswith("ledger_session="))
        assert "; Secure" in session and "HttpOnly" in session
        lang = api.http.get("/web/lang/vi", follow_redirects=False)
        assert "; Secure" in lang.headers["set-cookie"]


@pytest.mark.parametrize("sent", ["é", "x" * 2000, "\u0000"])
def test_a_csrf_token_or_sign_in_nonce_of_any_text_is_refused_not_an_error(
        web_on: Api, sent: str):
    reader = reader_for(web_on, "treasurer")
    r = reader.http.post("/web/sign-out", data={"csrf": sent}, follow_redirects=False)
    assert r.status_code == 403
    assert reader.get("/web/funds").status_code == 200
    stranger = reader_for(web_on, None)
    stranger.get("/web/sign-in")
    r = stranger.http.post("/web/sign-in", data={"nonce": sent, "key": reader.key},
                           follow_redirects=False)
    assert r.status_code == 403 and "ledger_session" not in r.headers.get("set-cookie", "")
