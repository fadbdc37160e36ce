"""Sponsor statements built from raw events: they agree with a replay of every fund and with
the sponsor-ledger read model, for the demo year and for random histories."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from uuid import UUID

import pytest

from ledger.application import Ledger, today
from ledger.demo import load_demo
from ledger.domain.errors import InvalidInput, SponsorNotFound
from ledger.domain.money import Money
from ledger.projections import ReadModels
from ledger.settings import Settings
from ledger.statements.books import read_books
from ledger.statements.build import StatementBuilder, build_statement, period
from ledger.statements.formatting import day, money
from ledger.statements.model import Statement
from ledger.statements.privacy import initials
from ledger.storage import open_ledger
from test_statements_support import (
    ACTOR,
    check_against_replay,
    random_history,
    statements_for,
)

SCHOOL_YEAR = (date(2024, 9, 1), date(2025, 8, 31))


@pytest.fixture(name="demo", scope="module")
def _demo() -> Ledger:
    """The demo year on the in-memory store (read only by the tests that use it)."""
    app = open_ledger(Settings(database_url="memory:"))
    load_demo(app)
    return app


def vnd(minor: int) -> Money:
    return Money(minor, "VND")


@pytest.mark.parametrize("start,end", [SCHOOL_YEAR, (date(2025, 1, 1), date(2025, 3, 31)),
                                       (date(2024, 1, 1), date(2024, 8, 31))])
def test_demo_statements_add_up_to_each_funds_replay(demo, start, end):
    statements = statements_for(demo, start, end)
    assert statements
    check_against_replay(demo, statements, start, end)


@pytest.mark.parametrize("seed", range(6))
def test_random_histories_give_statements_that_add_up_to_each_funds_replay(seed):
    app = open_ledger(Settings(database_url="memory:"))
    random_history(app, seed)
    for start, end in [(date(2024, 1, 1), date(2025, 6, 30)), (date(2024, 7, 1),
                                                                date(2024, 12, 31)),
                       (date(2025, 3, 15), date(2025, 3, 15))]:
        check_against_replay(app, statements_for(app, start, end), start, end)


def test_a_banks_statement_shows_its_pledge_instalments_gifts_and_what_is_overdue(demo):
    vietinbank = UUID(next(s for s in _sponsors(demo) if demo.sponsor(s)["name"].startswith(
        "VietinBank")))
    statement = build_statement(demo, vietinbank, *SCHOOL_YEAR)
    (fund,) = statement.funds
    assert fund.code == "BANKING"
    (pledge,) = fund.pledges
    assert pledge.amount == vnd(120_000_000) and pledge.paid == vnd(60_000_000)
    assert [(i.due.isoformat(), i.paid.minor, i.outstanding.minor, i.overdue)
            for i in pledge.schedule] == [("2024-09-15", 60_000_000, 0, False),
                                          ("2025-02-15", 0, 60_000_000, True)]
    assert pledge.overdue == vnd(60_000_000)
    assert fund.totals.opening_outstanding == vnd(120_000_000)
    assert fund.totals.received == vnd(60_000_000)
    assert fund.totals.closing_outstanding == vnd(60_000_000)
    assert fund.totals.closing_overdue == vnd(60_000_000)
    # before the second instalment fell due, nothing was overdue
    early = build_statement(demo, vietinbank, date(2024, 9, 1), date(2025, 2, 14))
    assert early.funds[0].totals.closing_overdue == vnd(0)


def test_a_foreign_gift_shows_the_currency_given_and_the_amount_credited(demo):
    pn = UUID(next(s for s in _sponsors(demo) if demo.sponsor(s)["name"].startswith("Passerelles")))
    gifts = build_statement(demo, pn, *SCHOOL_YEAR).funds[0].gifts
    assert [(g.amount, g.credited) for g in gifts] == [
        (Money(1_200_000, "EUR"), vnd(12000 * 27150)), (Money(800_000, "EUR"), vnd(8000 * 27420))]


def test_a_reversed_gift_is_marked_and_listed_with_its_reversal(demo):
    tran = UUID(next(s for s in _sponsors(demo) if demo.sponsor(s)["name"] == "Trần Văn Hùng"))
    fund = build_statement(demo, tran, *SCHOOL_YEAR).funds[0]
    (reversal,) = fund.reversals
    assert reversal.credited == vnd(5_000_000) and reversal.reversed_on == date(2024, 12, 27)
    assert [g.reversed for g in fund.gifts if g.donation_id == reversal.donation_id] == [True]
    assert fund.totals.reversed == vnd(5_000_000)


def test_the_fund_part_shows_awards_by_round_school_and_category_with_initials_only(demo):
    statement = statements_for(demo, *SCHOOL_YEAR)[0]
    activity = next(f for f in statement.funds if f.code == "BANKING").activity
    assert len(activity.awards) == 35 and sum(g.awards for g in activity.by_group) == 35
    revoked = [a for a in activity.awards if a.revoked_on is not None]
    assert len(revoked) == 1 and revoked[0].returned == vnd(1_000_000)
    for line in activity.awards:
        assert line.initials.count(".") == 3 and len(line.initials) == 6
    assert {g.round for g in activity.by_group} == {"2024-2025 school year — round 1",
                                                    "2024-2025 school year — round 2"}


def test_a_students_full_name_never_reaches_a_statements_json(demo):
    names = _recipient_names(demo)
    assert len(names) > 50
    for statement in statements_for(demo, *SCHOOL_YEAR):
        text = statement.model_dump_json(by_alias=True)
        # (a demo sponsor shares her name with a student: her own name is on her statement)
        assert not [n for n in names - {statement.sponsor.name} if n in text]
        assert "grade" not in text


def test_the_json_money_is_an_amount_string_and_a_currency(demo):
    statement = statements_for(demo, *SCHOOL_YEAR)[0]
    body = json.loads(statement.model_dump_json(by_alias=True))
    assert body["period"] == {"from": "2024-09-01", "to": "2025-08-31"}
    assert body["funds"][0]["totals"]["received"] == {"amount": "200000000", "currency": "VND"}
    assert Statement.model_validate(body) == statement


def test_a_sponsor_without_gifts_in_the_funds_gets_an_empty_statement(demo):
    app = open_ledger(Settings(database_url="memory:"))
    sponsor = UUID(app.register_sponsor("Lê Văn Tám", "individual", actor=ACTOR).result["id"])
    statement = build_statement(app, sponsor, *SCHOOL_YEAR)
    assert statement.funds == [] and statement.totals == []


def test_an_unknown_sponsor_or_a_backwards_period_is_refused():
    app = open_ledger(Settings(database_url="memory:"))
    with pytest.raises(SponsorNotFound):
        build_statement(app, UUID(int=7), *SCHOOL_YEAR)
    with pytest.raises(InvalidInput):
        period(date(2025, 2, 1), date(2025, 1, 1))
    with pytest.raises(InvalidInput):
        period(date(1, 1, 1), date(2025, 1, 1))
    assert period(None, date(2025, 5, 6)) == (date(2025, 1, 1), date(2025, 5, 6))


def test_a_statement_as_known_at_a_time_leaves_out_what_was_recorded_later():
    app = open_ledger(Settings(database_url="memory:"))
    app.open_fund("TT", "Thien Tam", actor=ACTOR, opened_on=date(2025, 1, 1))
    sponsor = UUID(app.register_sponsor("Lê Thị Mai", "individual", actor=ACTOR).result["id"])
    app.record_donation("TT", sponsor, vnd(1_000_000), received_on=date(2025, 2, 1),
                        method="cash", actor=ACTOR)
    then = datetime.now(timezone.utc)
    # a late entry, backdated into the period
    app.record_donation("TT", sponsor, vnd(2_000_000), received_on=date(2025, 2, 2),
                        method="cash", actor=ACTOR)
    books = read_books(app)
    sponsor_row = app.sponsor(sponsor)
    before = StatementBuilder(books, date(2025, 1, 1), date(2025, 12, 31), then).build(sponsor_row)
    now = StatementBuilder(books, date(2025, 1, 1), date(2025, 12, 31)).build(sponsor_row)
    assert before.funds[0].totals.received == vnd(1_000_000)
    assert now.funds[0].totals.received == vnd(3_000_000)
    # the later statement's digest covers the backdated entry; the earlier one's does not
    assert (before.funds[0].digest.seq, now.funds[0].digest.seq) == (2, 3)


@pytest.mark.parametrize("seed", [11, 12])
def test_all_time_statements_equal_the_sponsor_ledger_read_model(durable_settings, seed):
    app = open_ledger(durable_settings)
    sponsors = random_history(app, seed, steps=120)
    models = ReadModels(app, durable_settings)
    try:
        models.catch_up()
        for sponsor in sponsors:
            statement = build_statement(app, sponsor, date(1900, 1, 1), today())
            view = models.sponsor_ledger(sponsor)
            by_code = {f["fund"]: f for f in view["funds"]}
            assert sorted(f.code for f in statement.funds) == sorted(by_code)
            for fund in statement.funds:
                seen = by_code[fund.code]
                assert fund.totals.closing_given.as_json() == seen["totals"]["net"]
                assert (fund.totals.received.as_json(), fund.totals.reversed.as_json()) == (
                    seen["totals"]["credited"], seen["totals"]["reversed"])
                assert sorted((g.donation_id, g.amount.as_json(), g.credited.as_json(),
                               g.reversed) for g in fund.gifts) == sorted(
                    (d["id"], d["amount"], d["credited"], d["reversed"])
                    for d in seen["donations"])
                assert sorted((p.pledge_id, p.status, p.amount.as_json(), p.paid.as_json(),
                               p.outstanding.as_json(), p.overdue.as_json())
                              for p in fund.pledges) == sorted(
                    (p["id"], p["status"], p["amount"], p["paid"], p["outstanding"],
                     p["overdue"]) for p in seen["pledges"])
    finally:
        models.stop()
        app.close()


def test_building_every_sponsors_statement_reads_each_funds_events_once(demo):
    reads: list[UUID] = []
    original = demo.fund_events

    def counting(fund_id: UUID, after: int = 0):
        reads.append(fund_id)
        return original(fund_id, after)

    demo.fund_events = counting  # type: ignore[method-assign]
    try:
        builder = StatementBuilder(read_books(demo), *SCHOOL_YEAR)
        for sponsor in builder.sponsor_ids():
            builder.build(demo.sponsor(UUID(sponsor)))
    finally:
        del demo.fund_events
    assert len(reads) == len(demo.fund_codes()) == len(set(reads))


def test_initials_keep_the_first_letter_of_each_word_and_nothing_else():
    assert initials("Nguyễn Thị Lan") == "N.T.L."
    assert initials("Đặng  văn   ánh") == "Đ.V.A."
    assert initials("Alăng Bhríu") == "A.B."
    assert initials("  ") == "?"


def test_amounts_and_dates_are_formatted_for_the_language():
    assert money(vnd(1_500_000), "vi") == "1.500.000 ₫"
    assert money(vnd(1_500_000), "en") == "VND 1,500,000"
    assert money(Money(1_200_050, "EUR"), "vi") == "12.000,50 EUR"
    assert money(Money(1_200_050, "EUR"), "en") == "EUR 12,000.50"
    assert money(Money(150_000, "JPY"), "en") == "JPY 150,000"
    assert money(vnd(0), "vi") == "0 ₫"
    assert day(date(2025, 9, 1), "vi") == "01/09/2025"
    assert day(date(2025, 9, 1), "en") == "2025-09-01"


def _sponsors(app: Ledger) -> list[str]:
    return StatementBuilder(read_books(app), *SCHOOL_YEAR).sponsor_ids()


def _recipient_names(app: Ledger) -> set[str]:
    return {e.recipient["name"] for b in read_books(app) for e in b.events
            if type(e).__name__ == "AwardGranted"}
