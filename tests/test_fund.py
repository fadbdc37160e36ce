"""The fund aggregate on its own: no application, no database."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.domain import chain, errors
from ledger.domain.fund import Fund
from ledger.domain.money import Money

D = date(2025, 9, 1)


def vnd(n: int) -> Money:
    return Money(n, "VND")


@pytest.fixture(name="fund")
def _fund() -> Fund:
    """An open VND fund holding 1,000,000 from one donation."""
    fund = Fund.open("TT", "Thien Tam", "VND", actor="t", opened_on=D)
    fund.receive_donation("d1", "s1", vnd(1_000_000), None, received_on=D, method="cash", actor="t")
    return fund


def test_each_event_hash_covers_its_content_and_the_previous_hash(fund):
    opened, donated = fund.collect_events()
    assert opened.prev_hash == chain.GENESIS and donated.prev_hash == opened.hash
    recomputed = chain.link(
        opened.hash, fund_id=str(fund.id), seq=2, event_type="DonationReceived",
        effective_on="2025-09-01", recorded_at=donated.timestamp.isoformat(), actor="t",
        data=chain.data_of(donated.__dict__))
    assert recomputed == donated.hash
    edited = dict(chain.data_of(donated.__dict__), credited_minor=999)
    assert chain.link(opened.hash, fund_id=str(fund.id), seq=2, event_type="DonationReceived",
                      effective_on="2025-09-01", recorded_at=donated.timestamp.isoformat(),
                      actor="t", data=edited) != donated.hash


def test_a_refused_command_emits_no_event(fund):
    fund.collect_events()
    with pytest.raises(errors.InsufficientAvailable):
        fund.allocate("a1", "round", vnd(1_000_001), actor="t", allocated_on=D)
    with pytest.raises(errors.CurrencyMismatch):
        fund.allocate("a1", "round", Money(1, "EUR"), actor="t", allocated_on=D)
    with pytest.raises(errors.InvalidInput):
        fund.receive_donation("d2", "s1", vnd(1), None, received_on=D, method="x" * 65, actor="t")
    with pytest.raises(errors.InvalidInput):
        fund.grant_award("w", "a1", {"name": "A", "school": "S", "phone": "1"}, vnd(1),
                         actor="t", granted_on=D)
    assert fund.collect_events() == []


def test_replaying_the_events_gives_the_same_figures(fund):
    fund.allocate("a1", "round", vnd(600_000), actor="t", allocated_on=D)
    fund.grant_award("w1", "a1", {"name": "A", "school": "S"}, vnd(500_000), actor="t",
                     granted_on=D)
    fund.disburse("p1", "w1", vnd(200_000), paid_on=D, method="cash", actor="t")
    fund.take_return("r1", "w1", vnd(50_000), "moved", actor="t", returned_on=D)
    events = fund.collect_events()
    assert Fund.replay(events).figures() == fund.figures()


def test_a_replay_as_of_a_date_skips_later_events_even_when_they_depend_on_earlier_ones(fund):
    fund.allocate("a1", "round", vnd(600_000), actor="t", allocated_on=date(2025, 10, 1))
    fund.release("a1", vnd(100_000), "unused", actor="t", released_on=date(2025, 9, 15))
    events = fund.collect_events()
    figures = Fund.replay(events, as_of=date(2025, 9, 20)).figures()
    # the release is effective before the allocation it releases: the replay still folds
    assert figures["received_total"] == vnd(1_000_000)
    assert figures["allocated_unspent"] == vnd(-100_000)


def test_revoking_an_award_gives_its_unpaid_remainder_back_to_the_round(fund):
    fund.allocate("a1", "round", vnd(600_000), actor="t", allocated_on=D)
    fund.grant_award("w1", "a1", {"name": "A", "school": "S"}, vnd(600_000), actor="t",
                     granted_on=D)
    fund.disburse("p1", "w1", vnd(100_000), paid_on=D, method="cash", actor="t")
    assert fund.allocation_remainder("a1") == 0
    fund.revoke_award("w1", "left school", actor="t", revoked_on=D)
    assert fund.allocation_remainder("a1") == 500_000
    assert fund.award_remainder("w1") == 0
    with pytest.raises(errors.AwardRevoked):
        fund.disburse("p2", "w1", vnd(1), paid_on=D, method="cash", actor="t")


def test_a_copy_takes_commands_apart_from_its_original(fund):
    fund.make_pledge("p1", "s1", vnd(300_000), [], actor="t", pledged_on=D)
    fund.allocate("a1", "round", vnd(600_000), actor="t", allocated_on=D)
    fund.grant_award("w1", "a1", {"name": "A", "school": "S"}, vnd(500_000), actor="t",
                     granted_on=D)
    fund.collect_events()
    before = (fund.version, fund.figures(), fund.size, fund.last_hash)
    twin = fund.copy()
    fund.receive_donation("d2", "s1", vnd(100_000), None, received_on=D, method="cash",
                          pledge_id="p1", actor="t")
    fund.disburse("x1", "w1", vnd(200_000), paid_on=D, method="cash", actor="t")
    fund.release("a1", vnd(50_000), "unused", actor="t", released_on=D)
    assert (twin.version, twin.figures(), twin.size, twin.last_hash) == before
    assert twin.pledged_outstanding == 300_000 and fund.pledged_outstanding == 200_000
    assert twin.award_remainder("w1") == 500_000 and twin.allocation_remainder("a1") == 100_000
    assert twin.collect_events() == [] and len(fund.collect_events()) == 3
    # and the copy goes on as the original would have
    twin.disburse("x1", "w1", vnd(200_000), paid_on=D, method="cash", actor="t")
    assert twin.award_remainder("w1") == 300_000 and fund.award_remainder("w1") == 300_000
