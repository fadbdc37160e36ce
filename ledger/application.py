"""The ledger's one service layer: a command method per write, a few reads of raw events.

Every write is get → command → save: the fund aggregates are loaded (from this process's
cache, else snapshot + later events), the domain command checks its rules and emits
events, and the events are saved in one transaction together with a `Receipt` keyed by
the write's id. The event store's uniqueness of (aggregate id, version) then guarantees:

- no lost update: a concurrent write to the same fund makes the save fail; the cached
  fund is dropped and the command runs again on fresh state (a bounded number of times);
- exactly-once writes: the same write id can never be saved twice, so a retry (by a
  client, or by the recorder after a broken connection) is answered from the receipt.

Methods take and return primitives, ids and `Money`, never aggregates.
"""

from __future__ import annotations

import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.domain import Aggregate, Snapshot
from eventsourcing.persistence import EventStore, IntegrityError, JSONTranscoder, Transcoder
from eventsourcing.utils import get_topic

from ledger.domain.errors import (
    Contention,
    FundAlreadyExists,
    FundNotFound,
    IdConflict,
    InvalidInput,
    LedgerError,
    SponsorNotFound,
)
from ledger.domain.fund import Fund, RecordedDonation
from ledger.domain.moments import isoformat
from ledger.domain.money import Money
from ledger.domain.receipt import Receipt, fingerprint, recorded_donation
from ledger.domain.sponsor import Sponsor
from ledger.event_store import LedgerEventStore
from ledger.transcoder import DatetimeAsISOText, FastJSONTranscoder

#: The association keeps its books on Vietnamese dates.
LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def today() -> date:
    return datetime.now(LOCAL_TZ).date()


@dataclass(frozen=True)
class Written:
    """The answer to a write: its result, and whether this call recorded it (False when
    it is a retry of a write already recorded, answered with the original result)."""

    result: dict[str, Any]
    created: bool
    #: the notification id of the write's last stored event (None for a replayed write);
    #: read models that have processed this position reflect the write
    position: int | None = None


@dataclass(frozen=True)
class Taken:
    """What an id already names: the kind of write recorded under it ("donation",
    "allocation", …, or "fund", "sponsor"), and the donation if it is one."""

    kind: str
    donation: RecordedDonation | None


def event_record(fund_code: str, currency: str, e: Any) -> dict[str, Any]:
    """A stored fund event as plain data: envelope, data and chain link."""
    from ledger.domain.chain import data_of

    return {
        "fund": fund_code,
        "currency": currency,
        "seq": e.originator_version,
        "type": type(e).__name__,
        "effective_on": e.effective_on,
        "recorded_at": isoformat(e.timestamp),
        "actor": e.actor,
        "data": data_of(e.__dict__),
        "prev_hash": e.prev_hash,
        "hash": e.hash,
    }


