"""Where the read models live: the events' own database, reached through one small seam.

A view's rows live beside the events: in the same SQLite file, or in the same PostgreSQL
schema (the connection's `search_path` is that schema, so SQL names tables unqualified).
Views write SQL once, with `?` placeholders; `Tx` turns them into `%s` for PostgreSQL.

`Database.tracked_all(views)` is the one way views write: a transaction that first locks
their tracking rows (PostgreSQL `FOR UPDATE`, in one order; SQLite `BEGIN IMMEDIATE`)
and hands back their positions, so two runners of one view serialise and neither applies
an event twice. On PostgreSQL it costs few round trips: BEGIN goes with the locks, and
the runner's small writes and position updates go with COMMIT (`defer`). A runner that
knows the positions may say so (`expected`): BEGIN and the locks then go with the views'
first reads, and the transaction stops there (`PositionsMoved`) if the positions the
locks found are not the expected ones.
An in-memory ledger gets its views in a temporary SQLite file (for tests and demos).
"""

from __future__ import annotations

import queue
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ledger.projections.progress import ANNOUNCE
from ledger.settings import Settings
from ledger.storage import describe, schema_changes

#: at most this many rows go by INSERT … VALUES, more by COPY (PostgreSQL)
FEW_ROWS = 20
#: psycopg converts a statement's placeholders once and caches it only up to this many
#: parameters (its MAX_CACHED_STATEMENT_PARAMS); a longer one is parsed again every time
CACHED_PARAMS = 50

TRACKING_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_tracking ("
    "view TEXT PRIMARY KEY, position BIGINT NOT NULL)"
)


class PositionsMoved(Exception):
    """The tracking positions a transaction expected are not the ones stored."""


