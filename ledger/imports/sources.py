"""Reading a donations file row by row: CSV in UTF-8 (with or without BOM) or XLSX.

A `Source` can be read more than once (the import checks every row, then records them)
and never holds more than one row in memory. Cells come out as text: XLSX numbers and
dates are turned into the text a person sees, formulas stay formulas (`=...`) so that
the import can refuse them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, datetime, time
from pathlib import Path
from typing import IO

from ledger.domain.errors import InvalidInput

_ZIP_MAGIC = b"PK\x03\x04"


class Unreadable(InvalidInput):
    """The file cannot be read as a table from this line on."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__("file", reason)
        self.line = line


class Source:
    """A CSV or XLSX file, given as a path or a seekable binary file object."""

    def __init__(self, file: Path | str | IO[bytes], *, delimiter: str = ",") -> None:
        self._file = file
        self.delimiter = delimiter

    def _open(self) -> IO[bytes]:
        if isinstance(self._file, (str, Path)):
            return open(self._file, "rb")
        self._file.seek(0)
        return self._file

    def _close(self, handle: IO[bytes]) -> None:
        if isinstance(self._file, (str, Path)):
            handle.close()

    def is_workbook(self) -> bool:
        """Whether the file is an XLSX workbook (else it is read as CSV)."""
        handle = self._open()
        try:
            return _is_workbook(handle)
        finally:
            self._close(handle)

    def rows(self) -> Iterator[tuple[int, list[str]]]:
        """(line number, cells as text) for every row, the header row first (line 1).
        Raises Unreadable when the file cannot be read as a table."""
        handle = self._open()
        try:
            if _is_workbook(handle):
                yield from _xlsx_rows(handle)
            else:
                yield from _csv_rows(handle, self.delimiter)
        finally:
            self._close(handle)


def _is_workbook(handle: IO[bytes]) -> bool:
    """Whether the file starts as a ZIP archive (an XLSX workbook); read from the start."""
    workbook = handle.read(4) == _ZIP_MAGIC
    handle.seek(0)
    return workbook


def _csv_rows(handle: IO[bytes], delimiter: str) -> Iterator[tuple[int, list[str]]]:
    physical = [0]

    def lines() -> Iterator[str]:
        # Decoded line by line (a UTF-8 character never spans a newline), so that a bad
        # byte is reported on its own line.
        for raw in handle:
            physical[0] += 1
            if physical[0] == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                raise Unreadable(physical[0], "not UTF-8 text; save the file as CSV UTF-8") \
                    from None

    reader = csv.reader(lines(), delimiter=delimiter, strict=True)
    start = 1
    try:
        for cells in reader:
            yield start, cells
            start = physical[0] + 1
    except csv.Error as e:
        raise Unreadable(start, f"not well-formed CSV: {e}") from None


def _xlsx_rows(handle: IO[bytes]) -> Iterator[tuple[int, list[str]]]:
    from openpyxl import load_workbook

    try:
        # data_only=False: a formula cell reads as its formula, so it can be refused
        workbook = load_workbook(handle, read_only=True, data_only=False)
    except Exception as e:  # noqa: BLE001 - openpyxl reports a damaged file in many ways
        raise Unreadable(1, f"not a readable XLSX workbook: {type(e).__name__}: {e}"
                         ) from None
    line = 0
    try:
        sheet = workbook.worksheets[0]
        # read-only sheets trust the size the file declares, which some programs get
        # wrong: rows past it would be dropped without a word
        sheet.reset_dimensions()
        for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield line, [cell_text(v) for v in values]
    except Exception as e:  # noqa: BLE001 - a read-only sheet is parsed as it is read:
        # a damaged part (XML, shared strings, cell values) surfaces here, as anything
        raise Unreadable(line + 1, f"not a readable XLSX workbook: {type(e).__name__}: {e}"
                         ) from None
    finally:
        workbook.close()


def cell_text(value: object) -> str:
    """An XLSX cell's value as the text a person sees in it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # The workbook stores decimal text; openpyxl hands back a float. Its shortest
        # round-trip repr is that text for up to 15 significant digits, so money is read
        # exactly (and e.g. '1e+16' is then refused as not a plain decimal).
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
