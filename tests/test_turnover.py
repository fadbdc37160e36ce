"""A fund's turnover (every amount its events moved, summed) is bounded, so that no sum the
ledger keeps of a fund (its figures, the read models' totals by month, sponsor, school)
can pass what a 64-bit integer holds: the write that would pass the bound is refused with
its problem type, nothing is recorded, and the read models stay current."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from ledger.domain import errors
from ledger.domain.fund import MAX_TURNOVER_MINOR, Fund
from ledger.domain.money import Money
from ledger.projections import ReadModels
from ledger.storage import open_ledger

D = date(2025, 1, 3)
MAX_USD = Money.parse("1000000000000000", "USD")  # 10^15 major units: the largest amount


def test_the_write_past_the_bound_is_refused_and_the_read_models_keep_up(durable_settings):
    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings)
    try:
        app.open_fund("BIG", "Big", "USD", actor="t")
        app.open_fund("OTHER", "Other", "USD", actor="t")
        sponsor = UUID(app.register_sponsor("Asahi", "organization", actor="t").result["id"])
        gifts = MAX_TURNOVER_MINOR // MAX_USD.minor
        for _ in range(gifts):
            app.record_donation("BIG", sponsor, MAX_USD, received_on=D, method="cash",
                                actor="t")
        events = app.recorder.max_notification_id()
        with pytest.raises(errors.TurnoverLimit):
            app.record_donation("BIG", sponsor, Money.parse("0.01", "USD"), received_on=D,
                                method="cash", actor="t")
        # a transfer into the full fund is refused before either fund has an event
        app.record_donation("OTHER", sponsor, Money.parse("5", "USD"), received_on=D,
                            method="cash", actor="t")
        events += 2  # that gift and its receipt
        with pytest.raises(errors.TurnoverLimit):
            app.transfer("OTHER", "BIG", Money.parse("1", "USD"), "top up", actor="t")
        assert app.recorder.max_notification_id() == events
        assert app.figures("OTHER")["cash"] == Money.parse("5", "USD")
        models.catch_up()  # no sum overflows: the views take every event
        assert models.stored_position() == events
        big = models.fund("BIG")
        assert big["figures"]["cash"] == {"amount": "10000000000000000.00", "currency": "USD"}
        assert big["counts"]["donations"] == gifts
        # a fund loaded afresh (replayed, or from a snapshot) knows its turnover
        app.close()
        app = open_ledger(durable_settings)
        assert app.repository.get(Fund.id_for("BIG")).turnover == MAX_TURNOVER_MINOR
        with pytest.raises(errors.TurnoverLimit):
            app.allocate("BIG", "Round 1", Money.parse("0.01", "USD"), actor="t")
    finally:
        models.stop()
        app.close()


def test_every_money_event_counts_and_a_replay_agrees(settings):
    app = open_ledger(settings)
    try:
        app.open_fund("TT", "Thien Tam", actor="t")
        app.open_fund("TT2", "Thien Tam 2", actor="t")
        sponsor = UUID(app.register_sponsor("Agribank", "organization", actor="t").result["id"])
        app.make_pledge("TT", sponsor, Money(1000, "VND"), actor="t")
        gift = UUID(app.record_donation("TT", sponsor, Money(700, "VND"), received_on=D,
                                        method="cash", actor="t").result["id"])
        app.record_donation("TT", sponsor, Money(300, "VND"), received_on=D, method="cash",
                            actor="t")
        app.reverse_donation("TT", gift, "bounced", actor="t")
        app.transfer("TT", "TT2", Money(100, "VND"), "share", actor="t")
        fund = app.repository.get(Fund.id_for("TT"))
        assert fund.turnover == 1000 + 700 + 300 + 700 + 100
        assert Fund.replay(app.fund_events(Fund.id_for("TT"))).turnover == fund.turnover
        assert app.repository.get(Fund.id_for("TT2")).turnover == 100
    finally:
        app.close()
