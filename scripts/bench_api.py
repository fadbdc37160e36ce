#!/usr/bin/env python
"""Benchmark of the HTTP API's write path on PostgreSQL, against two limits of the machine.

Starts `ledger serve` on a fresh PostgreSQL schema and measures, in one run:

1. the rate at which that server answers `GET /healthz` (the HTTP stack's own ceiling),
   closed loop with many connections;
2. the raw PostgreSQL one-row-per-transaction insert rate (psycopg, autocommit INSERTs
   from several connections at once);
3. an open-loop load of donations over HTTP at rising rates: requests are sent on a fixed
   schedule whatever the server does, and each latency is measured from the request's
   scheduled time (so a slow server cannot slow the load down and hide its queue); its
   keep-alive connections are opened before the first rate and kept across rates, as a
   client's pool keeps them (more are opened whenever a rate needs them).

It prints p50/p99 per rate, the highest rate held with p99 ≤ 100 ms and no error, and that
rate's ratio to both limits. With `--cpu` (Linux), the /healthz line and each rate's line
also give the CPU time per request spent, over the step, by the server's event loop (its
main thread), the server's other threads (the donation writer, the listeners; the
projection runner when the server keeps the views in its threads), the views process of
`ledger serve` (PostgreSQL), every PostgreSQL process, and this load generator, read from
/proc; and, for each rate, the highest rate those costs leave room for: every part
together on the machine's cores, and the server process, whose threads share one GIL, on
one core. Usage:

    .venv/bin/python scripts/bench_api.py [--seconds 5] [--rates 50,100,200,...] [--funds 20]
                                          [--cpu]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg

from ledger.settings import Settings
from ledger.users import open_users

DEFAULT_URL = os.environ.get("LEDGER_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
P99_LIMIT_MS = 100.0
#: connections opened before the first rate (more open as a rate needs them)
WARM = 64


# ---- a small HTTP/1.1 keep-alive client (light enough not to be the bottleneck) ----------


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(host, port)
        writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, method: str, path: str, headers: dict[str, str],
                      body: bytes = b"") -> tuple[int, bytes]:
        head = [f"{method} {path} HTTP/1.1", "Host: bench"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            head.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Connections opened on demand (up to `size`); a request waits for a free one."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self.idle: list[Connection] = []
        self.slots = asyncio.Semaphore(size)

    async def request(self, *args) -> tuple[int, bytes]:
        async with self.slots:
            reused = bool(self.idle)
            conn = self.idle.pop() if reused else await Connection.open(self.host, self.port)
            try:
                answer = await conn.request(*args)
            except ConnectionError:
                conn.close()
                if not reused:
                    raise
                # the server closed a connection idle past its keep-alive timeout before
                # reading the request: send it again on a new one, as HTTP clients do (a
                # write carries its id, so even a resent write is recorded once)
                conn = await Connection.open(self.host, self.port)
                answer = await conn.request(*args)
            except BaseException:
                conn.close()
                raise
            self.idle.append(conn)
            return answer

    def close(self) -> None:
        for conn in self.idle:
            conn.close()


# ---- the measurements ----------------------------------------------------------------


async def healthz_rate(host: str, port: int, seconds: float,
                       connections: int = 32) -> tuple[float, int]:
    """Closed loop: every connection sends /healthz again as soon as it is answered.
    (Requests per second, requests answered.)"""
    done = 0
    stop = time.perf_counter() + seconds

    async def loop() -> None:
        nonlocal done
        conn = await Connection.open(host, port)
        while time.perf_counter() < stop:
            status, _ = await conn.request("GET", "/healthz", {})
            assert status == 200
            done += 1
        conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(loop() for _ in range(connections)))
    return done / (time.perf_counter() - started), done


def insert_rate(url: str, schema: str, seconds: float, connections: int) -> float:
    """Raw PostgreSQL: one INSERT per transaction (autocommit), from several connections."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE TABLE "{schema}".bench_rows (id BIGSERIAL PRIMARY KEY, '
                     "fund TEXT NOT NULL, data TEXT NOT NULL)")
    counts = [0] * connections
    stop = time.perf_counter() + seconds

    def work(i: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while time.perf_counter() < stop:
                conn.execute(f'INSERT INTO "{schema}".bench_rows (fund, data) VALUES (%s, %s)',
                             ("F", '{"amount_minor": 1000}'))
                counts[i] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - started)


