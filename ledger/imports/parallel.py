"""A large import checked and recorded by several processes, each with the funds of its share.

A fund's events form one hash chain, so one process writes each fund. A quick read of the
file's fund column counts its rows per fund, and the funds are dealt to the workers, the
largest first to the least loaded (`spread`). Every worker reads the whole file and keeps
the rows of its funds, so each row is checked by exactly one worker, with its own line
number. The workers check first and report; only when none of them found an error are they
all told to record, so a bad file is still refused whole with nothing recorded. Each worker
records in atomic batches, as one process does, so a crash leaves whole batches, which a
re-run counts as already recorded.

A row's id derives from its fund and reference, so a repeated reference is a repeat
within one fund, which one worker sees. A file with an explicit id column could repeat an
id across funds, so such a file is imported by one process.

Workers are separate processes (the checks and the domain commands are Python, so threads
would share one core); each opens its own connection to the ledger. A worker dies with the
process that started it. A CSV file only: an XLSX workbook is slow to read, and every
worker would read all of it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import multiprocessing
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from ledger.collector import few_collections
from ledger.imports.importer import (
    NO_ROWS, Check, DonationImport, ImportRefused, Outcome, Progress, Share,
)
from ledger.imports.mapping import Mapping
from ledger.imports.stash import Stash
from ledger.imports.sources import Source
from ledger.settings import Settings


class WorkerFailed(RuntimeError):
    """A worker stopped before it finished: the batches recorded so far stay recorded."""


@dataclass(frozen=True)
class _Job:
    """What a worker needs to rebuild its `DonationImport` in its own process."""

    settings: Settings
    path: Path
    actor: str
    fund: str | None
    mapping: Mapping
    batch_size: int
    share: Share
    parent: int


def import_in_parallel(importer: DonationImport, settings: Settings, path: Path,
                       workers: int, *, dry_run: bool = False,
                       progress: Progress | None = None) -> Outcome:
    """`importer.run(path)`, by up to `workers` processes (one when the file names one fund
    or explicit ids). Raises ImportRefused with every error of the file, in line order, if
    any row is bad."""
    if workers > 1 and Source(path).is_workbook():
        workers = 1  # a workbook is slow to read (openpyxl), and each worker reads all of it
    names_ids, counts = importer.layout(path) if workers > 1 else (False, Counter[str]())
    workers = min(workers, len(counts))
    if workers < 2 or names_ids:
        return importer.run(path, dry_run=dry_run, progress=progress)
    workers_of = spread(counts, workers)
    context = multiprocessing.get_context("spawn")
    pipes: list[Connection] = []
    processes = []
    try:
        for i in range(workers):
            ours, theirs = context.Pipe()
            job = _Job(settings, path, importer.actor, importer.fund, importer.mapping,
                       importer.batch_size, Share(i, workers_of), os.getpid())
            process = context.Process(target=_work, args=(job, theirs), daemon=True,
                                      name=f"ledger-import-{i}")
            with _light_main():
                process.start()
            theirs.close()
            pipes.append(ours)
            processes.append(process)
        outcome = _lead(importer, pipes, dry_run, progress)
    except BaseException:
        for process in processes:
            process.kill()  # mid-batch is safe: each batch commits whole or not at all
        raise
    finally:
        for pipe in pipes:
            pipe.close()
        for process in processes:
            process.join()
    return outcome


def _lead(importer: DonationImport, pipes: list[Connection], dry_run: bool,
          progress: Progress | None) -> Outcome:
    """Gathers the workers' checks, tells them to record (or not), gathers their outcomes."""
    done: dict[str, list[int]] = {"checking": [0] * len(pipes), "recording": [0] * len(pipes)}
    totals: list[int] = [0] * len(pipes)
    checks: dict[int, tuple[Check, set[Any]]] = {}
    outcomes: dict[int, Outcome] = {}

    def gather(into: dict[int, Any], kind: str) -> None:
        waiting = {pipe: i for i, pipe in enumerate(pipes) if i not in into}
        while waiting:
            for pipe in wait(list(waiting)):
                i = waiting[pipe]
                try:
                    message = pipe.recv()
                except EOFError:
                    raise WorkerFailed(f"import worker {i} stopped before it finished; the "
                                       "batches recorded so far stay recorded") from None
                if message[0] == "progress":
                    _, phase, count = message
                    done[phase][i] = count
                    if progress:
                        progress(phase, sum(done[phase]),
                                 sum(totals) if phase == "recording" else None)
                elif message[0] == "failed":
                    raise WorkerFailed(message[1])
                else:
                    assert message[0] == kind
                    into[i] = message[1]
                    del waiting[pipe]

    gather(checks, "checked")
    check = _merged([c for c, _ in checks.values()], set().union(*(s for _, s in checks.values())),
                    importer.max_errors)
    if progress:
        progress("checking", check.rows, check.rows)
    go = check.ok and not dry_run and check.new > 0
    for i, pipe in enumerate(pipes):
        try:
            pipe.send(go)
        except (BrokenPipeError, ConnectionResetError):
            raise WorkerFailed(f"import worker {i} stopped after its check") from None
    if not check.ok:
        raise ImportRefused(check)
    if not go:
        return Outcome(check, present=check.present, dry_run=dry_run)
    totals[:] = [checks[i][0].new for i in range(len(pipes))]
    gather(outcomes, "recorded")
    outcome = Outcome(check, present=check.present)
    for part in outcomes.values():  # what each worker's recording added to its check
        outcome.recorded += part.recorded
        outcome.present += part.present
        outcome.sponsors_registered += part.sponsors_registered
        if part.position is not None:
            outcome.position = max(outcome.position or 0, part.position)
    return outcome


