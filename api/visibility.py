"""Read-your-writes: a write is answered once the read models reflect it (bounded wait).

An async route awaits `wait`: when this process's runner keeps the views, or another
process's runner announces their progress, each batch applied releases every awaited write
at or below the position it reached (a future per write, resolved on the request's event
loop), and no thread waits.

A sync caller, or any caller while nobody tells this process of the views' progress,
uses `wait_for`.
Many requests wait at once under load; rather than each of them polling the views'
positions (which starves the very thread that moves them), one waiting request at a time
asks the read models, for the lowest position anyone waits for, and every request whose
write is at or below the position reached is released together.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import threading
import time
from typing import Any

import anyio.to_thread
import structlog

log = structlog.get_logger("api.visibility")


#: seconds between a waiting write's questions to the database
RECHECK = 0.25


class Visibility:
    def __init__(self, read_models: Any) -> None:
        self.read_models = read_models
        self._seen = 0
        self._waiting: dict[int, int] = {}  # position → how many requests wait for it
        self._checking = False
        self._cond = threading.Condition()
        #: awaited positions: (position, order, loop, future), lowest first
        self._awaited: list[tuple[int, int, Any, asyncio.Future[bool]]] = []
        self._order = itertools.count()
        self._awaited_lock = threading.Lock()
        self._abandoned = 0  # entries of waits that ended unanswered
        self._asked_at = -RECHECK
        listeners = getattr(read_models, "progress_listeners", None)
        if listeners is not None:
            listeners.append(self._advanced)

    async def wait(self, position: int | None, timeout: float) -> bool:
        """As `wait_for`, awaited: when the views' progress is told to this process (see
        `ReadModels.live`), no thread waits; each batch resolves every write it covered at
        once. Every `RECHECK` seconds a wait not yet answered asks the database too (one
        waiter for all), as the views may have moved unheard (another worker's runner)."""
        if position is None or position <= self._seen:
            return True
        models = self.read_models
        if not models.live:
            # nobody tells this process of the views' progress: ask as ever
            return await anyio.to_thread.run_sync(self.wait_for, position, timeout)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[bool] = loop.create_future()
        with self._awaited_lock:
            heapq.heappush(self._awaited, (position, next(self._order), loop, future))
        self._advanced(models.reached())  # it may have got there meanwhile
        models.nudge()
        deadline = loop.time() + timeout
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return False
                try:
                    return await asyncio.wait_for(asyncio.shield(future),
                                                  min(remaining, RECHECK))
                except TimeoutError:
                    await self._ask_database(loop)
        finally:
            if not future.done():
                future.cancel()
                self._forget_one()

    async def _ask_database(self, loop: Any) -> None:
        """Releases the waits the views' stored positions cover (at most one question per
        `RECHECK` seconds, whoever asks)."""
        if loop.time() - self._asked_at < RECHECK:
            return
        self._asked_at = loop.time()
        try:
            reached = await anyio.to_thread.run_sync(self.read_models.stored_position)
        except Exception:  # noqa: BLE001 - the write is committed: a database that does not
            # answer now must not turn its answer into an error (a client without an id
            # would send it again); the wait ends at its timeout, as when the views lag
            log.warning("could not ask the read models' position", exc_info=True)
            return
        self._advanced(reached)

    def _forget_one(self) -> None:
        """A wait ended unanswered: its entry stays in the heap until the views pass it,
        and the heap is compacted once such entries are most of it."""
        with self._awaited_lock:
            self._abandoned += 1
            if self._abandoned > 64 and 2 * self._abandoned > len(self._awaited):
                self._awaited = [e for e in self._awaited if not e[3].done()]
                heapq.heapify(self._awaited)
                self._abandoned = 0

    def _advanced(self, reached: int) -> None:
        """The runner's views reached `reached`: every write at or below it is visible."""
        if reached > self._seen:
            self._seen = reached
        released = []
        with self._awaited_lock:
            while self._awaited and self._awaited[0][0] <= reached:
                entry = heapq.heappop(self._awaited)
                if entry[3].done():
                    self._abandoned = max(0, self._abandoned - 1)
                else:
                    released.append(entry)
        for _, _, loop, future in released:
            with contextlib.suppress(RuntimeError):  # its loop has closed: nobody waits
                loop.call_soon_threadsafe(_resolve, future)

    def wait_for(self, position: int | None, timeout: float) -> bool:
        """True once the read models have processed `position` (None: at once); False
        after `timeout` seconds."""
        if position is None or position <= self._seen:
            return True
        deadline = time.monotonic() + timeout
        with self._cond:
            self._waiting[position] = self._waiting.get(position, 0) + 1
            try:
                while position > self._seen:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    if self._checking:
                        self._cond.wait(remaining)
                        continue
                    self._check(min(self._waiting), remaining)
                return True
            finally:
                self._waiting[position] -= 1
                if not self._waiting[position]:
                    del self._waiting[position]

    def _check(self, target: int, remaining: float) -> None:
        """Waits (outside the lock) for the lowest awaited position, then releases every
        request at or below it."""
        self._checking = True
        self._cond.release()
        reached = 0
        try:
            if self.read_models.wait_for(target, remaining):
                # the views move in batches: release everyone the batch covered
                reached = target
                with contextlib.suppress(Exception):  # (the target at least)
                    reached = max(self.read_models.position(), target)
        finally:
            self._cond.acquire()
            self._checking = False
            self._seen = max(self._seen, reached)
            self._cond.notify_all()


def _resolve(future: asyncio.Future[bool]) -> None:
    if not future.done():  # not timed out meanwhile
        future.set_result(True)
