"""The import of a donations file: check every row, then record them in atomic batches.

The first pass reads the whole file and checks each row on its own (`rows.read_row`) and
against the ledger (fund, currency, sponsor, pledge, a donation already recorded with other
content) and every row against the others (a repeated reference); it keeps only small keys
in memory, and the good rows not yet recorded in a temporary file (`stash.Stash`). Any
error refuses the whole file before anything is recorded. The second pass reads those rows
back and records them through `Ledger.record_donations`, a batch per transaction; rows
already recorded are counted, not sent, so a re-run after a crash finishes the rest.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from ledger.application import Ledger
from ledger.domain.errors import IdConflict, InvalidInput
from ledger.domain.fund import Fund, RecordedDonation
from ledger.domain.money import Money
from ledger.imports.mapping import REQUIRED, Mapping
from ledger.imports.repeats import Repeats
from ledger.imports.rows import DonationRow, RowError, donation_key, read_row
from ledger.imports.sources import Source, Unreadable
from ledger.imports.stash import Stash

#: progress(phase, rows done, rows in all or None while unknown); phase: checking|recording
Progress = Callable[[str, int, int | None], None]

#: a batch size that records the whole file in one transaction (all rows or none, even if
#: the ledger changes between the check and the recording); for files of bounded size
ONE_TRANSACTION = sys.maxsize


@dataclass
class Check:
    """What the first pass found: rows, how many are new or already recorded, errors."""

    rows: int = 0
    new: int = 0
    present: int = 0
    sponsors_new: int = 0
    #: the errors, in line order (the first `max_errors` of them)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0


@dataclass
class Outcome:
    """What an import did."""

    check: Check
    recorded: int = 0
    present: int = 0
    sponsors_registered: int = 0
    dry_run: bool = False
    #: the notification id of the last event recorded (None if nothing was)
    position: int | None = None

    def summary(self) -> dict[str, Any]:
        return {
            "rows": self.check.rows, "recorded": self.recorded, "already_present": self.present,
            "sponsors_registered": self.sponsors_registered, "dry_run": self.dry_run,
            "new": self.check.new,
        }


class ImportRefused(Exception):
    """The file has bad rows (or cannot be read): nothing was recorded."""

    def __init__(self, check: Check) -> None:
        super().__init__(f"{check.error_count} errors; nothing recorded")
        self.check = check


class DonationImport:
    """Imports donations files into a ledger, as `actor`."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        actor: str,
        fund: str | None = None,
        mapping: Mapping | None = None,
        batch_size: int = 1000,
        max_errors: int | None = 1000,
        share: Share | None = None,
    ) -> None:
        self.ledger = ledger
        self.actor = actor
        self.fund = fund
        self.mapping = mapping or Mapping()
        self.batch_size = batch_size
        self.max_errors = max_errors
        #: only the rows of the funds this share holds (`ledger.imports.parallel`); None:
        #: every row
        self.share = share

    # ---- the whole import ---------------------------------------------------------------

    def run(self, file: Any, *, dry_run: bool = False,
            progress: Progress | None = None) -> Outcome:
        """Checks the file, then (unless a dry run) records it. ImportRefused if any row
        is bad, with nothing recorded."""
        source = Source(file, delimiter=self.mapping.delimiter)
        with Stash() as stash:
            check, facts = self._check(source, progress, stash)
            if not check.ok:
                raise ImportRefused(check)
            if dry_run:
                return Outcome(check, present=check.present, dry_run=True)
            if check.new == 0:
                return Outcome(check, present=check.present)
            return self._record(stash, check, facts, progress)

    def check(self, file: Any) -> Check:
        """Only the first pass: every error of the file, nothing recorded."""
        return self._check(Source(file, delimiter=self.mapping.delimiter), None, None)[0]

    # ---- first pass: check --------------------------------------------------------------

    def _check(self, source: Source, progress: Progress | None,
               stash: Stash | None) -> tuple[Check, _Facts]:
        """Every error of the file; the good rows not yet recorded go to `stash`."""
        check = Check()
        facts = _Facts(self.ledger)
        errors: list[RowError] = []

        def report(error: RowError) -> None:
            check.error_count += 1
            if self.max_errors is None or len(errors) < self.max_errors:
                errors.append(error)

        unsettled: list[_Unsettled] = []

        def settle() -> None:
            for error in self._settle(unsettled, check, stash):
                report(error)
            unsettled.clear()

        with Repeats() as repeats:
            try:
                for line, cells in self._cells(source):
                    check.rows += 1
                    if self.fund and cells["fund"].strip() != self.fund:
                        report(RowError(line, "fund", f"names fund {cells['fund'].strip()}, "
                                                      f"but the import is for {self.fund}"))
                        continue
                    cells["fund"] = cells["fund"].strip()
                    key = donation_key(cells)
                    if key is not None:
                        repeats.add(key[0].bytes, line, key[1])
                    row, row_errors = read_row(line, cells, REQUIRED, key)
                    if row is not None:
                        row_errors = self._check_in_ledger(row, key, facts, unsettled)
                        if len(unsettled) >= self.batch_size:
                            settle()
                    elif _names_unknown_fund(cells, row_errors, facts):
                        row_errors.append(RowError(line, "fund", f"no fund {cells['fund']}"))
                    for error in row_errors:
                        report(error)
                    if progress and check.rows % 1000 == 0:
                        progress("checking", check.rows, None)
            except _FileError as e:
                report(e.error)
            except Unreadable as e:
                report(RowError(e.line, "file", e.reason))
            settle()
            for line, column, first in repeats.repeated():
                report(RowError(line, column, f"repeats the {column} of line {first}"))
        if check.rows == 0 and check.error_count == 0 and self.share is None:
            report(NO_ROWS)
        errors.sort(key=lambda e: e.line)
        check.errors = errors
        check.sponsors_new = len(facts.sponsors_to_register)
        if progress:
            progress("checking", check.rows, check.rows)
        return check, facts

    def _check_in_ledger(self, row: DonationRow, key: tuple[UUID, str] | None,
                         facts: _Facts, unsettled: list[_Unsettled]) -> list[RowError]:
        """The row's errors against the ledger; a row without any is added to `unsettled`,
        to be told new or already recorded by `_settle`, a batch at a time."""
        errors: list[RowError] = []

        def fail(column: str, reason: str) -> list[RowError]:
            errors.append(RowError(row.line, column, reason))
            return errors

        fund = facts.fund(row.fund)
        if fund is None:
            return fail("fund", f"no fund {row.fund}")
        if fund.closed:
            return fail("fund", f"fund {row.fund} is closed")
        credited = _credited(row, fund.currency, fail)
        if errors:
            return errors
        if row.new_sponsor is None and not facts.sponsor_exists(row.sponsor_id):
            fail("sponsor_id", f"no sponsor {row.sponsor_id}")
        elif row.new_sponsor is not None and not facts.sponsor_exists(row.sponsor_id):
            facts.sponsors_to_register.add(row.sponsor_id)
        if row.pledge_id is not None:
            pledge = fund.pledges.get(str(row.pledge_id))
            if pledge is None:
                fail("pledge_id", f"no pledge {row.pledge_id} in fund {row.fund}")
            elif not pledge["active"]:
                fail("pledge_id", f"pledge {row.pledge_id} is cancelled")
            elif pledge["sponsor"] != str(row.sponsor_id):
                fail("pledge_id", f"pledge {row.pledge_id} belongs to another sponsor")
        if not errors:
            unsettled.append(_Unsettled(row, credited.minor, key[1] if key else "reference"))
        return errors

    def _settle(self, unsettled: list[_Unsettled], check: Check,
                stash: Stash | None) -> list[RowError]:
        """Counts each row as new (and stashes it, for recording) or already recorded, by
        its donation id's receipt; the errors of rows whose id is taken by another record
        or holds other content."""
        taken = self.ledger.ids_taken([u.row.donation_id for u in unsettled])
        errors = []
        for u in unsettled:
            found = taken.get(u.row.donation_id)
            if found is None:
                check.new += 1
                if stash is not None:
                    stash.add(u.row)
                continue
            named = f"the {u.column} names donation {u.row.donation_id}, which"
            if found.donation is None:
                article = "an" if found.kind[:1] in "aeiou" else "a"
                reason = f"{named} is already the id of {article} {found.kind}"
            else:
                differs = _differences(found.donation, u)
                if not differs:
                    check.present += 1
                    continue
                reason = (f"{named} is already recorded with another {', '.join(differs)} "
                          "(a recorded donation is never changed: reverse it and record "
                          "the corrected one under another reference)")
            errors.append(RowError(u.row.line, u.column, reason))
        return errors

    # ---- second pass: record ------------------------------------------------------------

    def _record(self, stash: Stash, check: Check, facts: _Facts,
                progress: Progress | None) -> Outcome:
        outcome = Outcome(check, present=check.present)
        currencies = facts.currencies()
        to_register = facts.sponsors_to_register
        facts.forget_funds()  # the ledger loads its own copies; keep memory to one of each
        batch: list[dict[str, Any]] = []
        done = 0

        def flush() -> None:
            nonlocal done
            # a row another import recorded since the check is answered from its receipt
            written = self.ledger.record_donations(batch, actor=self.actor)
            created = sum(1 for w in written if w.created)
            outcome.recorded += created
            outcome.present += len(written) - created
            positions = [w.position for w in written if w.position is not None]
            if positions:
                outcome.position = max(positions)
            done += len(batch)
            batch.clear()
            if progress:
                progress("recording", done, check.new)

        for row in stash:
            if row.new_sponsor is not None and row.sponsor_id in to_register:
                outcome.sponsors_registered += self._register(row)
                to_register.discard(row.sponsor_id)
            # None when the cell is empty, as for a single donation recorded without one
            credited = Money.parse(row.credited, currencies[row.fund]) if row.credited else None
            batch.append({
                "code": row.fund, "donation_id": row.donation_id,
                "sponsor_id": row.sponsor_id, "amount": row.amount, "credited": credited,
                "received_on": row.received_on, "method": row.method,
                "reference": row.reference, "pledge_id": row.pledge_id,
            })
            if len(batch) >= self.batch_size:
                flush()
        if batch:
            flush()
        return outcome

    def _register(self, row: DonationRow) -> int:
        assert row.new_sponsor is not None
        name, kind = row.new_sponsor
        try:
            written = self.ledger.register_sponsor(name, kind, actor=self.actor,
                                                   sponsor_id=row.sponsor_id)
        except IdConflict:
            return 0  # registered meanwhile under another spelling of the same name
        return int(written.created)

    # ---- reading ------------------------------------------------------------------------

    def _cells(self, source: Source) -> Iterator[tuple[int, dict[str, str]]]:
        """(line, ledger column → text) for every non-blank row after the header, with the
        mapping's defaults and --fund applied."""
        rows = source.rows()
        try:
            _, headers = next(rows)
        except StopIteration:
            raise _FileError(RowError(1, "file", "the file is empty")) from None
        positions = self.mapping.locate(list(headers))
        defaults = self._defaults()
        missing = [c for c in REQUIRED if c not in positions and c not in defaults]
        if not ({"reference", "id"} & set(positions)):
            missing.append("reference")
        if not ({"sponsor_id", "sponsor_name"} & set(positions) | set(defaults)):
            missing.append("sponsor_id")
        if missing:
            mapped = [f"{self.mapping.columns[c]!r} for {c}" for c in missing
                      if c in self.mapping.columns]
            reason = (f"no header {', '.join(mapped)} in the file" if mapped
                      else "missing column (rename the header or map it)")
            raise _FileError(RowError(1, ", ".join(missing), reason))
        theirs = self._not_ours(positions.get("fund"), defaults.get("fund", ""))
        for line, values in rows:
            if theirs(values) or not any(v.strip() for v in values):
                continue  # another worker's fund, or a blank row (exports often end with some)
            cells = {name: values[i] if i < len(values) else ""
                     for name, i in positions.items()}
            for name, value in defaults.items():
                if not cells.get(name, "").strip():
                    cells[name] = value
            yield line, cells

    def _defaults(self) -> dict[str, str]:
        defaults = dict(self.mapping.defaults)
        if self.fund:
            defaults["fund"] = self.fund
        return defaults

    def _not_ours(self, position: int | None, default: str) -> Callable[[list[str]], bool]:
        """Whether a row's fund is another worker's (never, without a share)."""
        share = self.share
        if share is None:
            return lambda values: False
        return lambda values: not share.holds(_fund_cell(values, position) or default)

    def layout(self, file: Any) -> tuple[bool, Counter[str]]:
        """Whether the file has a column of explicit donation ids, and its rows per fund
        code (a quick read of that one column; empty if the file cannot be read)."""
        counts: Counter[str] = Counter()
        positions: dict[str, int] = {}
        rows = Source(file, delimiter=self.mapping.delimiter).rows()
        try:
            _, headers = next(rows)
            positions = self.mapping.locate(list(headers))
            position, default = positions.get("fund"), self._defaults().get("fund", "")
            for _, values in rows:
                counts[_fund_cell(values, position) or default] += 1
        except (StopIteration, Unreadable):
            pass
        finally:
            rows.close()
        return "id" in positions, counts


