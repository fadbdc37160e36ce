"""Group commit of donations on PostgreSQL: concurrent donations share transactions, each
stays atomic, a refused one never affects the others, and each is recorded exactly once."""

from __future__ import annotations

import threading
import uuid
from datetime import date
from typing import Any

import pytest

from api.group_commit import DonationGroupCommit
from ledger.application import Ledger
from ledger.domain.errors import LedgerError
from ledger.domain.money import Money

pytestmark = pytest.mark.postgres


class CountingLedger(Ledger):
    """The real ledger, counting how many donations each batch call carried."""

    batches: list[int]

    def record_donations(self, batch, *, actor):  # type: ignore[override]
        self.batches.append(len(batch))
        return super().record_donations(batch, actor=actor)


@pytest.fixture(name="ledger")
def _ledger(pg_settings):
    """A counting ledger on a fresh PostgreSQL schema with funds F0..F3 and one sponsor."""
    from ledger.storage import environment

    app = CountingLedger(environment(pg_settings))
    app.batches = []
    for i in range(4):
        app.open_fund(f"F{i}", f"Fund {i}", actor="t")
    yield app
    app.close()


def donation(sponsor: uuid.UUID, code: str, **changes: Any) -> dict[str, Any]:
    item = {"code": code, "sponsor_id": sponsor, "amount": Money.parse("1000", "VND"),
            "credited": None, "received_on": date(2025, 9, 1), "method": "cash",
            "reference": "", "pledge_id": None, "donation_id": uuid.uuid4()}
    item.update(changes)
    return item


def test_concurrent_donations_share_transactions_and_a_refused_one_affects_no_other(ledger):
    sponsor = uuid.UUID(ledger.register_sponsor("S", "clan", actor="t").result["id"])
    commit = DonationGroupCommit(ledger)
    items = [donation(sponsor, f"F{i % 4}") for i in range(60)]
    # refused on their own: an unknown fund, an unknown sponsor, a foreign gift uncredited
    items[7]["code"] = "NOPE"
    items[23]["sponsor_id"] = uuid.uuid4()
    items[41]["amount"] = Money.parse("10.00", "EUR")
    # a retry of one donation, sent at the same time as the original
    items.append(dict(items[10]))
    answers: dict[int, Any] = {}
    start = threading.Barrier(len(items))

    def send(i: int) -> None:
        start.wait()
        try:
            answers[i] = commit.record("t", **items[i])
        except LedgerError as e:
            answers[i] = e

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    refused = sorted(i for i, a in answers.items() if isinstance(a, LedgerError))
    assert refused == [7, 23, 41]
    created = [i for i, a in answers.items() if not isinstance(a, LedgerError) and a.created]
    assert len(created) == 57
    assert sorted([answers[10].created, answers[60].created]) == [False, True]
    assert answers[10].result == answers[60].result
    assert max(ledger.batches, default=0) > 1, "no two donations shared a transaction"
    total = sum(int(ledger.figures(f"F{i}")["received_total"].minor) for i in range(4))
    assert total == 57 * 1000


