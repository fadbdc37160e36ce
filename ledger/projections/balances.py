"""The fund balances read model: every figure of SPEC §2 per fund, counts, and cash by month.

Figures are integers in minor units of the fund's currency, kept by the same rules as
`Fund` (ledger/domain/fund.py) so that they always equal a replay of the raw events:

- received = donations − reversals; cash = received + in − out − disbursed + returned;
- allocated_unspent = allocations − releases − disbursements; available = cash − that;
- pledged_outstanding = Σ over active pledges of max(0, pledged − credited to it).

Counts: `donations` not reversed, distinct `sponsors` who pledged or gave, `awards` not
revoked, distinct `students` (name and school) holding an award not revoked. Each month
(of the effective date) has its cash in (donations, transfers in, returns) and cash out
(reversals, transfers out, disbursements); their running difference is the cash.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.domain import figures as spec
from ledger.domain.errors import FundNotFound
from ledger.domain.fund import Fund
from ledger.domain.money import Money
from ledger.projections.database import Tx
from ledger.projections.view import Item, Lookup, View, load, load_each, save

FIGURES = (
    "received", "transferred_in", "transferred_out", "disbursed", "returned",
    "allocated_unspent", "pledged_outstanding",
)
COUNTS = ("donations", "sponsors", "awards", "students")
FUND_COLUMNS = (
    "fund_id", "code", "name", "currency", "purpose", "restricted", "closed", "opened_on",
    "seq", "last_hash", *FIGURES, *COUNTS,
)
PLEDGE_COLUMNS = ("fund_id", "pledge_id", "amount", "applied", "active")
MONTH_COLUMNS = ("fund_id", "month", "cash_in", "cash_out")
AWARD_COLUMNS = ("fund_id", "award_id", "student", "active")
STUDENT_COLUMNS = ("fund_id", "student", "awards")
SPONSOR_COLUMNS = ("fund_id", "sponsor_id")

_FIGURE_COLS = ", ".join(f"{c} BIGINT NOT NULL" for c in (*FIGURES, *COUNTS))


class Balances(View):
    """Per fund: figures, counts and monthly cash flows."""

    name = "balances"
    tables = (
        "CREATE TABLE IF NOT EXISTS {fund_balances} (fund_id TEXT PRIMARY KEY, code TEXT NOT NULL,"
        " name TEXT NOT NULL, currency TEXT NOT NULL, purpose TEXT NOT NULL,"
        " restricted INTEGER NOT NULL, closed INTEGER NOT NULL, opened_on TEXT NOT NULL,"
        f" seq BIGINT NOT NULL, last_hash TEXT NOT NULL, {_FIGURE_COLS})",
        "CREATE TABLE IF NOT EXISTS {fund_balance_pledges} (fund_id TEXT, pledge_id TEXT,"
        " amount BIGINT NOT NULL, applied BIGINT NOT NULL, active INTEGER NOT NULL,"
        " PRIMARY KEY (fund_id, pledge_id))",
        "CREATE TABLE IF NOT EXISTS {fund_balance_months} (fund_id TEXT, month TEXT,"
        " cash_in BIGINT NOT NULL, cash_out BIGINT NOT NULL, PRIMARY KEY (fund_id, month))",
        "CREATE TABLE IF NOT EXISTS {fund_balance_awards} (fund_id TEXT, award_id TEXT,"
        " student TEXT NOT NULL, active INTEGER NOT NULL, PRIMARY KEY (fund_id, award_id))",
        "CREATE TABLE IF NOT EXISTS {fund_balance_students} (fund_id TEXT, student TEXT,"
        " awards BIGINT NOT NULL, PRIMARY KEY (fund_id, student))",
        "CREATE TABLE IF NOT EXISTS {fund_balance_sponsors} (fund_id TEXT, sponsor_id TEXT,"
        " PRIMARY KEY (fund_id, sponsor_id))",
    )

    # ---- the fold -------------------------------------------------------------------------

    def apply(self, tx: Tx, batch: Sequence[Item]) -> None:
        fund_ids = {fid for *_, fid in batch}
        funds, pledges, awards, sponsors, months, students = load_each(
            tx,
            Lookup(self.t("fund_balances"), FUND_COLUMNS, ("fund_id",), fund_ids),
            Lookup(self.t("fund_balance_pledges"), PLEDGE_COLUMNS, ("fund_id", "pledge_id"),
                   [(fid, e.pledge_id) for _, e, what, fid in batch
                    if getattr(e, "pledge_id", None)]),
            Lookup(self.t("fund_balance_awards"), AWARD_COLUMNS, ("fund_id", "award_id"),
                   [(fid, e.award_id) for _, e, what, fid in batch
                    if what in ("AwardGranted", "AwardRevoked")]),
            Lookup(self.t("fund_balance_sponsors"), SPONSOR_COLUMNS, ("fund_id", "sponsor_id"),
                   [(fid, e.sponsor_id) for _, e, what, fid in batch
                    if what in ("PledgeMade", "DonationReceived")]),
            Lookup(self.t("fund_balance_months"), MONTH_COLUMNS, ("fund_id",),
                   fund_ids if any(item[2] in _CASH for item in batch) else (),
                   ("fund_id", "month")),
            Lookup(self.t("fund_balance_students"), STUDENT_COLUMNS, ("fund_id", "student"),
                   [(fid, _student(e.recipient)) for _, e, what, fid in batch
                    if what == "AwardGranted"]),
        )
        # the students of stored awards that the batch revokes: known only now
        more = {(a["fund_id"], a["student"]) for a in awards.values()} - students.keys()
        if more:
            found = load(tx, self.t("fund_balance_students"), STUDENT_COLUMNS,
                         ("fund_id", "student"), more)
            students.update(found)
            students.stored = students.stored | found.stored
        touched: dict[str, set[Any]] = {"pledges": set(), "awards": set(), "students": set(),
                                        "sponsors": set(), "months": set()}

        for _, e, what, fid in batch:
            if what == "Opened":
                funds[fid] = {
                    "fund_id": fid, "code": e.code, "name": e.name, "currency": e.currency,
                    "purpose": e.purpose, "restricted": int(e.restricted), "closed": 0,
                    "opened_on": e.effective_on, **{c: 0 for c in (*FIGURES, *COUNTS)},
                }
            f = funds[fid]
            f["seq"] = e.originator_version
            f["last_hash"] = e.hash

            if what in _CASH:
                key = (fid, e.effective_on[:7])
                m = months.setdefault(key, {"fund_id": fid, "month": key[1],
                                            "cash_in": 0, "cash_out": 0})
                m[_CASH[what][0]] += getattr(e, _CASH[what][1])
                touched["months"].add(key)

            if what in ("PledgeMade", "DonationReceived"):
                key = (fid, e.sponsor_id)
                if key not in sponsors:
                    sponsors[key] = {"fund_id": fid, "sponsor_id": e.sponsor_id}
                    f["sponsors"] += 1
                    touched["sponsors"].add(key)

            if what == "Closed":
                f["closed"] = 1
            elif what == "PledgeMade":
                key = (fid, e.pledge_id)
                pledges[key] = {"fund_id": fid, "pledge_id": e.pledge_id,
                                "amount": e.amount_minor, "applied": 0, "active": 1}
                f["pledged_outstanding"] += e.amount_minor
                touched["pledges"].add(key)
            elif what == "PledgeCancelled":
                self._change_pledge(f, pledges, touched, fid, e.pledge_id, active=0)
            elif what == "DonationReceived":
                f["received"] += e.credited_minor
                f["donations"] += 1
                self._change_pledge(f, pledges, touched, fid, e.pledge_id, applied=e.credited_minor)
            elif what == "DonationReversed":
                f["received"] -= e.credited_minor
                f["donations"] -= 1
                self._change_pledge(f, pledges, touched, fid, e.pledge_id,
                                    applied=-e.credited_minor)
            elif what == "AllocationMade":
                f["allocated_unspent"] += e.amount_minor
            elif what == "AllocationReleased":
                f["allocated_unspent"] -= e.amount_minor
            elif what == "AwardGranted":
                student = _student(e.recipient)
                awards[(fid, e.award_id)] = {"fund_id": fid, "award_id": e.award_id,
                                             "student": student, "active": 1}
                touched["awards"].add((fid, e.award_id))
                f["awards"] += 1
                s = students.setdefault((fid, student), {"fund_id": fid, "student": student,
                                                         "awards": 0})
                s["awards"] += 1
                f["students"] += s["awards"] == 1
                touched["students"].add((fid, student))
            elif what == "AwardRevoked":
                a = awards.get((fid, e.award_id))
                if a is not None and a["active"]:
                    a["active"] = 0
                    touched["awards"].add((fid, e.award_id))
                    f["awards"] -= 1
                    s = students[(fid, a["student"])]
                    s["awards"] -= 1
                    f["students"] -= s["awards"] == 0
                    touched["students"].add((fid, a["student"]))
            elif what == "AwardDisbursed":
                f["disbursed"] += e.amount_minor
                f["allocated_unspent"] -= e.amount_minor
            elif what == "AwardReturned":
                f["returned"] += e.amount_minor
            elif what == "TransferredOut":
                f["transferred_out"] += e.amount_minor
            elif what == "TransferredIn":
                f["transferred_in"] += e.amount_minor

        save(tx, self.t("fund_balances"), FUND_COLUMNS, ("fund_id",), funds, fund_ids)
        for table, columns, keys, rows, name in (
            ("fund_balance_pledges", PLEDGE_COLUMNS, ("fund_id", "pledge_id"), pledges, "pledges"),
            ("fund_balance_awards", AWARD_COLUMNS, ("fund_id", "award_id"), awards, "awards"),
            ("fund_balance_students", STUDENT_COLUMNS, ("fund_id", "student"), students,
             "students"),
            ("fund_balance_sponsors", SPONSOR_COLUMNS, ("fund_id", "sponsor_id"), sponsors,
             "sponsors"),
            ("fund_balance_months", MONTH_COLUMNS, ("fund_id", "month"), months, "months"),
        ):
            save(tx, self.t(table), columns, keys, rows, touched[name])

    @staticmethod
    def _change_pledge(
        f: dict[str, Any], pledges: dict[Any, dict[str, Any]], touched: dict[str, set[Any]],
        fid: str, pledge_id: str | None, *, applied: int = 0, active: int | None = None,
    ) -> None:
        """Changes a pledge as `Fund` does (only a pledge it knows), keeping the fund's
        pledged_outstanding equal to the sum over its active pledges."""
        p = pledges.get((fid, pledge_id)) if pledge_id else None
        if p is None:
            return
        before = _outstanding(p)
        p["applied"] += applied
        if active is not None:
            p["active"] = active
        f["pledged_outstanding"] += _outstanding(p) - before
        touched["pledges"].add((fid, pledge_id))

    # ---- reads ----------------------------------------------------------------------------

    def funds(self, tx: Tx) -> list[dict[str, Any]]:
        rows = tx.all(f"SELECT {', '.join(FUND_COLUMNS)} FROM {self.t('fund_balances')} ORDER BY code")
        return [describe(dict(zip(FUND_COLUMNS, r))) for r in rows]

    def fund(self, tx: Tx, code: str) -> dict[str, Any]:
        row = tx.one(
            f"SELECT {', '.join(FUND_COLUMNS)} FROM {self.t('fund_balances')} WHERE fund_id = ?",
            (str(Fund.id_for(code)),),
        )
        if row is None or row[1] != code:
            raise FundNotFound(code)
        fund = describe(dict(zip(FUND_COLUMNS, row)))
        currency = fund["currency"]
        months = tx.all(
            f"SELECT month, cash_in, cash_out FROM {self.t('fund_balance_months')}"
            " WHERE fund_id = ? ORDER BY month",
            (row[0],),
        )
        fund["months"] = [
            {"month": m, "cash_in": Money(i, currency).as_json(),
             "cash_out": Money(o, currency).as_json()}
            for m, i, o in months
        ]
        return fund

    def figures_minor(self, tx: Tx, code: str) -> dict[str, int]:
        """The fund's figures in minor units, named as `Fund.figures` names them."""
        row = tx.one(
            f"SELECT {', '.join(FUND_COLUMNS)} FROM {self.t('fund_balances')} WHERE fund_id = ?",
            (str(Fund.id_for(code)),),
        )
        if row is None:
            raise FundNotFound(code)
        return figures(dict(zip(FUND_COLUMNS, row)))


