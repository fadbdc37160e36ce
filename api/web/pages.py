"""The pages that read: the funds with their figures, a fund (months, pledges, gifts,
award rounds and awards), its history page by page, the sponsors, a sponsor's own page
and their statement files. Each reads the read models (or the ledger) as the API does, and
the roles are the API's: a sponsor reaches only its own page and statements."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Query, Request, Response

from api.deps import LedgerDep, ReadModelsDep
from api.problems import http_problem
from api.routers.funds import MAX_SEQ
from api.routers.sponsors import get_sponsor
from api.routers.statements import get_statement
from api.web.forms import new_router
from api.web.render import money_of, page, redirect, static_file
from api.web.session import AnyoneSession, ReaderSession, SessionDep
from api.web.writes import DONE
from ledger.application import today
from ledger.directory import sponsors as sponsor_directory
from ledger.domain.money import Money
from ledger.domain.values import iso_date
from ledger.statements.build import EARLIEST
from ledger.statements.formatting import LANGS, Lang

router = new_router()

#: gifts the fund page lists (the history has every one)
RECENT_DONATIONS = 20
#: awards the fund page lists, the latest first
RECENT_AWARDS = 100
HISTORY_PAGE = 50
#: the figures of SPEC §2, in the order the pages show them
SPEC_FIGURES = ("received_total", "cash", "allocated_unspent", "available",
                "pledged_outstanding")


@router.get("/")
def root() -> Response:
    return redirect("/web")


@router.get("/web/static/{name}")
def static(name: str) -> Response:
    return static_file(name)


@router.get("/web")
def home(request: Request, session: SessionDep) -> Response:
    principal = session.principal
    if principal.role == "sponsor":
        return redirect(f"/web/sponsors/{principal.sponsor_id}")
    if principal.role in ("treasurer", "auditor"):
        return redirect("/web/funds")
    return page(request, "admin.html")


def _totals(funds: Iterable[Mapping[str, Any]]) -> list[dict[str, Money]]:
    """The SPEC §2 figures summed over the funds, one row per currency."""
    rows: dict[str, dict[str, Money]] = {}
    for fund in funds:
        row = rows.setdefault(fund["currency"], {
            name: Money.zero(fund["currency"]) for name in SPEC_FIGURES})
        for name in SPEC_FIGURES:
            row[name] = row[name] + money_of(fund["figures"][name])
    return [rows[currency] for currency in sorted(rows)]


@router.get("/web/funds")
def funds(request: Request, session: ReaderSession, views: ReadModelsDep) -> Response:
    listed = views.funds()
    return page(request, "funds.html", funds=listed, totals=_totals(listed),
                figures=SPEC_FIGURES)


def _bars(months: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each month's cash in and out, with bar lengths in per cent of the largest."""
    flows = ("cash_in", "cash_out")
    largest = max((money_of(m[k]).minor for m in months for k in flows), default=0) or 1
    return [{**m, **{f"{k}_pct": money_of(m[k]).minor * 100 // largest for k in flows}}
            for m in months]


def _names(ledger: Any) -> dict[str, str]:
    return {s["id"]: s["name"] for s in sponsor_directory(ledger)}


@router.get("/web/funds/{code}")
def fund(
    request: Request, code: str, session: ReaderSession, views: ReadModelsDep,
    ledger: LedgerDep, done: str = "",
) -> Response:
    found = views.fund(code)
    register = views.award_register(code)
    return page(
        request, "fund.html", fund=found, figures=SPEC_FIGURES, months=_bars(found["months"]),
        sponsorship=views.fund_sponsorship(code, RECENT_DONATIONS), register=register,
        awards=register["students"][::-1][:RECENT_AWARDS], names=_names(ledger),
        done=done if done in DONE else "", history_page=HISTORY_PAGE,
    )


def _data(event: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """An event's data as (name, value) pairs, amounts as money objects."""
    data = event["data"]
    pairs: list[tuple[str, Any]] = []
    for key, value in data.items():
        if key.endswith("_currency") or key in ("code",):
            continue
        if key.endswith("_minor"):
            name = key.removesuffix("_minor")
            currency = data.get(f"{name}_currency", event["currency"])
            pairs.append((name, Money(int(value), currency)))
        elif key == "schedule":
            pairs.append((key, ", ".join(
                f"{i['due']}: {Money(int(i['amount_minor']), event['currency']).text}"
                for i in value)))
        elif isinstance(value, dict):
            pairs.append((key, ", ".join(str(v) for v in value.values() if v)))
        elif value not in (None, ""):
            pairs.append((key, value))
    return pairs


@router.get("/web/funds/{code}/history")
def history(
    request: Request, code: str, session: ReaderSession, views: ReadModelsDep,
    ledger: LedgerDep,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = HISTORY_PAGE,
) -> Response:
    found = views.fund(code)
    events = views.history(code, after, limit)
    return page(
        request, "history.html", fund=found, events=[{**e, "pairs": _data(e)} for e in events],
        names=_names(ledger), after=after, limit=limit,
        previous=max(0, after - limit) if after else None,
        next_after=events[-1]["seq"] if len(events) == limit else None,
        last_after=max(0, found["seq"] - limit),
    )


@router.get("/web/sponsors")
def sponsors(request: Request, session: ReaderSession, ledger: LedgerDep) -> Response:
    return page(request, "sponsors.html", sponsors=sponsor_directory(ledger))


@router.get("/web/sponsors/{sponsor_id}")
def sponsor(
    request: Request, sponsor_id: UUID, session: AnyoneSession, ledger: LedgerDep,
    views: ReadModelsDep, done: str = "",
) -> Response:
    # the API's own route: another sponsor's id is not found, exactly as a missing one
    found = get_sponsor(sponsor_id, session.principal, ledger)
    books = views.sponsor_ledger(sponsor_id)
    fund_names = {f["code"]: f["name"] for f in views.funds()}
    return page(request, "sponsor.html", sponsor=found, books=books, fund_names=fund_names,
                formats=("pdf", "xlsx", "csv"), langs=LANGS, since=_since(books),
                earliest=EARLIEST.isoformat(),
                done=done if done in DONE else "")


def _since(books: Mapping[str, Any]) -> str:
    """The day of the sponsor's first pledge or gift (a statement of everything to date
    starts there), but no earlier than a statement may start (a ledger written before
    effective dates were bounded may hold older ones); empty for a sponsor with neither,
    or only future ones (the statement's own default)."""
    days = [entry[key] for book in books["funds"]
            for entries, key in ((book["pledges"], "pledged_on"),
                                 (book["donations"], "received_on"))
            for entry in entries]
    first = min(days, default="")
    if not first or first > today().isoformat():
        return ""
    return max(first, EARLIEST.isoformat())


@router.get("/web/sponsors/{sponsor_id}/statement")
def statement(
    sponsor_id: UUID, session: AnyoneSession, ledger: LedgerDep,
    fmt: Annotated[Literal["pdf", "xlsx", "csv"], Query(alias="format")] = "pdf",
    lang: Lang = "vi",
    from_: Annotated[str, Query(alias="from", max_length=64)] = "",
    to: Annotated[str, Query(max_length=64)] = "",
) -> Any:
    # an empty date field of the form means the API's default
    start = iso_date("from", from_) if from_ else None
    end = iso_date("to", to) if to else None
    return get_statement(sponsor_id, session.principal, ledger, start, end, fmt, lang)


@router.api_route("/web/{rest:path}", methods=["GET", "HEAD", "POST"])
def not_found(rest: str) -> Response:
    # last of the pages: any other path under /web is a page saying so, not JSON
    raise http_problem(404, "no such page")
