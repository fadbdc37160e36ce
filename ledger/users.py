"""Users of the API and their keys, kept in the same database as the events.

A key is 32 random bytes (URL-safe base64, prefixed `lk_`); only its SHA-256 is stored,
which is enough for a key of that entropy (no salt or slow hash needed: nothing to guess).
Every request looks its key up, so a revocation takes effect at once, in every process;
or, for a donation of a treasurer the server has seen before, the transaction recording it
finds the key active first (`PostgresUsers.key_guard`), with the same effect.
Roles are those of SPEC §1: admin, treasurer, auditor, sponsor (bound to one sponsor id).

Web sessions live beside the users (table `web_sessions`): a browser signed in with a key
holds a random session token (32 bytes, prefixed `ws_`, so never mistaken for a key); only
its SHA-256 is stored, with the user's name, the hash of the key it was opened with, the
CSRF token of its forms, and when it was opened and last used. A session ends when it is
signed out, idle or old past the limits of the settings, or when its key is revoked (the
lookup also joins the user's active key, so a name given a new key never revives it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Protocol
from uuid import UUID

from ledger.domain import values
from ledger.domain.errors import InvalidInput, LedgerError
from ledger.settings import Settings
from ledger.storage import describe, schema_changes

ROLES = ("admin", "treasurer", "auditor", "sponsor")
KEY_PREFIX = "lk_"
_KEY = re.compile(r"lk_[A-Za-z0-9_-]{43}", re.ASCII)
SESSION_PREFIX = "ws_"
_SESSION = re.compile(r"ws_[A-Za-z0-9_-]{43}", re.ASCII)


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


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: its user (active now) and the CSRF token its forms carry."""

    user: User
    csrf: str


@dataclass(frozen=True)
class SessionLimits:
    """How long a web session lasts: `idle_seconds` without a request, `max_seconds` in all,
    by `clock` (Unix seconds)."""

    idle_seconds: float = 12 * 3600
    max_seconds: float = 7 * 24 * 3600
    clock: Callable[[], float] = time.time

    def cutoffs(self, now: float) -> tuple[float, float]:
        """The last use and the opening a session must be later than to be valid `now`."""
        return now - self.idle_seconds, now - self.max_seconds

    @property
    def refresh_seconds(self) -> float:
        """How stale a session's last use may be before a request records it again (not
        on every request: that would be a write per page)."""
        return min(60.0, self.idle_seconds / 10)


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("ascii")).hexdigest()


def well_formed(key: str) -> bool:
    """Whether a presented key has the shape of a key (cheap check before any lookup)."""
    return bool(_KEY.fullmatch(key))


def new_session_token() -> str:
    return SESSION_PREFIX + secrets.token_urlsafe(32)


def session_token_well_formed(token: str) -> bool:
    return bool(_SESSION.fullmatch(token))


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

    async def authenticate_async(self, key: str) -> User | None:
        """As `authenticate`, for a server's event loop: never holding it long."""

    def start_session(self, key: str) -> tuple[str, WebSession] | None:
        """A new web session for the active user holding this key: its token (the only
        time it exists in clear) and the session; None for a key that is not active."""

    def session(self, token: str) -> WebSession | None:
        """The session of this token, while it is within its limits and its key is
        active (its use is recorded); None otherwise."""

    def end_session(self, token: str) -> None:
        """Ends the session of this token (nothing for an unknown one)."""

    def close(self) -> None: ...


