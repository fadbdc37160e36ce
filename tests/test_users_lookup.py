"""Key lookups on an event loop (PostgreSQL): one connection per loop, however many
requests ask at once; the keys asked for while a lookup is under way go together in the
next one, each answered for itself, and none by a query sent before it was asked for; a
lost connection costs at most the lookups queued on it, and the next one connects again;
a store closed closes them."""

from __future__ import annotations

import asyncio
import time
import uuid

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


def test_keys_asked_for_at_once_share_lookups_and_each_gets_its_own_answer(pg_settings):
    users = open_users(pg_settings)
    keys = {f"Treasurer {i}": users.add(f"Treasurer {i}", "treasurer") for i in range(5)}
    sponsor_key = users.add("Sponsor", "sponsor", sponsor_id=uuid.uuid4())
    revoked_key = users.add("Revoked", "auditor")
    users.revoke("Revoked")
    asked = [*keys.values(), sponsor_key, revoked_key, "lk_" + "y" * 43, "not a key"] * 8
    sent = []
    select = users._select_keys

    async def counted(digests):  # the real lookup, counted
        sent.append(len(digests))
        return await select(digests)

    users._select_keys = counted
    try:
        async def session() -> list:
            await users.authenticate_async(sponsor_key)  # the connection is open
            sent.clear()
            return await asyncio.gather(*(users.authenticate_async(k) for k in asked))

        found = asyncio.run(session())
    finally:
        users.close()
    names = {key: name for name, key in keys.items()} | {sponsor_key: "Sponsor"}
    assert [u.name if u else None for u in found] == [names.get(k) for k in asked]
    assert all(u.role == "sponsor" and u.sponsor_id for u, k in zip(found, asked)
               if k == sponsor_key)
    # 72 requests, far fewer queries; each well-formed key (8 of them) once per query
    assert 1 <= len(sent) <= 3 and sum(sent) <= 3 * 8


def test_a_key_revoked_while_a_lookup_is_under_way_is_refused_by_the_next(pg_settings):
    users = open_users(pg_settings)
    key = users.add("Le Van Nam", "treasurer")
    select = users._select_keys

    async def slow(digests):  # the real lookup, taking a while
        rows = await select(digests)
        await asyncio.sleep(0.2)
        return rows

    users._select_keys = slow
    try:
        async def session() -> tuple:
            first = asyncio.ensure_future(users.authenticate_async(key))
            await asyncio.sleep(0.05)  # its query has gone; the key is revoked meanwhile
            await asyncio.to_thread(users.revoke, "Le Van Nam")
            second = await users.authenticate_async(key)
            return await first, second

        first, second = asyncio.run(session())
    finally:
        users.close()
    assert first is not None and first.name == "Le Van Nam"
    assert second is None
