"""Who sees which documents inside one client (DESIGN.md, "Working a task"), over HTTP on
SQLite and PostgreSQL:

- an employee sees what they submitted — app uploads under their name and mail from
  their own address — and the tasks addressed to them; nothing else of the company, not
  its bookings, not a colleague's payslip, not the tasks and bookings of their own upload;
- company users see the company's documents, but payslips (and the tasks about them) only
  where the client's `payroll_visible` is true.
Whatever a user may not see answers exactly like a missing id.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient

from domain.enums import Channel, DocType, Party, TaskKind
from domain.records import BookingDraft, BookingLine, TaskDraft
from domain.settings import Settings
from ingest.api import create_app
from ingest.intake import Submission, intake
from storage.bookings import create_booking
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import DocumentRow
from storage.tasks import create_task
from tests.factories import firm_with_passwords, load
from tests.intake_helpers import pdf_bytes

pytestmark = [pytest.mark.http]

HANS = {"Authorization": "Bearer token-hans"}  # C01, company access
LEA = {"Authorization": "Bearer token-lea"}  # C01, employee access
LEA_MAIL = "Lea Keller <Lea.Keller@muster.example>"


@dataclass
class Docs:
    lea_upload: int
    lea_mail: int
    hans_upload: int
    colleague_payslip: int
    other_mail: int


@dataclass
class Rig:
    http: TestClient
    db: Database
    docs: Docs

    def ids(self, path: str, headers: dict[str, str]) -> set[int]:
        response = self.http.get(path, headers=headers)
        assert response.status_code == 200, response.text
        return {row["id"] for row in response.json()}


def _firm(payroll_visible: bool) -> dict:
    data = firm_with_passwords()
    c01 = data["clients"][0]
    c01["payroll_visible"] = payroll_visible
    for user in c01["users"]:
        if user["username"] == "lea":
            user["email"] = "lea.keller@muster.example"
    return data


def _take_in(db: Database, store: FilesystemObjectStore, label: str, **kw) -> int:
    doc_type = kw.pop("doc_type", None)
    recorded = intake(
        db,
        store,
        Submission(client_id="C01", data=pdf_bytes(label), filename=f"{label}.pdf", **kw),
        max_bytes=10**7,
    )
    if doc_type is not None:  # as routing would have typed it
        with db.session() as session:
            session.get(DocumentRow, recorded.document_id).doc_type = doc_type.value
    return recorded.document_id


def _rig(db: Database, store: FilesystemObjectStore, settings: Settings, payroll: bool):
    load(db, _firm(payroll))
    docs = Docs(
        lea_upload=_take_in(db, store, "lea-app", channel=Channel.APP, submitted_by="lea"),
        lea_mail=_take_in(db, store, "lea-mail", channel=Channel.EMAIL, sender=LEA_MAIL),
        hans_upload=_take_in(db, store, "hans-app", channel=Channel.APP, submitted_by="hans"),
        colleague_payslip=_take_in(
            db,
            store,
            "payslip",
            channel=Channel.EMAIL,
            sender="lohn@muster.example",
            doc_type=DocType.PAYSLIP,
        ),
        other_mail=_take_in(
            db, store, "supplier-mail", channel=Channel.EMAIL, sender="a@gloor.example"
        ),
    )
    return create_app(db, store, settings, None), docs


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    app, docs = _rig(db, fs_store, settings, payroll=False)
    with TestClient(app) as http:
        yield Rig(http, db, docs)


def _task(db: Database, document_id: int, *, to: str | None = None) -> int:
    with db.session() as session:
        row, _ = create_task(
            session,
            "C01",
            TaskDraft(
                kind=TaskKind.MISSING_DOCUMENT,
                assignee=Party.CLIENT,
                reason="please",
                assignee_user=to,
            ),
            dedupe_key=f"t:{document_id}:{to}",
            document_id=document_id,
        )
        return row.id


def test_an_employee_sees_only_what_she_submitted(rig: Rig):
    docs = rig.docs
    assert rig.ids("/api/v1/documents", LEA) == {docs.lea_upload, docs.lea_mail}
    for hidden in (docs.hans_upload, docs.colleague_payslip, docs.other_mail):
        for path in (f"/api/v1/documents/{hidden}", f"/api/v1/documents/{hidden}/original"):
            response = rig.http.get(path, headers=LEA)
            assert response.status_code == 404, (path, response.text)
            missing = rig.http.get(path.replace(str(hidden), "987654"), headers=LEA)
            assert response.json()["detail"].replace(str(hidden), "N") == missing.json()[
                "detail"
            ].replace("987654", "N")
    own = rig.http.get(f"/api/v1/documents/{docs.lea_mail}/original", headers=LEA)
    assert own.status_code == 200


def test_an_employee_sees_only_the_tasks_addressed_to_her(rig: Rig):
    docs = rig.docs
    for_lea = _task(rig.db, docs.lea_upload, to="lea")
    for_company = _task(rig.db, docs.lea_upload)  # about her upload, but the company's
    assert rig.ids("/api/v1/tasks", LEA) == {for_lea}
    assert rig.http.get(f"/api/v1/tasks/{for_company}", headers=LEA).status_code == 404
    assert rig.http.get(f"/api/v1/tasks/{for_lea}", headers=LEA).status_code == 200
    # Her document names only what she may open.
    view = rig.http.get(f"/api/v1/documents/{docs.lea_upload}", headers=LEA).json()
    assert view["task_ids"] == [for_lea]
    company_view = rig.http.get(f"/api/v1/documents/{docs.lea_upload}", headers=HANS).json()
    assert company_view["task_ids"] == [for_lea, for_company]


def test_an_employee_never_sees_the_bookings_of_her_own_upload(rig: Rig):
    with rig.db.session() as session:
        booking, _ = create_booking(
            session,
            "C01",
            rig.docs.lea_upload,
            BookingDraft(
                date=date(2026, 3, 1),
                currency="CHF",
                lines=[
                    BookingLine(account="6100", debit=Decimal("10.00")),
                    BookingLine(account="2000", credit=Decimal("10.00")),
                ],
            ),
            origin_key=f"doc:{rig.docs.lea_upload}",
            post=True,
        )
        booking_id = booking.id
    view = rig.http.get(f"/api/v1/documents/{rig.docs.lea_upload}", headers=LEA).json()
    assert view["booking_ids"] == []
    assert rig.http.get(f"/api/v1/bookings/{booking_id}", headers=LEA).status_code == 403
    assert rig.http.get("/api/v1/bookings", headers=LEA).status_code == 403
    assert rig.http.get(f"/api/v1/bookings/{booking_id}", headers=HANS).status_code == 200


def test_company_users_do_not_see_payslips_unless_the_client_allows_it(rig: Rig):
    docs = rig.docs
    payslip_task = _task(rig.db, docs.colleague_payslip)
    company = rig.ids("/api/v1/documents", HANS)
    assert company == {docs.lea_upload, docs.lea_mail, docs.hans_upload, docs.other_mail}
    assert (
        rig.http.get(f"/api/v1/documents/{docs.colleague_payslip}", headers=HANS).status_code == 404
    )
    assert payslip_task not in rig.ids("/api/v1/tasks", HANS)
    assert rig.http.get(f"/api/v1/tasks/{payslip_task}", headers=HANS).status_code == 404

    load(rig.db, _firm(payroll_visible=True))

    assert docs.colleague_payslip in rig.ids("/api/v1/documents", HANS)
    assert payslip_task in rig.ids("/api/v1/tasks", HANS)
    # Still never an employee's, whatever the client allows.
    assert docs.colleague_payslip not in rig.ids("/api/v1/documents", LEA)
