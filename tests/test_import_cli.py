"""`ledger import donations` run as the real command in a subprocess, on SQLite and
PostgreSQL: the text report of a bad file, a re-run, and a run killed with SIGKILL mid-way
that a second run completes with exactly one copy of every row."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

import psycopg
import pytest
from test_import_files import donations, good_rows, seed, write_csv

from ledger.settings import Settings
from ledger.storage import open_ledger

LEDGER = str(Path(sys.executable).with_name("ledger"))


def environment(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    if settings.database_url:
        env.update(LEDGER_DATABASE_URL=settings.database_url,
                   LEDGER_POSTGRES_SCHEMA=settings.postgres_schema)
    else:
        env["LEDGER_SQLITE_PATH"] = str(settings.sqlite_path)
    return env


def run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LEDGER, "import", "donations", *args, "--actor", "treasurer"],
                          env=environment(settings), capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(name="seeded")
def _seeded(durable_settings: Settings) -> tuple[Settings, str]:
    """A durable store with funds TT and PN and one sponsor, whose id it gives."""
    ledger = open_ledger(durable_settings)
    sponsor = seed(ledger)
    ledger.close()
    return durable_settings, str(sponsor)


def test_the_command_imports_a_file_then_says_a_rerun_recorded_nothing(seeded, tmp_path):
    settings, sponsor = seeded
    path = write_csv(tmp_path / "sept.csv", good_rows(sponsor))
    first = run(settings, str(path))
    assert first.returncode == 0, first.stderr
    assert "recorded 3 donations" in first.stdout
    second = run(settings, str(path))
    assert second.returncode == 0, second.stderr
    assert "all 3 donations were already recorded; nothing new recorded" in second.stdout


def test_the_command_lists_every_bad_row_and_records_nothing(seeded, tmp_path):
    settings, sponsor = seeded
    rows = good_rows(sponsor)
    rows[1][4] = "2OO000"          # letters O for zeros
    rows[2][7] = "2025-13-01"
    path = write_csv(tmp_path / "bad.csv", rows)
    result = run(settings, str(path))
    assert result.returncode == 1
    assert "line 3, column amount: '2OO000' is not a plain decimal string" in result.stderr
    assert "line 4, column received_on: 2025-13-01 is not a date that exists" in result.stderr
    assert "refused: 2 errors in 2 rows; nothing was recorded" in result.stderr
    ledger = open_ledger(settings)
    assert donations(ledger, "TT") == [] and donations(ledger, "PN") == []
    ledger.close()


def test_a_mapping_file_and_map_options_rename_a_banks_headers(seeded, tmp_path):
    settings, sponsor = seeded
    mapping = tmp_path / "bank.json"
    mapping.write_text('{"columns": {"amount": "So tien"}, '
                       '"defaults": {"currency": "VND", "method": "bank_transfer"}}')
    path = write_csv(tmp_path / "bank.csv", [[sponsor, "500000", "2025-09-01", "FT1"]],
                     ["Ma nha tai tro", "So tien", "Ngay", "So but toan"])
    result = run(settings, str(path), "--fund", "TT", "--mapping", str(mapping),
                 "--map", "sponsor_id=Ma nha tai tro", "--map", "received_on=Ngay",
                 "--map", "reference=So but toan")
    assert result.returncode == 0, result.stderr
    assert "recorded 1 donations" in result.stdout


def count_events(settings: Settings) -> int:
    """Events stored, read with plain SQL: opening the application would run its table
    creation statements, which PostgreSQL refuses to run beside the importer's."""
    if settings.database_url:
        with psycopg.connect(settings.database_url) as conn:
            row = conn.execute(f'SELECT count(*) FROM "{settings.postgres_schema}"'
                               ".ledger_events").fetchone()
    else:
        with closing(sqlite3.connect(settings.sqlite_path, timeout=10)) as conn:
            row = conn.execute("SELECT count(*) FROM stored_events").fetchone()
    return row[0] if row else 0


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_an_import_killed_mid_way_is_completed_by_a_rerun_without_duplicates(
        seeded, tmp_path, workers):
    settings, sponsor = seeded
    total = 6000
    rows = [[("TT", "PN")[i % 2], sponsor, "", "", str(1000 + i), "VND", "", "2025-09-01",
             "bank_transfer", f"FT{i:06d}"] for i in range(total)]
    path = write_csv(tmp_path / "big.csv", rows)
    start = count_events(settings)
    batch = 200
    process = subprocess.Popen(
        [LEDGER, "import", "donations", str(path), "--batch-size", str(batch), "--quiet",
         "--workers", str(workers)],
        env=environment(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # wait until a few batches (a donation and a receipt per row) are committed
        deadline = time.monotonic() + 90
        while count_events(settings) < start + 2 * 3 * batch:
            assert process.poll() is None, "the import ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
    finally:
        process.kill()
        process.communicate()
    # the workers died with the command: nothing more is recorded
    stopped = count_events(settings)
    time.sleep(1.5)
    assert count_events(settings) == stopped
    ledger = open_ledger(settings)
    partial = len(donations(ledger, "TT")) + len(donations(ledger, "PN"))
    ledger.close()
    assert 3 * batch <= partial < total
    assert partial % batch == 0  # whole batches only

    rerun = run(settings, str(path), "--batch-size", str(batch), "--quiet",
                "--workers", str(workers))
    assert rerun.returncode == 0, rerun.stderr
    assert f"recorded {total - partial} donations; {partial} were already recorded" \
        in rerun.stdout
    ledger = open_ledger(settings)
    recorded = donations(ledger, "TT") + donations(ledger, "PN")
    assert len(recorded) == total
    assert Counter(e.reference for e in recorded).most_common(1)[0][1] == 1
    expected = sum(1000 + i for i in range(total) if i % 2 == 0)
    assert ledger.figures("TT")["received_total"].minor == expected
    ledger.close()