class Ledger(Application[UUID]):
    """The scholarship fund ledger."""

    name = "ledger"
    is_snapshotting_enabled = True

    #: attempts of a write that keeps meeting concurrent writers
    max_attempts = 30
    #: funds kept in memory between commands
    cache_size = 1000
    #: seconds that a save lost to another process's writer makes writes bring their funds
    #: up to date first and keep copies of them (see `_kept`)
    contention_memory = 30.0
    #: the most entries (pledges, allocations, awards, reversals) of a fund copied before
    #: a command while contended: a larger fund is loaded again instead, should its save be
    #: lost (a copy costs about a microsecond an entry on every write; a load costs more,
    #: but only after a lost save)
    copy_limit = 1000

    def __init__(self, env: dict[str, str] | None = None, *, snapshot_interval: int = 1000):
        super().__init__(env)
        self.snapshot_interval = snapshot_interval
        self._cache: OrderedDict[UUID, Fund] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._locks = [threading.RLock() for _ in range(64)]
        self._sponsors_seen: set[UUID] = set()
        #: called with the recordings of each save once it has committed (the read models'
        #: runner in this process applies a write at once instead of waiting to be told)
        self.listeners: list[Callable[[list[Any]], None]] = []
        #: notified each time a save ends (stored or not), after its listeners were told
        self.save_ended = threading.Condition()
        self._writing = 0
        self._saves_ended = 0
        #: until when (time.monotonic) writes catch their funds up and keep copies
        self._contended_until = 0.0

    def construct_transcoder(self) -> Transcoder:
        """The library's JSON transcoding, written by orjson where it writes the same JSON."""
        transcoder = self.factory.transcoder()
        if type(transcoder) is JSONTranscoder:
            transcoder = FastJSONTranscoder()
        if isinstance(transcoder, JSONTranscoder):
            self.register_transcodings(transcoder)
        return transcoder

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcoder.register(DatetimeAsISOText())  # the same text, faster

    def construct_event_store(self) -> EventStore[UUID]:
        """The library's event store, with a `put` that builds fewer dataclasses (a
        persistence module's own event store is kept as it is)."""
        store = self.factory.event_store(mapper=self.mapper, recorder=self.recorder)
        if type(store) is EventStore:
            return LedgerEventStore(mapper=self.mapper, recorder=self.recorder)
        return store

    def save(self, *objs: Any, **kwargs: Any) -> list[Any]:
        """The library's save, collecting events from aggregates (and events given as
        they are) without its runtime Protocol `isinstance` checks, which cost more than
        the rest of a command."""
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        rest = []
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            elif isinstance(obj, Aggregate.Event):
                processing_event.events.append(obj)
            else:
                rest.append(obj)
        processing_event.collect_events(*rest, **kwargs)
        with self.save_ended:
            self._writing += 1
        try:
            recordings = self._record(processing_event)
            self._take_snapshots(processing_event)
            self._notify(recordings)
        finally:
            with self.save_ended:
                self._writing -= 1
                self._saves_ended += 1
                self.save_ended.notify_all()
        return recordings

    @property
    def writing(self) -> int:
        """How many saves of this process are under way (stored or not yet, listeners not
        yet told)."""
        return self._writing

    @property
    def saves_ended(self) -> int:
        """How many saves of this process have ended (stored or not)."""
        return self._saves_ended

    def _notify(self, recordings: list[Any]) -> None:
        for listener in list(self.listeners):
            listener(recordings)

    # ---- funds --------------------------------------------------------------------------

    def open_fund(
        self,
        code: str,
        name: str,
        currency: str = "VND",
        *,
        purpose: str = "",
        restricted: bool = False,
        actor: str,
        write_id: UUID | None = None,
        opened_on: date | None = None,
    ) -> Written:
        request = {
            "code": code, "name": name, "currency": currency, "purpose": purpose,
            "restricted": restricted, "opened_on": _iso(opened_on),
        }
        fp = fingerprint("fund", request)
        if write_id is not None and (prior := self._replay(write_id, "fund", fp)):
            return prior
        fund = Fund.open(
            code, name, currency, purpose=purpose, restricted=restricted, actor=actor,
            opened_on=opened_on or today(),
        )
        result = self._result(write_id or fund.id, fund)
        write_id = write_id or uuid4()
        with self._locked([fund.id]):
            try:
                recordings = self.save(fund, Receipt.issue(write_id, "fund", fp, result))
            except IntegrityError:
                if prior := self._replay(write_id, "fund", fp):
                    return prior
                raise FundAlreadyExists(code) from None
            self._remember(fund)
        return Written(result, True, _position(recordings))

    def close_fund(
        self, code: str, *, actor: str, write_id: UUID | None = None, closed_on: date | None = None
    ) -> Written:
        request = {"fund": code, "closed_on": _iso(closed_on)}

        def command(fund: Fund) -> dict[str, Any]:
            fund.close(actor=actor, closed_on=closed_on or today())
            return self._result(fund.id, fund)

        return self._write("close", write_id, request, [code], command)

    # ---- sponsors -----------------------------------------------------------------------

    def register_sponsor(
        self, name: str, kind: str, email: str = "", *, actor: str, sponsor_id: UUID | None = None
    ) -> Written:
        sponsor = Sponsor.register(sponsor_id or uuid4(), name, kind, email or "", actor=actor)
        try:
            recordings = self.save(sponsor)
        except IntegrityError:
            existing = self._aggregate(sponsor.id)
            if isinstance(existing, Sponsor) and existing.as_dict() == sponsor.as_dict():
                return Written(existing.as_dict(), False)
            raise IdConflict(sponsor.id) from None
        return Written(sponsor.as_dict(), True, _position(recordings))

    def sponsor(self, sponsor_id: UUID) -> dict[str, str]:
        found = self._aggregate(sponsor_id)
        if not isinstance(found, Sponsor):
            raise SponsorNotFound(sponsor_id)
        return found.as_dict()

    def sponsor_exists(self, sponsor_id: UUID) -> bool:
        """Whether the sponsor is registered (sponsors are never removed, so one sighting
        is remembered)."""
        if sponsor_id not in self._sponsors_seen:
            if not isinstance(self._aggregate(sponsor_id), Sponsor):
                return False
            self._sponsors_seen.add(sponsor_id)
        return True

    def _require_sponsor(self, sponsor_id: UUID) -> str:
        if not self.sponsor_exists(sponsor_id):
            raise SponsorNotFound(sponsor_id)
        return str(sponsor_id)

    # ---- pledges and donations ----------------------------------------------------------

    def make_pledge(
        self,
        code: str,
        sponsor_id: UUID,
        amount: Money,
        schedule: Sequence[tuple[date, Money]] = (),
        *,
        actor: str,
        pledge_id: UUID | None = None,
        pledged_on: date | None = None,
    ) -> Written:
        chosen_id, pledge_id = pledge_id, pledge_id or uuid4()
        request = {
            "fund": code, "sponsor_id": str(sponsor_id), "amount": _money(amount),
            "schedule": [[d.isoformat(), _money(m)] for d, m in schedule],
            "pledged_on": _iso(pledged_on),
        }

        def command(fund: Fund) -> dict[str, Any]:
            sponsor = self._require_sponsor(sponsor_id)
            fund.make_pledge(
                str(pledge_id), sponsor, amount, list(schedule), actor=actor,
                pledged_on=pledged_on or today(),
            )
            return self._result(pledge_id, fund)

        return self._write("pledge", chosen_id, request, [code], command,
                           receipt_id=pledge_id)

    def cancel_pledge(
        self, code: str, pledge_id: UUID, reason: str, *, actor: str,
        write_id: UUID | None = None, cancelled_on: date | None = None,
    ) -> Written:
        request = {"fund": code, "pledge_id": str(pledge_id), "reason": reason,
                   "cancelled_on": _iso(cancelled_on)}

        def command(fund: Fund) -> dict[str, Any]:
            fund.cancel_pledge(str(pledge_id), reason, actor=actor,
                               cancelled_on=cancelled_on or today())
            return self._result(pledge_id, fund)

        return self._write("pledge-cancel", write_id, request, [code], command)

    def record_donation(
        self,
        code: str,
        sponsor_id: UUID,
        amount: Money,
        credited: Money | None = None,
        *,
        received_on: date,
        method: str,
        reference: str = "",
        pledge_id: UUID | None = None,
        actor: str,
        donation_id: UUID | None = None,
    ) -> Written:
        chosen_id, donation_id = donation_id, donation_id or uuid4()
        request = {
            "fund": code, "sponsor_id": str(sponsor_id), "amount": _money(amount),
            "credited": _money(credited), "received_on": _iso(received_on), "method": method,
            "reference": reference or "", "pledge_id": _str(pledge_id),
        }

        def command(fund: Fund) -> dict[str, Any]:
            sponsor = self._require_sponsor(sponsor_id)
            fund.receive_donation(
                str(donation_id), sponsor, amount, credited, received_on=received_on,
                method=method, reference=reference, pledge_id=_str(pledge_id), actor=actor,
            )
            return self._result(donation_id, fund)

        return self._write("donation", chosen_id, request, [code], command,
                           receipt_id=donation_id)

    def record_donations(self, batch: Sequence[dict[str, Any]], *, actor: str) -> list[Written]:
        """Records many donations, across funds, in one transaction: the whole batch or none.

        Each item holds `record_donation`'s arguments by name (`code`, `sponsor_id`, `amount`,
        `credited`, `received_on`, `method`, `reference`, `pledge_id`) and a `donation_id`,
        which is required and is the write id, as for one donation: one already recorded
        under its id is answered from its receipt, or refused with IdConflict if its content
        differs.
        Sponsors must exist. Answers one `Written` per item, in order."""
        kind = "donation"
        requests = [
            {
                "fund": row["code"], "sponsor_id": str(row["sponsor_id"]),
                "amount": _money(row["amount"]), "credited": _money(row.get("credited")),
                "received_on": _iso(row["received_on"]), "method": row["method"],
                "reference": row.get("reference") or "", "pledge_id": _str(row.get("pledge_id")),
            }
            for row in batch
        ]
        fps = [fingerprint(kind, request) for request in requests]
        codes = list(dict.fromkeys(row["code"] for row in batch))
        fund_ids = [Fund.id_for(code) for code in codes]
        #: rows found recorded under their id by another write (receipts), by donation id
        prior: dict[UUID, Written] = {}
        for attempt in range(self.max_attempts):
            with self._locked(fund_ids):
                #: each fund's version before the batch, by fund id
                versions: dict[UUID, int] = {}
                try:
                    funds = {code: self._load(i, code) for i, code in zip(fund_ids, codes)}
                    kept = self._kept(funds.values())
                    versions = {fund.id: fund.version for fund in funds.values()}
                    written: list[Written] = []
                    receipts: list[Receipt.Issued] = []
                    for row, fp, request in zip(batch, fps, requests):
                        donation_id: UUID = row["donation_id"]
                        fund = funds[row["code"]]
                        if donation_id in prior:
                            written.append(prior[donation_id])
                            continue
                        self._require_sponsor(row["sponsor_id"])
                        donation = str(donation_id)
                        fund.receive_donation(
                            donation, request["sponsor_id"], row["amount"], row.get("credited"),
                            received_on=row["received_on"], method=row["method"],
                            reference=request["reference"], pledge_id=request["pledge_id"],
                            actor=actor,
                        )
                        # as `_result` answers, converting only the newest pending event
                        result = {"id": donation, "fund": fund.code, "events": [
                            event_record(fund.code, fund.currency, fund.pending_events[-1])]}
                        receipts.append(Receipt.issued(donation_id, kind, fp, result))
                        written.append(Written(result, True))
                except LedgerError:
                    # A refusal must rest on the funds as stored, not on cached copies that
                    # another process has since moved on: decide again on fresh ones.
                    self._forget(fund_ids)
                    if self._moved_on(versions):
                        continue
                    raise
                except BaseException:
                    self._forget(fund_ids)
                    raise
                if not receipts:
                    return written
                # each fund's last event as made here (its hash covers those before it)
                made = [(e.originator_id, e.originator_version, e.hash)
                        for fund in funds.values() for e in fund.pending_events[-1:]]
                try:
                    recordings = self.save(*funds.values(), *receipts)
                except IntegrityError:
                    # The recorder retries an insert after a broken connection, so the batch
                    # may be stored as made here (one transaction: all of it or none).
                    if self._found_as_made(made, fund_ids):
                        for fund in funds.values():
                            self._remember(fund)
                        return written
                    # Else a concurrent writer moved a fund on (run again on fresh state)
                    # or some ids were recorded by another write: answer those from receipts.
                    self._lost(fund_ids, kept)
                    prior.update(self._replays(
                        [r.originator_id for r in receipts], kind,
                        {r.originator_id: r.fingerprint for r in receipts}))
                except BaseException:
                    self._forget(fund_ids)
                    raise
                else:
                    position = _position(recordings)
                    for fund in funds.values():
                        self._remember(fund)
                        self._snapshot(fund, versions[fund.id])
                    return [Written(w.result, True, position) if w.created else w
                            for w in written]
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise Contention(self.max_attempts)

    def reverse_donation(
        self, code: str, donation_id: UUID, reason: str, *, actor: str,
        write_id: UUID | None = None, reversed_on: date | None = None,
    ) -> Written:
        request = {"fund": code, "donation_id": str(donation_id), "reason": reason,
                   "reversed_on": _iso(reversed_on)}
        donation = self.recorded_donations([donation_id]).get(donation_id)

        def command(fund: Fund) -> dict[str, Any]:
            fund.reverse_donation(str(donation_id), donation, reason, actor=actor,
                                  reversed_on=reversed_on or today())
            return self._result(donation_id, fund)

        return self._write("donation-reversal", write_id, request, [code], command)

    # ---- allocations, awards, disbursements, returns ------------------------------------

    def allocate(
        self, code: str, name: str, amount: Money, *, actor: str,
        allocation_id: UUID | None = None, allocated_on: date | None = None,
    ) -> Written:
        chosen_id, allocation_id = allocation_id, allocation_id or uuid4()
        request = {"fund": code, "name": name, "amount": _money(amount),
                   "allocated_on": _iso(allocated_on)}

        def command(fund: Fund) -> dict[str, Any]:
            fund.allocate(str(allocation_id), name, amount, actor=actor,
                          allocated_on=allocated_on or today())
            return self._result(allocation_id, fund)

        return self._write("allocation", chosen_id, request, [code], command,
                           receipt_id=allocation_id)

    def release_allocation(
        self, code: str, allocation_id: UUID, amount: Money, reason: str, *, actor: str,
        write_id: UUID | None = None, released_on: date | None = None,
    ) -> Written:
        request = {"fund": code, "allocation_id": str(allocation_id), "amount": _money(amount),
                   "reason": reason, "released_on": _iso(released_on)}

        def command(fund: Fund) -> dict[str, Any]:
            fund.release(str(allocation_id), amount, reason, actor=actor,
                         released_on=released_on or today())
            return self._result(allocation_id, fund)

        return self._write("allocation-release", write_id, request, [code], command)

    def grant_award(
        self, code: str, allocation_id: UUID, recipient: dict[str, str], amount: Money, *,
        actor: str, award_id: UUID | None = None, granted_on: date | None = None,
    ) -> Written:
        chosen_id, award_id = award_id, award_id or uuid4()
        request = {"fund": code, "allocation_id": str(allocation_id), "recipient": recipient,
                   "amount": _money(amount), "granted_on": _iso(granted_on)}

        def command(fund: Fund) -> dict[str, Any]:
            fund.grant_award(str(award_id), str(allocation_id), recipient, amount, actor=actor,
                             granted_on=granted_on or today())
            return self._result(award_id, fund)

        return self._write("award", chosen_id, request, [code], command,
                           receipt_id=award_id)

    def revoke_award(
        self, code: str, award_id: UUID, reason: str, *, actor: str,
        write_id: UUID | None = None, revoked_on: date | None = None,
    ) -> Written:
        request = {"fund": code, "award_id": str(award_id), "reason": reason,
                   "revoked_on": _iso(revoked_on)}

        def command(fund: Fund) -> dict[str, Any]:
            fund.revoke_award(str(award_id), reason, actor=actor,
                              revoked_on=revoked_on or today())
            return self._result(award_id, fund)

        return self._write("award-revocation", write_id, request, [code], command)

    def disburse_award(
        self, code: str, award_id: UUID, amount: Money, *, paid_on: date, method: str,
        reference: str = "", actor: str, disbursement_id: UUID | None = None,
    ) -> Written:
        chosen_id, disbursement_id = disbursement_id, disbursement_id or uuid4()
        request = {"fund": code, "award_id": str(award_id), "amount": _money(amount),
                   "paid_on": _iso(paid_on), "method": method, "reference": reference or ""}

        def command(fund: Fund) -> dict[str, Any]:
            fund.disburse(str(disbursement_id), str(award_id), amount, paid_on=paid_on,
                          method=method, reference=reference, actor=actor)
            return self._result(disbursement_id, fund)

        return self._write("disbursement", chosen_id, request, [code], command,
                           receipt_id=disbursement_id)

    def record_return(
        self, code: str, award_id: UUID, amount: Money, reason: str, *, returned_on: date,
        actor: str, return_id: UUID | None = None,
    ) -> Written:
        chosen_id, return_id = return_id, return_id or uuid4()
        request = {"fund": code, "award_id": str(award_id), "amount": _money(amount),
                   "reason": reason, "returned_on": _iso(returned_on)}

        def command(fund: Fund) -> dict[str, Any]:
            fund.take_return(str(return_id), str(award_id), amount, reason, actor=actor,
                             returned_on=returned_on)
            return self._result(return_id, fund)

        return self._write("return", chosen_id, request, [code], command,
                           receipt_id=return_id)

    def transfer(
        self, from_code: str, to_code: str, amount: Money, reason: str, *, actor: str,
        transfer_id: UUID | None = None, transferred_on: date | None = None,
    ) -> Written:
        chosen_id, transfer_id = transfer_id, transfer_id or uuid4()
        request = {"from_fund": from_code, "to_fund": to_code, "amount": _money(amount),
                   "reason": reason, "transferred_on": _iso(transferred_on)}

        def command(source: Fund, target: Fund) -> dict[str, Any]:
            source.transfer_out(str(transfer_id), target, amount, reason, actor=actor,
                                transferred_on=transferred_on or today())
            result = self._result(transfer_id, source)
            result["events"] += self._result(transfer_id, target)["events"]
            return result

        if from_code == to_code:
            raise InvalidInput("to_fund", "a transfer needs two different funds")
        return self._write("transfer", chosen_id, request, [from_code, to_code], command,
                           receipt_id=transfer_id)

    def recorded_donations(self, donation_ids: Sequence[UUID]) -> dict[UUID, RecordedDonation]:
        """The donations recorded under these ids, found by their receipts (a fund keeps
        no entry per donation). An id used by a write of another kind is left out."""
        return {i: taken.donation for i, taken in self.ids_taken(donation_ids).items()
                if taken.donation is not None}

    def ids_taken(self, ids: Sequence[UUID]) -> dict[UUID, Taken]:
        """What each of these ids already names (those that name nothing are left out):
        the write its receipt records, or a fund or sponsor. One query on PostgreSQL."""
        found = {}
        for s in self._first_events(ids):
            e = self.mapper.to_domain_event(s)
            if isinstance(e, Receipt.Issued):
                found[e.originator_id] = Taken(e.kind, recorded_donation(e.kind, e.result))
            else:
                found[e.originator_id] = Taken(type(e).__qualname__.split(".")[0].lower(), None)
        return found

    # ---- reads of the event store -------------------------------------------------------

    def fund(self, code: str) -> dict[str, Any]:
        """The fund's description and current figures, from its events."""
        with self._current(code) as fund:
            return describe_fund(fund)

    def remainders(self, code: str) -> dict[str, dict[str, Money]]:
        """What is left to grant of each allocation and to pay of each award, now."""
        with self._current(code) as fund:
            return {
                "allocations": {a: fund.money(fund.allocation_remainder(a))
                                for a in fund.allocations},
                "awards": {a: fund.money(fund.award_remainder(a)) for a in fund.awards},
            }

    def figures(self, code: str) -> dict[str, Money]:
        """Every figure of SPEC §2 for the fund, now."""
        return self.fund(code)["figures"]

    def figures_as_of(
        self, code: str, as_of: date | None = None, known_at: datetime | None = None
    ) -> dict[str, Any]:
        """The fund replayed from its raw events, by effective date, as known at a time."""
        fund_id = Fund.id_for(code)
        try:
            fund = Fund.replay(self.fund_events(fund_id), as_of=as_of, known_at=known_at)
        except FundNotFound:
            raise FundNotFound(code) from None
        return describe_fund(fund)

    def fund_events(self, fund_id: UUID, after: int = 0, page: int = 5000) -> Iterator[Any]:
        """Every event of a fund after seq `after`, oldest first, read page by page."""
        while True:
            batch = list(self.events.get(fund_id, gt=after, limit=page))
            yield from batch
            if len(batch) < page:
                return
            after = batch[-1].originator_version

    def history(self, code: str, after: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """The fund's events after seq `after`, oldest first, with their hashes."""
        fund = self.fund(code)
        events = self.events.get(Fund.id_for(code), gt=after, limit=limit)
        return [event_record(code, fund["currency"], e) for e in events]

    def fund_codes(self) -> list[str]:
        """The codes of every fund ever opened, in the order they were opened."""
        return [e.code for e in self.events_of(Fund.Opened)]

    def events_of(self, event_class: type, page: int = 1000) -> Iterator[Any]:
        """Every stored event of this class, in the order recorded, read page by page."""
        topics = [get_topic(event_class)]
        start = 1
        while notifications := self.recorder.select_notifications(start, page, topics=topics):
            yield from (self.mapper.to_domain_event(n) for n in notifications)
            if len(notifications) < page:
                return
            start = notifications[-1].id + 1

    # ---- the write path -----------------------------------------------------------------

    def _write(
        self,
        kind: str,
        write_id: UUID | None,
        request: dict[str, Any],
        codes: list[str],
        command: Callable[..., dict[str, Any]],
        *,
        receipt_id: UUID | None = None,
    ) -> Written:
        """Runs `command` on the named funds and saves its events atomically with a receipt
        (keyed by the client's write id, else by `receipt_id`, else a new id): retries on
        concurrent writers; answers a repeated client write id from its receipt. Receipts
        are also the auditor's witness that each write's events exist.

        A save can fail although it committed: the recorder retries an insert after a
        broken connection, and the retry meets the committed rows. Such a write is known
        by its events, which are then stored exactly as this process made them (each
        event's hash covers its recorded time), and it is answered as recorded."""
        fp = fingerprint(kind, request)
        receipt_id = write_id or receipt_id or uuid4()
        fund_ids = [Fund.id_for(code) for code in codes]
        for attempt in range(self.max_attempts):
            with self._locked(fund_ids):
                funds: list[Fund] = []
                kept: list[Fund] | None = None
                try:
                    funds.extend(self._load(i, c) for i, c in zip(fund_ids, codes))
                    kept = self._kept(funds)
                    versions = [fund.version for fund in funds]
                    result = command(*funds)
                except LedgerError:
                    # A refusal must rest on the fund as stored, not on a cached copy that
                    # another process has since moved on: catch up and decide again.
                    if any(fund.pending_events for fund in funds):
                        self._forget(fund_ids)
                        continue
                    if not self._caught_up(funds):
                        continue
                    if write_id is not None and (prior := self._replay(write_id, kind, fp)):
                        return prior
                    raise
                except BaseException:
                    self._forget(fund_ids)
                    raise
                made = [(e.originator_id, e.originator_version, e.hash)
                        for fund in funds for e in fund.pending_events]
                try:
                    recordings = self.save(*funds, Receipt.issue(receipt_id, kind, fp, result))
                except IntegrityError:
                    if self._found_as_made(made, fund_ids):
                        for fund in funds:
                            self._remember(fund)
                        return Written(result, True)
                    self._lost(fund_ids, kept)
                    if write_id is not None and (prior := self._replay(write_id, kind, fp)):
                        return prior
                except BaseException:
                    self._forget(fund_ids)
                    raise
                else:
                    for fund, before in zip(funds, versions):
                        self._remember(fund)
                        self._snapshot(fund, before)
                    return Written(result, True, _position(recordings))
            time.sleep(random.uniform(0, 0.002 * (attempt + 1)))
        raise Contention(self.max_attempts)

    def _kept(self, funds: Iterable[Fund]) -> list[Fund] | None:
        """While another process's writer has been meeting this one's lately: brings the
        funds up to date from the store (so that the save is less likely to be refused)
        and answers copies of them before the command. Else None: one process's cache is
        current, and copies would cost more than they save."""
        if time.monotonic() >= self._contended_until:
            return None
        funds = list(funds)
        self._caught_up(funds)
        return [fund.copy() for fund in funds if fund.size <= self.copy_limit]

    def _lost(self, fund_ids: Sequence[UUID], kept: Sequence[Fund] | None) -> None:
        """After a save refused because a fund was moved on (or an id taken) meanwhile:
        the funds are forgotten, and those copied before the command go back in the cache,
        brought up to date from the store; the others are loaded again (from a snapshot and
        up to an interval of events each)."""
        self._contended_until = time.monotonic() + self.contention_memory
        self._forget(fund_ids)
        if kept:
            self._caught_up(kept)
            for fund in kept:
                self._remember(fund)

    def _moved_on(self, versions: dict[UUID, int]) -> bool:
        """Whether any of these funds has events stored after these versions."""
        return any(next(iter(self.events.get(fund_id, gt=version, limit=1)), None) is not None
                   for fund_id, version in versions.items())

    def _replays(self, write_ids: Sequence[UUID], kind: str, fps: dict[UUID, str]
                 ) -> dict[UUID, Written]:
        """The original answers of those of these writes recorded meanwhile by another
        request (one query on PostgreSQL); IdConflict for an id used for something else."""
        found = {}
        for s in self._first_events(write_ids):
            e = self.mapper.to_domain_event(s)
            if not isinstance(e, Receipt.Issued):
                raise IdConflict(e.originator_id)
            receipt = e.mutate(None)
            found[e.originator_id] = Written(receipt.replay(kind, fps[e.originator_id]), False)
        return found

    def _first_events(self, ids: Sequence[UUID]) -> list[Any]:
        """The first stored event of each of these aggregates that exists."""
        unique = list(dict.fromkeys(ids))
        select_first = getattr(self.recorder, "select_first_events", None)
        if select_first is not None:
            return list(select_first(unique))
        return [e for i in unique for e in self.recorder.select_events(i, lte=1)]

    def _found_as_made(self, made: Sequence[tuple[UUID, int, str]],
                       fund_ids: Sequence[UUID]) -> bool:
        """`_stored_as_made`, after a save that may have committed; the funds are forgotten
        when that cannot be known (never keep events that may not be stored)."""
        try:
            return self._stored_as_made(made)
        except BaseException:
            self._forget(fund_ids)
            raise

    def _stored_as_made(self, made: Sequence[tuple[UUID, int, str]]) -> bool:
        """Whether these (fund id, seq, hash) events are in the store, just as made here."""
        for fund_id, version, made_hash in made:
            stored = list(self.events.get(fund_id, gt=version - 1, lte=version))
            if not stored or getattr(stored[0], "hash", None) != made_hash:
                return False
        return True

    def _replay(self, write_id: UUID, kind: str, fp: str) -> Written | None:
        """The original answer if a write with this id was recorded; IdConflict if the id
        was used for something else."""
        return self._replays([write_id], kind, {write_id: fp}).get(write_id)

    def _aggregate(self, aggregate_id: UUID) -> Aggregate | None:
        try:
            return self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None

    def _result(self, entity_id: UUID, fund: Fund) -> dict[str, Any]:
        events = [event_record(fund.code, fund.currency, e) for e in fund.pending_events]
        return {"id": str(entity_id), "fund": fund.code, "events": events[-1:]}

    # ---- the cache of funds -------------------------------------------------------------

    @contextmanager
    def _current(self, code: str) -> Iterator[Fund]:
        """The fund brought up to date with events other processes stored, for reading
        while this process's commands on it wait."""
        fund_id = Fund.id_for(code)
        with self._locked([fund_id]):
            fund = self._load(fund_id, code)
            self._caught_up([fund])
            self._remember(fund)
            yield fund

    def _load(self, fund_id: UUID, code: str) -> Fund:
        with self._cache_lock:
            fund = self._cache.get(fund_id)
        if fund is not None:
            return fund
        try:
            fund = self.repository.get(fund_id)
        except AggregateNotFoundError:
            raise FundNotFound(code) from None
        if not isinstance(fund, Fund):
            raise FundNotFound(code)
        return fund

    def _caught_up(self, funds: Sequence[Fund]) -> bool:
        """Applies to the cached funds any events stored since they were loaded; whether
        there were none."""
        current = True
        for fund in funds:
            for e in self.events.get(fund.id, gt=fund.version):
                e.mutate(fund)
                current = False
        return current

    def _remember(self, fund: Fund) -> None:
        with self._cache_lock:
            self._cache[fund.id] = fund
            self._cache.move_to_end(fund.id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _forget(self, fund_ids: Sequence[UUID]) -> None:
        with self._cache_lock:
            for fund_id in fund_ids:
                self._cache.pop(fund_id, None)

    def _snapshot(self, fund: Fund, version_before: int) -> None:
        """Snapshots a fund just saved when its version passed a multiple of its interval.

        A snapshot holds the fund's whole state (an entry per pledge, allocation, award and
        reversed donation, none per donation), so the interval grows with the state: a tenth
        to a twentieth of its entries, at least `snapshot_interval` events. Snapshots then
        cost a constant amount per event however long the history, and loading a fund
        replays at most one interval of events."""
        # Rounded down to a doubling of snapshot_interval, so that the interval stays fixed
        # while the state grows (a moving interval is "passed" by every batch of events).
        interval = self.snapshot_interval
        while interval * 20 <= fund.size:
            interval *= 2
        if self.snapshots is not None and fund.version // interval > version_before // interval:
            self.snapshots.put([Snapshot.take(fund)])

    @contextmanager
    def _locked(self, fund_ids: Sequence[UUID]) -> Iterator[None]:
        """Serialises this process's commands on a fund (they would only conflict in the
        store); locks are taken in one order so a transfer cannot deadlock."""
        slots = sorted({fund_id.int % len(self._locks) for fund_id in fund_ids})
        with ExitStack() as stack:
            for slot in slots:
                stack.enter_context(self._locks[slot])
            yield


def describe_fund(fund: Fund) -> dict[str, Any]:
    """A fund's description and figures as plain data (figures as `Money`)."""
    return {
        "code": fund.code,
        "name": fund.name,
        "currency": fund.currency,
        "purpose": fund.purpose,
        "restricted": fund.restricted,
        "closed": fund.closed,
        "seq": fund.version,
        "last_hash": fund.last_hash,
        "figures": fund.figures(),
    }


def _position(recordings: Sequence[Any]) -> int | None:
    ids = [r.notification.id for r in recordings if r.notification.id is not None]
    return max(ids) if ids else None


def _money(amount: Money | None) -> list[Any] | None:
    return None if amount is None else [amount.minor, amount.currency]


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)
