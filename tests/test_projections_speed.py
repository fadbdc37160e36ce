"""The read models' fast paths give what the plain paths give: the history's data text,
the cyclic collector's pause, a write offered by the ledger itself, and small batches."""

from __future__ import annotations

import gc
import json
import random
import threading
import time

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.projections import ReadModels
from ledger.projections.history import data_json
from ledger.collector import collector_paused
from ledger.storage import open_ledger
from test_projections_workload import Workload, rebuilt_tables, tables

_plain = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.text(), _values, max_size=6))
def test_the_history_writes_an_events_data_as_the_standard_library_does(data):
    assert data_json(data) == _plain(data)


def test_what_orjson_refuses_the_standard_library_writes():
    for data in ({"big": 2**70}, {"small": -(2**64)}, {"lone": "\ud800"}, {1: "key"}):
        assert data_json(data) == _plain(data)


# ---- the cyclic collector's pause -----------------------------------------------------------


def test_the_collector_resumes_after_the_last_of_nested_and_concurrent_pauses():
    assert gc.isenabled()
    entered, leave = threading.Barrier(3), threading.Event()

    def pause() -> None:
        with collector_paused:
            entered.wait()
            leave.wait()

    others = [threading.Thread(target=pause) for _ in range(2)]
    for thread in others:
        thread.start()
    entered.wait()
    with collector_paused:
        assert not gc.isenabled()
    assert not gc.isenabled()  # the other two still pause it
    leave.set()
    for thread in others:
        thread.join()
    assert gc.isenabled()


def test_a_pause_leaves_a_collector_that_was_off_off():
    gc.disable()
    try:
        with collector_paused:
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


# ---- writes offered by the ledger itself ------------------------------------------------------


def test_on_sqlite_the_ledgers_own_write_reaches_the_views_long_before_the_next_poll(
    sqlite_settings,
):
    app = open_ledger(sqlite_settings)
    models = ReadModels(app, sqlite_settings, poll_interval=30)
    models.start()
    try:
        models.wait_for(models.runner.top(), timeout=5)
        time.sleep(0.2)  # the runner is asleep until its next poll, 30 s away
        written = app.open_fund("OFFER", "Offered", actor="t")
        started = time.monotonic()
        assert models.wait_for(written.position, timeout=5)
        assert time.monotonic() - started < 2
        assert models.fund("OFFER")["code"] == "OFFER"
    finally:
        models.stop()
        app.close()


def test_writes_offered_out_of_order_and_writes_of_another_ledger_end_as_a_fresh_rebuild(
    durable_settings,
):
    """Threads of this process write (offered to the runner, not always in id order), and
    another ledger on the same store writes too (never offered: gaps the runner must
    read from the store); every view ends row for row as a rebuild makes it."""
    app = open_ledger(durable_settings)
    other = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings, poll_interval=0.05)
    workloads = [Workload(app, "mine-1"), Workload(app, "mine-2"), Workload(other, "theirs")]
    models.start()
    try:
        def write(work: Workload, seed: int) -> None:
            rng = random.Random(seed)
            for _ in range(60):
                work.random_step(rng)

        writers = [threading.Thread(target=write, args=(w, i)) for i, w in enumerate(workloads)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
        assert models.wait_for(models.runner.top(), timeout=30)
        live = tables(models)
    finally:
        models.runner.stop()
    try:
        assert rebuilt_tables(models) == live
    finally:
        models.stop()
        other.close()
        app.close()


def test_the_views_behind_share_one_transaction_and_apply_a_batch_once(durable_settings):
    app = open_ledger(durable_settings)
    models = ReadModels(app, durable_settings)
    try:
        work = Workload(app, "together")
        rng = random.Random(3)
        for _ in range(80):
            work.random_step(rng)
        runner = models.runner
        top = runner.top()
        batch, end = runner.read(0, top)
        middle = batch[len(batch) // 2][0]
        runner.process(models.views[0], batch, 0, middle)  # one view ahead of the others
        runner.process_together(models.views, batch, 0, end)
        once = tables(models)
        runner.process_together(models.views, batch, 0, end)  # delivered again
        assert tables(models) == once
        assert rebuilt_tables(models) == once
    finally:
        models.stop()
        app.close()
