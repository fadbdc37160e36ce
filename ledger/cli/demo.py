"""`ledger demo`: load the Da Nang reference funds with a year of activity."""

from __future__ import annotations

import click

from ledger.cli import main
from ledger.cli._common import ledger_app
from ledger.demo import load_demo


@main.command()
def demo() -> None:
    """Load the Da Nang reference funds with a realistic school year (idempotent)."""
    app = ledger_app()
    counts = load_demo(app)
    click.echo(f"demo: {counts['recorded']} writes recorded, "
               f"{counts['already_present']} already present")
    for code in app.fund_codes():
        fund = app.fund(code)
        figures = fund["figures"]
        click.echo(f"  {code:<10} cash {figures['cash'].text:>13} {fund['currency']}"
                   f"   available {figures['available'].text:>13}"
                   f"   pledged outstanding {figures['pledged_outstanding'].text:>12}")
