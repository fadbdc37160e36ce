"""Bulk import of donations from bank statement files (CSV or XLSX), all rows or none.

A file is read twice, row by row (by two worker processes, each with its own funds, for a
large CSV file: `parallel`): a first pass checks every row and keeps only small keys
(the donation ids, on disk, to find repeats), a second pass records the rows in atomic
batches. Each row's donation id derives from its fund and bank reference (or an explicit
id), so importing a file again, or again after a crash, records only what is missing.
"""

from ledger.imports.importer import (
    ONE_TRANSACTION, Check, DonationImport, ImportRefused, Outcome,
)
from ledger.imports.mapping import COLUMNS, Mapping
from ledger.imports.rows import RowError

__all__ = [
    "COLUMNS", "ONE_TRANSACTION", "Check", "DonationImport", "ImportRefused", "Mapping",
    "Outcome", "RowError",
]
