#!/usr/bin/env python
"""Benchmark of `ledger import donations` into PostgreSQL, beside a raw COPY of the same rows.

For each size given (rows of a generated bank CSV), in a fresh schema of its own:

1. the real command `ledger import donations FILE --quiet` runs in a child process (both
   passes: check every row, then record in batches), timed; its peak memory (max RSS) is
   read from the kernel's accounting of that child (`os.wait4`);
2. the same rows, shaped as stored events (fund id, version, event topic, JSON state), are
   written with one `COPY` into a table built like the ledger's events table (same columns,
   indexes and constraints), timed from reading the CSV to the commit.

It prints rows/s of both, their ratio (target ≥ 0.25) and the import's peak RSS per size,
and the time and peak RSS of the first pass alone (`--dry-run`), which is the importer's
own footprint. Both stay flat as the file grows: a fund keeps no entry per donation, and
the import holds one batch of rows at a time.

    .venv/bin/python scripts/bench_import.py 100000 1000000
    .venv/bin/python scripts/bench_import.py 20000 --optimize   # children run python -O

Measured on 2026-11-29, third session (2 cores, PostgreSQL 15 local; 10 funds, 500
sponsors, batches of 1000; the command used two worker processes, as it does for a CSV
file of 1 MiB or more on PostgreSQL):

         rows  import rows/s  COPY rows/s  ratio  import peak RSS  check-only peak RSS
      100,000         19,104       75,815  0.252           64 MiB              60 MiB
    1,000,000         20,640       75,873  0.272           71 MiB              71 MiB

The target (≥ 0.25) is reached for the million rows (0.276 in another run that hour, and
0.250-0.295 in three later runs on a noisier machine; the previous session's code,
c7b4765, gave 0.229 in the same hour as the table). Per donation the import
stores two events (the donation and its receipt, which makes the id exactly-once) against
COPY's one, by COPY too (`LedgerPostgresRecorder`, for inserts of 100 events or more).
Two workers and PostgreSQL share the two cores, so what limits it is the Python per row:
the check pass is about a third of it; recording a batch is storing its events (JSON and
COPY), the fund's command (hash chain, `mutate`) and the receipts (fingerprint, answer).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.domain.fund import Fund  # noqa: E402
from ledger.settings import Settings  # noqa: E402
from ledger.storage import open_ledger  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
HEADER = ["fund", "sponsor_id", "amount", "currency", "received_on", "method", "reference"]
TOPIC = "ledger.domain.fund:Fund.DonationReceived"


def generate(path: Path, rows: int, funds: list[str], sponsors: list[str]) -> None:
    """A bank export: gifts spread over the funds and sponsors, unique references."""
    rng = random.Random(rows)
    with path.open("w", newline="", encoding="utf-8") as f:
        f.write("\ufeff")
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            out.writerow([funds[i % len(funds)], rng.choice(sponsors),
                          str(rng.randrange(1, 500) * 10_000), "VND",
                          f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}", "bank_transfer",
                          f"FT{i:010d}"])


def seed(settings: Settings, funds: int, sponsors: int) -> tuple[list[str], list[str]]:
    ledger = open_ledger(settings)
    try:
        codes = [f"F{n:03d}" for n in range(funds)]
        for code in codes:
            ledger.open_fund(code, f"Benchmark fund {code}", actor="bench")
        ids = [ledger.register_sponsor(f"Sponsor {n}", "individual", actor="bench")
               .result["id"] for n in range(sponsors)]
        return codes, ids
    finally:
        ledger.close()


def run_import(settings: Settings, path: Path, batch_size: int, optimize: bool,
               *options: str) -> tuple[float, int, str]:
    """Seconds, peak RSS in KiB and the output of the real command in a child process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATABASE_URL=settings.database_url or "",
               LEDGER_POSTGRES_SCHEMA=settings.postgres_schema)
    if optimize:
        env["PYTHONOPTIMIZE"] = "1"
    command = [str(Path(sys.executable).with_name("ledger")), "import", "donations", str(path),
               "--quiet", "--batch-size", str(batch_size), "--actor", "bench", *options]
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        child = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode(errors="replace").strip()
    if child.returncode != 0:
        raise SystemExit(f"the import failed ({child.returncode}):\n{text}")
    return seconds, usage.ru_maxrss, text


