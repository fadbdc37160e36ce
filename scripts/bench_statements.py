#!/usr/bin/env python
"""Benchmark: every sponsor's annual statement, as PDF and as XLSX files.

Builds a year of activity for N sponsors (default 1,000) across a number of VND funds
through the application (each sponsor pledges to one or two funds in instalments and
gives a few times; each fund allocates two rounds, grants awards and pays them), then
times `ledger statements --all`'s work: reading each fund's events once, building every
sponsor's statement, and writing one file per sponsor with a pool of processes. Prints
statements per second for each format.

    .venv/bin/python scripts/bench_statements.py                  # 1,000 sponsors
    .venv/bin/python scripts/bench_statements.py --sponsors 100 --jobs 1
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

from ledger.application import Ledger
from ledger.domain.money import Money
from ledger.settings import Settings
from ledger.statements.batch import write_statements
from ledger.statements.books import read_books
from ledger.statements.build import StatementBuilder
from ledger.storage import open_ledger

YEAR = (date(2024, 9, 1), date(2025, 8, 31))
FAMILY = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Phan", "Võ", "Đặng", "Bùi", "Đỗ"]
MIDDLE = ["Thị", "Văn", "Minh", "Ngọc", "Đức", "Thanh"]
GIVEN = ["Lan", "Hùng", "Mai", "An", "Bình", "Hà", "Khoa", "Linh", "Nhi", "Phúc", "Tâm"]
SCHOOLS = ["Trường THPT Lê Quý Đôn", "Trường THPT Phan Châu Trinh", "Trường THCS Nguyễn Huệ",
           "Trường THPT Hòa Vang", "Trường Cao đẳng Nghề Đà Nẵng"]
CATEGORIES = ["nghèo vượt khó", "học sinh giỏi", "dân tộc thiểu số", "mồ côi"]


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


def populate(app: Ledger, sponsors: int, funds: int, awards: int, seed: int) -> int:
    """A school year of activity; returns the number of writes."""
    rng = random.Random(seed)
    start = YEAR[0]
    writes = 0
    codes = [f"F{n:02d}" for n in range(funds)]
    for code in codes:
        app.open_fund(code, f"Quỹ khuyến học {code}", actor="bench",
                      opened_on=start - timedelta(days=10))
        writes += 1
    for n in range(sponsors):
        name = f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)} {n}"
        sponsor = UUID(app.register_sponsor(name, "individual", actor="bench").result["id"])
        writes += 1
        for code in rng.sample(codes, rng.choice([1, 1, 2])):
            total = rng.randint(4, 40) * 1_000_000
            parts = rng.choice([1, 2, 4])
            dues = [start + timedelta(days=15 + 90 * i) for i in range(parts)]
            schedule = [(d, vnd(total // parts)) for d in dues]
            pledge = UUID(app.make_pledge(code, sponsor, vnd(total // parts * parts), schedule,
                                          actor="bench", pledged_on=start).result["id"])
            writes += 1
            for d, amount in schedule:
                if rng.random() < 0.85:
                    app.record_donation(code, sponsor, amount, received_on=d - timedelta(days=3),
                                        method="bank_transfer", reference=f"FT{n:05d}",
                                        pledge_id=pledge, actor="bench")
                    writes += 1
            for _ in range(rng.randint(0, 3)):
                app.record_donation(code, sponsor, vnd(rng.randint(1, 20) * 100_000),
                                    received_on=start + timedelta(days=rng.randrange(365)),
                                    method="cash", actor="bench")
                writes += 1
    for code in codes:
        available = app.figures(code)["available"].minor
        for r, on in enumerate([start + timedelta(days=45), start + timedelta(days=200)], 1):
            each = 2_000_000
            count = min(awards // 2, available // 2 // each)
            if not count:
                continue
            round_ = UUID(app.allocate(code, f"Năm học 2024-2025 — đợt {r}", vnd(count * each),
                                       actor="bench", allocated_on=on).result["id"])
            writes += 1
            for s in range(count):
                recipient = {"name": f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} "
                                     f"{rng.choice(GIVEN)}",
                             "school": rng.choice(SCHOOLS), "category": rng.choice(CATEGORIES)}
                award = UUID(app.grant_award(code, round_, recipient, vnd(each), actor="bench",
                                             granted_on=on + timedelta(days=5)).result["id"])
                app.disburse_award(code, award, vnd(each), paid_on=on + timedelta(days=12),
                                   method="bank_transfer", actor="bench")
                writes += 2
    return writes


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the pool's workers): unlike
    the wall time, it does not depend on what else the machine is running."""
    own, children = (resource.getrusage(w) for w in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sponsors", type=int, default=1000)
    parser.add_argument("--funds", type=int, default=12)
    parser.add_argument("--awards", type=int, default=60, help="awards per fund in the year")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="processes writing files (default: every core)")
    parser.add_argument("--formats", default="pdf,xlsx")
    parser.add_argument("--lang", default="vi", choices=["vi", "en"])
    parser.add_argument("--out", type=Path, help="keep the files in this folder")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()

    app = open_ledger(Settings(database_url="memory:"))
    t = time.perf_counter()
    writes = populate(app, args.sponsors, args.funds, args.awards, args.seed)
    print(f"setup: {writes} writes ({app.recorder.max_notification_id()} events) for "
          f"{args.sponsors} sponsors in {args.funds} funds, {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    books = read_books(app)
    builder = StatementBuilder(books, *YEAR)
    sponsors = [app.sponsor(UUID(s)) for s in builder.sponsor_ids()]
    statements = [builder.build(s) for s in sponsors]
    elapsed = time.perf_counter() - t
    lines = sum(len(f.gifts) + len(f.pledges) + len(f.activity.awards)
                for s in statements for f in s.funds)
    print(f"read + build: {len(statements)} statements ({lines} lines) in {elapsed:.2f} s "
          f"= {len(statements) / elapsed:,.0f} statements/s")

    folder = args.out or Path(tempfile.mkdtemp(prefix="bench-statements-"))
    try:
        for fmt in args.formats.split(","):
            target = folder / fmt
            builder = StatementBuilder(books, *YEAR)
            cpu = _cpu_seconds()
            t = time.perf_counter()
            report = write_statements(builder, sponsors, fmt, args.lang, target,  # type: ignore[arg-type]
                                      jobs=args.jobs)
            elapsed = time.perf_counter() - t
            cpu = _cpu_seconds() - cpu
            size = sum(p.stat().st_size for p in report.written)
            done = len(report.written)
            print(f"{fmt}: {done} files ({size / 1e6:.1f} MB) in {elapsed:.1f} s with "
                  f"{args.jobs} process(es) = {done / elapsed:,.1f} statements/s; "
                  f"{cpu:.1f} CPU s ({cpu / max(done, 1) * 1000:.0f} ms per statement); "
                  f"{len(report.failures)} failed")
            if report.failures:
                print(f"  first failure: {report.failures[0]}", file=sys.stderr)
    finally:
        if args.out is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
