"""Users and their API keys on memory, SQLite and PostgreSQL; the `ledger users` commands."""

from __future__ import annotations

import uuid

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
