"""A projection process killed with SIGKILL at random points while writers keep writing
ends, once restarted, row for row identical to a fresh rebuild of every view; and a view
that writes its rows and its tracking in separate transactions (the broken variant
defined here) is caught by the very same test."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ledger.projections import ReadModels
from ledger.projections.runner import Runner, wait_until
from ledger.projections.view import View
from ledger.settings import Settings
from ledger.storage import open_ledger

TESTS = str(Path(__file__).parent)
#: small batches: many transactions, so a kill has many places to land
BATCH = 5


class SeparateTransactions(Runner):
    """Broken on purpose: each event's rows commit in a transaction of their own, and the
    tracking position in another one after the batch."""

    def process(self, view: View, batch: list[tuple[int, Any]], low: int, end: int) -> None:
        position = self.db.positions([view.tracking])[view.tracking]
        if position >= end or position < low:
            return
        for item in batch:
            if item[0] > position:
                with self.db.transaction(immediate=True) as tx:
                    view.apply(tx, [item])
        with self.db.transaction(immediate=True) as tx:
            self.db.set_positions(tx, [view.tracking], end)

    def process_together(self, views: list[View], batch: list[tuple[int, Any]], low: int,
                         end: int) -> None:
        for view in views:
            self.process(view, batch, low, end)


def projection_process() -> None:
    """The projection process (`python -c` with settings, variant and mode as arguments):
    says it is ready, waits to be told to go, then keeps the views current (or, in
    `finish` mode, catches up and exits)."""
    settings_json, variant, mode = sys.argv[1:4]
    print("ready", flush=True)
    sys.stdin.readline()
    settings = Settings.model_validate_json(settings_json)
    app = open_ledger(settings)
    models = ReadModels(app, settings, batch_size=BATCH, poll_interval=0.02)
    if variant == "broken":
        models.runner = SeparateTransactions(app, models.db, models.views, batch_size=BATCH,
                                             poll_interval=0.02)
    if mode == "finish":
        models.catch_up()
    else:
        models.run_forever()


class Projector:
    """One projection process, started at once and told to go later: a fresh interpreter
    takes a second to start, which must not be a second of quiet between two kills."""

    def __init__(self, settings: Settings, broken: bool, finish: bool) -> None:
        code = f"import sys; sys.path.insert(0, {TESTS!r}); " \
               "import test_projections_crash as t; t.projection_process()"
        self.process = subprocess.Popen(
            [sys.executable, "-c", code, settings.model_dump_json(),
             "broken" if broken else "correct", "finish" if finish else "run"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )

    def go(self) -> None:
        assert self.process.stdout.readline() == "ready\n", "the projection process died"
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        self.process.kill()  # SIGKILL
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()


def survives_kills(
    settings: Settings, broken: bool, seed: int, kills: int = 8, prefix: str = "crash",
) -> bool:
    """Kills the projection process `kills` times at random moments while a writer keeps
    writing to new funds (codes from `prefix`), lets a last one finish, and compares every
    view with a fresh rebuild."""
    from test_projections_workload import (  # not in the projection processes
        Workload, rebuilt_tables, tables,
    )

    rng = random.Random(seed)
    app = open_ledger(settings)
    work = Workload(app, prefix)
    stop = threading.Event()

    def write() -> None:
        writer_rng = random.Random(seed + 1)
        while not stop.wait(0.002):  # steady writing, not a flood the last run must drain
            work.random_step(writer_rng)

    writer = threading.Thread(target=write)
    writer.start()
    models = ReadModels(app, settings)  # the parent's view of positions, and the rebuild

    def positions() -> list[int]:
        return [s["position"] for s in models.status()]

    processes = [Projector(settings, broken, finish=i == kills) for i in range(kills + 1)]
    try:
        try:
            for process in processes[:-1]:
                time.sleep(rng.uniform(0.05, 0.3))  # the writer makes a backlog
                before = positions()
                process.go()
                # once the process has committed something, at a random moment after
                wait_until(lambda: positions() != before, 2, time.sleep)
                time.sleep(rng.uniform(0, 0.1))
                process.kill()
        finally:
            stop.set()
            writer.join()
        last = processes[-1]  # the restart nobody kills: it catches up and exits
        last.go()
        exitcode = last.process.wait(180)
    finally:
        for process in processes:
            process.kill()
    if exitcode != 0:
        models.stop()
        app.close()
        return False
    try:
        assert models.status()[0]["lag"] == 0
        restarted = tables(models)
        return rebuilt_tables(models) == restarted
    finally:
        models.stop()
        app.close()


@pytest.mark.slow
def test_a_projection_killed_at_random_points_ends_identical_to_a_fresh_rebuild(
    durable_settings,
):
    seed = random.randrange(10**6)
    assert survives_kills(durable_settings, broken=False, seed=seed), f"seed {seed}"


@pytest.mark.slow
def test_a_view_written_apart_from_its_tracking_is_caught_by_the_kill_test(durable_settings):
    # A kill catches the broken variant only when it lands between a batch's rows and its
    # tracking, and a run's kills are random: one run of eight kills can miss that window
    # (seen in about one run in ten on SQLite). The test is that the kill test catches it, so
    # give it up to six runs; the correct variant must survive every run it is given.
    seeds = [random.randrange(10**6) for _ in range(6)]
    for run, seed in enumerate(seeds):  # one database, so each run writes to funds of its own
        if not survives_kills(durable_settings, broken=True, seed=seed, prefix=f"crash{run}"):
            return
    pytest.fail(f"the broken variant survived the kills of six runs, seeds {seeds}")

