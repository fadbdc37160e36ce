"""The runner that keeps views current: read a batch of fund events once, fold it into
every view that is behind, each view in one transaction with its tracking position.

Exactly once: a view's transaction locks its tracking row, reads the position there
(not a remembered one) and applies only the events after it, then moves the position,
all before commit. A crash anywhere loses the whole transaction; a second runner of the
same view, a re-delivery or a restart finds the position already moved and skips.

Batches: a step reads up to `batch_size` fund events after the lowest view position and
below the highest notification id at that moment. Every lower id is committed by then
(both stores serialise inserts in id order), so when the page is not full the views can
move to that highest id: other aggregates' events (receipts, sponsors) are never read.

Waking: the ledger in this process hands the runner each write it has committed (`offer`,
one of the `Ledger`'s listeners); when those notifications follow on from the views'
positions, the next step applies them at once without reading them back. A step that
finds nothing offered while this process's ledger is saving waits briefly for that offer
(its NOTIFY can arrive first). Writes of other processes wake it through LISTEN/NOTIFY on
PostgreSQL: a notification carries the last notification id of its write, so one that
announces nothing beyond what the runner has applied or been offered neither wakes it nor
sends it to read the store. On SQLite, and whenever a notification may have been lost
(the listening connection broke, or a quiet `poll_interval` passed), it asks the store;
else it reads up to the highest id announced.

Progress: on PostgreSQL each transaction that moves the views also announces the lowest
position of them all (`announce`, delivered at commit; see `ledger.projections.progress`),
so a process that follows them (a server whose views another process keeps) knows when
they show its writes.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import structlog

from eventsourcing.application import Application
from eventsourcing.utils import get_topic

from ledger.collector import collector_paused
from ledger.domain.fund import Fund
from ledger.projections.database import Database, PositionsMoved
from ledger.projections.progress import Listener
from ledger.projections.view import Item, View

log = structlog.get_logger("ledger.projections")


def fund_topics() -> tuple[str, ...]:
    """The topics of every fund event class."""
    classes = {
        value for value in vars(Fund).values()
        if isinstance(value, type) and issubclass(value, Fund.Event)
    }
    return tuple(sorted(get_topic(c) for c in classes))


FUND_TOPICS = fund_topics()
_FUND_TOPICS = frozenset(FUND_TOPICS)

Batch = list[Item]

#: events per batch while catching up: a transaction per view and batch, so larger
#: batches spread each transaction's fixed cost thinner (a live write is a small batch)
BATCH_SIZE = 5000
#: up to this many events, the views behind share one transaction (on PostgreSQL; on
#: SQLite always): a live write's batch is round trips, not work
FEW_EVENTS = 100
#: seconds a step waits for the offer of a write this process's ledger is saving, before
#: it reads from the store instead
OFFER_WAIT = 0.02


class Runner:
    """Keeps some views of one application current, batch by batch."""

    def __init__(
        self,
        app: Application[Any],
        db: Database,
        views: Sequence[View],
        *,
        batch_size: int = BATCH_SIZE,
        poll_interval: float = 1.0,
        on_progress: Callable[[], None] | None = None,
        announce: str | None = None,
    ) -> None:
        self.app = app
        #: the channel on which each step announces the views' progress (PostgreSQL), so
        #: that other processes answering writes know when the views show them
        self.announce = announce if db.postgres else None
        #: the highest position announced
        self._announced_progress = 0
        self.db = db
        self.views = list(views)
        self.batch_size = batch_size
        #: notification ids per fund event in the last range read (fund events and others)
        self._spread = 1.0
        self.poll_interval = poll_interval
        self.on_progress = on_progress
        self.wake = threading.Event()
        #: positions this runner knows its views reached (never ahead of the database)
        self.known: dict[str, int] = {}
        self._fund_ids: dict[Any, str] = {}  # fund UUID → text, worked out once
        self._reader = ThreadPoolExecutor(1, "projection-read")
        self._ahead: tuple[int, Future[tuple[Batch, int]]] | None = None
        # PostgreSQL runs views' transactions side by side; SQLite has one writer at a time
        self._pool = ThreadPoolExecutor(len(self.views), "projection-view") \
            if db.postgres and len(self.views) > 1 else None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        #: whether `run_forever` is running (in a thread that is not this runner's own)
        self._here = False
        #: notifications this process's ledger committed, by id, not yet applied
        self._offered: dict[int, Any] = {}
        self._offered_lock = threading.Lock()
        #: the highest notification id offered or applied (a NOTIFY up to it is old news)
        self._seen = 0
        #: the LISTEN by which every write (of any process) is announced, while running
        self._listening_by: Listener | None = None
        #: the highest notification id a NOTIFY announced
        self._announced = 0
        #: whether something may be stored that no announced id tells of: ask the store
        self._unannounced = True
        #: whether `known` must be read from the database again before it is trusted
        self._resync = True

    # ---- one step -------------------------------------------------------------------------

    def top(self) -> int:
        """The highest notification id stored."""
        return self.app.recorder.max_notification_id() or 0

    def read(self, after: int, top: int) -> tuple[Batch, int]:
        """The fund events after `after` up to `top` (at most a batch), decoded, and the
        position a view reaches by applying them."""
        # Key ranges of a few pages, never (after, top] at once: PostgreSQL's statistics
        # of a freshly loaded table are stale, and with them each page's plan would
        # scan and sort every row up to `top` (quadratic over a catch-up).
        # A range holds other events too (receipts, sponsors): its width follows the
        # share of fund events the last range had.
        notifications: list[Any] = []
        end = after
        while end < top and len(notifications) < self.batch_size:
            wanted = self.batch_size - len(notifications)
            stop = min(top, end + int(wanted * self._spread) + 1)
            page = self.app.recorder.select_notifications(
                end, wanted, stop=stop, topics=FUND_TOPICS, inclusive_of_start=False
            )
            notifications += page
            if len(page) < wanted:
                self._spread = min(16.0, max(1.0, (stop - end) / max(1, len(page))))
                end = stop
            else:
                end = page[-1].id
        return self._decode(notifications), end

    def _decode(self, notifications: Sequence[Any]) -> Batch:
        """The fund events among these notifications, decoded, as the views fold them."""
        to_event = self.app.mapper.to_domain_event
        ids = self._fund_ids
        batch = []
        for n in notifications:
            if n.topic not in _FUND_TOPICS:
                continue
            event = to_event(n)
            fund_id = ids.get(n.originator_id)
            if fund_id is None:
                fund_id = ids[n.originator_id] = str(n.originator_id)
            batch.append((n.id, event, type(event).__name__, fund_id))
        return batch

    def offer(self, recordings: Sequence[Any]) -> None:
        """Takes the recordings of a write this process's ledger has just committed and
        wakes the runner, whose next step applies them without reading them back if they
        follow on from the views' positions (else it reads from the store as ever)."""
        with self._offered_lock:
            offered = self._offered
            for recording in recordings:
                offered[recording.notification.id] = recording.notification
                self._seen = max(self._seen, recording.notification.id)
            if len(offered) > 4 * self.batch_size:
                offered.clear()  # far behind: the store has them
        self.wake.set()

    def _await_offer(self, low: int) -> bool:
        """Waits (at most `OFFER_WAIT`) for the offer of the notification after `low`
        while the saves this process's ledger has under way end; whether it came."""
        ended = getattr(self.app, "save_ended", None)
        if ended is None:
            return False
        offered = self._offered
        with ended:
            under_way, before = self.app.writing, self.app.saves_ended
            if not under_way:
                return False
            # a save's listeners (this runner's `offer`) are told before it ends
            ended.wait_for(lambda: low + 1 in offered
                           or self.app.saves_ended - before >= under_way, OFFER_WAIT)
        return low + 1 in offered

    @property
    def listening(self) -> bool:
        """Whether every write (of any process) is announced to this runner now."""
        return self._listening_by is not None and self._listening_by.listening

    def _top_announced(self) -> int | None:
        """The highest notification id announced, when every write would have been (the
        store need not be asked for its top: every lower id is committed, since inserts
        are serialised and a NOTIFY is delivered at commit); None when it must be asked."""
        if not self.listening or self._unannounced:
            self._unannounced = False
            return None
        return self._announced

    def _heard(self, payload: str) -> None:
        """A NOTIFY: wakes the runner if it announces a write beyond what it has."""
        try:
            announced = int(payload)
        except ValueError:  # a notification without the ids (a COPY's, another client's)
            self._unannounced = True
            self.wake.set()
            return
        self._announced = max(self._announced, announced)
        if announced > self._seen:
            self.wake.set()

    def _take_offered(self, low: int) -> tuple[Batch, int] | None:
        """The offered notifications right after `low` with no id missing between (every
        id in that run is accounted for, so nothing another writer stored is skipped),
        decoded, and the position they lead to; None if the notification after `low`
        was not offered."""
        with self._offered_lock:
            offered = self._offered
            if not offered:
                return None
            for stale in [i for i in offered if i <= low]:
                del offered[stale]
            run, end = [], low
            while end + 1 in offered and len(run) < self.batch_size:
                end += 1
                run.append(offered.pop(end))
        if not run:
            return None
        return self._decode(run), end

    def _positions(self) -> dict[str, int]:
        """Each view's position: as this runner knows it, or from the database when it
        may have moved without this runner (at start, after a poll, after a failure)."""
        names = [v.tracking for v in self.views]
        if self._resync or any(n not in self.known for n in names):
            self.known.update(self.db.positions(names))
            self._resync = False
        return {n: self.known[n] for n in names}

    def step(self) -> int:
        """Processes one batch into every view behind; the number of positions advanced
        (0 when every view is current)."""
        positions = self._positions()
        low = min(positions.values())
        ahead, self._ahead = self._ahead, None
        taken = self._take_offered(low)
        if taken is None and ahead is None and self._await_offer(low):
            taken = self._take_offered(low)
        if taken is not None:
            batch, end = taken
        elif ahead is not None and ahead[0] == low:
            batch, end = ahead[1].result()
        else:
            top = self._top_announced()
            if top is None:
                top = self.top()
            if low >= top:
                return 0
            batch, end = self.read(low, top)
        if end <= low:
            return 0
        if len(batch) == self.batch_size and taken is None:
            # more to come: read and decode the next page while this one is applied
            self._ahead = (end, self._reader.submit(self._read_after, end))
        behind = [v for v in self.views if positions[v.tracking] < end]
        try:
            if len(behind) == 1:
                self.process(behind[0], batch, low, end)
            elif self._pool is not None and len(batch) > FEW_EVENTS:
                # each view on a connection of its own: one folds while another's SQL runs
                for done in [self._pool.submit(self.process, v, batch, low, end)
                             for v in behind]:
                    done.result()
            else:
                # a live write's few events, or SQLite (one writer at a time): all the
                # views in one transaction, a fraction of the round trips
                self.process_together(behind, batch, low, end)
        except BaseException:
            self._resync = True
            raise
        if any(self.known.get(v.tracking, 0) < end for v in behind):
            self._resync = True  # a view did not get there: ask the database where it is
        self._seen = max(self._seen, end)
        if self.on_progress:
            self.on_progress()
        self._announce_reached()
        return end - low

    @property
    def catching_up(self) -> bool:
        """Whether the last step read a full batch with more to come."""
        return self._ahead is not None

    def _read_after(self, after: int) -> tuple[Batch, int]:
        top = self.top()
        return self.read(after, top) if after < top else ([], after)

    def process(self, view: View, batch: Batch, low: int, end: int) -> None:
        """Applies the batch's events after the view's position, and moves the position
        to `end`, in one transaction."""
        self.process_together([view], batch, low, end)

    def process_together(self, views: Sequence[View], batch: Batch, low: int, end: int) -> None:
        """Applies the batch's events after each view's position, and moves the
        positions to `end`, all in one transaction. When this runner knows the positions,
        their locks go with the views' first reads (one round trip fewer); if another
        runner has moved them meanwhile, the transaction is rolled back and done again."""
        names = [v.tracking for v in views]
        if not self._resync and all(n in self.known for n in names):
            try:
                self._process_together(views, batch, low, end,
                                       {n: self.known[n] for n in names})
                return
            except PositionsMoved:
                self._resync = True
        self._process_together(views, batch, low, end, None)

    def _process_together(self, views: Sequence[View], batch: Batch, low: int, end: int,
                          expected: dict[str, int] | None) -> None:
        with self.db.tracked_all([v.tracking for v in views], defer=True,
                                 expected=expected) as (tx, positions):
            moved = []
            for view in views:
                position = positions[view.tracking]
                if position >= end or position < low:
                    continue  # another runner moved it (or it went back): start there next
                start = bisect.bisect_right(batch, position, key=_id)
                view.apply(tx, batch[start:bisect.bisect_right(batch, end, key=_id)])
                moved.append(view.tracking)
            self.db.set_positions(tx, moved, end)
            reached = {v.tracking: end if low <= positions[v.tracking] < end
                       else positions[v.tracking] for v in views}
            lowest = self._lowest_with(reached)
            if self.announce and lowest > self._announced_progress:
                self.db.announce(tx, self.announce, lowest)
        self.known.update(reached)
        if self.announce:
            self._announced_progress = max(self._announced_progress, lowest)

    def _lowest_with(self, reached: dict[str, int]) -> int:
        """The lowest position of every view, once these have reached `reached` (never
        ahead of the database: the others' are as this runner last knew them)."""
        return min(reached.get(v.tracking, self.known.get(v.tracking, 0)) for v in self.views)

    def _announce_reached(self) -> None:
        """Announces the lowest position known, if a step's own announcement fell short
        of it (views that committed side by side each saw the others behind). The views
        have committed: a failure here is not the step's (the next step tries again, and
        a follower asks the database meanwhile)."""
        lowest = self.lowest_known()
        if self.announce and lowest > self._announced_progress:
            try:
                with self.db.transaction() as tx:
                    self.db.announce(tx, self.announce, lowest)
            except Exception:  # noqa: BLE001
                log.warning("could not announce the views' progress", position=lowest,
                            exc_info=True)
                return
            self._announced_progress = max(self._announced_progress, lowest)

    def lowest_known(self) -> int:
        """The lowest position of the views that this runner knows of (0 if unsure)."""
        if len(self.known) < len(self.views):
            return 0
        return min(self.known[v.tracking] for v in self.views)

    @property
    def running(self) -> bool:
        return ((self._here or any(t.is_alive() for t in self._threads))
                and not self._stopping.is_set())

    def catch_up(self) -> None:
        """Processes batches until every view is current."""
        self._resync = True
        self._unannounced = True
        with collector_paused:
            while self.step():
                pass

    def _catch_up_until_stopped(self) -> None:
        with collector_paused:
            while not self._stopping.is_set() and self.step() and self.catching_up:
                pass

    # ---- running in the background ------------------------------------------------------

    def start(self) -> None:
        """Runs in background threads until `stop`."""
        self._stopping.clear()
        self._listen_to_ledger()
        self._threads = [threading.Thread(target=self._loop, name="projections", daemon=True)]
        self._threads[0].start()

    def stop(self) -> None:
        self._stopping.set()
        self.wake.set()
        listeners = getattr(self.app, "listeners", None)
        if listeners is not None and self.offer in listeners:
            listeners.remove(self.offer)
        for thread in self._threads:
            thread.join(timeout=30)
        self._threads = []
        self._reader.shutdown(wait=True)
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    def run_forever(self) -> None:
        """Runs in the calling thread (and, on PostgreSQL, a listening thread of its own)
        until `stop`."""
        self._stopping.clear()
        self._listen_to_ledger()
        self._here = True
        try:
            self._loop()
        finally:
            self._here = False

    def _listen_to_ledger(self) -> None:
        listeners = getattr(self.app, "listeners", None)
        if listeners is not None and self.offer not in listeners:
            listeners.append(self.offer)

    def _loop(self) -> None:
        listener = self._listener() if _can_subscribe(self.app) else None
        if listener is not None:
            self._listening_by = listener
            listener.start()
        try:
            self._steps()
        finally:
            if listener is not None:
                listener.stop()
            self._listening_by = None

    def _steps(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            self.wake.clear()
            try:
                advanced = self.step()
                if self.catching_up:
                    self._catch_up_until_stopped()
            except Exception:  # noqa: BLE001 - a runner outlives a broken connection
                failures += 1
                log.exception("projection step failed", attempt=failures)
                self._stopping.wait(min(5.0, 0.1 * 2**failures))
                continue
            failures = 0
            if not advanced and not self.wake.wait(self.poll_interval):
                # a quiet spell: another process may have moved them, or written unheard
                self._resync = True
                self._unannounced = True

    def _listener(self) -> Listener:
        """Hears each write's NOTIFY (other processes' writes too) and wakes the runner for
        those it has not seen: a plain LISTEN, not the library's subscription, which would
        read every new event back only to be told that something changed. While the
        connection is lost the runner asks the store at each step, and polls."""
        def connected() -> None:
            self._unannounced = True  # what was written while nobody listened
            self.wake.set()

        def lost() -> None:
            self._unannounced = True

        return Listener(self.db.url, self.app.recorder.channel_name, name="projections-listen",
                        heard=self._heard, connected=connected, lost=lost)


def _id(item: Item) -> int:
    return item[0]


def _can_subscribe(app: Application[Any]) -> bool:
    # The library cannot subscribe to SQLite; the in-memory store needs no waking.
    from eventsourcing.postgres import PostgresApplicationRecorder

    return isinstance(app.recorder, PostgresApplicationRecorder)


def wait_until(check: Callable[[], bool], timeout: float, pause: Callable[[float], None]) -> bool:
    """Calls `check` until it is true or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        pause(min(remaining, 0.05))