class Tx:
    """A cursor in one transaction, speaking `?` placeholders on both databases."""

    def __init__(
        self, cursor: Any, postgres: bool, staged: set[str] | None = None, *,
        deferred: list[tuple[str, Sequence[Any]]] | None = None,
        begin: tuple[str, dict[str, int]] | None = None,
    ) -> None:
        self._cursor = cursor
        #: BEGIN's locking SELECT and the positions it must find, not sent yet
        #: (PostgreSQL): it goes with the first reads, or alone before anything else
        self._begin = begin
        self.postgres = postgres
        #: the staging tables this connection has made (PostgreSQL)
        self.staged = staged if staged is not None else set()
        #: writes held back to go with COMMIT, all in one round trip (the runner's
        #: transactions on PostgreSQL, whose views read nothing they wrote); None: at once
        self.deferred = deferred

    @property
    def cursor(self) -> Any:
        """The transaction's cursor (the transaction begun on it)."""
        if self._begin is not None:
            self.begin()
        return self._cursor

    def begin(self) -> None:
        """Sends BEGIN and the locks, if they have not gone yet, and checks the positions."""
        if self._begin is None:
            return
        lock, expected = self._begin
        self._begin = None
        self._cursor.execute(f"BEGIN; {lock}")
        self._cursor.nextset()
        _check(dict(self._cursor.fetchall()), expected)

    def _write(self, sql: str, params: Sequence[Any]) -> None:
        if self.deferred is None:
            self.cursor.execute(sql, params)
        else:
            self.deferred.append((sql, params))

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Tx:
        self.cursor.execute(self._sql(sql), params)
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.cursor.executemany(self._sql(sql), rows)

    def write_rows(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
        conflict: str = "",
    ) -> None:
        """INSERT rows (with an optional ON CONFLICT clause, at most once per table and
        transaction). PostgreSQL gets them by COPY, straight into the table or, for an
        upsert, into a temporary staging table and from there in one INSERT: many times
        faster than a statement per row, which keeps a catch-up near the raw read rate."""
        if not rows:
            return
        names = ", ".join(columns)
        if not self.postgres:
            marks = ", ".join("?" * len(columns))
            self.cursor.executemany(
                f"INSERT INTO {table} ({names}) VALUES ({marks}) {conflict}", rows
            )
            return
        if len(rows) <= FEW_ROWS:
            # a live write's few rows: a statement or a few, one round trip (COPY takes
            # two, and an upsert through staging two more); each statement small enough
            # for psycopg to convert its text once and reuse it
            marks = "(" + ", ".join(["%s"] * len(columns)) + ")"
            per = max(1, CACHED_PARAMS // len(columns))
            for start in range(0, len(rows), per):
                chunk = rows[start:start + per]
                self._write(
                    f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * len(chunk))}"
                    f" {conflict}", [v for row in chunk for v in row],
                )
            return
        target = table
        if conflict:
            target = f"stage_{table}"
            if target not in self.staged:
                self.cursor.execute(
                    f"CREATE TEMP TABLE IF NOT EXISTS {target} (LIKE {table})"
                    " ON COMMIT DELETE ROWS"
                )
                self.staged.add(target)
        with self.cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if conflict:
            self.cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT {names} FROM {target} {conflict}"
            )

    def select_in(
        self, table: str, columns: Sequence[str], by: Sequence[str],
        values: Sequence[tuple[Any, ...]],
    ) -> list[tuple[Any, ...]]:
        """Rows of `table` whose text columns `by` equal one of the tuples `values`."""
        return self.select_in_each([(table, columns, by, values)])[0]

    def select_in_each(
        self, requests: Sequence[tuple[str, Sequence[str], Sequence[str], Sequence[Any]]],
    ) -> list[list[tuple[Any, ...]]]:
        """`select_in` for each (table, columns, by, values); on PostgreSQL all in one
        round trip (pipelined, a cursor each), with BEGIN and the locks if they have not
        gone yet."""
        if not self.postgres or not requests:
            return [self._select_in_sqlite(*request) for request in requests]
        statements = []
        for table, columns, by, values in requests:
            select = ", ".join(f"t.{c}" for c in columns)
            unnest = ", ".join("%b::text[]" for _ in by)
            match = " AND ".join(f"t.{c} = k.{c}" for c in by)
            statements.append((
                f"SELECT {select} FROM {table} t JOIN unnest({unnest}) AS k({', '.join(by)})"
                f" ON {match}", [list(column) for column in zip(*values)],
            ))
        begin, self._begin = self._begin, None
        if len(statements) == 1 and begin is None:
            self._cursor.execute(*statements[0])
            return [list(self._cursor.fetchall())]
        conn = self._cursor.connection
        cursors = [conn.cursor() for _ in statements]
        try:
            with conn.pipeline():
                if begin is not None:  # BEGIN and the locks go first, in the same trip
                    self._cursor.execute("BEGIN")
                    cursors.append(conn.cursor())
                    cursors[-1].execute(begin[0])
                for cursor, statement in zip(cursors, statements):
                    cursor.execute(*statement)
            if begin is not None:
                _check(dict(cursors[-1].fetchall()), begin[1])
            return [list(cursor.fetchall()) for cursor in cursors[:len(statements)]]
        finally:
            for cursor in cursors:
                cursor.close()

    def _select_in_sqlite(
        self, table: str, columns: Sequence[str], by: Sequence[str],
        values: Sequence[tuple[Any, ...]],
    ) -> list[tuple[Any, ...]]:
        # The keys as a table joined to the rows (CROSS JOIN: the keys outside, so each is
        # an index lookup); SQLite scans the whole table for `(a, b) IN (VALUES …)`.
        select = ", ".join(f"t.{c}" for c in columns)
        match = " AND ".join(f"t.{c} = k.column{i}" for i, c in enumerate(by, 1))
        found: list[tuple[Any, ...]] = []
        row = "(" + ", ".join("?" * len(by)) + ")"
        for i in range(0, len(values), 400):
            chunk = values[i : i + 400]
            found += self.all(
                f"SELECT {select} FROM (VALUES {', '.join([row] * len(chunk))}) AS k"
                f" CROSS JOIN {table} t ON {match}",
                [v for value in chunk for v in value],
            )
        return found

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        self.cursor.execute(self._sql(sql), params)
        return list(self.cursor.fetchall())

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        self.cursor.execute(self._sql(sql), params)
        return self.cursor.fetchone()


