"""HTTP hardening over a real loopback socket: ids beyond the database's integers, the
web upload's file limit, links that a forged Host header cannot bend, and /docs without
a CDN."""

import logging
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from domain.settings import Settings
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import DocumentRow
from tests import test_web
from tests.factories import firm_with_passwords, load
from tests.intake_helpers import pdf_bytes
from tests.test_api import ANNA, HANS, Api, _csrf, _login, _objects_of, _serve

pytestmark = [pytest.mark.http, pytest.mark.timeout(120)]

browser = test_web.browser  # Debian's headless chromium, as the upload page's test uses it


@pytest.fixture
def api(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Api]:
    """On SQLite and PostgreSQL: what an id does in a query is the database's business."""
    load(db, firm_with_passwords())
    yield from _serve(db, fs_store, settings)


@pytest.fixture
def web_api(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> Iterator[Api]:
    load(sqlite_db, firm_with_passwords())
    yield from _serve(sqlite_db, fs_store, settings)


# --- ids beyond what an id column holds ----------------------------------------------

# Ids are INTEGER columns (32-bit in PostgreSQL); SQLite takes 64 bits, then overflows.
LARGEST_ID = 2**31 - 1

_ID_ROUTES = [
    ("GET", "/api/v1/documents/{}"),
    ("GET", "/api/v1/documents/{}/original"),
    ("GET", "/api/v1/tasks/{}"),
    ("POST", "/api/v1/tasks/{}/complete"),
    ("GET", "/api/v1/bookings/{}"),
]


def test_ids_no_column_holds_answer_422_without_a_traceback(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with api.client() as http:
        for method, route in _ID_ROUTES:
            for huge in (LARGEST_ID + 1, 2**63, 2**64, 10**30):
                response = http.request(method, route.format(huge), headers=ANNA)
                assert response.status_code == 422, (route, huge, response.text)
                assert "id" in response.json()["detail"], response.json()
            # The largest id the database holds is an id like any other: not found.
            largest = http.request(method, route.format(LARGEST_ID), headers=ANNA)
            assert largest.status_code == 404, (route, largest.text)
            assert http.request(method, route.format(0), headers=ANNA).status_code == 422
        documents, bookings = "/api/v1/documents", "/api/v1/bookings"
        assert http.get(documents, headers=ANNA, params={"before": LARGEST_ID}).status_code == 200
        assert http.get(documents, headers=ANNA, params={"before": 2**63}).status_code == 422
        assert http.get(bookings, headers=ANNA, params={"after": 2**63 - 1}).status_code == 200
        assert http.get(bookings, headers=ANNA, params={"after": 2**64}).status_code == 422
    problems = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert problems == [], [r.getMessage() for r in problems]


def _bounded(schema: dict) -> bool:
    """A number id no column overflows on; a text id (a supplier's) of bounded length."""
    if schema.get("type") == "string":
        return 0 < schema.get("maxLength", 0) <= 200
    return schema.get("maximum") == LARGEST_ID


def test_every_id_in_a_path_is_bounded(web_api: Api) -> None:
    """New routes too: an `{…_id}` without `ObjectId` (ingest.api) would 500 again."""
    with web_api.client() as http:
        schema = http.get("/openapi.json").json()
    unbounded = [
        (path, parameter["name"])
        for path, operations in schema["paths"].items()
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path"
        and parameter["name"].endswith("_id")
        and not _bounded(parameter["schema"])
    ]
    assert unbounded == []
    assert any("{document_id}" in path for path in schema["paths"])


# --- links a forged Host header cannot bend -------------------------------------------


def test_document_url_ignores_a_forged_host_header(web_api: Api) -> None:
    objects = _objects_of(web_api, "C01")
    forged = {**HANS, "Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    with web_api.client() as http:
        one = http.get(f"/api/v1/bookings/{objects.booking}", headers=forged)
        listed = http.get("/api/v1/bookings", headers=forged)
    assert one.status_code == 200, one.text
    expected = f"/api/v1/documents/{objects.document}"
    assert one.json()["document_url"] == expected  # relative: FIDUFLOW_PUBLIC_URL is unset
    assert [b["document_url"] for b in listed.json()] == [expected]
    assert "evil.example" not in one.text + listed.text


def test_document_url_uses_the_public_url_when_set(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> None:
    load(sqlite_db, firm_with_passwords())
    configured = settings.model_copy(update={"public_url": "https://fidu.example/"})
    for served in _serve(sqlite_db, fs_store, configured):
        objects = _objects_of(served, "C01")
        with served.client() as http:
            booking = http.get(
                f"/api/v1/bookings/{objects.booking}", headers={**HANS, "Host": "evil.example"}
            ).json()
        assert booking["document_url"] == (
            f"https://fidu.example/api/v1/documents/{objects.document}"
        )


# --- the web upload takes every file or says why not ----------------------------------


def _files(count: int, tag: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [
        ("files", (f"{tag}-{i}.pdf", pdf_bytes(f"{tag}-{i}"), "application/pdf"))
        for i in range(count)
    ]


def _document_count(api: Api) -> int:
    with api.db.session() as session:
        return session.scalar(select(func.count()).select_from(DocumentRow)) or 0


def test_web_upload_takes_twenty_files_and_refuses_more_visibly(web_api: Api) -> None:
    with web_api.client() as http:
        _login(http, "hans", "hans-pw-123456")
        token = _csrf(http.get("/upload").text)
        as_json = {"Accept": "application/json", "X-CSRF-Token": token}
        twenty = http.post("/upload", headers=as_json, files=_files(20, "a"))
        assert twenty.status_code == 201
        assert len(twenty.json()["documents"]) == 20
        more = http.post("/upload", headers=as_json, files=_files(21, "b"))
        assert more.status_code == 413
        assert "Höchstens 20 Dateien" in more.json()["detail"]  # what the page shows
        assert "21" in more.json()["detail"]
        # Without the page's script: a page that says so, not a silent redirect.
        form = http.post(
            "/upload",
            headers={"X-CSRF-Token": token},
            files=_files(21, "c"),
            follow_redirects=False,
        )
        assert form.status_code == 413
        assert "text/html" in form.headers["content-type"]
        assert "Höchstens 20 Dateien" in form.text
    assert _document_count(web_api) == 20  # nothing of the refused requests was taken


def test_plain_form_upload_names_the_files_it_did_not_take(web_api: Api) -> None:
    with web_api.client() as http:
        _login(http, "hans", "hans-pw-123456")
        token = _csrf(http.get("/upload").text)
        files = [*_files(1, "ok"), ("files", ("notes.txt", b"just text", "text/plain"))]
        response = http.post(
            "/upload", headers={"X-CSRF-Token": token}, files=files, follow_redirects=False
        )
    assert response.status_code == 201
    assert "notes.txt" in response.text
    assert "Format" in response.text
    assert _document_count(web_api) == 1


# --- /docs without a CDN --------------------------------------------------------------

_URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']*)["']""")


def test_docs_reference_no_other_host(web_api: Api) -> None:
    with web_api.client() as http:
        page = http.get("/docs")
        assets = {url: http.get(url) for url in _URL_ATTRIBUTE.findall(page.text)}
        redoc = http.get("/redoc")
    assert page.status_code == 200
    assert "SwaggerUIBundle" in page.text
    assert set(assets) >= {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"}
    for url, response in assets.items():
        assert url.startswith("/") and not url.startswith("//"), url
        assert response.status_code == 200, url
    assert not re.search(r"https?://|//cdn|jsdelivr|unpkg", page.text)
    assert 'validatorUrl": null' in page.text  # no badge fetched from validator.swagger.io
    csp = page.headers["content-security-policy"]
    assert "script-src 'self' 'sha256-" in csp
    assert "unsafe-inline" not in csp and "http" not in csp
    assert redoc.status_code == 404  # FastAPI's CDN page is gone, not left behind


@pytest.mark.chromium
def test_docs_render_in_chromium_from_this_server_alone(web_api: Api, browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "request",
        lambda r: None if r.url.startswith((web_api.base, "data:")) else elsewhere.append(r.url),
    )
    page.goto(f"{web_api.base}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 8  # every route, rendered from /openapi.json
    assert "/api/v1/documents/{document_id}/original" in page.inner_text("#swagger-ui")
    assert problems == []  # among them: no Content-Security-Policy violation
    assert elsewhere == []
