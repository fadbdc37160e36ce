"""As-of and known-at replay from raw events, checked against a plain model of the figures
over random histories with backdated events, and against the domain's own `Fund.replay`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.audit.replay import replay
from ledger.domain.errors import FundNotFound, LedgerError
from ledger.domain.money import Money
from ledger.settings import Settings
from ledger.storage import open_ledger

D0 = date(2025, 1, 1)


def vnd(amount: int) -> Money:
    return Money(amount, "VND")


@dataclass
class Recorded:
    """One fund event as the plain model sees it."""

    recorded_at: datetime
    effective_on: date
    kind: str
    amount: int = 0
    ref: str | None = None  # the pledge a donation, reversal or cancellation concerns


def model_figures(events: list[Recorded], as_of: date | None,
                  known_at: datetime | None) -> dict[str, int] | None:
    """SPEC §2's figures over the events effective by `as_of` and recorded by `known_at`."""
    known = [e for e in events if known_at is None or e.recorded_at <= known_at]
    if not known:
        return None
    seen = [e for e in known[1:] if as_of is None or e.effective_on <= as_of]
    total = {k: sum(e.amount for e in seen if e.kind == k) for k in
             ("give", "reverse", "allocate", "release", "pay", "return", "out", "in")}
    pledges: dict[str, list[Any]] = {}
    for e in seen:
        if e.kind == "pledge":
            pledges[e.ref] = [e.amount, 0, True]
        elif e.kind in ("give", "reverse") and e.ref in pledges:
            pledges[e.ref][1] += e.amount if e.kind == "give" else -e.amount
        elif e.kind == "cancel" and e.ref in pledges:
            pledges[e.ref][2] = False
    received = total["give"] - total["reverse"]
    cash = received + total["in"] - total["out"] - total["pay"] + total["return"]
    allocated = total["allocate"] - total["release"] - total["pay"]
    return {
        "received_total": received, "cash": cash, "allocated_unspent": allocated,
        "available": cash - allocated,
        "pledged_outstanding": sum(max(0, a - p) for a, p, on in pledges.values() if on),
        "transferred_in": total["in"], "transferred_out": total["out"],
        "disbursed_total": total["pay"], "returned_total": total["return"],
    }


