"""Verification on SQLite and PostgreSQL against stored events tampered with by plain SQL:
every edit, deletion, insertion, reordering and rewrite is found, naming fund and seq."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any
from uuid import UUID

import orjson
import psycopg
import pytest
from click.testing import CliRunner

from ledger.application import Ledger
from ledger.audit.decode import event_hash
from ledger.audit.digest import Digest, MerkleLog
from ledger.audit.verify import digest, verify
from ledger.cli import main
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.settings import Settings, get_settings
from ledger.storage import open_ledger

D = date(2025, 9, 1)
FUND_TOPIC = "ledger.domain.fund:Fund."


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


class RawStore:
    """Plain SQL on the library's table of stored events, as a tamperer would use it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.postgres = bool(settings.database_url)

    @contextmanager
    def sql(self) -> Iterator[Any]:
        if self.postgres:
            with psycopg.connect(self.settings.database_url, autocommit=False) as conn:
                with conn.cursor() as cur:
                    yield cur
        else:
            conn = sqlite3.connect(self.settings.sqlite_path)
            try:
                yield conn.cursor()
                conn.commit()
            finally:
                conn.close()

    @property
    def table(self) -> str:
        return f'"{self.settings.postgres_schema}".ledger_events' if self.postgres \
            else "stored_events"

    def q(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.postgres else statement

    def key(self, code: str) -> Any:
        fund_id = Fund.id_for(code)
        return fund_id if self.postgres else fund_id.hex

    def events(self, code: str) -> list[tuple[int, str, dict[str, Any]]]:
        with self.sql() as cur:
            cur.execute(self.q(f"SELECT originator_version, topic, state FROM {self.table}"
                               " WHERE originator_id = ? ORDER BY originator_version"),
                        (self.key(code),))
            return [(v, t, orjson.loads(bytes(s))) for v, t, s in cur.fetchall()]

    def set_state(self, code: str, seq: int, state: dict[str, Any]) -> None:
        with self.sql() as cur:
            cur.execute(self.q(f"UPDATE {self.table} SET state = ? WHERE originator_id = ?"
                               " AND originator_version = ?"),
                        (orjson.dumps(state), self.key(code), seq))

    def delete(self, code: str, seq: int) -> None:
        with self.sql() as cur:
            cur.execute(self.q(f"DELETE FROM {self.table} WHERE originator_id = ?"
                               " AND originator_version = ?"), (self.key(code), seq))

    def insert(self, code: str, seq: int, topic: str, state: dict[str, Any]) -> None:
        with self.sql() as cur:
            cur.execute(self.q(f"INSERT INTO {self.table} (originator_id, originator_version,"
                               " topic, state) VALUES (?, ?, ?, ?)"),
                        (self.key(code), seq, topic, orjson.dumps(state)))

    def shift_up(self, code: str, from_seq: int) -> None:
        """Moves every event from `from_seq` on one place later, making room."""
        last = self.events(code)[-1][0]
        with self.sql() as cur:
            for seq in range(last, from_seq - 1, -1):
                cur.execute(self.q(f"UPDATE {self.table} SET originator_version = ?"
                                   " WHERE originator_id = ? AND originator_version = ?"),
                            (seq + 1, self.key(code), seq))

    def replace_in_receipts(self, old_to_new: dict[str, str]) -> None:
        """Rewrites every receipt that names an old hash to name the new one."""
        with self.sql() as cur:
            cur.execute(self.q(f"SELECT originator_id, state FROM {self.table}"
                               " WHERE topic = ?"), ("ledger.domain.receipt:Receipt.Issued",))
            for originator, state in cur.fetchall():
                text = bytes(state).decode()
                new = text
                for old, fresh in old_to_new.items():
                    new = new.replace(old, fresh)
                if new != text:
                    cur.execute(self.q(f"UPDATE {self.table} SET state = ? WHERE originator_id"
                                       " = ? AND originator_version = 1"),
                                (new.encode(), originator))


@pytest.fixture(name="books")
def _books(durable_settings: Settings) -> Iterator[tuple[Ledger, RawStore]]:
    """Two VND funds with donations, an allocation, an award, a payment and a transfer."""
    app = open_ledger(durable_settings)
    app.open_fund("TT", "Thien Tam", actor="t", opened_on=D)
    app.open_fund("CT", "Co Tu", actor="t", opened_on=D)
    sponsor = UUID(app.register_sponsor("Vietcombank", "organization", actor="t").result["id"])
    for amount in (5_000_000, 3_000_000, 2_000_000):
        app.record_donation("TT", sponsor, vnd(amount), received_on=D, method="bank", actor="t")
    alloc = UUID(app.allocate("TT", "2025-2026", vnd(4_000_000), actor="t",
                              allocated_on=D).result["id"])
    award = UUID(app.grant_award("TT", alloc, {"name": "Lan", "school": "Le Quy Don"},
                                 vnd(1_000_000), actor="t", granted_on=D).result["id"])
    app.disburse_award("TT", award, vnd(600_000), paid_on=D, method="cash", actor="t")
    app.transfer("TT", "CT", vnd(1_000_000), "help", actor="t", transferred_on=D)
    yield app, RawStore(durable_settings)
    app.close()


def problems(app: Ledger, **kw: Any) -> list[tuple[str | None, int | None, str]]:
    report = verify(app, **kw)
    assert report.ok == (report.problem_count == 0)
    return [(p.fund, p.seq, p.problem) for p in report.problems]


def test_a_clean_ledger_reports_no_problem(books):
    app, _ = books
    report = verify(app)
    assert report.ok and report.problems == []
    assert (report.funds, report.events) == (2, 10)


def test_an_edited_payload_is_found_at_its_seq(books):
    app, raw = books
    seq, _, state = raw.events("TT")[2]
    state["credited_minor"] = 50_000_000
    raw.set_state("TT", seq, state)
    found = problems(app)
    assert ("TT", 3, "DonationReceived: the hash does not match the stored content "
                     "(edited, or moved from another place)") in found
    assert all(fund == "TT" and s == 3 for fund, s, _ in found)


def test_a_deleted_event_in_the_middle_is_found(books):
    app, raw = books
    raw.delete("TT", 4)
    found = problems(app)
    assert ("TT", 5, "seq 4 missing before it") in found
    assert ("TT", 5, "prev_hash does not link to the hash of seq 3") in found
    assert any(f == "TT" and s == 4 and p.startswith("missing: its write") for f, s, p in found)


def test_a_deleted_last_event_is_found_by_its_write_receipt(books):
    app, raw = books
    last = raw.events("CT")[-1][0]
    raw.delete("CT", last)
    found = problems(app)
    assert any(f == "CT" and s == last and p.startswith("missing: its write")
               for f, s, p in found)
    # the other side of the transfer is still stored, alone
    assert any(f == "TT" and "transferred-in side is missing" in p for f, s, p in found)


def test_an_inserted_forged_event_is_found(books):
    app, raw = books
    events = raw.events("TT")
    _, topic, model = events[2]
    raw.shift_up("TT", 3)
    forged = dict(model, credited_minor=9_000_000, donation_id=str(UUID(int=7)),
                  prev_hash=events[1][2]["hash"])
    forged["hash"] = event_hash(str(Fund.id_for("TT")), 3, "DonationReceived", forged)
    raw.insert("TT", 3, topic, forged)
    found = problems(app)
    # stored last, the forged event is out of place, and the ones it pushed along no
    # longer hash to their content or to what their writes recorded
    assert ("TT", 3, "out of place: stored after seq 9") in found
    assert ("TT", 4, "seq 3 missing before it") in found
    assert ("TT", 4, "DonationReceived: the hash does not match the stored content "
                     "(edited, or moved from another place)") in found
    assert any(f == "TT" and s == 3 and p.startswith("differs from the event its write")
               for f, s, p in found)


def test_two_swapped_events_are_found(books):
    app, raw = books
    events = raw.events("TT")
    (s3, _, e3), (s4, _, e4) = events[2], events[3]
    raw.set_state("TT", s3, e4)
    raw.set_state("TT", s4, e3)
    found = problems(app)
    assert {(f, s) for f, s, _ in found} >= {("TT", 3), ("TT", 4)}


def test_a_rewrite_with_every_hash_recomputed_is_found_by_an_earlier_digest(books):
    app, raw = books
    kept = digest(app)
    fund_id = str(Fund.id_for("TT"))
    renamed: dict[str, str] = {}
    prev = None
    for seq, topic, state in raw.events("TT"):
        if seq == 2:
            state["credited_minor"] = 4_000_000  # 1,000,000 fewer went through the books
        if prev is not None:
            state["prev_hash"] = prev
        new = event_hash(fund_id, seq, topic[len(FUND_TOPIC):], state)
        renamed[state["hash"]] = new
        state["hash"] = prev = new
        raw.set_state("TT", seq, state)
    raw.replace_in_receipts(renamed)
    assert problems(app) == []  # the chain alone cannot tell
    found = problems(app, since=kept)
    assert len(found) == 1 and found[0][2].startswith(f"the first {kept.size} events stored")


def test_a_digest_stays_valid_while_the_ledger_grows(books):
    app, _ = books
    kept = digest(app)
    app.open_fund("NEW", "New fund", actor="t")
    report = verify(app, since=kept)
    assert report.ok and report.stored == kept.size + 2  # the Opened event and its receipt


def test_a_digest_of_more_events_than_stored_is_a_problem(books):
    app, _ = books
    kept = digest(app)
    bigger = Digest(kept.size + 5, kept.root, kept.at)
    assert any("fewer than the" in p for _, _, p in problems(app, since=bigger))


def test_the_merkle_root_is_rfc_6962s():
    import hashlib

    def h(b: bytes) -> bytes:
        return hashlib.sha256(b).digest()

    leaves = [h(b"\x00" + bytes([i])) for i in range(3)]
    log = MerkleLog()
    for leaf in leaves:
        log.append(leaf)
    # MTH(3) = H(1 ‖ H(1 ‖ l0 ‖ l1) ‖ l2)
    expected = h(b"\x01" + h(b"\x01" + leaves[0] + leaves[1]) + leaves[2])
    assert log.root() == expected.hex()


def test_the_cli_exits_1_on_a_problem_and_0_on_a_clean_ledger(books, monkeypatch):
    app, raw = books
    settings = raw.settings
    if raw.postgres:
        monkeypatch.setenv("LEDGER_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("LEDGER_POSTGRES_SCHEMA", settings.postgres_schema)
    else:
        monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
        monkeypatch.setenv("LEDGER_SQLITE_PATH", str(settings.sqlite_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        kept = runner.invoke(main, ["audit", "digest"])
        assert kept.exit_code == 0 and kept.output.startswith("ledger-digest:v1:")
        clean = runner.invoke(main, ["audit", "verify", "--since", kept.output.strip()])
        assert clean.exit_code == 0, clean.output
        assert clean.output.startswith("OK: 2 funds, 10 fund events")
        seq, _, state = raw.events("CT")[1]
        state["amount_minor"] += 1
        raw.set_state("CT", seq, state)
        broken = runner.invoke(main, ["audit", "verify", "--since", kept.output.strip()])
        assert broken.exit_code == 1
        assert "PROBLEM fund CT seq 2: TransferredIn: the hash does not match" in broken.output
        bad = runner.invoke(main, ["audit", "verify", "--since", "nonsense"])
        assert bad.exit_code == 2 and "ledger-digest:v1" in bad.output
    finally:
        get_settings.cache_clear()


def test_the_read_models_are_compared_with_a_replay(books, monkeypatch):
    from ledger.projections import ReadModels

    app, raw = books
    models = ReadModels(app, raw.settings)
    try:
        models.catch_up()
        report = verify(app, read_models=models)
        assert report.ok and report.read_models_checked
        assert report.read_models_position == app.recorder.max_notification_id()
        # a read model that disagrees with the events is a problem, named by fund
        with models.db.transaction() as tx:
            tx.execute(f"UPDATE {models.balances.t('fund_balances')} SET received = received + 1"
                       " WHERE code = ?", ("CT",))
        found = problems(app, read_models=models)
        assert any(f == "CT" and "read model received_total" in p for f, _, p in found)
        with models.db.transaction() as tx:
            tx.execute(f"UPDATE {models.events.t('fund_history')} SET actor = 'mallory'"
                       " WHERE seq = 2")
        found = problems(app, read_models=models)
        assert ("TT", 2, "the history read model differs in ['actor']") in found
        # the sponsor ledger and award register are compared with a build from the events
        with models.db.transaction() as tx:
            tx.execute(f"UPDATE {models.sponsors.t('sponsor_donations')} SET credited = 1")
            tx.execute(f"DELETE FROM {models.awards.t('award_grants')}")
        found = problems(app, read_models=models)
        assert any(p.startswith("the sponsors read model differs from a build from the "
                                "events in sponsor_donations") for _, _, p in found)
        assert any(p.startswith("the awards read model differs from a build from the "
                                "events in award_grants") for _, _, p in found)
        assert not any("__check" in p for _, _, p in found)
    finally:
        models.close()