#: the error of a file without a row of donations
NO_ROWS = RowError(2, "file", "the file has no rows of donations")


@dataclass(frozen=True)
class Share:
    """The funds whose rows one worker checks and records (`ledger.imports.parallel`)."""

    worker: int
    #: fund code → the worker that holds it; a code not listed is worker 0's
    workers_of: dict[str, int]

    def holds(self, fund: str) -> bool:
        return self.workers_of.get(fund, 0) == self.worker


def _fund_cell(values: list[str], position: int | None) -> str:
    return values[position].strip() if position is not None and position < len(values) else ""


@dataclass
class _Unsettled:
    """A row with no error yet, waiting to be told new or already recorded."""

    row: DonationRow
    credited_minor: int
    #: the column that names the row's id (for an error)
    column: str


class _FileError(Exception):
    """A problem with the file as a whole (no header, a missing column)."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error))
        self.error = error


class _Facts:
    """What the first pass learns of the ledger: the funds the file names (loaded once)
    and which sponsors exist or are to be registered."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._funds: dict[str, Fund | None] = {}
        self._currencies: dict[str, str] = {}
        self.sponsors_to_register: set[UUID] = set()
        self._unknown_sponsors: set[UUID] = set()

    def fund(self, code: str) -> Fund | None:
        if code not in self._funds:
            try:
                found = self.ledger.repository.get(Fund.id_for(code))
            except AggregateNotFoundError:
                found = None
            self._funds[code] = found if isinstance(found, Fund) else None
            if isinstance(found, Fund):
                self._currencies[code] = found.currency
        return self._funds[code]

    def currencies(self) -> dict[str, str]:
        return dict(self._currencies)

    def forget_funds(self) -> None:
        self._funds.clear()

    def sponsor_exists(self, sponsor_id: UUID) -> bool:
        if sponsor_id in self.sponsors_to_register or sponsor_id in self._unknown_sponsors:
            return False
        if self.ledger.sponsor_exists(sponsor_id):
            return True
        self._unknown_sponsors.add(sponsor_id)
        return False


