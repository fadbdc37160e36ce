"""The stored events exactly as the event store holds them, read page by page.

Audits read rows, not domain objects: `(seq, topic, state)` of one fund in seq order, or
`(notification_id, originator_id, seq, topic, state)` of the whole store in notification
order, with `state` the stored JSON bytes. On SQLite and PostgreSQL this is one indexed
query per page on the library's own tables (`stored_events`, `<schema>.ledger_events`),
and the next page is fetched in a background thread while the caller works on the current
one (the database and the decoding then overlap); the in-memory store is read through
its recorder. Memory stays bounded by two pages, whatever the history's size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.domain.fund import Fund

#: the topic of every fund event starts with this; the rest is the event type
FUND_TOPIC = get_topic(Fund) + "."
PAGE = 10_000

FundRow = tuple[int, str, bytes]
StoreRow = tuple[int, str, int, str, bytes]


def fund_type(topic: str) -> str | None:
    """The fund event type of a topic (`DonationReceived`), None for another aggregate."""
    return topic[len(FUND_TOPIC):] if topic.startswith(FUND_TOPIC) else None


class StoredEvents:
    """Reads the raw rows of one ledger's event store."""

    def __init__(self, app: Any, page: int = PAGE) -> None:
        self.recorder = app.recorder
        self.page = page
        module = type(self.recorder).__module__
        self.kind = ("postgres" if module.endswith("postgres")
                     else "sqlite" if module.endswith("sqlite") else "memory")
        if self.kind == "postgres":
            ds = self.recorder.datastore
            self.table = f'"{ds.schema}"."{self.recorder.events_table_name}"'
        else:
            self.table = getattr(self.recorder, "events_table_name", "stored_events")

    # ---- one fund ---------------------------------------------------------------------

    def fund_rows(self, fund_id: UUID, after: int = 0) -> Iterator[FundRow]:
        """Every stored event of a fund with seq > `after`, in seq order."""
        return _prefetched(lambda last: self._fund_page(fund_id, last), after, 0, self.page)

    def _fund_page(self, fund_id: UUID, after: int) -> Sequence[FundRow]:
        if self.kind == "memory":
            return [(e.originator_version, e.topic, e.state)
                    for e in self.recorder.select_events(fund_id, gt=after, limit=self.page)]
        sql = (f"SELECT originator_version, topic, state FROM {self.table}"
               " WHERE originator_id = {p} AND originator_version > {p}"
               " ORDER BY originator_version LIMIT {p}")
        return self._query(sql, (fund_id, after, self.page))

    def fund_row(self, fund_id: UUID, seq: int) -> FundRow | None:
        """The fund's stored event with this seq, if there is one."""
        if self.kind == "memory":
            found = self.recorder.select_events(fund_id, gt=seq - 1, lte=seq)
            return (found[0].originator_version, found[0].topic, found[0].state) if found \
                else None
        sql = (f"SELECT originator_version, topic, state FROM {self.table}"
               " WHERE originator_id = {p} AND originator_version = {p}")
        rows = self._query(sql, (fund_id, seq))
        return tuple(rows[0]) if rows else None

    # ---- the whole store ----------------------------------------------------------------

    def all_rows(self, after: int = 0) -> Iterator[StoreRow]:
        """Every stored event with notification id > `after`, in notification order;
        `originator_id` as 32 hex digits."""
        return _prefetched(self._all_page, after, 0, self.page)

    def _all_page(self, after: int) -> Sequence[StoreRow]:
        if self.kind == "memory":
            return [(n.id, n.originator_id.hex, n.originator_version, n.topic, n.state)
                    for n in self.recorder.select_notifications(after + 1, self.page)]
        if self.kind == "sqlite":
            sql = (f"SELECT rowid, originator_id, originator_version, topic, state"
                   f" FROM {self.table} WHERE rowid > ? ORDER BY rowid LIMIT ?")
            return [(n, o if len(o) == 32 else UUID(o).hex, v, t, s) for n, o, v, t, s in
                    self._query(sql, (after, self.page))]
        sql = (f"SELECT notification_id, originator_id, originator_version, topic, state"
               f" FROM {self.table} WHERE notification_id > %s"
               f" ORDER BY notification_id LIMIT %s")
        return [(n, o.hex, v, t, s) for n, o, v, t, s in self._query(sql, (after, self.page))]

    def max_notification_id(self) -> int:
        return self.recorder.max_notification_id() or 0

    # ---- plumbing -------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        if self.kind == "sqlite":
            params = tuple(p.hex if isinstance(p, UUID) else p for p in params)
            with self.recorder.datastore.transaction(commit=False) as c:
                # plain tuples, not the pool's sqlite3.Row: lighter, and of only atomic
                # values, so the garbage collector stops tracking them
                c.sqlite_cursor.row_factory = None
                c.execute(sql.replace("{p}", "?"), params)
                return c.fetchall()
        from psycopg.rows import tuple_row

        with self.recorder.datastore.get_connection() as conn:
            with conn.cursor(row_factory=tuple_row, binary=True) as c:
                c.execute(sql.replace("{p}", "%s"), params)
                return c.fetchall()


def _prefetched(
    fetch: Callable[[int], Sequence[Any]], after: int, key: int, page: int
) -> Iterator[Any]:
    """Rows page by page, each next page fetched while the caller works on this one."""
    with ThreadPoolExecutor(1, thread_name_prefix="audit-read") as pool:
        pending = pool.submit(fetch, after)
        while True:
            rows = pending.result()
            if len(rows) == page:
                pending = pool.submit(fetch, rows[-1][key])
            yield from rows
            if len(rows) < page:
                return
