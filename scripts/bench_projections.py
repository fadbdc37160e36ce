"""Benchmark of the read models on PostgreSQL (or SQLite): raw read rate versus catch-up.

In one run, in a fresh schema: records N real fund events (domain commands on Fund
aggregates, saved through the application in large transactions), then measures, in
--rounds rounds that interleave the two so that other load on the machine weighs on both:

- raw: reading and decoding every stored fund event (the application's recorder and
  mapper, pages of --batch-size, the cyclic collector paused as the runner pauses it),
  the upper limit of any projection;
- catch-up: every read model built from zero over the same events by the runner
  (batches of the same size, each view's rows and tracking in one transaction per batch);

and prints each round, both medians and their ratio (target: catch-up >= 25% of raw).
Whether `python -O` is on is printed too (it drops the library's asserts, on both sides).

    .venv/bin/python scripts/bench_projections.py [--events 200000] [--rounds 3] [--profile]
    .venv/bin/python scripts/bench_projections.py --sqlite /tmp/bench.sqlite3
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import statistics
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
from ledger.projections.runner import (  # noqa: E402
    BATCH_SIZE,
    FUND_TOPICS,
    collector_paused,
)
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
                received = fund.pending_events[-1]
                donations.append(RecordedDonation.of(fund.code, vars(received),
                                                         received.effective_on))
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
    """Reads and decodes every stored fund event, as the runner does (pages of the
    application's recorder, its mapper, the cyclic collector paused); the count."""
    count, after = 0, 0
    to_event = app.mapper.to_domain_event
    with collector_paused:
        while True:
            page = app.recorder.select_notifications(after, batch_size, topics=FUND_TOPICS,
                                                     inclusive_of_start=False)
            for n in page:
                to_event(n)
            count += len(page)
            if len(page) < batch_size:
                return count
            after = page[-1].id


def drop_views(models: ReadModels) -> None:
    """Every view's tables and tracking row, so that the next catch-up starts from zero."""
    with models.db.transaction(immediate=True) as tx:
        for view in models.views:
            for table in view.table_names():
                tx.execute(f"DROP TABLE IF EXISTS {view.t(table)}")
        tx.execute("DELETE FROM projection_tracking")
    models.db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite", type=Path, metavar="FILE",
                        help="measure on a new SQLite file instead of PostgreSQL")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--funds", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE,
                        help="events per page of the raw read and per batch of the catch-up")
    parser.add_argument("--rounds", type=int, default=3,
                        help="raw read and catch-up, interleaved, this many times each")
    parser.add_argument("--profile", action="store_true", help="profile the last catch-up")
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--schema", help="measure the events of a kept schema again")
    args = parser.parse_args()

    schema = args.schema or f"bench_{uuid.uuid4().hex[:10]}"
    if args.sqlite:
        settings = Settings(sqlite_path=args.sqlite)
    else:
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
                  f" ({args.sqlite or f'schema {schema}'})")
        print(f"python -O: {'on' if sys.flags.optimize else 'off'}; pages and batches of"
              f" {args.batch_size} events; {args.rounds} rounds, raw read and catch-up"
              " interleaved")

        read_raw(app, args.batch_size)  # warm the server's cache, as the catch-up will find it
        raws, catch_ups = [], []
        for round_ in range(1, args.rounds + 1):
            t0 = time.perf_counter()
            count = read_raw(app, args.batch_size)
            raws.append(count / (time.perf_counter() - t0))

            models = ReadModels(app, settings, batch_size=args.batch_size)
            profiler = cProfile.Profile() if args.profile and round_ == args.rounds else None
            t0 = time.perf_counter()
            if profiler:
                profiler.enable()
            models.catch_up()
            if profiler:
                profiler.disable()
            catch_ups.append(count / (time.perf_counter() - t0))
            assert all(s["lag"] == 0 for s in models.status())
            print(f"round {round_}: raw read + decode {raws[-1]:9.0f} events/s,"
                  f" catch-up of {len(models.views)} views {catch_ups[-1]:9.0f} events/s"
                  f" ({catch_ups[-1] / raws[-1]:.1%})", flush=True)
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
            drop_views(models)

        raw, catch_up = statistics.median(raws), statistics.median(catch_ups)
        print(f"raw read + decode : {count} events, median {raw:9.0f} events/s")
        print(f"catch-up, 4 views : {count} events, median {catch_up:9.0f} events/s")
        print(f"ratio             : {catch_up / raw:.1%} (target >= 25%)")
    finally:
        app.close()
        if args.sqlite and not keep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
        elif not args.sqlite and not keep:
            with psycopg.connect(args.url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