async def open_loop(pool: Pool, key: str, sponsor: str, funds: list[str],
                    rate: float, seconds: float) -> dict:
    """Donations sent on a fixed schedule; latency from each request's scheduled time."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    count = int(rate * seconds)
    latencies: list[float] = []
    errors: dict[int | str, int] = {}

    async def one(i: int, scheduled: float) -> None:
        body = json.dumps({
            "id": str(uuid.uuid4()), "sponsor_id": sponsor,
            "amount": {"amount": "150000", "currency": "VND"}, "received_on": "2025-09-01",
            "method": "bank_transfer"}).encode()
        try:
            status, _ = await pool.request("POST", f"/v1/funds/{funds[i % len(funds)]}/donations",
                                           headers, body)
        except (OSError, ConnectionError, asyncio.IncompleteReadError) as e:
            status = type(e).__name__
        latencies.append((time.perf_counter() - scheduled) * 1000)
        if status != 201:
            errors[status] = errors.get(status, 0) + 1

    start = time.perf_counter() + 0.05
    tasks = []
    for i in range(count):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, scheduled)))
    await asyncio.gather(*tasks)
    latencies.sort()
    return {"rate": rate, "sent": count, "p50": latencies[len(latencies) // 2],
            "p99": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
            "errors": errors,
            "achieved": count / (time.perf_counter() - start)}


# ---- CPU time, from /proc (Linux) ----------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_cpu(path: str) -> float:
    """utime + stime, in seconds, of a /proc/…/stat file (0 if it is gone)."""
    try:
        with open(path) as f:
            fields = f.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _processes() -> list[tuple[int, int, str]]:
    """(pid, parent pid, name) of every process."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    head, _, tail = f.read().rpartition(")")
            except OSError:
                continue
            found.append((int(entry), int(tail.split()[1]), head.partition("(")[2]))
    return found


def _is_views_process(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"projections" in f.read()
    except OSError:
        return False


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    """CPU seconds so far: the server's main thread (its event loop), the rest of the server
    (its other threads, and any worker processes), the views process, PostgreSQL, this
    process."""
    processes = _processes()
    children = [pid for pid, parent, _ in processes if parent == server_pid]
    views = [pid for pid in children if _is_views_process(pid)]
    server = [server_pid] + [pid for pid in children if pid not in views]
    loop = _stat_cpu(f"/proc/{server_pid}/task/{server_pid}/stat")
    return {
        "loop": loop,
        "server threads": sum(_stat_cpu(f"/proc/{pid}/stat") for pid in server) - loop,
        "views process": sum(_stat_cpu(f"/proc/{pid}/stat") for pid in views),
        "PostgreSQL": sum(_stat_cpu(f"/proc/{pid}/stat")
                          for pid, _, name in processes if name.startswith("postgres")),
        "client": _stat_cpu("/proc/self/stat"),
    }


def cpu_per_request(before: dict[str, float], after: dict[str, float],
                    count: int) -> dict[str, float]:
    """CPU ms per request of each part, between two snapshots."""
    # (never below 0: a thread and its process are read a moment apart, in clock ticks)
    return {name: max(0.0, after[name] - before[name]) / count * 1000 for name in before}


def shown(costs: dict[str, float]) -> str:
    return ", ".join(f"{name} {ms:.2f}" for name, ms in costs.items())


def ceiling(costs: dict[str, float], healthz: float) -> str:
    """The highest donation rate these CPU costs leave room for: all parts together on the
    machine's cores, and the server process (its loop and its threads share one GIL) on
    one core; and that rate's ratio to /healthz."""
    cores = os.cpu_count() or 1
    server = costs["loop"] + costs["server threads"]
    rate = min(cores * 1000 / sum(costs.values()), 1000 / server)
    return (f"at these costs {cores} cores hold at most {rate:.0f}/s "
            f"= {rate / healthz:.2f} x /healthz (all parts {sum(costs.values()):.2f} ms, "
            f"the server process {server:.2f} ms)")


# ---- the run -------------------------------------------------------------------------


def _loop_factory():  # noqa: ANN202 - an event loop's factory, or None for asyncio's own
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="PostgreSQL URL")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds per rate step")
    parser.add_argument("--rates", default="50,100,200,300,400,500,600,800,1000,1200,1500,2000",
                        help="donations per second to try, rising")
    parser.add_argument("--funds", type=int, default=20, help="funds the donations spread over")
    parser.add_argument("--all", action="store_true",
                        help="try every rate, also after one fails (to see the curve)")
    parser.add_argument("--env", action="append", default=[], metavar="LEDGER_X=V",
                        help="a setting of the server (e.g. to study one cost at a time)")
    parser.add_argument("--workers", type=int, default=1,
                        help="server processes (`ledger serve --workers`)")
    parser.add_argument("--cpu", action="store_true",
                        help="CPU ms per donation of each part, per rate (Linux /proc)")
    parser.add_argument("--pg-connections", type=int, default=8,
                        help="connections of the raw insert measurement")
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    settings = Settings(database_url=args.url, postgres_schema=schema)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATABASE_URL=args.url, LEDGER_POSTGRES_SCHEMA=schema)
    env.update(dict(kv.split("=", 1) for kv in args.env))
    port = free_port()
    log = Path(f"/tmp/{schema}.log")
    server = None
    try:
        users = open_users(settings)
        key = users.add("bench", "treasurer")
        users.close()
        with log.open("w") as sink:
            server = subprocess.Popen(
                [str(Path(sys.executable).with_name("ledger")), "serve", "--port", str(port),
                 "--workers", str(args.workers)],
                env=env, stdout=sink, stderr=subprocess.STDOUT)
        # the load generator on uvloop (as the server is, through uvicorn): it shares the
        # machine's cores with what it measures, so the less it spends the better
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run(args, port, key, schema, server))
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


