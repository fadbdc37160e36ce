"""The ledger's PostgreSQL event recorder: the library's, in fewer round trips.

eventsourcing 9.5.6 inserts through psycopg's pipeline mode, whose client-side machinery
costs more than the database work of a one-event transaction. This recorder sends the
same statements in three plain round trips: one simple query that begins the transaction,
sets the finite lock timeout, takes the EXCLUSIVE table lock (so notification ids are
committed in order) and notifies subscribers; the prepared INSERT … RETURNING; COMMIT.
Everything else — tables, selects, subscriptions — is the library's. It passes the
library's own recorder test cases (tests/test_postgres_recorder.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    """`PostgresApplicationRecorder` with a three-round-trip insert."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self._begin_locked = SQL(
            "BEGIN; SET LOCAL lock_timeout = '{timeout}s'; "
            "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; NOTIFY {channel}"
        ).format(
            timeout=datastore.lock_timeout,
            schema=Identifier(datastore.schema),
            table=Identifier(self.events_table_name),
            channel=Identifier(self.channel_name),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        rows = [
            self.construct_pg_stored_event(
                e.originator_id, e.originator_version, e.topic, e.state
            )
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            try:
                curs.execute(self._begin_locked)
                curs.execute(self.insert_events_statement, (rows,), prepare=True)
                notification_ids = [row["notification_id"] for row in curs.fetchall()]
                curs.execute("COMMIT")
            except BaseException:
                conn.rollback()
                raise
        return notification_ids
