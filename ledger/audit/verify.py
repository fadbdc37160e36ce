"""Verification: proof from the stored events alone that nothing was altered.

One pass over every stored event, in notification order, checks:

- each fund's sequence: it starts at 1 with `Opened` (whose id is the one its code
  derives), has no gap and no event out of place;
- each fund's hash chain: every `prev_hash` is the previous event's hash and every hash
  is recomputed from the stored content with `ledger.domain.chain`;
- every write's receipt: the events a receipt says its write recorded are still stored
  with the hash it recorded (this catches a deleted tail, which leaves a valid chain);
- every transfer: its two sides are both stored, with the same amount;
- optionally, an auditor's earlier digest: the Merkle root over the first `size` events
  stored now equals the one kept (`ledger.audit.digest`);
- optionally, the read models: each fund's balances row equals the fold of its events up
  to the position the read model has processed.

Each problem names the fund, the sequence number and what is wrong.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from ledger.audit.decode import event_hash, loads
from ledger.audit.digest import Digest, MerkleLog, leaf
from ledger.audit.fold import APPLY, Figures
from ledger.audit.stored import StoredEvents, fund_type
from ledger.domain import chain
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.domain.receipt import Receipt

RECEIPT_TOPIC = get_topic(Receipt.Issued)
#: problems listed in a report (the count says how many there were in all)
MAX_LISTED = 1000
#: how many recent fund events' hashes are kept to check receipts without a query
RECENT = 100_000


@dataclass
class Problem:
    """One thing wrong: the fund (its code when known, else its id), the seq, and what."""

    fund: str | None
    seq: int | None
    problem: str

    def as_json(self) -> dict[str, Any]:
        return {"fund": self.fund, "seq": self.seq, "problem": self.problem}

    def __str__(self) -> str:
        where = f"fund {self.fund}" if self.fund else "ledger"
        return f"{where}{f' seq {self.seq}' if self.seq is not None else ''}: {self.problem}"


@dataclass
class Report:
    """The outcome of a verification."""

    funds: int = 0
    events: int = 0
    stored: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    digest: Digest | None = None
    read_models_checked: bool = False
    #: the notification id the compared read model had processed
    read_models_position: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    def add(self, fund: str | None, seq: int | None, problem: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(Problem(fund, seq, problem))

    def as_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "funds": self.funds,
            "events": self.events,
            "stored_events": self.stored,
            "problem_count": self.problem_count,
            "problems": [p.as_json() for p in self.problems],
            "read_models_checked": self.read_models_checked,
            "read_models_position": self.read_models_position,
            "digest": self.digest.as_json() if self.digest else None,
        }


@dataclass
class _Chain:
    """Where one fund's chain stands in the pass."""

    name: str
    fund_id: str = ""
    seq: int = 0
    last_hash: str = chain.GENESIS
    figures: Figures = field(default_factory=Figures)


