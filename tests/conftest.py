"""Shared fixtures: the ledger on memory, SQLite and PostgreSQL through one parameter.

PostgreSQL tests run against LEDGER_TEST_POSTGRES_URL (default: the local server), each
in a schema of its own that is dropped afterwards. They skip when no server answers,
except on CI (CI=true), where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from ledger.application import Ledger
from ledger.settings import Settings
from ledger.storage import open_ledger

POSTGRES_URL = os.environ.get(
    "LEDGER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_postgres_checked: list[str | None] = []


def require_postgres() -> None:
    """Skips (or, on CI, fails) the calling test when PostgreSQL does not answer."""
    if not _postgres_checked:
        try:
            with psycopg.connect(POSTGRES_URL, connect_timeout=3):
                _postgres_checked.append(None)
        except psycopg.Error as e:
            _postgres_checked.append(str(e))
    problem = _postgres_checked[0]
    if problem is not None:
        if ON_CI:
            pytest.fail(f"PostgreSQL is required on CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {problem}")


@pytest.fixture(name="pg_settings")
def _pg_settings() -> Iterator[Settings]:
    """Settings for a fresh PostgreSQL schema, dropped after the test."""
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield Settings(database_url=POSTGRES_URL, postgres_schema=schema, lock_timeout_seconds=5)
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(name="sqlite_settings")
def _sqlite_settings(tmp_path) -> Settings:
    """Settings for a fresh SQLite file."""
    return Settings(database_url=None, sqlite_path=tmp_path / "ledger.sqlite3")


@pytest.fixture(
    name="settings",
    params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def _settings(request) -> Settings:
    """Settings for each store the ledger runs on: memory, SQLite, PostgreSQL."""
    if request.param == "memory":
        return Settings(database_url="memory:")
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_settings")
    return request.getfixturevalue("pg_settings")


@pytest.fixture(
    name="durable_settings",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def _durable_settings(request) -> Settings:
    """Settings for each store that survives a restart: SQLite and PostgreSQL."""
    return request.getfixturevalue(f"{'pg' if request.param == 'postgres' else 'sqlite'}_settings")


@pytest.fixture(name="ledger")
def _ledger(settings: Settings) -> Iterator[Ledger]:
    """The ledger application on each store."""
    app = open_ledger(settings)
    yield app
    app.close()
