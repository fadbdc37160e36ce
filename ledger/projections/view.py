"""What every read model is: tables, a batch fold of fund events, and its reads.

A view folds a batch of events in memory: it loads the rows the batch touches, applies
the events in order with plain Python integers (never SQL arithmetic, which would turn an
overflowing SQLite integer into a float), and writes the rows back, all inside the one
transaction that also moves its tracking position. The same code serves SQLite and
PostgreSQL; only the database seam differs.

A view is built with a table suffix: the live view has none, a rebuild builds beside it
under `__new` and is swapped in (see `ledger.projections.rebuild`).
"""

from __future__ import annotations

import re
from operator import itemgetter
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, NamedTuple

from ledger.projections.database import Tx

#: what a view folds: (notification id, fund event, its type name, its fund id as text);
#: the runner works the last two out once per event for every view
Item = tuple[int, Any, str, str]

#: the names of a view's tables and indexes inside its DDL: {name}
_NAME = re.compile(r"\{(\w+)\}")


class View(ABC):
    """One read model: its tables (DDL with `{table}` names) and how events change them."""

    #: the view's name (tracking row, CLI argument)
    name: ClassVar[str]
    #: CREATE TABLE statements; `{table}` names get the view's suffix. Reads take the
    #: tables in this order (a rebuild's swap locks them in it).
    tables: ClassVar[Sequence[str]]
    #: CREATE INDEX statements; `{index}` and `{table}` names get the suffix
    indexes: ClassVar[Sequence[str]] = ()

    def __init__(self, suffix: str = "") -> None:
        self.suffix = suffix
        self.tracking = name_with(self.name, suffix)

    def t(self, table: str) -> str:
        """The physical name of one of the view's tables."""
        return table + self.suffix

    def _fill(self, ddl: str) -> str:
        return _NAME.sub(lambda m: m.group(1) + self.suffix, ddl)

    def ddl(self) -> list[str]:
        return [self._fill(s) for s in (*self.tables, *self.indexes)]

    def table_names(self) -> list[str]:
        """The logical names of the view's tables."""
        return [_NAME.search(s).group(1) for s in self.tables]  # type: ignore[union-attr]

    def index_ddl(self, suffix: str) -> list[tuple[str, str]]:
        """(index name, CREATE INDEX …) of each index, with names under `suffix`."""
        out = []
        for s in self.indexes:
            names = _NAME.findall(s)
            ddl = _NAME.sub(lambda m: m.group(1) + suffix, s)
            out.append((names[0] + suffix, ddl))
        return out

    def create(self, tx: Tx) -> None:
        for statement in self.ddl():
            tx.execute(statement)

    @abstractmethod
    def apply(self, tx: Tx, batch: Sequence[Item]) -> None:
        """Folds a batch of items (notification id, fund event, its type name, its fund
        id as text), in notification order, into the view's rows."""


def name_with(name: str, suffix: str) -> str:
    return name + suffix


class Rows(dict[Any, dict[str, Any]]):
    """Rows by key, remembering which were read from the table (the others are new)."""

    stored: set[Any] = frozenset()  # type: ignore[assignment]


def save(
    tx: Tx, table: str, columns: Sequence[str], keys: Sequence[str], rows: Rows,
    touched: Iterable[Any],
) -> None:
    """Writes the touched rows: those read from the table by upsert, new ones by a plain
    insert (cheaper for the database; exactly-once processing means they are new)."""
    touched = sorted(touched)
    upsert(tx, table, columns, keys, [rows[k] for k in touched if k in rows.stored])
    values = itemgetter(*columns)
    tx.write_rows(table, columns, [values(rows[k]) for k in touched if k not in rows.stored])


class Lookup(NamedTuple):
    """Rows of `table` whose columns `by` (a prefix of its primary key, so the lookup is
    an index lookup) match one of `values` (tuples, or plain values for one column), as
    mutable dicts by the columns `key` (default: `by`), a tuple for several columns."""

    table: str
    columns: Sequence[str]
    by: Sequence[str]
    values: Iterable[Any]
    key: Sequence[str] = ()


def load(
    tx: Tx,
    table: str,
    columns: Sequence[str],
    by: Sequence[str],
    values: Iterable[Any],
    key: Sequence[str] = (),
) -> Rows:
    """The rows of one `Lookup`."""
    return load_each(tx, Lookup(table, columns, by, values, key))[0]


def load_each(tx: Tx, *lookups: Lookup) -> list[Rows]:
    """The rows of each lookup, all asked at once (one round trip on PostgreSQL)."""
    asked = []
    for lookup in lookups:
        values = list(dict.fromkeys(lookup.values))
        if values:
            asked.append((lookup, values))
    found = iter(tx.select_in_each([
        (lookup.table, lookup.columns, lookup.by,
         values if len(lookup.by) > 1 else [(v,) for v in values])
        for lookup, values in asked
    ]))
    answered = {id(lookup): next(found) for lookup, _ in asked}
    out = []
    for lookup in lookups:
        rows = Rows()
        key = tuple(lookup.key or lookup.by)
        at = [lookup.columns.index(c) for c in key]
        for row in answered.get(id(lookup), ()):
            k = tuple(row[j] for j in at) if len(at) > 1 else row[at[0]]
            rows[k] = dict(zip(lookup.columns, row))
        rows.stored = set(rows)
        out.append(rows)
    return out


def upsert(
    tx: Tx, table: str, columns: Sequence[str], keys: Sequence[str], rows: Iterable[dict[str, Any]]
) -> None:
    """Inserts rows (dicts by column), replacing every non-key column of a row already there."""
    others = [c for c in columns if c not in keys]
    update = ", ".join(f"{c} = excluded.{c}" for c in others)
    action = f"DO UPDATE SET {update}" if others else "DO NOTHING"
    values = itemgetter(*columns)
    tx.write_rows(
        table, columns, [values(r) for r in rows], f"ON CONFLICT ({', '.join(keys)}) {action}"
    )


def kind(event: Any) -> str:
    """The event's type name: Opened, DonationReceived, …"""
    return type(event).__name__


def directory_ddl(table: str) -> str:
    """The DDL of a view's directory of funds: code and currency by fund id."""
    return (f"CREATE TABLE IF NOT EXISTS {{{table}}} (fund_id TEXT PRIMARY KEY,"
            " code TEXT NOT NULL, currency TEXT NOT NULL)")


def add_funds(tx: Tx, table: str, batch: Sequence[Item]) -> None:
    """Adds the funds that the batch opens to a view's directory of funds."""
    tx.write_rows(
        table, ("fund_id", "code", "currency"),
        [(fid, e.code, e.currency) for _, e, what, fid in batch if what == "Opened"],
    )


def find_fund(tx: Tx, table: str, code: str) -> tuple[str, str]:
    """(fund id, currency) of the fund with this code in a view's directory of funds."""
    from ledger.domain.errors import FundNotFound
    from ledger.domain.fund import Fund

    fund_id = str(Fund.id_for(code))
    found = tx.one(f"SELECT code, currency FROM {table} WHERE fund_id = ?", (fund_id,))
    if found is None or found[0] != code:
        raise FundNotFound(code)
    return fund_id, found[1]
