"""Group commit of donations: concurrent donation requests share one transaction.

PostgreSQL's event store takes an exclusive table lock for each insert, so one write per
transaction caps the write rate at one commit (one WAL flush) at a time. Here a writer
thread of its own records donations: while one batch commits, the donations that arrive
meanwhile queue up, and the next batch records all of them with `Ledger.record_donations`
in one transaction. At low load a batch is a single donation, recorded as before, with no
delay. Requests hand their donation over and wait for its future (`record_async` without
holding a thread), so a donation costs no worker thread of the server.

Each donation stays atomic and isolated: if a batch is refused by a rule, each of its
donations is recorded again on its own, so a refused donation never affects another; and
no request is answered before the transaction holding its donation has committed. If the
database is busy past the lock timeout or unreachable, the whole batch is answered so at
once (503, safe to retry), rather than one lock timeout after another.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from concurrent.futures import Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import structlog

from ledger.application import Ledger, Written

log = structlog.get_logger("api.group_commit")

#: the most donations one transaction records
MAX_BATCH = 256


@dataclass
class _Pending:
    actor: str
    item: dict[str, Any]
    #: the hash of a key to find active in the transaction that records the donation
    key: str | None = None
    future: Future[Written] = field(default_factory=Future)

    @property
    def done(self) -> bool:
        return self.future.done()


class DonationGroupCommit:
    def __init__(self, ledger: Ledger, max_batch: int = MAX_BATCH, users: Any = None) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        #: the users' statement that finds keys active in a write's transaction, where
        #: both the users and the ledger's recorder can (PostgreSQL)
        recorder = getattr(ledger, "recorder", None)
        self._key_guard = (getattr(users, "key_guard", None)
                           if hasattr(recorder, "guarded") else None)
        self._queue: deque[_Pending] = deque()
        self._ready = threading.Condition()
        self._writer: threading.Thread | None = None
        self._closed = False

    @property
    def checks_keys(self) -> bool:
        """Whether a donation can be recorded on condition that a key is still active."""
        return self._key_guard is not None

    def submit(self, actor: str, key: str | None = None, **item: Any) -> Future[Written]:
        """Hands one donation (`record_donation`'s arguments, `donation_id` required) to
        the writer; the future answers as `record_donation` would, once committed. With
        `key` (a key's hash; see `checks_keys`), the transaction that records it first
        finds that key active, or is refused (`GuardRefused`, nothing recorded)."""
        if key is not None and self._key_guard is None:
            raise ValueError("this ledger cannot check keys as it records")
        mine = _Pending(actor, item, key)
        with self._ready:
            if self._closed:
                raise RuntimeError("the donation writer is closed")
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write, name="donation-writer",
                                                daemon=True)
                self._writer.start()
            self._queue.append(mine)
            self._ready.notify()
        return mine.future

    def record(self, actor: str, key: str | None = None, **item: Any) -> Written:
        """Records one donation, possibly in a transaction shared with concurrent ones,
        and answers as `record_donation` would (waiting in this thread)."""
        return self.submit(actor, key, **item).result()

    async def record_async(self, actor: str, key: str | None = None, **item: Any) -> Written:
        """As `record`, awaited: no thread waits."""
        return await asyncio.wrap_future(self.submit(actor, key, **item))

    def close(self) -> None:
        """Records what is queued, then stops the writer."""
        with self._ready:
            self._closed = True
            self._ready.notify()
            writer = self._writer
        if writer is not None:
            writer.join(timeout=30)

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                count = min(len(self._queue), self.max_batch)
                taken = [self._queue.popleft() for _ in range(count)]
            # From here a donation's future cannot be cancelled: its request hears what
            # became of it. One cancelled while queued (its request is gone) is dropped
            # unrecorded.
            batch = [p for p in taken if p.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                self._commit(batch)
            except BaseException as e:  # noqa: BLE001 - the writer outlives any batch
                log.exception("donation batch failed")
                for pending in batch:
                    _finish(pending, None, e)

    def _commit(self, batch: list[_Pending]) -> None:
        # One donation id once per transaction: a concurrent retry waits for its original.
        seen: set[Any] = set()
        grouped: dict[str, list[_Pending]] = {}
        alone: list[_Pending] = []
        for pending in batch:
            key = pending.item["donation_id"]
            if key in seen:
                alone.append(pending)
            else:
                seen.add(key)
                grouped.setdefault(pending.actor, []).append(pending)
        for actor, group in grouped.items():
            if len(group) == 1:
                alone.insert(0, group[0])
                continue
            try:
                with self._keys_active(group):
                    answers = self.ledger.record_donations([p.item for p in group],
                                                           actor=actor)
            except Exception as e:  # noqa: BLE001 - each is recorded on its own below
                if _unavailable(e):
                    # the table stayed locked or the database is gone: every donation of
                    # the batch hears so now, not one lock timeout after another
                    for pending in batch:
                        if not pending.done:
                            _finish(pending, None, e)
                    return
                alone[:0] = group
                continue
            for pending, written in zip(group, answers):
                if written.created:
                    _finish(pending, written)
                else:
                    # recorded before: the single path answers it from its receipt
                    alone.append(pending)
        unavailable: BaseException | None = None
        for pending in alone:
            if unavailable is not None:
                _finish(pending, None, unavailable)
                continue
            try:
                with self._keys_active([pending]):
                    written = self.ledger.record_donation(actor=pending.actor, **pending.item)
            except BaseException as e:  # noqa: BLE001 - handed to the request's thread
                _finish(pending, None, e)
                if _unavailable(e):
                    unavailable = e
            else:
                _finish(pending, written)

    def _keys_active(self, pendings: list[_Pending]) -> Any:
        """Within: the ledger's inserts in this thread first find the donations' keys
        active (those given), or are refused."""
        keys = {p.key for p in pendings if p.key is not None}
        if not keys or self._key_guard is None:
            return nullcontext()
        return self.ledger.recorder.guarded(self._key_guard(keys))


def _unavailable(error: BaseException) -> bool:
    """Whether the error says the database is busy or unreachable (a 503), rather than
    refusing one donation."""
    from eventsourcing.persistence import IntegrityError

    from api.problems import database_errors

    return isinstance(error, tuple(database_errors())) and not isinstance(error, IntegrityError)


def _finish(pending: _Pending, written: Written | None, error: BaseException | None = None
            ) -> None:
    if pending.future.done():  # answered already (a batch failing after some answers)
        return
    if error is not None:
        pending.future.set_exception(error)
    else:
        pending.future.set_result(written)
