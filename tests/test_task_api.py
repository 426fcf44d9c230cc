"""Working tasks over the HTTP API (DESIGN.md, "Working a task"), on SQLite and PostgreSQL:
completing with corrections (the reading, the rebuilt draft, `corrected_by`, the history),
invalid corrections, two people on one task, reject, ask the client (online: a task;
offline: a mail in the outbox), reversing a posted booking, the upload a request asked
for, "not a duplicate — carry on", and paging and filters on the task list.

Tasks are seeded the way routing leaves them (a reading, routing's own draft, a task
holding it), except where the whole pipeline is the point (the duplicate).
"""

import dataclasses
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domain.enums import BookingStatus, Channel, DocType, Party, PaymentMethod, TaskKind
from domain.extraction import Extraction, VatLine
from domain.records import DocumentContext, TaskDraft
from domain.settings import Settings
from flows.pipeline import process_one
from flows.runtime import Runtime, set_runtime
from ingest.api import create_app
from ingest.intake import Submission, intake
from routing.accounts import propose_booking
from storage.bookings import create_booking, document_origin
from storage.db import Database
from storage.documents import save_extraction
from storage.masterdata import get_client
from storage.objects import FilesystemObjectStore
from storage.scope import Scope
from storage.suppliers import SqlSupplierDirectory
from storage.tables import BookingRow, DocumentEvent, DocumentRow, OutboxMail, TaskRow
from storage.tasks import count_open_by_client, create_task
from tests.docgen import supplier_invoice
from tests.factories import GLOOR_COMPANY, RECIPIENTS, firm_with_passwords, load
from tests.intake_helpers import pdf_bytes

pytestmark = [pytest.mark.http, pytest.mark.timeout(180)]

ANNA = {"Authorization": "Bearer staff-token-anna"}  # staff
HANS = {"Authorization": "Bearer token-hans"}  # C01, online, company access
LEA = {"Authorization": "Bearer token-lea"}  # C01, employee
FRITZ = {"Authorization": "Bearer token-fritz"}  # C02, offline, employee
CONTACT = "buchhaltung@brot.example"


@dataclass
class Rig:
    db: Database
    store: FilesystemObjectStore
    settings: Settings
    http: TestClient
    asked: list[int]

    def seed(
        self,
        client_id: str,
        kind: TaskKind,
        *,
        assignee: Party = Party.FIDUCIARY,
        total: str = "180.10",
        holds: bool = True,
        label: str = "",
        assignee_user: str | None = None,
    ) -> tuple[int, int, int | None]:
        """A routed Gloor invoice with routing's draft and a task: (document, task, booking)."""
        recorded = intake(
            self.db,
            self.store,
            Submission(
                client_id=client_id,
                channel=Channel.APP,
                data=pdf_bytes(f"{client_id}-{kind}-{label}-{random.random()}"),
                filename="rechnung.pdf",
                submitted_by="hans",
            ),
            max_bytes=10**7,
        )
        document_id = recorded.document_id
        extraction = Extraction(
            doc_type=DocType.SUPPLIER_INVOICE,
            supplier_name="Gloor Elektro AG",
            invoice_number="RE-2026-17",
            issue_date=date(2026, 3, 2),
            due_date=date(2026, 4, 1),
            currency="CHF",
            total=Decimal(total),
            vat=[VatLine(rate=Decimal("8.1"))],
            confidence={"total": 0.55, "invoice_number": 0.9, "issue_date": 0.9},
            sources={"total": "ocr", "invoice_number": "ocr"},
            text_source="ocr",
        )
        with self.db.session() as session:
            row = session.get(DocumentRow, document_id)
            assert row is not None
            save_extraction(session, document_id, client_id, extraction.public_json(), "")
            row.state = "routed"
            row.doc_type = DocType.SUPPLIER_INVOICE.value
            row.supplier_id = "S001"
            booking_id = None
            if holds:
                client = get_client(session, client_id)
                supplier = SqlSupplierDirectory(session, client_id).get("S001")
                context = DocumentContext(
                    document_id=document_id,
                    client_id=client_id,
                    channel=Channel.APP,
                    filename="rechnung.pdf",
                    received_at=row.received_at,
                    extraction=extraction,
                )
                assert client is not None
                draft = propose_booking(DocType.SUPPLIER_INVOICE, context, client, supplier)
                assert draft.booking is not None
                booking, _ = create_booking(
                    session,
                    client_id,
                    document_id,
                    draft.booking,
                    origin_key=document_origin(document_id),
                    post=False,
                )
                booking_id = booking.id
            task, _ = create_task(
                session,
                client_id,
                TaskDraft(
                    kind=kind,
                    assignee=assignee,
                    reason="the total was read with low confidence",
                    due_date=date(2026, 4, 1),
                    assignee_user=assignee_user,
                ),
                dedupe_key=f"doc:{document_id}:{kind.value}",
                document_id=document_id,
                booking_id=booking_id,
            )
            return document_id, task.id, booking_id

    def booking(self, booking_id: int) -> BookingRow:
        with self.db.session() as session:
            row = session.get(BookingRow, booking_id)
            assert row is not None
            session.expunge(row)
            return row

    def events(self, document_id: int) -> list[DocumentEvent]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(DocumentEvent)
                    .where(DocumentEvent.document_id == document_id)
                    .order_by(DocumentEvent.id)
                )
            )
            session.expunge_all()
            return rows

    def process(self, document_id: int) -> Any:
        set_runtime(Runtime(settings=self.settings, db=self.db, store=self.store))
        try:
            return process_one(document_id, step_runs=False)
        finally:
            set_runtime(None)


