"""A recorded moment's text is exactly `datetime.isoformat()`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.application import Ledger
from ledger.domain.moments import isoformat
from ledger.transcoder import DatetimeAsISOText

ZONES = st.none() | st.just(timezone.utc) | st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23, minutes=-59),
                            max_value=timedelta(hours=23, minutes=59)))


@settings(max_examples=2000)
@given(st.datetimes(timezones=ZONES))
def test_the_text_is_isoformat(moment):
    assert isoformat(moment) == moment.isoformat()


def test_utc_moments_at_the_edges():
    for moment in (datetime.min, datetime.max, datetime(2026, 11, 29, 14, 0),
                   datetime(999, 1, 2, 3, 4, 5, 6), datetime(2026, 1, 1, 0, 0, 0, 100)):
        utc = moment.replace(tzinfo=timezone.utc)
        assert isoformat(utc) == utc.isoformat()


def test_the_store_writes_and_reads_datetimes_with_it():
    ledger = Ledger({"PERSISTENCE_MODULE": "eventsourcing.popo"})
    transcoder = ledger.mapper.transcoder
    assert type(transcoder.types[datetime]) is DatetimeAsISOText
    moment = datetime(2026, 11, 29, 14, 0, 1, 5, tzinfo=timezone.utc)
    encoded = transcoder.encode({"at": moment})
    assert encoded == b'{"at":{"_type_":"datetime_iso","_data_":"2026-11-29T14:00:01.000005+00:00"}}'
    assert transcoder.decode(encoded) == {"at": moment}
