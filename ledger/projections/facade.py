"""`ReadModels`: the read side of the ledger as one object.

Built from a `Ledger` and its `Settings`, it owns the views (in the events' database),
runs them in background threads (`start`/`stop`, as `ledger serve` does) and answers the
reads the API and the CLI need. Money in every answer is `{"amount", "currency"}`.
"""

from __future__ import annotations

import threading
import time
from typing import Any
from uuid import UUID

from ledger.application import Ledger, today
from ledger.projections import progress
from ledger.projections.awards import AwardRegister
from ledger.projections.balances import Balances
from ledger.projections.database import Database
from ledger.projections.history import History
from ledger.projections.rebuild import rebuild
from ledger.projections.runner import BATCH_SIZE, Runner, wait_until
from ledger.projections.sponsors import SponsorLedger
from ledger.projections.view import View
from ledger.settings import Settings
from ledger.storage import schema_changes

#: every read model, by name
VIEWS: dict[str, type[View]] = {
    v.name: v for v in (Balances, SponsorLedger, AwardRegister, History)
}


class ReadModels:
    """Every read model of one ledger."""

    def __init__(
        self,
        app: Ledger,
        settings: Settings,
        *,
        batch_size: int = BATCH_SIZE,
        poll_interval: float | None = None,
    ) -> None:
        self.app = app
        self.settings = settings
        self.db = Database(settings)
        self.balances = Balances()
        self.sponsors = SponsorLedger()
        self.awards = AwardRegister()
        self.events = History()
        self.views: list[View] = [self.balances, self.sponsors, self.awards, self.events]
        self._create_tables()
        self._progress = threading.Condition()
        #: called (in the runner's or the follower's thread) with the lowest position the
        #: views reached, after each batch this process's runner applies, or as another
        #: process's runner announces it
        self.progress_listeners: list[Any] = []
        if poll_interval is None:
            poll_interval = 1.0 if self.db.postgres else 0.25
        self.channel = progress.channel(settings.postgres_schema)
        self.runner = Runner(
            app, self.db, self.views, batch_size=batch_size, poll_interval=poll_interval,
            on_progress=self._notify, announce=self.channel,
        )
        #: the highest position another process's runner announced
        self._heard = 0
        self._follower: progress.Listener | None = None

    def _create_tables(self) -> None:
        with schema_changes(self.settings), self.db.transaction(immediate=True) as tx:
            for view in self.views:
                view.create(tx)
                tx.execute(
                    "INSERT INTO projection_tracking (view, position) VALUES (?, 0)"
                    " ON CONFLICT (view) DO NOTHING", (view.tracking,),
                )

    # ---- running ----------------------------------------------------------------------------

    def start(self) -> None:
        """Keeps every view current in background threads until `stop`."""
        self.runner.start()

    def follow(self) -> None:
        """Follows the views another process keeps (`ledger projections run`, or the
        views process of `ledger serve`): the positions its runner announces are heard
        at once (PostgreSQL; on SQLite the database is asked, now and then)."""
        if not self.db.postgres or self._follower is not None:
            return

        def heard(payload: str) -> None:
            try:
                self._reached(int(payload))
            except ValueError:
                pass  # not an announcement of this ledger's runners

        def connected() -> None:  # what was announced while nobody listened
            self._reached(self.stored_position())

        self._follower = progress.Listener(self.db.url, self.channel, name="views-follow",
                                           heard=heard, connected=connected)
        self._follower.start()

    @property
    def live(self) -> bool:
        """Whether the views' progress is told to this process as it happens: its runner
        keeps them, or it follows another process's announcements."""
        return self.runner.running or (self._follower is not None and self._follower.listening)

    def reached(self) -> int:
        """The lowest position every view has reached, as this process was last told
        (0 when it does not know)."""
        return max(self.runner.lowest_known(), self._heard)

    def nudge(self) -> None:
        """Wakes this process's runner (a write is waiting for it)."""
        self.runner.wake.set()

    def _reached(self, position: int) -> None:
        if position > self._heard:
            self._heard = position
            self._tell(position)

    def stop(self) -> None:
        """Stops the background threads and closes the views' connections."""
        if self._follower is not None:
            self._follower.stop()
            self._follower = None
        self.runner.stop()
        self.db.close()

    def run_forever(self) -> None:
        """Keeps every view current in this thread until `stop` (from another thread)."""
        self.runner.run_forever()

    def catch_up(self) -> None:
        """Brings every view up to the last stored event, in this thread."""
        self.runner.catch_up()

    def rebuild(self, name: str, progress: Any = None) -> int:
        """Rebuilds the named view from scratch beside the live one and swaps it in."""
        return rebuild(self.app, self.db, VIEWS[name], batch_size=self.runner.batch_size,
                       progress=progress)

    def _notify(self) -> None:
        self._tell(self.runner.lowest_known())

    def _tell(self, reached: int) -> None:
        with self._progress:
            self._progress.notify_all()
        for listener in list(self.progress_listeners):
            listener(reached)

    def _pause(self, seconds: float) -> None:
        with self._progress:
            self._progress.wait(seconds)

    def position(self) -> int:
        """The lowest position every view has reached: as this process was told (by its
        runner, or by another process's announcements), else as the database says."""
        return self.reached() or self.stored_position()

    def stored_position(self) -> int:
        """The lowest position of every view, as the database holds it now."""
        return min(self.db.positions([v.tracking for v in self.views]).values())

    def wait_for(self, position: int | None, timeout: float) -> bool:
        """True once every view has processed notification id `position` (at once for
        None); False if that takes longer than `timeout` seconds."""
        if position is None or self.reached() >= position:
            return True
        self.nudge()
        names = [v.tracking for v in self.views]
        # The runner in this process reports each batch, or another process's runner
        # announces it; the database is asked now and then, in case another process keeps
        # the views unheard (SQLite, or a lost connection).
        live = self.live
        every = 0.25 if live else 0.05
        last_asked = [time.monotonic() if live else -every]

        def there() -> bool:
            if self.reached() >= position:
                return True
            now = time.monotonic()
            if now - last_asked[0] < every:
                return False
            last_asked[0] = now
            try:
                return min(self.db.positions(names).values()) >= position
            except Exception:  # noqa: BLE001 - the write is committed whatever the views
                # say: a database that does not answer now only lets the wait run on
                return False

        return wait_until(there, timeout, self._pause)

    # ---- reads ------------------------------------------------------------------------------

    def funds(self) -> list[dict[str, Any]]:
        """Every fund with its figures and counts, by code."""
        with self.db.transaction() as tx:
            return self.balances.funds(tx)

    def fund(self, code: str) -> dict[str, Any]:
        """One fund: figures, counts and cash in and out by month; FundNotFound if none."""
        with self.db.transaction() as tx:
            return self.balances.fund(tx, code)

    def history(self, code: str, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        """The fund's events with seq > `after`, oldest first, at most `limit`."""
        with self.db.transaction() as tx:
            return self.events.history(tx, code, after, limit)

    def sponsor_ledger(self, sponsor_id: UUID | str) -> dict[str, Any]:
        """The sponsor's pledges, donations and reversals, by fund."""
        with self.db.transaction() as tx:
            return self.sponsors.ledger(tx, sponsor_id, today())

    def fund_sponsorship(self, code: str, donations: int = 20) -> dict[str, Any]:
        """The fund's pledges and its latest `donations` gifts, with their sponsors."""
        with self.db.transaction() as tx:
            return self.sponsors.fund_sponsorship(tx, code, today(), donations)

    def award_register(self, code: str) -> dict[str, Any]:
        """The fund's award rounds, schools, categories and students."""
        with self.db.transaction() as tx:
            return self.awards.register(tx, code)

    def status(self) -> list[dict[str, Any]]:
        """Each view's position and lag behind the last stored event."""
        top = self.runner.top()
        positions = self.db.positions([v.tracking for v in self.views])
        return [
            {"view": v.name, "position": positions[v.tracking], "max_position": top,
             "lag": max(0, top - positions[v.tracking])}
            for v in self.views
        ]

    def close(self) -> None:
        self.stop()