def test_a_batch_meeting_a_locked_table_is_refused_at_once_not_one_timeout_after_another(
        pg_settings):
    import time

    import psycopg

    from ledger.storage import environment

    settings = pg_settings.model_copy(update={"lock_timeout_seconds": 1})
    app = CountingLedger(environment(settings))
    app.batches = []
    app.open_fund("F0", "Fund 0", actor="t")
    sponsor = uuid.UUID(app.register_sponsor("S", "clan", actor="t").result["id"])
    before = app.recorder.max_notification_id()
    commit = DonationGroupCommit(app)
    answers: list[Any] = []
    start = threading.Barrier(12)

    def send() -> None:
        start.wait()
        try:
            answers.append(commit.record("t", **donation(sponsor, "F0")))
        except Exception as e:  # noqa: BLE001 - the answer under test
            answers.append(e)

    with psycopg.connect(settings.database_url, autocommit=False) as holder:
        holder.execute(f'LOCK TABLE "{settings.postgres_schema}".'
                       f'"{app.recorder.events_table_name}" IN EXCLUSIVE MODE')
        threads = [threading.Thread(target=send) for _ in range(12)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        waited = time.monotonic() - started
        holder.rollback()
    assert len(answers) == 12
    assert all(isinstance(a, Exception) and not isinstance(a, LedgerError) for a in answers)
    # the first donation leads alone and the rest share one batch: two lock timeouts at
    # most, where retrying each alone waited one per donation
    assert waited < 6
    assert app.recorder.max_notification_id() == before
    app.close()


def test_awaited_donations_share_transactions_and_close_records_what_is_queued(ledger):
    """`record_async`: many requests of one event loop await their donations (no thread
    each); they still share transactions, each answered once it is committed. `close`
    lets the queue drain, then refuses new donations."""
    import asyncio

    sponsor = uuid.UUID(ledger.register_sponsor("Vietcombank", "organization",
                                                actor="t").result["id"])
    commit = DonationGroupCommit(ledger)
    items = [donation(sponsor, f"F{i % 4}") for i in range(60)]

    async def all_of_them() -> list[Any]:
        return await asyncio.gather(*(commit.record_async("t", **item) for item in items))

    answers = asyncio.run(all_of_them())
    assert all(a.created for a in answers)
    assert [a.result["id"] for a in answers] == [str(i["donation_id"]) for i in items]
    assert len(ledger.recorded_donations([i["donation_id"] for i in items])) == 60
    assert max(ledger.batches) > 1  # they did share
    commit.close()
    with pytest.raises(RuntimeError, match="closed"):
        commit.submit("t", **donation(sponsor, "F0"))


def test_a_batch_that_fails_unexpectedly_answers_each_of_its_donations_and_the_writer_goes_on(
    ledger,
):
    sponsor = uuid.UUID(ledger.register_sponsor("Vietcombank", "organization",
                                                actor="t").result["id"])
    commit = DonationGroupCommit(ledger)
    broken = [True]
    original = commit._commit

    def commit_once_broken(batch):
        if broken.pop() if broken else False:
            raise RuntimeError("a bug in a batch")
        original(batch)

    commit._commit = commit_once_broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError, match="a bug in a batch"):
        commit.record("t", **donation(sponsor, "F0"))
    assert commit.record("t", **donation(sponsor, "F1")).created
    commit.close()


def test_a_cancelled_request_neither_breaks_its_batch_nor_stops_the_writer(ledger):
    """A request cancelled while its donation waits (a server shutting down cancels its
    requests): the donation is dropped if it was still queued, or recorded if its batch
    had begun; every other donation is recorded and answered, and the writer goes on."""
    import asyncio

    sponsor = uuid.UUID(ledger.register_sponsor("Vietcombank", "organization",
                                                actor="t").result["id"])
    commit = DonationGroupCommit(ledger)
    for actors in (["t"] * 6, [f"actor {i}" for i in range(6)]):  # one group; each alone
        items = [donation(sponsor, f"F{i % 4}") for i in range(6)]

        async def send_and_cancel_one() -> list[Any]:
            tasks = [asyncio.create_task(commit.record_async(a, **item))
                     for a, item in zip(actors, items)]
            await asyncio.sleep(0)
            tasks[1].cancel()
            return await asyncio.gather(*tasks, return_exceptions=True)

        answers = asyncio.run(send_and_cancel_one())
        assert isinstance(answers[1], asyncio.CancelledError)
        others = [a for i, a in enumerate(answers) if i != 1]
        assert all(not isinstance(a, BaseException) and a.created for a in others), answers
        recorded = ledger.recorded_donations([item["donation_id"] for item in items])
        others_ids = {item["donation_id"] for i, item in enumerate(items) if i != 1}
        assert others_ids <= set(recorded)
    assert commit.record("t", **donation(sponsor, "F0")).created  # the writer goes on
    commit.close()


def test_close_records_every_donation_still_queued(ledger):
    sponsor = uuid.UUID(ledger.register_sponsor("Vietcombank", "organization",
                                                actor="t").result["id"])
    commit = DonationGroupCommit(ledger)
    items = [donation(sponsor, f"F{i % 4}") for i in range(200)]
    futures = [commit.submit(f"actor {i % 3}", **item) for i, item in enumerate(items)]
    commit.close()  # at once: most are still queued
    assert all(f.done() and f.result().created for f in futures)
    assert len(ledger.recorded_donations([i["donation_id"] for i in items])) == 200
