"""The ledger's event store and event building make exactly what the library makes."""

from __future__ import annotations

import gc
from datetime import date
from uuid import UUID, uuid4, uuid5

import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import EventStore, Mapper
from hypothesis import given
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain import events
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.domain.receipt import Receipt
from ledger.event_store import LedgerEventStore
from ledger.imports.collector import few_collections
from ledger.imports.rows import DONATION_NAMESPACE, donation_id_for
from ledger.storage import open_ledger


def _fund_with_history() -> Fund:
    fund = Fund.open("THIEN-TAM", "Thiện Tâm fund", "VND", actor="treasurer",
                     opened_on=date(2025, 1, 2))
    fund.receive_donation("d-1", "s-1", Money(5_000_000, "VND"), None,
                          received_on=date(2025, 1, 3), method="bank_transfer",
                          reference="FT1", actor="treasurer")
    fund.allocate("a-1", "Round 1", Money(2_000_000, "VND"), actor="treasurer",
                  allocated_on=date(2025, 1, 4))
    return fund


def test_an_event_built_equals_the_one_its_class_builds():
    fund = _fund_with_history()
    for event in fund.collect_events():
        attributes = dict(event.__dict__)
        built = events.build(type(event), dict(attributes))
        assert built == type(event)(**attributes)
        assert type(built) is type(event) and built.__dict__ == attributes


def test_an_event_with_a_field_missing_or_unknown_is_refused():
    issued = Receipt.issued(uuid4(), "donation", "f" * 64, {"id": "x"})
    attributes = dict(issued.__dict__)
    missing = {k: v for k, v in attributes.items() if k != "kind"}
    with pytest.raises(TypeError, match=r"missing \['kind'\]"):
        events.build(Receipt.Issued, missing)
    with pytest.raises(TypeError, match=r"unknown \['balance'\]"):
        events.build(Receipt.Issued, dict(attributes, balance=1))


def test_a_fund_rebuilt_from_its_built_events_is_the_same_fund():
    fund = _fund_with_history()
    replayed = None
    for event in fund.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None
    assert (replayed.version, replayed.received, replayed.last_hash) == (
        fund.version, 5_000_000, fund.last_hash)


@pytest.mark.parametrize("persistence", ["eventsourcing.popo", "eventsourcing.sqlite"])
def test_stored_events_and_recordings_equal_the_library_ones(persistence, tmp_path):
    def app(name: str) -> Ledger:
        env = {"PERSISTENCE_MODULE": persistence}
        if persistence == "eventsourcing.sqlite":
            env["SQLITE_DBNAME"] = str(tmp_path / f"{name}.db")
        return Ledger(env)

    ours, theirs = app("ours"), app("theirs")
    assert type(ours.events) is LedgerEventStore
    library = EventStore(mapper=theirs.mapper, recorder=theirs.recorder)
    fund = _fund_with_history()
    new = fund.collect_events()
    receipt = Receipt.issued(uuid4(), "donation", "f" * 64, {"id": "d-1", "events": []})
    mine = ours.events.put([*new, receipt])
    reference = library.put([*new, receipt])
    assert mine == reference
    assert [r.notification.id for r in mine] == [1, 2, 3, 4]
    assert [ours.events._stored(e) for e in new] == [theirs.mapper.to_stored_event(e)
                                                     for e in new]
    assert ours.recorder.select_notifications(1, 10) == theirs.recorder.select_notifications(1, 10)
    ours._cache.clear()
    assert ours.repository.get(fund.id).received == 5_000_000


def test_with_a_cipher_and_compressor_it_is_the_library_put():
    key = AESCipher.create_key(16)
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo", "CIPHER_KEY": key,
                     "CIPHER_TOPIC": "eventsourcing.cipher:AESCipher",
                     "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor"})
    assert type(ledger.mapper) is Mapper and ledger.mapper.cipher and ledger.mapper.compressor
    assert isinstance(ledger.mapper.compressor, ZlibCompressor)
    ledger.open_fund("THIEN-TAM", "Thiện Tâm fund", actor="treasurer")
    state = ledger.recorder.select_notifications(1, 1)[0].state
    assert b"THIEN-TAM" not in state  # enciphered, as the library's put does it
    ledger._cache.clear()
    assert ledger.repository.get(Fund.id_for("THIEN-TAM")).code == "THIEN-TAM"


@pytest.mark.postgres
def test_the_postgres_store_records_what_the_library_would(pg_settings):
    ledger = open_ledger(pg_settings)
    try:
        assert type(ledger.events) is LedgerEventStore
        ledger.open_fund("THIEN-TAM", "Thiện Tâm fund", actor="treasurer")
        sponsor = UUID(ledger.register_sponsor("An", "individual", actor="t").result["id"])
        written = ledger.record_donations([{
            "code": "THIEN-TAM", "donation_id": uuid4(), "sponsor_id": sponsor,
            "amount": Money(100_000, "VND"), "credited": None,
            "received_on": date(2025, 2, 1), "method": "cash", "reference": "R1",
        }], actor="t")
        stored = ledger.recorder.select_notifications(1, 10)
        assert written[0].position == stored[-1].id
        for notification in stored:
            event = ledger.mapper.to_domain_event(notification)
            assert ledger.mapper.to_stored_event(event).state == notification.state
    finally:
        ledger.close()


@given(st.text(max_size=20), st.text(max_size=40))
def test_a_donation_id_is_uuid5_of_fund_and_reference(fund, reference):
    try:
        expected = uuid5(DONATION_NAMESPACE, f"{fund}\x1f{reference}")
    except UnicodeEncodeError:
        with pytest.raises(UnicodeEncodeError):
            donation_id_for(fund, reference)
        return
    assert donation_id_for(fund, reference) == expected


def test_few_collections_restores_the_collector():
    before = gc.get_threshold()
    with few_collections():
        assert gc.get_threshold()[0] == 100_000 and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
