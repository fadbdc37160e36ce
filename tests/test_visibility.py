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
        # answered True only after the views hold every gift: read them without waiting
        assert models.fund("F")["figures"]["cash"]["amount"] == str(sum(range(1, 21)) * 1000)
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
