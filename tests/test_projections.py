"""The read models on SQLite and PostgreSQL: exactly-once application, read-your-writes,
rebuild beside the live view, and the reads the API serves."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from datetime import date
from uuid import UUID

import pytest
from click.testing import CliRunner

from ledger.application import Ledger
from ledger.cli import main
from ledger.domain.errors import FundNotFound
from ledger.domain.money import Money
from ledger.projections import ReadModels
from ledger.projections.facade import VIEWS
from ledger.settings import Settings, get_settings
from ledger.storage import open_ledger
from test_projections_workload import Workload, rebuilt_tables, tables


@pytest.fixture(name="live")
def _live(durable_settings: Settings) -> Iterator[tuple[Ledger, ReadModels]]:
    """A ledger and its read models (not running) on each durable store."""
    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings, batch_size=50)
    yield app, models
    models.stop()
    app.close()


def vnd(minor: int) -> Money:
    return Money(minor, "VND")


def test_the_same_event_delivered_twice_is_applied_once(live):
    app, models = live
    work = Workload(app, "twice")
    rng = random.Random(7)
    for _ in range(150):
        work.random_step(rng)
    runner = models.runner
    runner.batch_size = 100_000
    top = runner.top()
    batch, end = runner.read(0, top)
    assert end == top
    half = len(batch) // 2
    first, first_end = batch[:half], batch[half - 1][0]
    for view in models.views:
        runner.process(view, first, 0, first_end)
    once = tables(models)
    for view in models.views:  # the first half again, alone
        runner.process(view, first, 0, first_end)
    assert tables(models) == once
    for view in models.views:  # everything, overlapping what was applied
        runner.process(view, batch, 0, end)
        runner.process(view, batch, 0, end)
    after_all = tables(models)
    assert rebuilt_tables(models) == after_all
    assert models.wait_for(top, timeout=0)


def test_a_write_is_readable_once_wait_for_returns(live):
    app, models = live
    models.start()
    app.open_fund("RYW", "Read your writes", actor="treasurer")
    sponsor = UUID(app.register_sponsor("Bank", "organization", actor="t").result["id"])
    written = app.record_donation("RYW", sponsor, vnd(1_500_000), received_on=date(2025, 1, 2),
                                  method="bank_transfer", actor="treasurer")
    assert models.wait_for(written.position, timeout=10)
    fund = models.fund("RYW")
    assert fund["figures"]["cash"] == {"amount": "1500000", "currency": "VND"}
    assert fund["counts"]["donations"] == 1
    assert [e["type"] for e in models.history("RYW")] == ["Opened", "DonationReceived"]
    assert models.history("RYW") == app.history("RYW")
    assert models.wait_for(written.position + 1000, timeout=0.3) is False


def test_rebuilding_a_view_swaps_it_in_without_readers_ever_seeing_it_empty(live):
    app, models = live
    work = Workload(app, "swap")
    rng = random.Random(3)
    for _ in range(200):
        work.random_step(rng)
    models.catch_up()
    before = tables(models)
    code = work.codes[0]
    expected = models.fund(code)
    seen, problems, stop = [], [], threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.append((models.fund(code), len(models.funds()), len(models.history(code))))
            except Exception as e:  # noqa: BLE001 - any failure is what the test looks for
                problems.append(repr(e))

    readers = [threading.Thread(target=read) for _ in range(2)]
    for r in readers:
        r.start()
    try:
        for name in VIEWS:
            models.rebuild(name)
    finally:
        stop.set()
        for r in readers:
            r.join()
    assert problems == []
    assert seen and all(f == expected and n >= 2 and h > 0 for f, n, h in seen)
    assert tables(models) == before


def test_a_rebuild_while_the_runner_keeps_up_with_writers_loses_and_repeats_nothing(live):
    app, models = live
    work = Workload(app, "busy")
    rng = random.Random(11)
    models.start()
    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            work.random_step(rng)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.3)
        models.rebuild("balances")
        models.rebuild("history")
        time.sleep(0.3)
    finally:
        stop.set()
        writer.join()
    assert models.wait_for(models.runner.top(), timeout=10)
    live_rows = tables(models)
    assert rebuilt_tables(models) == live_rows
    for code in work.codes:
        assert models.history(code, limit=10**9) == app.history(code)


def test_unknown_funds_are_not_found_and_an_unknown_sponsor_has_an_empty_ledger(live):
    _, models = live
    for read in (models.fund, models.history, models.award_register):
        with pytest.raises(FundNotFound):
            read("NOPE")
    assert models.sponsor_ledger(UUID(int=1)) == {"sponsor_id": str(UUID(int=1)), "funds": []}


def test_the_sponsor_ledger_shows_gifts_in_both_currencies_and_overdue_instalments(live):
    app, models = live
    app.open_fund("PN", "IT training", "VND", actor="t")
    sponsor = UUID(app.register_sponsor("Passerelles", "organization", actor="t").result["id"])
    pledge = UUID(app.make_pledge(
        "PN", sponsor, vnd(300), [(date(2020, 1, 1), vnd(100)), (date(2099, 1, 1), vnd(200))],
        actor="t",
    ).result["id"])
    app.record_donation("PN", sponsor, vnd(60), received_on=date(2020, 2, 1), method="bank",
                        pledge_id=pledge, actor="t")
    gift = app.record_donation("PN", sponsor, Money.parse("12.50", "EUR"), vnd(350_000),
                               received_on=date(2020, 3, 1), method="bank", actor="t")
    app.reverse_donation("PN", UUID(gift.result["id"]), "returned by bank", actor="t")
    models.catch_up()
    [fund] = models.sponsor_ledger(sponsor)["funds"]
    [p] = fund["pledges"]
    assert (p["paid"]["amount"], p["outstanding"]["amount"]) == ("60", "240")
    assert [s["overdue"] for s in p["schedule"]] == [True, False]
    assert p["overdue"] == {"amount": "40", "currency": "VND"}
    [reversal] = fund["reversals"]
    assert reversal["amount"] == {"amount": "12.50", "currency": "EUR"}
    assert reversal["credited"] == {"amount": "350000", "currency": "VND"}
    assert fund["totals"]["net"] == {"amount": "60", "currency": "VND"}


def test_the_award_register_totals_rounds_schools_categories_and_students(live):
    app, models = live
    app.open_fund("CT", "Co Tu awards", actor="t")
    sponsor = UUID(app.register_sponsor("Family", "family", actor="t").result["id"])
    app.record_donation("CT", sponsor, vnd(10_000), received_on=date(2025, 1, 1), method="cash",
                        actor="t")
    round_id = UUID(app.allocate("CT", "2025", vnd(6_000), actor="t").result["id"])
    a1 = UUID(app.grant_award("CT", round_id, {"name": "A", "school": "S1", "category": "poor"},
                              vnd(2_000), actor="t").result["id"])
    a2 = UUID(app.grant_award("CT", round_id, {"name": "B", "school": "S2", "category": "poor"},
                              vnd(3_000), actor="t").result["id"])
    app.disburse_award("CT", a1, vnd(500), paid_on=date(2025, 2, 1), method="cash", actor="t")
    app.disburse_award("CT", a2, vnd(1_000), paid_on=date(2025, 2, 1), method="cash", actor="t")
    app.revoke_award("CT", a2, "moved away", actor="t")
    models.catch_up()
    register = models.award_register("CT")
    [r] = register["rounds"]
    money = {k: r[k]["amount"] for k in ("granted", "disbursed", "outstanding", "revoked",
                                          "remainder")}
    assert money == {"granted": "5000", "disbursed": "1500", "outstanding": "1500",
                     "revoked": "2000", "remainder": "3000"}
    assert [s["school"] for s in register["schools"]] == ["S1", "S2"]
    assert register["categories"][0]["outstanding"]["amount"] == "1500"
    assert [s["outstanding"]["amount"] for s in register["students"]] == ["1500", "0"]
    assert models.fund("CT")["counts"] == {"donations": 1, "sponsors": 1, "awards": 1,
                                           "students": 1}


def test_status_reports_each_views_position_and_lag(live):
    app, models = live
    app.open_fund("ST", "Status", actor="t")
    assert {s["view"]: s["lag"] > 0 for s in models.status()} == dict.fromkeys(VIEWS, True)
    models.catch_up()
    assert all(s["lag"] == 0 and s["position"] == s["max_position"] for s in models.status())


@pytest.mark.postgres
def test_on_postgresql_a_notification_wakes_the_runner_long_before_its_next_poll(pg_settings):
    app = open_ledger(pg_settings)
    other = open_ledger(pg_settings)  # another process's ledger: its writes are not offered
    models = ReadModels(app, pg_settings, poll_interval=30)
    models.start()
    try:
        time.sleep(0.5)  # the subscription is listening
        written = other.open_fund("NOTE", "Notified", actor="t")
        deadline = time.monotonic() + 5
        while models.status()[0]["position"] < written.position:
            assert time.monotonic() < deadline, "the runner waited for its poll"
            time.sleep(0.05)
    finally:
        models.stop()
        other.close()
        app.close()


@pytest.mark.postgres
def test_a_writes_notification_carries_its_last_notification_id(pg_settings):
    import psycopg
    from psycopg import sql

    app = open_ledger(pg_settings)
    try:
        with psycopg.connect(pg_settings.database_url, autocommit=True) as conn:
            conn.execute(sql.SQL("LISTEN {}").format(
                sql.Identifier(app.recorder.channel_name)))
            written = app.open_fund("PAY", "Payload", actor="t")
            payloads = [n.payload for n in conn.notifies(timeout=2, stop_after=1)]
    finally:
        app.close()
    assert payloads == [str(written.position)]


@pytest.mark.postgres
def test_a_listening_runner_applies_its_own_writes_without_reading_them_back(pg_settings):
    app = open_ledger(pg_settings)
    models = ReadModels(app, pg_settings, poll_interval=30)
    models.start()
    runner = models.runner
    asked = []
    top = runner.top
    runner.top = lambda: asked.append(1) or top()  # counts, and asks the store as ever
    try:
        deadline = time.monotonic() + 5
        while not runner.listening:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        asked.clear()
        app.open_fund("OWN", "Own writes", actor="t")
        sponsor = UUID(app.register_sponsor("Bank", "organization", actor="t").result["id"])
        for day in range(1, 29):
            written = app.record_donation("OWN", sponsor, vnd(1000), method="cash",
                                          received_on=date(2025, 2, day), actor="t")
            assert models.wait_for(written.position, timeout=10)
        assert models.fund("OWN")["counts"]["donations"] == 28
    finally:
        models.stop()
        app.close()
    # each write is offered (its notification announces nothing new): the store is asked
    # for its top only now and then (a step can race a notification), not per write
    assert len(asked) < 10


def test_a_runner_whose_views_another_runner_moved_applies_each_event_once(durable_settings):
    app = open_ledger(durable_settings)
    mine = ReadModels(app, durable_settings, batch_size=50)
    other = ReadModels(app, durable_settings, batch_size=50)  # another process's runner
    try:
        work = Workload(app, "moved")
        rng = random.Random(5)
        for _ in range(40):
            work.random_step(rng)
        mine.catch_up()  # mine knows where the views are
        for _ in range(40):
            work.random_step(rng)
        other.catch_up()  # and other moves them on, unknown to mine
        for _ in range(40):
            work.random_step(rng)
        while mine.runner.step():  # (no catch_up: that would ask where the views are)
            pass
        assert mine.runner.lowest_known() == mine.runner.top()
        assert tables(mine) == rebuilt_tables(mine)
        for code in work.codes:
            assert mine.history(code, limit=10**9) == app.history(code)
    finally:
        other.stop()
        mine.stop()
        app.close()


def test_the_cli_rebuilds_a_view_and_reports_status(sqlite_settings, monkeypatch):
    monkeypatch.setenv("LEDGER_SQLITE_PATH", str(sqlite_settings.sqlite_path))
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        app = open_ledger(sqlite_settings)
        app.open_fund("CLI", "Command line", actor="t")
        app.close()
        runner = CliRunner()
        result = runner.invoke(main, ["projections", "status", "--json"])
        assert result.exit_code == 0, result.output
        assert '"lag": 2' in result.output
        result = runner.invoke(main, ["projections", "rebuild", "balances"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(main, ["projections", "status"])
        assert result.exit_code == 0
        assert result.output.splitlines()[1].split() == ["balances", "2", "0"]
    finally:
        get_settings.cache_clear()
