"""What the API tests share (no tests here): the API on memory through `TestClient` and on
PostgreSQL through a real uvicorn on a loopback port, with a key for every role, and a
world of two sponsors' funds with an object of every kind to act on."""

from __future__ import annotations

import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI

with warnings.catch_warnings():
    # Starlette 1.x asks for the `httpx2` fork, which is not packaged here; httpx works.
    warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

from api.app import create_app
from conftest import POSTGRES_URL, require_postgres
from ledger.application import Ledger
from ledger.settings import Settings

ROLES = ("admin", "treasurer", "auditor")


def money(amount: str, currency: str = "VND") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


@dataclass
class Api:
    """A running API, its ledger, and keys by principal."""

    http: Any
    app: FastAPI
    keys: dict[str, str] = field(default_factory=dict)

    @property
    def ledger(self) -> Ledger:
        return self.app.state.runtime.ledger

    def events(self) -> int:
        """How many events the store holds (receipts included). Counted, since a refused
        PostgreSQL insert still uses up a notification id."""
        count, start = 0, 1
        while page := self.ledger.recorder.select_notifications(start, 1000):
            count += len(page)
            start = page[-1].id + 1
        return count

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"} if who in self.keys else {}

    def post(self, path: str, body: Any = None, who: str = "treasurer", **kw: Any) -> Any:
        return self.http.post(path, json=body, headers=self.auth(who), **kw)

    def get(self, path: str, who: str = "treasurer", **kw: Any) -> Any:
        return self.http.get(path, headers=self.auth(who), **kw)

    def add_user(self, name: str, role: str, sponsor_id: str | None = None) -> str:
        key = self.app.state.runtime.users.add(
            name, role, uuid.UUID(sponsor_id) if sponsor_id else None)
        self.keys[name] = key
        return key

    def sponsor(self, name: str) -> str:
        r = self.post("/v1/sponsors", {"name": name, "kind": "organization"})
        assert r.status_code == 201, r.text
        return r.json()["id"]


def _with_users(api: Api) -> Api:
    for role in ROLES:
        api.add_user(role, role)
    return api


@contextmanager
def memory_api_running() -> Iterator[Api]:
    """The API on the in-memory store, through TestClient, while the block runs."""
    app = create_app(Settings(database_url="memory:"))
    with TestClient(app) as client:
        yield _with_users(Api(client, app))


@pytest.fixture(name="memory_api")
def _memory_api() -> Iterator[Api]:
    """The API on the in-memory store, through TestClient."""
    with memory_api_running() as api:
        yield api


class LoopbackServer:
    """A real uvicorn serving an app on 127.0.0.1, on a free port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        self.server = uvicorn.Server(uvicorn.Config(
            app, host="127.0.0.1", port=0, log_config=None, access_log=False,
            lifespan="on", timeout_graceful_shutdown=5))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@contextmanager
def serving(settings: Settings) -> Iterator[Api]:
    """The API on these settings through a real uvicorn on a loopback port."""
    app = create_app(settings)
    with LoopbackServer(app) as base, httpx.Client(base_url=base, timeout=30) as client:
        yield _with_users(Api(client, app))


@pytest.fixture(name="pg_api")
def _pg_api(pg_settings: Settings) -> Iterator[Api]:
    """The API on PostgreSQL, through a real uvicorn on a loopback port."""
    with serving(pg_settings) as api:
        yield api


@contextmanager
def pg_api_running() -> Iterator[Api]:
    """The API through uvicorn on a PostgreSQL schema of its own, dropped afterwards (for
    fixtures wider than a test, which cannot use the per-test `pg_settings`)."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        with serving(Settings(database_url=POSTGRES_URL, postgres_schema=schema)) as api:
            yield api
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(name="api", params=["testclient", pytest.param("uvicorn",
                                                                 marks=pytest.mark.postgres)])
def _api(request) -> Api:
    """The API through TestClient (memory) and through uvicorn (PostgreSQL)."""
    return request.getfixturevalue("memory_api" if request.param == "testclient" else "pg_api")


@dataclass
class Side:
    """One sponsor's fund and an object of every kind in it, ready to be acted on."""

    sponsor: str
    fund: str
    pledge: str
    donation: str
    allocation: str
    award: str
    revocable_award: str


def build_side(api: Api, name: str, code: str) -> Side:
    """Sponsor `name` funds `code` with 10,000,000 VND; an allocation of 5,000,000 holds an
    award (200,000 of it paid) and a second award to revoke; a pledge and a small extra
    donation wait to be cancelled and reversed."""
    sponsor = api.sponsor(name)
    assert api.post("/v1/funds", {"code": code, "name": f"{name} fund"}).status_code == 201

    def made(path: str, body: dict[str, Any]) -> str:
        r = api.post(f"/v1/funds/{code}/{path}", body)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    made("donations", {"sponsor_id": sponsor, "amount": money("10000000"),
                       "received_on": "2025-09-01", "method": "bank_transfer"})
    donation = made("donations", {"sponsor_id": sponsor, "amount": money("100000"),
                                  "received_on": "2025-09-02", "method": "cash"})
    pledge = made("pledges", {"sponsor_id": sponsor, "amount": money("3000000")})
    allocation = made("allocations", {"name": "2025-2026 school year",
                                      "amount": money("5000000")})
    recipient = {"name": "Nguyen Thi Lan", "school": "Le Quy Don", "grade": "11"}
    award = made("awards", {"allocation_id": allocation, "recipient": recipient,
                            "amount": money("1000000")})
    revocable = made("awards", {"allocation_id": allocation, "recipient": recipient,
                                "amount": money("1000000")})
    made(f"awards/{award}/disbursements", {"amount": money("200000"), "paid_on": "2025-09-05",
                                           "method": "cash"})
    return Side(sponsor, code, pledge, donation, allocation, award, revocable)