class Verifier:
    """One verification pass over a ledger's event store."""

    def __init__(self, app: Any, *, since: Digest | None = None, read_models: Any = None):
        self.app = app
        self.store = StoredEvents(app)
        self.since = since
        self.read_models = read_models
        self.report = Report()
        self.chains: dict[str, _Chain] = {}
        self.recent: OrderedDict[tuple[str, int], str] = OrderedDict()
        self.witnessed: list[tuple[str, int, str, str]] = []
        self.transfers: dict[str, tuple[str, int, str, int]] = {}

    def run(self) -> Report:
        report = self.report
        log = MerkleLog()
        since = self.since
        seen_models, positions = self._read_models()
        #: the funds as the events made them at each read model's position
        snapshots: dict[int, dict[str, dict[str, Any]]] = {}
        pending = sorted(set(positions.values()))
        for n, originator, seq, topic, state in self.store.all_rows():
            while pending and n > pending[0]:
                snapshots[pending.pop(0)] = self._figures_now()
            log.append(leaf(originator, seq, topic, state))
            if since is not None and log.size == since.size:
                self._check_since(log)
            kind = fund_type(topic)
            if kind is not None:
                self._fund_event(originator, seq, kind, state)
            elif topic == RECEIPT_TOPIC:
                self._receipt(originator, state)
        report.stored = log.size
        report.digest = Digest.of(log)
        if since is not None and log.size < since.size:
            report.add(None, None, f"the ledger holds {log.size} events, fewer than the "
                                   f"{since.size} its digest of {since.at} covered")
        self._check_witnessed()
        for transfer_id, (name, seq, side, _) in self.transfers.items():
            other = "in" if side == "out" else "out"
            report.add(name, seq, f"transfer {transfer_id}: its transferred-{other} side "
                                  "is missing")
        report.funds = len(self.chains)
        for position in pending:
            snapshots[position] = self._figures_now()
        if seen_models is not None:
            self._compare(seen_models, snapshots[positions["balances"]])
            self._compare_history(snapshots[positions["history"]])
            self._compare_with_fresh_builds()
        return report

    def _compare_with_fresh_builds(self) -> None:
        """The sponsor ledger and award register against a build of each from the events."""
        from ledger.projections.rebuild import differences_from_a_fresh_build

        rm = self.read_models
        for view in (rm.sponsors, rm.awards):
            for difference in differences_from_a_fresh_build(self.app, rm.db, type(view)):
                self.report.add(None, None, f"the {view.name} read model differs from a "
                                            f"build from the events in {difference}")

    # ---- one fund event ---------------------------------------------------------------

    def _fund_event(self, originator: str, seq: int, kind: str, raw: bytes) -> None:
        report = self.report
        report.events += 1
        c = self.chains.get(originator)
        if c is None:
            c = self.chains[originator] = _Chain(originator, str(_uuid(originator)))
        try:
            state = loads(raw)
        except ValueError:
            report.add(c.name, seq, "the stored state is not valid JSON")
            return
        if not isinstance(state, dict):
            report.add(c.name, seq, "the stored state is not an event")
            return
        if kind == "Opened":
            self._opened(c, originator, seq, state)
        elif seq == 1 or c.seq == 0:
            report.add(c.name, seq, f"the fund's history does not start with Opened ({kind})")
        if seq != c.seq + 1:
            if seq <= c.seq:
                report.add(c.name, seq, f"out of place: stored after seq {c.seq}")
            else:
                missing = (f"seq {c.seq + 1}" if seq == c.seq + 2
                           else f"seqs {c.seq + 1}–{seq - 1}")
                report.add(c.name, seq, f"{missing} missing before it")
        try:
            if state["prev_hash"] != c.last_hash:
                report.add(c.name, seq, f"prev_hash does not link to the hash of seq {c.seq}")
            if event_hash(c.fund_id, seq, kind, state) != state["hash"]:
                report.add(c.name, seq, f"{kind}: the hash does not match the stored content "
                                        "(edited, or moved from another place)")
            if kind != "Opened":
                APPLY[kind](c.figures, state)
            self._transfer(c, seq, kind, state)
        except (KeyError, TypeError, ValueError) as e:
            report.add(c.name, seq, f"{kind}: malformed event data ({type(e).__name__}: {e})")
        c.seq = seq
        c.last_hash = state.get("hash", "")
        self.recent[(originator, seq)] = c.last_hash
        if len(self.recent) > RECENT:
            self.recent.popitem(last=False)

    def _opened(self, c: _Chain, originator: str, seq: int, state: dict[str, Any]) -> None:
        try:
            code = state["code"]
            APPLY["Opened"](c.figures, state)
        except (KeyError, TypeError) as e:
            self.report.add(c.name, seq, f"Opened: malformed ({e})")
            return
        if c.seq != 0 or seq != 1:
            self.report.add(c.name, seq, "Opened is not the fund's first event")
        if Fund.id_for(code).hex != originator:
            self.report.add(code, seq, f"Opened names code {code!r}, which is not this fund's")
            return
        c.name = code

    def _transfer(self, c: _Chain, seq: int, kind: str, state: dict[str, Any]) -> None:
        if kind not in ("TransferredOut", "TransferredIn"):
            return
        side = "out" if kind == "TransferredOut" else "in"
        tid, amount = state["transfer_id"], state["amount_minor"]
        other = self.transfers.pop(tid, None)
        if other is None:
            self.transfers[tid] = (c.name, seq, side, amount)
        elif other[2] == side or other[3] != amount:
            self.report.add(c.name, seq, f"transfer {tid}: its two sides disagree "
                                         f"(fund {other[0]} seq {other[1]})")

    # ---- receipts -----------------------------------------------------------------------

    def _receipt(self, receipt_id: str, raw: bytes) -> None:
        try:
            events = loads(raw)["result"]["events"]
            named = [(Fund.id_for(e["fund"]).hex, int(e["seq"]), e["hash"], e["fund"])
                     for e in events]
        except (ValueError, KeyError, TypeError):
            return  # a receipt of another shape names no fund event
        for originator, seq, hash_, code in named:
            stored = self.recent.get((originator, seq))
            if stored is None:
                self.witnessed.append((originator, seq, hash_, receipt_id))
            elif stored != hash_:
                self.report.add(code, seq, f"differs from the event its write (receipt "
                                           f"{_uuid(receipt_id)}) recorded")

    def _check_witnessed(self) -> None:
        for originator, seq, hash_, receipt_id in self.witnessed:
            name = self.chains[originator].name if originator in self.chains else originator
            row = self.store.fund_row(_uuid(originator), seq)
            if row is None:
                self.report.add(name, seq, f"missing: its write (receipt {_uuid(receipt_id)}) "
                                           "recorded it (a deleted event?)")
                continue
            try:
                stored = loads(row[2])["hash"]
            except (ValueError, KeyError, TypeError):
                stored = None
            if stored != hash_:
                self.report.add(name, seq, f"differs from the event its write (receipt "
                                           f"{_uuid(receipt_id)}) recorded")

    # ---- the digest ----------------------------------------------------------------------

    def _check_since(self, log: MerkleLog) -> None:
        since = self.since
        assert since is not None
        if log.root() != since.root:
            self.report.add(None, None, f"the first {since.size} events stored now are not "
                                        f"those of the digest of {since.at}: history was "
                                        "rewritten, removed or reordered")

    # ---- read models ----------------------------------------------------------------------

    def _read_models(self) -> tuple[list[dict[str, Any]] | None, dict[str, int]]:
        """The balances read model's funds, and the position of the balances and history
        views (read so that no event was processed meanwhile)."""
        rm = self.read_models
        if rm is None:
            return None, {}
        names = {"balances": rm.balances.tracking, "history": rm.events.tracking}
        for _ in range(20):
            before = rm.db.positions(list(names.values()))
            funds = rm.funds()
            if rm.db.positions(list(names.values())) == before:
                positions = {view: before[tracking] for view, tracking in names.items()}
                self.report.read_models_checked = True
                self.report.read_models_position = positions["balances"]
                return funds, positions
        self.report.add(None, None, "the read models kept moving: not compared")
        return None, {}

    def _figures_now(self) -> dict[str, dict[str, Any]]:
        return {c.name: {"seq": c.seq, "last_hash": c.last_hash, "currency": c.figures.currency,
                         "figures": c.figures.minor()}
                for c in self.chains.values()}

    def _compare(self, models: list[dict[str, Any]], replayed: dict[str, dict[str, Any]]) -> None:
        report = self.report
        shown = set()
        for row in models:
            code = row["code"]
            shown.add(code)
            mine = replayed.get(code)
            if mine is None:
                report.add(code, None, "the read model shows a fund that no event opened")
                continue
            if row["seq"] != mine["seq"] or row["last_hash"] != mine["last_hash"]:
                report.add(code, row["seq"], f"the read model is at seq {row['seq']}, "
                                             f"the events at seq {mine['seq']}")
            for name, minor in mine["figures"].items():
                expected = Money(minor, mine["currency"]).as_json()
                if row["figures"].get(name) != expected:
                    report.add(code, mine["seq"], f"read model {name} "
                                                  f"{_show(row['figures'].get(name))} ≠ replay "
                                                  f"{_show(expected)}")
        for code in replayed.keys() - shown:
            report.add(code, None, "the read model does not show this fund")


    def _compare_history(self, replayed: dict[str, dict[str, Any]]) -> None:
        """Each fund's history read model, event by event, against the stored events: at
        least up to the view's position, and nothing the events do not hold."""
        from ledger.audit.decode import record
        from ledger.domain.errors import FundNotFound

        rm, report = self.read_models, self.report
        for originator, c in self.chains.items():
            due = replayed.get(c.name, {}).get("seq", 0)
            stored = self.store.fund_rows(_uuid(originator))
            after, seen = 0, 0
            while True:
                try:
                    page = rm.history(c.name, after, 1000)
                except FundNotFound:
                    page = []
                for shown in page:
                    row = next(stored, None)
                    if row is None or row[0] != shown["seq"]:
                        report.add(c.name, shown["seq"], "the history read model shows an "
                                                         "event that is not stored there")
                        page = []
                        break
                    seq, topic, raw = row
                    mine = record(c.name, c.figures.currency, seq, fund_type(topic) or "",
                                  loads(raw))
                    if shown != mine:
                        fields = sorted(k for k in mine if shown.get(k) != mine[k])
                        report.add(c.name, seq, f"the history read model differs in {fields}")
                    seen = seq
                if len(page) < 1000:
                    break
                after = page[-1]["seq"]
            if seen < due:
                report.add(c.name, seen + 1, f"the history read model lacks seqs "
                                             f"{seen + 1}–{due}, which it has processed")


def _show(money: Any) -> str:
    return f"{money['amount']} {money['currency']}" if isinstance(money, dict) else repr(money)


def _uuid(hex_: str) -> UUID:
    return UUID(hex_)


def verify(app: Any, *, since: Digest | None = None, read_models: Any = None) -> Report:
    """Verifies the whole ledger (see the module's docstring)."""
    return Verifier(app, since=since, read_models=read_models).run()


def digest(app: Any) -> Digest:
    """The digest of every event stored now."""
    log = MerkleLog()
    for _, originator, seq, topic, state in StoredEvents(app).all_rows():
        log.append(leaf(originator, seq, topic, state))
    return Digest.of(log)
