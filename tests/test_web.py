"""The upload page in a real headless Chromium (Debian's `chromium`, driven by Playwright).

A company user logs in, uploads two files through the file chooser and one by drag and
drop, sees them listed as received, and — without reloading — sees their state change to
processed while the real pipeline (`flows.pipeline.process_one`) works on them. An offline
client's user gets the refusal page. Nothing is downloaded at run time.
"""

import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from domain.settings import Settings
from ingest.api import create_app, run_http_in_thread
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import DocumentRow
from tests.factories import firm_with_passwords, load
from tests.intake_helpers import invoice_pdf

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.http,
    pytest.mark.prefect,
    pytest.mark.xdist_group("prefect"),
    pytest.mark.timeout(180),
]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    base: str
    db: Database
    gate: threading.Event  # processing waits for it, so the test sees "received" first


@pytest.fixture
def site(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings, prefect_harness
) -> Iterator[Site]:
    from flows.pipeline import process_one
    from flows.runtime import Runtime, set_runtime

    load(sqlite_db, firm_with_passwords())
    settings = settings.model_copy(update={"http_port": 0})
    set_runtime(Runtime(settings=settings, db=sqlite_db, store=fs_store))
    gate = threading.Event()
    pool = ThreadPoolExecutor(2, thread_name_prefix="test-processing")

    def request_processing(document_id: int) -> None:
        def job() -> None:
            gate.wait(60)
            process_one(document_id)

        pool.submit(job)

    app = create_app(sqlite_db, fs_store, settings, request_processing)
    ready = threading.Event()
    handle = run_http_in_thread(app, settings, ready)
    assert ready.wait(30)
    try:
        yield Site(f"http://127.0.0.1:{handle.port}", sqlite_db, gate)
    finally:
        gate.set()
        handle.stop()
        pool.shutdown(wait=True)
        set_runtime(None)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (./test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _screenshot(page, name: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # FIDUFLOW_SCREENSHOTS=dir keeps them for a human to look at; otherwise tmp_path.
    folder = Path(os.environ.get("FIDUFLOW_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str, password: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/upload")
    assert "/login" in page.url  # not logged in: sent to the login page
    page.fill('input[name="username"]', username)
    page.fill('input[name="password"]', password)
    page.click('button[type="submit"]')
    page.wait_for_load_state()


def test_upload_page_in_chromium(site: Site, browser, tmp_path: Path):  # type: ignore[no-untyped-def]
    first, second = tmp_path / "Rechnung 2026-101.pdf", tmp_path / "Rechnung 2026-102.pdf"
    first.write_bytes(invoice_pdf("2026-101"))
    second.write_bytes(invoice_pdf("2026-102", total="215.40"))
    dropped = invoice_pdf("2026-103", total="42.00")

    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="de-CH")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    _login(page, site.base, "hans", "hans-pw-123456")
    assert page.url.endswith("/upload")
    page.wait_for_selector("text=Belege hochladen")
    page.click('label.segment:has(input[value="expense"])')

    # Two files at once through the file chooser …
    page.set_input_files("#file-input", [str(first), str(second)])
    # … and one dropped onto the zone (a real DataTransfer drop event).
    page.evaluate(
        """([bytes, name]) => {
            const transfer = new DataTransfer();
            transfer.items.add(new File([new Uint8Array(bytes)], name, {type: "application/pdf"}));
            document.getElementById("dropzone").dispatchEvent(
                new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [list(dropped), "Rechnung 2026-103.pdf"],
    )
    # Locators, not wait_for_function: the page's CSP (rightly) forbids eval.
    expect(page.locator("#queue li.done")).to_have_count(3, timeout=20_000)

    # Listed, still "received": processing waits for the gate.
    received = page.locator('tr[data-id][data-state="received"]')
    expect(received).to_have_count(3, timeout=10_000)
    names = page.locator("td.file").all_inner_texts()
    assert any(n.startswith("Rechnung 2026-101.pdf") for n in names)
    assert any(n.startswith("Rechnung 2026-103.pdf") for n in names)
    expect(received.first.locator(".badge")).to_have_text("Eingegangen")
    _screenshot(page, "upload-received", tmp_path)

    # Processing runs; the table follows by itself (no reload).
    site.gate.set()
    routed = page.locator('tr[data-id][data-state="routed"]')
    expect(routed).to_have_count(3, timeout=60_000)
    assert set(routed.locator(".badge").all_inner_texts()) == {"Verarbeitet"}
    _screenshot(page, "upload-routed", tmp_path)
    assert errors == []

    with site.db.session() as session:
        documents = session.scalars(select(DocumentRow).order_by(DocumentRow.id)).all()
        assert len(documents) == 3
        for document in documents:
            assert document.client_id == "C01"
            assert document.channel == "web"
            assert document.document_class == "expense"
            assert document.submitted_by == "hans"
            assert document.state == "routed"
    context.close()


def test_offline_clients_user_sees_why_there_is_no_web_upload(site: Site, browser, tmp_path: Path):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 420, "height": 800})
    page = context.new_page()
    _login(page, site.base, "fritz", "fritz-pw-123456")
    refusal = page.wait_for_selector('[data-testid="refusal"]')
    assert "Offline-Kunde" in refusal.inner_text()
    assert "brot-a81c2e@in.treuhand.example" in refusal.inner_text()
    response = page.request.get(f"{site.base}/upload")
    assert response.status == 403
    _screenshot(page, "upload-offline", tmp_path)
    # Logging out ends the session.
    page.click('[data-testid="logout"]')
    page.wait_for_url("**/login")
    context.close()
