"""The rows the check pass found good, kept on disk for the recording pass.

Recording reads them back instead of reading and checking the file a second time: a
temporary file of pickled batches, so memory holds one batch whatever the file's size.
Each row is pickled as a tuple of plain values (ids as 16 bytes, the date as its day
number): pickling the row objects themselves (dataclasses, UUIDs, Money, date) was a
large part of the check pass in a profile.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from datetime import date
from functools import lru_cache
from typing import Any
from uuid import UUID

from ledger.domain.money import Money
from ledger.imports.rows import DonationRow

_BATCH = 1000


class Stash:
    """Rows in the order added; iterate to read them back. Use as a context manager: the
    temporary file is removed on exit."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="ledger-import-")
        self._pending: list[tuple[Any, ...]] = []
        self.count = 0

    def add(self, row: DonationRow) -> None:
        self._pending.append(_pack(row))
        self.count += 1
        if len(self._pending) >= _BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            pickle.dump(self._pending, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._pending = []

    def __iter__(self) -> Iterator[DonationRow]:
        self._flush()
        self._file.seek(0)
        while True:
            try:
                batch = pickle.load(self._file)  # noqa: S301 - a file this process wrote
            except EOFError:
                return
            for packed in batch:
                yield _unpack(packed)

    def __enter__(self) -> Stash:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._file.close()


def _pack(row: DonationRow) -> tuple[Any, ...]:
    return (row.line, row.fund, row.donation_id.bytes, row.sponsor_id.bytes, row.new_sponsor,
            row.amount.minor, row.amount.currency, row.credited, row.received_on.toordinal(),
            row.method, row.reference, row.pledge_id.bytes if row.pledge_id else None)


def _unpack(packed: tuple[Any, ...]) -> DonationRow:
    (line, fund, donation_id, sponsor_id, new_sponsor, minor, currency, credited, day,
     method, reference, pledge_id) = packed
    return DonationRow(line, fund, UUID(bytes=donation_id), _sponsor(sponsor_id),
                       new_sponsor, _money(minor, currency), credited, date.fromordinal(day),
                       method, reference, UUID(bytes=pledge_id) if pledge_id else None)


# A file names its sponsors and amounts many times over (a donation id only once): one
# immutable object serves every row that names the same.
_money = lru_cache(maxsize=4096)(Money)


@lru_cache(maxsize=4096)
def _sponsor(packed: bytes) -> UUID:
    return UUID(bytes=packed)
