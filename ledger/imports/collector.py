"""Fewer runs of the cyclic garbage collector while a command imports a file.

An import allocates a few dozen objects per row (cells, events, their JSON) and frees
nearly all of them by reference counting at once; the collector would still walk the
young objects every 700 allocations and, every hundred such walks, every object of the
process (the library, the ledger, the web modules). `few_collections` moves the objects
alive at the start out of the collector's sight (`gc.freeze`) and walks the young ones
only every 100,000 allocations, which cuts the import's CPU per row by about a tenth
(`scripts/bench_import.py`). Cycles are still collected, later; memory stays flat.

For a process that only imports (the `ledger import` command, its workers), not a server.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: allocations between walks of the young objects (the interpreter's default is 700)
YOUNG_THRESHOLD = 100_000


@contextmanager
def few_collections() -> Iterator[None]:
    """Within: objects alive at entry frozen, young objects walked less often. On exit the
    thresholds are restored, and the objects unfrozen unless some were frozen before
    (`gc.unfreeze` cannot tell them apart: a freeze made outside is kept whole)."""
    thresholds = gc.get_threshold()
    frozen_before = gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, thresholds[1], thresholds[2])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        if not frozen_before:
            gc.unfreeze()
