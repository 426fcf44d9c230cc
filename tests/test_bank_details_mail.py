"""The forged-IBAN mail, end to end: over real SMTP, read, routed and persisted, then
worked over the API — on SQLite and PostgreSQL.

A mail names the known supplier Gloor Elektro AG (its UID and name, its letterhead) but
carries another IBAN or QR-IBAN in its QR-bill. Nothing is posted for an offline client,
nothing can be released by an online one, until staff confirm the account (it then
becomes Gloor's, and survives a master-data reload) or reject the document (its draft is
discarded, never posted).
"""

import dataclasses
import random
import smtplib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domain.enums import BookingStatus, TaskKind
from domain.settings import Settings
from flows.pipeline import process_one
from flows.runtime import Runtime, set_runtime
from ingest.api import create_app
from ingest.smtp import start_smtp
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import BookingRow, DocumentRow, SupplierIban, TaskRow
from tests.docgen import supplier_invoice
from tests.factories import (
    C01_ADDRESS,
    C02_ADDRESS,
    GLOOR_COMPANY,
    RECIPIENTS,
    firm_with_passwords,
    load,
)
from tests.intake_helpers import mail, wire

pytestmark = [pytest.mark.smtp, pytest.mark.timeout(240)]

FORGED_IBAN = "CH5800791123000889012"
FORGED_QR_IBAN = "CH3630000000000000008"
KNOWN_IBAN = "CH9300762011623852957"
STAFF = {"Authorization": "Bearer staff-token-anna"}
HANS = {"Authorization": "Bearer token-hans"}  # C01, online, company access
INBOUND = {"C01": C01_ADDRESS, "C02": C02_ADDRESS}


@dataclass
class Asked:
    ids: list[int] = field(default_factory=list)

    def __call__(self, document_id: int) -> None:
        self.ids.append(document_id)


@dataclass
class Rig:
    db: Database
    store: FilesystemObjectStore
    settings: Settings
    smtp_port: int
    asked: Asked
    http: TestClient

    def deliver(self, client_id: str, pdf: bytes) -> int:
        """Send the invoice by mail, process it to the end, return its document id."""
        before = len(self.asked.ids)
        raw = wire(
            mail(to=INBOUND[client_id], attachments=[("rechnung.pdf", pdf, "application/pdf")])
        )
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=60) as smtp:
            assert smtp.sendmail("rechnung@gloor-elektro.example", [INBOUND[client_id]], raw) == {}
        deadline = time.monotonic() + 10  # processing is asked for on the intake's thread
        while len(self.asked.ids) <= before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.asked.ids) == before + 1
        document_id = self.asked.ids[-1]
        set_runtime(Runtime(settings=self.settings, db=self.db, store=self.store))
        try:
            outcome = process_one(document_id, step_runs=False)
        finally:
            set_runtime(None)
        assert outcome.state.value == "routed", outcome.error
        return document_id

    def tasks(self, document_id: int) -> dict[str, TaskRow]:
        with self.db.session() as session:
            rows = session.scalars(select(TaskRow).where(TaskRow.document_id == document_id))
            return {row.kind: row for row in rows}

    def booking(self, document_id: int) -> BookingRow:
        with self.db.session() as session:
            row = session.scalar(select(BookingRow).where(BookingRow.document_id == document_id))
            assert row is not None
            return row

    def gloor_ibans(self) -> dict[str, str | None]:
        with self.db.session() as session:
            rows = session.scalars(select(SupplierIban).where(SupplierIban.supplier_id == "S001"))
            return {row.iban: row.confirmed_by for row in rows}


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    load(db, firm_with_passwords())
    settings = settings.model_copy(update={"smtp_port": 0})
    asked = Asked()
    smtp = start_smtp(db, fs_store, settings, asked)
    try:
        with TestClient(create_app(db, fs_store, settings, None)) as http:
            yield Rig(db, fs_store, settings, smtp.port, asked, http)
    finally:
        smtp.stop()


def gloor_invoice(
    client_id: str, *, iban: str | None = None, qr_iban: str | None = None, seed: int = 7
) -> bytes:
    """Gloor's invoice with a QR-bill, paid to the given account (Gloor's own by default)."""
    supplier = dataclasses.replace(GLOOR_COMPANY, iban=iban or GLOOR_COMPANY.iban, qr_iban=qr_iban)
    document = supplier_invoice(
        random.Random(seed), supplier=supplier, recipient=RECIPIENTS[client_id], with_qr=True
    )
    return document.data


