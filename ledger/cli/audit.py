"""`ledger audit …`: what an auditor runs against the raw stored events."""

from __future__ import annotations

import itertools
import json
import sys
from contextlib import ExitStack

import click

from ledger.cli import main
from ledger.cli._common import ledger_app, parse_date, parse_time
from ledger.domain.errors import LedgerError


@main.group()
def audit() -> None:
    """Replay, verify, digest and export the history."""


@audit.command()
@click.option("--fund", "code", required=True, help="the fund's code")
@click.option("--as-of", "as_of", help="effective date YYYY-MM-DD (default: every event)")
@click.option("--known-at", "known_at", help="as the ledger knew it at this time (ISO 8601 "
                                             "with an offset)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def replay(code: str, as_of: str | None, known_at: str | None, as_json: bool) -> None:
    """Print a fund's figures replayed from its raw events."""
    from ledger.audit.replay import replay as replay_fund

    day = parse_date(as_of, "--as-of") if as_of else None
    moment = parse_time(known_at) if known_at else None
    try:
        fund = replay_fund(ledger_app(), code, day, moment)
    except LedgerError as e:
        raise click.ClickException(e.detail) from None
    figures = {name: money.text for name, money in fund["figures"].items()}
    if as_json:
        click.echo(json.dumps({"fund": code, "currency": fund["currency"], "as_of": as_of,
                               "known_at": known_at, "seq": fund["seq"],
                               "last_hash": fund["last_hash"], "figures": figures}))
        return
    click.echo(f"{fund['code']} — {fund['name']} ({fund['currency']})"
               f" as of {as_of or 'every event'}"
               + (f", known at {known_at}" if known_at else "")
               + f" (events 1–{fund['seq']})")
    width = max(map(len, figures))
    for name, text in figures.items():
        click.echo(f"  {name:<{width}}  {text:>22} {fund['currency']}")


@audit.command()
@click.option("--since", "since", help="a digest printed earlier by `ledger audit digest`: "
                                       "prove that history is unchanged and has only grown")
@click.option("--read-models/--no-read-models", default=True, show_default=True,
              help="also compare the balances read model with a replay")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def verify(since: str | None, read_models: bool, as_json: bool) -> None:
    """Check every fund's sequence and hash chain, every receipt and transfer, and the
    read models; exit 1 on any problem."""
    from ledger.audit.digest import Digest
    from ledger.audit.verify import verify as verify_ledger

    try:
        digest = Digest.parse(since.strip()) if since else None
    except LedgerError as e:
        raise click.BadParameter(e.detail, param_hint="--since") from None
    app = ledger_app()
    with ExitStack() as stack:
        models = None
        if read_models:
            models = _read_models(app)
            if models is not None:
                stack.callback(models.close)
        report = verify_ledger(app, since=digest, read_models=models)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
    else:
        for problem in report.problems:
            click.echo(f"PROBLEM {problem}")
        if report.problem_count > len(report.problems):
            click.echo(f"… and {report.problem_count - len(report.problems)} more problems")
        checked = (f" and the read models (at event {report.read_models_position})"
                   if report.read_models_checked else "")
        since_text = f", unchanged since digest of {digest.at}" if digest and report.ok else ""
        verdict = "OK" if report.ok else f"{report.problem_count} PROBLEMS"
        click.echo(f"{verdict}: {report.funds} funds, {report.events} fund events, "
                   f"{report.stored} stored events checked{checked}{since_text}")
    sys.exit(0 if report.ok else 1)


def _read_models(app):  # noqa: ANN001, ANN202 - the projections package is optional here
    """The read models in the events' database, or None where there are none (memory)."""
    from ledger.settings import get_settings
    from ledger.storage import describe

    settings = get_settings()
    if describe(settings) == "memory":
        return None
    from ledger.projections import ReadModels

    return ReadModels(app, settings)


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def digest(as_json: bool) -> None:
    """Print the ledger's digest (Merkle root over every stored event) to keep."""
    from ledger.audit.verify import digest as ledger_digest

    d = ledger_digest(ledger_app())
    click.echo(json.dumps(d.as_json()) if as_json else d.text)


@audit.command()
@click.option("--fund", "code", required=True, help="the fund's code")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True),
              help="write to this file (default: standard output)")
def export(code: str, fmt: str, out: str | None) -> None:
    """Stream a fund's whole history, oldest first."""
    from ledger.audit.export import fund_records, write_csv, write_jsonl

    records = fund_records(ledger_app(), code)
    try:
        first = next(records)
    except LedgerError as e:
        raise click.ClickException(e.detail) from None
    write = write_csv if fmt == "csv" else write_jsonl
    with ExitStack() as stack:
        stream = (stack.enter_context(open(out, "w", encoding="utf-8", newline=""))
                  if out else sys.stdout)
        n = write(itertools.chain([first], records), stream)
    if out:
        click.echo(f"{n} events of {code} written to {out}", err=True)