def _firm(contact: bool = True) -> dict[str, Any]:
    data = firm_with_passwords()
    if contact:
        data["clients"][1]["contact"] = {"email": CONTACT}
    return data


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    load(db, _firm())
    asked: list[int] = []
    with TestClient(create_app(db, fs_store, settings, asked.append)) as http:
        yield Rig(db, fs_store, settings, http, asked)


def lines_of(view: dict[str, Any]) -> list[tuple[str, str, str, str | None]]:
    return [(x["account"], x["debit"], x["credit"], x["vat_code"]) for x in view["lines"]]


# --- corrections --------------------------------------------------------------------


def test_staff_correct_total_and_account_and_the_booking_posts_corrected(rig: Rig):
    document_id, task_id, booking_id = rig.seed("C02", TaskKind.REVIEW_DOCUMENT)
    assert booking_id is not None

    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=ANNA,
        json={"corrections": {"total": "108.10", "account": "6570"}, "note": "OCR misread"},
    )

    assert answer.status_code == 200, answer.text
    task = answer.json()
    assert task["outcome"] == "posted"
    assert task["completed_by"] == "anna"
    assert task["booking_id"] == booking_id
    booking = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA).json()
    assert booking["status"] == "posted" and booking["seq"] is not None
    assert booking["corrected_by"] == "anna"
    assert booking["kind"] == "document"
    # Routing's own split of the corrected total: base + 8.1 % VAT on 1171, 2000 credited.
    assert lines_of(booking) == [
        ("6570", "100.00", "0.00", "VI81"),
        ("1171", "8.10", "0.00", "VI81"),
        ("2000", "0.00", "108.10", None),
    ]
    assert [b["id"] for b in rig.http.get("/api/v1/bookings", headers=ANNA).json()] == [booking_id]
    document = rig.http.get(f"/api/v1/documents/{document_id}", headers=ANNA).json()
    assert document["extraction"]["total"] == "108.10"
    assert document["extraction"]["sources"]["total"] == "corrected"
    assert document["extraction"]["confidence"]["total"] == 1.0
    assert document["extraction"]["sources"]["invoice_number"] == "ocr"  # untouched
    history = [
        (h["action"], h["field"], h["before"], h["after"], h["by"]) for h in document["history"]
    ]
    assert history == [
        ("corrected", "total", "180.10", "108.10", "anna"),
        ("corrected", "account", "6100", "6570", "anna"),
        ("approved", None, None, "OCR misread", "anna"),
        ("posted", None, None, booking["seq"], "anna"),
    ]
    assert all(h["at"] for h in document["history"])
    # The correction taught Gloor's account for this client.
    assert any("6570" in line for line in task["details"]["learned"])


