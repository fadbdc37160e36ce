"""Turns settings into the environment of eventsourcing's own recorders.

SQLite is the embedded default; a `postgresql://` URL selects PostgreSQL. The PostgreSQL
lock timeout is always finite (the library's default waits forever), and the library's
database functions stay off: they drop the table lock that keeps notification ids in order.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from ledger.settings import Settings, get_settings

if TYPE_CHECKING:
    from ledger.application import Ledger


def describe(settings: Settings) -> str:
    """'sqlite', 'postgresql' or 'memory'."""
    url = settings.database_url
    if not url:
        return "sqlite"
    if url == "memory:":
        return "memory"
    return "postgresql"


def environment(settings: Settings) -> dict[str, str]:
    """The eventsourcing environment for these settings."""
    kind = describe(settings)
    if kind == "memory":
        return {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if kind == "sqlite":
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(settings.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
        }
    url = urlparse(settings.database_url)
    if url.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"LEDGER_DATABASE_URL must start with postgresql://, not {url.scheme}://")
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "ledger.postgres_recorder:LedgerPostgresRecorder",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_SCHEMA": settings.postgres_schema,
        "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout_seconds),
        # two connections kept open, up to twenty while requests wait for one: a command
        # line run holds few, a busy server grows to what it needs
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "18",
        "POSTGRES_CONNECT_TIMEOUT": "10",
    }


@contextmanager
def schema_changes(settings: Settings) -> Iterator[None]:
    """Serialises the `CREATE ... IF NOT EXISTS` of processes opening one PostgreSQL schema
    at the same instant, which PostgreSQL can otherwise fail with "tuple concurrently
    updated": a session advisory lock keyed by the schema, held for the block."""
    if describe(settings) != "postgresql":
        yield
        return
    import psycopg

    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))",
                     ("ledger schema " + settings.postgres_schema,))
        yield  # closing the connection releases the lock


def open_ledger(settings: Settings | None = None) -> Ledger:
    """The ledger application on the storage the settings name."""
    from ledger.application import Ledger

    settings = settings or get_settings()
    with schema_changes(settings):
        return Ledger(environment(settings), snapshot_interval=settings.snapshot_interval)
