"""Finding the rows of a long file that repeat an earlier row's key, in flat memory.

The keys (16-byte donation ids) go to a temporary SQLite file rather than a Python set,
so a million-row file costs a few tens of megabytes of disk, not of memory.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator

_FLUSH_EVERY = 20_000


class Repeats:
    """Keys seen in a stream, with the line of each; answers the lines whose key came
    before. Use as a context manager: the temporary file is removed on exit."""

    def __init__(self) -> None:
        handle, self._path = tempfile.mkstemp(prefix="ledger-import-", suffix=".sqlite3")
        os.close(handle)
        self._db = sqlite3.connect(self._path)
        self._db.executescript(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-8000;"
            "PRAGMA temp_store=FILE;"
            "CREATE TABLE seen (key BLOB NOT NULL, line INTEGER NOT NULL, col TEXT NOT NULL);"
        )
        self._pending: list[tuple[bytes, int, str]] = []

    def add(self, key: bytes, line: int, column: str) -> None:
        self._pending.append((key, line, column))
        if len(self._pending) >= _FLUSH_EVERY:
            self._flush()

    def _flush(self) -> None:
        self._db.executemany("INSERT INTO seen VALUES (?, ?, ?)", self._pending)
        self._pending.clear()

    def repeated(self) -> Iterator[tuple[int, str, int]]:
        """(line, column, first line with the same key) for every repeat, in line order."""
        self._flush()
        self._db.execute("CREATE INDEX seen_key ON seen (key, line)")
        yield from self._db.execute(
            "SELECT s.line, s.col, f.first FROM seen s JOIN ("
            "  SELECT key, min(line) AS first FROM seen GROUP BY key HAVING count(*) > 1"
            ") f ON s.key = f.key WHERE s.line > f.first ORDER BY s.line"
        )

    def close(self) -> None:
        self._db.close()
        os.unlink(self._path)

    def __enter__(self) -> Repeats:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
