"""`ledger import donations FILE`: a bank statement export (CSV or XLSX), all rows or none."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ledger.cli import main
from ledger.cli._common import ledger_app
from ledger.collector import few_collections
from ledger.domain.errors import LedgerError
from ledger.imports import COLUMNS, DonationImport, ImportRefused, Mapping
from ledger.imports.parallel import WorkerFailed, import_in_parallel
from ledger.settings import Settings, get_settings
from ledger.storage import describe


@main.group(name="import")
def import_() -> None:
    """Bulk imports from files."""


@import_.command(epilog="Columns: " + "; ".join(f"{k}: {v}" for k, v in COLUMNS.items()))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fund", "fund", help="the fund of every row (the file then needs no fund column)")
@click.option("--dry-run", is_flag=True, help="check every row and record nothing")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False,
                                                           path_type=Path),
              help="a JSON or TOML file renaming the file's headers and giving defaults")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=HEADER",
              help="the file's header for a ledger column (repeatable)")
@click.option("--batch-size", default=1000, show_default=True,
              type=click.IntRange(1, 10_000), help="donations recorded per transaction")
@click.option("--actor", default=None, help="who records the donations (default: you)")
@click.option("--quiet", is_flag=True, help="no progress bar")
@click.option("--workers", type=click.IntRange(1, 16), default=None,
              help="processes that check and record, each the funds of its share "
                   "[default: 2 for a file of 1 MiB or more on PostgreSQL, else 1]")
def donations(file: Path, fund: str | None, dry_run: bool, mapping_file: Path | None,
              maps: tuple[str, ...], batch_size: int, actor: str | None, quiet: bool,
              workers: int | None) -> None:
    """Record every donation of FILE, or none if any row is bad.

    Each row's donation id derives from its fund and bank reference (or the id column), so
    importing a file again, or again after an interruption, records only what is missing.
    """
    try:
        mapping = (Mapping.load(mapping_file) if mapping_file else Mapping()).with_options(maps)
    except LedgerError as e:
        raise click.BadParameter(e.detail, param_hint="--mapping/--map") from None
    importer = DonationImport(ledger_app(), actor=actor or getpass.getuser(), fund=fund,
                              mapping=mapping, batch_size=batch_size, max_errors=None)
    console = Console(stderr=True)
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console, disable=quiet or not console.is_terminal,
                      transient=True) as bar:
            tasks: dict[str, int] = {}

            def progress(phase: str, done: int, total: int | None) -> None:
                if phase not in tasks:
                    tasks[phase] = bar.add_task(phase, total=total)
                bar.update(tasks[phase], completed=done, total=total)

            settings = get_settings()
            with few_collections():
                outcome = import_in_parallel(
                    importer, settings, file, workers or _default_workers(settings, file),
                    dry_run=dry_run, progress=progress)
    except ImportRefused as refused:
        check = refused.check
        for error in check.errors:
            click.echo(str(error), err=True)
        bad_lines = len({e.line for e in check.errors})
        raise click.ClickException(
            f"{file.name} refused: {check.error_count} errors in {bad_lines} rows; "
            "nothing was recorded") from None
    except LedgerError as e:
        raise click.ClickException(f"{e.detail}; the batches recorded so far stay recorded, "
                                   "run the import again to finish it") from None
    except WorkerFailed as e:
        raise click.ClickException(f"{e}; run the import again to finish it") from None
    check = outcome.check
    if outcome.dry_run:
        click.echo(f"{file.name}: {check.rows} rows are good: {check.new} to record, "
                   f"{check.present} already recorded, {check.sponsors_new} new sponsors. "
                   "Nothing recorded (dry run).")
    elif outcome.recorded == 0:
        click.echo(f"{file.name}: all {check.rows} donations were already recorded; "
                   "nothing new recorded.")
    else:
        click.echo(f"{file.name}: recorded {outcome.recorded} donations; {outcome.present} "
                   f"were already recorded; {outcome.sponsors_registered} sponsors registered.")


def _default_workers(settings: Settings, file: Path) -> int:
    """Two processes for a large file on PostgreSQL (on SQLite, writers take turns on one
    file, and a small file is over before a second process has started)."""
    large = file.stat().st_size >= 1 << 20
    return 2 if large and describe(settings) == "postgresql" and (os.cpu_count() or 1) > 1 else 1
