"""The application service on memory, SQLite and PostgreSQL: every command and its rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from uuid import UUID, uuid4

import pytest

from ledger.application import Ledger
from ledger.domain import errors
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.storage import open_ledger

D = date(2025, 9, 1)


def vnd(text: str) -> Money:
    return Money.parse(text, "VND")


def figures(ledger: Ledger, code: str = "TT") -> dict[str, str]:
    return {k: v.text for k, v in ledger.figures(code).items()}


def event_count(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


@pytest.fixture(name="funded")
def _funded(ledger: Ledger) -> tuple[Ledger, UUID]:
    """A VND fund TT with one sponsor who gave 10,000,000."""
    ledger.open_fund("TT", "Thien Tam scholarship fund", actor="treasurer")
    sponsor = UUID(ledger.register_sponsor("Vietcombank Da Nang", "organization",
                                           actor="treasurer").result["id"])
    ledger.record_donation("TT", sponsor, vnd("10000000"), received_on=D, method="bank_transfer",
                           actor="treasurer")
    return ledger, sponsor


def test_a_donation_adds_to_received_cash_and_available(funded):
    ledger, _ = funded
    f = figures(ledger)
    assert (f["received_total"], f["cash"], f["available"]) == ("10000000",) * 3
    assert f["allocated_unspent"] == "0"


def test_the_whole_award_cycle_moves_the_figures_as_specified(funded):
    ledger, _ = funded
    alloc = UUID(ledger.allocate("TT", "2025-2026 school year", vnd("6000000"),
                                 actor="t").result["id"])
    award = UUID(ledger.grant_award("TT", alloc, {"name": "Nguyen Thi Lan", "school": "Le Quy Don",
                                                 "grade": "11", "category": "poor, studious"},
                                    vnd("4000000"), actor="t").result["id"])
    ledger.disburse_award("TT", award, vnd("1500000"), paid_on=D, method="cash", actor="t")
    ledger.record_return("TT", award, vnd("500000"), "moved away", returned_on=D, actor="t")
    ledger.release_allocation("TT", alloc, vnd("2000000"), "round closed", actor="t")
    f = figures(ledger)
    assert f["cash"] == "9000000"            # 10M − 1.5M + 0.5M
    assert f["allocated_unspent"] == "2500000"  # 6M − 2M released − 1.5M disbursed
    assert f["available"] == "6500000"
    ledger.revoke_award("TT", award, "left school", actor="t")
    # the revoked remainder (2.5M) goes back to the allocation, which can release it
    ledger.release_allocation("TT", alloc, vnd("2500000"), "revoked award", actor="t")
    assert figures(ledger)["available"] == "9000000"


def test_an_allocation_beyond_available_is_refused_and_records_nothing(funded):
    ledger, _ = funded
    before = event_count(ledger)
    with pytest.raises(errors.InsufficientAvailable):
        ledger.allocate("TT", "too much", vnd("10000001"), actor="t")
    assert event_count(ledger) == before


def test_disbursing_more_than_the_award_is_refused_and_records_nothing(funded):
    ledger, _ = funded
    alloc = UUID(ledger.allocate("TT", "r", vnd("5000000"), actor="t").result["id"])
    award = UUID(ledger.grant_award("TT", alloc, {"name": "A", "school": "S"}, vnd("1000000"),
                                    actor="t").result["id"])
    before = event_count(ledger)
    with pytest.raises(errors.ExceedsAwardRemainder):
        ledger.disburse_award("TT", award, vnd("1000001"), paid_on=D, method="cash", actor="t")
    with pytest.raises(errors.ExceedsAllocationRemainder):
        ledger.grant_award("TT", alloc, {"name": "B", "school": "S"}, vnd("4000001"), actor="t")
    with pytest.raises(errors.ExceedsReturnable):
        ledger.record_return("TT", award, vnd("1"), "x", returned_on=D, actor="t")
    assert event_count(ledger) == before


def test_a_reversal_happens_once_and_only_while_available_covers_it(funded):
    ledger, sponsor = funded
    gift = UUID(ledger.record_donation("TT", sponsor, vnd("3000000"), received_on=D,
                                       method="cash", actor="t").result["id"])
    ledger.allocate("TT", "r", vnd("11000000"), actor="t")
    with pytest.raises(errors.InsufficientAvailable):
        ledger.reverse_donation("TT", gift, "bounced", actor="t")
    ledger.record_donation("TT", sponsor, vnd("3000000"), received_on=D, method="cash", actor="t")
    ledger.reverse_donation("TT", gift, "bounced", actor="t")
    with pytest.raises(errors.AlreadyReversed):
        ledger.reverse_donation("TT", gift, "bounced", actor="t")
    assert figures(ledger)["received_total"] == "13000000"


def test_only_a_donation_recorded_in_the_fund_can_be_reversed_there(funded):
    ledger, sponsor = funded
    ledger.open_fund("BANK", "Banking programme", actor="t")
    elsewhere = UUID(ledger.record_donation("BANK", sponsor, vnd("100"), received_on=D,
                                            method="cash", actor="t").result["id"])
    alloc = UUID(ledger.allocate("TT", "r", vnd("100"), actor="t").result["id"])
    before = event_count(ledger)
    for not_a_donation_here in (elsewhere, alloc, uuid4()):
        with pytest.raises(errors.DonationNotFound):
            ledger.reverse_donation("TT", not_a_donation_here, "wrong fund", actor="t")
    assert event_count(ledger) == before
    ledger.reverse_donation("BANK", elsewhere, "bounced", actor="t")
    assert figures(ledger, "BANK")["received_total"] == "0"


def test_a_fund_holds_no_entry_per_donation_so_its_state_stays_small(funded):
    ledger, sponsor = funded
    size = ledger.repository.get(Fund.id_for("TT")).size
    gifts = [UUID(ledger.record_donation("TT", sponsor, vnd("1"), received_on=D, method="cash",
                                         actor="t").result["id"]) for _ in range(30)]
    assert ledger.repository.get(Fund.id_for("TT")).size == size
    ledger.reverse_donation("TT", gifts[0], "bounced", actor="t")
    assert ledger.repository.get(Fund.id_for("TT")).size == size + 1
    assert figures(ledger)["received_total"] == "10000029"


def test_a_foreign_gift_records_the_original_and_credits_the_fund_currency(ledger):
    ledger.open_fund("ASAHI", "Asahi Daily scholarship", "VND", actor="t")
    sponsor = UUID(ledger.register_sponsor("Asahi Shimbun", "organization", actor="t").result["id"])
    with pytest.raises(errors.CurrencyMismatch):
        ledger.record_donation("ASAHI", sponsor, Money.parse("500000", "JPY"), received_on=D,
                               method="bank_transfer", actor="t")
    w = ledger.record_donation("ASAHI", sponsor, Money.parse("500000", "JPY"), vnd("82500000"),
                               received_on=D, method="bank_transfer", actor="t")
    data = w.result["events"][0]["data"]
    assert (data["amount_minor"], data["amount_currency"], data["credited_minor"]) == (
        500000, "JPY", 82500000)
    assert figures(ledger, "ASAHI")["cash"] == "82500000"


def test_pledges_count_as_outstanding_until_paid_or_cancelled(funded):
    ledger, sponsor = funded
    pledge = UUID(ledger.make_pledge(
        "TT", sponsor, vnd("12000000"),
        [(date(2025, 10, 1), vnd("6000000")), (date(2026, 4, 1), vnd("6000000"))],
        actor="t").result["id"])
    assert figures(ledger)["pledged_outstanding"] == "12000000"
    ledger.record_donation("TT", sponsor, vnd("6000000"), received_on=D, method="bank_transfer",
                           pledge_id=pledge, actor="t")
    assert figures(ledger)["pledged_outstanding"] == "6000000"
    with pytest.raises(errors.InvalidInput):
        ledger.make_pledge("TT", sponsor, vnd("10"), [(D, vnd("3"))], actor="t")
    ledger.cancel_pledge("TT", pledge, "sponsor withdrew", actor="t")
    assert figures(ledger)["pledged_outstanding"] == "0"


def test_a_transfer_moves_money_between_funds_of_one_currency_atomically(funded):
    ledger, _ = funded
    ledger.open_fund("PN", "Passerelles Numeriques IT", "VND", actor="t")
    ledger.open_fund("EUR1", "A euro fund", "EUR", actor="t")
    ledger.transfer("TT", "PN", vnd("4000000"), "co-funding", actor="t")
    assert figures(ledger)["available"] == "6000000"
    assert figures(ledger, "PN")["cash"] == "4000000"
    before = event_count(ledger)
    with pytest.raises(errors.InsufficientAvailable):
        ledger.transfer("TT", "PN", vnd("6000001"), "too much", actor="t")
    with pytest.raises(errors.CurrencyMismatch):
        ledger.transfer("TT", "EUR1", vnd("1"), "wrong currency", actor="t")
    with pytest.raises(errors.InvalidInput):
        ledger.transfer("TT", "TT", vnd("1"), "same fund", actor="t")
    assert event_count(ledger) == before


def test_a_closed_fund_takes_nothing_but_reads(ledger):
    ledger.open_fund("SMALL", "A clan fund", actor="t")
    ledger.close_fund("SMALL", actor="t")
    sponsor = UUID(ledger.register_sponsor("Ho Nguyen clan", "clan", actor="t").result["id"])
    with pytest.raises(errors.FundClosed):
        ledger.record_donation("SMALL", sponsor, vnd("1"), received_on=D, method="cash", actor="t")
    assert ledger.fund("SMALL")["closed"] is True


def test_a_fund_with_cash_cannot_close(funded):
    ledger, _ = funded
    with pytest.raises(errors.FundNotSettled):
        ledger.close_fund("TT", actor="t")


def test_the_same_id_and_content_answers_the_original_and_records_nothing(funded):
    ledger, sponsor = funded
    gift_id = uuid4()
    first = ledger.record_donation("TT", sponsor, vnd("100"), received_on=D, method="cash",
                                   actor="t", donation_id=gift_id)
    before = event_count(ledger)
    again = ledger.record_donation("TT", sponsor, vnd("100"), received_on=D, method="cash",
                                   actor="t", donation_id=gift_id)
    assert (first.created, again.created) == (True, False)
    assert again.result == first.result
    with pytest.raises(errors.IdConflict):
        ledger.record_donation("TT", sponsor, vnd("101"), received_on=D, method="cash",
                               actor="t", donation_id=gift_id)
    with pytest.raises(errors.IdConflict):
        ledger.allocate("TT", "reuse", vnd("1"), actor="t", allocation_id=gift_id)
    assert event_count(ledger) == before


def test_a_retry_is_answered_even_when_the_rules_would_now_refuse_it(funded):
    ledger, _ = funded
    alloc_id = uuid4()
    first = ledger.allocate("TT", "all", vnd("10000000"), actor="t", allocation_id=alloc_id)
    again = ledger.allocate("TT", "all", vnd("10000000"), actor="t", allocation_id=alloc_id)
    assert again.result == first.result and not again.created


def test_every_event_is_chained_to_the_previous_one(funded):
    ledger, _ = funded
    history = ledger.history("TT")
    assert [e["seq"] for e in history] == [1, 2]
    assert history[0]["prev_hash"] == "0" * 64
    assert history[1]["prev_hash"] == history[0]["hash"]
    assert {e["actor"] for e in history} == {"treasurer"}


def test_as_of_and_known_at_replay_the_raw_events(funded):
    ledger, sponsor = funded
    ledger.record_donation("TT", sponsor, vnd("5000000"), received_on=date(2025, 8, 1),
                           method="bank_transfer", actor="t")
    moment = datetime.now(timezone.utc)
    ledger.record_donation("TT", sponsor, vnd("7000000"), received_on=date(2025, 7, 1),
                           method="bank_transfer", actor="t")
    as_of = lambda day, at=None: ledger.figures_as_of("TT", day, at)["figures"]["cash"].text  # noqa: E731
    assert as_of(date(2025, 8, 31)) == "12000000"
    assert as_of(date(2025, 8, 31), moment) == "5000000"
    assert as_of(date(2025, 9, 1)) == "22000000"
    with pytest.raises(errors.FundNotFound):  # before the fund was opened
        as_of(date(2025, 9, 1), moment - timedelta(days=1))


def test_state_survives_reopening_the_application(durable_settings):
    first = open_ledger(durable_settings)
    first.open_fund("TT", "Thien Tam", actor="t")
    sponsor = UUID(first.register_sponsor("S", "individual", actor="t").result["id"])
    for _ in range(5):
        first.record_donation("TT", sponsor, vnd("1000"), received_on=D, method="cash", actor="t")
    first.close()
    second = open_ledger(durable_settings)
    assert second.figures("TT")["cash"] == vnd("5000")
    assert second.fund_codes() == ["TT"]
    second.close()
