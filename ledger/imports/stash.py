"""The rows the check pass found good, kept on disk for the recording pass.

Recording reads them back instead of reading and checking the file a second time: a
temporary file of pickled batches, so memory holds one batch whatever the file's size.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import Any

from ledger.imports.rows import DonationRow

_BATCH = 1000


class Stash:
    """Rows in the order added; iterate to read them back. Use as a context manager: the
    temporary file is removed on exit."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="ledger-import-")
        self._pending: list[DonationRow] = []
        self.count = 0

    def add(self, row: DonationRow) -> None:
        self._pending.append(row)
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
            yield from batch

    def __enter__(self) -> Stash:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._file.close()