def test_company_user_corrects_a_release_task(rig: Rig):
    document_id, task_id, booking_id = rig.seed(
        "C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT, total="108.10"
    )
    assert booking_id is not None

    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=HANS,
        json={"corrections": {"invoice_number": "RE-2026-71", "vat_code": "VI77"}},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "posted"
    booking = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=HANS).json()
    assert booking["corrected_by"] == "hans"
    assert [line["vat_code"] for line in booking["lines"]] == ["VI77", "VI77", None]
    document = rig.http.get(f"/api/v1/documents/{document_id}", headers=HANS).json()
    assert document["extraction"]["invoice_number"] == "RE-2026-71"
    changed = {(h["field"], h["before"], h["after"]) for h in document["history"]}
    assert ("invoice_number", "RE-2026-17", "RE-2026-71") in changed
    assert ("vat_code", "VI81", "VI77") in changed
    assert [h["action"] for h in document["history"]][-2:] == ["released", "posted"]


def test_release_without_body_posts_as_read_and_says_so(rig: Rig):
    document_id, task_id, booking_id = rig.seed(
        "C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT, total="108.10"
    )
    assert booking_id is not None

    answer = rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=HANS)

    assert answer.status_code == 200, answer.text
    booking = rig.booking(booking_id)
    assert booking.status == "posted" and booking.corrected_by is None
    assert [(e.action, e.by) for e in rig.events(document_id)] == [
        ("released", "hans"),
        ("posted", "hans"),
    ]


@pytest.mark.parametrize(
    ("corrections", "field"),
    [
        ({"total": "abc"}, "corrections.total"),
        ({"account": "61"}, "corrections.account"),
        ({"currency": "chf"}, "corrections.currency"),
        ({"issue_date": "2026-02-30"}, "corrections.issue_date"),
        ({"payment_method": "barter"}, "corrections.payment_method"),
        ({"colour": "red"}, "corrections.colour"),
        ({"supplier_id": "S999"}, "corrections.supplier_id"),
        (
            {
                "lines": [
                    {"account": "6100", "debit": "100.00"},
                    {"account": "2000", "credit": "90.00"},
                ]
            },
            "corrections.lines",
        ),
    ],
)
def test_invalid_corrections_answer_422_naming_the_field(rig: Rig, corrections, field):
    _, task_id, booking_id = rig.seed("C02", TaskKind.REVIEW_DOCUMENT)
    assert booking_id is not None
    before = lines_of(rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA).json())

    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=ANNA, json={"corrections": corrections}
    )

    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"]
    assert "Traceback" not in answer.text
    # Nothing changed: the task is open, the draft as it was.
    assert rig.http.get(f"/api/v1/tasks/{task_id}", headers=ANNA).json()["status"] == "open"
    after = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA).json()
    assert after["status"] == "draft" and lines_of(after) == before


def test_unbalanced_lines_are_refused_and_balanced_lines_replace_the_proposal(rig: Rig):
    _, task_id, booking_id = rig.seed("C02", TaskKind.REVIEW_DOCUMENT, total="200.00")
    unbalanced = [
        {"account": "6100", "debit": "150.00"},
        {"account": "2000", "credit": "200.00"},
    ]
    refused = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=ANNA,
        json={"corrections": {"lines": unbalanced}},
    )
    assert refused.status_code == 422
    assert "balance" in refused.json()["detail"]

    lines = [
        {"account": "6100", "debit": "120.00", "text": "Material"},
        {"account": "6500", "debit": "80.00", "text": "Porto"},
        {"account": "2000", "credit": "200.00"},
    ]
    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=ANNA, json={"corrections": {"lines": lines}}
    )
    assert answer.status_code == 200, answer.text
    booking = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA).json()
    assert lines_of(booking) == [
        ("6100", "120.00", "0.00", None),
        ("6500", "80.00", "0.00", None),
        ("2000", "0.00", "200.00", None),
    ]
    assert booking["status"] == "posted" and booking["corrected_by"] == "anna"


