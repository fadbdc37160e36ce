"""A receipt issued as a bare event (bulk writes) is the receipt `Receipt.issue` builds."""

from __future__ import annotations

from datetime import date
from uuid import UUID, uuid4

from ledger.application import Ledger
from ledger.domain.money import Money
from ledger.domain.receipt import Receipt


def test_the_bare_event_builds_the_same_receipt():
    write_id = uuid4()
    event = Receipt.issued(write_id, "donation", "f" * 64, {"id": str(write_id)})
    built = event.mutate(None)
    issued = Receipt.issue(write_id, "donation", "f" * 64, {"id": str(write_id)})
    assert isinstance(built, Receipt) and built.version == issued.version == 1
    assert (built.id, built.kind, built.fingerprint, built.result) == (
        issued.id, issued.kind, issued.fingerprint, issued.result)
    assert [type(e) for e in issued.collect_events()] == [Receipt.Issued]


def test_a_batch_of_donations_is_answered_from_its_receipts_when_sent_again(tmp_path):
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                     "SQLITE_DBNAME": str(tmp_path / "ledger.db")})
    ledger.open_fund("ASAHI", "Asahi Daily", "JPY", actor="t")
    sponsor = UUID(ledger.register_sponsor("Asahi Shimbun", "organization", actor="t").result["id"])
    batch = [{"code": "ASAHI", "donation_id": uuid4(), "sponsor_id": sponsor,
              "amount": Money(50_000 + n, "JPY"), "credited": None,
              "received_on": date(2025, 3, 1), "method": "bank_transfer",
              "reference": f"JP-{n}", "pledge_id": None} for n in range(3)]
    first = ledger.record_donations(batch, actor="t")
    receipt = ledger.repository.get(batch[0]["donation_id"])
    assert isinstance(receipt, Receipt) and receipt.kind == "donation"
    assert receipt.result == first[0].result
    again = ledger.record_donations(batch, actor="t")
    assert [w.created for w in first] == [True] * 3 and [w.created for w in again] == [False] * 3
    assert [w.result for w in again] == [w.result for w in first]
