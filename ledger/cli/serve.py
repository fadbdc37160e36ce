"""`ledger serve`: the HTTP API and web pages, with the read models kept current beside it."""

from __future__ import annotations

import os
import signal

import click

from ledger.cli import main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="server processes")
@click.option("--views", type=click.Choice(["auto", "process", "threads", "elsewhere"]),
              help="who keeps the read models current: a process of their own (PostgreSQL),"
                   " each server process's threads, or another command (`ledger projections"
                   " run`); auto: process on PostgreSQL, threads on SQLite"
                   " [default: LEDGER_VIEWS, else auto]")
def serve(host: str, port: int, workers: int, views: str | None) -> None:
    """Serve the API and web pages until interrupted."""
    import uvicorn

    from ledger.cli._views_process import ViewsProcess
    from ledger.logging import configure
    from ledger.settings import get_settings
    from ledger.storage import describe

    configure()
    settings = get_settings()
    postgres = describe(settings) == "postgresql"
    views = views or settings.views
    if views == "auto":
        views = "process" if postgres else "threads"
    if views == "process" and not postgres:
        raise click.UsageError(
            "--views process needs PostgreSQL: on SQLite the server cannot hear another"
            " process's progress; use threads (or elsewhere, with `ledger projections run`)")
    keeper = ViewsProcess() if views == "process" else None
    # the server processes (this one, or uvicorn's workers) read it from the environment
    os.environ["LEDGER_VIEWS"] = "elsewhere" if keeper else views
    get_settings.cache_clear()
    # uvicorn holds SIGINT and SIGTERM while it serves, then raises the one it got again
    # under the handlers it found: these, which let the views process stop too
    for stopping in STOPPING:
        signal.signal(stopping, _stop)
    got = None
    try:
        if keeper is not None:
            keeper.start()
        uvicorn.run(
            "api.app:create_app", factory=True, host=host, port=port, workers=workers,
            log_config=None, access_log=False, proxy_headers=False,
            server_header=False, timeout_graceful_shutdown=10,
        )
    except _Signalled as signalled:
        got = signalled.number
    finally:
        # stopping now: another Ctrl-C must not cut the views process's stop short
        for stopping in STOPPING:
            signal.signal(stopping, signal.SIG_IGN)
        if keeper is not None:
            keeper.stop()
    if got is not None:  # end as the signal would have ended it
        signal.signal(got, signal.SIG_DFL)
        signal.raise_signal(got)


STOPPING = (signal.SIGINT, signal.SIGTERM)


class _Signalled(Exception):  # noqa: N818 - not an error: how the server was asked to stop
    def __init__(self, number: int) -> None:
        super().__init__(number)
        self.number = number


def _stop(number: int, _frame: object) -> None:
    raise _Signalled(number)
