"""The books as a Beancount file, so an auditor can cross-check them with Beancount.

Accounts, per fund F (each in the fund's currency, all opened on the fund's earliest
effective date):

- `Assets:Funds:F:Cash` — the fund's cash, made of `…:Cash:Unallocated` (= available)
  and `…:Cash:Allocated:<round>` (= allocated_unspent, one account per allocation);
- `Income:Funds:F:Donations:<sponsor>` — gifts net of reversals, per sponsor;
- `Expenses:Funds:F:Awards` — disbursements net of returns;
- `Income:Funds:F:Transfers` and `Expenses:Funds:F:Transfers` — transfers in and out.

Every event that moves money is one balanced transaction dated by its effective date,
with the fund, seq, event type, hash and the event's own ids as metadata (a transfer's
two sides share a `^transfer-…` link; a foreign gift carries its original amount). Pledges,
awards granted or revoked, opening and closing move no money and write no transaction.

Balance assertions at every month end come from the ledger's own fold
(`ledger.audit.fold`), not from these postings: Beancount checks a balance at the start
of its date, so each is dated the first day of the next month. `bean-check` accepting
the file therefore proves Beancount's arithmetic over the postings agrees with the
ledger's figures, month by month. Events are streamed fund by fund; memory holds only
accounts and per-month totals.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, TextIO

from ledger.audit.decode import loads
from ledger.audit.fold import APPLY, Figures
from ledger.audit.stored import FUND_TOPIC, StoredEvents
from ledger.domain.errors import LedgerError
from ledger.domain.fund import Fund
from ledger.domain.money import Money

_COMPONENT = re.compile(r"[A-Z0-9][A-Za-z0-9-]*", re.ASCII)


def component(text: str, max_len: int = 40) -> str:
    """An ASCII account name component made of the words of `text` ('' if none)."""
    text = text.replace("đ", "d").replace("Đ", "D")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[A-Za-z0-9]+", ascii_text)
    return "-".join(w[:1].upper() + w[1:] for w in words)[:max_len].rstrip("-")


def fund_component(code: str) -> str:
    """The fund's code as an account component: itself when it is one, else a slug of it
    with a short hash of the code, so two codes never share an account."""
    if _COMPONENT.fullmatch(code):
        return code
    slug = component(code) or "Fund"
    return f"{slug}-{hashlib.sha256(code.encode()).hexdigest()[:6]}"


def quote(text: Any) -> str:
    """A Beancount string literal."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class _Fund:
    """What the export keeps of one fund while its events stream by."""

    code: str
    currency: str
    root: str
    first: date
    accounts: set[str] = field(default_factory=set)
    rounds: dict[str, str] = field(default_factory=dict)
    months: dict[str, Figures] = field(default_factory=dict)
    last: date = date.min

    def money(self, minor: int) -> str:
        return f"{Money(minor, self.currency).text} {self.currency}"


