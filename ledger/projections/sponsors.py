"""The sponsor ledger read model: per sponsor and fund, every pledge, donation and reversal.

A donation shows both what the sponsor gave (in the gift's currency) and what the bank
credited (in the fund's currency); a reversal shows both too. A pledge shows its schedule,
what has been paid towards it (credited donations applied to it, net of reversals, in the
fund's currency), what is outstanding and which instalments are overdue: an instalment is
paid by the money applied to the pledge in due-date order, and overdue when it is due
before today, not fully paid, and the pledge is active.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any
from uuid import UUID

from ledger.domain.money import Money
from ledger.projections.database import Tx
from ledger.projections.view import (
    Item,
    Lookup,
    View,
    add_funds,
    directory_ddl,
    find_fund,
    load_each,
    save,
)

PLEDGE_COLUMNS = ("fund_id", "pledge_id", "sponsor_id", "seq", "pledged_on", "amount",
                  "applied", "active", "schedule", "cancelled_on", "cancel_reason")
DONATION_COLUMNS = ("fund_id", "donation_id", "sponsor_id", "seq", "received_on", "amount",
                    "amount_currency", "credited", "method", "reference", "pledge_id",
                    "reversed", "reversed_on", "reversal_reason", "reversal_seq")

#: the events that change a sponsor's ledger
_RELEVANT = frozenset({"Opened", "PledgeMade", "PledgeCancelled", "DonationReceived",
                       "DonationReversed"})


class SponsorLedger(View):
    """Pledges and donations by sponsor and fund."""

    name = "sponsors"
    tables = (
        directory_ddl("sponsor_ledger_funds"),
        "CREATE TABLE IF NOT EXISTS {sponsor_pledges} (fund_id TEXT, pledge_id TEXT,"
        " sponsor_id TEXT NOT NULL, seq BIGINT NOT NULL, pledged_on TEXT NOT NULL,"
        " amount BIGINT NOT NULL, applied BIGINT NOT NULL, active INTEGER NOT NULL,"
        " schedule TEXT NOT NULL, cancelled_on TEXT, cancel_reason TEXT,"
        " PRIMARY KEY (fund_id, pledge_id))",
        "CREATE TABLE IF NOT EXISTS {sponsor_donations} (fund_id TEXT, donation_id TEXT,"
        " sponsor_id TEXT NOT NULL, seq BIGINT NOT NULL, received_on TEXT NOT NULL,"
        " amount BIGINT NOT NULL, amount_currency TEXT NOT NULL, credited BIGINT NOT NULL,"
        " method TEXT NOT NULL, reference TEXT NOT NULL, pledge_id TEXT,"
        " reversed INTEGER NOT NULL, reversed_on TEXT, reversal_reason TEXT,"
        " reversal_seq BIGINT, PRIMARY KEY (fund_id, donation_id))",
    )
    indexes = (
        "CREATE INDEX IF NOT EXISTS {sponsor_pledges_by_sponsor}"
        " ON {sponsor_pledges} (sponsor_id)",
        "CREATE INDEX IF NOT EXISTS {sponsor_donations_by_sponsor}"
        " ON {sponsor_donations} (sponsor_id)",
    )

    def apply(self, tx: Tx, batch: Sequence[Item]) -> None:
        batch = [item for item in batch if item[2] in _RELEVANT]
        pledges, donations = load_each(
            tx,
            Lookup(self.t("sponsor_pledges"), PLEDGE_COLUMNS, ("fund_id", "pledge_id"),
                   [(fid, e.pledge_id) for _, e, what, fid in batch
                    if what != "PledgeMade" and getattr(e, "pledge_id", None)]),
            Lookup(self.t("sponsor_donations"), DONATION_COLUMNS, ("fund_id", "donation_id"),
                   [(fid, e.donation_id) for _, e, what, fid in batch
                    if what == "DonationReversed"]),
        )
        changed_pledges, changed_donations = set(), set()
        for _, e, what, fid in batch:
            if what == "PledgeMade":
                key = (fid, e.pledge_id)
                pledges[key] = {
                    "fund_id": fid, "pledge_id": e.pledge_id, "sponsor_id": e.sponsor_id,
                    "seq": e.originator_version, "pledged_on": e.effective_on,
                    "amount": e.amount_minor, "applied": 0, "active": 1,
                    "schedule": json.dumps(e.schedule), "cancelled_on": None,
                    "cancel_reason": None,
                }
                changed_pledges.add(key)
            elif what == "PledgeCancelled":
                p = pledges.get((fid, e.pledge_id))
                if p is not None:
                    p.update(active=0, cancelled_on=e.effective_on, cancel_reason=e.reason)
                    changed_pledges.add((fid, e.pledge_id))
            elif what == "DonationReceived":
                key = (fid, e.donation_id)
                donations[key] = {
                    "fund_id": fid, "donation_id": e.donation_id, "sponsor_id": e.sponsor_id,
                    "seq": e.originator_version, "received_on": e.effective_on,
                    "amount": e.amount_minor, "amount_currency": e.amount_currency,
                    "credited": e.credited_minor, "method": e.method,
                    "reference": e.reference, "pledge_id": e.pledge_id, "reversed": 0,
                    "reversed_on": None, "reversal_reason": None, "reversal_seq": None,
                }
                changed_donations.add(key)
                self._apply_to_pledge(pledges, changed_pledges, fid, e.pledge_id, e.credited_minor)
            elif what == "DonationReversed":
                d = donations.get((fid, e.donation_id))
                if d is not None:
                    d.update(reversed=1, reversed_on=e.effective_on, reversal_reason=e.reason,
                             reversal_seq=e.originator_version)
                    changed_donations.add((fid, e.donation_id))
                self._apply_to_pledge(pledges, changed_pledges, fid, e.pledge_id,
                                      -e.credited_minor)
        add_funds(tx, self.t("sponsor_ledger_funds"), batch)
        save(tx, self.t("sponsor_pledges"), PLEDGE_COLUMNS, ("fund_id", "pledge_id"),
             pledges, changed_pledges)
        save(tx, self.t("sponsor_donations"), DONATION_COLUMNS, ("fund_id", "donation_id"),
             donations, changed_donations)

    @staticmethod
    def _apply_to_pledge(
        pledges: dict[Any, dict[str, Any]], changed: set[Any], fid: str,
        pledge_id: str | None, credited: int,
    ) -> None:
        p = pledges.get((fid, pledge_id)) if pledge_id else None
        if p is not None:
            p["applied"] += credited
            changed.add((fid, pledge_id))

    # ---- reads ----------------------------------------------------------------------------

    def ledger(self, tx: Tx, sponsor_id: UUID | str, today: date) -> dict[str, Any]:
        sponsor = str(sponsor_id)
        funds = {fid: (code, cur) for fid, code, cur in tx.all(
            f"SELECT fund_id, code, currency FROM {self.t('sponsor_ledger_funds')}")}
        by_fund: dict[str, dict[str, Any]] = {}

        def fund_entry(fid: str) -> dict[str, Any]:
            code, currency = funds[fid]
            return by_fund.setdefault(fid, {"fund": code, "currency": currency, "pledges": [],
                                            "donations": [], "reversals": [], "rows": []})

        for row in tx.all(
            f"SELECT {', '.join(PLEDGE_COLUMNS)} FROM {self.t('sponsor_pledges')}"
            " WHERE sponsor_id = ? ORDER BY fund_id, seq", (sponsor,),
        ):
            p = dict(zip(PLEDGE_COLUMNS, row))
            entry = fund_entry(p["fund_id"])
            entry["pledges"].append(_pledge(p, entry["currency"], today))
        for row in tx.all(
            f"SELECT {', '.join(DONATION_COLUMNS)} FROM {self.t('sponsor_donations')}"
            " WHERE sponsor_id = ? ORDER BY fund_id, seq", (sponsor,),
        ):
            d = dict(zip(DONATION_COLUMNS, row))
            entry = fund_entry(d["fund_id"])
            entry["rows"].append(d)
            gift = _gift(d, entry["currency"])
            entry["donations"].append(gift)
            if d["reversed"]:
                entry["reversals"].append({
                    "donation_id": d["donation_id"], "reversed_on": d["reversed_on"],
                    "amount": gift["amount"], "credited": gift["credited"],
                    "reason": d["reversal_reason"],
                })
        for entry in by_fund.values():
            entry["totals"] = _totals(entry.pop("rows"), entry["currency"])
        return {"sponsor_id": sponsor,
                "funds": sorted(by_fund.values(), key=lambda f: f["fund"])}

    def fund_sponsorship(
        self, tx: Tx, code: str, today: date, donations: int
    ) -> dict[str, Any]:
        """A fund's pledges (oldest first) and its latest `donations` gifts (newest
        first), each with its sponsor; FundNotFound if the view has no such fund."""
        fund_id, currency = find_fund(tx, self.t("sponsor_ledger_funds"), code)
        pledges = []
        for row in tx.all(
            f"SELECT {', '.join(PLEDGE_COLUMNS)} FROM {self.t('sponsor_pledges')}"
            " WHERE fund_id = ? ORDER BY seq", (fund_id,),
        ):
            p = dict(zip(PLEDGE_COLUMNS, row))
            pledges.append({"sponsor_id": p["sponsor_id"], **_pledge(p, currency, today)})
        gifts = []
        for row in tx.all(
            f"SELECT {', '.join(DONATION_COLUMNS)} FROM {self.t('sponsor_donations')}"
            " WHERE fund_id = ? ORDER BY seq DESC LIMIT ?", (fund_id, donations),
        ):
            d = dict(zip(DONATION_COLUMNS, row))
            gifts.append({**_gift(d, currency), "sponsor_id": d["sponsor_id"],
                          "seq": int(d["seq"]), "reversed_on": d["reversed_on"]})
        return {"fund": code, "currency": currency, "pledges": pledges, "donations": gifts}


def _gift(d: dict[str, Any], currency: str) -> dict[str, Any]:
    """A donation row: the gift in its own currency, the amount credited in the fund's."""
    return {
        "id": d["donation_id"], "received_on": d["received_on"],
        "amount": Money(int(d["amount"]), d["amount_currency"]).as_json(),
        "credited": Money(int(d["credited"]), currency).as_json(),
        "method": d["method"], "reference": d["reference"],
        "pledge_id": d["pledge_id"], "reversed": bool(d["reversed"]),
    }


