"""The web pages in a real browser: Debian's Chromium driven by Playwright against a real
uvicorn on a loopback port, on SQLite and on PostgreSQL. A treasurer signs in, opens a
fund, registers a sponsor, records a donation and sees the figure change, and gets a form
error for a bad amount with nothing recorded; the sponsor signs in, sees only their own
page and downloads their PDF statement.

No browser is ever downloaded (`playwright install` is never run): scripts/setup installs
Debian's chromium. Without it these tests skip, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from conftest import ON_CI
from ledger.settings import Settings
from test_api_support import LoopbackServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
#: where to keep screenshots of the pages for a person to look at (unset: none kept)
SCREENSHOTS = os.environ.get("LEDGER_TEST_SCREENSHOTS")


def _unavailable(reason: str) -> None:
    if ON_CI:
        pytest.fail(f"browser tests must run on CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(name="browser", scope="module")
def _browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (scripts/setup installs Debian's chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(name="server")
def _server(durable_settings: Settings) -> Iterator[tuple[str, Any]]:
    """The app (API and pages) on SQLite and on PostgreSQL, served by a real uvicorn on a
    loopback port; yields its base URL and its runtime."""
    app = create_app(durable_settings)
    with LoopbackServer(app) as base:
        yield base, app.state.runtime


def shot(page: Any, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def sign_in(browser: Any, base: str, key: str) -> Any:
    context = browser.new_context(base_url=base, accept_downloads=True, locale="en-US",
                                  viewport={"width": 1280, "height": 900})
    # a page that is not there fails in seconds, not the default half minute
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/web")
    assert "/web/sign-in" in page.url
    page.fill("#key", key)
    page.click("button:has-text('Sign in')")
    return page


def figure(page: Any, name: str) -> str:
    return page.locator(f"#figures [data-figure={name}]").inner_text()


def test_a_treasurer_opens_a_fund_records_a_donation_and_sees_the_figures_move(
        browser, server, durable_settings):
    base, runtime = server
    key = runtime.users.add("Tran Thi Mai", "treasurer", None)
    page = sign_in(browser, base, key)
    assert page.url.endswith("/web/funds")

    page.get_by_role("link", name="Open a fund").click()
    page.fill("#code", "THIEN-TAM")
    page.fill("#name", "Thien Tam scholarship fund")
    page.check("#restricted")
    page.click("button:has-text('Record')")
    assert page.url.endswith("/web/funds/THIEN-TAM?done=open_fund")
    assert "Recorded: Open a fund" in page.inner_text("[role=status]")
    assert figure(page, "received_total") == "VND 0"

    page.locator("header nav").get_by_role("link", name="Sponsors").click()
    page.get_by_role("link", name="Register a sponsor").click()
    page.fill("#name", "Agribank Da Nang")
    page.select_option("#kind", "organization")
    page.click("button:has-text('Record')")
    assert page.locator("h1").inner_text() == "Agribank Da Nang"

    page.locator("header nav").get_by_role("link", name="Funds").click()
    page.get_by_role("link", name="THIEN-TAM").click()
    page.get_by_role("link", name="Record a donation").click()
    page.select_option("#sponsor_id", label="Agribank Da Nang")
    page.fill("#amount", "5000000")
    page.fill("#received_on", "2025-09-01")
    page.fill("#reference", "FT25244001")
    page.click("button:has-text('Record')")
    assert page.url.endswith("/web/funds/THIEN-TAM?done=donation")
    assert figure(page, "received_total") == "VND 5,000,000"
    assert figure(page, "available") == "VND 5,000,000"
    assert "FT25244001" in page.inner_text("#donations")
    shot(page, f"fund-{durable_settings.database_url and 'postgres' or 'sqlite'}")

    page.get_by_role("link", name="Record a donation").click()
    page.select_option("#sponsor_id", label="Agribank Da Nang")
    page.fill("#amount", "5.000.000")
    page.fill("#received_on", "2025-09-02")
    page.click("button:has-text('Record')")
    assert "An amount is digits" in page.inner_text("#amount-error")
    assert page.input_value("#amount") == "5.000.000"
    assert "Nothing was recorded" in page.inner_text("[role=alert]")
    shot(page, "form-error")
    page.goto("/web/funds/THIEN-TAM")
    assert figure(page, "received_total") == "VND 5,000,000"

    page.get_by_role("link", name="History").click()
    assert page.locator("#history tbody tr").count() == 2
    assert "DonationReceived" in page.inner_text("#history")

    page.click("button:has-text('Sign out')")
    assert "/web/sign-in" in page.url
    page.goto("/web/funds")
    assert "/web/sign-in" in page.url
    page.context.close()


def test_a_sponsor_sees_only_its_page_and_downloads_its_pdf_statement(browser, server):
    from pypdf import PdfReader

    from ledger.domain.money import Money

    base, runtime = server
    ledger = runtime.ledger
    ledger.open_fund("COTU", "Co Tu ethnic students' awards", actor="treasurer")
    sponsor = ledger.register_sponsor("Nông Thị Ngọc Minh's family", "family",
                                      actor="treasurer").result["id"]
    other = ledger.register_sponsor("BIDV Da Nang", "organization",
                                    actor="treasurer").result["id"]
    from datetime import date
    from uuid import UUID

    ledger.record_donation("COTU", UUID(sponsor), Money(80_000_000, "VND"),
                           received_on=date(2025, 9, 5), method="bank_transfer",
                           actor="treasurer")
    key = runtime.users.add("Minh family portal", "sponsor", UUID(sponsor))

    page = sign_in(browser, base, key)
    assert page.url.endswith(f"/web/sponsors/{sponsor}")
    assert "Nông Thị Ngọc Minh's family" in page.locator("h1").inner_text()
    page.wait_for_selector("text=VND 80,000,000")
    shot(page, "sponsor")
    with page.expect_download() as download:
        page.get_by_role("link", name="PDF · EN").click()
    pdf = Path(download.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    words = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "80,000,000" in words and re.search(r"Minh", words)

    for elsewhere in (f"/web/sponsors/{other}", "/web/funds", "/web/funds/COTU"):
        answer = page.goto(elsewhere)
        assert answer.status == 404, elsewhere
        assert "BIDV" not in page.content()
    page.context.close()
