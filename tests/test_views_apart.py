"""The read models kept by another process: a runner announces the views' progress at
commit (PostgreSQL NOTIFY), a process that follows it answers its writes as soon as the
views show them, and `ledger serve` keeps its views in a process of its own, started
again if it ends and stopped with the server."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from psycopg import sql

import api.visibility
from api.visibility import Visibility
from ledger.cli._views_process import ViewsProcess
from ledger.domain.money import Money
from ledger.postgres_recorder import channel_name
from ledger.projections import ReadModels, progress
from ledger.settings import Settings
from ledger.storage import open_ledger

LEDGER = str(Path(sys.executable).with_name("ledger"))


def _donate(app, code: str, sponsor: UUID, amount: str = "1000") -> int:
    written = app.record_donation(code, sponsor, Money.parse(amount, "VND"),
                                  received_on=date(2025, 9, 1), method="cash", actor="t")
    assert written.position is not None
    return written.position


def _fund_with_sponsor(app, code: str) -> UUID:
    app.open_fund(code, f"Fund {code}", actor="t")
    return UUID(app.register_sponsor("Agribank", "organization", actor="t").result["id"])


def _until(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.05)


@pytest.mark.postgres
def test_a_runner_announces_the_views_progress_when_it_commits(pg_settings):
    app = open_ledger(pg_settings)
    models = ReadModels(app, pg_settings)
    try:
        with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(models.channel)))
            sponsor = _fund_with_sponsor(app, "ANN")
            last = _donate(app, "ANN", sponsor)
            models.catch_up()  # a few events: all the views in one transaction
            heard = [int(n.payload) for n in conn.notifies(timeout=2, stop_after=1)]
            assert heard == [last]
            assert models.stored_position() == last
            # a catch-up of many events: each view in a transaction of its own, and the
            # lowest position of all of them announced once they have all committed
            for _ in range(150):
                last = _donate(app, "ANN", sponsor)
            models.catch_up()
            heard = [int(n.payload) for n in conn.notifies(timeout=1)]
        assert heard and max(heard) == last == models.stored_position()
        assert heard == sorted(heard)  # never announced out of order, never ahead
    finally:
        models.stop()
        app.close()


@contextmanager
def _kept_and_followed(settings: Settings) -> Iterator[tuple[Any, ReadModels, ReadModels]]:
    """A ledger that writes, the views kept by a runner as another process's would be
    (`keeper`), and the writer's read models following them (`follower`), listening."""
    writer = open_ledger(settings)
    keeper = ReadModels(open_ledger(settings), settings)
    follower = ReadModels(writer, settings)
    keeper.start()
    follower.follow()
    try:
        _until(lambda: follower.live)
        yield writer, keeper, follower
    finally:
        follower.stop()
        keeper.stop()
        keeper.app.close()
        writer.close()


@pytest.mark.postgres
def test_a_follower_answers_a_write_once_another_processs_views_show_it(pg_settings,
                                                                          monkeypatch):
    # the database is asked only every 60 s: only an announcement can answer in time
    monkeypatch.setattr(api.visibility, "RECHECK", 60.0)
    with _kept_and_followed(pg_settings) as (writer, keeper, follower):
        assert not follower.runner.running  # it keeps no views itself
        visible = Visibility(follower)
        sponsor = _fund_with_sponsor(writer, "FOL")

        async def donate_and_wait() -> list[bool]:
            answers = []
            for i in range(10):
                position = await asyncio.to_thread(_donate, writer, "FOL", sponsor,
                                                   f"{i + 1}000")
                answers.append(await visible.wait(position, 10))
                # answered only once the views hold it: read without waiting
                assert follower.fund("FOL")["counts"]["donations"] == i + 1
            return answers

        started = time.monotonic()
        assert asyncio.run(donate_and_wait()) == [True] * 10
        assert time.monotonic() - started < 30
        assert follower.reached() == keeper.runner.lowest_known()
        assert follower.wait_for(writer.recorder.max_notification_id(), 5)


@pytest.mark.postgres
def test_a_follower_whose_connection_broke_listens_again_and_catches_up(pg_settings,
                                                                         monkeypatch):
    monkeypatch.setattr(api.visibility, "RECHECK", 60.0)  # only announcements answer
    with _kept_and_followed(pg_settings) as (writer, keeper, follower):
        sponsor = _fund_with_sponsor(writer, "BRK")
        visible = Visibility(follower)
        assert asyncio.run(visible.wait(_donate(writer, "BRK", sponsor), 10))
        with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE query = %s", (f'LISTEN "{follower.channel}"',)).fetchall()
        assert killed == [(True,)]
        _until(lambda: not follower.live)
        # written while nobody listened: heard of once it listens again
        missed = _donate(writer, "BRK", sponsor)
        _until(lambda: keeper.runner.lowest_known() >= missed)
        _until(lambda: follower.live)
        _until(lambda: follower.reached() >= missed)
        assert asyncio.run(visible.wait(_donate(writer, "BRK", sponsor), 10))
        assert follower.fund("BRK")["counts"]["donations"] == 3


