"""Key lookups on an event loop (PostgreSQL): one connection per loop, however many
requests ask at once; a lost connection costs at most the lookups queued on it, and the
next one connects again; a store closed closes them."""

from __future__ import annotations

import asyncio
import time

import psycopg
import pytest

from conftest import POSTGRES_URL
from ledger.users import LOOKUP_CONNECTION, open_users

pytestmark = pytest.mark.postgres


def _lookup_connections() -> list[int]:
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        return [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
            (LOOKUP_CONNECTION,))]


def test_lookups_share_one_connection_per_loop_and_survive_losing_it(pg_settings):
    users = open_users(pg_settings)
    key = users.add("Tran Thi Mai", "treasurer")
    before = set(_lookup_connections())
    try:
        async def many() -> list:
            return await asyncio.gather(*(users.authenticate_async(key) for _ in range(30)))

        async def session() -> None:
            found = await many()
            assert all(user is not None and user.name == "Tran Thi Mai" for user in found)
            opened = set(_lookup_connections()) - before
            assert len(opened) == 1
            with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (opened.pop(),))
            await asyncio.sleep(0.1)
            try:  # the lookup that meets the dead connection may fail (a 503 for it)
                await users.authenticate_async(key)
            except psycopg.OperationalError:
                pass
            found = await many()
            assert all(user is not None for user in found)
            assert len(set(_lookup_connections()) - before) == 1
            assert await users.authenticate_async("lk_" + "x" * 43) is None

        asyncio.run(session())
    finally:
        users.close()
    for _ in range(50):  # the server notices a closed connection a moment later
        if not set(_lookup_connections()) - before:
            break
        time.sleep(0.05)
    assert set(_lookup_connections()) - before == set()
