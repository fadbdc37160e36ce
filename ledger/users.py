"""Users of the API and their keys, kept in the same database as the events.

A key is 32 random bytes (URL-safe base64, prefixed `lk_`); only its SHA-256 is stored,
which is enough for a key of that entropy (no salt or slow hash needed: nothing to guess).
Every request looks its key up, so a revocation takes effect at once, in every process.
Roles are those of SPEC §1: admin, treasurer, auditor, sponsor (bound to one sponsor id).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol
from uuid import UUID

from ledger.domain import values
from ledger.domain.errors import InvalidInput, LedgerError
from ledger.settings import Settings
from ledger.storage import describe, schema_changes

ROLES = ("admin", "treasurer", "auditor", "sponsor")
KEY_PREFIX = "lk_"
_KEY = re.compile(r"lk_[A-Za-z0-9_-]{43}", re.ASCII)


class UserExists(LedgerError):
    def __init__(self, name: str) -> None:
        super().__init__(f"an active user named {name} exists")


class UserNotFound(LedgerError):
    kind = "not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"no active user named {name}")


@dataclass(frozen=True)
class User:
    """A user: the name recorded as the actor of their writes, and what they may do."""

    name: str
    role: str
    sponsor_id: UUID | None
    created_at: str
    revoked_at: str | None = None


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def well_formed(key: str) -> bool:
    """Whether a presented key has the shape of a key (cheap check before any lookup)."""
    return bool(_KEY.fullmatch(key))


def check_user(name: str, role: str, sponsor_id: UUID | None) -> None:
    """Refuses a user that could not act: bad name, unknown role, sponsor binding wrong."""
    values.text("name", name, max_len=200)
    if name != name.strip():
        raise InvalidInput("name", "must not start or end with spaces")
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if (role == "sponsor") != (sponsor_id is not None):
        raise InvalidInput("sponsor", "a sponsor user needs --sponsor ID, other roles take none")


class UserStore(Protocol):
    def add(self, name: str, role: str, sponsor_id: UUID | None = None) -> str:
        """Creates a user and answers their key (the only time it exists in clear)."""

    def list(self) -> list[User]: ...

    def revoke(self, name: str) -> None: ...

    def authenticate(self, key: str) -> User | None:
        """The active user holding this key, or None."""

    def close(self) -> None: ...


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _user(row: tuple) -> User:
    name, role, sponsor, created, revoked = row
    return User(name, role, UUID(str(sponsor)) if sponsor else None, str(created),
                str(revoked) if revoked else None)


class MemoryUsers:
    """Users in this process only (for the in-memory ledger of tests and demos)."""

    def __init__(self) -> None:
        self._rows: dict[str, tuple[User, str]] = {}
        self._lock = threading.Lock()

    def add(self, name: str, role: str, sponsor_id: UUID | None = None) -> str:
        check_user(name, role, sponsor_id)
        key = new_key()
        with self._lock:
            if name in self._rows and self._rows[name][0].revoked_at is None:
                raise UserExists(name)
            self._rows[name] = (User(name, role, sponsor_id, _now()), key_hash(key))
        return key

    def list(self) -> list[User]:
        with self._lock:
            return sorted((u for u, _ in self._rows.values()), key=lambda u: u.name)

    def revoke(self, name: str) -> None:
        with self._lock:
            found = self._rows.get(name)
            if found is None or found[0].revoked_at is not None:
                raise UserNotFound(name)
            user, digest = found
            self._rows[name] = (User(user.name, user.role, user.sponsor_id, user.created_at,
                                     _now()), digest)

    def authenticate(self, key: str) -> User | None:
        if not well_formed(key):
            return None
        digest = key_hash(key)
        with self._lock:
            for user, stored in self._rows.values():
                if secrets.compare_digest(stored, digest) and user.revoked_at is None:
                    return user
        return None

    def close(self) -> None:
        pass


_COLUMNS = "name, role, sponsor_id, created_at, revoked_at"


class SQLiteUsers:
    """Users in the `users` table of the ledger's SQLite file."""

    def __init__(self, path: str) -> None:
        self._path = path
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                "sponsor_id TEXT, key_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, "
                "revoked_at TEXT)"
            )

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 10000")
        return conn

    def add(self, name: str, role: str, sponsor_id: UUID | None = None) -> str:
        check_user(name, role, sponsor_id)
        key = new_key()
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            row = conn.execute("SELECT revoked_at FROM users WHERE name = ?", (name,)).fetchone()
            if row is not None and row[0] is None:
                conn.execute("ROLLBACK")
                raise UserExists(name)
            conn.execute("DELETE FROM users WHERE name = ?", (name,))
            conn.execute(
                f"INSERT INTO users ({_COLUMNS}, key_hash) VALUES (?, ?, ?, ?, NULL, ?)",
                (name, role, str(sponsor_id) if sponsor_id else None, _now(), key_hash(key)),
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        return key

    def list(self) -> list[User]:
        conn = self._connect()
        try:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY name").fetchall()
        finally:
            conn.close()
        return [_user(r) for r in rows]

    def revoke(self, name: str) -> None:
        conn = self._connect()
        try:
            done = conn.execute(
                "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (_now(), name),
            ).rowcount
        finally:
            conn.close()
        if not done:
            raise UserNotFound(name)

    def authenticate(self, key: str) -> User | None:
        if not well_formed(key):
            return None
        conn = self._connect()
        try:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM users WHERE key_hash = ? AND revoked_at IS NULL",
                (key_hash(key),),
            ).fetchone()
        finally:
            conn.close()
        return _user(row) if row else None

    def close(self) -> None:
        pass