def spread(counts: Counter[str], workers: int) -> dict[str, int]:
    """Fund code → worker: the funds with the most rows first, each to the worker with the
    fewest rows so far."""
    loads = [0] * workers
    workers_of = {}
    for fund, count in counts.most_common():
        worker = loads.index(min(loads))
        workers_of[fund] = worker
        loads[worker] += count
    return workers_of


def _merged(checks: list[Check], sponsors_new: set[Any], max_errors: int | None) -> Check:
    merged = Check(rows=sum(c.rows for c in checks), new=sum(c.new for c in checks),
                   present=sum(c.present for c in checks), sponsors_new=len(sponsors_new))
    # every worker reads the whole file: an error of the file itself (a missing header, a
    # damaged row) is reported by each, and counted once (workers keep every error)
    errors = sorted({(e.line, e.column, e.reason): e for c in checks for e in c.errors}.values(),
                    key=lambda e: e.line)
    if merged.rows == 0 and not errors:
        errors = [NO_ROWS]
    merged.error_count = len(errors)
    merged.errors = errors if max_errors is None else errors[:max_errors]
    return merged


def _work(job: _Job, pipe: Connection) -> None:
    """A worker: check its share, report, wait for the word, record its share, report."""
    _die_with(job.parent)

    def report(phase: str, count: int, _total: int | None) -> None:
        if os.getppid() != job.parent:
            os._exit(1)  # the import was stopped: record no more
        pipe.send(("progress", phase, count))

    try:
        with few_collections():
            _work_on(job, pipe, report)
    except (EOFError, BrokenPipeError, ConnectionResetError):
        os._exit(1)  # the parent stopped listening: it has stopped the import


def _work_on(job: _Job, pipe: Connection, report: Progress) -> None:
    from ledger.storage import open_ledger

    try:
        ledger = open_ledger(job.settings)
        try:
            importer = DonationImport(ledger, actor=job.actor, fund=job.fund,
                                      mapping=job.mapping, batch_size=job.batch_size,
                                      max_errors=None, share=job.share)
            with Stash() as stash:
                check, facts = importer._check(
                    Source(job.path, delimiter=job.mapping.delimiter), report, stash)
                pipe.send(("checked", (check, set(facts.sponsors_to_register))))
                if not pipe.recv():
                    return
                outcome = importer._record(stash, check, facts, report)
                # what recording added: rows another writer recorded since the check
                pipe.send(("recorded", replace(outcome, check=Check(),
                                               present=outcome.present - check.present)))
        finally:
            ledger.close()
    except (EOFError, BrokenPipeError, ConnectionResetError):
        raise
    except Exception as e:  # reported to the parent, which says what it means
        detail = getattr(e, "detail", None) or f"{type(e).__name__}: {e}"
        pipe.send(("failed", f"import worker {job.share.worker}: {detail}; the batches "
                             "recorded so far stay recorded"))


@contextmanager
def _light_main() -> Iterator[None]:
    """A spawned process first runs the parent's main module again: for `ledger`, the
    whole command line and web application, a second of imports. Name this module as
    the main one while a worker starts, so the worker imports only what it runs."""
    main = sys.modules["__main__"]
    spec = getattr(main, "__spec__", None)
    main.__spec__ = importlib.util.find_spec(__name__)
    try:
        yield
    finally:
        main.__spec__ = spec


def _die_with(parent: int) -> None:
    """Be killed when the parent dies (Linux); elsewhere the progress check stops us. An
    interrupt (Ctrl-C) is the parent's to handle: it kills the workers."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:
        os._exit(1)