@pytest.mark.parametrize(
    "account", [{"iban": FORGED_IBAN}, {"qr_iban": FORGED_QR_IBAN}], ids=["iban", "qr_iban"]
)
def test_offline_client_forged_account_is_not_posted_until_staff_confirm_it(rig: Rig, account):
    document_id = rig.deliver("C02", gloor_invoice("C02", **account))
    printed = account.get("iban") or account["qr_iban"]

    tasks = rig.tasks(document_id)
    assert set(tasks) == {TaskKind.BANK_DETAILS.value}
    bank = tasks[TaskKind.BANK_DETAILS.value]
    assert bank.assignee == "fiduciary"
    assert "bank details differ from the supplier's" in bank.reason
    assert "CH93 0076 2011 6238 5295 7" in bank.reason
    assert rig.booking(document_id).status == BookingStatus.DRAFT.value
    assert rig.http.get("/api/v1/bookings", headers=STAFF).json() == []
    assert printed not in rig.gloor_ibans()

    answer = rig.http.post(f"/api/v1/tasks/{bank.id}/complete", headers=STAFF)

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "posted"
    assert answer.json()["completed_by"] == "anna"
    assert rig.booking(document_id).status == BookingStatus.POSTED.value
    assert rig.gloor_ibans() == {KNOWN_IBAN: None, printed: "anna"}
    # A reload of the master data keeps what a person confirmed.
    load(rig.db, firm_with_passwords())
    assert rig.gloor_ibans() == {KNOWN_IBAN: None, printed: "anna"}
    # The next invoice paid to that account posts without a person.
    again = rig.deliver("C02", gloor_invoice("C02", **account, seed=8))
    assert rig.tasks(again) == {}
    assert rig.booking(again).status == BookingStatus.POSTED.value


def test_online_client_cannot_release_before_staff_verify_the_bank_details(rig: Rig):
    document_id = rig.deliver("C01", gloor_invoice("C01", iban=FORGED_IBAN))

    tasks = rig.tasks(document_id)
    assert set(tasks) == {TaskKind.BANK_DETAILS.value, TaskKind.RELEASE_INVOICE.value}
    release = tasks[TaskKind.RELEASE_INVOICE.value]
    bank = tasks[TaskKind.BANK_DETAILS.value]

    refused = rig.http.post(f"/api/v1/tasks/{release.id}/complete", headers=HANS)
    assert refused.status_code == 409
    assert "bank details" in refused.json()["detail"]
    # Nor can the client confirm the account itself.
    assert rig.http.post(f"/api/v1/tasks/{bank.id}/complete", headers=HANS).status_code == 403
    assert rig.booking(document_id).status == BookingStatus.DRAFT.value

    assert rig.http.post(f"/api/v1/tasks/{bank.id}/complete", headers=STAFF).status_code == 200
    assert rig.booking(document_id).status == BookingStatus.DRAFT.value  # still the client's

    released = rig.http.post(f"/api/v1/tasks/{release.id}/complete", headers=HANS)
    assert released.status_code == 200
    assert released.json()["outcome"] == "posted"
    assert rig.booking(document_id).status == BookingStatus.POSTED.value


@pytest.mark.parametrize("client_id", ["C01", "C02"])
def test_staff_reject_a_forged_invoice_nothing_is_ever_posted(rig: Rig, client_id: str):
    document_id = rig.deliver(client_id, gloor_invoice(client_id, iban=FORGED_IBAN))
    bank = rig.tasks(document_id)[TaskKind.BANK_DETAILS.value]

    answer = rig.http.post(
        f"/api/v1/tasks/{bank.id}/reject",
        headers=STAFF,
        json={"reason": "bank_details_forged"},
    )

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "rejected"
    assert rig.booking(document_id).status == BookingStatus.DISCARDED.value
    assert all(t.status == "done" for t in rig.tasks(document_id).values())
    assert FORGED_IBAN not in rig.gloor_ibans()
    with rig.db.session() as session:
        document = session.get(DocumentRow, document_id)
        assert document is not None
        assert document.meta["rejected"]["reason"] == "bank_details_forged"
    # A client's release of a rejected document cannot post it any more.
    if client_id == "C01":
        release = rig.tasks(document_id)[TaskKind.RELEASE_INVOICE.value]
        rig.http.post(f"/api/v1/tasks/{release.id}/complete", headers=HANS)
    assert rig.http.get("/api/v1/bookings", headers=STAFF).json() == []


def test_known_account_posts_without_a_person(rig: Rig):
    document_id = rig.deliver("C02", gloor_invoice("C02"))

    assert rig.tasks(document_id) == {}
    assert rig.booking(document_id).status == BookingStatus.POSTED.value


def test_supplier_without_an_account_on_file_is_held(rig: Rig):
    data = firm_with_passwords()
    data["suppliers"] = [{**data["suppliers"][0], "iban": None}]
    load(rig.db, data)
    document_id = rig.deliver("C02", gloor_invoice("C02"))

    bank = rig.tasks(document_id)[TaskKind.BANK_DETAILS.value]
    assert "has no account on file" in bank.reason
    assert rig.booking(document_id).status == BookingStatus.DRAFT.value
