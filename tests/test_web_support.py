"""What the web page tests share (no tests here): a reader of the pages through TestClient
that signs in with a key, reads forms back (their CSRF token and client id) and submits
them as a browser would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser
from typing import Any

import pytest

from api.app import create_app
from ledger.settings import Settings
from test_api_support import Api, Side, TestClient, build_side, memory_api_running


class Inputs(HTMLParser):
    """The named inputs, selects and textareas of a page, with the values they hold."""

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and "name" in a:
            if a.get("type") != "checkbox" or "checked" in a:
                self.values[a["name"]] = a.get("value", "on" if a.get("type") == "checkbox"
                                               else "")
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.values[self._textarea or ""] = ""

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def inputs(html: str) -> dict[str, str]:
    parser = Inputs()
    parser.feed(html)
    return parser.values


def text(html: str) -> str:
    """A page's visible text, in one line."""
    html = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="error" id="{name}-error">(.*?)</p>', html, re.S)
    return unescape(found.group(1)) if found else ""


@dataclass
class Reader:
    """One browser's worth of cookies on the app, signed in (or not) with a key."""

    api: Api
    http: Any
    key: str | None = None
    pages: list[str] = field(default_factory=list)

    def sign_in(self, key: str, next_page: str = "/web") -> Any:
        form = self.http.get(f"/web/sign-in?next={next_page}")
        assert form.status_code == 200, form.text
        return self.http.post("/web/sign-in", data={**inputs(form.text), "key": key},
                              follow_redirects=False)

    def get(self, path: str, **kw: Any) -> Any:
        return self.http.get(path, follow_redirects=False, **kw)

    def form(self, path: str) -> dict[str, str]:
        """The form at `path` as the page fills it in (hidden fields and defaults)."""
        r = self.get(path)
        assert r.status_code == 200, r.text
        return inputs(r.text)

    def submit(self, path: str, values: dict[str, str], **kw: Any) -> Any:
        """Fills in the form at `path` with `values` over its defaults and posts it."""
        return self.http.post(path, data={**self.form(path), **values},
                              follow_redirects=False, **kw)

    def csrf(self) -> str:
        return inputs(self.get("/web/funds").text)["csrf"]


def reader_for(api: Api, role: str | None, sponsor_id: str | None = None) -> Reader:
    """A new browser on the app, signed in as a new user of `role` (None: not signed in)."""
    reader = Reader(api, TestClient(api.app, base_url="http://testserver"))
    if role is not None:
        name = f"{role}-{len(api.keys)}"
        key = api.add_user(name, role, sponsor_id)
        r = reader.sign_in(key)
        assert r.status_code == 303, r.text
        reader.key = key
    return reader


@pytest.fixture(name="web")
def _web() -> Iterator[Api]:
    """The API's app on the in-memory store (pages and API together)."""
    with memory_api_running() as api:
        yield api


@contextmanager
def web_running(settings: Settings) -> Iterator[Api]:
    """The API's app (pages and API) on these settings through TestClient, no users yet."""
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        yield Api(client, app)


@pytest.fixture(name="web_on")
def _web_on(settings: Settings) -> Iterator[Api]:
    """The API's app on memory, SQLite and PostgreSQL (pages and API together)."""
    with web_running(settings) as api:
        yield api


@pytest.fixture(name="side")
def _side(web: Api) -> Side:
    """Vietcombank's fund FA with an object of every kind (see `build_side`)."""
    return build_side(web, "Vietcombank Da Nang", "FA")


@pytest.fixture(name="treasurer")
def _treasurer(web: Api) -> Reader:
    """A browser signed in as a treasurer."""
    return reader_for(web, "treasurer")
