"""`ledger audit …`: what an auditor runs against the raw events."""

from __future__ import annotations

import json

import click

from ledger.cli import main
from ledger.cli._common import ledger_app, parse_date, parse_time
from ledger.domain.errors import LedgerError


@main.group()
def audit() -> None:
    """Replay, verify and export the history."""


@audit.command()
@click.option("--fund", "code", required=True, help="the fund's code")
@click.option("--as-of", "as_of", help="effective date YYYY-MM-DD (default: today)")
@click.option("--known-at", "known_at", help="as the ledger knew it at this time (ISO 8601)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def replay(code: str, as_of: str | None, known_at: str | None, as_json: bool) -> None:
    """Print a fund's figures replayed from its raw events."""
    day = parse_date(as_of, "--as-of") if as_of else None
    moment = parse_time(known_at) if known_at else None
    try:
        fund = ledger_app().figures_as_of(code, day, moment)
    except LedgerError as e:
        raise click.ClickException(e.detail) from None
    figures = {name: money.text for name, money in fund["figures"].items()}
    if as_json:
        click.echo(json.dumps({"fund": code, "currency": fund["currency"], "as_of": as_of,
                               "known_at": known_at, "figures": figures}))
        return
    click.echo(f"{fund['code']} — {fund['name']} ({fund['currency']})"
               f" as of {as_of or 'today'}" + (f", known at {known_at}" if known_at else ""))
    width = max(map(len, figures))
    for name, text in figures.items():
        click.echo(f"  {name:<{width}}  {text:>22} {fund['currency']}")
