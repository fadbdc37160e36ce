"""The ledger's PostgreSQL recorder passes the library's own recorder test cases."""

from __future__ import annotations

import uuid
from unittest import TestCase

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.tests.persistence import (
    ApplicationRecorderTestCase,
    NonInterleavingNotificationIDsBaseCase,
    TrackingRecorderTestCase,
)

from conftest import POSTGRES_URL, require_postgres
from ledger.postgres_recorder import LedgerPostgresRecorder

pytestmark = pytest.mark.postgres


class _Schema:
    """Each test case in a schema of its own, dropped afterwards."""

    schema_prefix = "rec_"

    def setUp(self) -> None:
        require_postgres()
        super().setUp()
        self.schema = f"{self.schema_prefix}{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{self.schema}"')
        url = psycopg.conninfo.conninfo_to_dict(POSTGRES_URL)
        self.datastore = PostgresDatastore(
            dbname=url.get("dbname", "test"), host=url.get("host", "127.0.0.1"),
            port=str(url.get("port", 5432)), user=url.get("user", "postgres"),
            password=url.get("password", ""), schema=self.schema, lock_timeout=5,
        )

    def tearDown(self) -> None:
        self.datastore.close()
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
        super().tearDown()

    def create_recorder(self):
        recorder = LedgerPostgresRecorder(self.datastore, events_table_name="stored_events")
        recorder.create_table()
        return recorder


class TestLedgerRecorderAsAnApplicationRecorder(_Schema, ApplicationRecorderTestCase):
    pass


class TestLedgerRecorderKeepsNotificationIdsUninterleaved(
    _Schema, NonInterleavingNotificationIDsBaseCase
):
    pass


class _ByCopy:
    """Every insert, however small, by the COPY path."""

    def create_recorder(self):
        recorder = super().create_recorder()
        recorder.copy_threshold = 1
        return recorder


class TestLedgerRecorderByCopyAsAnApplicationRecorder(
    _ByCopy, _Schema, ApplicationRecorderTestCase
):
    pass


class TestLedgerRecorderByCopyKeepsNotificationIdsUninterleaved(
    _ByCopy, _Schema, NonInterleavingNotificationIDsBaseCase
):
    pass


class TestLargeInserts(_Schema, TestCase):
    schema_prefix = "RecMixed_"  # a name SQL must quote (upper case)
    def test_a_large_insert_answers_the_ids_its_rows_were_given(self):
        recorder = self.create_recorder()
        recorder.insert_events([_event(uuid.uuid4(), 1)])
        events = [_event(uuid.uuid4(), v) for v in (1, 2, 3) for _ in range(100)]
        ids = recorder.insert_events(events)
        stored = recorder.select_notifications(1, 1000)
        assert ids == [n.id for n in stored[1:]]
        assert [(n.originator_id, n.originator_version, n.state) for n in stored[1:]] == [
            (e.originator_id, e.originator_version, e.state) for e in events]

    def test_a_large_insert_meeting_a_stored_event_records_none_of_its_rows(self):
        recorder = self.create_recorder()
        taken = _event(uuid.uuid4(), 1)
        recorder.insert_events([taken])
        events = [_event(uuid.uuid4(), 1) for _ in range(300)] + [taken]
        with pytest.raises(IntegrityError):
            recorder.insert_events(events)
        assert len(recorder.select_notifications(1, 1000)) == 1
        # the failed COPY drew ids from the sequence (never given back): the next rows
        # come after them, and still answer their own ids
        ids = recorder.insert_events(events[:-1])
        assert ids == [n.id for n in recorder.select_notifications(1, 1000)[1:]]


class TestConnections(_Schema, TestCase):
    def test_the_connection_returned_last_is_handed_out_first(self):
        url = psycopg.conninfo.conninfo_to_dict(POSTGRES_URL)
        datastore = PostgresDatastore(
            dbname=url.get("dbname", "test"), host=url.get("host", "127.0.0.1"),
            port=str(url.get("port", 5432)), user=url.get("user", "postgres"),
            password=url.get("password", ""), schema=self.schema, pool_size=3,
        )
        try:
            LedgerPostgresRecorder(datastore, events_table_name="stored_events")
            with datastore.get_connection() as first, datastore.get_connection() as second:
                pass  # both back in the pool: `first` went back last
            assert second is not first
            for _ in range(3):
                with datastore.get_connection() as again:
                    assert again is first
        finally:
            datastore.close()


def _event(originator_id: uuid.UUID, version: int) -> StoredEvent:
    return StoredEvent(originator_id=originator_id, originator_version=version,
                       topic="tests:Event", state=b"\x00 binary \xc3\xa9 \\x")


class TestTrackingRecorderBesideIt(_Schema, TrackingRecorderTestCase):
    def create_recorder(self):
        recorder = PostgresTrackingRecorder(self.datastore, tracking_table_name="tracking")
        recorder.create_table()
        return recorder


del ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase, TrackingRecorderTestCase
