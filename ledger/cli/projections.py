"""`ledger projections …`: keep the read models current, rebuild one, show their lag."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Callable

import click
import structlog

from ledger.cli import main
from ledger.cli._common import ledger_app
from ledger.settings import get_settings


def _read_models(batch_size: int | None = None, poll_interval: float | None = None):  # noqa: ANN202
    from ledger.projections import ReadModels
    from ledger.projections.runner import BATCH_SIZE

    return ReadModels(ledger_app(), get_settings(), batch_size=batch_size or BATCH_SIZE,
                      poll_interval=poll_interval)


@main.group()
def projections() -> None:
    """The read models: balances, sponsor ledgers, award register, fund history."""


@projections.command()
@click.option("--batch-size", type=click.IntRange(1, 100_000),
              help="events per transaction while catching up (default: as `ledger serve`)")
@click.option("--poll-interval", type=click.FloatRange(0.01, 60),
              help="seconds between polls (default: 1 on PostgreSQL, 0.25 on SQLite)")
@click.option("--parent", type=int, hidden=True,
              help="stop once this process is no longer the parent (`ledger serve`'s views"
                   " process)")
def run(batch_size: int | None, poll_interval: float | None, parent: int | None) -> None:
    """Keep every view current until stopped (SIGINT or SIGTERM)."""
    from ledger.logging import configure

    configure()
    models = _read_models(batch_size, poll_interval)
    asked, finished = threading.Event(), threading.Event()

    def stop_until_finished() -> None:
        # (again and again: a stop asked for as the runner's loop began would be lost)
        while not finished.is_set():
            models.runner.stop()
            finished.wait(0.5)

    def stop(*_: object) -> None:
        asked.set()
        # stop from another thread: the runner's loop is in this one
        threading.Thread(target=stop_until_finished, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if parent is not None:
        threading.Thread(target=_stop_with_parent, args=(parent, stop), daemon=True,
                         name="parent-watch").start()
    structlog.get_logger("ledger.projections").info(
        "keeping the views current", views=[v.name for v in models.views])
    try:
        if not asked.is_set():
            models.run_forever()
    finally:
        finished.set()
    models.db.close()


def _stop_with_parent(parent: int, stop: Callable[[], None]) -> None:
    """Calls `stop` once `parent` is not the parent process (it has gone, and this one was
    handed to another, maybe before it started)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    stop()


@projections.command()
@click.argument("name", type=click.Choice(["balances", "sponsors", "awards", "history"]))
def rebuild(name: str) -> None:
    """Rebuild one view from scratch beside the live one, then swap it in."""
    models = _read_models()

    def progress(position: int, top: int) -> None:
        click.echo(f"\r{name}: {position}/{top}", nl=False, err=True)

    position = models.rebuild(name, progress)
    click.echo(f"\r{name}: rebuilt up to notification {position}", err=True)
    models.db.close()


@projections.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def status(as_json: bool) -> None:
    """Show each view's position and lag behind the last stored event."""
    models = _read_models()
    rows = models.status()
    models.db.close()
    if as_json:
        click.echo(json.dumps(rows))
        return
    click.echo(f"{'view':<10} {'position':>12} {'lag':>10}")
    for row in rows:
        click.echo(f"{row['view']:<10} {row['position']:>12} {row['lag']:>10}")