#: event type → (month column, amount attribute) of events that move cash
_CASH = {
    "DonationReceived": ("cash_in", "credited_minor"),
    "DonationReversed": ("cash_out", "credited_minor"),
    "TransferredIn": ("cash_in", "amount_minor"),
    "TransferredOut": ("cash_out", "amount_minor"),
    "AwardDisbursed": ("cash_out", "amount_minor"),
    "AwardReturned": ("cash_in", "amount_minor"),
}


def figures(row: dict[str, Any]) -> dict[str, int]:
    """Every figure of SPEC §2 of a balances row, in minor units."""
    return spec.figures(
        received=row["received"], transferred_in=row["transferred_in"],
        transferred_out=row["transferred_out"], disbursed=row["disbursed"],
        returned=row["returned"], allocated_unspent=row["allocated_unspent"],
        outstanding=row["pledged_outstanding"],
    )


def describe(row: dict[str, Any]) -> dict[str, Any]:
    """A balances row as the API shows a fund: figures as money objects."""
    currency = row["currency"]
    return {
        "code": row["code"],
        "name": row["name"],
        "currency": currency,
        "purpose": row["purpose"],
        "restricted": bool(row["restricted"]),
        "closed": bool(row["closed"]),
        "opened_on": row["opened_on"],
        "seq": int(row["seq"]),
        "last_hash": row["last_hash"],
        "figures": {k: Money(int(v), currency).as_json() for k, v in figures(row).items()},
        "counts": {c: int(row[c]) for c in COUNTS},
    }


def _outstanding(p: dict[str, Any]) -> int:
    return max(0, p["amount"] - p["applied"]) if p["active"] else 0


def _student(recipient: dict[str, str]) -> str:
    # name and school together tell two students of one name apart
    return f"{recipient.get('name', '')}\x1f{recipient.get('school', '')}"
