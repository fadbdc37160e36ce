"""Read-your-writes as the API waits for it: `Visibility.wait` (awaited, no thread held)
answers True once the read models reflect a write, False after its timeout, and works
whether the views move in this process or elsewhere."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import date
from uuid import UUID

from api.visibility import Visibility
from ledger.domain.money import Money
from ledger.projections import ReadModels
from ledger.storage import open_ledger


def _donate(app, code: str, sponsor: UUID, amount: str) -> int:
    written = app.record_donation(code, sponsor, Money.parse(amount, "VND"),
                                  received_on=date(2025, 9, 1), method="cash", actor="t")
    assert written.position is not None
    return written.position


def test_an_awaited_write_is_answered_once_the_views_reflect_it(durable_settings):
    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings)
    models.start()
    try:
        visible = Visibility(models)
        app.open_fund("F", "Fund", actor="t")
        sponsor = UUID(app.register_sponsor("Agribank", "organization", actor="t").result["id"])

        async def donate_and_wait() -> list[bool]:
            waits = []
            for i in range(20):  # many waiters at once, released as the views move
                position = await asyncio.to_thread(_donate, app, "F", sponsor, f"{i + 1}000")
                waits.append(asyncio.create_task(visible.wait(position, 10)))
            return await asyncio.gather(*waits)

        assert asyncio.run(donate_and_wait()) == [True] * 20

        async def each_seen_when_answered() -> None:
            for i in range(5):
                position = await asyncio.to_thread(_donate, app, "F", sponsor, "1")
                assert await visible.wait(position, 10)
                assert models.fund("F")["counts"]["donations"] == 21 + i

        asyncio.run(each_seen_when_answered())
        # answered True only after the views hold every gift: read them without waiting
        assert models.fund("F")["figures"]["cash"]["amount"] == str(sum(range(1, 21)) * 1000 + 5)
        beyond = app.recorder.max_notification_id() + 1000
        started = time.monotonic()
        assert asyncio.run(visible.wait(beyond, 0.3)) is False
        assert 0.25 < time.monotonic() - started < 5
    finally:
        models.stop()
        app.close()


def test_an_awaited_write_is_seen_when_the_views_move_in_another_runner(durable_settings):
    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings)  # not started: as with `ledger projections run`
    try:
        visible = Visibility(models)
        app.open_fund("F", "Fund", actor="t")
        sponsor = UUID(app.register_sponsor("Agribank", "organization", actor="t").result["id"])
        position = _donate(app, "F", sponsor, "5000")
        assert asyncio.run(visible.wait(position, 0.2)) is False
        elsewhere = ReadModels(open_ledger(durable_settings), durable_settings)
        mover = threading.Timer(0.3, elsewhere.catch_up)
        mover.start()
        try:
            assert asyncio.run(visible.wait(position, 10)) is True
        finally:
            mover.join()
            elsewhere.stop()
            elsewhere.app.close()
        assert models.fund("F")["figures"]["cash"]["amount"] == "5000"
    finally:
        models.stop()
        app.close()


def test_an_awaited_write_is_seen_promptly_when_another_runner_applies_it_first(
    durable_settings,
):
    """With this process's runner running, a write that another runner (another server
    worker) applied first is still answered within a question to the database, not at the
    timeout: this runner has nothing left to apply, so it reports no progress."""
    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings, poll_interval=0.1)
    # this runner reads its positions slowly (as a busy worker would): the other runner's
    # batch lands while it reads, and it finds nothing left to apply
    read_positions = models.db.positions
    models.db.positions = lambda names: (time.sleep(0.2), read_positions(names))[1]
    models.start()
    other_app = open_ledger(durable_settings)
    other = ReadModels(other_app, durable_settings)
    try:
        visible = Visibility(models)
        other_app.open_fund("F", "Fund", actor="t")
        sponsor = UUID(other_app.register_sponsor("Agribank", "organization",
                                                  actor="t").result["id"])
        for i in range(5):
            time.sleep(0.15)
            position = _donate(other_app, "F", sponsor, "1000")  # not offered to `models`
            other.catch_up()
            started = time.monotonic()
            assert asyncio.run(visible.wait(position, 5)) is True  # the timeout: 5 s
            assert time.monotonic() - started < 3.5, f"write {i} answered late"  # not at 5 s
    finally:
        other.stop()
        other_app.close()
        models.stop()
        app.close()


def test_a_database_that_does_not_answer_the_wait_ends_it_at_its_timeout_not_in_an_error(
    durable_settings,
):
    """The write is committed: if the views' positions cannot be read meanwhile, the wait
    says the views are behind (the write is still answered), it raises nothing."""
    import psycopg

    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings)  # views moved elsewhere: the wait asks
    try:
        visible = Visibility(models)
        app.open_fund("F", "Fund", actor="t")
        sponsor = UUID(app.register_sponsor("Agribank", "organization", actor="t").result["id"])
        position = _donate(app, "F", sponsor, "1000")

        def unreachable(names):
            raise psycopg.OperationalError("the server closed the connection")

        models.db.positions = unreachable
        assert asyncio.run(visible.wait(position, 0.5)) is False
        models.start()  # the runner runs: the async path asks the database too
        assert asyncio.run(visible.wait(position + 10_000, 0.6)) is False
    finally:
        models.stop()
        app.close()
