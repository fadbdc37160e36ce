"""Funds loaded from their snapshots, on SQLite and PostgreSQL: the same fund as a replay,
also from a snapshot taken by an earlier version of the ledger."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot

from ledger.domain import errors
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.storage import open_ledger

D = date(2025, 9, 1)


def vnd(n: int) -> Money:
    return Money(n, "VND")


@pytest.fixture(name="settings")
def _settings(durable_settings):
    return durable_settings.model_copy(update={"snapshot_interval": 5})


def _record(settings, gifts: int) -> tuple[UUID, list[UUID]]:
    ledger = open_ledger(settings)
    ledger.open_fund("TT", "Thien Tam", actor="t")
    sponsor = UUID(ledger.register_sponsor("Agribank", "organization", actor="t").result["id"])
    ids = [UUID(ledger.record_donation("TT", sponsor, vnd(100 + i), received_on=D,
                                       method="cash", actor="t").result["id"])
           for i in range(gifts)]
    ledger.reverse_donation("TT", ids[0], "bounced", actor="t")
    ledger.close()
    return sponsor, ids


def test_a_fund_loaded_from_its_snapshot_is_the_fund_its_events_make(settings):
    _, ids = _record(settings, 12)
    ledger = open_ledger(settings)
    snapshots = list(ledger.snapshots.get(Fund.id_for("TT")))
    assert snapshots, "a fund of 14 events with an interval of 5 has snapshots"
    loaded = ledger.repository.get(Fund.id_for("TT"))
    replayed = Fund.replay(ledger.fund_events(Fund.id_for("TT")))
    assert loaded.version == 14  # Fund.replay applies events without counting versions
    assert {k: v for k, v in _state(loaded).items() if k != "_modified_on"} == {
        k: v for k, v in _state(replayed).items() if k != "_modified_on"}
    with pytest.raises(errors.AlreadyReversed):
        ledger.reverse_donation("TT", ids[0], "again", actor="t")
    ledger.reverse_donation("TT", ids[1], "bounced", actor="t")
    assert ledger.figures("TT")["received_total"] == vnd(sum(100 + i for i in range(2, 12)))
    ledger.close()


def test_a_snapshot_from_when_funds_kept_each_donation_still_loads(durable_settings):
    settings = durable_settings  # snapshots every 1,000 events: none of its own here
    sponsor, ids = _record(settings, 3)
    ledger = open_ledger(settings)
    fund = ledger.repository.get(Fund.id_for("TT"))
    # the state as the ledger snapshotted it before class_version 2: an entry per donation
    state = {k: v for k, v in _state(fund).items() if k != "reversed"}
    state["donations"] = {
        str(d): {"sponsor": str(sponsor), "credited": 100 + i, "pledge": None,
                 "reversed": i == 0}
        for i, d in enumerate(ids)
    }
    _put_snapshot(ledger, fund, state)

    ledger = open_ledger(settings)
    loaded = ledger.repository.get(Fund.id_for("TT"))
    assert loaded.reversed == {str(ids[0]): True}
    assert not hasattr(loaded, "donations")
    with pytest.raises(errors.AlreadyReversed):
        ledger.reverse_donation("TT", ids[0], "again", actor="t")
    ledger.reverse_donation("TT", ids[1], "bounced", actor="t")
    ledger.record_donation("TT", sponsor, vnd(7), received_on=D, method="cash", actor="t")
    assert ledger.figures("TT")["received_total"] == vnd(102 + 7)
    ledger.close()


def test_a_snapshot_from_before_funds_counted_their_turnover_loads_with_a_lower_bound(
    durable_settings,
):
    sponsor, ids = _record(durable_settings, 3)
    ledger = open_ledger(durable_settings)
    fund = ledger.repository.get(Fund.id_for("TT"))
    assert fund.turnover == 100 + 101 + 102 + 100  # three gifts and a reversal
    state = {k: v for k, v in _state(fund).items() if k != "turnover"}
    state["class_version"] = 2
    _put_snapshot(ledger, fund, state)

    ledger = open_ledger(durable_settings)
    loaded = ledger.repository.get(Fund.id_for("TT"))
    assert loaded.turnover == 101 + 102  # what the figures show: the net received
    ledger.record_donation("TT", sponsor, vnd(7), received_on=D, method="cash", actor="t")
    assert ledger.repository.get(Fund.id_for("TT")).turnover == 101 + 102 + 7
    ledger.close()


def _put_snapshot(ledger, fund: Fund, state: dict) -> None:
    """Stores a snapshot of `fund` with this state, as an earlier ledger took it, and
    closes the ledger."""
    ledger.snapshots.put([Snapshot(originator_id=fund.id, originator_version=fund.version,
                                   timestamp=Snapshot.create_timestamp(),
                                   topic="ledger.domain.fund:Fund", state=state)])
    ledger.close()


def _state(fund: Fund) -> dict:
    return {k: v for k, v in vars(fund).items()
            if k not in ("_id", "_version", "_pending_events")}
