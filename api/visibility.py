"""Read-your-writes: a write is answered once the read models reflect it (bounded wait).

Many requests wait at once under load. Rather than each of them polling the views'
positions (which starves the very thread that moves them), one waiting request at a time
asks the read models, for the lowest position anyone waits for, and every request whose
write is at or below the position reached is released together.
"""

from __future__ import annotations

import threading
import time
from typing import Any


class Visibility:
    def __init__(self, read_models: Any) -> None:
        self.read_models = read_models
        self._seen = 0
        self._waiting: dict[int, int] = {}  # position → how many requests wait for it
        self._checking = False
        self._cond = threading.Condition()

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
                reached = max(self.read_models.position(), target)
        finally:
            self._cond.acquire()
            self._checking = False
            self._seen = max(self._seen, reached)
            self._cond.notify_all()
