"""Every write of the treasurer as a form (SPEC §1): each names the API model that checks
it and the API route that records it (see `api.web.forms`)."""

from __future__ import annotations

from typing import Any

from api import models
from api.routers import allocations, awards, donations, funds, pledges, sponsors, transfers
from api.web.forms import Context, Field, FormSpec, add_form, money_in, new_router, or_none
from ledger.application import today
from ledger.directory import sponsors as sponsor_directory
from ledger.domain.money import CURRENCY_EXPONENTS
from ledger.domain.sponsor import SPONSOR_KINDS

router = new_router()

OPTIONAL = {"required": False}


def _fund_page(result: dict[str, Any], ctx: Context, done: str) -> str:
    return f"/web/funds/{ctx.params.get('code') or result['fund']}?done={done}"


def _fund(ctx: Context, *facts: str) -> dict[str, Any]:
    """The fund of the path (FundNotFound: a 404 page), with some of its figures shown."""
    fund = ctx.runtime.read_models.fund(ctx.params["code"])
    ctx.currency = fund["currency"]
    ctx.facts.append(("fund", f"{fund['code']} — {fund['name']}"))
    ctx.facts.extend((name, fund["figures"][name]) for name in facts)
    return fund


def _with_fund(*facts: str) -> Any:
    return lambda ctx: _fund(ctx, *facts)


def _with_award(*sums: str) -> Any:
    def prepare(ctx: Context) -> None:
        _fund(ctx)
        _award(ctx, *sums)

    return prepare


def _reasoned(title: str, on: str, model: type, route: Any, prepare: Any) -> FormSpec:
    """A compensating action (a cancellation, reversal, revocation): a reason and the
    day it took effect (today if left empty)."""
    return FormSpec(
        title, (Field("reason"), Field(on, "date", **OPTIONAL)), model,
        lambda v, ctx: {"reason": v["reason"], on: or_none(v[on])}, route,
        lambda r, ctx: _fund_page(r, ctx, title), prepare,
    )


def _sponsor_options(ctx: Context) -> None:
    ctx.options["sponsor_id"] = [(s["id"], s["name"])
                                 for s in sponsor_directory(ctx.runtime.ledger)]


def _award(ctx: Context, *sums: str) -> None:
    """Who the award of the path is for, and what it holds (for the treasurer only)."""
    register = ctx.runtime.read_models.award_register(ctx.params["code"])
    for student in register["students"]:
        if student["award_id"] == str(ctx.params["award_id"]):
            ctx.facts.append(("student", f"{student['name']} — {student['school']}"))
            ctx.facts.extend((name, student[name]) for name in sums)


def _schedule(text: str, currency: str) -> list[dict[str, Any]]:
    """Instalments typed one a line, `YYYY-MM-DD amount`."""
    schedule = []
    for line in text.splitlines():
        if line.strip():
            due, _, amount = line.strip().partition(" ")
            schedule.append({"due": due, "amount": money_in(amount.strip(), currency)})
    return schedule


# ---- funds and sponsors --------------------------------------------------------------------


def _prepare_open(ctx: Context) -> None:
    ctx.options["currency"] = [(c, c) for c in sorted(CURRENCY_EXPONENTS)]
    ctx.defaults["currency"] = "VND"


OPEN_FUND = FormSpec(
    "open_fund",
    (Field("code", hint="hint_code"), Field("name"), Field("currency", "select"),
     Field("purpose", "textarea", **OPTIONAL), Field("restricted", "checkbox", **OPTIONAL),
     Field("opened_on", "date", **OPTIONAL)),
    models.FundIn,
    lambda v, ctx: {"code": v["code"], "name": v["name"], "currency": v["currency"],
                    "purpose": v["purpose"], "restricted": v["restricted"] == "on",
                    "opened_on": or_none(v["opened_on"])},
    funds.open_fund,
    lambda r, ctx: f"/web/funds/{r['code']}?done=open_fund",
    _prepare_open,
)

CLOSE_FUND = FormSpec(
    "close_fund",
    (Field("closed_on", "date", **OPTIONAL),),
    models.CloseIn,
    lambda v, ctx: {"closed_on": or_none(v["closed_on"])},
    funds.close_fund,
    lambda r, ctx: _fund_page(r, ctx, "close_fund"),
    _with_fund("cash", "pledged_outstanding"),
)


def _prepare_sponsor(ctx: Context) -> None:
    ctx.options["kind"] = [(k, ctx.t(f"kind_{k}")) for k in SPONSOR_KINDS]


