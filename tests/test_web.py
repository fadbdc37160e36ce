"""The web pages through TestClient (memory): signing in and out with an API key, the
session cookie, the roles exactly as the API enforces them (a sponsor sees only its own
page and statements, anything else is 404), what each reading page shows, and that pages
fetch nothing from elsewhere and run no script."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from test_api_support import Api, Side, build_side, money
from test_web_support import Reader, inputs, reader_for, text

pytest_plugins = ["test_web_support"]

TEMPLATES = Path(__file__).parent.parent / "api" / "web" / "templates"


# ---- signing in ---------------------------------------------------------------------------


def test_a_page_without_a_session_sends_the_reader_to_sign_in_and_back(web: Api):
    reader = reader_for(web, None)
    r = reader.get("/web/funds/FA")
    assert r.status_code == 303
    assert r.headers["location"] == "/web/sign-in?next=/web/funds/FA"
    assert reader.get("/").headers["location"] == "/web"
    key = web.add_user("Tran Thi Mai", "treasurer")
    signed = reader.sign_in(key, "/web/funds/FA")
    assert signed.status_code == 303 and signed.headers["location"] == "/web/funds/FA"


def test_the_session_cookie_is_http_only_strict_and_limited_to_the_pages(web: Api):
    reader = reader_for(web, None)
    signed = reader.sign_in(web.add_user("Tran Thi Mai", "treasurer"))
    cookie = next(c for c in signed.headers.get_list("set-cookie")
                  if c.startswith("ledger_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/web" in cookie
    # over plain HTTP (the test server) it cannot be Secure, or no browser would send it
    assert "Secure" not in cookie
    assert reader.get("/web").headers["location"] == "/web/funds"


def test_a_bad_key_is_refused_on_the_form_and_never_shown_back(web: Api):
    reader = reader_for(web, None)
    r = reader.sign_in("lk_" + "x" * 43)
    assert r.status_code == 401
    assert "malformed, unknown or revoked" in text(r.text)
    assert "x" * 43 not in r.text
    assert reader.get("/web/funds").status_code == 303


def test_signing_in_from_a_form_this_site_did_not_serve_is_refused(web: Api):
    reader = reader_for(web, None)
    key = web.add_user("Tran Thi Mai", "treasurer")
    r = reader.http.post("/web/sign-in", data={"key": key, "nonce": "forged"},
                         follow_redirects=False)
    assert r.status_code == 403
    assert "ledger_session" not in r.headers.get("set-cookie", "")


def test_signing_out_ends_the_session_and_needs_the_session_token(treasurer: Reader):
    assert treasurer.http.post("/web/sign-out", data={"csrf": "nope"},
                               follow_redirects=False).status_code == 403
    assert treasurer.get("/web/funds").status_code == 200
    out = treasurer.http.post("/web/sign-out", data={"csrf": treasurer.csrf()},
                              follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/web/sign-in"
    assert treasurer.get("/web/funds").status_code == 303


def test_a_revoked_key_ends_its_sessions_at_once(web: Api, treasurer: Reader):
    assert treasurer.get("/web/funds").status_code == 200
    name = next(n for n, k in web.keys.items() if k == treasurer.key)
    web.app.state.runtime.users.revoke(name)
    r = treasurer.get("/web/funds")
    assert r.status_code == 303 and r.headers["location"].startswith("/web/sign-in")


# ---- roles --------------------------------------------------------------------------------


def test_an_auditor_reads_every_page_but_is_shown_no_form_and_refused_every_write(
        web: Api, side: Side):
    auditor = reader_for(web, "auditor")
    for path in ("/web/funds", "/web/funds/FA", "/web/funds/FA/history", "/web/sponsors",
                 f"/web/sponsors/{side.sponsor}"):
        r = auditor.get(path)
        assert r.status_code == 200, path
        assert "/donations/new" not in r.text and "/awards/new" not in r.text
    form = auditor.get("/web/funds/FA/donations/new")
    assert form.status_code == 403
    assert "treasurer" in text(form.text)
    before = web.events()
    posted = auditor.http.post("/web/funds/FA/allocations/new", data={
        "csrf": auditor.csrf(), "name": "round", "amount": "1000"})
    assert posted.status_code == 403 and web.events() == before


def test_a_sponsor_sees_its_own_page_and_nothing_else_exists(web: Api, side: Side):
    other = build_side(web, "BIDV Da Nang", "FB")
    sponsor = reader_for(web, "sponsor", side.sponsor)
    home = sponsor.get("/web")
    assert home.headers["location"] == f"/web/sponsors/{side.sponsor}"
    own = sponsor.get(home.headers["location"])
    assert own.status_code == 200 and "Vietcombank Da Nang" in text(own.text)
    for path in (f"/web/sponsors/{other.sponsor}", f"/web/sponsors/{other.sponsor}/statement",
                 "/web/funds", "/web/funds/FA", "/web/funds/FB/history", "/web/sponsors",
                 "/web/funds/FA/donations/new", "/web/imports/donations",
                 "/web/transfers/new"):
        r = sponsor.get(path)
        assert r.status_code == 404, path
        assert "BIDV" not in r.text
    assert "HTTP 404" in text(sponsor.get(f"/web/sponsors/{other.sponsor}").text)
    before = web.events()
    r = sponsor.http.post("/web/funds/FA/donations/new", data={
        "csrf": inputs(own.text)["csrf"], "sponsor_id": side.sponsor, "amount": "5",
        "received_on": "2025-09-01", "method": "cash"})
    assert r.status_code == 404 and web.events() == before


def test_a_sponsor_page_never_names_a_student(web: Api, side: Side):
    sponsor = reader_for(web, "sponsor", side.sponsor)
    page = sponsor.get(f"/web/sponsors/{side.sponsor}").text
    assert "Nguyen Thi Lan" not in page and "Le Quy Don" not in page
    treasurer = reader_for(web, "treasurer")
    assert "Nguyen Thi Lan" in treasurer.get("/web/funds/FA").text


@pytest.mark.parametrize(("fmt", "media", "magic"), [
    ("pdf", "application/pdf", b"%PDF"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
    ("csv", "text/csv", b"\xef\xbb\xbf"),
])
def test_a_sponsor_downloads_its_statement_in_each_format_and_language(
        web: Api, side: Side, fmt: str, media: str, magic: bytes):
    sponsor = reader_for(web, "sponsor", side.sponsor)
    for lang in ("vi", "en"):
        r = sponsor.get(f"/web/sponsors/{side.sponsor}/statement?format={fmt}&lang={lang}"
                        "&from=2025-01-01&to=2025-12-31")
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(media)
        assert "attachment" in r.headers["content-disposition"]
        assert r.content.startswith(magic)
    if fmt == "csv":
        assert "Nguyen Thi Lan" not in r.content.decode("utf-8-sig")
        assert "N.T.L." in r.content.decode("utf-8-sig")


def test_a_gift_on_the_earliest_day_kept_leaves_every_download_link_working(
        web: Api, side: Side):
    """The ledger keeps effective dates from 1900-01-01, where statements can start too:
    the page's links and form start at a sponsor's first gift, and each link works."""
    for day in ("0001-01-01", "1899-12-31"):
        r = web.post("/v1/funds/FA/donations", {
            "sponsor_id": side.sponsor, "amount": money("1000"), "received_on": day,
            "method": "cash"})
        assert r.status_code == 422 and "1900-01-01" in r.json()["detail"], r.text
    r = web.post("/v1/funds/FA/donations", {
        "sponsor_id": side.sponsor, "amount": money("1000"), "received_on": "1900-01-01",
        "method": "cash"})
    assert r.status_code == 201, r.text
    sponsor = reader_for(web, "sponsor", side.sponsor)
    page = sponsor.get(f"/web/sponsors/{side.sponsor}").text
    links = [unescape(h) for h in re.findall(r'href="([^"]*/statement\?[^"]*)"', page)]
    assert len(links) == 6 and all(link.endswith("&from=1900-01-01") for link in links)
    assert inputs(page)["from"] == "1900-01-01"
    for link in links:
        assert sponsor.get(link).status_code == 200, link
    statement = web.get(f"/v1/sponsors/{side.sponsor}/statement?from=1900-01-02").json()
    assert statement["totals"][0]["opening_given"] == money("1000")


def test_the_statement_form_refuses_a_bad_period_with_a_page(web: Api, side: Side):
    sponsor = reader_for(web, "sponsor", side.sponsor)
    r = sponsor.get(f"/web/sponsors/{side.sponsor}/statement?format=pdf&from=2025-12-31"
                    "&to=2025-01-01")
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert "on or before" in text(r.text)
    assert sponsor.get(f"/web/sponsors/{side.sponsor}/statement?format=exe").status_code == 422


def test_an_admin_is_told_that_users_are_managed_on_the_command_line(web: Api):
    admin = reader_for(web, "admin")
    page = admin.http.get("/web")
    assert page.status_code == 200 and "ledger users add" in page.text
    assert admin.get("/web/funds").status_code == 403


# ---- what the pages show ------------------------------------------------------------------


def test_the_funds_list_shows_every_fund_with_its_figures_and_their_totals(
        web: Api, side: Side, treasurer: Reader):
    build_side(web, "BIDV Da Nang", "FB")
    page = text(treasurer.get("/web/funds").text)
    assert "FA" in page and "FB" in page
    # build_side: received 10,100,000, cash 9,900,000, available 5,100,000 in each fund
    assert "VND 10,100,000" in page and "VND 9,900,000" in page and "VND 5,100,000" in page
    assert "Total VND 20,200,000 VND 19,800,000" in page


def test_the_fund_page_shows_figures_months_pledges_gifts_rounds_and_awards(
        web: Api, side: Side, treasurer: Reader):
    page = text(treasurer.get("/web/funds/FA").text)
    for shown in ("Received (net) VND 10,100,000", "Available VND 5,100,000",
                  "Pledges outstanding VND 3,000,000", "2025-09",
                  "Vietcombank Da Nang", "VND 3,000,000", "cash",
                  "2025-2026 school year", "Nguyen Thi Lan", "Le Quy Don", "History"):
        assert shown in page, shown
    html = treasurer.get("/web/funds/FA").text
    assert f"/web/funds/FA/donations/{side.donation}/reverse" in html
    assert f"/web/funds/FA/awards/{side.award}/disburse" in html
    assert f"/web/funds/FA/pledges/{side.pledge}/cancel" in html


def test_the_history_pages_through_every_event_with_its_hash(
        web: Api, side: Side, treasurer: Reader):
    events = web.get("/v1/funds/FA/events?limit=1000").json()["events"]
    first = treasurer.get("/web/funds/FA/history?after=0&limit=3")
    assert first.status_code == 200
    assert [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', first.text)] == [1, 2, 3]
    assert events[0]["hash"][:12] in first.text
    assert 'href="?after=3&amp;limit=3" rel="next"' in first.text
    last = treasurer.get(f"/web/funds/FA/history?after={len(events) - 2}&limit=3")
    assert 'rel="next"' not in last.text
    assert f'href="?after={len(events) - 5}&amp;limit=3" rel="prev"' in last.text
    assert treasurer.get("/web/funds/FA/history?after=-1").status_code == 422
    assert treasurer.get("/web/funds/FA/history?limit=5000").status_code == 422
    assert treasurer.get("/web/funds/NOPE/history").status_code == 404


def test_the_sponsors_list_and_a_sponsor_page_show_pledges_and_gifts(
        web: Api, side: Side, treasurer: Reader):
    assert "Vietcombank Da Nang" in text(treasurer.get("/web/sponsors").text)
    page = text(treasurer.get(f"/web/sponsors/{side.sponsor}").text)
    assert "Given (net) VND 10,100,000" in page
    assert "VND 3,000,000" in page  # the pledge
    assert "PDF · VI" in page and "XLSX · EN" in page


def test_amounts_and_labels_follow_the_chosen_language(web: Api, side: Side,
                                                       treasurer: Reader):
    switched = treasurer.get("/web/lang/vi?next=/web/funds/FA")
    assert switched.headers["location"] == "/web/funds/FA"
    page = text(treasurer.get("/web/funds/FA").text)
    assert "Khả dụng 5.100.000 ₫" in page and "Tồn quỹ" in page
    assert "01/09/2025" in page  # the gift's date, as the statements write it
    assert treasurer.get("/web/lang/xx?next=//evil.example").headers["location"] == "/web"


def test_an_unknown_fund_or_malformed_id_is_a_page_not_a_500(web: Api, treasurer: Reader):
    for path, status in (("/web/funds/NOPE", 404), ("/web/sponsors/not-a-uuid", 422),
                         (f"/web/sponsors/{money('1')['amount']}", 422),
                         ("/web/funds/FA/donations/not-a-uuid/reverse", 404),
                         ("/web/funds/NOPE/donations/new", 404),
                         ("/web/static/../app.py", 404)):
        r = treasurer.get(path)
        assert r.status_code == status, (path, r.status_code)
        assert r.headers["content-type"].startswith("text/html")


def test_pages_run_no_script_and_fetch_nothing_from_elsewhere(web: Api, side: Side,
                                                              treasurer: Reader):
    for path in ("/web/funds", "/web/funds/FA", "/web/funds/FA/donations/new",
                 "/web/imports/donations", "/web/sign-in"):
        r = treasurer.get(path)
        assert "<script" not in r.text.lower()
        assert not re.search(r'(src|href)="(https?:)?//', r.text), path
        assert "script-src" not in r.headers["content-security-policy"]
        assert "default-src 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["cache-control"] == "no-store"
    css = treasurer.get("/web/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "url(" not in css.text and "@import" not in css.text


def test_the_pages_are_not_part_of_the_api_schema(web: Api):
    assert not [p for p in web.http.get("/openapi.json").json()["paths"]
                if p == "/" or p.startswith("/web")]


def test_every_label_the_pages_use_exists_in_both_languages():
    from api.web.labels import label
    from api.web.writes import FORMS
    from ledger.domain.sponsor import SPONSOR_KINDS
    from ledger.users import ROLES

    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([a-z_]+)'", template.read_text()))
    for source in TEMPLATES.parent.glob("*.py"):
        used |= set(re.findall(r'label\("([a-z_]+)"', source.read_text()))
    used -= {"f_", "form_", "kind_", "lang_", "role_", "submit_"}  # prefixes of keys
    for spec in FORMS.values():
        used |= {f"form_{spec.title}", f"submit_{spec.submit}"}
        used |= {f"f_{f.name}" for f in spec.fields} | {f.hint for f in spec.fields if f.hint}
    used |= {f"kind_{k}" for k in SPONSOR_KINDS} | {f"role_{r}" for r in ROLES}
    used |= {"lang_vi", "lang_en", "f_file", "f_import_fund", "f_dry_run", "f_mapping"}
    for key in sorted(used):
        vi, en = label(key, "vi", n=1, seq=1, count=1, what="x", day="d"), label(
            key, "en", n=1, seq=1, count=1, what="x", day="d")
        assert vi and en, key
