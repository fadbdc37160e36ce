"""The columns of a donations file, and the mapping that lets a bank's own export be used.

The ledger's columns (`COLUMNS`) are matched to the file's headers without regard to case,
surrounding spaces, or spaces versus underscores. A mapping renames them and fills in
columns the file lacks, as a JSON or TOML file:

    delimiter = ";"                # CSV only; "," by default (top-level keys come first)

    [columns]                      # ledger column = header in the bank's file
    amount = "Credit Amount"
    received_on = "Value Date"
    reference = "Transaction Ref"
    sponsor_name = "Remitter"

    [defaults]                     # a value for every row whose cell is empty or missing
    currency = "VND"
    method = "bank_transfer"
    sponsor_kind = "individual"

(the same as JSON: `{"columns": {...}, "defaults": {...}, "delimiter": ";"}`), or as
`--map amount="Credit Amount"` options on the command line.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable, Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.domain.errors import InvalidInput

#: Every column the ledger reads, with what it holds.
COLUMNS: dict[str, str] = {
    "fund": "the fund's code (or --fund for the whole file)",
    "sponsor_id": "the sponsor's id (UUID), or leave empty and give sponsor_name and sponsor_kind",
    "sponsor_name": "the sponsor's name; a sponsor new to the ledger is registered",
    "sponsor_kind": "individual, organization, family or clan",
    "amount": "the gift, a plain decimal string in major units of its currency (e.g. 1500000)",
    "currency": "the ISO 4217 currency of the amount (e.g. VND, EUR, JPY)",
    "credited": "what the bank credited, in the fund's currency (required for a foreign gift)",
    "received_on": "the date the money arrived (bank value date), YYYY-MM-DD",
    "method": "how it was paid, e.g. bank_transfer (at most 64 characters)",
    "reference": "the bank's reference of the transaction, unique in the file",
    "pledge_id": "the pledge (UUID) this gift pays towards (optional)",
    "id": "the donation's id (UUID), instead of one derived from fund and reference (optional)",
}

#: Columns that every row must fill (directly, through a default, or through --fund).
REQUIRED = ("fund", "amount", "currency", "received_on", "method")


def normalise(header: object) -> str:
    """A header as compared: case-folded, trimmed, inner spaces and dashes as underscores."""
    text = "" if header is None else str(header)
    return "_".join(text.strip().casefold().replace("-", " ").split())


@dataclass(frozen=True)
class Mapping:
    """How the file's headers name the ledger's columns, and defaults for missing cells."""

    #: ledger column → header in the file
    columns: dict[str, str] = field(default_factory=dict)
    #: ledger column → value used when the row's cell is empty or the column is absent
    defaults: dict[str, str] = field(default_factory=dict)
    delimiter: str = ","

    def __post_init__(self) -> None:
        for name in (*self.columns, *self.defaults):
            if name not in COLUMNS:
                raise InvalidInput("mapping", f"unknown column {name!r}; the columns are "
                                              f"{', '.join(COLUMNS)}")
        for name, value in (*self.columns.items(), *self.defaults.items()):
            if not isinstance(value, str):
                raise InvalidInput("mapping", f"the value for {name!r} must be text")
        if not isinstance(self.delimiter, str) or len(self.delimiter) != 1:
            raise InvalidInput("mapping", "delimiter must be one character")

    @classmethod
    def from_data(cls, data: MappingABC[str, Any]) -> Mapping:
        unknown = set(data) - {"columns", "defaults", "delimiter"}
        if unknown:
            raise InvalidInput("mapping", f"unknown keys {sorted(unknown)}; "
                                          "expected columns, defaults, delimiter")
        columns, defaults = data.get("columns", {}), data.get("defaults", {})
        if not isinstance(columns, dict) or not isinstance(defaults, dict):
            raise InvalidInput("mapping", "columns and defaults must be tables of text")
        return cls(dict(columns), dict(defaults), data.get("delimiter", ","))

    @classmethod
    def parse(cls, text: str, *, toml: bool = False) -> Mapping:
        """A mapping from its JSON (or TOML) text."""
        try:
            data = tomllib.loads(text) if toml else json.loads(text)
        except ValueError as e:
            raise InvalidInput("mapping", f"not valid {'TOML' if toml else 'JSON'}: {e}") \
                from None
        if not isinstance(data, dict):
            raise InvalidInput("mapping", "a mapping is an object with columns and defaults")
        return cls.from_data(data)

    @classmethod
    def load(cls, path: Path | str) -> Mapping:
        """A mapping from a .json or .toml file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidInput("mapping", f"cannot read {path.name}: {e}") from None
        return cls.parse(text, toml=path.suffix.lower() != ".json")

    def with_options(self, options: Iterable[str]) -> Mapping:
        """This mapping with `column=Header` options applied on top."""
        columns = dict(self.columns)
        for option in options:
            name, sep, header = option.partition("=")
            if not sep:
                raise InvalidInput("mapping", f"{option!r} is not column=Header")
            columns[name.strip()] = header.strip()
        return Mapping(columns, dict(self.defaults), self.delimiter)

    def locate(self, headers: list[object]) -> dict[str, int]:
        """Ledger column → index in the row, for the columns the header row holds."""
        found = {normalise(h): i for i, h in reversed(list(enumerate(headers)))}
        positions = {}
        for name in COLUMNS:
            header = normalise(self.columns.get(name, name))
            if header in found:
                positions[name] = found[header]
        return positions