class _Sessions(ABC):
    """What every store does for web sessions; each keeps their rows its own way:
    `(token hash, user name, key hash, csrf, opened, last used)`, times in Unix seconds."""

    _limits: SessionLimits

    @abstractmethod
    def authenticate(self, key: str) -> User | None: ...

    async def authenticate_async(self, key: str) -> User | None:
        # a file's lock may keep a read waiting: in a worker thread, not on the loop
        import anyio.to_thread

        return await anyio.to_thread.run_sync(self.authenticate, key)

    @abstractmethod
    def _insert_session(self, row: tuple, cutoffs: tuple[float, float]) -> None:
        """Stores a new session, dropping those out of their limits by `cutoffs`."""

    @abstractmethod
    def _select_session(self, digest: str, cutoffs: tuple[float, float]) -> tuple | None:
        """The session's user (as `_COLUMNS`), CSRF token and last use, if it is within
        `cutoffs` (last use, opening) and its user's key is the active one."""

    @abstractmethod
    def _touch_session(self, digest: str, now: float) -> None:
        """Records the session's use at `now`."""

    def start_session(self, key: str) -> tuple[str, WebSession] | None:
        user = self.authenticate(key)
        if user is None:
            return None
        token, csrf, now = new_session_token(), secrets.token_urlsafe(32), self._limits.clock()
        self._insert_session((key_hash(token), user.name, key_hash(key), csrf, now, now),
                             self._limits.cutoffs(now))
        return token, WebSession(user, csrf)

    def session(self, token: str) -> WebSession | None:
        if not session_token_well_formed(token):
            return None
        now, digest = self._limits.clock(), key_hash(token)
        row = self._select_session(digest, self._limits.cutoffs(now))
        if row is None:
            return None
        if row[6] < now - self._limits.refresh_seconds:
            self._touch_session(digest, now)
        return WebSession(_user(row[:5]), row[5])


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _user(row: tuple) -> User:
    name, role, sponsor, created, revoked = row
    return User(name, role, UUID(str(sponsor)) if sponsor else None, str(created),
                str(revoked) if revoked else None)


class MemoryUsers(_Sessions):
    """Users in this process only (for the in-memory ledger of tests and demos)."""

    def __init__(self, limits: SessionLimits = SessionLimits()) -> None:
        self._rows: dict[str, tuple[User, str]] = {}
        #: token hash -> [user name, key hash, csrf, opened, last used]
        self._sessions: dict[str, list] = {}
        self._limits = limits
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
            self._sessions = {t: s for t, s in self._sessions.items() if s[0] != name}

    def authenticate(self, key: str) -> User | None:
        if not well_formed(key):
            return None
        digest = key_hash(key)
        with self._lock:
            for user, stored in self._rows.values():
                if secrets.compare_digest(stored, digest) and user.revoked_at is None:
                    return user
        return None

    async def authenticate_async(self, key: str) -> User | None:
        return self.authenticate(key)  # a dictionary lookup: no thread needed

    def _insert_session(self, row: tuple, cutoffs: tuple[float, float]) -> None:
        idle, oldest = cutoffs
        with self._lock:
            self._sessions = {t: s for t, s in self._sessions.items()
                              if s[4] > idle and s[3] > oldest}
            self._sessions[row[0]] = list(row[1:])

    def _select_session(self, digest: str, cutoffs: tuple[float, float]) -> tuple | None:
        idle, oldest = cutoffs
        with self._lock:
            found = self._sessions.get(digest)
            if found is None or found[4] <= idle or found[3] <= oldest:
                return None
            user, stored = self._rows.get(found[0], (None, ""))
            if user is None or user.revoked_at is not None or stored != found[1]:
                return None
            return (user.name, user.role, user.sponsor_id, user.created_at, None, found[2],
                    found[4])

    def _touch_session(self, digest: str, now: float) -> None:
        with self._lock:
            if digest in self._sessions:
                self._sessions[digest][4] = now

    def end_session(self, token: str) -> None:
        if session_token_well_formed(token):
            with self._lock:
                self._sessions.pop(key_hash(token), None)

    def close(self) -> None:
        pass


_COLUMNS = "name, role, sponsor_id, created_at, revoked_at"
#: a key's hash as stored (`key_hash`)
_KEY_HASH = re.compile(r"[0-9a-f]{64}")
#: a row of `web_sessions` (times in Unix seconds in SQLite, timestamps in PostgreSQL)
_SESSION_ROW = "token_hash, user_name, key_hash, csrf, created_at, seen_at"
#: a session's user (as `_COLUMNS`) and its CSRF token
_SESSION_USER = "u.name, u.role, u.sponsor_id, u.created_at, u.revoked_at, s.csrf"