def test_corrections_on_a_task_without_a_booking_answer_422(rig: Rig):
    _, task_id, _ = rig.seed("C02", TaskKind.UNREADABLE, holds=False)

    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete", headers=ANNA, json={"corrections": {"total": "1.00"}}
    )

    assert answer.status_code == 422
    assert "holds no draft booking" in answer.json()["detail"]
    assert rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=ANNA).status_code == 200


# --- two people ---------------------------------------------------------------------


def test_the_second_person_gets_409_naming_who_acted_first(rig: Rig):
    document_id, task_id, booking_id = rig.seed(
        "C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT
    )
    assert booking_id is not None
    first = rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=HANS)
    assert first.status_code == 200
    seq = rig.booking(booking_id).seq
    events = len(rig.events(document_id))

    corrected = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=ANNA,
        json={"corrections": {"total": "1.00"}},
    )
    rejected = rig.http.post(
        f"/api/v1/tasks/{task_id}/reject", headers=ANNA, json={"reason": "duplicate"}
    )
    again = rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=ANNA)

    for answer in (corrected, rejected):
        assert answer.status_code == 409, answer.text
        assert "hans" in answer.json()["detail"]
    assert again.status_code == 200  # no body: harmless, nothing new
    assert again.json()["completed_by"] == "hans"
    booking = rig.booking(booking_id)
    assert (booking.status, booking.seq, booking.corrected_by) == ("posted", seq, None)
    assert len(rig.events(document_id)) == events


def test_completing_a_rejected_task_answers_409(rig: Rig):
    _, task_id, _ = rig.seed("C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT)
    assert (
        rig.http.post(
            f"/api/v1/tasks/{task_id}/reject", headers=HANS, json={"reason": "private"}
        ).status_code
        == 200
    )
    answer = rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=ANNA)
    assert answer.status_code == 409
    assert "hans" in answer.json()["detail"] and "rejected" in answer.json()["detail"]


# --- reject -------------------------------------------------------------------------


def test_reject_discards_the_draft_and_keeps_the_reason_in_the_history(rig: Rig):
    document_id, task_id, booking_id = rig.seed("C02", TaskKind.REVIEW_DOCUMENT)
    assert booking_id is not None

    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/reject", headers=ANNA, json={"reason": "not_our_client"}
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "rejected"
    booking = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA).json()
    assert booking["status"] == "discarded" and booking["seq"] is None
    assert rig.http.get("/api/v1/bookings", headers=ANNA).json() == []
    history = rig.http.get(f"/api/v1/documents/{document_id}", headers=ANNA).json()["history"]
    assert [(h["action"], h["after"], h["by"]) for h in history] == [
        ("rejected", "not_our_client", "anna")
    ]


# --- ask the client -----------------------------------------------------------------


def test_ask_an_online_client_makes_a_task_for_the_client(rig: Rig):
    document_id, task_id, _ = rig.seed("C01", TaskKind.REVIEW_DOCUMENT)
    message = "Is this invoice for the Baustelle Seefeld or private?"

    answer = rig.http.post(f"/api/v1/tasks/{task_id}/ask", headers=ANNA, json={"message": message})
    twice = rig.http.post(f"/api/v1/tasks/{task_id}/ask", headers=ANNA, json={"message": message})

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "open"  # the review waits for the answer
    asked = answer.json()["details"]["asked"]
    assert len(asked) == 1 and asked[0]["message"] == message
    assert twice.json()["details"]["asked"] == asked  # the same question asks once
    client_tasks = rig.http.get("/api/v1/tasks?kind=ask_client", headers=HANS).json()
    assert [t["id"] for t in client_tasks] == [asked[0]["task_id"]]
    request = client_tasks[0]
    assert request["assignee"] == "client" and request["reason"] == message
    assert request["document_id"] == document_id
    assert request["due_date"] == (date.today() + timedelta(days=10)).isoformat()
    # The client answers with a note; the history keeps both.
    done = rig.http.post(
        f"/api/v1/tasks/{request['id']}/complete", headers=HANS, json={"note": "Seefeld"}
    )
    assert done.status_code == 200 and done.json()["outcome"] == "done"
    history = rig.http.get(f"/api/v1/documents/{document_id}", headers=ANNA).json()["history"]
    assert [(h["action"], h["after"], h["by"]) for h in history] == [
        ("asked", message, "anna"),
        ("done", "Seefeld", "hans"),
    ]
    with rig.db.session() as session:
        assert session.scalars(select(OutboxMail)).all() == []


