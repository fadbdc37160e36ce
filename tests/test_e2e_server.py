"""End to end: `ledger serve` as its own process on 127.0.0.1 against PostgreSQL, with
users made by `ledger users add`, a revocation that takes effect while it runs, and the
JSON log it writes: one line per request, no student's personal data."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ledger.settings import Settings

pytestmark = pytest.mark.postgres

LEDGER = str(Path(sys.executable).with_name("ledger"))
STUDENT, SCHOOL = "Nguyen Thi Lan", "Truong THPT Le Quy Don"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(name="env")
def _env(pg_settings: Settings, tmp_path) -> dict[str, str]:
    """The environment of `ledger` commands on a fresh PostgreSQL schema."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    env.update(LEDGER_DATABASE_URL=pg_settings.database_url or "",
               LEDGER_POSTGRES_SCHEMA=pg_settings.postgres_schema)
    return env


def ledger(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([LEDGER, *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(name="server")
def _server(env, tmp_path):
    """`ledger serve` on a free loopback port; yields its base URL and its log file."""
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        process = subprocess.Popen([LEDGER, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                   env=env, stdout=sink, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield base, log
    finally:
        process.terminate()
        process.wait(20)


def test_the_served_api_records_reads_revokes_and_logs_one_clean_line_per_request(
        env, server):
    key = ledger(env, "users", "add", "Tran Thi Mai", "--role", "treasurer").splitlines()[-1]
    base, log = server
    assert httpx.get(f"{base}/healthz").json() == {"status": "ok", "database": "postgresql"}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}) as http:
        assert http.post("/v1/funds", json={"code": "TT", "name": "Thien Tam"}).status_code == 201
        sponsor = http.post("/v1/sponsors", json={"name": "Agribank",
                                                  "kind": "organization"}).json()["id"]
        gift = {"sponsor_id": sponsor, "amount": {"amount": "5000000", "currency": "VND"},
                "received_on": "2025-09-01", "method": "bank_transfer"}
        assert http.post("/v1/funds/TT/donations", json=gift).status_code == 201
        allocation = http.post("/v1/funds/TT/allocations", json={
            "name": "2025-2026", "amount": {"amount": "2000000", "currency": "VND"}}).json()["id"]
        award = http.post("/v1/funds/TT/awards", json={
            "allocation_id": allocation, "amount": {"amount": "1000000", "currency": "VND"},
            "recipient": {"name": STUDENT, "school": SCHOOL, "grade": "11"}})
        assert award.status_code == 201
        # a write is visible to the next read
        fund = http.get("/v1/funds/TT").json()
        assert fund["figures"]["available"] == {"amount": "3000000", "currency": "VND"}
        head = http.head("/v1/funds/TT")
        assert head.status_code == 200 and head.content == b""
        assert http.post("/v1/funds/TT/awards", json={"bad": STUDENT}).status_code == 422

        sponsor_key = ledger(env, "users", "add", "Agribank portal", "--role", "sponsor",
                             "--sponsor", sponsor).splitlines()[-1]
        mine = http.get(f"/v1/sponsors/{sponsor}",
                        headers={"Authorization": f"Bearer {sponsor_key}"})
        assert mine.status_code == 200 and mine.json()["name"] == "Agribank"

        ledger(env, "users", "revoke", "Tran Thi Mai")
        assert http.get("/v1/funds").status_code == 401
    listed = ledger(env, "users", "list")
    assert "Tran Thi Mai" in listed and "revoked" in listed and key not in listed

    time.sleep(0.2)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "request"]
    assert len(requests) >= 10
    for line in requests:
        assert {"request_id", "actor", "method", "route", "status", "latency_ms"} <= set(line)
    awarded = [r for r in requests if r["route"] == "/v1/funds/{code}/awards"]
    assert [r["status"] for r in awarded] == [201, 422]
    assert awarded[0]["actor"] == "Tran Thi Mai"
    # a donation (answered by the express lane) is logged as the route's would be
    [given] = [r for r in requests if r["route"] == "/v1/funds/{code}/donations"]
    assert (given["status"], given["actor"], given["method"]) == (201, "Tran Thi Mai", "POST")
    [head] = [r for r in requests if r["method"] == "HEAD"]
    assert head["route"] == "/v1/funds/{code}" and head["status"] == 200
    text = log.read_text()
    assert STUDENT not in text and SCHOOL not in text and key not in text