class SQLiteUsers(_Sessions):
    """Users in the `users` table of the ledger's SQLite file."""

    def __init__(self, path: str, limits: SessionLimits = SessionLimits()) -> None:
        self._path = path
        self._limits = limits
        conn = self._connect()
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, "
                "sponsor_id TEXT, key_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, "
                "revoked_at TEXT)"
            )
            # times in Unix seconds
            conn.execute(
                "CREATE TABLE IF NOT EXISTS web_sessions (token_hash TEXT PRIMARY KEY, "
                "user_name TEXT NOT NULL, key_hash TEXT NOT NULL, csrf TEXT NOT NULL, "
                "created_at REAL NOT NULL, seen_at REAL NOT NULL)"
            )
            conn.execute("CREATE INDEX IF NOT EXISTS web_sessions_user_name "
                         "ON web_sessions (user_name)")
        finally:
            conn.close()

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
            conn.execute("BEGIN IMMEDIATE")
            done = conn.execute(
                "UPDATE users SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                (_now(), name),
            ).rowcount
            conn.execute("DELETE FROM web_sessions WHERE user_name = ?", (name,))
            conn.execute("COMMIT")
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

    def _insert_session(self, row: tuple, cutoffs: tuple[float, float]) -> None:
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("DELETE FROM web_sessions WHERE seen_at <= ? OR created_at <= ?",
                         cutoffs)
            conn.execute(f"INSERT INTO web_sessions ({_SESSION_ROW}) VALUES (?, ?, ?, ?, ?, ?)",
                         row)
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _select_session(self, digest: str, cutoffs: tuple[float, float]) -> tuple | None:
        conn = self._connect()
        try:
            return conn.execute(
                f"SELECT {_SESSION_USER}, s.seen_at FROM web_sessions s JOIN users u "
                "ON u.key_hash = s.key_hash AND u.revoked_at IS NULL "
                "WHERE s.token_hash = ? AND s.seen_at > ? AND s.created_at > ?",
                (digest, *cutoffs),
            ).fetchone()
        finally:
            conn.close()

    def _touch_session(self, digest: str, now: float) -> None:
        conn = self._connect()
        try:
            conn.execute("UPDATE web_sessions SET seen_at = ? WHERE token_hash = ?",
                         (now, digest))
        finally:
            conn.close()

    def end_session(self, token: str) -> None:
        if not session_token_well_formed(token):
            return
        conn = self._connect()
        try:
            conn.execute("DELETE FROM web_sessions WHERE token_hash = ?", (key_hash(token),))
        finally:
            conn.close()

    def close(self) -> None:
        pass


#: seconds a key lookup on an event loop may take (connecting, then asking)
LOOKUP_TIMEOUT = 10
#: the application_name of those connections (seen in pg_stat_activity)
LOOKUP_CONNECTION = "ledger key lookup"


@dataclass
class _LoopConnection:
    """An event loop's connection for key lookups, the lock its opening takes, and the
    lookups asked for since the last one was sent (key hash → the askers' futures)."""

    loop: Any
    lock: Any
    conn: Any = None
    asked: dict[str, list[Any]] = field(default_factory=dict)
    asking: Any = None  # the task sending them


