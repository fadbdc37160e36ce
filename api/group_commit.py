"""Group commit of donations: concurrent donation requests share one transaction.

PostgreSQL's event store takes an exclusive table lock for each insert, so one write per
transaction caps the write rate at one commit (one WAL flush) at a time. Here, while one
batch commits, the donations that arrive meanwhile queue up; when it is done, the first of
them leads the next batch, which records all of them with `Ledger.record_donations` in one
transaction. At low load a batch is a single donation, recorded as before, with no delay.

Each donation stays atomic and isolated: if a batch is refused for any reason, each of its
donations is recorded again on its own, so a refused donation never affects another; and
no request is answered before the transaction holding its donation has committed.
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
            except Exception:  # noqa: BLE001 - each is recorded on its own below
                alone[:0] = group
                continue
            for pending, written in zip(group, answers):
                if written.created:
                    _finish(pending, written)
                else:
                    # recorded before: the single path answers it from its receipt
                    alone.append(pending)
        for pending in alone:
            try:
                written = self.ledger.record_donation(actor=pending.actor, **pending.item)
            except BaseException as e:  # noqa: BLE001 - handed to the request's thread
                _finish(pending, None, e)
            else:
                _finish(pending, written)


def _finish(pending: _Pending, written: Written | None, error: BaseException | None = None
            ) -> None:
    pending.written, pending.error, pending.done = written, error, True
    pending.wake.set()


def _answer(pending: _Pending) -> Written:
    if pending.error is not None:
        raise pending.error
    assert pending.written is not None
    return pending.written
