"""Users and their API keys on memory, SQLite and PostgreSQL; the `ledger users` commands."""

from __future__ import annotations

import sqlite3
import uuid
from contextlib import contextmanager

import psycopg
import pytest
from click.testing import CliRunner

from ledger.cli import main
from ledger.domain.errors import InvalidInput
from ledger.settings import Settings, get_settings
from ledger.storage import open_ledger
from ledger.users import UserExists, UserNotFound, key_hash, open_users


@pytest.fixture(name="users")
def _users(settings: Settings):
    """The user store on each store the ledger runs on."""
    store = open_users(settings)
    yield store
    store.close()


def test_a_new_key_authenticates_its_user_and_only_that_user(users):
    key = users.add("Tran Thi Mai", "treasurer")
    other = users.add("Pham Van Duc", "auditor")
    assert users.authenticate(key).name == "Tran Thi Mai"
    assert users.authenticate(other).role == "auditor"
    assert users.authenticate(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert users.authenticate("") is None and users.authenticate("lk_short") is None


def test_a_sponsor_user_is_bound_to_one_sponsor_and_other_roles_to_none(users):
    sponsor = uuid.uuid4()
    key = users.add("Agribank portal", "sponsor", sponsor)
    assert users.authenticate(key).sponsor_id == sponsor
    with pytest.raises(InvalidInput):
        users.add("No binding", "sponsor")
    with pytest.raises(InvalidInput):
        users.add("Bound treasurer", "treasurer", sponsor)
    with pytest.raises(InvalidInput):
        users.add("Root", "superuser")


def test_a_revoked_key_stops_at_once_and_the_name_can_be_given_a_new_key(users):
    old = users.add("Le Van Nam", "treasurer")
    users.revoke("Le Van Nam")
    assert users.authenticate(old) is None
    with pytest.raises(UserNotFound):
        users.revoke("Le Van Nam")
    new = users.add("Le Van Nam", "auditor")
    assert users.authenticate(old) is None
    assert users.authenticate(new).role == "auditor"


def test_an_active_name_cannot_be_added_twice(users):
    users.add("Hoang Thi Thu", "auditor")
    with pytest.raises(UserExists):
        users.add("Hoang Thi Thu", "treasurer")


def test_the_list_shows_roles_and_revocations_and_the_store_holds_no_key(users):
    key = users.add("B", "auditor")
    users.add("A", "treasurer")
    users.revoke("B")
    listed = users.list()
    assert [(u.name, u.role, u.revoked_at is not None) for u in listed] == [
        ("A", "treasurer", False), ("B", "auditor", True)]
    assert key not in repr(listed) and key_hash(key) not in repr(listed)


@pytest.fixture(name="cli_env")
def _cli_env(sqlite_settings: Settings, monkeypatch):
    """The `ledger` command pointed at a fresh SQLite file."""
    monkeypatch.setenv("LEDGER_SQLITE_PATH", str(sqlite_settings.sqlite_path))
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield sqlite_settings
    get_settings.cache_clear()


def test_users_add_prints_the_key_as_its_last_line_and_list_never_shows_it(cli_env):
    runner = CliRunner()
    added = runner.invoke(main, ["users", "add", "Tran Thi Mai", "--role", "treasurer"])
    assert added.exit_code == 0, added.output
    key = added.output.strip().splitlines()[-1]
    store = open_users(cli_env)
    assert store.authenticate(key).name == "Tran Thi Mai"
    listed = runner.invoke(main, ["users", "list"])
    assert "Tran Thi Mai" in listed.output and "treasurer" in listed.output
    assert key not in listed.output and key_hash(key) not in listed.output
    revoked = runner.invoke(main, ["users", "revoke", "Tran Thi Mai"])
    assert revoked.exit_code == 0
    assert store.authenticate(key) is None
    assert runner.invoke(main, ["users", "revoke", "Tran Thi Mai"]).exit_code != 0


def test_users_add_for_a_sponsor_needs_a_sponsor_the_ledger_knows(cli_env):
    runner = CliRunner()
    unknown = runner.invoke(main, ["users", "add", "x", "--role", "sponsor",
                                   "--sponsor", str(uuid.uuid4())])
    assert unknown.exit_code != 0 and "no sponsor" in unknown.output
    malformed = runner.invoke(main, ["users", "add", "x", "--role", "sponsor",
                                     "--sponsor", "42"])
    assert malformed.exit_code != 0
    ledger = open_ledger(cli_env)
    sponsor = ledger.register_sponsor("Agribank", "organization", actor="t").result["id"]
    ledger.close()
    added = runner.invoke(main, ["users", "add", "Agribank portal", "--role", "sponsor",
                                 "--sponsor", sponsor])
    assert added.exit_code == 0, added.output
    assert open_users(cli_env).authenticate(added.output.splitlines()[-1]).sponsor_id == \
        uuid.UUID(sponsor)


# ---- web sessions -------------------------------------------------------------------------


class Clock:
    """A clock the test moves (Unix seconds)."""

    def __init__(self) -> None:
        self.now = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(name="timed")
def _timed(settings: Settings):
    """The user store on each store, its sessions timed by a clock the test moves
    (12 hours idle, 7 days at most: the default limits)."""
    clock = Clock()
    store = open_users(settings, clock)
    yield store, clock
    store.close()


def test_a_session_opens_only_with_an_active_key_and_answers_its_user_and_csrf(timed):
    users, _ = timed
    key = users.add("Tran Thi Mai", "treasurer")
    assert users.start_session("lk_" + "x" * 43) is None and users.start_session("") is None
    token, opened = users.start_session(key)
    assert token.startswith("ws_") and len(token) == 46 and key not in token
    found = users.session(token)
    assert found is not None and found.user.name == "Tran Thi Mai"
    assert found.user.role == "treasurer" and found.csrf == opened.csrf
    other, second = users.start_session(key)
    assert other != token and second.csrf != opened.csrf
    assert users.session(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    for odd in ("", "ws_", "é" * 46, key):
        assert users.session(odd) is None
        users.end_session(odd)  # nothing to end, nothing raised


def test_a_session_token_is_not_an_api_key(timed):
    users, _ = timed
    token, _ = users.start_session(users.add("Tran Thi Mai", "treasurer"))
    assert users.authenticate(token) is None
    assert users.authenticate("lk_" + token.removeprefix("ws_")) is None


def test_an_ended_session_is_refused(timed):
    users, _ = timed
    key = users.add("Tran Thi Mai", "treasurer")
    token, _ = users.start_session(key)
    kept, _ = users.start_session(key)
    users.end_session(token)
    assert users.session(token) is None
    assert users.session(kept) is not None  # the user's other browsers stay signed in


def test_a_session_ends_after_its_idle_time_and_lives_on_while_used(timed):
    users, clock = timed
    token, _ = users.start_session(users.add("Tran Thi Mai", "treasurer"))
    for _ in range(3):  # used every 11 hours: never 12 hours idle
        clock.now += 11 * 3600
        assert users.session(token) is not None
    clock.now += 12 * 3600
    assert users.session(token) is None


def test_a_session_ends_after_its_longest_life_however_busy(timed):
    users, clock = timed
    token, _ = users.start_session(users.add("Tran Thi Mai", "treasurer"))
    for _ in range(7 * 2):  # used twice a day for a week (to 14 seconds short of it)
        clock.now += 12 * 3600 - 1
        assert users.session(token) is not None
    clock.now += 15
    assert users.session(token) is None


def test_revoking_a_user_ends_their_sessions_and_a_new_key_does_not_revive_them(timed):
    users, _ = timed
    key = users.add("Le Van Nam", "treasurer")
    token, _ = users.start_session(key)
    other, _ = users.start_session(users.add("Pham Van Duc", "auditor"))
    users.revoke("Le Van Nam")
    assert users.session(token) is None and users.start_session(key) is None
    assert users.session(other) is not None
    new_token, _ = users.start_session(users.add("Le Van Nam", "auditor"))
    assert users.session(token) is None
    assert users.session(new_token).user.role == "auditor"


def test_a_session_of_a_name_given_a_new_key_is_refused_even_if_its_row_remained(
        durable_settings: Settings):
    """The lookup joins the key the session was opened with: a row the revocation did not
    delete (a sign-in that checked the key just before the revocation and stored its
    session just after) revives nothing once the name has a new key."""
    users = open_users(durable_settings)
    try:
        token, _ = users.start_session(users.add("Le Van Nam", "treasurer"))
        rows = _session_rows(durable_settings)
        users.revoke("Le Van Nam")
        users.add("Le Van Nam", "treasurer")
        _put_session_rows(durable_settings, rows)
        assert len(_session_rows(durable_settings)) == 1
        assert users.session(token) is None
    finally:
        users.close()


def _session_rows(settings: Settings) -> list[tuple]:
    with _database(settings) as (conn, table):
        return [tuple(r) for r in conn.execute(f"SELECT * FROM {table}").fetchall()]


def _put_session_rows(settings: Settings, rows: list[tuple]) -> None:
    with _database(settings) as (conn, table):
        marks = ", ".join(["%s" if settings.database_url else "?"] * len(rows[0]))
        for row in rows:
            conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)


@contextmanager
def _database(settings: Settings):
    """A connection to the store's database and the quoted name of its sessions table."""
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            yield conn, f'"{settings.postgres_schema}".web_sessions'
    else:
        conn = sqlite3.connect(settings.sqlite_path, isolation_level=None)
        try:
            yield conn, "web_sessions"
        finally:
            conn.close()


def test_the_sessions_table_holds_neither_the_token_nor_the_key(durable_settings: Settings):
    users = open_users(durable_settings)
    try:
        key = users.add("Tran Thi Mai", "treasurer")
        token, _ = users.start_session(key)
        stored = repr(_session_rows(durable_settings))
        assert "Tran Thi Mai" in stored and key_hash(token) in stored
        assert token not in stored and key not in stored
        users.end_session(token)
        assert _session_rows(durable_settings) == []
    finally:
        users.close()


def test_a_new_session_clears_the_expired_ones(durable_settings: Settings):
    clock = Clock()
    users = open_users(durable_settings, clock)
    try:
        key = users.add("Tran Thi Mai", "treasurer")
        users.start_session(key)
        users.start_session(key)
        clock.now += 13 * 3600
        users.start_session(key)
        assert len(_session_rows(durable_settings)) == 1
    finally:
        users.close()