class History:
    """Runs random commands on fund TT (and OTHER, for transfers), noting each TT event."""

    def __init__(self, app: Ledger) -> None:
        self.app = app
        self.events: list[Recorded] = []
        self.sponsor = UUID(app.register_sponsor("S", "individual", actor="t").result["id"])
        self._note(app.open_fund("TT", "Thien Tam", actor="t", opened_on=D0 + timedelta(10)),
                   "open", D0 + timedelta(10))
        app.open_fund("OTHER", "Other", actor="t", opened_on=D0)
        app.record_donation("OTHER", self.sponsor, vnd(10**9), received_on=D0, method="m",
                            actor="t")
        self.donations: list[tuple[UUID, int, str | None]] = []
        self.pledges: list[UUID] = []
        self.allocations: list[tuple[UUID, int]] = []
        self.awards: list[tuple[UUID, int]] = []
        self.paid: list[tuple[UUID, int]] = []

    def _note(self, written: Any, kind: str, on: date, amount: int = 0,
              ref: str | None = None) -> None:
        for e in written.result["events"]:
            if e["fund"] == "TT":
                self.events.append(Recorded(datetime.fromisoformat(e["recorded_at"]), on, kind,
                                            amount, ref))

    def run(self, op: str, amount: int, on: date) -> None:
        app, t = self.app, "t"
        try:
            if op == "give":
                pledge = str(self.pledges[-1]) if self.pledges and amount % 2 else None
                amount *= 100  # gifts are larger than what is done with them
                w = app.record_donation("TT", self.sponsor, vnd(amount), received_on=on,
                                        method="m", actor=t,
                                        pledge_id=UUID(pledge) if pledge else None)
                self.donations.append((UUID(w.result["id"]), amount, pledge))
                self._note(w, "give", on, amount, pledge)
            elif op == "reverse" and self.donations:
                did, was, pledge = self.donations.pop()
                self._note(app.reverse_donation("TT", did, "r", actor=t, reversed_on=on),
                           "reverse", on, was, pledge)
            elif op == "pledge":
                w = app.make_pledge("TT", self.sponsor, vnd(amount), actor=t, pledged_on=on)
                self.pledges.append(UUID(w.result["id"]))
                self._note(w, "pledge", on, amount, w.result["id"])
            elif op == "cancel" and self.pledges:
                pid = self.pledges.pop()
                self._note(app.cancel_pledge("TT", pid, "c", actor=t, cancelled_on=on),
                           "cancel", on, 0, str(pid))
            elif op == "allocate":
                w = app.allocate("TT", "round", vnd(amount), actor=t, allocated_on=on)
                self.allocations.append((UUID(w.result["id"]), amount))
                self._note(w, "allocate", on, amount)
            elif op == "release" and self.allocations:
                allocation, allocated = self.allocations[-1]
                amount = amount % allocated + 1
                self._note(app.release_allocation("TT", allocation, vnd(amount), "r",
                                                  actor=t, released_on=on), "release", on, amount)
            elif op == "grant" and self.allocations:
                allocation, allocated = self.allocations[-1]
                amount = amount % allocated + 1
                w = app.grant_award("TT", allocation, {"name": "A", "school": "S"},
                                    vnd(amount), actor=t, granted_on=on)
                self.awards.append((UUID(w.result["id"]), amount))
                self._note(w, "grant", on)
            elif op == "pay" and self.awards:
                award, granted = self.awards[-1]
                amount = amount % granted + 1
                self._note(app.disburse_award("TT", award, vnd(amount), paid_on=on,
                                              method="cash", actor=t), "pay", on, amount)
                self.paid.append((award, amount))
            elif op == "return" and self.paid:
                award, paid = self.paid[-1]
                amount = amount % paid + 1
                self._note(app.record_return("TT", award, vnd(amount), "back",
                                             returned_on=on, actor=t), "return", on, amount)
            elif op == "out":
                self._note(app.transfer("TT", "OTHER", vnd(amount), "x", actor=t,
                                        transferred_on=on), "out", on, amount)
            elif op == "in":
                self._note(app.transfer("OTHER", "TT", vnd(amount), "x", actor=t,
                                        transferred_on=on), "in", on, amount)
        except LedgerError:
            pass  # refused by a rule: nothing recorded, nothing noted


OPS = st.sampled_from(["give", "give", "reverse", "pledge", "cancel", "allocate", "release",
                       "grant", "pay", "pay", "return", "return", "out", "in"])
STEPS = st.lists(st.tuples(OPS, st.integers(1, 5000), st.integers(0, 40)), min_size=15,
                 max_size=40)


def replayed(app: Ledger, as_of: date | None, known_at: datetime | None) -> dict[str, int]:
    return {k: m.minor for k, m in replay(app, "TT", as_of, known_at)["figures"].items()}


def domain_replayed(app: Ledger, as_of: date | None, known_at: datetime | None) -> dict[str, int]:
    return {k: m.minor for k, m in app.figures_as_of("TT", as_of, known_at)["figures"].items()}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, days=st.lists(st.integers(-5, 45), min_size=1, max_size=4),
       cuts=st.lists(st.integers(0, 40), min_size=1, max_size=4))
def test_replay_equals_the_model_and_the_domain_for_any_date_and_knowledge(steps, days, cuts):
    app = open_ledger(Settings(database_url="memory:"))
    history = History(app)
    for op, amount, offset in steps:
        history.run(op, amount, D0 + timedelta(offset))
    events = history.events
    known_ats: list[datetime | None] = [None] + [
        events[min(c, len(events) - 1)].recorded_at for c in cuts]
    known_ats.append(events[0].recorded_at - timedelta(microseconds=1))  # before it opened
    for known_at in known_ats:
        for as_of in [None] + [D0 + timedelta(d) for d in days]:
            expected = model_figures(events, as_of, known_at)
            if expected is None:
                with pytest.raises(FundNotFound):
                    replay(app, "TT", as_of, known_at)
                continue
            assert replayed(app, as_of, known_at) == expected
            assert domain_replayed(app, as_of, known_at) == expected
    full = replay(app, "TT")
    assert full["seq"] == len(events) and full["last_hash"] == app.fund("TT")["last_hash"]


