"""The award register read model: per award round, school, category and student, what was
granted, disbursed, is outstanding and was revoked.

An award round is an allocation. Per award, in the fund's currency: `granted` is the
amount awarded; `revoked` is the undisbursed remainder cancelled by a revocation;
`disbursed` what was paid out; `returned` what the student gave back; `outstanding`
= granted − revoked − disbursed (what is still to be paid). Schools, categories and
students total their awards; a round also shows its allocation, releases and ungranted
remainder (allocation − released − granted + revoked).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.domain.money import Money
from ledger.projections.database import Tx
from ledger.projections.view import (
    Item, Lookup, View, add_funds, directory_ddl, find_fund, load_each, save,
)

ROUND_COLUMNS = ("fund_id", "allocation_id", "seq", "name", "allocated_on", "amount",
                 "released")
AWARD_COLUMNS = ("fund_id", "award_id", "allocation_id", "seq", "granted_on", "name",
                 "school", "grade", "category", "amount", "disbursed", "returned", "revoked",
                 "revoked_on")
#: the events that change the register
_RELEVANT = frozenset({"Opened", "AllocationMade", "AllocationReleased", "AwardGranted",
                       "AwardRevoked", "AwardDisbursed", "AwardReturned"})
#: the sums every group of awards shows
SUMS = ("granted", "revoked", "disbursed", "returned", "outstanding")


class AwardRegister(View):
    """Award rounds and awards, by fund."""

    name = "awards"
    tables = (
        directory_ddl("award_register_funds"),
        "CREATE TABLE IF NOT EXISTS {award_rounds} (fund_id TEXT, allocation_id TEXT,"
        " seq BIGINT NOT NULL, name TEXT NOT NULL, allocated_on TEXT NOT NULL,"
        " amount BIGINT NOT NULL, released BIGINT NOT NULL,"
        " PRIMARY KEY (fund_id, allocation_id))",
        "CREATE TABLE IF NOT EXISTS {award_grants} (fund_id TEXT, award_id TEXT,"
        " allocation_id TEXT NOT NULL, seq BIGINT NOT NULL, granted_on TEXT NOT NULL,"
        " name TEXT NOT NULL, school TEXT NOT NULL, grade TEXT NOT NULL,"
        " category TEXT NOT NULL, amount BIGINT NOT NULL, disbursed BIGINT NOT NULL,"
        " returned BIGINT NOT NULL, revoked BIGINT, revoked_on TEXT,"
        " PRIMARY KEY (fund_id, award_id))",
    )

    def apply(self, tx: Tx, batch: Sequence[Item]) -> None:
        batch = [item for item in batch if item[2] in _RELEVANT]  # most events are gifts
        rounds, awards = load_each(
            tx,
            Lookup(self.t("award_rounds"), ROUND_COLUMNS, ("fund_id", "allocation_id"),
                   [(fid, e.allocation_id) for _, e, what, fid in batch
                    if what == "AllocationReleased"]),
            Lookup(self.t("award_grants"), AWARD_COLUMNS, ("fund_id", "award_id"),
                   [(fid, e.award_id) for _, e, what, fid in batch
                    if what in ("AwardRevoked", "AwardDisbursed", "AwardReturned")]),
        )
        changed_rounds, changed_awards = set(), set()
        for _, e, what, fid in batch:
            if what == "AllocationMade":
                rounds[(fid, e.allocation_id)] = {
                    "fund_id": fid, "allocation_id": e.allocation_id,
                    "seq": e.originator_version, "name": e.name, "allocated_on": e.effective_on,
                    "amount": e.amount_minor, "released": 0,
                }
                changed_rounds.add((fid, e.allocation_id))
            elif what == "AllocationReleased":
                r = rounds.get((fid, e.allocation_id))
                if r is not None:
                    r["released"] += e.amount_minor
                    changed_rounds.add((fid, e.allocation_id))
            elif what == "AwardGranted":
                recipient = e.recipient
                awards[(fid, e.award_id)] = {
                    "fund_id": fid, "award_id": e.award_id, "allocation_id": e.allocation_id,
                    "seq": e.originator_version, "granted_on": e.effective_on,
                    "name": recipient.get("name") or "", "school": recipient.get("school") or "",
                    "grade": recipient.get("grade") or "",
                    "category": recipient.get("category") or "",
                    "amount": e.amount_minor, "disbursed": 0, "returned": 0, "revoked": None,
                    "revoked_on": None,
                }
                changed_awards.add((fid, e.award_id))
            elif what in ("AwardRevoked", "AwardDisbursed", "AwardReturned"):
                a = awards.get((fid, e.award_id))
                if a is None:
                    continue
                if what == "AwardRevoked":
                    a.update(revoked=e.remainder_minor, revoked_on=e.effective_on)
                elif what == "AwardDisbursed":
                    a["disbursed"] += e.amount_minor
                else:
                    a["returned"] += e.amount_minor
                changed_awards.add((fid, e.award_id))
        add_funds(tx, self.t("award_register_funds"), batch)
        save(tx, self.t("award_rounds"), ROUND_COLUMNS, ("fund_id", "allocation_id"),
             rounds, changed_rounds)
        save(tx, self.t("award_grants"), AWARD_COLUMNS, ("fund_id", "award_id"),
             awards, changed_awards)

    # ---- reads ----------------------------------------------------------------------------

    def register(self, tx: Tx, code: str) -> dict[str, Any]:
        fund_id, currency = find_fund(tx, self.t("award_register_funds"), code)
        rounds = [dict(zip(ROUND_COLUMNS, r)) for r in tx.all(
            f"SELECT {', '.join(ROUND_COLUMNS)} FROM {self.t('award_rounds')}"
            " WHERE fund_id = ? ORDER BY seq", (fund_id,))]
        awards = [dict(zip(AWARD_COLUMNS, r)) for r in tx.all(
            f"SELECT {', '.join(AWARD_COLUMNS)} FROM {self.t('award_grants')}"
            " WHERE fund_id = ? ORDER BY seq", (fund_id,))]
        for a in awards:
            a["sums"] = _sums(a)

        def money(minor: int) -> dict[str, str]:
            return Money(minor, currency).as_json()

        def group(key: Any) -> list[dict[str, Any]]:
            totals: dict[Any, dict[str, int]] = {}
            for a in awards:
                t = totals.setdefault(key(a), {**dict.fromkeys(SUMS, 0), "awards": 0})
                t["awards"] += 1
                for s in SUMS:
                    t[s] += a["sums"][s]
            return [(k, {s: money(v) if s in SUMS else v for s, v in t.items()})
                    for k, t in totals.items()]

        round_sums = dict(group(lambda a: a["allocation_id"]))
        empty = {**{s: money(0) for s in SUMS}, "awards": 0}
        out_rounds = []
        for r in rounds:
            sums = round_sums.get(r["allocation_id"], empty)
            granted = sum(a["sums"]["granted"] - a["sums"]["revoked"] for a in awards
                          if a["allocation_id"] == r["allocation_id"])
            out_rounds.append({
                "allocation_id": r["allocation_id"], "name": r["name"],
                "allocated_on": r["allocated_on"], "allocated": money(int(r["amount"])),
                "released": money(int(r["released"])),
                "remainder": money(int(r["amount"]) - int(r["released"]) - granted),
                **sums,
            })
        return {
            "fund": code,
            "currency": currency,
            "rounds": out_rounds,
            "schools": [{"school": k, **v} for k, v in sorted(group(lambda a: a["school"]))],
            "categories": [{"category": k, **v}
                           for k, v in sorted(group(lambda a: a["category"]))],
            "students": [
                {"name": a["name"], "school": a["school"], "grade": a["grade"],
                 "category": a["category"], "award_id": a["award_id"],
                 "allocation_id": a["allocation_id"], "granted_on": a["granted_on"],
                 "revoked_on": a["revoked_on"], **{s: money(a["sums"][s]) for s in SUMS}}
                for a in awards
            ],
        }


def _sums(a: dict[str, Any]) -> dict[str, int]:
    granted, disbursed = int(a["amount"]), int(a["disbursed"])
    revoked = int(a["revoked"]) if a["revoked"] is not None else 0
    return {"granted": granted, "revoked": revoked, "disbursed": disbursed,
            "returned": int(a["returned"]), "outstanding": granted - revoked - disbursed}