REGISTER_SPONSOR = FormSpec(
    "register_sponsor",
    (Field("name"), Field("kind", "select"), Field("email", "email", **OPTIONAL)),
    models.SponsorIn,
    lambda v, ctx: {"name": v["name"], "kind": v["kind"], "email": v["email"]},
    sponsors.register_sponsor,
    lambda r, ctx: f"/web/sponsors/{r['id']}?done=register_sponsor",
    _prepare_sponsor,
)

# ---- pledges and donations -----------------------------------------------------------------


def _prepare_pledge(ctx: Context) -> None:
    _fund(ctx, "pledged_outstanding")
    _sponsor_options(ctx)


PLEDGE = FormSpec(
    "pledge",
    (Field("sponsor_id", "select"), Field("amount", "amount"),
     Field("schedule", "textarea", hint="hint_schedule", **OPTIONAL),
     Field("pledged_on", "date", **OPTIONAL)),
    models.PledgeIn,
    lambda v, ctx: {"sponsor_id": v["sponsor_id"], "amount": money_in(v["amount"], ctx.currency),
                    "schedule": _schedule(v["schedule"], ctx.currency),
                    "pledged_on": or_none(v["pledged_on"])},
    pledges.make_pledge,
    lambda r, ctx: _fund_page(r, ctx, "pledge"),
    _prepare_pledge,
)

CANCEL_PLEDGE = _reasoned("cancel_pledge", "cancelled_on", models.CancelIn,
                          pledges.cancel_pledge, _with_fund("pledged_outstanding"))


def _prepare_donation(ctx: Context) -> None:
    fund = _fund(ctx, "received_total")
    _sponsor_options(ctx)
    names = dict(ctx.options["sponsor_id"])
    ctx.options["currency"] = [(c, c) for c in sorted(CURRENCY_EXPONENTS)]
    pledged = ctx.runtime.read_models.fund_sponsorship(ctx.params["code"], 0)["pledges"]
    ctx.options["pledge_id"] = [("", "—")] + [
        (p["id"], f"{names.get(p['sponsor_id'], p['sponsor_id'])} · {p['pledged_on']} · "
                  f"{ctx.money(p['outstanding'])}")
        for p in pledged if p["status"] == "active"]
    ctx.defaults.update(currency=fund["currency"], received_on=today().isoformat(),
                        method="bank_transfer")


DONATION = FormSpec(
    "donation",
    (Field("sponsor_id", "select"), Field("amount", "amount", currency_field="currency"),
     Field("currency", "select"),
     Field("credited", "amount", hint="hint_credited", **OPTIONAL),
     Field("received_on", "date"), Field("method", hint="hint_method"),
     Field("reference", **OPTIONAL), Field("pledge_id", "select", **OPTIONAL)),
    models.DonationIn,
    lambda v, ctx: {
        "sponsor_id": v["sponsor_id"], "amount": money_in(v["amount"], v["currency"]),
        "credited": money_in(v["credited"], ctx.currency) if v["credited"] else None,
        "received_on": v["received_on"], "method": v["method"], "reference": v["reference"],
        "pledge_id": or_none(v["pledge_id"])},
    donations.record_donation,
    lambda r, ctx: _fund_page(r, ctx, "donation"),
    _prepare_donation,
)

REVERSE = _reasoned("reverse", "reversed_on", models.ReverseIn, donations.reverse_donation,
                    _with_fund("available"))

# ---- allocations and awards ----------------------------------------------------------------

ALLOCATE = FormSpec(
    "allocate",
    (Field("name", hint="hint_round"), Field("amount", "amount"),
     Field("allocated_on", "date", **OPTIONAL)),
    models.AllocationIn,
    lambda v, ctx: {"name": v["name"], "amount": money_in(v["amount"], ctx.currency),
                    "allocated_on": or_none(v["allocated_on"])},
    allocations.allocate,
    lambda r, ctx: _fund_page(r, ctx, "allocate"),
    _with_fund("available"),
)

RELEASE = FormSpec(
    "release",
    (Field("amount", "amount"), Field("reason"), Field("released_on", "date", **OPTIONAL)),
    models.ReleaseIn,
    lambda v, ctx: {"amount": money_in(v["amount"], ctx.currency), "reason": v["reason"],
                    "released_on": or_none(v["released_on"])},
    allocations.release_allocation,
    lambda r, ctx: _fund_page(r, ctx, "release"),
    _with_fund("allocated_unspent"),
)


def _prepare_award(ctx: Context) -> None:
    _fund(ctx, "allocated_unspent")
    rounds = ctx.runtime.read_models.award_register(ctx.params["code"])["rounds"]
    ctx.options["allocation_id"] = [
        (r["allocation_id"], f"{r['name']} · {ctx.money(r['remainder'])}") for r in rounds]


