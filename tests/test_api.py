"""The HTTP API and web pages over a real loopback socket (uvicorn in a thread), on SQLite
and PostgreSQL: token scoping over every route with an id, idempotency, type spoofing,
size limits, mass assignment, task completion rules, booked output, health, and the web
page's access rules (login, CSRF, offline client → 403)."""

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import func, select

from domain.enums import Channel, Party, TaskKind
from domain.records import BookingDraft, BookingLine, TaskDraft
from domain.settings import Settings
from ingest.api import HttpHandle, create_app, run_http_in_thread
from ingest.intake import Submission, intake
from storage.bookings import create_booking
from storage.db import Database
from storage.objects import FilesystemObjectStore, ObjectStore, S3ObjectStore
from storage.tables import BookingRow, DocumentRow, TaskRow
from storage.tasks import create_task
from tests.conftest import POSTGRES_URL, free_port
from tests.factories import firm_with_passwords, load
from tests.intake_helpers import pdf_bytes, postgres_behind_proxy, zip_bytes

pytestmark = [pytest.mark.http, pytest.mark.timeout(120)]

HANS = {"Authorization": "Bearer token-hans"}  # C01, online, company access
LEA = {"Authorization": "Bearer token-lea"}  # C01, employee access
FRITZ = {"Authorization": "Bearer token-fritz"}  # C02, offline, employee access
ANNA = {"Authorization": "Bearer staff-token-anna"}  # staff


@dataclass
class Asked:
    ids: list[int] = field(default_factory=list)

    def __call__(self, document_id: int) -> None:
        self.ids.append(document_id)


@dataclass
class Api:
    handle: HttpHandle
    db: Database
    store: ObjectStore
    asked: Asked
    base: str

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, timeout=30)


def _serve(db: Database, store: ObjectStore, settings: Settings) -> Iterator[Api]:
    asked = Asked()
    settings = settings.model_copy(update={"http_port": 0})
    app = create_app(db, store, settings, asked)
    ready = threading.Event()
    handle = run_http_in_thread(app, settings, ready)
    assert ready.wait(30), "uvicorn did not start"
    try:
        yield Api(handle, db, store, asked, f"http://127.0.0.1:{handle.port}")
    finally:
        handle.stop()


@pytest.fixture
def api(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Api]:
    """On SQLite and PostgreSQL: for what the database decides (scope, idempotency, …)."""
    load(db, firm_with_passwords())
    yield from _serve(db, fs_store, settings)