def test_ask_an_offline_client_queues_a_mail_to_its_contact_address(rig: Rig):
    document_id, task_id, _ = rig.seed("C02", TaskKind.ASK_CLIENT)

    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/ask",
        headers=ANNA,
        json={"message": "Bitte senden Sie uns die Seite 2 der Rechnung."},
    )

    assert answer.status_code == 200, answer.text
    with rig.db.session() as session:
        mails = session.scalars(select(OutboxMail)).all()
        assert [(m.kind, m.recipient, m.client_id, m.task_id) for m in mails] == [
            ("request", CONTACT, "C02", task_id)
        ]
        assert "Seite 2 der Rechnung" in mails[0].body
        assert "rechnung.pdf" in mails[0].subject
        assert mails[0].message_id.startswith("<")
        assert answer.json()["details"]["asked"][0]["mail_id"] == mails[0].id
    # No task for the client: it cannot see tasks.
    assert rig.http.get("/api/v1/tasks?client=C02", headers=ANNA).json()[0]["id"] == task_id
    assert len(rig.http.get("/api/v1/tasks?client=C02", headers=ANNA).json()) == 1
    assert [e.action for e in rig.events(document_id)] == ["asked"]


def test_ask_an_offline_client_without_contact_address_answers_422(rig: Rig):
    load(rig.db, _firm(contact=False))
    _, task_id, _ = rig.seed("C02", TaskKind.ASK_CLIENT)

    answer = rig.http.post(f"/api/v1/tasks/{task_id}/ask", headers=ANNA, json={"message": "?"})

    assert answer.status_code == 422
    assert "no contact address for client C02" in answer.json()["detail"]
    assert "contact: {email:" in answer.json()["detail"]


def test_only_staff_ask_and_an_empty_question_is_refused(rig: Rig):
    _, task_id, _ = rig.seed("C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT)
    refused = rig.http.post(f"/api/v1/tasks/{task_id}/ask", headers=HANS, json={"message": "?"})
    assert refused.status_code == 403
    empty = rig.http.post(f"/api/v1/tasks/{task_id}/ask", headers=ANNA, json={"message": "  "})
    assert empty.status_code == 422 and "message" in empty.json()["detail"]


# --- employees ----------------------------------------------------------------------


def test_an_employee_cannot_complete_reject_or_ask(rig: Rig):
    _, task_id, booking_id = rig.seed("C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT)
    for path, body in (
        ("complete", None),
        ("complete", {"corrections": {"total": "1.00"}}),
        ("reject", {"reason": "private"}),
        ("ask", {"message": "?"}),
    ):
        answer = rig.http.post(f"/api/v1/tasks/{task_id}/{path}", headers=LEA, json=body)
        assert answer.status_code == 404, (path, answer.text)
    assert rig.booking(booking_id or 0).status == "draft"


def test_an_employee_asked_by_name_still_cannot_release(rig: Rig):
    """A request addressed to the employee is theirs to see, not to release (company access)."""
    _, task_id, booking_id = rig.seed(
        "C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT, assignee_user="lea"
    )
    assert rig.http.get(f"/api/v1/tasks/{task_id}", headers=LEA).status_code == 200
    answer = rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=LEA)
    assert answer.status_code == 403
    assert rig.booking(booking_id or 0).status == "draft"


# --- reversal -----------------------------------------------------------------------


def test_staff_reverse_a_posted_booking_and_post_the_corrected_one(rig: Rig):
    document_id, task_id, booking_id = rig.seed("C02", TaskKind.REVIEW_DOCUMENT, total="108.10")
    assert rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=ANNA).status_code == 200
    assert booking_id is not None
    assert rig.http.post(f"/api/v1/bookings/{booking_id}/reverse", headers=HANS).status_code == 404
    rig.seed("C01", TaskKind.REVIEW_DOCUMENT)  # a C01 booking exists for hans, still 404 above

    answer = rig.http.post(f"/api/v1/bookings/{booking_id}/reverse", headers=ANNA)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    reversal, draft, task = body["reversal"], body["draft"], body["task"]
    assert reversal["status"] == "posted" and reversal["reverses_id"] == booking_id
    original = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA).json()
    assert original["status"] == "reversed"
    assert [(a, c, d) for a, d, c, _ in lines_of(reversal)] == [
        (a, d, c) for a, d, c, _ in lines_of(original)
    ]  # the mirror image
    assert draft["status"] == "draft" and lines_of(draft) == lines_of(original)
    assert task["kind"] == "review_document" and task["assignee"] == "fiduciary"
    assert task["booking_id"] == draft["id"] and task["status"] == "open"
    posted = rig.http.get("/api/v1/bookings", headers=ANNA).json()
    assert [b["id"] for b in posted] == [booking_id, reversal["id"]]

    again = rig.http.post(f"/api/v1/bookings/{booking_id}/reverse", headers=ANNA)
    assert again.status_code == 409 and "reversed" in again.json()["detail"]

    fixed = rig.http.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=ANNA,
        json={"corrections": {"account": "6500"}},
    )
    assert fixed.status_code == 200, fixed.text
    replacement = rig.http.get(f"/api/v1/bookings/{draft['id']}", headers=ANNA).json()
    assert replacement["status"] == "posted" and replacement["corrected_by"] == "anna"
    assert replacement["lines"][0]["account"] == "6500"
    actions = [e.action for e in rig.events(document_id)]
    assert actions == ["approved", "posted", "reversed", "corrected", "approved", "posted"]