def _differences(recorded: RecordedDonation, u: _Unsettled) -> list[str]:
    """The columns in which a row differs from the donation recorded under its id."""
    row = u.row
    pairs = {
        "fund": (recorded.fund, row.fund),
        "sponsor": (recorded.sponsor_id, str(row.sponsor_id)),
        "amount": ((recorded.amount_minor, recorded.amount_currency),
                   (row.amount.minor, row.amount.currency)),
        "credited amount": (recorded.credited_minor, u.credited_minor),
        "received date": (recorded.received_on, row.received_on.isoformat()),
        "method": (recorded.method, row.method),
        "reference": (recorded.reference, row.reference),
        "pledge": (recorded.pledge_id, _str(row.pledge_id)),
    }
    return [name for name, (was, now) in pairs.items() if was != now]


def _credited(row: DonationRow, fund_currency: str,
              fail: Callable[[str, str], Any]) -> Money:
    """What the row credits to the fund, in the fund's currency."""
    if row.credited:
        try:
            return Money.parse(row.credited, fund_currency)
        except InvalidInput as e:
            fail("credited", e.reason)
            return row.amount
    if row.amount.currency != fund_currency:
        fail("credited", f"empty required cell: the gift is in {row.amount.currency} and "
                         f"fund {row.fund} keeps its books in {fund_currency}")
    return row.amount


def _names_unknown_fund(cells: dict[str, str], errors: list[RowError], facts: _Facts) -> bool:
    """Whether a row refused for other reasons also names a fund the ledger lacks."""
    code = cells["fund"].strip()
    return bool(code) and all(e.column != "fund" for e in errors) and facts.fund(code) is None


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
