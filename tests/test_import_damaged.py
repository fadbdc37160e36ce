"""Workbooks as other programs write them, damaged or not: a sheet whose declared size is
wrong imports every row it holds; a damaged part anywhere refuses the file with a reason
(never another error); a mapping whose delimiter is not one character is refused."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from test_import_files import good_rows, seed, write_xlsx

from ledger.domain.errors import InvalidInput
from ledger.imports import DonationImport, ImportRefused, Mapping

Change = Callable[[bytes], bytes]
SHEET = "xl/worksheets/sheet1.xml"


def _rewritten(path: Path, part: str | None, change: Change | None) -> Path:
    """The workbook with one part changed (or removed, when `change` is None)."""
    source = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == part:
                if change is None:
                    continue
                data = change(data)
            target.writestr(info, data)
    damaged = path.with_name(f"damaged-{path.name}")
    damaged.write_bytes(out.getvalue())
    return damaged


def _workbook(tmp_path: Path, ledger) -> Path:
    sponsor = seed(ledger)
    return write_xlsx(tmp_path / "sept.xlsx", good_rows(sponsor))


def test_a_sheet_declaring_a_wrong_size_still_imports_every_row(ledger, tmp_path):
    book = _workbook(tmp_path, ledger)
    wrong = _rewritten(book, SHEET, lambda d: re.sub(rb"<dimension ref=\"[^\"]*\"",
                                                     b'<dimension ref="A1:B2"', d)
                       if b"<dimension" in d else d.replace(
                           b"<sheetData>", b'<dimension ref="A1:B2"/><sheetData>', 1))
    outcome = DonationImport(ledger, actor="treasurer").run(wrong)
    assert outcome.check.rows == 3 and outcome.recorded == 3


@pytest.mark.parametrize(("part", "change"), [
    (SHEET, lambda d: d[: len(d) // 2]),                                  # cut in half
    (SHEET, None),                                                        # missing
    (SHEET, lambda d: re.sub(rb'r="A2"', b'r="ZZZZZZ2"', d, count=1)),    # no such column
    (SHEET, lambda d: re.sub(rb'<c r="E2".*?</c>', b'<c r="E2" t="n"><v>abc</v></c>', d,
                             count=1)),                                  # not a number
    ("xl/workbook.xml", lambda d: d[: len(d) // 2]),
    ("xl/styles.xml", lambda d: d[: len(d) // 3]),
    ("[Content_Types].xml", lambda d: d[: len(d) // 2]),
])
def test_a_damaged_workbook_is_refused_with_a_reason_and_records_nothing(
    ledger, tmp_path, part: str, change: Change | None,
):
    damaged = _rewritten(_workbook(tmp_path, ledger), part, change)
    before = ledger.recorder.max_notification_id()
    with pytest.raises(ImportRefused) as refused:
        DonationImport(ledger, actor="treasurer").run(damaged)
    assert any("XLSX" in e.reason for e in refused.value.check.errors)
    assert ledger.recorder.max_notification_id() == before


@pytest.mark.parametrize("delimiter", [5, None, [";"], "", ";;"])
def test_a_delimiter_that_is_not_one_character_is_refused(delimiter):
    with pytest.raises(InvalidInput, match="delimiter"):
        Mapping.from_data({"delimiter": delimiter})
