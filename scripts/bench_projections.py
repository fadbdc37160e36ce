"""Benchmark of the read models on PostgreSQL: raw read rate versus catch-up rate.

In one run, in a fresh schema: records N real fund events (domain commands on Fund
aggregates, saved through the application in large transactions), then measures

- raw: reading and decoding every stored fund event (the application's recorder and
  mapper, pages of --batch-size), the upper limit of any projection;
- catch-up: every read model built from zero over the same events by the runner
  (same pages, each view's rows and tracking in one transaction per page);

and prints both rates and their ratio (target: catch-up >= 25% of raw).

    .venv/bin/python scripts/bench_projections.py [--events 200000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.domain.fund import Fund, RecordedDonation  # noqa: E402
from ledger.domain.money import Money  # noqa: E402
from ledger.projections import ReadModels  # noqa: E402
from ledger.projections.runner import FUND_TOPICS  # noqa: E402
from ledger.settings import Settings  # noqa: E402
from ledger.storage import open_ledger  # noqa: E402

START = date(2024, 1, 1)


def record_events(app, total: int, funds: int, seed: int = 1) -> int:  # noqa: ANN001
    """Records about `total` real fund events: donations (some on pledges, some foreign),
    allocations, awards, disbursements, returns, reversals, spread over `funds` funds."""
    rng = random.Random(seed)
    per_fund = total // funds
    written = 0
    for f in range(funds):
        fund = Fund.open(f"BENCH-{f}", f"Bench fund {f}", "VND", actor="bench",
                         opened_on=START)
        sponsors = [str(uuid.uuid4()) for _ in range(50)]
        pledges: list[tuple[str, str]] = []
        donations: list[RecordedDonation] = []
        awards: list[str] = []
        allocation = None
        for i in range(per_fund - 1):
            on = START + timedelta(days=i % 700)
            choice = rng.random()
            vnd = Money(rng.randrange(1, 5_000) * 1000, "VND")
            if choice < 0.05:
                pledge = str(uuid.uuid4())
                sponsor = rng.choice(sponsors)
                fund.make_pledge(pledge, sponsor, vnd, [(on, vnd)], actor="bench", pledged_on=on)
                pledges.append((pledge, sponsor))
            elif choice < 0.55 or allocation is None:
                pledge, sponsor = rng.choice(pledges) if pledges and choice < 0.2 else (
                    None, rng.choice(sponsors))
                donation = str(uuid.uuid4())
                fund.receive_donation(donation, sponsor, vnd, None, received_on=on,
                                      method="bank_transfer", pledge_id=pledge, actor="bench")
                donations.append(RecordedDonation.of(fund.code, fund.pending_events[-1]))
                if allocation is None and fund.available > 50_000_000:
                    allocation = str(uuid.uuid4())
                    fund.allocate(allocation, "round", Money(50_000_000, "VND"), actor="bench",
                                  allocated_on=on)
            elif choice < 0.6 and donations:
                donation = donations.pop(rng.randrange(len(donations)))
                if donation.credited_minor <= fund.available:
                    fund.reverse_donation(donation.donation_id, donation, "bounced",
                                          actor="bench", reversed_on=on)
                else:
                    fund.receive_donation(str(uuid.uuid4()), rng.choice(sponsors), vnd, None,
                                          received_on=on, method="cash", actor="bench")
            elif choice < 0.75:
                amount = Money(rng.randrange(1, 50) * 10_000, "VND")
                if fund.allocation_remainder(allocation) < amount.minor:
                    allocation = str(uuid.uuid4())
                    fund.allocate(allocation, f"round {i}", Money(min(50_000_000, fund.available),
                                  "VND"), actor="bench", allocated_on=on)
                else:
                    award = str(uuid.uuid4())
                    fund.grant_award(award, allocation, {"name": f"Student {i}",
                                     "school": f"School {i % 30}", "category": "merit"},
                                     amount, actor="bench", granted_on=on)
                    awards.append(award)
            elif awards:
                award = rng.choice(awards)
                remainder = fund.award_remainder(award)
                if remainder > 0 and remainder <= fund.cash:
                    fund.disburse(str(uuid.uuid4()), award, Money(remainder, "VND"), paid_on=on,
                                  method="cash", actor="bench")
                elif fund.awards[award]["disbursed"] > fund.awards[award]["returned"]:
                    fund.take_return(str(uuid.uuid4()), award, Money(1, "VND"), "change",
                                     actor="bench", returned_on=on)
                else:
                    fund.receive_donation(str(uuid.uuid4()), rng.choice(sponsors), vnd, None,
                                          received_on=on, method="cash", actor="bench")
            else:
                fund.receive_donation(str(uuid.uuid4()), rng.choice(sponsors), vnd, None,
                                      received_on=on, method="cash", actor="bench")
            if len(fund.pending_events) >= 5000:
                written += len(fund.pending_events)
                app.save(fund)
        written += len(fund.pending_events)
        app.save(fund)
    return written


def read_raw(app, batch_size: int) -> int:  # noqa: ANN001
    """Reads and decodes every stored fund event, as the runner does; the count."""
    count, after = 0, 0
    to_event = app.mapper.to_domain_event
    while True:
        page = app.recorder.select_notifications(after, batch_size, topics=FUND_TOPICS,
                                                 inclusive_of_start=False)
        for n in page:
            to_event(n)
        count += len(page)
        if len(page) < batch_size:
            return count
        after = page[-1].id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--funds", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="profile the catch-up")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--schema", help="measure the events of a kept schema again")
    args = parser.parse_args()

    schema = args.schema or f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        if args.schema:  # start the views from zero again
            tables = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s"
                " AND tablename NOT LIKE 'ledger_%%'", (schema,)).fetchall()
            for (table,) in tables:
                conn.execute(f'DROP TABLE "{schema}"."{table}"')
        else:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    settings = Settings(database_url=args.url, postgres_schema=schema)
    app = open_ledger(settings)
    keep = args.keep or bool(args.schema)
    try:
        if not args.schema:
            t0 = time.perf_counter()
            written = record_events(app, args.events, args.funds)
            print(f"recorded {written} fund events in {time.perf_counter() - t0:.1f} s"
                  f" (schema {schema})")

        read_raw(app, args.batch_size)  # warm the server's cache, as the catch-up will find it
        t0 = time.perf_counter()
        count = read_raw(app, args.batch_size)
        raw_seconds = time.perf_counter() - t0
        raw = count / raw_seconds

        models = ReadModels(app, settings, batch_size=args.batch_size)
        profiler = cProfile.Profile() if args.profile else None
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        models.catch_up()
        if profiler:
            profiler.disable()
        catch_up_seconds = time.perf_counter() - t0
        catch_up = count / catch_up_seconds
        assert all(s["lag"] == 0 for s in models.status())

        print(f"raw read + decode : {count} events in {raw_seconds:6.2f} s = {raw:9.0f} events/s")
        print(f"catch-up, {len(models.views)} views: {count} events in {catch_up_seconds:6.2f} s"
              f" = {catch_up:9.0f} events/s")
        print(f"ratio             : {catch_up / raw:.1%} (target >= 25%)")
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
        models.db.close()
    finally:
        app.close()
        if not keep:
            with psycopg.connect(args.url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
