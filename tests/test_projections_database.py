"""The views' one seam to the database: rows written by `Tx.write_rows`, in every size it
handles differently on PostgreSQL (a statement, several statements each small enough for
psycopg to cache, COPY), arrive whole, inserted or upserted, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from ledger.projections.database import FEW_ROWS, Database

COLUMNS = tuple(f"c{i}" for i in range(12))  # 12 columns: 4 rows fill psycopg's 50


@pytest.mark.parametrize("count", [1, 4, 5, FEW_ROWS, FEW_ROWS + 1, 300])
@pytest.mark.parametrize("defer", [False, True])
def test_rows_written_in_any_number_arrive_whole_and_upsert(durable_settings, count, defer):
    db = Database(durable_settings)
    try:
        with db.transaction() as tx:
            tx.execute(f"CREATE TABLE t ({', '.join(f'{c} TEXT' for c in COLUMNS)},"
                       " PRIMARY KEY (c0))")
        rows = [tuple(f"{r}-{c}" for c in COLUMNS) for r in range(count)]
        with db.tracked_all(["t"], defer=defer) as (tx, _):
            tx.write_rows("t", COLUMNS, rows)
        changed = [(row[0], *("new" for _ in COLUMNS[1:])) for row in rows]
        with db.tracked_all(["t"], defer=defer) as (tx, _):
            tx.write_rows("t", COLUMNS, changed, "ON CONFLICT (c0) DO UPDATE SET "
                          + ", ".join(f"{c} = excluded.{c}" for c in COLUMNS[1:]))
        with db.transaction() as tx:
            stored = sorted(tx.all(f"SELECT {', '.join(COLUMNS)} FROM t"))
        assert stored == sorted(changed)
    finally:
        db.close()