class PostgresUsers(_Sessions):
    """Users in the `users` table of the ledger's PostgreSQL schema."""

    def __init__(self, conninfo: str, schema: str,
                 limits: SessionLimits = SessionLimits()) -> None:
        from psycopg import sql
        from psycopg_pool import ConnectionPool

        self._table = sql.Identifier(schema, "users")
        self._sessions = sql.Identifier(schema, "web_sessions")
        self._limits = limits
        self._conninfo = conninfo
        self._pool = ConnectionPool(conninfo, min_size=1, max_size=10, open=True,
                                    kwargs={"autocommit": True})
        self._authenticate = self._sql(
            f"SELECT {_COLUMNS} FROM {{table}} WHERE key_hash = %s AND revoked_at IS NULL")
        self._authenticate_each = self._sql(
            f"SELECT {_COLUMNS}, key_hash FROM {{table}} "
            "WHERE key_hash = ANY(%s) AND revoked_at IS NULL")
        #: a connection for each event loop that authenticates (a server has one): the
        #: loop's requests share it, and their lookups (`authenticate_async`)
        self._loop_connections: dict[int, _LoopConnection] = {}
        with self._pool.connection() as conn:
            conn.execute(self._sql(
                "CREATE TABLE IF NOT EXISTS {table} (name TEXT PRIMARY KEY, "
                "role TEXT NOT NULL, sponsor_id UUID, key_hash TEXT NOT NULL UNIQUE, "
                "created_at TIMESTAMPTZ NOT NULL, revoked_at TIMESTAMPTZ)"))
            conn.execute(self._sql(
                "CREATE TABLE IF NOT EXISTS {sessions} (token_hash TEXT PRIMARY KEY, "
                "user_name TEXT NOT NULL, key_hash TEXT NOT NULL, csrf TEXT NOT NULL, "
                "created_at TIMESTAMPTZ NOT NULL, seen_at TIMESTAMPTZ NOT NULL)"))
            conn.execute(self._sql(
                "CREATE INDEX IF NOT EXISTS web_sessions_user_name ON {sessions} (user_name)"))

    def _sql(self, text: str):  # noqa: ANN202 - psycopg's Composed
        from psycopg import sql

        return sql.SQL(text).format(table=self._table, sessions=self._sessions)

    def key_guard(self, digests: Collection[str]) -> bytes:
        """A statement for the transaction that records a write (the ledger recorder's
        `guarded`) refusing it unless each key of these hashes is active when it runs, so
        that a key revoked before the write commits is refused although the server knew
        it as active."""
        from ledger.postgres_recorder import GUARD_SQLSTATE

        wanted = sorted(set(digests))
        if not wanted or not all(_KEY_HASH.fullmatch(d) for d in wanted):
            raise ValueError("key hashes are 64 lowercase hex digits")
        listed = ",".join(f"'{d}'" for d in wanted)
        table = self._table.as_string(None)
        tag = "$guard$"  # the body's quote: one the schema's name does not hold
        while tag in table:
            tag = tag[:-1] + "_$"
        return (
            f"DO {tag}BEGIN IF (SELECT count(*) FROM {table} "
            f"WHERE key_hash IN ({listed}) AND revoked_at IS NULL) <> {len(wanted)} THEN "
            "RAISE EXCEPTION 'an API key of this write is not active' "
            f"USING ERRCODE = '{GUARD_SQLSTATE}'; END IF; END{tag}; "
        ).encode("utf-8")

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
        with self._pool.connection() as conn, conn.transaction():
            done = conn.execute(self._sql(
                "UPDATE {table} SET revoked_at = now() WHERE name = %s AND revoked_at IS NULL"
            ), (name,)).rowcount
            conn.execute(self._sql("DELETE FROM {sessions} WHERE user_name = %s"), (name,))
        if not done:
            raise UserNotFound(name)

    def authenticate(self, key: str) -> User | None:
        if not well_formed(key):
            return None
        with self._pool.connection() as conn:
            row = conn.execute(self._authenticate, (key_hash(key),)).fetchone()
        return _user(row) if row else None

    async def authenticate_async(self, key: str) -> User | None:
        """The user holding this key now. Requests of one event loop share its lookups:
        the keys asked for while a lookup is under way go together in the next one, so
        each key is looked up by a query sent after it was asked for (a revoked key
        stops working at once) and a busy server asks once for many requests."""
        import asyncio

        if not well_formed(key):
            return None
        loop = asyncio.get_running_loop()
        held = self._loop_connections.get(id(loop))
        if held is None or held.loop is not loop:
            held = await self._loop_connection()
        future = loop.create_future()
        held.asked.setdefault(key_hash(key), []).append(future)
        if held.asking is None or held.asking.done():
            held.asking = loop.create_task(self._look_up(held))
        return await future

    async def _look_up(self, held: _LoopConnection) -> None:
        """Sends the lookups asked for, round after round, until none waits."""
        while held.asked:
            asked, held.asked = held.asked, {}
            try:
                rows = await self._select_keys(list(asked))
            except BaseException as e:  # noqa: BLE001 - every asker hears it
                for futures in asked.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(e)
                if not isinstance(e, Exception):
                    raise
                continue
            users = {row[-1]: _user(row[:-1]) for row in rows}
            for digest, futures in asked.items():
                for future in futures:
                    if not future.done():  # (its request may have gone)
                        future.set_result(users.get(digest))

    async def _select_keys(self, digests: list[str]) -> list[tuple]:
        """The rows (`_COLUMNS`, then the key hash) of the users holding these keys now."""
        import asyncio

        import psycopg

        held = await self._loop_connection()
        conn = held.conn
        try:
            async with asyncio.timeout(LOOKUP_TIMEOUT):
                cursor = await conn.execute(self._authenticate_each, (digests,))
                return await cursor.fetchall()
        except (psycopg.OperationalError, psycopg.InterfaceError, TimeoutError) as e:
            if held.conn is conn:  # the next lookup connects again
                held.conn = None
            with suppress(Exception):
                await conn.close()
            if isinstance(e, TimeoutError):
                raise psycopg.OperationalError("the key lookup timed out") from e
            raise

    async def _loop_connection(self) -> _LoopConnection:
        """This event loop's connection, opened by the first request that needs it (the
        others wait for it rather than open their own)."""
        import asyncio

        import psycopg

        loop = asyncio.get_running_loop()
        held = self._loop_connections.get(id(loop))
        if held is None or held.loop is not loop:
            self._forget_closed_loops()
            held = self._loop_connections[id(loop)] = _LoopConnection(loop, asyncio.Lock())
        if held.conn is None or held.conn.closed:
            async with held.lock:
                if held.conn is None or held.conn.closed:
                    held.conn = await psycopg.AsyncConnection.connect(
                        self._conninfo, autocommit=True, connect_timeout=LOOKUP_TIMEOUT,
                        application_name=LOOKUP_CONNECTION)
        return held

    def _insert_session(self, row: tuple, cutoffs: tuple[float, float]) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(self._sql(
                "DELETE FROM {sessions} WHERE seen_at <= to_timestamp(%s) "
                "OR created_at <= to_timestamp(%s)"), cutoffs)
            conn.execute(self._sql(
                f"INSERT INTO {{sessions}} ({_SESSION_ROW}) "
                "VALUES (%s, %s, %s, %s, to_timestamp(%s), to_timestamp(%s))"), row)

    def _select_session(self, digest: str, cutoffs: tuple[float, float]) -> tuple | None:
        with self._pool.connection() as conn:
            return conn.execute(self._sql(
                f"SELECT {_SESSION_USER}, extract(epoch FROM s.seen_at)::float8 "
                "FROM {sessions} s JOIN {table} u "
                "ON u.key_hash = s.key_hash AND u.revoked_at IS NULL "
                "WHERE s.token_hash = %s AND s.seen_at > to_timestamp(%s) "
                "AND s.created_at > to_timestamp(%s)"), (digest, *cutoffs)).fetchone()

    def _touch_session(self, digest: str, now: float) -> None:
        with self._pool.connection() as conn:
            conn.execute(self._sql(
                "UPDATE {sessions} SET seen_at = to_timestamp(%s) WHERE token_hash = %s"),
                (now, digest))

    def end_session(self, token: str) -> None:
        if session_token_well_formed(token):
            with self._pool.connection() as conn:
                conn.execute(self._sql("DELETE FROM {sessions} WHERE token_hash = %s"),
                             (key_hash(token),))

    def _forget_closed_loops(self) -> None:
        """Closes the connections of event loops that have closed (a test client may run
        each request on a loop of its own)."""
        for key, held in list(self._loop_connections.items()):
            if held.loop.is_closed():
                del self._loop_connections[key]
                if held.conn is not None:
                    held.conn.pgconn.finish()

    def close(self) -> None:
        self._pool.close()
        held, self._loop_connections = self._loop_connections, {}
        for each in held.values():
            if each.conn is not None:
                each.conn.pgconn.finish()  # from any thread, whatever became of its loop


def open_users(settings: Settings, clock: Callable[[], float] = time.time) -> UserStore:
    """The user store beside the events the settings name (its sessions timed by `clock`)."""
    kind = describe(settings)
    limits = SessionLimits(settings.web_session_idle_seconds, settings.web_session_max_seconds,
                           clock)
    if kind == "memory":
        return MemoryUsers(limits)
    if kind == "sqlite":
        return SQLiteUsers(str(settings.sqlite_path), limits)
    with schema_changes(settings):
        return PostgresUsers(settings.database_url or "", settings.postgres_schema, limits)
