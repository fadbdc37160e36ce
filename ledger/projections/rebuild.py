"""Rebuilding a view from scratch beside the live one, then swapping it in.

The new tables (suffix `__new`) are built from the first event by a runner of their own
while the live view keeps serving. The swap is one transaction that holds the live view's
tracking row (so its runner waits), folds the last events into the new tables, drops the
live tables, renames the new ones into their place, and moves the live position. Readers
see the old tables until commit and the new ones after: never an empty view.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from eventsourcing.application import Application

from ledger.projections.database import Database, Tx
from ledger.collector import collector_paused
from ledger.projections.runner import BATCH_SIZE, Runner
from ledger.projections.view import View

NEW = "__new"


def rebuild(
    app: Application[Any],
    db: Database,
    view_class: type[View],
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Rebuilds one view from scratch and swaps it in; the position it reached."""
    new, live = view_class(NEW), view_class()
    with db.transaction(immediate=True) as tx:
        for table in new.table_names():
            tx.execute(f"DROP TABLE IF EXISTS {new.t(table)}")
        new.create(tx)
        tx.execute("DELETE FROM projection_tracking WHERE view = ?", (new.tracking,))
        tx.execute("INSERT INTO projection_tracking (view, position) VALUES (?, 0)",
                   (new.tracking,))
    runner = Runner(app, db, [new], batch_size=batch_size)
    try:
        with collector_paused:
            while runner.step():
                if progress:
                    progress(db.positions([new.tracking])[new.tracking], runner.top())
        return _swap_in(db, runner, new, live)
    finally:
        runner.stop()


def _swap_in(db: Database, runner: Runner, new: View, live: View) -> int:
    """Folds what was written since into the new tables and swaps them in, holding the
    live view's tracking row; the position reached."""
    with db.tracked(live.tracking) as (tx, _):
        row = tx.one("SELECT position FROM projection_tracking WHERE view = ?", (new.tracking,))
        position = int(row[0]) if row else 0
        top = runner.top()
        while position < top:  # what was written since the catch-up ended
            batch, position = runner.read(position, top)
            new.apply(tx, batch)
        swap(db, tx, new, live)
        db.set_positions(tx, [live.tracking], position)
        tx.execute("DELETE FROM projection_tracking WHERE view = ?", (new.tracking,))
    return position


def swap(db: Database, tx: Tx, new: View, live: View) -> None:
    """Puts the new tables (and their indexes) in the place of the live ones."""
    if db.postgres:
        # All at once, in the view's table order, which is also the order its reads take
        # them in: a reader holding one table can then never wait on the swap for another.
        names = ", ".join(live.t(table) for table in live.table_names())
        tx.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
    for table in live.table_names():
        tx.execute(f"DROP TABLE IF EXISTS {live.t(table)}")
    for table in new.table_names():
        tx.execute(f"ALTER TABLE {new.t(table)} RENAME TO {live.t(table)}")
    if db.postgres:
        # primary keys and indexes keep their names through a rename; give them the live ones
        for table in live.table_names():
            for (index,) in tx.all(
                "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = ?", (live.t(table),),
            ):
                if NEW in index:
                    tx.execute(f'ALTER INDEX "{index}" RENAME TO "{index.replace(NEW, "")}"')
    else:
        # SQLite cannot rename an index: make the live-named one afresh
        for (index, _), (_, create) in zip(new.index_ddl(NEW), live.index_ddl("")):
            tx.execute(f"DROP INDEX IF EXISTS {index}")
            tx.execute(create)


CHECK = "__check"


def differences_from_a_fresh_build(
    app: Application[Any], db: Database, view_class: type[View], *,
    batch_size: int = BATCH_SIZE,
) -> list[str]:
    """Builds the view afresh from the events beside the live one, up to the live view's
    position (held meanwhile), and names every table whose rows differ from the live
    one's; the fresh tables are dropped afterwards. An auditor's check that the read model
    is what the events make it."""
    fresh, live = view_class(CHECK), view_class()
    runner = Runner(app, db, [fresh], batch_size=batch_size)
    try:
        with db.tracked(live.tracking) as (tx, top):
            for table in fresh.table_names():
                tx.execute(f"DROP TABLE IF EXISTS {fresh.t(table)}")
            fresh.create(tx)
            position = 0
            while position < top:
                batch, position = runner.read(position, top)
                fresh.apply(tx, batch)
            differing = []
            for table in live.table_names():
                mine = Counter(map(tuple, tx.all(f"SELECT * FROM {live.t(table)}")))
                built = Counter(map(tuple, tx.all(f"SELECT * FROM {fresh.t(table)}")))
                if mine != built:
                    differing.append(f"{table}: {sum((mine - built).values())} rows not as "
                                     f"built, {sum((built - mine).values())} rows missing")
            for table in fresh.table_names():
                tx.execute(f"DROP TABLE IF EXISTS {fresh.t(table)}")
        return differing
    finally:
        runner.stop()