AWARD = FormSpec(
    "award",
    (Field("allocation_id", "select"), Field("recipient_name"), Field("recipient_school"),
     Field("recipient_grade", **OPTIONAL), Field("recipient_category", **OPTIONAL),
     Field("amount", "amount"), Field("granted_on", "date", **OPTIONAL)),
    models.AwardIn,
    lambda v, ctx: {
        "allocation_id": v["allocation_id"], "amount": money_in(v["amount"], ctx.currency),
        "recipient": {"name": v["recipient_name"], "school": v["recipient_school"],
                      "grade": v["recipient_grade"], "category": v["recipient_category"]},
        "granted_on": or_none(v["granted_on"])},
    awards.grant_award,
    lambda r, ctx: _fund_page(r, ctx, "award"),
    _prepare_award,
)

REVOKE = _reasoned("revoke", "revoked_on", models.RevokeIn, awards.revoke_award,
                   _with_award("granted", "disbursed"))


def _prepare_disburse(ctx: Context) -> None:
    _fund(ctx, "cash")
    _award(ctx, "granted", "disbursed", "outstanding")
    ctx.defaults.update(paid_on=today().isoformat(), method="bank_transfer")


DISBURSE = FormSpec(
    "disburse",
    (Field("amount", "amount"), Field("paid_on", "date"), Field("method", hint="hint_method"),
     Field("reference", **OPTIONAL)),
    models.DisbursementIn,
    lambda v, ctx: {"amount": money_in(v["amount"], ctx.currency), "paid_on": v["paid_on"],
                    "method": v["method"], "reference": v["reference"]},
    awards.disburse_award,
    lambda r, ctx: _fund_page(r, ctx, "disburse"),
    _prepare_disburse,
)

RETURN = FormSpec(
    "return",
    (Field("amount", "amount"), Field("returned_on", "date"), Field("reason")),
    models.ReturnIn,
    lambda v, ctx: {"amount": money_in(v["amount"], ctx.currency),
                    "returned_on": v["returned_on"], "reason": v["reason"]},
    awards.record_return,
    lambda r, ctx: _fund_page(r, ctx, "return"),
    _with_award("disbursed", "returned"),
)

# ---- transfers -----------------------------------------------------------------------------


def _prepare_transfer(ctx: Context) -> None:
    listed = ctx.runtime.read_models.funds()
    ctx.found["currencies"] = {f["code"]: f["currency"] for f in listed}
    choices = [(f["code"], f"{f['code']} — {f['name']} ({f['currency']})") for f in listed
               if not f["closed"]]
    ctx.options["from_fund"] = ctx.options["to_fund"] = choices
    ctx.currency = ""


TRANSFER = FormSpec(
    "transfer",
    (Field("from_fund", "select"), Field("to_fund", "select"), Field("amount", "amount"),
     Field("reason"), Field("transferred_on", "date", **OPTIONAL)),
    models.TransferIn,
    lambda v, ctx: {
        "from_fund": v["from_fund"], "to_fund": v["to_fund"],
        "amount": money_in(v["amount"], ctx.found["currencies"].get(v["from_fund"], "VND")),
        "reason": v["reason"], "transferred_on": or_none(v["transferred_on"])},
    transfers.transfer,
    lambda r, ctx: f"/web/funds/{r['from_fund']}?done=transfer",
    _prepare_transfer,
)

FORMS: dict[str, FormSpec] = {
    "/web/funds/new": OPEN_FUND,
    "/web/funds/{code}/close": CLOSE_FUND,
    "/web/sponsors/new": REGISTER_SPONSOR,
    "/web/funds/{code}/pledges/new": PLEDGE,
    "/web/funds/{code}/pledges/{pledge_id}/cancel": CANCEL_PLEDGE,
    "/web/funds/{code}/donations/new": DONATION,
    "/web/funds/{code}/donations/{donation_id}/reverse": REVERSE,
    "/web/funds/{code}/allocations/new": ALLOCATE,
    "/web/funds/{code}/allocations/{allocation_id}/release": RELEASE,
    "/web/funds/{code}/awards/new": AWARD,
    "/web/funds/{code}/awards/{award_id}/revoke": REVOKE,
    "/web/funds/{code}/awards/{award_id}/disburse": DISBURSE,
    "/web/funds/{code}/awards/{award_id}/return": RETURN,
    "/web/transfers/new": TRANSFER,
}
#: what a page may say was just recorded (`?done=`)
DONE = frozenset(spec.title for spec in FORMS.values())

for _path, _spec in FORMS.items():
    add_form(router, _path, _spec)
