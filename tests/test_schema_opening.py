"""Processes opening one fresh PostgreSQL schema at the same instant — `ledger serve` and
the views process it starts, or two servers — each create the tables they need. Two
`CREATE TABLE IF NOT EXISTS` of one table at once can fail in PostgreSQL ("duplicate key
value violates unique constraint pg_type_typname_nsp_index"), so a first start failed now
and then; every opening now takes the schema's lock for its changes."""

from __future__ import annotations

import threading
import uuid

import psycopg
import pytest

from ledger.projections.facade import ReadModels
from ledger.settings import Settings
from ledger.storage import open_ledger
from ledger.users import open_users
from tests.conftest import POSTGRES_URL, require_postgres

pytestmark = pytest.mark.postgres

ROUNDS, OPENERS = 6, 3


def open_everything(settings: Settings, together: threading.Barrier) -> None:
    """What a server and a views process open when they start — the ledger, the read
    models (their tracking table and views), the users — each part at the same instant
    as the other openers."""
    together.wait()
    ledger = open_ledger(settings)
    try:
        together.wait()
        ReadModels(ledger, settings).close()
        together.wait()
        open_users(settings).close()
    finally:
        ledger.close()


def test_processes_opening_a_fresh_schema_at_once_all_open_it():
    require_postgres()
    failures: list[BaseException] = []
    for _ in range(ROUNDS):
        schema = f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        settings = Settings(database_url=POSTGRES_URL, postgres_schema=schema,
                            lock_timeout_seconds=5)
        together = threading.Barrier(OPENERS, timeout=60)

        def opener() -> None:
            try:
                open_everything(settings, together)
            except BaseException as e:  # noqa: BLE001 - collected and asserted below
                failures.append(e)
                together.abort()

        threads = [threading.Thread(target=opener) for _ in range(OPENERS)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
        finally:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    assert [f for f in failures if not isinstance(f, threading.BrokenBarrierError)] == []
    assert failures == []