def test_reversing_is_staff_only_and_scoped(rig: Rig):
    _, task_id, booking_id = rig.seed("C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT)
    assert rig.http.post(f"/api/v1/tasks/{task_id}/complete", headers=HANS).status_code == 200
    company = rig.http.post(f"/api/v1/bookings/{booking_id}/reverse", headers=HANS)
    employee = rig.http.post(f"/api/v1/bookings/{booking_id}/reverse", headers=LEA)
    other = rig.http.post(f"/api/v1/bookings/{booking_id}/reverse", headers=FRITZ)
    assert company.status_code == 403
    assert employee.status_code == 404 and other.status_code == 404
    assert rig.booking(booking_id or 0).status == "posted"


def test_a_draft_cannot_be_reversed(rig: Rig):
    _, _, booking_id = rig.seed("C02", TaskKind.REVIEW_DOCUMENT)
    answer = rig.http.post(f"/api/v1/bookings/{booking_id}/reverse", headers=ANNA)
    assert answer.status_code == 409 and "draft" in answer.json()["detail"]


# --- the upload a request asked for -------------------------------------------------


def test_an_upload_answers_a_missing_document_request(rig: Rig):
    document_id, task_id, _ = rig.seed(
        "C01", TaskKind.MISSING_DOCUMENT, assignee=Party.CLIENT, holds=False
    )
    _, review_id, _ = rig.seed("C01", TaskKind.REVIEW_DOCUMENT)
    wrong = rig.http.post(
        f"/api/v1/documents?task={review_id}",
        headers=HANS,
        files={"file": ("beleg.pdf", pdf_bytes("answer-0"), "application/pdf")},
    )
    assert wrong.status_code == 422 and "task" in wrong.json()["detail"]
    elsewhere = rig.http.post(
        f"/api/v1/documents?task={task_id}",
        headers=FRITZ,
        files={"file": ("beleg.pdf", pdf_bytes("answer-1"), "application/pdf")},
    )
    assert elsewhere.status_code == 404

    answer = rig.http.post(
        f"/api/v1/documents?task={task_id}",
        headers=HANS,
        files={"file": ("beleg.pdf", pdf_bytes("answer-2"), "application/pdf")},
    )

    assert answer.status_code == 201, answer.text
    upload_id = answer.json()["id"]
    assert answer.json()["client_id"] == "C01"
    task = rig.http.get(f"/api/v1/tasks/{task_id}", headers=HANS).json()
    assert (task["status"], task["outcome"], task["completed_by"]) == ("done", "done", "hans")
    assert task["details"]["uploaded_document_id"] == upload_id
    with rig.db.session() as session:
        upload = session.get(DocumentRow, upload_id)
        assert upload is not None and upload.meta["answers_task"] == task_id
    assert [(e.action, e.after) for e in rig.events(document_id)] == [("uploaded", upload_id)]
    assert upload_id in rig.asked  # processing was asked for as for any upload


# --- not a duplicate ------------------------------------------------------------------


def test_not_a_duplicate_routes_the_document_again_without_the_duplicate_check(rig: Rig):
    def gloor(layout: int) -> bytes:
        return supplier_invoice(
            random.Random(11),
            supplier=dataclasses.replace(GLOOR_COMPANY),
            recipient=RECIPIENTS["C02"],
            language="de",
            with_qr=False,
            layout=layout,
            invoice_number="RE-4711",
            total=Decimal("540.00"),
            issue_date=date(2026, 3, 2),
        ).data

    ids = []
    for layout in (0, 1):
        answer = rig.http.post(
            "/api/v1/documents?client=C02",
            headers=ANNA,
            files={"file": ("rechnung.pdf", gloor(layout), "application/pdf")},
        )
        assert answer.status_code == 201, answer.text
        ids.append(answer.json()["id"])
        rig.process(ids[-1])
    first, second = ids
    tasks = rig.http.get("/api/v1/tasks?client=C02&kind=suspected_duplicate", headers=ANNA)
    [duplicate] = tasks.json()
    assert duplicate["document_id"] == second
    assert rig.http.get(f"/api/v1/documents/{second}", headers=ANNA).json()["booking_ids"] == []

    answer = rig.http.post(f"/api/v1/tasks/{duplicate['id']}/complete", headers=ANNA)

    assert answer.status_code == 200, answer.text
    assert second in rig.asked  # processing asked for after the commit
    outcome = rig.process(second)
    assert outcome.state.value == "routed", outcome.error
    assert outcome.rule != "suspected_duplicate"
    document = rig.http.get(f"/api/v1/documents/{second}", headers=ANNA).json()
    assert len(document["booking_ids"]) == 1
    assert [h["action"] for h in document["history"]][:1] == ["not_a_duplicate"]
    with rig.db.session() as session:
        row = session.get(DocumentRow, second)
        assert row is not None and row.meta["not_a_duplicate"]["by"] == "anna"
        booking = session.get(BookingRow, document["booking_ids"][0])
        assert booking is not None and booking.status in (
            BookingStatus.POSTED.value,
            BookingStatus.DRAFT.value,
        )
    assert first != second


# --- lists --------------------------------------------------------------------------


def test_250_tasks_read_in_pages_of_100_none_missing_or_twice(rig: Rig):
    with rig.db.session() as session:
        for i in range(250):
            create_task(
                session,
                "C01" if i % 2 else "C02",
                TaskDraft(
                    kind=TaskKind.REVIEW_DOCUMENT if i % 3 else TaskKind.MISSING_DOCUMENT,
                    assignee=Party.FIDUCIARY if i % 5 else Party.CLIENT,
                    reason=f"task {i}",
                    due_date=date(2026, 1, 1) + timedelta(days=i),
                ),
                dedupe_key=f"paging:{i}",
            )
    seen: list[int] = []
    after = 0
    pages = 0
    while True:
        page = rig.http.get(f"/api/v1/tasks?after={after}&limit=100", headers=ANNA).json()
        if not page:
            break
        pages += 1
        assert len(page) <= 100
        seen += [t["id"] for t in page]
        after = page[-1]["id"]
    assert pages == 3
    assert len(seen) == 250 and len(set(seen)) == 250 and seen == sorted(seen)
    with rig.db.session() as session:
        assert set(seen) == set(session.scalars(select(TaskRow.id)))

    def ids(query: str, headers: dict[str, str] = ANNA) -> list[int]:
        answer = rig.http.get(f"/api/v1/tasks?limit=500&{query}", headers=headers)
        assert answer.status_code == 200, answer.text
        return [t["id"] for t in answer.json()]

    by_reason = {}
    with rig.db.session() as session:
        for row in session.scalars(select(TaskRow)):
            by_reason[row.id] = row
    c01 = ids("client=C01")
    assert len(c01) == 125 and all(by_reason[i].client_id == "C01" for i in c01)
    assert ids("client=C02", HANS) == ids("", HANS)  # a client user cannot widen
    assert all(by_reason[i].client_id == "C01" for i in ids("", HANS))
    missing = ids("kind=missing_document")
    assert len(missing) == 84 and all(by_reason[i].kind == "missing_document" for i in missing)
    client_side = ids("assignee=client")
    assert len(client_side) == 50 and all(by_reason[i].assignee == "client" for i in client_side)
    due = ids("due_before=2026-01-11")
    assert len(due) == 10
    assert ids("status=done") == []
    first = seen[0]
    with rig.db.session() as session:
        row = session.get(TaskRow, first)
        assert row is not None
        row.status, row.outcome, row.completed_by = "done", "done", "anna"
    assert ids("status=done") == [first]
    assert first not in ids("")  # open is the default
    assert len(ids("status=all")) == 250
    for bad in ("limit=501", "limit=0", "after=-1", "status=closed", "kind=nonsense"):
        answer = rig.http.get(f"/api/v1/tasks?{bad}", headers=ANNA)
        assert answer.status_code == 422, bad
        assert bad.split("=")[0] in answer.json()["detail"]


def test_payment_method_correction_changes_the_counter_account(rig: Rig):
    """A receipt paid by debit card: 1020 instead of 2000, and it is in the history."""
    document_id, task_id, booking_id = rig.seed("C02", TaskKind.REVIEW_DOCUMENT, total="108.10")
    with rig.db.session() as session:
        row = session.get(DocumentRow, document_id)
        assert row is not None
        row.doc_type = DocType.RECEIPT.value

    answer = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=ANNA,
        json={"corrections": {"payment_method": PaymentMethod.DEBIT_CARD.value}},
    )

    assert answer.status_code == 200, answer.text
    booking = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA).json()
    assert ("1020", "0.00", "108.10", None) in lines_of(booking)
    assert ("payment_method", None, "debit_card") in {
        (e.field, e.before, e.after) for e in rig.events(document_id)
    }