@pytest.mark.postgres
def test_two_ledgers_in_one_database_do_not_hear_each_others_writes(pg_settings):
    # notification channels belong to the database: each ledger's are its schema's own
    other_schema = f"{pg_settings.postgres_schema}_b"
    with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(other_schema)))
    other_settings = pg_settings.model_copy(update={"postgres_schema": other_schema})
    mine, other = open_ledger(pg_settings), open_ledger(other_settings)
    models = ReadModels(mine, pg_settings, poll_interval=30)
    models.start()
    try:
        assert mine.recorder.channel_name != other.recorder.channel_name
        assert models.channel != progress.channel(other_schema)
        _until(lambda: models.runner.listening)
        sponsor = _fund_with_sponsor(other, "OTHER")
        for _ in range(30):  # the other ledger's ids run ahead of this one's
            _donate(other, "OTHER", sponsor)
        time.sleep(0.3)
        position = _donate(mine, "MINE", _fund_with_sponsor(mine, "MINE"))
        assert models.wait_for(position, timeout=10)
        assert models.fund("MINE")["counts"]["donations"] == 1
        assert models.stored_position() == mine.recorder.max_notification_id()
    finally:
        models.stop()
        mine.close()
        other.close()
        with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(
                sql.Identifier(other_schema)))


def test_a_channel_name_too_long_for_postgresql_keeps_a_digest_of_the_whole():
    first, second = (channel_name("s" * 60 + tail, "ledger_events") for tail in "ab")
    assert len(first.encode()) == len(second.encode()) == 63
    assert first != second
    assert channel_name("public", "ledger_events") == "public_ledger_events"


@pytest.mark.postgres
def test_a_listening_runner_reads_another_processs_writes_up_to_the_announced_id(
        pg_settings):
    app = open_ledger(pg_settings)
    other = open_ledger(pg_settings)  # another process's ledger: nothing is offered
    models = ReadModels(app, pg_settings, poll_interval=30)
    models.start()
    runner = models.runner
    asked = []
    top = runner.top
    runner.top = lambda: asked.append(1) or top()
    try:
        _until(lambda: runner.listening)
        sponsor = _fund_with_sponsor(other, "OTH")
        asked.clear()
        for _ in range(20):
            assert models.wait_for(_donate(other, "OTH", sponsor), timeout=10)
        assert models.fund("OTH")["counts"]["donations"] == 20
    finally:
        models.stop()
        other.close()
        app.close()
    # the NOTIFY's id tells the runner how far to read: the store is not asked per write
    assert len(asked) < 5


# ---- `ledger serve` with its views apart ------------------------------------------------


def _env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    if settings.database_url:
        env["LEDGER_DATABASE_URL"] = settings.database_url
        env["LEDGER_POSTGRES_SCHEMA"] = settings.postgres_schema
    else:
        env["LEDGER_SQLITE_PATH"] = str(settings.sqlite_path)
    return env


