"""The read side the routes use: the read models of `ledger.projections`, kept current by
this process's runner, or followed while another process keeps them (`views` setting)."""

from __future__ import annotations

from ledger.application import Ledger
from ledger.projections import ReadModels
from ledger.settings import Settings


def open_read_models(settings: Settings, ledger: Ledger, *, start: bool = True) -> ReadModels:
    models = ReadModels(ledger, settings)
    if settings.views == "elsewhere":
        models.follow()
    elif start:
        models.start()
    return models
