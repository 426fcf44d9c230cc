"""The task module in a real headless Chromium (Debian's `chromium`, driven by Playwright):
the issue's acceptance scenario, end to end over HTTP.

1. An online client's company user logs in, sees two release tasks in the inbox, opens
   one (the original's page image and the boxes of the fields read are visible), goes
   back and releases both at once: both bookings appear in `GET /api/v1/bookings`.
2. Staff open an offline client's review task, correct the total and the account, and
   post: the booking has the corrected values and `corrected_by`.
3. The next invoice of that supplier is posted with the learned account and no task.

Screenshots of the inbox and the task page are kept in `test-artifacts/`.
"""

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from domain.settings import Settings
from ingest.api import run_http_in_thread
from storage.db import Database
from storage.objects import FilesystemObjectStore
from tests.test_web import browser  # noqa: F401 - the fixture: Debian's headless chromium
from tests.workspace_helpers import Firm, gloor_invoice, keller_invoice, make_firm
from web.app import create_app

pytestmark = [pytest.mark.chromium, pytest.mark.http, pytest.mark.timeout(240)]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
HANS = {"Authorization": "Bearer token-hans"}
STAFF = {"Authorization": "Bearer staff-token-anna"}


@dataclass
class Site:
    base: str
    firm: Firm


@pytest.fixture
def site(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> Iterator[Site]:
    settings = settings.model_copy(update={"http_port": 0})
    firm = make_firm(sqlite_db, fs_store, settings)
    app = create_app(sqlite_db, fs_store, settings, None)
    ready = threading.Event()
    handle = run_http_in_thread(app, settings, ready)
    assert ready.wait(30)
    try:
        yield Site(f"http://127.0.0.1:{handle.port}", firm)
    finally:
        handle.stop()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/tasks")
    assert "/login" in page.url  # not logged in: sent to the login page, and back after
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', f"{username}-pw-123456")
    page.click('button[type="submit"]')
    page.wait_for_url(f"{base}/tasks")


def _watch(page) -> list[str]:  # type: ignore[no-untyped-def]
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def test_release_correct_and_learn_in_chromium(site: Site, browser) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    firm = site.firm
    first = firm.deliver("C01", gloor_invoice("C01", 1), "Gloor RE-1.pdf")
    second = firm.deliver("C01", gloor_invoice("C01", 3), "Gloor RE-2.pdf")
    review_doc = firm.deliver("C02", keller_invoice("K-1001", "540.50"), "Keller K-1001.pdf")
    releases = [firm.tasks(d)["release_invoice"].id for d in (first, second)]
    review = firm.tasks(review_doc)["review_document"]
    assert review.assignee == "fiduciary"

    # --- 1. the online client's user releases two invoices at once -------------------
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="de-CH")
    page = context.new_page()
    errors = _watch(page)
    _login(page, site.base, "hans")
    rows = page.locator('[data-testid="task-row"]')
    expect(rows).to_have_count(2)
    expect(page.locator('[data-testid="tasks"]')).to_contain_text("Rechnung freigeben")
    _shot(page, "inbox-client")

    page.click(f'[data-testid="open-{releases[0]}"]')
    page.wait_for_url(f"**/tasks/{releases[0]}")
    image = page.locator('[data-testid="page-image"]').first
    expect(image).to_be_visible()
    # The page image really was drawn (a broken image has no natural width).
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-testid=page-image]');"
        " return i && i.complete && i.naturalWidth > 400; }"
    )
    boxes = page.locator(".fbox.placed")
    assert boxes.count() >= 3
    expect(page.locator('[data-testid="box-total"]')).to_be_visible()
    box = page.locator('[data-testid="box-total"]').bounding_box()
    sheet = page.locator(".sheet").first.bounding_box()
    assert box is not None and sheet is not None
    assert sheet["x"] <= box["x"] < box["x"] + box["width"] <= sheet["x"] + sheet["width"] + 1
    assert box["width"] > 5 and box["height"] > 3  # a box on the page, not a dot
    expect(page.locator('[data-testid="field-total"]')).to_contain_text("%")
    expect(page.locator('[data-testid="source-total"]')).to_be_visible()
    _shot(page, "task-page-release")
    # The keyboard: j goes on to the next task of the inbox, k back.
    page.keyboard.press("j")
    page.wait_for_url(f"**/tasks/{releases[1]}")
    page.keyboard.press("k")
    page.wait_for_url(f"**/tasks/{releases[0]}")

    page.click('[data-testid="back"]')
    page.wait_for_url(f"{site.base}/tasks")
    page.check('[data-testid="select-all"]')
    page.click('[data-testid="release-selected"]')
    results = page.locator('[data-testid="results"] li.ok')
    expect(results).to_have_count(2)
    expect(page.locator('[data-testid="task-row"]')).to_have_count(0)
    assert errors == [], errors
    context.close()

    posted = httpx.get(f"{site.base}/api/v1/bookings", headers=HANS).json()
    assert {b["document_id"] for b in posted} == {first, second}
    assert all(b["status"] == "posted" for b in posted)

    # --- 2. staff correct total and account on the offline client's review task -------
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="de-CH")
    page = context.new_page()
    errors = _watch(page)
    _login(page, site.base, "anna")
    expect(page.locator('[data-testid="counts"]')).to_contain_text("C02")
    _shot(page, "inbox-staff")
    page.click(f'[data-testid="open-{review.id}"]')
    page.wait_for_url(f"**/tasks/{review.id}")
    expect(page.locator('[data-testid="page-image"]').first).to_be_visible()
    expect(page.locator('[data-testid="why"]')).to_contain_text("nothing on the document")
    page.fill('[data-testid="f-total"]', "545.50")
    page.fill('[data-testid="f-account"]', "6530")
    _shot(page, "task-page-review")
    page.click('[data-testid="complete"]')
    page.wait_for_url(f"{site.base}/tasks?**")
    expect(page.locator('[data-testid="flash"]')).to_be_visible()
    page.goto(f"{site.base}/tasks/{review.id}")
    expect(page.locator('[data-testid="history"]')).to_contain_text("545.50")
    _shot(page, "task-page-after-correction")
    assert errors == [], errors
    context.close()

    booking = next(
        b
        for b in httpx.get(f"{site.base}/api/v1/bookings", headers=STAFF).json()
        if b["document_id"] == review_doc
    )
    assert booking["corrected_by"] == "anna"
    credit = sum(Decimal(line["credit"]) for line in booking["lines"])
    assert credit == Decimal("545.50")
    assert "6530" in {line["account"] for line in booking["lines"]}
    history = httpx.get(f"{site.base}/api/v1/documents/{review_doc}", headers=STAFF).json()
    corrected = {h["field"]: h for h in history["history"] if h["action"] == "corrected"}
    assert corrected["total"]["before"] == "540.50" and corrected["total"]["after"] == "545.50"

    # --- 3. the next invoice of that supplier posts with the learned account ----------
    following = firm.deliver("C02", keller_invoice("K-1002", "120.00"), "Keller K-1002.pdf")
    assert firm.tasks(following) == {}
    again = firm.booking(following)
    assert again.status == "posted"
    assert "6530" in {line.account for line in again.lines}