def _views_processes(parent: int) -> list[int]:
    """The `ledger projections run` processes whose parent is `parent`."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rpartition(")")[2].split()[1]) == parent and b"projections" in command:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


@pytest.mark.postgres
def test_serve_keeps_its_views_in_a_process_of_its_own_started_again_if_it_ends(
        pg_settings, tmp_path):
    env = _env(pg_settings)
    add = subprocess.run([LEDGER, "users", "add", "Tran Thi Mai", "--role", "treasurer"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    key = add.stdout.splitlines()[-1]
    port = free_port()
    with (tmp_path / "server.log").open("w") as sink:
        server = subprocess.Popen([LEDGER, "serve", "--port", str(port)], env=env,
                                  stdout=sink, stderr=subprocess.STDOUT)
    log = tmp_path / "server.log"
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _answers(base) or server.poll() is not None, 30)
        assert server.poll() is None, log.read_text()
        _until(lambda: len(_views_processes(server.pid)) == 1)
        [first] = _views_processes(server.pid)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"},
                          timeout=20) as http:
            sponsor = _write_and_read(http, None)
            os.kill(first, signal.SIGKILL)  # the views process dies
            _until(lambda: [p for p in _views_processes(server.pid) if p != first], 20)
            [second] = _views_processes(server.pid)
            _until(lambda: log.read_text().count("keeping the views current") == 2, 30)
            _write_and_read(http, sponsor)
        assert "views process ended; starting it again" in log.read_text()
    finally:
        server.terminate()
        server.wait(30)
    assert server.returncode == -signal.SIGTERM, log.read_text()  # as uvicorn ends
    assert "views process ended" not in log.read_text().rpartition("Shutting down")[2]
    _until(lambda: not _alive(second))  # stopped with the server


def _write_and_read(http: httpx.Client, sponsor: str | None) -> str:
    """Records a donation and reads it back at once: the views show it."""
    if sponsor is None:
        assert http.post("/v1/funds", json={"code": "AP", "name": "Apart"}).status_code == 201
        sponsor = http.post("/v1/sponsors", json={"name": "Vietcombank",
                                                  "kind": "organization"}).json()["id"]
    before = http.get("/v1/funds/AP").json()["counts"]["donations"]
    answer = http.post("/v1/funds/AP/donations", json={
        "id": str(uuid4()), "sponsor_id": sponsor,
        "amount": {"amount": "500000", "currency": "VND"},
        "received_on": "2025-09-01", "method": "bank_transfer"})
    assert answer.status_code == 201, answer.text
    assert http.get("/v1/funds/AP").json()["counts"]["donations"] == before + 1
    return sponsor


def _answers(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_views_process_is_started_again_also_after_a_start_that_failed():
    keeper = ViewsProcess(["sh", "-c", "exit 3"], first_pause=0.05)
    keeper.start()
    try:
        _until(lambda: keeper.starts >= 2)  # it ended: started again
        keeper.command = ["/nonexistent/ledger"]  # a start that cannot happen
        _until(lambda: keeper.failed_starts >= 1)
        keeper.command = ["sleep", "60"]
        _until(lambda: keeper.pid is not None and _alive(keeper.pid), 20)
        running = keeper.pid
    finally:
        keeper.stop()
    assert not _alive(running)  # stopped with it


def test_serve_refuses_a_views_process_on_sqlite(sqlite_settings):
    done = subprocess.run([LEDGER, "serve", "--views", "process", "--port", "0"],
                          env=_env(sqlite_settings), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "--views process needs PostgreSQL" in done.stderr


def test_the_views_process_stops_once_its_parent_is_gone(sqlite_settings, tmp_path):
    # a parent that starts it, lives a while, and ends: the orphan notices, and stops
    log = tmp_path / "views.log"
    parent = subprocess.Popen(
        ["sh", "-c", f'"{LEDGER}" projections run --parent $$ >"{log}" 2>&1 & echo $!;'
                     ' sleep 3'],
        env=_env(sqlite_settings), stdout=subprocess.PIPE, text=True)
    orphan = int(parent.stdout.readline())
    try:
        _until(lambda: log.exists() and "keeping the views current" in log.read_text())
        assert parent.poll() is None and _alive(orphan)  # it runs while its parent does
        parent.wait(30)
        _until(lambda: not _alive(orphan), 30)
    finally:
        parent.stdout.close()
        if _alive(orphan):
            os.kill(orphan, signal.SIGKILL)


#: a parent that logs lines while its views process (here a stand-in) writes long ones
INTERLEAVING = r"""
import sys, threading
from ledger.logging import configure
configure(json=True)
import structlog
from ledger.cli._views_process import ViewsProcess

CHILD = '''
import json, sys
for i in range(300):
    print(json.dumps({"event": "child", "i": i, "pad": "x" * 20000}), file=sys.stderr,
          flush=True)
'''
keeper = ViewsProcess([sys.executable, "-c", CHILD], first_pause=30)
log = structlog.get_logger("parent")
keeper.start()
for i in range(3000):
    log.info("parent", i=i, pad="y" * 3000)
keeper._process.wait()
keeper.stop()
"""


def test_the_views_process_lines_reach_the_servers_log_whole_however_long():
    """Both processes' lines go to one stream; a write of more than PIPE_BUF bytes to a
    pipe is not atomic, so the views process's lines are relayed by the server, each
    written whole under its log lock."""
    done = subprocess.run([sys.executable, "-c", INTERLEAVING], capture_output=True,
                          timeout=120, check=True)
    lines = done.stderr.decode().splitlines()
    parsed = [json.loads(line) for line in lines]  # every line whole
    assert sorted(p["i"] for p in parsed if p["event"] == "child") == list(range(300))
    assert sorted(p["i"] for p in parsed if p["event"] == "parent") == list(range(3000))
