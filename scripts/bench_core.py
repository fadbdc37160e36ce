"""Benchmark of the write path on PostgreSQL; prints figures, asserts nothing.

In one run, in a fresh schema:
 (1) raw psycopg inserts of rows shaped like the stored events, one row per transaction —
     the machine's limit;
 (2) donations recorded through the application, one per transaction;
 (3) the same after the fund already holds 100,000 events (loaded from its snapshot, as a
     freshly started process would).
The phases run interleaved in blocks, so that load from elsewhere weighs on all alike.
Prints events/s for each and the ratios (targets: (2)/(1) ≥ 0.4, (3)/(2) ≥ 0.9).

    .venv/bin/python scripts/bench_core.py [--n 3000] [--history 100000] [--url postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from datetime import date

import psycopg

from ledger.application import Ledger
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.settings import Settings
from ledger.storage import open_ledger

D = date(2025, 9, 1)


class RawInserts:
    """Rows like stored events into a table like the event table, one per transaction."""

    def __init__(self, url: str, schema: str, state: bytes) -> None:
        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(
            f'CREATE TABLE "{schema}".raw_events (originator_id uuid NOT NULL, '
            "originator_version bigint NOT NULL, topic text, state bytea, "
            "notification_id bigserial, PRIMARY KEY (originator_id, originator_version))"
        )
        self.conn.execute(f'CREATE UNIQUE INDEX ON "{schema}".raw_events (notification_id)')
        self.stmt = (f'INSERT INTO "{schema}".raw_events (originator_id, originator_version, '
                     "topic, state) VALUES (%s, %s, %s, %s) RETURNING notification_id")
        self.fund_id, self.version, self.state = uuid.uuid4(), 0, state

    def run(self, n: int) -> float:
        """Seconds taken by `n` inserts."""
        topic = "ledger.domain.fund:Fund.DonationReceived"
        started = time.perf_counter()
        for _ in range(n):
            self.version += 1
            self.conn.execute(self.stmt, (self.fund_id, self.version, topic, self.state),
                              prepare=True)
        return time.perf_counter() - started


def donations(ledger: Ledger, code: str, sponsor: uuid.UUID, n: int) -> float:
    """Seconds taken by `n` donations through the application, one command (and one
    transaction) each."""
    started = time.perf_counter()
    for _ in range(n):
        ledger.record_donation(code, sponsor, Money(150_000, "VND"), received_on=D,
                               method="bank_transfer", reference="FT25090100001", actor="bench")
    return time.perf_counter() - started


def grow_history(settings: Settings, code: str, sponsor: uuid.UUID, events: int) -> None:
    """Gives the fund `events` more real donation events, saved a thousand at a time."""
    ledger = open_ledger(settings)
    fund_id = Fund.id_for(code)
    done = 0
    fund = ledger.repository.get(fund_id)
    while done < events:
        before = fund.version
        for _ in range(min(1000, events - done)):
            fund.receive_donation(str(uuid.uuid4()), str(sponsor), Money(150_000, "VND"), None,
                                  received_on=D, method="bank_transfer", actor="bench")
            done += 1
        ledger.save(fund)
        ledger._snapshot(fund, before)  # noqa: SLF001 - as a command's save would
    ledger.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="writes measured per phase")
    parser.add_argument("--history", type=int, default=100_000, help="events before phase 3")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved blocks per phase")
    parser.add_argument("--url", default=os.environ.get(
        "LEDGER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        sync = conn.execute("SHOW synchronous_commit").fetchone()[0]
    settings = Settings(database_url=args.url, postgres_schema=schema)
    try:
        setup = open_ledger(settings)
        setup.open_fund("BENCH", "Benchmark fund", actor="bench")
        setup.open_fund("LONG", "Benchmark fund with a long history", actor="bench")
        sponsor = uuid.UUID(setup.register_sponsor("Bench sponsor", "organization",
                                                   actor="bench").result["id"])
        setup.record_donation("BENCH", sponsor, Money(1, "VND"), received_on=D, method="x",
                              actor="bench")
        sample = setup.recorder.select_events(Fund.id_for("BENCH"), gt=1)[0].state
        setup.close()

        started = time.perf_counter()
        grow_history(settings, "LONG", sponsor, args.history)
        grown_in = time.perf_counter() - started
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
        # The three phases run interleaved, a block each in turn, so that whatever else the
        # machine does weighs on all three alike. Each fund is loaded once (its first block
        # pays for reading the snapshot, as a freshly started process would).
        raw_phase, ledger = RawInserts(args.url, schema, sample), open_ledger(settings)
        seconds = {"raw": 0.0, "fresh": 0.0, "long": 0.0}
        block = max(1, args.n // args.rounds)
        for _ in range(args.rounds):
            seconds["raw"] += raw_phase.run(block)
            seconds["fresh"] += donations(ledger, "BENCH", sponsor, block)
            seconds["long"] += donations(ledger, "LONG", sponsor, block)
        ledger.close()
        raw_phase.conn.close()
        measured = block * args.rounds
        raw, fresh, long = (measured / seconds[k] for k in ("raw", "fresh", "long"))
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')

    print(f"PostgreSQL synchronous_commit={sync}; {measured} writes per phase in "
          f"{args.rounds} interleaved blocks; "
          f"stored event state {len(sample)} bytes")
    print(f"(1) raw psycopg insert, one row per transaction : {raw:8.0f} events/s")
    print(f"(2) donations through the application           : {fresh:8.0f} donations/s")
    print(f"(3) the same with {args.history:,} events in the fund  : {long:8.0f} donations/s"
          f"   (history built in {grown_in:.0f} s)")
    print(f"(2)/(1) = {fresh / raw:.2f}   (target ≥ 0.4)")
    print(f"(3)/(2) = {long / fresh:.2f}   (target ≥ 0.9)")


if __name__ == "__main__":
    main()