def raw_copy(url: str, schema: str, path: Path) -> float:
    """Seconds to read the CSV and COPY its rows, shaped as stored events, in one go."""
    versions: dict[str, int] = {}
    fund_ids: dict[str, uuid.UUID] = {}
    started = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        cur.execute(f'SET search_path TO "{schema}"')
        cur.execute("CREATE TABLE copy_events (LIKE ledger_events INCLUDING ALL)")
        with path.open(newline="", encoding="utf-8-sig") as f, cur.copy(
            "COPY copy_events (originator_id, originator_version, topic, state) FROM STDIN"
        ) as copy:
            rows = csv.reader(f)
            next(rows)
            for fund, sponsor, amount, currency, received_on, method, reference in rows:
                fund_id = fund_ids.get(fund) or fund_ids.setdefault(fund, Fund.id_for(fund))
                version = versions[fund] = versions.get(fund, 1) + 1
                state = json.dumps({
                    "donation_id": str(uuid.uuid5(fund_id, reference)), "sponsor_id": sponsor,
                    "amount_minor": int(amount), "amount_currency": currency,
                    "credited_minor": int(amount), "method": method, "reference": reference,
                    "pledge_id": None, "effective_on": received_on, "actor": "bench",
                    "timestamp": {"_type_": "datetime_iso", "_data_": "2025-01-01T00:00:00"},
                }, separators=(",", ":")).encode()
                copy.write_row((fund_id, version, TOPIC, state))
        conn.commit()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sizes", nargs="+", type=int, help="rows of each file, e.g. 100000")
    parser.add_argument("--url", default=os.environ.get("LEDGER_TEST_POSTGRES_URL",
                                                        DEFAULT_URL))
    parser.add_argument("--funds", type=int, default=10)
    parser.add_argument("--sponsors", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--optimize", action="store_true",
                        help="run the import with python -O (PYTHONOPTIMIZE=1)")
    parser.add_argument("--keep", action="store_true", help="keep the schemas")
    args = parser.parse_args()

    print(f"{'rows':>9} {'import s':>9} {'import rows/s':>14} {'COPY s':>8} "
          f"{'COPY rows/s':>12} {'ratio':>6} {'import peak RSS':>16} "
          f"{'check-only s':>13} {'check-only RSS':>15}")
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        for size in args.sizes:
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(args.url, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
            try:
                settings = Settings(database_url=args.url, postgres_schema=schema)
                funds, sponsors = seed(settings, args.funds, args.sponsors)
                path = Path(tmp) / f"donations-{size}.csv"
                generate(path, size, funds, sponsors)
                # the first pass alone (--dry-run): what the importer itself holds
                check_seconds, check_kib, _ = run_import(settings, path, args.batch_size,
                                                         args.optimize, "--dry-run")
                seconds, rss_kib, output = run_import(settings, path, args.batch_size,
                                                      args.optimize)
                if f"recorded {size} donations" not in output:
                    raise SystemExit(f"unexpected output of the import: {output}")
                copy_seconds = raw_copy(args.url, schema, path)
                import_rate, copy_rate = size / seconds, size / copy_seconds
                print(f"{size:>9} {seconds:>9.1f} {import_rate:>14,.0f} {copy_seconds:>8.1f} "
                      f"{copy_rate:>12,.0f} {import_rate / copy_rate:>6.3f} "
                      f"{rss_kib / 1024:>12.0f} MiB {check_seconds:>13.1f} "
                      f"{check_kib / 1024:>11.0f} MiB", flush=True)
                path.unlink()
            finally:
                if not args.keep:
                    with psycopg.connect(args.url, autocommit=True) as conn:
                        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
