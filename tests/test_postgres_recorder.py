"""The ledger's PostgreSQL recorder passes the library's own recorder test cases."""

from __future__ import annotations

import uuid

import psycopg
import pytest
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

    def setUp(self) -> None:
        require_postgres()
        super().setUp()
        self.schema = f"rec_{uuid.uuid4().hex[:12]}"
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


class TestTrackingRecorderBesideIt(_Schema, TrackingRecorderTestCase):
    def create_recorder(self):
        recorder = PostgresTrackingRecorder(self.datastore, tracking_table_name="tracking")
        recorder.create_table()
        return recorder


del ApplicationRecorderTestCase, NonInterleavingNotificationIDsBaseCase, TrackingRecorderTestCase
