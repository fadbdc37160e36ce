#!/usr/bin/env python
"""Benchmark of the auditor's replay: one fund with many events (1,000,000 by default).

Prints, for the same stored rows of that fund:

- raw read: the rows read page by page (the replay's own query and pages), nothing decoded;
- replay: the fund's figures as of a date folded from those rows (`ledger.audit.replay`);
- Beancount: `beancount.loader.load_file` of a fund of the same kind exported by
  `ledger export beancount` (parse, booking, validation and the month-end assertions),
  100,000 events by default (`--beancount-size`: Beancount takes minutes per million),
  beside the replay of that same fund;
- optionally (`--domain`) the domain's own `Fund.replay` over library event objects;

and the ratios against the targets: replay ≥ 50% of the raw read rate, ≥ 10× Beancount's.

The fund is made fast: commands run on the `Fund` aggregate itself (so every event is
valid, chained and hashed by the domain), the library's mapper turns them into stored
events, and they are inserted in big batches — through the recorder on SQLite, with COPY
into the recorder's own table on PostgreSQL (the recorder's insert would take minutes).

    .venv/bin/python scripts/bench_audit.py --size 1000000 --db sqlite
    .venv/bin/python scripts/bench_audit.py --size 1000000 --db postgres
"""

from __future__ import annotations

import argparse
import gc
import random
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger.application import Ledger  # noqa: E402
from ledger.audit.beancount import write_beancount  # noqa: E402
from ledger.audit.replay import replay_figures  # noqa: E402
from ledger.audit.stored import StoredEvents  # noqa: E402
from ledger.domain.fund import Fund, RecordedDonation  # noqa: E402
from ledger.domain.money import Money  # noqa: E402
from ledger.settings import Settings  # noqa: E402
from ledger.storage import open_ledger  # noqa: E402

