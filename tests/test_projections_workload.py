"""Random ledger histories for the read-model tests, and the test that the balances view
always equals a replay of the raw events.

`Workload` turns operation codes (drawn by Hypothesis, or by `random` in the crash test)
into real commands on a pair of funds; a command the rules refuse records nothing and is
simply skipped, so every history is a valid one.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, given, settings as hypothesis_settings, strategies as st

from ledger.application import Ledger
from ledger.domain.errors import LedgerError
from ledger.domain.money import Money
from ledger.projections import ReadModels
from ledger.projections.facade import VIEWS
from ledger.settings import Settings
from ledger.storage import open_ledger

START = date(2024, 1, 1)
STUDENTS = [("An", "Le Quy Don"), ("Binh", "Phan Chau Trinh"), ("Chi", "Le Quy Don"),
            ("An", "Hoang Hoa Tham")]
OPERATIONS = 12


class Workload:
    """Commands on two VND funds (codes from `prefix`), chosen by operation codes."""

    def __init__(self, app: Ledger, prefix: str) -> None:
        self.app = app
        self.codes = [f"{prefix}-A", f"{prefix}-B"]
        for code in self.codes:
            app.open_fund(code, f"Fund {code}", actor="treasurer", opened_on=START)
        self.sponsors = [
            UUID(app.register_sponsor(f"Sponsor {i}", "family", actor="treasurer").result["id"])
            for i in range(2)
        ]
        self.pledges: dict[str, list[tuple[UUID, UUID]]] = {c: [] for c in self.codes}
        self.donations: dict[str, list[UUID]] = {c: [] for c in self.codes}
        self.allocations: dict[str, list[UUID]] = {c: [] for c in self.codes}
        self.awards: dict[str, list[UUID]] = {c: [] for c in self.codes}
        self.last_position: int | None = None

    def step(self, op: int, amount: int, target: int, day: int) -> None:
        """One command; refused ones are skipped. `target` picks a fund, sponsor or entry."""
        code = self.codes[target % 2]
        on = START + timedelta(days=day)
        vnd = Money(amount, "VND")
        actor = "treasurer"
        try:
            written = self._command(op % OPERATIONS, code, vnd, target // 2, on, actor)
        except LedgerError:
            return
        if written is not None and written.position is not None:
            self.last_position = written.position

    def _command(self, op, code, vnd, i, on, actor):  # noqa: ANN001, ANN202, PLR0911
        app = self.app
        sponsor = self.sponsors[i % 2]
        if op == 0:
            half = Money(max(1, vnd.minor // 2), "VND")
            schedule = [(on, half), (on + timedelta(days=90), Money(vnd.minor - half.minor, "VND"))]
            w = app.make_pledge(code, sponsor, vnd, schedule if vnd.minor > 1 else [], actor=actor,
                                pledged_on=on)
            self.pledges[code].append((UUID(w.result["id"]), sponsor))
            return w
        if op == 1:
            return app.cancel_pledge(code, _pick(self.pledges[code], i)[0], "changed plans",
                                     actor=actor, cancelled_on=on)
        if op in (2, 3):
            pledge = _pick(self.pledges[code], i) if i % 3 == 0 and self.pledges[code] else None
            gift = Money(max(1, vnd.minor // 25_000), "EUR") if op == 3 else vnd
            w = app.record_donation(
                code, pledge[1] if pledge else sponsor, gift, vnd if op == 3 else None,
                received_on=on, method="bank_transfer", actor=actor,
                pledge_id=pledge[0] if pledge else None,
            )
            self.donations[code].append(UUID(w.result["id"]))
            return w
        if op == 4:
            return app.reverse_donation(code, _pick(self.donations[code], i), "bounced",
                                        actor=actor, reversed_on=on)
        if op == 5:
            w = app.allocate(code, f"round {on.year}", vnd, actor=actor, allocated_on=on)
            self.allocations[code].append(UUID(w.result["id"]))
            return w
        if op == 6:
            return app.release_allocation(code, _pick(self.allocations[code], i), vnd, "unused",
                                          actor=actor, released_on=on)
        if op == 7:
            name, school = STUDENTS[i % len(STUDENTS)]
            w = app.grant_award(
                code, _pick(self.allocations[code], i),
                {"name": name, "school": school, "category": ["poor", "merit"][i % 2]},
                vnd, actor=actor, granted_on=on,
            )
            self.awards[code].append(UUID(w.result["id"]))
            return w
        if op == 8 and i % 4 == 0:  # revocations are rarer than payments
            return app.revoke_award(code, _pick(self.awards[code], i), "left school",
                                    actor=actor, revoked_on=on)
        small = Money(vnd.minor % 997 + 1, "VND")  # disbursements and returns fit more often
        if op in (8, 9):
            return app.disburse_award(code, _pick(self.awards[code], i), small, paid_on=on,
                                      method="cash", actor=actor)
        if op == 10:
            return app.record_return(code, _pick(self.awards[code], i), small, "overpaid",
                                     returned_on=on, actor=actor)
        other = self.codes[1] if code == self.codes[0] else self.codes[0]
        return app.transfer(code, other, vnd, "rebalance", actor=actor, transferred_on=on)

    def random_step(self, rng: random.Random) -> None:
        self.step(rng.randrange(OPERATIONS), rng.choice([1, 10, 1000, rng.randrange(1, 10**7)]),
                  rng.randrange(100), rng.randrange(730))


def _pick(items: list, i: int):  # noqa: ANN001, ANN202
    if not items:
        raise _Nothing
    return items[i % len(items)]


class _Nothing(LedgerError):
    """Nothing to act on yet: the operation is skipped."""

    def __init__(self) -> None:
        super().__init__("nothing to act on")


def tables(models: ReadModels) -> dict[str, list[tuple]]:
    """Every row of every view table, in a stable order."""
    out = {}
    with models.db.transaction() as tx:
        for view in models.views:
            for table in view.table_names():
                out[table] = sorted(tx.all(f"SELECT * FROM {view.t(table)}"), key=repr)
    return out


def rebuilt_tables(models: ReadModels) -> dict[str, list[tuple]]:
    """`tables` after every view is rebuilt from the events."""
    for name in VIEWS:
        models.rebuild(name)
    return tables(models)


# ---- every figure of the balances view equals a replay ------------------------------------


@pytest.fixture(name="live")
def _live(durable_settings: Settings) -> Iterator[tuple[Ledger, ReadModels]]:
    """A ledger and its read models on each durable store, shared by Hypothesis examples
    (each example works on funds of its own)."""
    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings, batch_size=7)
    yield app, models
    models.stop()
    app.close()


operations = st.lists(
    st.tuples(
        st.integers(0, OPERATIONS - 1),
        st.one_of(st.integers(1, 1000), st.integers(1, 10**12)),
        st.integers(0, 40),
        st.integers(0, 800),
    ),
    max_size=40,
)


@hypothesis_settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations)
def test_every_figure_of_the_balances_view_equals_a_replay_of_the_raw_events(live, ops):
    app, models = live
    work = Workload(app, uuid4().hex[:10])
    for op in ops:
        work.step(*op)
    models.catch_up()
    for code in work.codes:
        replayed = {k: m.minor for k, m in app.figures_as_of(code)["figures"].items()}
        current = {k: m.minor for k, m in app.figures(code).items()}
        with models.db.transaction() as tx:
            viewed = models.balances.figures_minor(tx, code)
        assert viewed == replayed == current
        fund = models.fund(code)
        months = sum(int(m["cash_in"]["amount"]) - int(m["cash_out"]["amount"])
                     for m in fund["months"])
        assert months == replayed["cash"]
        assert fund["seq"] == app.fund(code)["seq"]
