"""The cyclic garbage collector, held back while the ledger works through many events.

Bulk work allocates a few dozen objects per event or row and frees nearly all of them by
reference counting; the collector would still walk the young objects every 700
allocations and, every hundred such walks, every object of the process (the library, the
ledger, the web modules). Three ways to hold it back:

- `collector_paused`, while a projection runner catches up (a server's threads share
  it, so nested and concurrent pauses are counted): off altogether. A batch keeps
  thousands of decoded events alive while the fold allocates rows, and the collector
  kept scanning them: a sixth of a catch-up's time.
- `few_collections`, for a process that only imports (the `ledger import` command, its
  workers): the objects alive at the start moved out of the collector's sight
  (`gc.freeze`), and the young ones walked only every 100,000 allocations. This cut the
  import's time per row by about a tenth (`scripts/bench_import.py`); cycles are still
  collected, later, so memory stays flat through an import of any length.
- `settle_server`, once a server has started: the same, for the rest of the process. Every
  collection of the old objects walked the whole server (the library, FastAPI's routes and
  models, the ledger): pauses that every request in flight waited out.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: allocations between walks of the young objects (the interpreter's default is 700)
YOUNG_THRESHOLD = 100_000


@contextmanager
def few_collections() -> Iterator[None]:
    """Within: objects alive at entry frozen, young objects walked less often. On exit the
    thresholds are restored, and the objects unfrozen unless some were frozen before
    (`gc.unfreeze` cannot tell them apart: a freeze made outside is kept whole)."""
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    thresholds = _walk_young_less()
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_before:
            gc.unfreeze()


_settled = False


def settle_server() -> None:
    """Once per process, when a server has opened what it keeps for its lifetime: cyclic
    garbage collected, every object alive then frozen (out of the collector's sight), and
    young objects walked every `YOUNG_THRESHOLD` allocations. (Once: a test process starts
    many apps, and each freeze would keep all that was alive for good.)"""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    _walk_young_less()


def _walk_young_less() -> tuple[int, int, int]:
    """Young objects walked every `YOUNG_THRESHOLD` allocations; the thresholds before."""
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, thresholds[1], thresholds[2])
    return thresholds


class _CollectorPause:
    """Pauses the collector, process-wide. What a runner's read and fold make holds no
    reference cycles and is freed by reference counting; the collector resumes (if it
    was on) when the last of nested or concurrent pauses ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._resume = False

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._depth += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0 and self._resume:
                gc.enable()


collector_paused = _CollectorPause()
