"""The event store's fast JSON encoding writes exactly the library's JSON."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain.fund import Fund
from ledger.transcoder import FastJSONTranscoder


def _registered(transcoder: JSONTranscoder) -> JSONTranscoder:
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


REFERENCE, FAST = _registered(JSONTranscoder()), _registered(FastJSONTranscoder())

SCALARS = (st.none() | st.booleans() | st.text(max_size=10)
           | st.integers(min_value=-(2 ** 70), max_value=2 ** 70)
           | st.datetimes(timezones=st.none() | st.just(timezone.utc)
                          | st.just(timezone(timedelta(hours=7))))
           | st.uuids() | st.decimals(allow_nan=False, places=2, max_value=10 ** 9,
                                      min_value=-(10 ** 9)))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                 max_size=4),
    max_leaves=16,
)


@settings(max_examples=500)
@given(st.dictionaries(st.text(max_size=8), VALUES, max_size=6))
def test_the_fast_encoding_is_the_library_encoding(state):
    encoded = FAST.encode(state)
    assert encoded == REFERENCE.encode(state)
    assert FAST.decode(encoded) == state


def test_an_unregistered_type_is_refused_as_the_library_refuses_it():
    for state in ({"t": {1, 2}}, {"d": datetime(2025, 1, 1).date()}):
        with pytest.raises(TranscodingNotRegisteredError):
            FAST.encode(state)


def test_the_ledger_stores_with_it_and_reads_back(tmp_path):
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                     "SQLITE_DBNAME": str(tmp_path / "ledger.db")})
    assert type(ledger.mapper.transcoder) is FastJSONTranscoder
    ledger.open_fund("THIEN-TAM", "Thiện Tâm fund", actor="treasurer")
    stored = ledger.recorder.select_notifications(1, 10)
    # the bytes stored are the bytes the library's own encoder writes for that state
    assert stored and all(REFERENCE.encode(REFERENCE.decode(n.state)) == n.state
                          for n in stored)
    ledger._cache.clear()
    assert ledger.repository.get(Fund.id_for("THIEN-TAM")).name == "Thiện Tâm fund"
