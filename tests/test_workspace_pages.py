"""The workspace over HTTP (TestClient, a browser's session and CSRF) on SQLite and
PostgreSQL: who sees which tasks, filters and pages, the task page (fields, boxes,
reasons, history), every action and its refusals, page images and field boxes, the
supplier page, the upload list's scope — and that another client's objects answer
exactly like missing ones on every workspace page.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domain.enums import Channel, Party, TaskKind
from domain.records import TaskDraft
from domain.settings import Settings
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import BookingRow, DocumentRow, LearnedRule, OutboxMail, TaskRow, UserRow
from storage.tasks import create_task
from tests.workspace_helpers import Firm, gloor_invoice, keller_invoice, login, make_firm
from web.app import create_app
from web.documents import PNG_CACHE
from web.fields import box_fraction, field_views
from web.i18n import Lang, T, lang_of, translate

pytestmark = [pytest.mark.http, pytest.mark.timeout(240)]

STAFF = {"Authorization": "Bearer staff-token-anna"}
HANS = {"Authorization": "Bearer token-hans"}


@dataclass
class Rig:
    http: TestClient
    firm: Firm
    releases: list[int]  # C01's two release tasks
    release_docs: list[int]
    review: int  # C02's review task (fiduciary)
    review_doc: int
    csrf: str = ""

    def as_user(self, username: str, next_url: str = "/tasks") -> str:
        self.http.cookies.clear()
        self.csrf = login(self.http, username, next_url)
        return self.csrf

    def task(self, task_id: int) -> TaskRow:
        with self.firm.db.session() as session:
            row = session.get(TaskRow, task_id)
            assert row is not None
            session.expunge(row)
            return row

    def add_task(self, client_id: str, key: str, **draft: Any) -> int:
        values = {"reason": "check", "assignee": Party.CLIENT, **draft}
        with self.firm.db.session() as session:
            row, _ = create_task(session, client_id, TaskDraft(**values), dedupe_key=f"test:{key}")
            return row.id


def task_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-task-id="(\d+)"', html)]


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    firm = make_firm(db, fs_store, settings)
    release_docs = [
        firm.deliver("C01", gloor_invoice("C01", seed), f"Gloor {seed}.pdf") for seed in (1, 3)
    ]
    review_doc = firm.deliver("C02", keller_invoice("K-1001", "540.50"), "Keller K-1001.pdf")
    releases = [firm.tasks(d)["release_invoice"].id for d in release_docs]
    review = firm.tasks(review_doc)["review_document"].id
    app = create_app(db, fs_store, settings, None)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield Rig(http, firm, releases, release_docs, review, review_doc)


# --- the inbox ------------------------------------------------------------------------


def test_inbox_shows_each_user_what_their_scope_sees(rig: Rig):
    for_lea = rig.add_task("C01", "lea", kind=TaskKind.MISSING_DOCUMENT, assignee_user="lea")

    rig.as_user("hans")
    company = rig.http.get("/tasks")
    assert company.status_code == 200
    assert set(task_ids(company.text)) == {*rig.releases, for_lea}
    assert 'data-testid="counts"' not in company.text  # counts per client are for staff

    rig.as_user("lea")
    assert task_ids(rig.http.get("/tasks").text) == [for_lea]  # only what is addressed to her

    rig.as_user("fritz")
    assert task_ids(rig.http.get("/tasks").text) == []

    rig.as_user("anna")
    staff = rig.http.get("/tasks")
    assert set(task_ids(staff.text)) == {*rig.releases, for_lea, rig.review}
    counts = re.findall(r'data-testid="count-(C\d+)"><span>[^<]*</span><strong>(\d+)', staff.text)
    assert dict(counts) == {"C01": "3", "C02": "1"}


def test_inbox_filters_sorts_by_due_date_and_pages(rig: Rig):
    today = date.today()
    made = [
        rig.add_task(
            "C02",
            f"many-{i}",
            kind=TaskKind.MISSING_DOCUMENT,
            assignee=Party.FIDUCIARY,
            due_date=today + timedelta(days=(i * 7) % 61 - 30),
        )
        for i in range(120)
    ]
    rig.as_user("anna")
    first = rig.http.get("/tasks", params={"client": "C02", "kind": "missing_document"})
    assert first.status_code == 200
    assert "Seite 1 von 3" in first.text
    shown = task_ids(first.text)
    assert len(shown) == 50
    with rig.firm.db.session() as session:
        due = {
            t.id: t.due_date for t in session.scalars(select(TaskRow).where(TaskRow.id.in_(made)))
        }
    ordered = sorted(made, key=lambda i: (due[i], i))
    assert shown == ordered[:50]  # due date first, earliest on top
    assert first.text.count('data-testid="overdue"') == sum(due[i] < today for i in shown)
    last = rig.http.get("/tasks", params={"client": "C02", "kind": "missing_document", "page": 3})
    assert task_ids(last.text) == ordered[100:]
    # The filters travel with the pager links and into the task pages.
    assert 'href="/tasks?kind=missing_document&amp;client=C02&amp;page=2"' in last.text
    assert f'href="/tasks/{ordered[100]}?kind=missing_document&amp;client=C02&amp;page=3"' in (
        last.text
    )
    soon = rig.http.get("/tasks", params={"client": "C02", "due_before": today.isoformat()})
    late = [i for i in ordered if due[i] < today]
    assert task_ids(soon.text) == late[:50]
    assert f"{len(late)} Aufgaben" in soon.text
    fiduciary = rig.http.get("/tasks", params={"assignee": "client"})
    assert set(task_ids(fiduciary.text)) == set(rig.releases)
    done = rig.http.get("/tasks", params={"status": "done"})
    assert task_ids(done.text) == []


def test_a_wrong_filter_is_named_not_a_stack_trace(rig: Rig):
    rig.as_user("anna")
    answer = rig.http.get("/tasks", params={"kind": "nonsense", "page": "x"})
    assert answer.status_code == 422
    assert "kind" in answer.text and "Traceback" not in answer.text


def test_not_logged_in_goes_to_login_and_back(rig: Rig):
    rig.http.cookies.clear()
    answer = rig.http.get(f"/tasks/{rig.review}?client=C02", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=%2Ftasks%2F{rig.review}%3Fclient%3DC02"


# --- the task page ----------------------------------------------------------------------


def test_task_page_shows_fields_boxes_reasons_and_the_original(rig: Rig):
    rig.as_user("anna")
    answer = rig.http.get(f"/tasks/{rig.review}")
    assert answer.status_code == 200
    html = answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    assert f'src="/api/v1/documents/{rig.review_doc}/pages/1"' in html
    assert 'value="540.50"' in html and 'value="K-1001"' in html
    assert "nothing on the document says what it is for" in html  # why it came to a person
    box = re.search(
        r'data-field="total" data-x0="([\d.]+)" data-y0="([\d.]+)" '
        r'data-x1="([\d.]+)" data-y1="([\d.]+)"',
        html,
    )
    assert box is not None
    x0, y0, x1, y1 = map(float, box.groups())
    # "Total CHF 540.50" is printed at x=60 pt, ~y=718 pt from the bottom on A4.
    assert 0 < x0 < x1 < 0.6 and 0.25 < y0 < y1 < 0.4
    assert 'data-testid="source-total"' in html and "Textebene" in html
    assert 'name="f_account" value="4400"' in html
    # The same through the API: fields with value, confidence, source and box.
    fields = rig.http.get(f"/api/v1/documents/{rig.review_doc}/fields", headers=STAFF).json()
    assert fields["pages"] == 1
    total = next(f for f in fields["fields"] if f["name"] == "total")
    assert total["value"] == "540.50" and total["source"] == "text_layer"
    assert total["box"] == {"page": 1, "x0": x0, "y0": y0, "x1": x1, "y1": y1}
    assert 0 < total["confidence"] <= 1


def test_page_image_is_a_png_per_page_and_404_beyond(rig: Rig):
    PNG_CACHE._items.clear()
    doc = rig.review_doc
    image = rig.http.get(f"/api/v1/documents/{doc}/pages/1", headers=STAFF)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    width = int.from_bytes(image.content[16:20], "big")
    assert 800 <= width <= 1400  # ~110 dpi of an A4 page, capped
    again = rig.http.get(f"/api/v1/documents/{doc}/pages/1", headers=STAFF)
    assert again.content == image.content
    beyond = rig.http.get(f"/api/v1/documents/{doc}/pages/2", headers=STAFF)
    assert beyond.status_code == 404
    assert rig.http.get(f"/api/v1/documents/{doc}/pages/0", headers=STAFF).status_code == 422
    # The browser's session works too (the task page's <img>), scoped like the token.
    rig.as_user("anna")
    assert rig.http.get(f"/api/v1/documents/{doc}/pages/1").status_code == 200
    rig.as_user("hans")
    assert rig.http.get(f"/api/v1/documents/{doc}/pages/1").status_code == 404


def test_page_image_of_a_photo_and_its_boxes_in_pixels(rig: Rig):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (1200, 1600), "white").save(buffer, format="PNG")
    from ingest.intake import Submission, intake

    recorded = intake(
        rig.firm.db,
        rig.firm.store,
        Submission(
            client_id="C01",
            channel=Channel.APP,
            data=buffer.getvalue(),
            filename="photo.png",
            submitted_by="hans",
        ),
        max_bytes=10**7,
    )
    image = rig.http.get(f"/api/v1/documents/{recorded.document_id}/pages/1", headers=HANS)
    assert image.status_code == 200
    assert int.from_bytes(image.content[16:20], "big") == 1200  # under the 1400 px cap
    fields = rig.http.get(f"/api/v1/documents/{recorded.document_id}/fields", headers=HANS)
    assert fields.json()["page_sizes"] == [[1200.0, 1600.0]]


def test_box_fractions_are_pure_and_clamped():
    sizes = [(600.0, 800.0)]
    box = {"page": 1, "x0": 60, "top": 80, "x1": 300, "bottom": 100}
    assert box_fraction(box, sizes).model_dump() == {
        "page": 1,
        "x0": 0.1,
        "y0": 0.1,
        "x1": 0.5,
        "y1": 0.125,
    }
    assert box_fraction({**box, "page": 2}, sizes) is None  # no such page
    assert box_fraction({**box, "x1": 10}, sizes) is None  # inverted
    assert box_fraction({**box, "x1": 9000}, sizes).x1 == 1.0
    views = field_views(
        {"total": "1.00", "has_qr": True, "text_source": "qr", "positions": {"total": box}},
        sizes,
        corrected={"invoice_number"},
    )
    sources = {v.name: v.source for v in views}
    assert sources["total"] == "qr"
    assert sources.get("invoice_number") is None  # no value: nothing to name a source for


# --- actions --------------------------------------------------------------------------


def test_correct_and_post_records_history_teaches_and_goes_on(rig: Rig):
    csrf = rig.as_user("anna")
    other = rig.add_task("C02", "next", kind=TaskKind.MISSING_DOCUMENT, assignee=Party.FIDUCIARY)
    answer = rig.http.post(
        f"/tasks/{rig.review}/complete",
        data={
            "csrf_token": csrf,
            "inbox_query": "client=C02",
            "f_total": "545.50",
            "f_invoice_number": "K-1001",  # unchanged: not a correction
            "f_account": "6530",
            "note": "Projektarbeit",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    # Save-and-next: on to the next open task of the same inbox (its filter kept).
    assert answer.headers["location"].startswith(f"/tasks/{other}?client=C02&done={rig.review}")
    task = rig.task(rig.review)
    assert task.status == "done" and task.outcome == "posted" and task.completed_by == "anna"
    booking = rig.firm.booking(rig.review_doc)
    assert booking.status == "posted" and booking.corrected_by == "anna"
    assert sum(line.credit for line in booking.lines) == Decimal("545.50")
    assert "6530" in {line.account for line in booking.lines}
    page = rig.http.get(f"/tasks/{rig.review}").text
    assert 'data-testid="history-entry"' in page
    assert "540.50" in page and "545.50" in page and "anna" in page
    assert "korrigiert" in page
    with rig.firm.db.session() as session:
        learned = session.scalar(
            select(LearnedRule.value).where(
                LearnedRule.client_id == "C02",
                LearnedRule.supplier_id == "S002",
                LearnedRule.field == "account",
            )
        )
    assert learned == "6530"


def test_a_wrong_correction_answers_422_naming_the_field(rig: Rig):
    csrf = rig.as_user("anna")
    answer = rig.http.post(
        f"/tasks/{rig.review}/complete",
        data={"csrf_token": csrf, "f_account": "61x"},
    )
    assert answer.status_code == 422
    assert "account" in answer.text and 'data-testid="notice"' in answer.text
    assert 'value="61x"' in answer.text  # what the person typed stays on the page
    assert rig.task(rig.review).status == "open"
    bad_total = rig.http.post(
        f"/tasks/{rig.review}/complete", data={"csrf_token": csrf, "f_total": "zwölf"}
    )
    assert bad_total.status_code == 422 and "total" in bad_total.text


def test_a_stale_form_changes_nothing(rig: Rig):
    rig.as_user("anna")
    answer = rig.http.post(f"/tasks/{rig.review}/complete", data={"csrf_token": "forged"})
    assert answer.status_code == 403
    assert rig.task(rig.review).status == "open"


def test_reject_with_a_reason_discards_the_draft(rig: Rig):
    csrf = rig.as_user("anna")
    answer = rig.http.post(
        f"/tasks/{rig.review}/reject",
        data={"csrf_token": csrf, "reason": "other", "reason_text": "Rechnung an Privatadresse"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    task = rig.task(rig.review)
    assert task.outcome == "rejected"
    assert rig.firm.booking(rig.review_doc).status == "discarded"
    with rig.firm.db.session() as session:
        document = session.get(DocumentRow, rig.review_doc)
        assert document.meta["rejected"]["reason"] == "Rechnung an Privatadresse"
    empty = rig.http.post(
        f"/tasks/{rig.releases[0]}/reject", data={"csrf_token": csrf, "reason": "other"}
    )
    assert empty.status_code == 422 and "reason" in empty.text


def test_ask_an_offline_client_queues_a_mail_and_keeps_the_task_open(rig: Rig):
    csrf = rig.as_user("anna")
    answer = rig.http.post(
        f"/tasks/{rig.review}/ask",
        data={"csrf_token": csrf, "message": "Wofür waren diese Arbeiten?"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert rig.task(rig.review).status == "open"
    with rig.firm.db.session() as session:
        mails = session.scalars(select(OutboxMail)).all()
        assert [(m.recipient, m.task_id) for m in mails] == [
            ("buchhaltung@brot.example", rig.review)
        ]
        assert "Wofür waren diese Arbeiten?" in mails[0].body
    page = rig.http.get(f"/tasks/{rig.review}").text
    assert "Wofür waren diese Arbeiten?" in page


def test_client_releases_several_at_once_and_sees_each_outcome(rig: Rig):
    csrf = rig.as_user("hans")
    answer = rig.http.post(
        "/tasks/release",
        data={"csrf_token": csrf, "task_id": [*map(str, rig.releases), str(rig.review)]},
    )
    assert answer.status_code == 207  # two released, one not (not theirs: looks missing)
    for task_id in rig.releases:
        assert re.search(rf'class="ok" data-testid="result-{task_id}"', answer.text)
        assert rig.task(task_id).outcome == "posted"
    assert re.search(rf'class="bad" data-testid="result-{rig.review}"', answer.text)
    assert rig.task(rig.review).status == "open"
    posted = rig.http.get("/api/v1/bookings", headers=HANS).json()
    assert {b["document_id"] for b in posted} == set(rig.release_docs)


def test_an_employee_cannot_release(rig: Rig):
    asked = rig.add_task("C01", "lea-release", kind=TaskKind.RELEASE_INVOICE, assignee_user="lea")
    csrf = rig.as_user("lea")
    page = rig.http.get(f"/tasks/{asked}")
    assert page.status_code == 200
    assert 'data-testid="read-only"' in page.text and 'data-testid="complete"' not in page.text
    refused = rig.http.post(f"/tasks/{asked}/complete", data={"csrf_token": csrf})
    assert refused.status_code == 403 and "company access" in refused.text
    bulk = rig.http.post("/tasks/release", data={"csrf_token": csrf, "task_id": str(asked)})
    assert re.search(rf'class="bad" data-testid="result-{asked}"', bulk.text)
    assert rig.task(asked).status == "open"
    # … and her company's release tasks are not hers to see at all.
    assert rig.http.get(f"/tasks/{rig.releases[0]}").status_code == 404


def test_a_request_to_an_employee_does_not_show_her_a_document_she_did_not_submit(rig: Rig):
    """Regression: the task page showed the company document's name, reasons and fields to
    the employee a request about it was addressed to."""
    document = rig.release_docs[0]  # Gloor's invoice, mailed to the company
    asked = rig.add_task(
        "C01",
        "lea-about-gloor",
        kind=TaskKind.MISSING_DOCUMENT,
        assignee_user="lea",
        reason="Bitte Quittung nachreichen",
    )
    with rig.firm.db.session() as session:
        session.get(TaskRow, asked).document_id = document
    rig.as_user("lea")
    page = rig.http.get(f"/tasks/{asked}")
    assert page.status_code == 200
    assert "Bitte Quittung nachreichen" in page.text  # the request is hers …
    assert "Gloor 1.pdf" not in page.text  # … the company's document is not
    assert f"/api/v1/documents/{document}/pages/1" not in page.text
    rig.as_user("hans")
    assert "Gloor 1.pdf" in rig.http.get(f"/tasks/{asked}").text  # the company user sees it


def test_upload_the_missing_document_answers_the_request(rig: Rig):
    missing = rig.add_task("C01", "missing", kind=TaskKind.MISSING_DOCUMENT, reason="Beleg?")
    csrf = rig.as_user("hans")
    assert 'data-testid="upload-form"' in rig.http.get(f"/tasks/{missing}").text
    answer = rig.http.post(
        f"/upload?task={missing}",
        data={"csrf_token": csrf},
        files={"files": ("beleg.pdf", keller_invoice("K-7", "10.00", "C01"), "application/pdf")},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].startswith(f"/tasks/{missing}")
    task = rig.task(missing)
    assert task.status == "done" and task.completed_by == "hans"
    # Another client's request cannot be answered (it looks missing).
    theirs = rig.add_task("C02", "theirs", kind=TaskKind.MISSING_DOCUMENT)
    foreign = rig.http.post(
        f"/upload?task={theirs}",
        data={"csrf_token": csrf},
        files={"files": ("b.pdf", keller_invoice("K-8", "10.00", "C01"), "application/pdf")},
    )
    assert foreign.status_code == 404


# --- who sees which documents (item 6) and staff uploads -------------------------------


def test_upload_list_shows_the_company_its_documents_and_an_employee_her_own(rig: Rig):
    lea_doc = rig.firm.deliver(
        "C01", gloor_invoice("C01", 11), "lea.pdf", channel=Channel.APP, submitted_by="lea"
    )
    rig.as_user("hans", "/upload")
    listed = {d["id"] for d in rig.http.get("/upload/documents").json()["documents"]}
    assert listed == {*rig.release_docs, lea_doc}  # mailed ones and lea's upload too
    rig.as_user("lea", "/tasks")
    own = {d["id"] for d in rig.http.get("/upload/documents").json()["documents"]}
    assert own == {lea_doc}


def test_staff_upload_for_an_offline_client(rig: Rig):
    csrf = rig.as_user("anna", "/upload")
    assert "C02 · Bäckerei Brot GmbH" in rig.http.get("/upload").text
    answer = rig.http.post(
        "/upload",
        data={"csrf_token": csrf, "client": "C02", "document_class": "payable"},
        files={"files": ("scan.pdf", keller_invoice("K-9", "99.00"), "application/pdf")},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["documents"][0]["client_id"] == "C02"


# --- the supplier page ----------------------------------------------------------------


def test_supplier_page_shows_and_edits_what_was_learned(rig: Rig):
    csrf = rig.as_user("hans")
    page = rig.http.get("/suppliers/S002")
    assert page.status_code == 200 and "Keller Projekte AG" in page.text
    answer = rig.http.post(
        "/suppliers/S002/learned",
        data={"csrf_token": csrf, "field": "account", "value": "6510"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = rig.http.get("/suppliers/S002").text
    assert "6510" in page and "hans" in page
    with rig.firm.db.session() as session:
        rule = session.scalar(select(LearnedRule).where(LearnedRule.supplier_id == "S002"))
        assert (rule.client_id, rule.value, rule.learned_by) == ("C01", "6510", "hans")
    bad = rig.http.post(
        "/suppliers/S002/learned", data={"csrf_token": csrf, "field": "account", "value": "x"}
    )
    assert bad.status_code == 422 and "account" in bad.text
    rig.as_user("lea")
    assert rig.http.get("/suppliers/S002").status_code == 404  # employee: upload only


# --- another client's objects look missing on every workspace page ----------------------


def _workspace_pages(app: Any) -> list[tuple[str, str, list[str]]]:
    """(method, path, parameters) of every workspace page with an id in its path."""
    found = []
    routes = []
    for route in app.routes:  # included routers (FastAPI ≥ 0.13x) hold their own routes
        inner = getattr(route, "original_router", None)
        routes += list(inner.routes) if inner is not None else [route]
    for route in routes:
        path = getattr(route, "path", "")
        if not path.startswith(("/tasks/{", "/suppliers/{")):
            continue
        params = re.findall(r"{(\w+)}", path)
        for method in sorted(getattr(route, "methods", ()) - {"HEAD"}):
            found.append((method, path, params))
    return found


def test_other_clients_objects_answer_like_missing_ones_on_every_page(rig: Rig):
    theirs = {"task_id": rig.review, "supplier_id": None}
    with rig.firm.db.session() as session:
        from storage.tables import SupplierRow

        session.add(
            SupplierRow(
                id="S900",
                name="Nur Brot Lieferant",
                name_normalized="nur brot lieferant",
                status="proposed",
                proposed_by_client_id="C02",
            )
        )
    theirs["supplier_id"] = "S900"
    missing = {"task_id": 987654, "supplier_id": "S987654"}
    pages = _workspace_pages(rig.http.app)
    assert {p for _, p, _ in pages} >= {
        "/tasks/{task_id}",
        "/tasks/{task_id}/complete",
        "/tasks/{task_id}/reject",
        "/tasks/{task_id}/ask",
        "/suppliers/{supplier_id}",
    }
    for who in ("hans", "lea"):
        csrf = rig.as_user(who)
        for method, path, params in pages:
            seen = rig.http.request(
                method,
                path.format(**{p: theirs[p] for p in params}),
                data={"csrf_token": csrf, "reason": "private", "message": "?"}
                if method == "POST"
                else None,
            )
            absent = rig.http.request(
                method,
                path.format(**{p: missing[p] for p in params}),
                data={"csrf_token": csrf, "reason": "private", "message": "?"}
                if method == "POST"
                else None,
            )
            assert seen.status_code == absent.status_code == 404, (who, method, path)

            def masked(text: str, ids: dict[str, Any]) -> str:
                found = re.search(r'data-testid="missing">(.*?)</section>', text, re.DOTALL)
                assert found is not None, text[:300]
                message = found.group(1)
                for value in sorted(map(str, ids.values()), key=len, reverse=True):
                    message = message.replace(value, "N")
                return message

            assert masked(seen.text, theirs) == masked(absent.text, missing), (who, path)
    assert rig.task(rig.review).status == "open"  # nothing a foreign request did changed it
    # The page image and the fields of another client's document, likewise.
    for path in (
        f"/api/v1/documents/{rig.review_doc}/pages/1",
        f"/api/v1/documents/{rig.review_doc}/fields",
    ):
        assert rig.http.get(path, headers=HANS).status_code == 404


# --- languages ------------------------------------------------------------------------


def test_every_label_speaks_four_languages():
    for key, texts in T.items():
        assert len(texts) == 4 and all(text.strip() for text in texts), key
        fields = [set(re.findall(r"{(\w+)}", text)) for text in texts]
        assert all(f == fields[0] for f in fields), key  # the same placeholders in each
    assert lang_of(None, "fr") is Lang.FR and lang_of("it", "fr") is Lang.IT
    assert lang_of("xx", None) is Lang.DE
    assert translate(Lang.EN, "inbox.count", count=3) == "3 tasks"


def test_pages_speak_the_users_language(rig: Rig):
    with rig.firm.db.session() as session:
        session.scalar(select(UserRow).where(UserRow.username == "hans")).language = "fr"
    rig.as_user("hans")
    inbox = rig.http.get("/tasks").text
    assert "Tâches" in inbox and "Libérer la facture" in inbox and '<html lang="fr">' in inbox
    page = rig.http.get(f"/tasks/{rig.releases[0]}").text
    assert "Champs lus" in page and "Libérer" in page


def test_booking_rows_unchanged_by_looking(rig: Rig):
    """Opening pages changes nothing (no draft posted, no task closed by a GET)."""
    rig.as_user("anna")
    for task_id in (*rig.releases, rig.review):
        assert rig.http.get(f"/tasks/{task_id}").status_code == 200
    with rig.firm.db.session() as session:
        statuses = set(session.scalars(select(BookingRow.status)))
    assert statuses == {"draft"}


def test_a_suspected_duplicate_offers_not_a_duplicate(rig: Rig):
    with rig.firm.db.session() as session:
        row, _ = create_task(
            session,
            "C02",
            TaskDraft(
                kind=TaskKind.SUSPECTED_DUPLICATE,
                assignee=Party.FIDUCIARY,
                reason="same number and total as document 1",
            ),
            dedupe_key="test:dup",
            document_id=rig.review_doc,
        )
        dup = row.id
    csrf = rig.as_user("anna")
    page = rig.http.get(f"/tasks/{dup}").text
    assert "Kein Duplikat – weiter" in page and "same number and total" in page
    answer = rig.http.post(
        f"/tasks/{dup}/complete", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303, answer.text
    assert rig.task(dup).status == "done" and rig.task(dup).completed_by == "anna"