@pytest.fixture
def web_api(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> Iterator[Api]:
    """On SQLite only: for what HTTP decides (status codes, headers, pages)."""
    load(sqlite_db, firm_with_passwords())
    yield from _serve(sqlite_db, fs_store, settings)


def _upload(http: httpx.Client, headers: dict, data: bytes, name: str = "r.pdf", **form):
    return http.post(
        "/api/v1/documents",
        headers=headers,
        files={"file": (name, data, "application/pdf")},
        data=form,
    )


# --- the scoping matrix ----------------------------------------------------------------


@dataclass
class Objects:
    document: int
    task: int
    booking: int


def _objects_of(api: Api, client_id: str) -> Objects:
    """A document, a task assigned to the client, and a posted booking, for one client."""
    recorded = intake(
        api.db,
        api.store,
        Submission(client_id=client_id, channel=Channel.APP, data=pdf_bytes(), filename="x.pdf"),
        max_bytes=10**7,
    )
    with api.db.session() as session:
        booking, _ = create_booking(
            session,
            client_id,
            recorded.document_id,
            BookingDraft(
                date=date(2026, 3, 1),
                currency="CHF",
                lines=[
                    BookingLine(account="6100", debit=Decimal("100.00")),
                    BookingLine(account="2000", credit=Decimal("100.00")),
                ],
            ),
            origin_key=f"doc:{recorded.document_id}",
            post=True,
        )
        task, _ = create_task(
            session,
            client_id,
            TaskDraft(kind=TaskKind.REVIEW_DOCUMENT, assignee=Party.CLIENT, reason="check"),
            dedupe_key=f"doc:{recorded.document_id}:review",
            document_id=recorded.document_id,
        )
        return Objects(recorded.document_id, task.id, booking.id)


def _id_routes(o: Objects) -> list[tuple[str, str]]:
    return [
        ("GET", f"/api/v1/documents/{o.document}"),
        ("GET", f"/api/v1/documents/{o.document}/original"),
        ("GET", f"/api/v1/tasks/{o.task}"),
        ("POST", f"/api/v1/tasks/{o.task}/complete"),
        ("GET", f"/api/v1/bookings/{o.booking}"),
    ]


def test_every_route_with_an_id_answers_404_for_another_clients_ids(api: Api):
    c01, c02 = _objects_of(api, "C01"), _objects_of(api, "C02")
    missing = Objects(999_999, 999_999, 999_999)
    with api.client() as http:
        for method, path in _id_routes(c02):
            response = http.request(method, path, headers=HANS)
            assert response.status_code == 404, (method, path)
            # Exactly what a missing id gets: no oracle for "exists elsewhere".
            twin = http.request(method, re.sub(r"/\d+", "/999999", path), headers=HANS)
            assert twin.status_code == 404
            assert response.json()["detail"].replace(str(_id_in(path)), "N") == twin.json()[
                "detail"
            ].replace("999999", "N")
        for method, path in _id_routes(c01):
            response = http.request(method, path, headers=FRITZ)
            expected = 403 if "/bookings/" in path else 404  # bookkeeping: not for employees
            assert response.status_code == expected, (method, path)
        # Employee access gets the same 403 for a booking that does not exist at all.
        assert http.get(f"/api/v1/bookings/{missing.booking}", headers=FRITZ).status_code == 403
        # The owner and staff see them.
        for method, path in _id_routes(c01):
            if method == "GET":
                assert http.get(path, headers=HANS).status_code == 200, path
                assert http.get(path, headers=ANNA).status_code == 200, path
        for method, path in _id_routes(c02):
            if method == "GET":
                assert http.get(path, headers=ANNA).status_code == 200, path
        # Lists never show another client's objects, whatever the filter says.
        for path in ("/api/v1/documents", "/api/v1/tasks", "/api/v1/bookings"):
            rows = http.get(path, headers=HANS, params={"client": "C02"}).json()
            assert rows
            assert {r["client_id"] for r in rows} == {"C01"}, path
            everyone = http.get(path, headers=ANNA).json()
            assert {r["client_id"] for r in everyone} == {"C01", "C02"}, path
            only = http.get(path, headers=ANNA, params={"client": "C02"}).json()
            assert {r["client_id"] for r in only} == {"C02"}, path
    # Nothing was completed by the foreign POST.
    with api.db.session() as session:
        assert session.get(TaskRow, c02.task).status == "open"


def _id_in(path: str) -> int:
    return int(re.search(r"/(\d+)", path).group(1))  # type: ignore[union-attr]


def test_missing_or_unknown_token_is_401_with_a_json_message(web_api: Api):
    with web_api.client() as http:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
            response = http.get("/api/v1/documents", headers=headers)
            assert response.status_code == 401
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert "token" in response.json()["detail"]


# --- upload -----------------------------------------------------------------------------


def test_upload_returns_the_document_and_ignores_mass_assignment(api: Api):
    data = pdf_bytes("upload")
    with api.client() as http:
        response = _upload(
            http,
            HANS,
            data,
            name="../../etc/Quittung Migros.pdf",
            payment_method="company_card",
            note="Spesen Müller",
            date="2026-02-03",
            client_id="C02",
            state="routed",
            sha256="0" * 64,
            channel="batch",
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert response.headers["location"] == f"/api/v1/documents/{body['id']}"
    assert body["client_id"] == "C01"
    assert body["state"] == "received"
    assert body["channel"] == "app"
    assert body["filename"] == "Quittung Migros.pdf"  # never a path
    assert body["payment_method"] == "company_card"
    assert body["note"] == "Spesen Müller"
    with api.db.session() as session:
        row = session.get(DocumentRow, body["id"])
        assert row.sha256 == body["sha256"] != "0" * 64
        assert row.submitted_by == "hans"
        assert row.doc_date == date(2026, 2, 3)
    assert api.store.get_original(body["sha256"]) == data
    deadline = time.monotonic() + 5
    while not api.asked.ids and time.monotonic() < deadline:
        time.sleep(0.01)
    assert api.asked.ids == [body["id"]]


def test_offline_clients_app_upload_is_welcome(web_api: Api):
    with web_api.client() as http:
        response = _upload(http, FRITZ, pdf_bytes(), payment_method="cash")
    assert response.status_code == 201
    assert response.json()["client_id"] == "C02"


def test_staff_upload_needs_a_client(web_api: Api):
    with web_api.client() as http:
        assert _upload(http, ANNA, pdf_bytes()).status_code == 400
        assert (
            http.post(
                "/api/v1/documents?client=C99", headers=ANNA, files={"file": ("a.pdf", pdf_bytes())}
            ).status_code
            == 404
        )
        response = http.post(
            "/api/v1/documents?client=C02", headers=ANNA, files={"file": ("a.pdf", pdf_bytes())}
        )
        assert response.status_code == 201
        assert response.json()["client_id"] == "C02"


def test_idempotency_key(api: Api):
    data = pdf_bytes("idem")
    key = {"Idempotency-Key": "app-7d1c2f3e-0001"}
    with api.client() as http:
        first = _upload(http, {**HANS, **key}, data)
        again = _upload(http, {**HANS, **key}, data)
        other = _upload(http, {**HANS, **key}, pdf_bytes("other"))
        # The same key from another client is that client's own key.
        foreign = _upload(http, {**FRITZ, **key}, pdf_bytes("fritz"))
        bad_key = _upload(http, {**HANS, "Idempotency-Key": "x" * 201}, data)
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert other.status_code == 409
    assert "Idempotency-Key" in other.json()["detail"]
    assert foreign.status_code == 201
    assert bad_key.status_code == 422
    with api.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 2


def test_same_bytes_without_key_are_recorded_as_a_duplicate(api: Api):
    data = pdf_bytes("dup")
    with api.client() as http:
        first = _upload(http, HANS, data).json()
        second = _upload(http, HANS, data).json()
    assert second["id"] != first["id"]
    assert second["state"] == "duplicate"
    assert second["duplicate_of"] == first["id"]
    assert api.asked.ids in ([first["id"]], [])  # never asked for the duplicate


def test_type_is_judged_by_the_bytes(web_api: Api):
    archive = zip_bytes({"invoice.pdf": pdf_bytes()})
    with web_api.client() as http:
        spoofed = _upload(http, HANS, archive, name="invoice.pdf")
        text = _upload(http, HANS, b"hello, I am text", name="scan.jpg")
        empty = _upload(http, HANS, b"", name="empty.pdf")
        # And the other way round: a real PDF with a misleading name and type is fine.
        real = http.post(
            "/api/v1/documents",
            headers=HANS,
            files={"file": ("photo.png", pdf_bytes(), "image/png")},
        )
    assert spoofed.status_code == 415
    assert "PDF" in spoofed.json()["detail"]
    assert text.status_code == 415
    assert empty.status_code == 400
    assert real.status_code == 201
    assert real.json()["filename"] == "photo.png.pdf"  # named for what it is (a PDF)
    with web_api.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 1


@pytest.fixture
def small_api(
    sqlite_db: Database, fs_store: FilesystemObjectStore, settings: Settings
) -> Iterator[Api]:
    load(sqlite_db, firm_with_passwords())
    small = settings.model_copy(update={"max_message_bytes": 100_000})
    yield from _serve(sqlite_db, fs_store, small)


def test_oversize_upload_is_refused_with_413_before_the_body_is_read(small_api: Api):
    limit = 100_000
    # 1. Content-Length over the limit: the answer comes without a byte of body sent.
    with socket.create_connection(("127.0.0.1", small_api.handle.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/documents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer token-hans\r\n"
            b"Content-Type: multipart/form-data; boundary=b\r\n"
            b"Content-Length: 50000000\r\n\r\n"
        )
        reply = b""
        while chunk := sock.recv(65536):  # the server closes after answering
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 413")
    assert b'"detail"' in reply
    # 2. Chunked (no length): refused once the counted bytes pass the limit, while the
    #    client is still sending.
    sent = 0

    def body():
        nonlocal sent
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n'
        yield b"%PDF-1.4\n"
        for _ in range(400):  # up to 40 MB, far beyond the limit
            sent += 100_000
            yield b"0" * 100_000
        yield b"\r\n--b--\r\n"

    with small_api.client() as http:
        try:
            response = http.post(
                "/api/v1/documents",
                headers={**HANS, "Content-Type": "multipart/form-data; boundary=b"},
                content=body(),
            )
            assert response.status_code == 413
        except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
            pass  # the server hung up on the rest of the body: also a refusal
    assert sent < 10_000_000  # a few socket buffers, not the 40 MB
    # 3. A file just over the limit in a normal multipart upload.
    with small_api.client() as http:
        response = _upload(http, HANS, pdf_bytes(size=limit + 10))
    assert response.status_code == 413
    with small_api.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 0


def test_validation_errors_are_one_readable_message(web_api: Api):
    with web_api.client() as http:
        response = _upload(http, HANS, pdf_bytes(), payment_method="bitcoin", date="gestern")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    assert "payment_method" in detail
    assert "date" in detail


def test_original_bytes_are_served_with_a_safe_name(web_api: Api):
    data = pdf_bytes("original")
    with web_api.client() as http:
        body = _upload(http, HANS, data, name='Rechnung "März".pdf').json()
        response = http.get(f"/api/v1/documents/{body['id']}/original", headers=HANS)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["content-disposition"]
    assert response.headers["x-content-type-options"] == "nosniff"


# --- tasks and bookings -----------------------------------------------------------------


def test_task_completion_rules(api: Api):
    c01 = _objects_of(api, "C01")
    with api.db.session() as session:
        draft, _ = create_booking(
            session,
            "C01",
            c01.document,
            BookingDraft(
                date=date(2026, 3, 2),
                currency="CHF",
                lines=[
                    BookingLine(account="6100", debit=Decimal("50.00")),
                    BookingLine(account="2000", credit=Decimal("50.00")),
                ],
            ),
            origin_key="manual:release",
            post=False,
        )
        release, _ = create_task(
            session,
            "C01",
            TaskDraft(kind=TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT, reason="release"),
            dedupe_key="t:release",
            document_id=c01.document,
            booking_id=draft.id,
        )
        internal, _ = create_task(
            session,
            "C01",
            TaskDraft(kind=TaskKind.REVIEW_DOCUMENT, assignee=Party.FIDUCIARY, reason="review"),
            dedupe_key="t:internal",
        )
        release_id, internal_id, draft_id = release.id, internal.id, draft.id
    with api.client() as http:
        # An employee does not even see the company's tasks (upload, nothing else).
        hidden = http.post(f"/api/v1/tasks/{release_id}/complete", headers=LEA)
        assert hidden.status_code == 404
        assert http.get(f"/api/v1/tasks/{release_id}", headers=HANS).json()["status"] == "open"
        assert http.post(f"/api/v1/tasks/{internal_id}/complete", headers=HANS).status_code == 403
        done = http.post(f"/api/v1/tasks/{release_id}/complete", headers=HANS)
        assert done.status_code == 200
        assert done.json()["status"] == "done"
        assert http.post(f"/api/v1/tasks/{internal_id}/complete", headers=ANNA).status_code == 200
        open_tasks = http.get("/api/v1/tasks", headers=HANS, params={"status": "open"}).json()
        assert release_id not in [t["id"] for t in open_tasks]
        posted = http.get(f"/api/v1/bookings/{draft_id}", headers=HANS).json()
    assert posted["status"] == "posted"
    assert posted["seq"] is not None


def test_bookings_are_read_in_sequence_order_with_after(api: Api):
    seqs = []
    for client_id in ("C01", "C02", "C01"):
        booking_id = _objects_of(api, client_id).booking
        with api.db.session() as session:
            seqs.append(session.get(BookingRow, booking_id).seq)
    with api.client() as http:
        everything = http.get("/api/v1/bookings", headers=ANNA).json()
        assert [b["seq"] for b in everything] == sorted(seqs)
        page = http.get("/api/v1/bookings", headers=ANNA, params={"after": seqs[0], "limit": 1})
        assert [b["seq"] for b in page.json()] == [seqs[1]]
        mine = http.get("/api/v1/bookings", headers=HANS).json()
        assert [b["seq"] for b in mine] == [seqs[0], seqs[2]]
        assert mine[0]["document_url"].endswith(f"/api/v1/documents/{mine[0]['document_id']}")
        assert http.get("/api/v1/bookings", headers=LEA).status_code == 403


# --- health and storage failures --------------------------------------------------------


def test_healthz_and_openapi(web_api: Api):
    with web_api.client() as http:
        health = http.get("/healthz")
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok", "object_store": "ok"}
        schema = http.get("/openapi.json").json()
    for path in (
        "/api/v1/documents",
        "/api/v1/documents/{document_id}",
        "/api/v1/documents/{document_id}/original",
        "/api/v1/tasks",
        "/api/v1/tasks/{task_id}/complete",
        "/api/v1/bookings",
        "/api/v1/bookings/{booking_id}",
        "/healthz",
    ):
        assert path in schema["paths"], path


def test_object_store_down_gives_503_with_retry_after(sqlite_db: Database, settings: Settings):
    db = sqlite_db
    load(db, firm_with_passwords())
    dead = S3ObjectStore(f"127.0.0.1:{free_port()}", "nowhere", "testing", "testing")
    for api in _serve(db, dead, settings):
        with api.client() as http:
            health = http.get("/healthz")
            upload = _upload(http, HANS, pdf_bytes())
        assert health.status_code == 503
        assert health.json()["object_store"] == "down"
        assert health.json()["database"] == "ok"
        assert health.headers["retry-after"]
        assert upload.status_code == 503
        assert upload.headers["retry-after"]
        assert "try again" in upload.json()["detail"]
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(DocumentRow)) == 0


@pytest.mark.postgres
def test_database_down_gives_503_with_retry_after(
    settings: Settings, fs_store: FilesystemObjectStore
):
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured")
    with postgres_behind_proxy(POSTGRES_URL) as (db, proxy):
        load(db, firm_with_passwords())
        for api in _serve(db, fs_store, settings):
            proxy.down()
            with api.client() as http:
                health = http.get("/healthz")
                listing = http.get("/api/v1/documents", headers=HANS)
            assert health.status_code == 503
            assert health.json()["database"] == "down"
            assert listing.status_code == 503
            assert listing.headers["retry-after"]
            assert "Traceback" not in listing.text
            proxy.up()
            with api.client() as http:
                assert http.get("/api/v1/documents", headers=HANS).status_code == 200


# --- the web pages: access rules (the browser test is in test_web.py) -----------------


def _login(http: httpx.Client, username: str, password: str) -> httpx.Response:
    page = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/upload"},
    )


def test_web_login_sets_a_strict_httponly_session(web_api: Api):
    with web_api.client() as http:
        response = _login(http, "hans", "hans-pw-123456")
        assert response.status_code == 303
        assert response.headers["location"] == "/upload"
        cookie = response.headers["set-cookie"].lower()
        assert "fiduflow_session=" in cookie
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        page = http.get("/upload")
        assert page.status_code == 200
        assert "Belege hochladen" in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
    with web_api.client() as http:
        assert _login(http, "hans", "wrong").status_code == 401
        # No CSRF token from the login page: refused.
        forged = http.post("/login", data={"username": "hans", "password": "hans-pw-123456"})
        assert forged.status_code == 403
        assert "fiduflow_session" not in forged.headers.get("set-cookie", "")
        assert http.get("/upload").status_code == 303  # to /login


def test_web_login_pauses_after_five_wrong_passwords_for_one_name(web_api: Api):
    with web_api.client() as http:
        for _ in range(5):
            assert _login(http, "hans", "guess").status_code == 401
        paused = _login(http, "hans", "hans-pw-123456")  # even the right password now
        assert paused.status_code == 429
        assert 840 <= int(paused.headers["retry-after"]) <= 900
        assert "Zu viele fehlgeschlagene Anmeldungen" in paused.text
        assert "fiduflow_session" not in paused.headers.get("set-cookie", "")
        # Another user from the same address is not held up by it.
        assert _login(http, "fritz", "fritz-pw-123456").status_code == 303


def test_web_upload_refuses_offline_clients_and_employees_with_a_message(web_api: Api):
    with web_api.client() as http:
        assert _login(http, "fritz", "fritz-pw-123456").status_code == 303
        page = http.get("/upload")
        assert page.status_code == 403
        assert "Offline-Kunde" in page.text
        assert "brot-a81c2e@in.treuhand.example" in page.text  # where to send instead
        posted = http.post(
            "/upload",
            headers={"Accept": "application/json", "X-CSRF-Token": _csrf(page.text)},
            files={"files": ("a.pdf", pdf_bytes())},
        )
        assert posted.status_code == 403
    with web_api.client() as http:
        _login(http, "lea", "lea-pw-123456")
        page = http.get("/upload")
        assert page.status_code == 403
        assert "Mobile-App" in page.text
    with web_api.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 0


def _csrf(html: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)  # type: ignore[union-attr]


def test_web_upload_checks_csrf_and_takes_several_files(web_api: Api):
    with web_api.client() as http:
        _login(http, "hans", "hans-pw-123456")
        token = _csrf(http.get("/upload").text)
        files = [
            ("files", ("a.pdf", pdf_bytes("a"), "application/pdf")),
            ("files", ("b.pdf", pdf_bytes("b"), "application/pdf")),
            ("files", ("c.pdf", b"just text", "application/pdf")),
        ]
        no_token = http.post("/upload", headers={"Accept": "application/json"}, files=files)
        assert no_token.status_code == 403
        response = http.post(
            "/upload",
            headers={"Accept": "application/json", "X-CSRF-Token": token},
            files=files,
            data={"document_class": "receivable", "client": "C02"},
        )
        assert response.status_code == 201
        documents = response.json()["documents"]
        assert [d["filename"] for d in documents] == ["a.pdf", "b.pdf"]
        assert {d["client_id"] for d in documents} == {"C01"}  # never the form's client
        assert {d["document_class"] for d in documents} == {"receivable"}
        [error] = response.json()["errors"]  # the page says which file, in German
        assert (error["filename"], error["status"]) == ("c.pdf", 415)
        assert "Format" in error["detail"]
        listed = http.get("/upload/documents").json()["documents"]
        assert [d["id"] for d in listed] == [d["id"] for d in reversed(documents)]
    with web_api.client() as http:
        assert http.get("/upload/documents").status_code == 401


def test_staff_choose_any_client_on_the_web_page(web_api: Api):
    with web_api.client() as http:
        _login(http, "anna", "anna-pw-123456")
        page = http.get("/upload")
        assert page.status_code == 200
        assert 'value="C01"' in page.text
        # Offline clients too: the paper they bring in is scanned at the firm (issue 15).
        assert 'value="C02"' in page.text
        token = _csrf(page.text)
        headers = {"Accept": "application/json", "X-CSRF-Token": token}
        files = {"files": ("a.pdf", pdf_bytes(), "application/pdf")}
        assert http.post("/upload", headers=headers, files=files).status_code == 400
        offline = http.post("/upload", headers=headers, files=files, data={"client": "C02"})
        assert offline.status_code == 201
        assert offline.json()["documents"][0]["client_id"] == "C02"
        files = {"files": ("b.pdf", pdf_bytes(), "application/pdf")}
        done = http.post("/upload", headers=headers, files=files, data={"client": "C01"})
        assert done.status_code == 201
        assert done.json()["documents"][0]["client_id"] == "C01"
