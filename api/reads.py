"""The read side the routes use: the read models of `ledger.projections`.

`open_read_models` starts them in this process (so `ledger serve` keeps its views current).
"""

from __future__ import annotations

from typing import Any

from ledger.application import Ledger
from ledger.settings import Settings


def open_read_models(settings: Settings, ledger: Ledger, *, start: bool = True) -> Any:
    from ledger.projections import ReadModels

    models = ReadModels.open(ledger, settings)
    try:
        models.wait_for(None, 0)
    except NotImplementedError:  # TEMPORARY until the read models land
        return _LedgerReads(ledger)
    if start:
        models.start()
    return models


class _LedgerReads:
    """Temporary: reads straight from the event store until the read models land."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def wait_for(self, position: int | None, timeout: float = 5.0) -> bool:
        return True

    def fund(self, code: str) -> dict[str, Any] | None:
        from ledger.domain.errors import FundNotFound

        try:
            found = self.ledger.fund(code)
        except FundNotFound:
            return None
        found = dict(found)
        found["figures"] = {k: v.as_json() for k, v in found["figures"].items()}
        return found

    def funds(self) -> list[dict[str, Any]]:
        return [f for c in self.ledger.fund_codes() if (f := self.fund(c)) is not None]

    def history(self, code: str, after: int = 0, limit: int = 100) -> list[dict[str, Any]] | None:
        from ledger.domain.errors import FundNotFound

        try:
            return self.ledger.history(code, after, limit)
        except FundNotFound:
            return None

    def sponsor(self, sponsor_id: Any) -> dict[str, Any] | None:
        from ledger.domain.errors import SponsorNotFound

        try:
            return self.ledger.sponsor(sponsor_id)
        except SponsorNotFound:
            return None

    def close(self) -> None:
        pass
