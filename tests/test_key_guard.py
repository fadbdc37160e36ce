"""A donation recorded on condition that its key is still active (PostgreSQL): the
transaction that records it first finds the key active (`PostgresUsers.key_guard`, run by
the recorder under its table lock), so the express lane answers a treasurer it has seen
before without looking the key up again, and a key revoked meanwhile is still refused
before anything is recorded, whatever else shares its transaction."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from api.group_commit import DonationGroupCommit
from ledger.application import Ledger
from ledger.postgres_recorder import GuardRefused
from ledger.settings import Settings
from ledger.storage import environment
from ledger.users import key_hash, open_users
from test_api_group_commit import donation
from test_api_support import money, serving

pytest_plugins = ["test_api_support"]
pytestmark = pytest.mark.postgres


@pytest.fixture(name="parts")
def _parts(pg_settings: Settings) -> Iterator[tuple[Ledger, Any, uuid.UUID]]:
    """A ledger with funds F0..F3 and a sponsor, and its users, on a fresh schema."""
    ledger = Ledger(environment(pg_settings))
    users = open_users(pg_settings)
    for i in range(4):
        ledger.open_fund(f"F{i}", f"Fund {i}", actor="t")
    sponsor = uuid.UUID(ledger.register_sponsor("S", "clan", actor="t").result["id"])
    yield ledger, users, sponsor
    users.close()
    ledger.close()


def events(ledger: Ledger) -> int:
    return len(ledger.recorder.select_notifications(1, 100_000))


@pytest.mark.parametrize("size", [1, 60])  # one insert statement; COPY (120 events)
def test_a_batch_with_a_revoked_key_records_nothing_and_its_other_donations_go_in_alone(
        parts, size):
    ledger, users, sponsor = parts
    keep, gone = users.add("Mai", "treasurer"), users.add("Lan", "treasurer")
    users.revoke("Lan")
    commit = DonationGroupCommit(ledger, users=users)
    assert commit.checks_keys
    before = events(ledger)
    with pytest.raises(GuardRefused):  # on its own: refused, nothing recorded
        commit.record("t", key_hash(gone), **donation(sponsor, "F0"))
    assert events(ledger) == before

    # one transaction for all, refused whole by the revoked key, then each on its own
    bad = min(5, size - 1)
    items = [(key_hash(gone) if i == bad else key_hash(keep), donation(sponsor, f"F{i % 4}"))
             for i in range(size)]
    with ledger.recorder.guarded(users.key_guard([k for k, _ in items])), \
            pytest.raises(GuardRefused):
        ledger.record_donations([item for _, item in items], actor="t")
    assert events(ledger) == before
    futures = [commit.submit("t", key, **item) for key, item in items]
    answers = []
    for future in futures:
        try:
            answers.append(future.result(30).created)
        except GuardRefused:
            answers.append("refused")
    expected: list[Any] = [True] * size
    expected[bad] = "refused"
    assert answers == expected
    assert events(ledger) == before + 2 * expected.count(True)  # a donation, a receipt
    commit.close()


def test_a_donation_without_a_key_to_check_is_recorded_as_ever(parts):
    ledger, users, sponsor = parts
    commit = DonationGroupCommit(ledger, users=users)
    assert commit.record("t", **donation(sponsor, "F1")).created
    commit.close()


def test_a_key_hash_that_is_not_one_is_no_statement(parts):
    _, users, _ = parts
    for wrong in ([], ["'; DROP TABLE users; --"], ["A" * 64]):
        with pytest.raises(ValueError):
            users.key_guard(wrong)


@pytest.mark.parametrize("case", ["a new donation", "a replay", "an unknown fund",
                                  "an unknown sponsor", "a body the model refuses"])
def test_a_known_treasurer_revoked_meanwhile_hears_401_and_records_nothing(pg_settings,
                                                                             case):
    with serving(pg_settings) as api:
        assert api.post("/v1/funds", {"code": "KG", "name": "Guarded"}).status_code == 201
        sponsor = api.sponsor("Agribank")
        key = api.add_user("Tran Thi Mai", "treasurer")

        def give(body: dict[str, Any], code: str = "KG") -> Any:
            return api.http.post(f"/v1/funds/{code}/donations", json=body,
                                 headers={"Authorization": f"Bearer {key}"})

        first = {"id": str(uuid.uuid4()), "sponsor_id": sponsor, "amount": money("1000"),
                 "received_on": "2025-09-01", "method": "cash"}
        assert give(first).status_code == 201  # the lane knows the key from now on
        assert give({**first, "id": str(uuid.uuid4())}).status_code == 201
        api.app.state.runtime.users.revoke("Tran Thi Mai")
        before = api.events()
        body, code = {**first, "id": str(uuid.uuid4())}, "KG"
        if case == "a replay":  # of a donation recorded while the key was active
            body = first
        elif case == "an unknown fund":
            code = "NOSUCH"
        elif case == "an unknown sponsor":
            body["sponsor_id"] = str(uuid.uuid4())
        elif case == "a body the model refuses":
            body["amount"] = money("-5")
        r = give(body, code)
        assert r.status_code == 401, r.text
        assert r.json()["type"] == "/problems/unauthenticated"
        assert api.events() == before
        assert give(first).status_code == 401  # and so on
        figures = api.get("/v1/funds/KG").json()["figures"]
        assert figures["received_total"] == money("2000")


def test_concurrent_treasurers_one_revoked_only_hers_are_refused(pg_settings):
    with serving(pg_settings) as api:
        assert api.post("/v1/funds", {"code": "KH", "name": "Guarded"}).status_code == 201
        sponsor = api.sponsor("Agribank")
        keys = {name: api.add_user(name, "treasurer") for name in ("Mai", "Lan")}
        body = {"sponsor_id": sponsor, "amount": money("1000"), "received_on": "2025-09-01",
                "method": "cash"}

        def give(name: str) -> int:
            return api.http.post("/v1/funds/KH/donations", json={**body, "id": str(uuid.uuid4())},
                                 headers={"Authorization": f"Bearer {keys[name]}"}).status_code

        assert give("Mai") == give("Lan") == 201  # both known to the lane now
        api.app.state.runtime.users.revoke("Lan")
        statuses: dict[str, list[int]] = {"Mai": [], "Lan": []}
        start = threading.Barrier(8)

        def client(name: str) -> None:
            start.wait()
            for _ in range(10):
                statuses[name].append(give(name))

        threads = [threading.Thread(target=client, args=(n,)) for n in ["Mai", "Lan"] * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert statuses["Mai"] == [201] * 40
        assert statuses["Lan"] == [401] * 40
        figures = api.get("/v1/funds/KH").json()["figures"]
        assert figures["received_total"] == money(str(1000 * 42))


def test_the_lane_records_a_known_treasurers_donation_without_looking_her_key_up(pg_settings):
    with serving(pg_settings) as api:
        assert api.post("/v1/funds", {"code": "KI", "name": "Guarded"}).status_code == 201
        sponsor = api.sponsor("Agribank")
        users = api.app.state.runtime.users
        looked_up: list[str] = []
        ask = users.authenticate_async

        async def counted(key: str) -> Any:
            looked_up.append(key)
            return await ask(key)

        users.authenticate_async = counted
        body = {"sponsor_id": sponsor, "amount": money("1000"), "received_on": "2025-09-01",
                "method": "cash"}
        for _ in range(5):
            assert api.post("/v1/funds/KI/donations", body).status_code == 201
        assert len(looked_up) == 1


def test_a_batch_committed_before_a_broken_connection_and_a_revocation_is_answered_201(
        pg_settings):
    """The recorder retries an insert after a broken connection. If the first attempt had
    committed and the key was revoked in between, the retry's guard refuses: the batch is
    then found stored as made, and answered as recorded (not refused, which would be a
    lost write)."""
    import time

    from eventsourcing.persistence import OperationalError

    from ledger.domain.fund import Fund

    with serving(pg_settings) as api:
        assert api.post("/v1/funds", {"code": "KL", "name": "Guarded"}).status_code == 201
        sponsor = api.sponsor("Agribank")
        key = api.add_user("Mai", "treasurer")
        body = {"sponsor_id": sponsor, "amount": money("1000"), "received_on": "2025-09-01",
                "method": "cash"}
        answers: dict[str, int] = {}

        def give(name: str) -> None:
            answers[name] = api.http.post(
                "/v1/funds/KL/donations", json={**body, "id": str(uuid.uuid4())},
                headers={"Authorization": f"Bearer {key}"}).status_code

        give("first")  # the lane knows the key from now on
        runtime = api.app.state.runtime
        ledger, users = runtime.ledger, runtime.users
        insert = ledger.recorder._insert
        broken: list[int] = []

        def committed_then_broken(events: Any, guard: bytes = b"") -> Any:
            ids = insert(events, guard)
            if guard and len(events) >= 4 and not broken:  # a batch of two donations
                broken.append(1)
                users.revoke("Mai")
                raise OperationalError("server closed the connection unexpectedly")
            return ids

        ledger.recorder._insert = committed_then_broken
        lock = ledger._locks[Fund.id_for("KL").int % len(ledger._locks)]
        with lock:  # the writer waits on the fund while B and C queue behind A
            clients = [threading.Thread(target=give, args=(n,)) for n in "ABC"]
            clients[0].start()
            time.sleep(0.3)
            for client in clients[1:]:
                client.start()
            time.sleep(0.3)
        for client in clients:
            client.join(30)
        assert broken
        assert answers == {"first": 201, "A": 201, "B": 201, "C": 201}
        figures = api.get("/v1/funds/KL").json()["figures"]
        assert figures["received_total"] == money("4000")
        give("after")
        assert answers["after"] == 401


def test_a_schema_whose_name_is_not_ascii_or_holds_the_guards_quote_is_guarded_alike():
    import psycopg

    from conftest import POSTGRES_URL, require_postgres

    require_postgres()
    for schema in (f"quỹ_{uuid.uuid4().hex[:8]}", f"x$guard$y_{uuid.uuid4().hex[:8]}"):
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            settings = Settings(database_url=POSTGRES_URL, postgres_schema=schema)
            with serving(settings) as api:
                assert api.post("/v1/funds", {"code": "KS", "name": "S"}).status_code == 201
                sponsor = api.sponsor("Agribank")
                body = {"sponsor_id": sponsor, "amount": money("1000"),
                        "received_on": "2025-09-01", "method": "cash"}
                assert [api.post("/v1/funds/KS/donations", body).status_code
                        for _ in range(3)] == [201] * 3
                api.app.state.runtime.users.revoke("treasurer")
                assert api.post("/v1/funds/KS/donations", body).status_code == 401
        finally:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