def test_a_backdated_donation_changes_the_past_only_as_known_after_it_was_recorded(
        durable_settings):
    app = open_ledger(durable_settings)
    try:
        sponsor = UUID(app.register_sponsor("BIDV", "organization", actor="t").result["id"])
        opened = app.open_fund("TT", "Thien Tam", actor="t", opened_on=date(2025, 6, 1))
        app.record_donation("TT", sponsor, vnd(5_000_000), received_on=date(2025, 6, 20),
                            method="bank", actor="t")
        before = datetime.fromisoformat(
            app.record_donation("TT", sponsor, vnd(1_000_000), received_on=date(2025, 7, 5),
                                method="bank", actor="t").result["events"][0]["recorded_at"])
        # recorded later, effective on 28 June: backdated
        app.record_donation("TT", sponsor, vnd(2_000_000), received_on=date(2025, 6, 28),
                            method="bank", actor="t")
        june = date(2025, 6, 30)
        cash = lambda known_at: replay(app, "TT", june, known_at)["figures"]["cash"].text  # noqa
        assert cash(before) == "5000000"
        assert cash(None) == "7000000"
        assert replay(app, "TT", date(2025, 6, 19))["figures"]["cash"].text == "0"
        opened_at = datetime.fromisoformat(opened.result["events"][0]["recorded_at"])
        with pytest.raises(FundNotFound):
            replay(app, "TT", june, opened_at - timedelta(seconds=1))
        with pytest.raises(FundNotFound):
            replay(app, "NOPE")
    finally:
        app.close()


def test_the_cli_replays_a_fund_and_refuses_a_time_without_offset(sqlite_settings, monkeypatch):
    import json

    from click.testing import CliRunner

    from ledger.cli import main
    from ledger.settings import get_settings

    app = open_ledger(sqlite_settings)
    sponsor = UUID(app.register_sponsor("BIDV", "organization", actor="t").result["id"])
    app.open_fund("TT", "Thien Tam", actor="t", opened_on=date(2025, 6, 1))
    app.record_donation("TT", sponsor, vnd(5_000_000), received_on=date(2025, 6, 20),
                        method="bank", actor="t")
    app.close()
    monkeypatch.delenv("LEDGER_DATABASE_URL", raising=False)
    monkeypatch.setenv("LEDGER_SQLITE_PATH", str(sqlite_settings.sqlite_path))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        r = runner.invoke(main, ["audit", "replay", "--fund", "TT", "--as-of", "2025-06-30",
                                 "--json"])
        assert r.exit_code == 0, r.output
        body = json.loads(r.output)
        assert (body["figures"]["cash"], body["seq"]) == ("5000000", 2)
        early = runner.invoke(main, ["audit", "replay", "--fund", "TT", "--as-of", "2025-06-19"])
        assert early.exit_code == 0 and "cash" in early.output and " 0 VND" in early.output
        naive = runner.invoke(main, ["audit", "replay", "--fund", "TT", "--known-at",
                                     "2025-06-30T10:00:00"])
        assert naive.exit_code == 2 and "offset" in naive.output
        missing = runner.invoke(main, ["audit", "replay", "--fund", "NOPE"])
        assert missing.exit_code == 1 and "NOPE" in missing.output
    finally:
        get_settings.cache_clear()


def test_the_audit_fold_knows_every_event_type_of_the_fund():
    from ledger.audit.fold import APPLY
    from ledger.domain.fund import Fund

    recorded = {name for name, cls in vars(Fund).items()
                if isinstance(cls, type) and issubclass(cls, Fund.Event)
                and cls is not Fund.Event and name != "Created"}
    assert recorded == set(APPLY)
