"""Group commit of donations: concurrent donation requests share one transaction.

PostgreSQL's event store takes an exclusive table lock for each insert, so one write per
transaction caps the write rate at one commit (one WAL flush) at a time. Here, while one
batch commits, the donations that arrive meanwhile queue up; when it is done, the first of
them leads the next batch, which records all of them with `Ledger.record_donations` in one
transaction. At low load a batch is a single donation, recorded as before, with no delay.

Each donation stays atomic and isolated: if a batch is refused by a rule, each of its
donations is recorded again on its own, so a refused donation never affects another; and
no request is answered before the transaction holding its donation has committed. If the
database is busy past the lock timeout or unreachable, the whole batch is answered so at
once (503, safe to retry), rather than one lock timeout after another.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from ledger.application import Ledger, Written

#: the most donations one transaction records
MAX_BATCH = 256


@dataclass
class _Pending:
    actor: str
    item: dict[str, Any]
    wake: threading.Event = field(default_factory=threading.Event)
    leads: bool = False
    done: bool = False
    written: Written | None = None
    error: BaseException | None = None


class DonationGroupCommit:
    def __init__(self, ledger: Ledger, max_batch: int = MAX_BATCH) -> None:
        self.ledger = ledger
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._leading = False

    def record(self, actor: str, **item: Any) -> Written:
        """Records one donation (`record_donation`'s arguments, `donation_id` required),
        possibly in a transaction shared with concurrent ones; answers as it would."""
        mine = _Pending(actor, item)
        with self._lock:
            self._queue.append(mine)
            mine.leads = not self._leading
            self._leading = True
        while not mine.leads:
            mine.wake.wait()
            mine.wake.clear()
            if mine.done:
                return _answer(mine)
        # Lead batches until this request's own donation is done, then hand over.
        while not mine.done:
            with self._lock:
                batch, self._queue = self._queue[:self.max_batch], self._queue[self.max_batch:]
            self._commit(batch)
        with self._lock:
            if self._queue:
                self._queue[0].leads = True
                self._queue[0].wake.set()
            else:
                self._leading = False
        return _answer(mine)

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
                answers = self.ledger.record_donations([p.item for p in group], actor=actor)
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
                written = self.ledger.record_donation(actor=pending.actor, **pending.item)
            except BaseException as e:  # noqa: BLE001 - handed to the request's thread
                _finish(pending, None, e)
                if _unavailable(e):
                    unavailable = e
            else:
                _finish(pending, written)


def _unavailable(error: BaseException) -> bool:
    """Whether the error says the database is busy or unreachable (a 503), rather than
    refusing one donation."""
    from eventsourcing.persistence import IntegrityError

    from api.problems import database_errors

    return isinstance(error, tuple(database_errors())) and not isinstance(error, IntegrityError)


def _finish(pending: _Pending, written: Written | None, error: BaseException | None = None
            ) -> None:
    pending.written, pending.error, pending.done = written, error, True
    pending.wake.set()


def _answer(pending: _Pending) -> Written:
    if pending.error is not None:
        raise pending.error
    assert pending.written is not None
    return pending.written