class Database:
    """Connections to the database of the events, for the read models."""

    def __init__(self, settings: Settings) -> None:
        self.kind = describe(settings)
        self.postgres = self.kind == "postgresql"
        self._scratch: str | None = None
        if self.kind == "memory":
            self._scratch = tempfile.mkdtemp(prefix="ledger-views-")
            self.path = Path(self._scratch) / "views.sqlite3"
        else:
            self.path = Path(settings.sqlite_path)
        self.url = settings.database_url or ""
        self.schema = settings.postgres_schema
        self.lock_timeout = settings.lock_timeout_seconds
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._all: list[Any] = []
        self._guard = threading.Lock()
        self._staged: dict[int, set[str]] = {}  # connection → its staging tables
        try:
            with schema_changes(settings), self.transaction() as tx:
                tx.execute(TRACKING_DDL)
        except BaseException:
            self.close()  # its connection, not left for the collector
            raise

    # ---- connections --------------------------------------------------------------------

    def _connect(self) -> Any:
        if self.postgres:
            conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            conn.execute(f'SET search_path TO "{self.schema}"')
            conn.execute(f"SET lock_timeout = '{self.lock_timeout * 6}s'")
            # A view's commit need not wait for the disk: a transaction lost in a server
            # crash loses its rows and its tracking position together, and is redone.
            conn.execute("SET synchronous_commit = off")
            return conn
        conn = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False,
            timeout=max(self.lock_timeout, 30),
        )
        conn.execute("PRAGMA journal_mode=WAL")
        # as on PostgreSQL: a commit lost to a power cut takes its tracking with it
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection, in autocommit mode between transactions."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = self._connect()
            with self._guard:
                self._all.append(conn)
        broken = False
        try:
            yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError):
            broken = True
            raise
        finally:
            if broken or getattr(conn, "closed", False):
                with self._guard:
                    if conn in self._all:
                        self._all.remove(conn)
                    self._staged.pop(id(conn), None)
                conn.close()
            else:
                self._idle.put(conn)

    @contextmanager
    def transaction(self, *, immediate: bool = False) -> Iterator[Tx]:
        """One transaction; committed when the block ends, rolled back if it raises."""
        with self.connection() as conn:
            if self.postgres:
                with conn.transaction(), conn.cursor() as cur:
                    yield Tx(cur, True, self._staged.setdefault(id(conn), set()))
                return
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            try:
                yield Tx(cur, False)
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.commit()
            finally:
                cur.close()

    @contextmanager
    def tracked(self, view: str) -> Iterator[tuple[Tx, int]]:
        """A transaction holding the view's tracking row, with the view's position."""
        with self.tracked_all([view]) as (tx, positions):
            yield tx, positions[view]

    @contextmanager
    def tracked_all(
        self, views: Sequence[str], *, defer: bool = False,
        expected: dict[str, int] | None = None,
    ) -> Iterator[tuple[Tx, dict[str, int]]]:
        """A transaction holding the tracking rows of these views (locked in one order,
        so that runners cannot deadlock), with their positions. With `defer`, small writes
        on PostgreSQL wait for the commit and go with it in one round trip: only for
        transactions that never read what they wrote. With the `expected` positions, on
        PostgreSQL, the locks go with the first reads, and PositionsMoved (all rolled
        back) says the stored positions were others."""
        if not self.postgres:
            with self.transaction(immediate=True) as tx:
                found = dict(tx.all(
                    "SELECT view, position FROM projection_tracking WHERE view IN"
                    f" ({', '.join('?' * len(views))})", list(views),
                ))
                yield tx, self._positions_of(tx, views, found)
            return
        with self.connection() as conn, conn.cursor() as cur:
            names = ", ".join(sql.Literal(v).as_string(conn) for v in views)
            try:
                # BEGIN and the row locks in one round trip (literal SQL: a statement
                # with parameters cannot share one)
                lock = ("SELECT view, position FROM projection_tracking"
                        f" WHERE view IN ({names}) ORDER BY view FOR UPDATE")
                staged = self._staged.setdefault(id(conn), set())
                if expected is not None:
                    tx = Tx(cur, True, staged, deferred=[] if defer else None,
                            begin=(lock, dict(expected)))
                    yield tx, dict(expected)
                    tx.begin()  # (when nothing was read)
                else:
                    cur.execute(f"BEGIN; {lock}")
                    cur.nextset()
                    found = dict(cur.fetchall())
                    tx = Tx(cur, True, staged, deferred=[] if defer else None)
                    yield tx, self._positions_of(tx, views, found)
                if tx.deferred:
                    with conn.pipeline():
                        for statement in tx.deferred:
                            cur.execute(*statement)
                        cur.execute("COMMIT")
                else:
                    cur.execute("COMMIT")
            except BaseException:
                with suppress(psycopg.Error):
                    conn.rollback()
                raise

    @staticmethod
    def _positions_of(tx: Tx, views: Sequence[str], found: dict[str, Any]) -> dict[str, int]:
        for view in views:
            if view not in found:
                tx.execute("INSERT INTO projection_tracking (view, position) VALUES (?, 0)",
                           (view,))
        return {v: int(found.get(v, 0)) for v in views}

    # ---- tracking -------------------------------------------------------------------------

    def positions(self, views: Sequence[str]) -> dict[str, int]:
        """Each view's position (0 for a view that has processed nothing)."""
        with self.transaction() as tx:
            rows = dict(tx.all("SELECT view, position FROM projection_tracking"))
        return {v: int(rows.get(v, 0)) for v in views}

    @staticmethod
    def set_positions(tx: Tx, views: Sequence[str], position: int) -> None:
        """Moves these views' positions to `position` (one statement for all of them)."""
        if not views:
            return
        statement = (f"UPDATE projection_tracking SET position = ? WHERE view IN"
                     f" ({', '.join('?' * len(views))})")
        tx._write(tx._sql(statement), (position, *views))  # deferred when tx defers

    @staticmethod
    def announce(tx: Tx, channel: str, position: int) -> None:
        """Tells the processes listening on `channel` that the views reached `position`,
        when the transaction commits (PostgreSQL)."""
        tx._write(ANNOUNCE, (channel, str(position)))  # deferred when tx defers

    def close(self) -> None:
        with self._guard:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        if self._scratch:
            shutil.rmtree(self._scratch, ignore_errors=True)


def _check(found: dict[str, Any], expected: dict[str, int]) -> None:
    if any(v not in found or int(found[v]) != p for v, p in expected.items()):
        raise PositionsMoved(f"expected {expected}, found {found}")
