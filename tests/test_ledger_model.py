"""A Hypothesis state machine drives random sequences of every command against a plain model
of SPEC §2's figures, on memory, SQLite and PostgreSQL. After every step the ledger's
figures equal the model's and none is negative; retries with the same id record nothing;
reopening the application on the same store keeps everything."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from ledger.domain import errors
from ledger.domain.money import Money
from ledger.settings import Settings
from ledger.storage import open_ledger

D = date(2025, 1, 1)
amounts = st.integers(min_value=1, max_value=1200)
_run = itertools.count()
#: the commands that create something, with the name of their client-chosen id
CREATE_IDS = {"record_donation": "donation_id", "make_pledge": "pledge_id",
              "allocate": "allocation_id", "grant_award": "award_id",
              "disburse_award": "disbursement_id", "record_return": "return_id",
              "transfer": "transfer_id"}


@dataclass
class FundModel:
    received: int = 0
    t_in: int = 0
    t_out: int = 0
    disbursed: int = 0
    returned: int = 0
    allocated: int = 0  # allocations − released − disbursements
    closed: bool = False
    pledges: dict[UUID, list] = field(default_factory=dict)  # id → [amount, applied, active, sponsor]
    donations: dict[UUID, list] = field(default_factory=dict)  # id → [amount, pledge, reversed]
    allocations: dict[UUID, int] = field(default_factory=dict)  # id → ungranted remainder
    awards: dict[UUID, list] = field(default_factory=dict)  # id → [alloc, amount, disbursed, returned, revoked]

    @property
    def cash(self) -> int:
        return self.received + self.t_in - self.t_out - self.disbursed + self.returned

    @property
    def available(self) -> int:
        return self.cash - self.allocated

    @property
    def outstanding(self) -> int:
        return sum(max(0, a - p) for a, p, active, _ in self.pledges.values() if active)


def vnd(n: int) -> Money:
    return Money(n, "VND")


class LedgerMachine(RuleBasedStateMachine):
    """Random histories of every command, checked against `FundModel`."""

    store: Settings
    durable: bool

    funds = Bundle("funds")
    donations = Bundle("donations")
    pledges = Bundle("pledges")
    allocations = Bundle("allocations")
    awards = Bundle("awards")

    def __init__(self) -> None:
        super().__init__()
        self.ledger = open_ledger(self.store)
        self.prefix = f"R{next(_run)}-{uuid4().hex[:6]}"
        self.model: dict[str, FundModel] = {}
        self.sponsors = [UUID(self.ledger.register_sponsor(f"Sponsor {i}", "individual",
                                                           actor="t").result["id"])
                         for i in range(2)]
        self.writes: list[tuple] = []  # (method name, args, kwargs) of successful creates

    def teardown(self) -> None:
        self.ledger.close()

    @initialize(target=funds)
    def open_funds(self):
        codes = []
        for name in ("A", "B"):
            code = f"{self.prefix}-{name}"
            self.ledger.open_fund(code, f"Fund {name}", actor="t")
            self.model[code] = FundModel()
            codes.append(code)
        return multiple(*codes)

    def _attempt(self, expected_error, call, *args, **kwargs):
        before = self.ledger.recorder.max_notification_id()
        if expected_error is not None:
            with pytest.raises(expected_error):
                call(*args, **kwargs)
            assert self.ledger.recorder.max_notification_id() == before
            return None
        written = call(*args, **kwargs)
        assert written.created
        if call.__name__ in CREATE_IDS:
            self.writes.append((call, args, kwargs, written.result))
        return written

    def _closed_or(self, code, error):
        return errors.FundClosed if self.model[code].closed else error

    @rule(target=donations, code=funds, n=amounts, who=st.integers(0, 1), to_pledge=st.booleans(),
          data=st.data())
    def donate(self, code, n, who, to_pledge, data):
        m = self.model[code]
        pledge = None
        if to_pledge and m.pledges:
            pledge = data.draw(st.sampled_from(list(m.pledges)))
        error = None
        if pledge is not None and not m.pledges[pledge][2]:
            error = errors.PledgeNotActive
        elif pledge is not None and m.pledges[pledge][3] != who:
            error = errors.PledgeOfAnotherSponsor
        error = self._closed_or(code, error)
        donation_id = uuid4()
        if self._attempt(error, self.ledger.record_donation, code, self.sponsors[who], vnd(n),
                         received_on=D, method="bank_transfer", pledge_id=pledge, actor="t",
                         donation_id=donation_id):
            m.received += n
            m.donations[donation_id] = [n, pledge, False]
            if pledge is not None:
                m.pledges[pledge][1] += n
        return (code, donation_id)

    @rule(target=pledges, code=funds, n=amounts, who=st.integers(0, 1))
    def pledge(self, code, n, who):
        m = self.model[code]
        pledge_id = uuid4()
        if self._attempt(self._closed_or(code, None), self.ledger.make_pledge, code,
                         self.sponsors[who], vnd(n), actor="t", pledge_id=pledge_id):
            m.pledges[pledge_id] = [n, 0, True, who]
        return (code, pledge_id)

    @rule(ref=pledges)
    def cancel_pledge(self, ref):
        code, pledge_id = ref
        m = self.model[code]
        p = m.pledges.get(pledge_id)
        error = errors.PledgeNotFound if p is None else (None if p[2] else errors.PledgeNotActive)
        if self._attempt(self._closed_or(code, error), self.ledger.cancel_pledge, code,
                         pledge_id, "withdrawn", actor="t"):
            p[2] = False

    @rule(ref=donations)
    def reverse(self, ref):
        code, donation_id = ref
        m = self.model[code]
        d = m.donations.get(donation_id)
        if d is None:
            error = errors.DonationNotFound
        elif d[2]:
            error = errors.AlreadyReversed
        elif d[0] > m.available:
            error = errors.InsufficientAvailable
        else:
            error = None
        if self._attempt(self._closed_or(code, error), self.ledger.reverse_donation, code,
                         donation_id, "bounced", actor="t"):
            d[2] = True
            m.received -= d[0]
            if d[1] is not None:
                m.pledges[d[1]][1] -= d[0]

    @rule(target=allocations, code=funds, n=amounts)
    def allocate(self, code, n):
        m = self.model[code]
        error = errors.InsufficientAvailable if n > m.available else None
        allocation_id = uuid4()
        if self._attempt(self._closed_or(code, error), self.ledger.allocate, code, "round", vnd(n),
                         actor="t", allocation_id=allocation_id):
            m.allocated += n
            m.allocations[allocation_id] = n
        return (code, allocation_id)

    @rule(ref=allocations, n=amounts)
    def release(self, ref, n):
        code, allocation_id = ref
        m = self.model[code]
        remainder = m.allocations.get(allocation_id)
        if remainder is None:
            error = errors.AllocationNotFound
        else:
            error = errors.ExceedsAllocationRemainder if n > remainder else None
        if self._attempt(self._closed_or(code, error), self.ledger.release_allocation, code,
                         allocation_id, vnd(n), "unused", actor="t"):
            m.allocations[allocation_id] -= n
            m.allocated -= n

    @rule(target=awards, ref=allocations, n=amounts)
    def grant(self, ref, n):
        code, allocation_id = ref
        m = self.model[code]
        remainder = m.allocations.get(allocation_id)
        if remainder is None:
            error = errors.AllocationNotFound
        else:
            error = errors.ExceedsAllocationRemainder if n > remainder else None
        award_id = uuid4()
        if self._attempt(self._closed_or(code, error), self.ledger.grant_award, code,
                         allocation_id, {"name": "Student", "school": "School"}, vnd(n),
                         actor="t", award_id=award_id):
            m.allocations[allocation_id] -= n
            m.awards[award_id] = [allocation_id, n, 0, 0, False]
        return (code, award_id)

    @rule(ref=awards)
    def revoke(self, ref):
        code, award_id = ref
        m = self.model[code]
        a = m.awards.get(award_id)
        error = errors.AwardNotFound if a is None else (errors.AwardRevoked if a[4] else None)
        if self._attempt(self._closed_or(code, error), self.ledger.revoke_award, code, award_id,
                         "left", actor="t"):
            a[4] = True
            m.allocations[a[0]] += a[1] - a[2]

    @rule(ref=awards, n=amounts)
    def disburse(self, ref, n):
        code, award_id = ref
        m = self.model[code]
        a = m.awards.get(award_id)
        if a is None:
            error = errors.AwardNotFound
        elif a[4]:
            error = errors.AwardRevoked
        elif n > a[1] - a[2]:
            error = errors.ExceedsAwardRemainder
        elif n > m.cash:
            error = errors.InsufficientCash
        else:
            error = None
        if self._attempt(self._closed_or(code, error), self.ledger.disburse_award, code,
                         award_id, vnd(n), paid_on=D, method="cash", actor="t",
                         disbursement_id=uuid4()):
            a[2] += n
            m.disbursed += n
            m.allocated -= n

    @rule(ref=awards, n=amounts)
    def give_back(self, ref, n):
        code, award_id = ref
        m = self.model[code]
        a = m.awards.get(award_id)
        if a is None:
            error = errors.AwardNotFound
        else:
            error = errors.ExceedsReturnable if n > a[2] - a[3] else None
        if self._attempt(self._closed_or(code, error), self.ledger.record_return, code, award_id,
                         vnd(n), "returned", returned_on=D, actor="t", return_id=uuid4()):
            a[3] += n
            m.returned += n

    @rule(source=funds, target_fund=funds, n=amounts)
    def transfer(self, source, target_fund, n):
        ms, mt = self.model[source], self.model[target_fund]
        if source == target_fund:
            error = errors.InvalidInput
        elif ms.closed or mt.closed:
            error = errors.FundClosed
        elif n > ms.available:
            error = errors.InsufficientAvailable
        else:
            error = None
        if self._attempt(error, self.ledger.transfer, source, target_fund, vnd(n), "share",
                         actor="t", transfer_id=uuid4()):
            ms.t_out += n
            mt.t_in += n

    @rule(code=funds)
    def close(self, code):
        m = self.model[code]
        error = errors.FundNotSettled if (m.cash or m.outstanding) else None
        if self._attempt(self._closed_or(code, error), self.ledger.close_fund, code, actor="t"):
            m.closed = True

    @rule(data=st.data(), change=st.booleans())
    def retry_a_write(self, data, change):
        """The same id again: the same content answers the original; other content is refused."""
        if not self.writes:
            return
        call, args, kwargs, result = data.draw(st.sampled_from(self.writes))
        call = getattr(self.ledger, call.__name__)  # the ledger may have been reopened
        before = self.ledger.recorder.max_notification_id()
        if change:
            args = list(args)
            money_at = next(i for i, a in enumerate(args) if isinstance(a, Money))
            args[money_at] = Money(args[money_at].minor + 1, "VND")
            with pytest.raises(errors.IdConflict):
                call(*args, **kwargs)
        else:
            again = call(*args, **kwargs)
            assert not again.created and again.result == result
        assert self.ledger.recorder.max_notification_id() == before

    @rule()
    def reopen(self):
        if self.durable:
            self.ledger.close()
            self.ledger = open_ledger(self.store)

    @invariant()
    def figures_match_the_model_and_none_is_negative(self):
        for code, m in self.model.items():
            f = {k: v.minor for k, v in self.ledger.figures(code).items()}
            assert f["received_total"] == m.received
            assert f["cash"] == m.cash
            assert f["allocated_unspent"] == m.allocated
            assert f["available"] == m.available
            assert f["pledged_outstanding"] == m.outstanding
            assert min(f["cash"], f["available"], f["allocated_unspent"]) >= 0
            left = self.ledger.remainders(code)
            assert {UUID(k): v.minor for k, v in left["allocations"].items()} == m.allocations
            assert {UUID(k): v.minor for k, v in left["awards"].items()} == {
                k: 0 if a[4] else a[1] - a[2] for k, a in m.awards.items()}


@pytest.mark.parametrize("store", ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_random_histories_of_every_command_keep_the_figures_of_the_model(store, request):
    """Each store runs its own machine; PostgreSQL and SQLite also reopen the application."""
    if store == "memory":
        machine_store, durable = Settings(database_url="memory:"), False
    else:
        machine_store = request.getfixturevalue("pg_settings" if store == "postgres" else "sqlite_settings")
        durable = True
    machine = type("Machine", (LedgerMachine,), {"store": machine_store, "durable": durable})
    examples = 200 if store == "memory" else 40
    run_state_machine_as_test(
        machine,
        settings=settings(max_examples=examples, stateful_step_count=40, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
