"""`ReadModels`: the read side of the ledger as one object (skeleton; filled in below)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.application import Ledger
from ledger.settings import Settings


class ReadModels:
    """Every read model of one ledger, kept current in background threads."""

    def __init__(self, app: Ledger, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    @classmethod
    def open(cls, app: Ledger, settings: Settings) -> ReadModels:
        return cls(app, settings)

    def start(self) -> None:
        """Runs every view in background threads until `stop`."""

    def stop(self) -> None:
        """Stops the background threads and closes connections."""

    def wait_for(self, position: int | None, timeout: float) -> bool:
        """True once every view has processed notification id `position` (None: at once)."""
        raise NotImplementedError

    def funds(self) -> list[dict[str, Any]]:
        raise NotImplementedError

    def fund(self, code: str) -> dict[str, Any]:
        raise NotImplementedError

    def history(self, code: str, after: int = 0, limit: int = 100) -> list[dict[str, Any]]:
        raise NotImplementedError

    def sponsor_ledger(self, sponsor_id: UUID | str) -> dict[str, Any]:
        raise NotImplementedError

    def award_register(self, code: str) -> dict[str, Any]:
        raise NotImplementedError

    def status(self) -> list[dict[str, Any]]:
        raise NotImplementedError