class BeancountWriter:
    """Writes the whole ledger as one Beancount file."""

    def __init__(self, app: Any, out: TextIO, sponsor_name: Callable[[str], str | None]):
        self.app = app
        self.out = out
        self.sponsor_name = sponsor_name
        self._sponsors: dict[str, tuple[str, str]] = {}
        self.transactions = 0
        self.assertions = 0

    def write(self, codes: list[str]) -> None:
        self.out.write('option "title" "Scholarship fund ledger"\n\n')
        for code in codes:
            self._fund(code)

    # ---- one fund -----------------------------------------------------------------------

    def _fund(self, code: str) -> None:
        cut = len(FUND_TOPIC)
        f: _Fund | None = None
        for seq, topic, raw in StoredEvents(self.app).fund_rows(Fund.id_for(code)):
            kind, d = topic[cut:], loads(raw)
            on = date.fromisoformat(d["effective_on"])
            if f is None:
                f = _Fund(code, d["currency"], fund_component(code), on)
                self.out.write(f";; ---- fund {code}: {d['name']} ({d['currency']})\n\n")
            f.first, f.last = min(f.first, on), max(f.last, on)
            if kind != "Opened":
                APPLY[kind](f.months.setdefault(d["effective_on"][:7], Figures()), d)
            postings = self._postings(f, kind, d)
            if postings:
                self._transaction(f, seq, kind, on, d, postings)
        if f is not None:
            self._opens_and_balances(f)

    def _postings(self, f: _Fund, kind: str, d: dict[str, Any]) -> list[tuple[str, int]]:
        """The postings of an event (account, minor units), or none if it moves no money."""
        cash = f"Assets:Funds:{f.root}:Cash"
        free = f"{cash}:Unallocated"
        if kind == "DonationReceived":
            x = d["credited_minor"]
            return [(free, x), (self._donor(f, d["sponsor_id"]), -x)]
        if kind == "DonationReversed":
            x = d["credited_minor"]
            return [(self._donor(f, d["sponsor_id"]), x), (free, -x)]
        if kind == "AllocationMade":
            name = component(d["name"], 30) or "Round"
            f.rounds[d["allocation_id"]] = f"{name}-{d['allocation_id'].replace('-', '')[:8]}"
            x = d["amount_minor"]
            return [(free, -x), (self._round(f, d["allocation_id"]), x)]
        if kind == "AllocationReleased":
            x = d["amount_minor"]
            return [(self._round(f, d["allocation_id"]), -x), (free, x)]
        if kind == "AwardDisbursed":
            x = d["amount_minor"]
            return [(self._round(f, d["allocation_id"]), -x),
                    (f"Expenses:Funds:{f.root}:Awards", x)]
        if kind == "AwardReturned":
            x = d["amount_minor"]
            return [(f"Expenses:Funds:{f.root}:Awards", -x), (free, x)]
        if kind == "TransferredOut":
            x = d["amount_minor"]
            return [(free, -x), (f"Expenses:Funds:{f.root}:Transfers", x)]
        if kind == "TransferredIn":
            x = d["amount_minor"]
            return [(f"Income:Funds:{f.root}:Transfers", -x), (free, x)]
        return []

    def _round(self, f: _Fund, allocation_id: str) -> str:
        name = f.rounds.get(allocation_id) or f"Round-{allocation_id.replace('-', '')[:8]}"
        return f"Assets:Funds:{f.root}:Cash:Allocated:{name}"

    def _donor(self, f: _Fund, sponsor_id: str) -> str:
        return f"Income:Funds:{f.root}:Donations:{self._sponsor(sponsor_id)[0]}"

    def _sponsor(self, sponsor_id: str) -> tuple[str, str]:
        """The sponsor's account component and name (the id when it has none)."""
        found = self._sponsors.get(sponsor_id)
        if found is None:
            name = self.sponsor_name(sponsor_id)
            short = sponsor_id.replace("-", "")[:8]
            slug = component(name or "", 30) or "Sponsor"
            found = self._sponsors[sponsor_id] = (f"{slug}-{short}", name or sponsor_id)
        return found

    def _transaction(
        self, f: _Fund, seq: int, kind: str, on: date, d: dict[str, Any],
        postings: list[tuple[str, int]],
    ) -> None:
        payee = self._sponsor(d["sponsor_id"])[1] if "sponsor_id" in d else f.code
        link = f" ^transfer-{d['transfer_id']}" if "transfer_id" in d else ""
        lines = [f"{on.isoformat()} * {quote(payee)} {quote(_narration(kind, d))}{link}",
                 f"  fund: {quote(f.code)}", f"  seq: {seq}", f"  event: {quote(kind)}",
                 f"  hash: {quote(d['hash'])}"]
        for key, value in d.items():
            if key.endswith("_id") and value is not None:
                lines.append(f"  {key.replace('_', '-')}: {quote(value)}")
        if kind == "DonationReceived":
            if d["amount_currency"] != f.currency:
                original = Money(d["amount_minor"], d["amount_currency"])
                lines.append(f"  original: {quote(f'{original.text} {original.currency}')}")
            lines.append(f"  method: {quote(d['method'])}")
            if d.get("reference"):
                lines.append(f"  reference: {quote(d['reference'])}")
        for account, minor in postings:
            f.accounts.add(account)
            lines.append(f"  {account}  {f.money(minor)}")
        self.out.write("\n".join(lines) + "\n\n")
        self.transactions += 1

    def _opens_and_balances(self, f: _Fund) -> None:
        root = f.root
        cash = f"Assets:Funds:{root}:Cash"
        asserted = {
            cash: lambda t: t.cash,
            f"{cash}:Allocated": lambda t: t.allocated_unspent,
            f"{cash}:Unallocated": lambda t: t.available,
            f"Income:Funds:{root}:Donations": lambda t: -t.received,
            f"Income:Funds:{root}:Transfers": lambda t: -t.transferred_in,
            f"Expenses:Funds:{root}:Awards": lambda t: t.disbursed - t.returned,
            f"Expenses:Funds:{root}:Transfers": lambda t: t.transferred_out,
        }
        opened = f.first.isoformat()
        for account in sorted(f.accounts | set(asserted)):
            self.out.write(f"{opened} open {account} {f.currency}\n")
        self.out.write("\n")
        total = Figures()
        month = date(f.first.year, f.first.month, 1)
        while month <= f.last:
            total.add(f.months.get(month.isoformat()[:7], Figures()))
            nxt = (month + timedelta(days=32)).replace(day=1)
            for account, figure in asserted.items():
                self.out.write(f"{nxt.isoformat()} balance {account}  {f.money(figure(total))}\n")
                self.assertions += 1
            month = nxt
        self.out.write("\n")


def _narration(kind: str, d: dict[str, Any]) -> str:
    words = {
        "DonationReceived": "Donation", "DonationReversed": "Donation reversed",
        "AllocationMade": "Allocation", "AllocationReleased": "Allocation released",
        "AwardDisbursed": "Award disbursed", "AwardReturned": "Award money returned",
        "TransferredOut": f"Transfer to {d.get('to_fund')}",
        "TransferredIn": f"Transfer from {d.get('from_fund')}",
    }[kind]
    detail = d.get("reason") or d.get("name") or ""
    return f"{words}: {detail}" if detail else words


def write_beancount(app: Any, out: TextIO, codes: list[str] | None = None) -> BeancountWriter:
    """Writes every fund of the ledger (or those named) as Beancount to `out`; answers the
    writer (with counts of transactions and assertions)."""
    from uuid import UUID

    def sponsor_name(sponsor_id: str) -> str | None:
        try:
            return app.sponsor(UUID(sponsor_id))["name"]
        except (LedgerError, ValueError):  # an unknown sponsor is named by its id
            return None

    writer = BeancountWriter(app, out, sponsor_name)
    writer.write(app.fund_codes() if codes is None else codes)
    return writer