def test_a_bad_body_on_another_clients_task_answers_404_like_a_missing_one(rig: Rig):
    """Regression: complete and ask validated their body before the id, so a stranger's
    invalid body answered 422 for a task that exists (and 404 only when it did not)."""
    _, task_id, _ = rig.seed("C02", TaskKind.ASK_CLIENT)
    for path, body in (
        ("complete", {"corrections": {"total": "abc"}, "client_id": "C01"}),
        ("ask", {"nothing": "here"}),
    ):
        foreign = rig.http.post(f"/api/v1/tasks/{task_id}/{path}", headers=HANS, json=body)
        missing = rig.http.post(f"/api/v1/tasks/987654/{path}", headers=HANS, json=body)
        assert foreign.status_code == missing.status_code == 404, path
        # For staff, who see it, the same body is a 422 naming the field.
        own = rig.http.post(f"/api/v1/tasks/{task_id}/{path}", headers=ANNA, json=body)
        assert own.status_code == 422
        assert ("corrections.total" if path == "complete" else "message") in own.json()["detail"]


def test_open_tasks_are_counted_per_client_within_the_scope(rig: Rig):
    rig.seed("C01", TaskKind.REVIEW_DOCUMENT)
    rig.seed("C01", TaskKind.RELEASE_INVOICE, assignee=Party.CLIENT, assignee_user="lea")
    rig.seed("C02", TaskKind.REVIEW_DOCUMENT)
    _, done, _ = rig.seed("C02", TaskKind.ASK_CLIENT, holds=False)
    assert rig.http.post(f"/api/v1/tasks/{done}/complete", headers=ANNA).status_code == 200
    with rig.db.session() as session:
        assert count_open_by_client(session, Scope.staff()) == {"C01": 2, "C02": 1}
        assert count_open_by_client(session, Scope.client("C01")) == {"C01": 2}
        lea = Scope(client_id="C01", employee="lea", hide_payslips=True)
        assert count_open_by_client(session, lea) == {"C01": 1}
