"""Retrying a create with the same id, at once from several clients on two servers (two
processes' worth of caches over one PostgreSQL schema), records it exactly once: one
client gets 201, every other 200 with the same body."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from api.app import create_app
from ledger.settings import Settings
from test_api import CREATES, replayable_world
from test_api_support import Api, LoopbackServer

pytestmark = pytest.mark.postgres
pytest_plugins = ["test_api_support"]

CLIENTS = 6

#: events a write stores: its fund events, and a receipt (a sponsor is its own record)
STORED = {"sponsor": 1, "transfer": 3}


@pytest.fixture(name="two_servers")
def _two_servers(pg_api: Api, pg_settings: Settings) -> Iterator[tuple[Api, str]]:
    """The API on PostgreSQL, and a second server (its own ledger) on the same schema."""
    second = create_app(pg_settings)
    with LoopbackServer(second) as base:
        yield pg_api, base


def test_every_kind_of_create_retried_concurrently_with_one_id_records_once(two_servers):
    api, second = two_servers
    side = replayable_world(api)
    bases = [str(api.http.base_url), second]
    for kind, make in CREATES.items():
        path, body = make(side)
        body = {**body, "id": str(uuid.uuid4())}
        before = api.events()
        answers: list[httpx.Response] = []
        start = threading.Barrier(CLIENTS)

        def send(i: int) -> None:
            with httpx.Client(base_url=bases[i % 2], timeout=30) as client:
                start.wait()
                answers.append(client.post(path, json=body, headers=api.auth("treasurer")))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200] * (CLIENTS - 1) + [201], (kind, [r.text for r in answers])
        assert len({r.content for r in answers}) == 1, kind
        assert api.events() - before == STORED.get(kind, 2), kind