def _pledge(p: dict[str, Any], currency: str, today: date) -> dict[str, Any]:
    amount, paid, active = int(p["amount"]), int(p["applied"]), bool(p["active"])
    left = max(0, paid)
    schedule, overdue_minor = [], 0
    for item in json.loads(p["schedule"]):
        due, instalment = item["due"], int(item["amount_minor"])
        covered = min(instalment, left)
        left -= covered
        overdue = active and covered < instalment and due < today.isoformat()
        overdue_minor += (instalment - covered) if overdue else 0
        schedule.append({
            "due": due,
            "amount": Money(instalment, currency).as_json(),
            "paid": Money(covered, currency).as_json(),
            "outstanding": Money(instalment - covered, currency).as_json(),
            "overdue": overdue,
        })
    return {
        "id": p["pledge_id"],
        "pledged_on": p["pledged_on"],
        "status": "active" if active else "cancelled",
        "amount": Money(amount, currency).as_json(),
        "paid": Money(paid, currency).as_json(),
        "outstanding": Money(max(0, amount - paid) if active else 0, currency).as_json(),
        "schedule": schedule,
        "overdue_instalments": sum(1 for s in schedule if s["overdue"]),
        "overdue": Money(overdue_minor, currency).as_json(),
        "cancelled_on": p["cancelled_on"],
        "cancel_reason": p["cancel_reason"],
    }


def _totals(rows: list[dict[str, Any]], currency: str) -> dict[str, Any]:
    """Credited totals in the fund's currency, and what is kept of the gifts by the
    currency they came in."""
    credited = sum(int(d["credited"]) for d in rows)
    reversed_ = sum(int(d["credited"]) for d in rows if d["reversed"])
    gifts: dict[str, int] = {}
    for d in rows:
        if not d["reversed"]:
            gifts[d["amount_currency"]] = gifts.get(d["amount_currency"], 0) + int(d["amount"])
    return {
        "credited": Money(credited, currency).as_json(),
        "reversed": Money(reversed_, currency).as_json(),
        "net": Money(credited - reversed_, currency).as_json(),
        "given": [Money(v, c).as_json() for c, v in sorted(gifts.items())],
    }
