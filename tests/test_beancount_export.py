"""`ledger export beancount`: Beancount accepts the books (bean-check, with a balance
assertion at every month end from the ledger's own figures) and computes the same
balances as the ledger, for the demo year and for random histories."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest
from beancount import loader
from beancount.core import realization
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.audit.beancount import component, fund_component, write_beancount
from ledger.cli import main
from ledger.demo import load_demo
from ledger.domain.errors import LedgerError
from ledger.domain.money import Money
from ledger.settings import Settings, get_settings
from ledger.storage import open_ledger

BEAN_CHECK = Path(sys.executable).with_name("bean-check")


def export(app: Ledger) -> str:
    out = io.StringIO()
    write_beancount(app, out)
    return out.getvalue()


def load(text: str) -> list:
    entries, errors, _ = loader.load_string(text)
    assert errors == [], [e.message for e in errors[:5]]
    return entries


def balance(entries: list, account: str, currency: str) -> Decimal:
    """What Beancount computes for an account and its sub-accounts after every entry."""
    node = realization.get(realization.realize(entries), account)
    if node is None:
        return Decimal(0)
    return realization.compute_balance(node).get_currency_units(currency).number


def assert_balances_agree(app: Ledger, entries: list) -> None:
    for code in app.fund_codes():
        fund = app.fund(code)
        cur, root = fund["currency"], f"Assets:Funds:{fund_component(code)}:Cash"
        f = {k: Decimal(m.text) for k, m in fund["figures"].items()}
        assert balance(entries, root, cur) == f["cash"]
        assert balance(entries, f"{root}:Allocated", cur) == f["allocated_unspent"]
        assert balance(entries, f"{root}:Unallocated", cur) == f["available"]
        donations = f"Income:Funds:{fund_component(code)}:Donations"
        assert -balance(entries, donations, cur) == f["received_total"]
        awards = f"Expenses:Funds:{fund_component(code)}:Awards"
        assert balance(entries, awards, cur) == f["disbursed_total"] - f["returned_total"]


@pytest.fixture(name="demo", scope="module")
def _demo() -> Ledger:
    """The demo year on the in-memory store."""
    app = open_ledger(Settings(database_url="memory:"))
    load_demo(app)
    return app


def test_the_demo_books_pass_bean_check_and_agree_with_the_ledger(demo, tmp_path):
    text = export(demo)
    path = tmp_path / "books.beancount"
    path.write_text(text, encoding="utf-8")
    checked = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    entries = load(text)
    assert_balances_agree(demo, entries)
    assert text.count(" balance ") >= 12 * len(demo.fund_codes())  # a year of month ends


def test_every_money_event_is_one_balanced_transaction_with_its_ids(demo):
    entries = load(export(demo))
    transactions = [e for e in entries if type(e).__name__ == "Transaction"]
    moving = {"DonationReceived", "DonationReversed", "AllocationMade", "AllocationReleased",
              "AwardDisbursed", "AwardReturned", "TransferredOut", "TransferredIn"}
    expected = sum(1 for code in demo.fund_codes() for e in demo.history(code)
                   if e["type"] in moving)
    assert len(transactions) == expected
    for t in transactions:
        assert t.meta["event"] in moving and len(t.meta["hash"]) == 64
        assert sum(p.units.number for p in t.postings) == 0
    foreign = [t for t in transactions if "original" in t.meta]
    assert foreign and all(t.meta["original"].endswith((" EUR", " JPY")) for t in foreign)


def test_a_wrong_month_end_balance_is_refused_by_beancount(demo):
    text = export(demo)
    line = next(x for x in text.splitlines() if " balance Assets:Funds:" in x
                and not x.endswith(" 0 VND"))
    amount = line.split()[-2]
    broken = text.replace(line, line.replace(f" {amount} ", f" {int(amount) + 1} "), 1)
    _, errors, _ = loader.load_string(broken)
    assert any("Balance failed" in e.message for e in errors)


def test_fund_codes_become_distinct_valid_account_names():
    codes = ["TT", "tt", "a_b", "a.b", "a-b", "Quỹ-Đà-Nẵng"]
    names = [fund_component(c) for c in codes]
    assert len(set(names)) == len(names)
    assert names[0] == "TT" and names[4].startswith("A-B-")
    assert all(re.fullmatch(r"[A-Z0-9][A-Za-z0-9-]*", n) for n in names)
    assert component("Đà Nẵng khuyến học") == "Da-Nang-Khuyen-Hoc"


def test_the_cli_writes_the_books_to_a_file(tmp_path, monkeypatch):
    settings = Settings(sqlite_path=tmp_path / "l.sqlite3")
    app = open_ledger(settings)
    app.open_fund("TT", 'Thien "Tam"', actor="t", opened_on=date(2025, 1, 5))
    sponsor = UUID(app.register_sponsor("Lê Văn A", "individual", actor="t").result["id"])
    app.record_donation("TT", sponsor, Money.parse("50", "EUR"), Money.parse("1400000", "VND"),
                        received_on=date(2024, 12, 30), method="bank", actor="t")
    app.close()
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    monkeypatch.setenv("LEDGER_SQLITE_PATH", str(settings.sqlite_path))
    get_settings.cache_clear()
    try:
        out = tmp_path / "books.beancount"
        result = CliRunner().invoke(main, ["export", "beancount", "--out", str(out)])
        assert result.exit_code == 0, result.output
    finally:
        get_settings.cache_clear()
    entries = load(out.read_text(encoding="utf-8"))
    # the backdated gift (before the fund's opening date) is inside the accounts' lives
    assert balance(entries, "Assets:Funds:TT:Cash", "VND") == Decimal(1400000)
    assert balance(entries, "Income:Funds:TT:Donations", "VND") == Decimal(-1400000)


STEPS = st.lists(
    st.tuples(st.sampled_from(["give", "give", "eur", "reverse", "allocate", "release", "award",
                               "return", "out", "in"]),
              st.integers(1, 900), st.integers(0, 120)),
    min_size=10, max_size=40)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS)
def test_random_histories_pass_bean_check_with_the_ledgers_balances(steps):
    app = open_ledger(Settings(database_url="memory:"))
    d0 = date(2024, 11, 20)
    app.open_fund("VN_1", "Fund one", actor="t", opened_on=d0)
    app.open_fund("vn.2", "Fund two", actor="t", opened_on=d0)
    app.open_fund("EU", "Euro fund", "EUR", actor="t", opened_on=d0)
    s = UUID(app.register_sponsor("Nguyễn \"Bá\" Thành", "family", actor="t").result["id"])
    donations: list[UUID] = []
    allocations: list[tuple[UUID, int]] = []
    paid: list[tuple[UUID, int]] = []
    for op, n, offset in steps:
        on = d0 + timedelta(offset)
        vnd = Money(n * 1000, "VND")
        try:
            if op == "give":
                donations.append(UUID(app.record_donation(
                    "VN_1", s, vnd, received_on=on, method="bank", actor="t").result["id"]))
            elif op == "eur":
                app.record_donation("EU", s, Money(n * 7, "EUR"), received_on=on, method="b",
                                    actor="t")
                app.record_donation("VN_1", s, Money(n, "EUR"), vnd, received_on=on,
                                    method="bank", reference="=SUM(A1)", actor="t")
            elif op == "reverse" and donations:
                app.reverse_donation("VN_1", donations.pop(), "bounced", actor="t", reversed_on=on)
            elif op == "allocate":
                a = UUID(app.allocate("VN_1", f"Năm học {n}", Money(n * 100, "VND"), actor="t",
                                      allocated_on=on).result["id"])
                allocations.append((a, n * 100))
            elif op == "release" and allocations:
                a, amount = allocations[-1]
                app.release_allocation("VN_1", a, Money(n % amount + 1, "VND"), "r", actor="t",
                                       released_on=on)
            elif op == "award" and allocations:
                a, amount = allocations[-1]
                w = UUID(app.grant_award("VN_1", a, {"name": "A", "school": "S"},
                                         Money(n % amount + 1, "VND"), actor="t",
                                         granted_on=on).result["id"])
                app.disburse_award("VN_1", w, Money(1 + n % (n % amount + 1), "VND"), paid_on=on,
                                   method="cash", actor="t")
                paid.append((w, 1 + n % (n % amount + 1)))
            elif op == "return" and paid:
                w, amount = paid[-1]
                app.record_return("VN_1", w, Money(1 + n % amount, "VND"), "moved",
                                  returned_on=on, actor="t")
            elif op == "out":
                app.transfer("VN_1", "vn.2", Money(n * 10, "VND"), "help", actor="t",
                             transferred_on=on)
            elif op == "in":
                app.transfer("vn.2", "VN_1", Money(n * 5, "VND"), "back", actor="t",
                             transferred_on=on)
        except LedgerError:
            pass
    entries = load(export(app))  # every month-end assertion holds
    assert_balances_agree(app, entries)
