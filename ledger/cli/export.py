"""`ledger export …`: the books in other tools' formats."""

from __future__ import annotations

import sys
from contextlib import ExitStack

import click

from ledger.cli import main
from ledger.cli._common import ledger_app


@main.group()
def export() -> None:
    """Export the books."""


@export.command()
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="write to this file (default: standard output)")
def beancount(out: str | None) -> None:
    """Write every fund as a Beancount file that bean-check accepts, with balance
    assertions at every month end from the ledger's own figures."""
    from ledger.audit.beancount import write_beancount

    with ExitStack() as stack:
        stream = (stack.enter_context(open(out, "w", encoding="utf-8", newline="\n"))
                  if out else sys.stdout)
        writer = write_beancount(ledger_app(), stream)
    if out:
        click.echo(f"{writer.transactions} transactions and {writer.assertions} balance "
                   f"assertions written to {out}", err=True)
