"""The ledger's event store and event building make exactly what the library makes."""

from __future__ import annotations

import gc
from datetime import date
from uuid import UUID, uuid4, uuid5

import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.compressor import ZlibCompressor
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    EventStore,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain import events
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.domain.receipt import Receipt
from ledger.event_store import LedgerEventStore
from ledger.collector import YOUNG_THRESHOLD, few_collections, settle_server
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


def _reference_state(event) -> bytes:
    """The bytes the library stores for this event built by its class's `__init__`, with
    its own JSON encoder."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder).to_stored_event(type(event)(**event.__dict__)).state


def test_an_event_built_is_the_one_its_class_builds_and_stored_as_the_same_bytes():
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    fund = _fund_with_history()
    made = [*fund.collect_events(),
            Receipt.issued(uuid4(), "donation", "f" * 64, {"id": "d-1", "events": [1]})]
    assert len(made) == 4
    for event in made:
        by_class = type(event)(**event.__dict__)
        assert event == by_class
        assert list(event.__dict__) == list(by_class.__dict__)  # the class's field order
        assert ledger.mapper.to_stored_event(event).state == _reference_state(event)


def test_fields_given_in_another_order_are_kept_in_the_class_order():
    issued = Receipt.issued(uuid4(), "donation", "f" * 64, {"id": "x"})
    shuffled = dict(reversed(list(issued.__dict__.items())))
    built = events.build(Receipt.Issued, shuffled)
    assert built == issued and list(built.__dict__) == list(issued.__dict__)


def test_an_event_with_a_field_missing_or_unknown_or_a_bad_originator_is_refused():
    issued = Receipt.issued(uuid4(), "donation", "f" * 64, {"id": "x"})
    attributes = dict(issued.__dict__)
    missing = {k: v for k, v in attributes.items() if k != "kind"}
    with pytest.raises(TypeError, match=r"missing \['kind'\]"):
        events.build(Receipt.Issued, missing)
    with pytest.raises(TypeError, match=r"unknown \['balance'\]"):
        events.build(Receipt.Issued, dict(attributes, balance=1))
    # the library's own check, in the class's __post_init__, still runs
    with pytest.raises(TypeError, match="non-UUID originator_id"):
        Receipt.issued("d-1", "donation", "f" * 64, {"id": "x"})  # type: ignore[arg-type]


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
        assert len(stored) == 5  # fund and its receipt, sponsor, donation and its receipt
        for notification in stored:
            event = ledger.mapper.to_domain_event(notification)
            assert notification.state == _reference_state(event)
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
    gc.unfreeze()
    with few_collections():
        assert gc.get_threshold()[0] == 100_000 and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    gc.freeze()  # frozen outside: kept frozen after
    try:
        with few_collections():
            with few_collections():
                pass
            assert gc.get_threshold()[0] == 100_000
        assert gc.get_threshold() == before and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_a_started_server_settles_the_collector_once(sqlite_settings, monkeypatch):
    from ledger import collector
    from test_api_support import TestClient, create_app

    monkeypatch.setattr(collector, "_settled", False)  # as in a process just started
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        with TestClient(create_app(sqlite_settings)) as client:  # its lifespan runs
            assert client.get("/healthz").status_code == 200
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD and gc.get_freeze_count() > 0
            frozen = gc.get_freeze_count()
            settle_server()  # once per process: nothing more is frozen
            assert gc.get_freeze_count() == frozen
    finally:
        gc.set_threshold(*thresholds)
