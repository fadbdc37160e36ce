"""`ledger statements`: sponsor statement files, for one sponsor or for all of them; and
`ledger audit statement FILE.json`: an auditor's check of a statement's digests."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from uuid import UUID

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledger.cli import main
from ledger.cli._common import ledger_app, parse_date, parse_time
from ledger.cli.audit import audit
from ledger.domain.errors import LedgerError
from ledger.statements.batch import Failure, write_statements
from ledger.statements.books import read_books
from ledger.statements.build import StatementBuilder, period
from ledger.statements.formatting import LANGS
from ledger.statements.model import Statement
from ledger.statements.render import FORMATS
from ledger.statements.verify import check_digests


@main.command()
@click.option("--sponsor", "sponsor_ids", multiple=True, metavar="ID",
              help="the sponsor's id (may be given more than once)")
@click.option("--all", "everyone", is_flag=True,
              help="every sponsor with a pledge or gift by the end of the period")
@click.option("--from", "start", metavar="DATE",
              help="first day YYYY-MM-DD (default: 1 January of --to's year)")
@click.option("--to", "end", metavar="DATE", help="last day YYYY-MM-DD (default: today)")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="pdf", show_default=True)
@click.option("--lang", type=click.Choice(LANGS), default="vi", show_default=True)
@click.option("--out", "folder", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="the folder to write the files in")
@click.option("--known-at", "known_at", metavar="TIME",
              help="as the ledger knew it at this time (ISO 8601 with offset; default: now)")
@click.option("--jobs", type=click.IntRange(1, 64), default=os.cpu_count() or 1,
              show_default=True, help="processes that write files")
def statements(
    sponsor_ids: tuple[str, ...],
    everyone: bool,
    start: str | None,
    end: str | None,
    fmt: str,
    lang: str,
    folder: Path,
    known_at: str | None,
    jobs: int,
) -> None:
    """Write sponsor statements, one file per sponsor.

    With --all a sponsor whose statement fails does not stop the others: the failures are
    listed at the end and the command exits 1.
    """
    if everyone == bool(sponsor_ids):
        raise click.UsageError("give either --sponsor ID or --all")
    try:
        first, last = period(parse_date(start, "--from") if start else None,
                             parse_date(end, "--to") if end else None)
    except LedgerError as e:
        raise click.BadParameter(e.detail) from None
    moment = parse_time(known_at) if known_at else None
    app = ledger_app()
    builder = StatementBuilder(read_books(app), first, last, moment)
    if everyone:
        ids = builder.sponsor_ids()
    else:
        ids = [_sponsor_id(value) for value in sponsor_ids]
    sponsors = []
    for sponsor_id in ids:
        try:
            sponsors.append(app.sponsor(UUID(sponsor_id)))
        except LedgerError as e:
            if not everyone:
                raise click.ClickException(e.detail) from None
            sponsors.append(Failure(sponsor_id, "", e.detail))
    sponsors.sort(key=lambda s: s.name if isinstance(s, Failure) else s["name"])

    console = Console(stderr=True)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, disable=len(sponsors) < 2) as bar:
        task = bar.add_task(f"{fmt} statements", total=len(sponsors))
        report = write_statements(builder, sponsors, fmt, lang, folder,  # type: ignore[arg-type]
                                  jobs=min(jobs, max(1, len(sponsors))),
                                  progress=lambda sponsor, ok: bar.advance(task))
    if not everyone:
        for path in report.written:
            click.echo(str(path))
    click.echo(f"{len(report.written)} statement(s) written to {folder}")
    if report.failures:
        click.echo(f"{len(report.failures)} statement(s) failed:", err=True)
        for failure in report.failures:
            click.echo(f"  {failure.sponsor_id} {failure.name}: {failure.error}", err=True)
        sys.exit(1)


def _sponsor_id(value: str) -> str:
    try:
        return str(UUID(value))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a sponsor id (a UUID)",
                                 param_hint="--sponsor") from None


@audit.command("statement")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_statement(path: Path) -> None:
    """Check a JSON statement's digests: each fund's history behind it is unchanged.

    Exits 1 if an event a digest names is missing or has another hash. Run `ledger audit
    verify` too: it proves every fund's chain, so the earlier events are unchanged."""
    try:
        statement = Statement.model_validate_json(path.read_bytes())
    except ValueError as e:
        raise click.ClickException(f"{path} is not a JSON statement: "
                                   f"{str(e).splitlines()[0]}") from None
    checks = check_digests(ledger_app(), [fund.digest for fund in statement.funds])
    for check in checks:
        mark = "ok" if check.ok else "CHANGED"
        click.echo(f"{mark:8} {check.digest.fund}: {check.detail}")
    if not all(check.ok for check in checks):
        sys.exit(1)
