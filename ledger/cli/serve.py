"""`ledger serve`: the HTTP API (and the read models it reads) in this process."""

from __future__ import annotations

import click

from ledger.cli import main


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="server processes (each runs its own read models)")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the API and web pages until interrupted."""
    import uvicorn

    from ledger.logging import configure

    configure()
    uvicorn.run(
        "api.app:create_app", factory=True, host=host, port=port, workers=workers,
        log_config=None, access_log=False, proxy_headers=False,
        server_header=False, timeout_graceful_shutdown=10,
    )
