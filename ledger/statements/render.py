"""One entry to every format: a statement's bytes, media type and file name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Literal

from ledger.statements.formatting import Lang
from ledger.statements.model import Statement

Format = Literal["json", "csv", "xlsx", "pdf"]
FORMATS: tuple[Format, ...] = ("json", "csv", "xlsx", "pdf")

MEDIA_TYPES: dict[str, str] = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def render(statement: Statement, fmt: Format, lang: Lang) -> bytes:
    """The statement in a format (JSON is language-neutral: ISO dates, decimal strings)."""
    return _renderer(fmt)(statement, lang)


def _renderer(fmt: str) -> Callable[[Statement, Lang], bytes]:
    # imported on demand: a JSON answer need not load openpyxl or fpdf2
    if fmt == "json":
        return lambda statement, lang: statement.model_dump_json(by_alias=True).encode()
    if fmt == "csv":
        from ledger.statements.csvfile import render_csv

        return render_csv
    if fmt == "xlsx":
        from ledger.statements.xlsxfile import render_xlsx

        return render_xlsx
    if fmt == "pdf":
        from ledger.statements.pdffile import render_pdf

        return render_pdf
    raise ValueError(f"unknown statement format {fmt!r}")


def file_name(statement: Statement, fmt: str) -> str:
    """`statement_<sponsor-slug>_<from>_<to>_<id8>.<fmt>`: ASCII, safe on every system."""
    period = statement.period
    return (f"statement_{slug(statement.sponsor.name)}_{period.from_.isoformat()}_"
            f"{period.to.isoformat()}_{statement.sponsor.id[:8]}.{fmt}")


def slug(text: str) -> str:
    """'Nguyễn clan of Hòa Vang' → 'nguyen-clan-of-hoa-vang' (at most 60 characters)."""
    text = text.replace("Đ", "D").replace("đ", "d")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:60].strip("-") or "sponsor"
