"""The read side the routes use: the read models of `ledger.projections`, run in this
process (so `ledger serve` keeps its own views current and can wait for them)."""

from __future__ import annotations

from ledger.application import Ledger
from ledger.projections import ReadModels
from ledger.settings import Settings


def open_read_models(settings: Settings, ledger: Ledger, *, start: bool = True) -> ReadModels:
    models = ReadModels(ledger, settings)
    if start:
        models.start()
    return models
