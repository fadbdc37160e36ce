"""What the statement tests share (no tests here): random histories written through the
application, and the checks every statement must pass against a replay of the events."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any
from uuid import UUID, uuid4

from ledger.application import Ledger
from ledger.domain.errors import LedgerError
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.statements.books import read_books
from ledger.statements.build import StatementBuilder
from ledger.statements.model import FundFigures, Statement

ACTOR = "test-treasurer"
FIRST_DAY = date(2024, 1, 1)
#: recipients of random histories: full names that must never reach a sponsor
STUDENTS = ["Nguyễn Thị Lan Anh", "Trần Văn Hùng Cường", "Lê Thị Mai Phương",
            "Phạm Đức Bình Minh", "Alăng Thị Nhi Hoa", "Bhríu Văn Khoa Đăng"]
SCHOOLS = ["Trường THPT Lê Quý Đôn", "Trường THCS Nguyễn Huệ", "Da Nang Vocational College"]
CATEGORIES = ["nghèo vượt khó", "excellent achievement", "dân tộc thiểu số"]
FUNDS = (("RV", "VND"), ("RV2", "VND"), ("RE", "EUR"))


def random_history(ledger: Ledger, seed: int, steps: int = 160) -> list[UUID]:
    """A random year and a half of activity on three funds (two VND, one EUR) from four
    sponsors, every command sent through the application (refused ones skipped), with
    effective dates in any order. Returns the sponsor ids."""
    rng = random.Random(seed)
    for code, currency in FUNDS:
        ledger.open_fund(code, f"Quỹ {code}", currency, actor=ACTOR, opened_on=FIRST_DAY)
    sponsors = [
        UUID(ledger.register_sponsor(name, kind, actor=ACTOR).result["id"])
        for name, kind in (("Công ty Sông Hàn", "organization"), ("Trần Thị Thu", "individual"),
                           ("Họ Nguyễn Hòa Vang", "clan"), ("=HYPERLINK(\"x\")", "family"))
    ]
    seen: dict[str, list[tuple[str, Any]]] = {"pledge": [], "donation": [], "allocation": [],
                                               "award": []}

    def amount(currency: str, low: int, high: int) -> Money:
        unit = 1000 if currency == "VND" else 1
        return Money(rng.randint(low, high) * unit, currency)

    def pick(kind: str, code: str) -> Any:
        choices = [i for c, i in seen[kind] if c == code]
        return rng.choice(choices) if choices else uuid4()

    for _ in range(steps):
        code, currency = rng.choice(FUNDS)
        day = FIRST_DAY + timedelta(days=rng.randrange(0, 540))
        sponsor = rng.choice(sponsors)
        op = rng.choices(
            ["pledge", "cancel", "donate", "reverse", "allocate", "release", "grant", "revoke",
             "disburse", "return", "transfer"],
            [8, 1, 24, 3, 6, 2, 8, 1, 8, 1, 2])[0]
        try:
            if op == "pledge":
                total = amount(currency, 100, 5000)
                parts = rng.randint(0, 3)
                schedule = []
                if parts:
                    share = total.minor // parts
                    dues = sorted(rng.sample(range(0, 540), parts))
                    schedule = [(FIRST_DAY + timedelta(days=d),
                                 Money(share if n < parts - 1 else total.minor - share * n,
                                       currency)) for n, d in enumerate(dues)]
                w = ledger.make_pledge(code, sponsor, total, schedule, actor=ACTOR, pledged_on=day)
                seen["pledge"].append((code, (UUID(w.result["id"]), sponsor)))
            elif op == "cancel":
                pledge_id, _ = pick("pledge", code) if seen["pledge"] else (uuid4(), None)
                ledger.cancel_pledge(code, pledge_id, "changed plans", actor=ACTOR,
                                     cancelled_on=day)
            elif op == "donate":
                pledge = None
                pledges = [p for c, p in seen["pledge"] if c == code and p[1] == sponsor]
                if pledges and rng.random() < 0.6:
                    pledge = rng.choice(pledges)[0]
                given, credited = amount(currency, 50, 3000), None
                if currency == "VND" and rng.random() < 0.2:
                    given = Money(rng.randint(100, 90000), "EUR")
                    credited = Money(given.minor * 270, "VND")
                w = ledger.record_donation(code, sponsor, given, credited, received_on=day,
                                           method=rng.choice(["bank_transfer", "cash"]),
                                           reference=rng.choice(["", "+84 905 000 111", "FT1"]),
                                           pledge_id=pledge, actor=ACTOR)
                seen["donation"].append((code, UUID(w.result["id"])))
            elif op == "reverse":
                ledger.reverse_donation(code, pick("donation", code), "bank returned it",
                                        actor=ACTOR, reversed_on=day)
            elif op == "allocate":
                w = ledger.allocate(code, rng.choice(["Đợt 1 năm học 2024-2025", "Round 2",
                                                      "Tết 2025"]),
                                    amount(currency, 100, 4000), actor=ACTOR, allocated_on=day)
                seen["allocation"].append((code, UUID(w.result["id"])))
            elif op == "release":
                ledger.release_allocation(code, pick("allocation", code),
                                          amount(currency, 10, 500), "unspent", actor=ACTOR,
                                          released_on=day)
            elif op == "grant":
                recipient = {"name": rng.choice(STUDENTS), "school": rng.choice(SCHOOLS),
                             "grade": "10", "category": rng.choice(CATEGORIES)}
                w = ledger.grant_award(code, pick("allocation", code), recipient,
                                       amount(currency, 10, 800), actor=ACTOR, granted_on=day)
                seen["award"].append((code, UUID(w.result["id"])))
            elif op == "revoke":
                ledger.revoke_award(code, pick("award", code),
                                    f"{rng.choice(STUDENTS)} left school", actor=ACTOR,
                                    revoked_on=day)
            elif op == "disburse":
                ledger.disburse_award(code, pick("award", code), amount(currency, 5, 400),
                                      paid_on=day, method="bank_transfer", actor=ACTOR)
            elif op == "return":
                ledger.record_return(code, pick("award", code), amount(currency, 1, 50),
                                     f"{rng.choice(STUDENTS)} moved", returned_on=day,
                                     actor=ACTOR)
            elif op == "transfer" and currency == "VND":
                other = "RV2" if code == "RV" else "RV"
                ledger.transfer(code, other, amount(currency, 10, 500), "sharing", actor=ACTOR,
                                transferred_on=day)
        except LedgerError:
            pass
    return sponsors


def statements_for(ledger: Ledger, start: date, end: date) -> list[Statement]:
    builder = StatementBuilder(read_books(ledger), start, end)
    return [builder.build(ledger.sponsor(UUID(i))) for i in builder.sponsor_ids()]


def check_against_replay(ledger: Ledger, statements: list[Statement], start: date,
                         end: date) -> None:
    """Every sponsor's totals add up to each fund's replayed figures; each fund's part is
    the replay; every statement adds up; each digest is the chain link it names."""
    for code in ledger.fund_codes():
        events = list(ledger.fund_events(Fund.id_for(code)))
        closing = Fund.replay(events, as_of=end).figures()
        opening = Fund.replay(events, as_of=start - timedelta(days=1)).figures()
        parts = [f for s in statements for f in s.funds if f.code == code]
        if not parts:
            assert closing["received_total"].minor == 0
            continue

        def total(name: str) -> int:
            return sum(getattr(p.totals, name).minor for p in parts)

        assert total("closing_given") == closing["received_total"].minor
        assert total("opening_given") == opening["received_total"].minor
        assert total("closing_outstanding") == closing["pledged_outstanding"].minor
        assert total("opening_outstanding") == opening["pledged_outstanding"].minor
        assert total("received") - total("reversed") == (
            closing["received_total"].minor - opening["received_total"].minor)
        for part in parts:
            t = part.totals
            assert t.closing_given.minor == (t.opening_given.minor + t.received.minor
                                             - t.reversed.minor)
            assert t.closing_overdue.minor <= t.closing_outstanding.minor or any(
                p.paid.minor < 0 for p in part.pledges)
            activity = part.activity
            assert activity == parts[0].activity  # one fund part, shared by every sponsor
            assert activity.closing == FundFigures(**closing)
            assert activity.opening == FundFigures(**opening)

        a = parts[0].activity

        def delta(name: str) -> int:
            return closing[name].minor - opening[name].minor

        assert a.received.minor - a.reversed.minor == delta("received_total")
        assert a.transferred_in.minor == delta("transferred_in")
        assert a.transferred_out.minor == delta("transferred_out")
        assert a.disbursed.minor == delta("disbursed_total")
        assert a.returned.minor == delta("returned_total")
        assert sum(g.granted.minor for g in a.by_group) == a.granted.minor
        assert sum(g.paid.minor for g in a.by_group) == a.disbursed.minor
        assert sum(g.awards for g in a.by_group) == sum(1 for x in a.awards if x.granted_in_period)
        digest = parts[0].digest
        linked = [e for e in events if e.effective_on <= end.isoformat()][-1]
        assert (digest.seq, digest.hash) == (linked.originator_version, linked.hash)
        assert ledger.history(code, after=digest.seq - 1, limit=1)[0]["hash"] == digest.hash
    for statement in statements:
        for totals in statement.totals:
            funds = [f for f in statement.funds if f.currency == totals.currency]
            for name in ("opening_given", "received", "reversed", "closing_given",
                         "closing_outstanding", "closing_overdue", "pledged"):
                assert getattr(totals, name).minor == sum(getattr(f.totals, name).minor
                                                          for f in funds)
