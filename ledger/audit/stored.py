"""The stored events exactly as the event store holds them, read page by page.

Audits read rows, not domain objects: `(seq, topic, state)` of one fund in seq order, or
`(notification_id, originator_id, seq, topic, state)` of the whole store in notification
order, with `state` the stored JSON bytes. On SQLite and PostgreSQL this is one indexed
query per page on the library's own tables (`stored_events`, `<schema>.ledger_events`),
and the next page is fetched in a background thread while the caller works on the current
one (the database and the decoding then overlap). Pages are ranges of keys (seq or
notification id), so each query is a bounded index range whatever the table's
statistics (after a bulk load, PostgreSQL's stale ones made LIMIT pages sort the whole
rest of the history each time). The in-memory store is read through its recorder.
Memory stays bounded by two pages, whatever the history's size.
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
        """Every stored event of a fund with seq > `after` (up to its last seq when the
        read starts), in seq order."""
        return _pages(lambda lo, hi: self._fund_page(fund_id, lo, hi), after,
                      self._last_seq(fund_id), self.page)

    def _fund_page(self, fund_id: UUID, lo: int, hi: int) -> Sequence[FundRow]:
        if self.kind == "memory":
            return [(e.originator_version, e.topic, e.state)
                    for e in self.recorder.select_events(fund_id, gt=lo, lte=hi)]
        sql = (f"SELECT originator_version, topic, state FROM {self.table}"
               " WHERE originator_id = {p} AND originator_version > {p}"
               " AND originator_version <= {p} ORDER BY originator_version")
        return self._query(sql, (fund_id, lo, hi))

    def _last_seq(self, fund_id: UUID) -> int:
        if self.kind == "memory":
            last = self.recorder.select_events(fund_id, desc=True, limit=1)
            return last[0].originator_version if last else 0
        rows = self._query(f"SELECT max(originator_version) FROM {self.table}"
                           " WHERE originator_id = {p}", (fund_id,))
        return rows[0][0] or 0

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
        """Every stored event with notification id > `after` (up to the last one when the
        read starts), in notification order; `originator_id` as 32 hex digits."""
        return _pages(self._all_page, after, self.max_notification_id(), self.page)

    def _all_page(self, lo: int, hi: int) -> Sequence[StoreRow]:
        if self.kind == "memory":
            return [(n.id, n.originator_id.hex, n.originator_version, n.topic, n.state)
                    for n in self.recorder.select_notifications(lo + 1, self.page, stop=hi)]
        if self.kind == "sqlite":
            sql = (f"SELECT rowid, originator_id, originator_version, topic, state"
                   f" FROM {self.table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid")
            return [(n, o if len(o) == 32 else UUID(o).hex, v, t, s) for n, o, v, t, s in
                    self._query(sql, (lo, hi))]
        sql = (f"SELECT notification_id, originator_id, originator_version, topic, state"
               f" FROM {self.table} WHERE notification_id > %s AND notification_id <= %s"
               f" ORDER BY notification_id")
        return [(n, o.hex, v, t, s) for n, o, v, t, s in self._query(sql, (lo, hi))]

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


def _pages(
    fetch: Callable[[int, int], Sequence[Any]], after: int, last: int, page: int
) -> Iterator[Any]:
    """The rows with keys in (after, last], a key range of `page` at a time, each next
    range fetched while the caller works on this one. Ranges rather than LIMIT, so that
    no query plan ever sorts the rest of a history, and gaps in the keys are no matter."""
    if after >= last:
        return
    with ThreadPoolExecutor(1, thread_name_prefix="audit-read") as pool:
        lo = after
        pending = pool.submit(fetch, lo, min(lo + page, last))
        while True:
            rows = pending.result()
            lo += page
            if lo < last:
                pending = pool.submit(fetch, lo, min(lo + page, last))
            yield from rows
            if lo >= last:
                return