CODE = "BENCH"
START = date(2016, 1, 1)
YEARS = 10
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def generate(app: Ledger, size: int, postgres: bool, code: str = CODE, seed: int = 7) -> None:
    """A fund of `size` events: a school year's allocation each year, gifts (some
    backdated, some against pledges, a few reversed), awards, payments and returns."""
    rnd = random.Random(seed)
    sponsors = [str(uuid.UUID(app.register_sponsor(f"Sponsor {i}", "organization",
                                                   actor="bench").result["id"]))
                for i in range(40)]
    fund = Fund.open(code, "Benchmark fund", "VND", actor="bench", opened_on=START)
    ids = (str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in iter(int, 1))
    year_of = -1
    allocation = None
    awards: list[tuple[str, int]] = []
    paid: list[tuple[str, int]] = []
    donations: list[RecordedDonation] = []
    pledges: list[str] = []
    batch = 20_000
    copy = _copier(app) if postgres else None
    while fund.version < size:
        day = START + timedelta(days=fund.version * YEARS * 365 // size)
        if day.year != year_of and fund.available > 0:
            year_of = day.year
            allocation = next(ids)
            fund.allocate(allocation, f"{day.year}-{day.year + 1} school year",
                          Money(fund.available // 2, "VND"), actor="bench", allocated_on=day)
        else:
            r = rnd.random()
            remainder = fund.allocation_remainder(allocation) if allocation else 0
            if r < 0.07 and remainder > 1_000_000:
                award = next(ids)
                amount = rnd.randrange(500_000, min(5_000_000, remainder))
                fund.grant_award(award, allocation, {"name": "Student", "school": "School"},
                                 Money(amount, "VND"), actor="bench", granted_on=day)
                awards.append((award, amount))
            elif r < 0.14 and awards and fund.cash > 0:
                award, amount = awards.pop()
                amount = min(amount, fund.cash)
                fund.disburse(next(ids), award, Money(amount, "VND"), paid_on=day,
                              method="bank_transfer", actor="bench")
                paid.append((award, amount))
            elif r < 0.15 and paid:
                award, amount = paid.pop()
                fund.take_return(next(ids), award, Money(rnd.randrange(1, amount + 1), "VND"),
                                 "moved away", actor="bench", returned_on=day)
            elif r < 0.16 and donations:
                donation = donations.pop()
                if donation.credited_minor <= fund.available:
                    fund.reverse_donation(donation.donation_id, donation, "bounced",
                                          actor="bench", reversed_on=day)
            elif r < 0.18:
                pledge = next(ids)
                fund.make_pledge(pledge, rnd.choice(sponsors), Money(10_000_000, "VND"), [],
                                 actor="bench", pledged_on=day)
                pledges.append(pledge)
            else:
                backdated = day - timedelta(days=30) if r > 0.98 else day
                pledge = pledges[-1] if pledges and r > 0.9 else None
                sponsor = fund.pledges[pledge]["sponsor"] if pledge else rnd.choice(sponsors)
                donation = next(ids)
                fund.receive_donation(donation, sponsor,
                                      Money(rnd.randrange(100, 50_000) * 1000, "VND"), None,
                                      received_on=max(backdated, START), method="bank_transfer",
                                      reference="FT", pledge_id=pledge, actor="bench")
                if len(donations) < 1000:
                    received = fund.pending_events[-1]
                    donations.append(RecordedDonation.of(fund.code, vars(received),
                                                             received.effective_on))
        if len(fund.pending_events) >= batch:
            _store(app, fund, copy)
    _store(app, fund, copy)


def _store(app: Ledger, fund: Fund, copy) -> None:  # noqa: ANN001
    stored = [app.mapper.to_stored_event(e) for e in fund.collect_events()]
    if copy is None:
        app.recorder.insert_events(stored)
    else:
        copy(stored)


def _copier(app: Ledger):  # noqa: ANN202
    ds = app.recorder.datastore
    table = f'"{ds.schema}"."{app.recorder.events_table_name}"'

    def copy(stored) -> None:  # noqa: ANN001
        with ds.get_connection() as conn, conn.transaction(), conn.cursor() as cur:
            with cur.copy(f"COPY {table} (originator_id, originator_version, topic, state)"
                          " FROM STDIN") as c:
                for e in stored:
                    c.write_row((e.originator_id, e.originator_version, e.topic, e.state))

    return copy


def best(runs: int, work):  # noqa: ANN001, ANN201
    times, result = [], None
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - t)
    return min(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="events in the fund")
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--postgres-url", default=PG_URL)
    parser.add_argument("--runs", type=int, default=3, help="timed runs (best is kept)")
    parser.add_argument("--beancount-size", type=int, default=100_000,
                        help="events of the fund exported to Beancount (its load is slow)")
    parser.add_argument("--no-beancount", action="store_true", help="skip Beancount")
    parser.add_argument("--domain", action="store_true",
                        help="also time Fund.replay over library event objects")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite and Beancount "
                                                            "files (printed)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_audit_"))
    schema = None
    if args.db == "postgres":
        import psycopg

        schema = f"bench_audit_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        settings = Settings(database_url=args.postgres_url, postgres_schema=schema)
    else:
        settings = Settings(database_url=None, sqlite_path=work / "bench.sqlite3")
    app = open_ledger(settings)
    try:
        t = time.perf_counter()
        generate(app, args.size, postgres=schema is not None)
        made = time.perf_counter() - t
        n = args.size
        print(f"{args.db}: fund {CODE} with {n:,} events made and stored in {made:.1f} s "
              f"({n / made:,.0f} events/s)")
        fund_id = Fund.id_for(CODE)
        as_of = START + timedelta(days=YEARS * 365 // 2)

        raw_s, count = best(args.runs, lambda: sum(1 for _ in StoredEvents(app).fund_rows(
            fund_id)))
        assert count == n, count
        mid_s, figures = best(args.runs, lambda: replay_figures(app, CODE, as_of))
        all_s, _ = best(args.runs, lambda: replay_figures(app, CODE))
        rows = [("raw read of the rows", n, raw_s), (f"replay as of {as_of}", n, mid_s),
                ("replay of every event", n, all_s)]
        if args.domain:
            domain_s, domain = best(1, lambda: app.figures_as_of(CODE, as_of))
            assert {k: m.minor for k, m in domain["figures"].items()} == figures.minor()
            rows.append(("Fund.replay (library events)", n, domain_s))
        bean = None
        if not args.no_beancount:
            k = min(n, args.beancount_size)
            generate(app, k, postgres=schema is not None, code="BEAN")
            k_all_s, _ = best(args.runs, lambda: replay_figures(app, "BEAN"))
            path = work / "books.beancount"
            t = time.perf_counter()
            with path.open("w", encoding="utf-8") as out:
                writer = write_beancount(app, out, ["BEAN"])
            exported = time.perf_counter() - t
            print(f"fund BEAN of {k:,} events exported to Beancount: {writer.transactions:,} "
                  f"transactions and {writer.assertions:,} balance assertions in "
                  f"{exported:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
            from beancount import loader

            loader.initialize(use_cache=False)  # a cold load, every time
            gc.collect()
            t = time.perf_counter()
            entries, errors, _ = loader.load_file(str(path))
            bean_s = time.perf_counter() - t
            print(f"Beancount loaded {len(entries):,} entries with {len(errors)} errors")
            del entries
            rows += [(f"replay of every event (BEAN)", k, k_all_s),
                     ("Beancount load of BEAN's books", k, bean_s)]
            bean = (k / k_all_s, k / bean_s)
        print(f"\n{'':34} {'events':>10} {'seconds':>9} {'events/s':>12}")
        for name, m, s in rows:
            print(f"{name:34} {m:10,} {s:9.2f} {m / s:12,.0f}")
        print(f"\nreplay as of a date / raw read:  {raw_s / mid_s:6.1%}   (target ≥ 50%)")
        print(f"replay of everything / raw read: {raw_s / all_s:6.1%}")
        if bean:
            print(f"replay / Beancount load (BEAN):  {bean[0] / bean[1]:6.1f}×   (target ≥ 10×)")
            print(f"replay of {CODE} / Beancount:    {n / mid_s / bean[1]:6.1f}×")
        print(f"figures of {CODE} as of {as_of}: cash {figures.money()['cash']}, "
              f"available {figures.money()['available']}")
    finally:
        app.close()
        if args.keep:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
        if schema:
            import psycopg

            with psycopg.connect(args.postgres_url, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
