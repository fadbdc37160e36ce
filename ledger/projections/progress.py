"""The views' progress, told across processes (PostgreSQL LISTEN/NOTIFY).

A runner's view transaction ends by announcing, on the views' channel, the lowest
position every view it keeps will have reached (`announce`). PostgreSQL delivers the
notification at commit, so no process hears of a position before the views hold it, and
a position announced is never ahead of the database. A process that answers writes while
another process keeps the views (`ledger serve` with its views apart) follows that
channel, and answers each write as soon as the views have reached it.

`Listener` is the one way this code LISTENs: a thread on a connection of its own that
hands every payload on, says when it may have missed some (at each (re)connection), and
tries again every second while the database does not answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psycopg
import structlog
from psycopg import sql

from ledger.postgres_recorder import channel_name

log = structlog.get_logger("ledger.projections")

def channel(schema: str) -> str:
    """The channel on which the views in this schema announce their progress."""
    return channel_name(schema, "views")


#: the statement that announces a position (delivered when its transaction commits)
ANNOUNCE = "SELECT pg_notify(%s, %s)"


class Listener:
    """LISTENs on one channel in a thread of its own until `stop`.

    `heard(payload)` is called for each notification; `connected()` once the LISTEN is in
    place (at start and after each reconnection: what was sent while nobody listened is
    lost, so the caller catches up); `lost()` when the connection breaks."""

    def __init__(
        self, url: str, channel: str, *, name: str,
        heard: Callable[[str], None],
        connected: Callable[[], None] = lambda: None,
        lost: Callable[[], None] = lambda: None,
    ) -> None:
        self.url = url
        self.channel = channel
        self.name = name
        self._heard = heard
        self._connected = connected
        self._lost = lost
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        #: whether the LISTEN is in place now
        self.listening = False

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self.run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        listen = sql.SQL("LISTEN {}").format(sql.Identifier(self.channel))
        failures = 0
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(listen)
                    self.listening = True
                    self._connected()
                    if failures:
                        log.info("listening again", channel=self.channel, after=failures)
                    failures = 0
                    while not self._stopping.is_set():
                        for notify in conn.notifies(timeout=0.1):
                            self._heard(notify.payload)
            except Exception:  # noqa: BLE001 - a listener outlives a broken connection
                self.listening = False
                self._lost()
                failures += 1
                if failures == 1:  # once per outage, not every second of it
                    log.warning("listening lost; trying again every second",
                                channel=self.channel, exc_info=True)
                self._stopping.wait(1.0)
            finally:
                self.listening = False
