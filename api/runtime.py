"""What one API process holds: the ledger application, the read models and the users.

Each is opened on first use (so an app built by `create_app()` works with or without its
lifespan running, as under a bare `TestClient`) and all are closed when the app shuts down.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ledger.application import Ledger
from ledger.settings import Settings
from ledger.storage import describe, open_ledger
from ledger.users import UserStore, open_users


class Runtime:
    def __init__(self, settings: Settings, *, start_read_models: bool = True) -> None:
        self.settings = settings
        self.database = describe(settings)
        self._start_read_models = start_read_models
        self._lock = threading.Lock()
        self._opened: dict[str, Any] = {}

    def _once(self, name: str, factory: Callable[[], Any]) -> Any:
        found = self._opened.get(name)
        if found is not None:
            return found
        with self._lock:
            if name not in self._opened:
                self._opened[name] = factory()
            return self._opened[name]

    @property
    def ledger(self) -> Ledger:
        return self._once("ledger", lambda: open_ledger(self.settings))

    @property
    def users(self) -> UserStore:
        return self._once("users", lambda: open_users(self.settings))

    @property
    def donations(self) -> Any:
        """Donations recorded with group commit (see `api.group_commit`)."""
        from api.group_commit import DonationGroupCommit

        ledger, users = self.ledger, self.users
        return self._once("donations", lambda: DonationGroupCommit(ledger, users=users))

    @property
    def read_models(self) -> Any:
        from api.reads import open_read_models

        ledger = self.ledger
        return self._once("read_models", lambda: open_read_models(
            self.settings, ledger, start=self._start_read_models))

    @property
    def visibility(self) -> Any:
        """Read-your-writes waits, coalesced (see `api.visibility`)."""
        from api.visibility import Visibility

        models = self.read_models
        return self._once("visibility", lambda: Visibility(models))

    def open(self) -> None:
        """Opens everything now (at server start, so a bad setting fails at once)."""
        self.ledger  # noqa: B018 - opening is the point
        self.users  # noqa: B018
        self.read_models  # noqa: B018

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, {}
        for resource in reversed(list(opened.values())):
            # the read models stop; the ledger and the users close; the rest hold nothing
            closing = getattr(resource, "stop", None) or getattr(resource, "close", None)
            if closing is not None:
                closing()