async def run(args, port: int, key: str, schema: str, server) -> None:
    host = "127.0.0.1"
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = await Connection.open(host, port)
            status, _ = await conn.request("GET", "/healthz", {})
            conn.close()
            if status == 200:
                break
        except OSError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("ledger serve did not start")
        await asyncio.sleep(0.2)

    pool = Pool(host, port, 4)
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    status, body = await pool.request("POST", "/v1/sponsors", auth,
                                      b'{"name": "Bench bank", "kind": "organization"}')
    sponsor = json.loads(body)["id"]
    funds = [f"BENCH{i}" for i in range(args.funds)]
    for code in funds:
        await pool.request("POST", "/v1/funds", auth,
                           json.dumps({"code": code, "name": code}).encode())
    pool.close()

    before = cpu_snapshot(server.pid) if args.cpu else None
    healthz, answered = await healthz_rate(host, port, args.seconds)
    print(f"GET /healthz, closed loop, 32 connections: {healthz:8.0f} requests/s", flush=True)
    if before is not None:
        print(f"{'':8} CPU ms per request: "
              f"{shown(cpu_per_request(before, cpu_snapshot(server.pid), answered))}")
    pg = await asyncio.to_thread(insert_rate, args.url, schema, args.seconds,
                                 args.pg_connections)
    print(f"PostgreSQL one-row INSERT per transaction, {args.pg_connections} connections: "
          f"{pg:8.0f} rows/s", flush=True)
    # The donations' connections, opened before the first rate and kept across rates, as
    # a client's pool keeps them: a fresh pool per rate opened dozens at once as each rate
    # began, and those first requests' latencies were the burst's, not the rate's.
    pool = Pool(host, port, size=512)
    await asyncio.gather(*(pool.request("GET", "/healthz", {}) for _ in range(WARM)))
    # warm the server's caches of funds and sponsor
    await open_loop(pool, key, sponsor, funds, 50, 1)

    print(f"\nPOST /v1/funds/{{code}}/donations, open loop over {args.funds} funds, "
          f"{args.seconds:g} s per rate")
    print(f"{'rate/s':>8} {'sent':>6} {'p50 ms':>8} {'p99 ms':>8}  errors")
    best = None
    for rate in [float(r) for r in args.rates.split(",")]:
        before = cpu_snapshot(server.pid) if args.cpu else None
        step = await open_loop(pool, key, sponsor, funds, rate, args.seconds)
        print(f"{rate:8.0f} {step['sent']:6d} {step['p50']:8.1f} {step['p99']:8.1f}  "
              f"{step['errors'] or '-'}", flush=True)
        if before is not None:
            costs = cpu_per_request(before, cpu_snapshot(server.pid), step["sent"])
            print(f"{'':8} CPU ms per donation: {shown(costs)}", flush=True)
            print(f"{'':8} {ceiling(costs, healthz)}", flush=True)
        if step["p99"] > P99_LIMIT_MS or step["errors"]:
            if not args.all:
                break
        elif best is None or rate > best:
            best = rate
    pool.close()
    print()
    if best is None:
        print("no rate held p99 <= 100 ms without errors")
        return
    print(f"highest write rate held with p99 <= {P99_LIMIT_MS:g} ms and no error: {best:.0f}/s")
    print(f"  = {best / healthz:.2f} x the /healthz rate ({healthz:.0f}/s; target >= 0.5)")
    print(f"  = {best / pg:.2f} x the raw PostgreSQL insert rate ({pg:.0f}/s)")


if __name__ == "__main__":
    main()