class PostgresUsers:
    """Users in the `users` table of the ledger's PostgreSQL schema."""

    def __init__(self, conninfo: str, schema: str) -> None:
        from psycopg import sql
        from psycopg_pool import ConnectionPool

        self._table = sql.Identifier(schema, "users")
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=10, open=True,
                                    kwargs={"autocommit": True})
        with self._pool.connection() as conn:
            conn.execute(sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                "sponsor_id UUID, key_hash TEXT NOT NULL UNIQUE, "
                "created_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ)"
            ).format(self._table))

    def _sql(self, text: str):  # noqa: ANN202 - psycopg's Composed
        from psycopg import sql

        return sql.SQL(text).format(table=self._table)

    def add(self, name: str, role: str, sponsor_id: UUID | None = None) -> str:
        check_user(name, role, sponsor_id)
        key = new_key()
        with self._pool.connection() as conn, conn.transaction():
            row = conn.execute(
                self._sql("SELECT revoked_at FROM {table} WHERE name = %s FOR UPDATE"), (name,)
            ).fetchone()
            if row is not None and row[0] is None:
                raise UserExists(name)
            conn.execute(self._sql("DELETE FROM {table} WHERE name = %s"), (name,))
            conn.execute(
                self._sql("INSERT INTO {table} (name, role, sponsor_id, key_hash, created_at) "
                          "VALUES (%s, %s, %s, %s, now())"),
                (name, role, sponsor_id, key_hash(key)),
            )
        return key

    def list(self) -> list[User]:
        with self._pool.connection() as conn:
            rows = conn.execute(self._sql(
                f"SELECT {_COLUMNS} FROM {{table}} ORDER BY name")).fetchall()
        return [_user(r) for r in rows]

    def revoke(self, name: str) -> None:
        with self._pool.connection() as conn:
            done = conn.execute(self._sql(
                "UPDATE {table} SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL"
            ), (name,)).rowcount
        if not done:
            raise UserNotFound(name)

    def authenticate(self, key: str) -> User | None:
        if not well_formed(key):
            return None
        with self._pool.connection() as conn:
            row = conn.execute(self._sql(
                f"SELECT {_COLUMNS} FROM {{table}} WHERE key_hash = %s AND revoked_at IS NULL"
            ), (key_hash(key),)).fetchone()
        return _user(row) if row else None

    def close(self) -> None:
        self._pool.close()


def open_users(settings: Settings) -> UserStore:
    """The user store beside the events the settings name."""
    kind = describe(settings)
    if kind == "memory":
        return MemoryUsers()
    if kind == "sqlite":
        return SQLiteUsers(str(settings.sqlite_path))
    with schema_changes(settings):
        return PostgresUsers(settings.database_url or "", settings.postgres_schema)
