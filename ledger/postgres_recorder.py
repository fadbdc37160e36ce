"""The ledger's PostgreSQL event recorder: the library's, in one round trip.

eventsourcing 9.5.6 inserts through psycopg's pipeline mode, whose client-side machinery
costs more than the database work of a small transaction. This recorder sends the same
statements as one simple query: begin, set the finite lock timeout, take the EXCLUSIVE
table lock (so notification ids are committed in the order they are issued), insert the
events returning their notification ids, notify subscribers with the last of those ids as
the payload (so that a listener which has those events already need not read them back),
commit. The values are rendered as SQL literals by psycopg itself (text and uuid) or as
hex (bytea, integers), so nothing a client sends can change the statement. Everything else — tables, selects,
subscriptions — is the library's. It passes the library's own recorder test cases
(tests/test_postgres_recorder.py).

A writer may also ask an insert's transaction to check a condition first (`guarded`): a
statement of its own, run under the table lock before the rows go in, which refuses the
whole transaction by raising `GUARD_SQLSTATE` when the condition does not hold. The API
checks so that the keys of a batch of donations are still active when they are recorded
(`ledger.users`, `api.group_commit`).
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import ConnectionPool, PostgresApplicationRecorder, PostgresDatastore
from psycopg import Connection
from psycopg.errors import LockNotAvailable
from psycopg.sql import SQL, Identifier, Literal


#: PostgreSQL's longest name (of a channel, too), in bytes: NAMEDATALEN - 1
LONGEST_NAME = 63
#: the SQLSTATE a guard raises when its condition does not hold
GUARD_SQLSTATE = "LG001"


class GuardRefused(Exception):  # noqa: N818 - the name says what happened
    """The condition a writer asked an insert's transaction to check did not hold:
    nothing was recorded."""


def channel_name(schema: str, name: str) -> str:
    """The notification channel `name` of the ledger in `schema`. Channels belong to the
    whole database, not to a schema; a name too long for PostgreSQL keeps its start and
    ends with a digest of the whole, so that two long names cannot meet."""
    full = f"{schema}_{name}"
    if len(full.encode()) <= LONGEST_NAME:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:16]
    return f"{full.encode()[:LONGEST_NAME - 17].decode(errors='ignore')}_{digest}"


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` with a one-round-trip insert, and COPY for many events."""

    #: inserts of at least this many events go by COPY
    copy_threshold = 100
    #: attempts of an insert that meets a broken connection
    max_attempts = 10

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        # The library names the channel after the table alone; two ledgers in two schemas
        # of one database would hear each other's notifications (and their ids).
        self.channel_name = channel_name(datastore.schema, self.events_table_name)
        if type(datastore.pool) is ConnectionPool:
            datastore.pool.__class__ = HotFirstPool
        names = {
            "timeout": Literal(f"{datastore.lock_timeout}s"),
            "schema": Identifier(datastore.schema),
            "table": Identifier(self.events_table_name),
            "channel": Identifier(self.channel_name),
        }
        #: begin, lock and notify: the start of a COPY's transaction (a notification
        #: without the ids, whose listeners then look for themselves)
        self._copy_head = SQL(
            "BEGIN; SET LOCAL lock_timeout = {timeout}; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; NOTIFY {channel}"
        ).format(**names)
        self._head = SQL(
            "BEGIN; SET LOCAL lock_timeout = {timeout}; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; ").format(**names)
        #: (a guard's statement goes between the lock and the rows)
        self._insert_into = SQL("INSERT INTO {schema}.{table} "
                                "(originator_id, originator_version, topic, state) VALUES "
                                ).format(**names)
        #: the end of a small insert: its ids, then a notification that carries the last
        #: of them (a listener that has seen that id already need not look)
        self._tail = SQL(" RETURNING notification_id; SELECT pg_notify({channel}, "
                         "lastval()::text); COMMIT").format(
            channel=Literal(self.channel_name))
        self._copy = SQL(
            "COPY {schema}.{table} (originator_id, originator_version, topic, state) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(schema=Identifier(datastore.schema), table=Identifier(self.events_table_name))
        #: the notification id the COPY drew last (no other sequence is drawn from in that
        #: transaction)
        self._last_id = SQL("SELECT lastval()")
        self._select_first = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s) AND originator_version = 1"
        ).format(schema=Identifier(datastore.schema), table=Identifier(self.events_table_name))
        self._rendered_head: bytes | None = None
        self._rendered_insert = b""
        self._rendered_tail = b""
        self._topics: dict[str, bytes] = {}
        self._guards = threading.local()

    @contextmanager
    def guarded(self, statement: bytes) -> Iterator[None]:
        """Within the block, this thread's inserts run `statement` in their transaction,
        under the table lock, before their rows; a statement that raises `GUARD_SQLSTATE`
        refuses the insert (`GuardRefused`)."""
        before = getattr(self._guards, "statement", b"")
        self._guards.statement = statement
        try:
            yield
        finally:
            self._guards.statement = before

    def _literal(self, conn: Connection[Any], text: str) -> bytes:
        return Literal(text).as_bytes(conn)

    def _row(self, conn: Connection[Any], e: StoredEvent) -> bytes:
        topic = self._topics.get(e.topic)
        if topic is None:
            topic = self._topics[e.topic] = self._literal(conn, e.topic)
        # a UUID's text is hex digits and dashes: a literal as it stands
        originator = e.originator_id
        if not isinstance(originator, UUID):
            originator = UUID(str(originator))
        return b"('%s'::uuid,%d,%s,'\\x%s'::bytea)" % (
            str(originator).encode("ascii"),
            int(e.originator_version),
            topic,
            bytes(e.state).hex().encode("ascii"),
        )

    def _copy_events(self, stored_events: Sequence[StoredEvent], guard: bytes = b""
                     ) -> list[int]:
        """A large insert, by COPY: under the EXCLUSIVE lock no other writer draws from
        the notification id sequence, so the rows take the consecutive ids ending at the
        sequence's current value, in the order they were sent."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(self._copy_head, prepare=False)
                if guard:
                    curs.execute(guard, prepare=False)
                with curs.copy(self._copy) as copy:
                    copy.set_types(["uuid", "int8", "text", "bytea"])
                    for e in stored_events:
                        copy.write_row((e.originator_id, e.originator_version, e.topic,
                                        e.state))
                curs.execute(self._last_id, prepare=False)
                row = curs.fetchone()
                curs.execute(b"COMMIT", prepare=False)
            except BaseException:
                conn.rollback()
                raise
        assert row is not None
        last = int(row["lastval"])
        return list(range(last - len(stored_events) + 1, last + 1))

    def select_first_events(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """The first event of each of these aggregates that exists, in one query."""
        if not originator_ids:
            return []
        with self.datastore.transaction(commit=False) as curs:
            # binary: ids go as 16 bytes each, states come back without hex decoding
            curs.execute(self._select_first, (list(originator_ids),), prepare=True, binary=True)
            return [
                StoredEvent(originator_id=row["originator_id"],
                            originator_version=row["originator_version"],
                            topic=row["topic"], state=bytes(row["state"]))
                for row in curs.fetchall()
            ]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Inserts the events in one transaction; retried, as the library does, after a
        broken connection, but not after the lock timeout: the table is busy, and waiting
        ten times as long would not tell the caller anything sooner."""
        if not stored_events:
            return None
        attempt = 1
        guard = getattr(self._guards, "statement", b"")
        while True:
            try:
                if len(stored_events) >= self.copy_threshold:
                    return self._copy_events(stored_events, guard)
                return self._insert(stored_events, guard)
            except PersistenceError as e:
                if _refused_by_guard(e):
                    if attempt > 1:
                        # the first attempt may have committed before the condition
                        # changed: the caller finds out as for any insert that may be in
                        raise IntegrityError("a retried insert's guard refused it") from e
                    raise GuardRefused(str(e).splitlines()[0]) from None
                if (not isinstance(e, (InterfaceError, OperationalError))
                        or attempt == self.max_attempts or _is_lock_timeout(e)):
                    raise
            attempt += 1
            time.sleep(0.2 * (1 + 0.1 * (random.random() - 0.5)))

    def _insert(self, stored_events: Sequence[StoredEvent], guard: bytes = b"") -> list[int]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            if self._rendered_head is None:
                # standard_conforming_strings makes '\x…' a plain hex bytea literal
                if conn.info.parameter_status("standard_conforming_strings") != "on":
                    msg = "the ledger needs standard_conforming_strings = on"
                    raise RuntimeError(msg)
                self._rendered_insert = self._insert_into.as_bytes(conn)
                self._rendered_tail = self._tail.as_bytes(conn)
                self._rendered_head = self._head.as_bytes(conn)
            query = (self._rendered_head + guard + self._rendered_insert
                     + b",".join(self._row(conn, e) for e in stored_events)
                     + self._rendered_tail)
            try:
                curs.execute(query, prepare=False)
                notification_ids: list[int] = []
                while True:
                    # the ids, read off the INSERT's result as it came (psycopg's columns
                    # and rows cost more than the ids' digits)
                    result = curs.pgresult
                    if result is not None and result.nfields \
                            and result.fname(0) == b"notification_id":
                        notification_ids = [int(result.get_value(i, 0))  # type: ignore[arg-type]
                                            for i in range(result.ntuples)]
                    if not curs.nextset():
                        break
            except BaseException:
                conn.rollback()
                raise
        if len(notification_ids) != len(stored_events):
            msg = f"got {len(notification_ids)} notification ids for {len(stored_events)} events"
            raise OperationalError(msg)
        return notification_ids


class HotFirstPool(ConnectionPool):  # type: ignore[type-arg]
    """The library's connection pool, handing out the connection returned last.

    psycopg_pool hands connections out in turn (first in, first out), so a lone writer
    goes round every pooled connection, and each statement meets a server process that
    has been idle since its last turn: measured here, a write's round trip took 600 µs
    instead of 420 µs. Most recent first keeps the warm ones busy; the pool still closes
    the connections idle longest when it shrinks."""

    def _get_ready_connection(self, timeout: float | None) -> Any:
        if len(self._pool) > 1:
            self._pool.appendleft(self._pool.pop())
        return super()._get_ready_connection(timeout)


def _refused_by_guard(error: BaseException) -> bool:
    """Whether a guard refused the insert (the library wraps psycopg's error)."""
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) == GUARD_SQLSTATE


def _is_lock_timeout(error: BaseException) -> bool:
    """Whether the error is PostgreSQL's lock timeout (SQLSTATE 55P03), which the library
    reports as an OperationalError caused by psycopg's LockNotAvailable."""
    return isinstance(error.__cause__, LockNotAvailable) or isinstance(error, LockNotAvailable)
