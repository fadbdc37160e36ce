"""Writing the statements of many sponsors to files, stopping on nothing.

The statements are built in this process, from one reading of every fund's events (see
`StatementBuilder`), and rendered to files by a pool of worker processes (rendering a PDF
or a workbook is pure CPU work, and one process would leave the other cores idle). A
sponsor whose statement cannot be built or written is recorded as a failure with its
reason, and every other statement is still written. Each file appears whole or not at
all (written aside, then renamed).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ledger.statements.build import StatementBuilder
from ledger.statements.formatting import Lang
from ledger.statements.model import Statement
from ledger.statements.render import Format, file_name, render


@dataclass(frozen=True)
class Failure:
    """A sponsor whose statement was not written, and why."""

    sponsor_id: str
    name: str
    error: str


@dataclass
class BatchReport:
    written: list[Path] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


#: Called after each sponsor, with the sponsor and whether their file was written.
Progress = Callable[[dict[str, str], bool], None]


def write_file(statement: Statement, fmt: Format, lang: Lang, folder: Path) -> Path:
    """Renders one statement into `folder`; the file appears whole or not at all."""
    path = folder / file_name(statement, fmt)
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        partial.write_bytes(render(statement, fmt, lang))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def write_statements(
    builder: StatementBuilder,
    sponsors: Iterable[dict[str, str] | Failure],
    fmt: Format,
    lang: Lang,
    folder: Path,
    *,
    jobs: int = 1,
    progress: Progress | None = None,
) -> BatchReport:
    """Writes each sponsor's statement into `folder` with `jobs` processes. A `Failure`
    among `sponsors` (a sponsor that could not even be looked up) is reported as is."""
    folder.mkdir(parents=True, exist_ok=True)
    report = BatchReport()

    def done(sponsor: dict[str, str], path: Path | None, error: BaseException | None) -> None:
        if path is not None:
            report.written.append(path)
        else:
            report.failures.append(Failure(sponsor["id"], sponsor.get("name", ""),
                                           f"{type(error).__name__}: {error}"))
        if progress is not None:
            progress(sponsor, path is not None)

    def built(sponsor: dict[str, str] | Failure) -> Statement | None:
        if isinstance(sponsor, Failure):
            report.failures.append(sponsor)
            if progress is not None:
                progress({"id": sponsor.sponsor_id, "name": sponsor.name}, False)
            return None
        try:
            return builder.build(sponsor)
        except Exception as e:  # one sponsor's bad data must not stop the others
            done(sponsor, None, e)
            return None

    if jobs <= 1:
        for sponsor in sponsors:
            statement = built(sponsor)
            if statement is not None:
                try:
                    path = write_file(statement, fmt, lang, folder)
                except Exception as e:
                    done(sponsor, None, e)  # type: ignore[arg-type]
                else:
                    done(sponsor, path, None)  # type: ignore[arg-type]
        return report

    # spawn, not fork: a forked child would share this process's database connections
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: list[tuple[dict[str, str], Future[Path]]] = []
        for sponsor in sponsors:
            statement = built(sponsor)
            if statement is not None:
                pending.append((sponsor,  # type: ignore[arg-type]
                                pool.submit(write_file, statement, fmt, lang, folder)))
        for sponsor, future in pending:
            try:
                path = future.result()
            except Exception as e:
                done(sponsor, None, e)
            else:
                done(sponsor, path, None)
    return report
