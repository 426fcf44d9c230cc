"""Helpers of the workspace tests: a firm with a second supplier whose invoices say
nothing of what they are for (so the fiduciary reviews the account, and corrections
teach it), documents taken in and processed to the end, and a browser-like login."""

import dataclasses
import io
import random
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from domain.enums import Channel
from domain.settings import Settings
from flows.pipeline import process_one
from flows.runtime import Runtime, set_runtime
from ingest.intake import Submission, intake
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import BookingRow, TaskRow
from tests.docgen import supplier_invoice
from tests.factories import GLOOR_COMPANY, RECIPIENTS, firm_with_passwords, load

KELLER = {
    "id": "S002",
    "name": "Keller Projekte AG",
    "uid": "CHE-105.805.080",
    "iban": "CH56 0483 5012 3456 7800 9",
    "address": {"street": "Marktgasse 5", "postcode": "3011", "city": "Bern"},
    # No default account: what its invoices are for is a person's call (and then learned).
}
CLIENT_LINES = {
    "C01": ("Muster Bau AG", "Bahnhofstrasse 1", "8001 Zürich"),
    "C02": ("Bäckerei Brot GmbH", "Dorfplatz 3", "3000 Bern"),
}


def firm() -> dict[str, Any]:
    """The conftest firm with passwords, Keller as a second supplier of both clients, and
    C02's contact address (requests to an offline client go there)."""
    data = firm_with_passwords()
    data["suppliers"].append(dict(KELLER))
    for client in data["clients"]:
        client["suppliers"] = ["S001", "S002"]
    data["clients"][1]["contact"] = {"email": "buchhaltung@brot.example"}
    return data


def keller_invoice(number: str, total: str, client_id: str = "C02") -> bytes:
    """A one-page invoice from Keller (text layer, no QR-bill) that names no kind of cost."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, pagesize=A4)
    sender = ["Keller Projekte AG", "Marktgasse 5", "3011 Bern", "CHE-105.805.080 MWST"]
    body = [
        f"Rechnung Nr. {number}",
        "Rechnungsdatum: 03.02.2026",
        "",
        "Arbeiten gemäss Auftrag vom Januar",
        "",
        f"Total CHF {total}",
        "Zahlbar innert 30 Tagen auf IBAN CH56 0483 5012 3456 7800 9",
    ]
    y = 790
    for line in sender:
        page.drawString(60, y, line)
        y -= 18
    y = 700
    for line in CLIENT_LINES[client_id]:
        page.drawString(320, y, line)
        y -= 18
    y = 610
    for line in body:
        page.setFont("Helvetica-Bold" if line.startswith("Rechnung Nr") else "Helvetica", 11)
        page.drawString(60, y, line)
        y -= 18
    page.showPage()
    page.save()
    return buffer.getvalue()


def gloor_invoice(client_id: str, seed: int) -> bytes:
    """Gloor's invoice with a QR-bill (docgen), paid to Gloor's known account."""
    supplier = dataclasses.replace(GLOOR_COMPANY)
    return supplier_invoice(
        random.Random(seed), supplier=supplier, recipient=RECIPIENTS[client_id], with_qr=True
    ).data


@dataclasses.dataclass
class Firm:
    db: Database
    store: FilesystemObjectStore
    settings: Settings

    def deliver(
        self, client_id: str, data: bytes, filename: str = "rechnung.pdf", **extra: Any
    ) -> int:
        """Take the document in (by mail) and process it to the end; its id."""
        recorded = intake(
            self.db,
            self.store,
            Submission(
                client_id=client_id,
                channel=extra.pop("channel", Channel.EMAIL),
                data=data,
                filename=filename,
                **extra,
            ),
            max_bytes=self.settings.max_message_bytes,
        )
        set_runtime(Runtime(settings=self.settings, db=self.db, store=self.store))
        try:
            outcome = process_one(recorded.document_id, step_runs=False)
        finally:
            set_runtime(None)
        assert outcome.state.value == "routed", outcome.error
        return recorded.document_id

    def tasks(self, document_id: int) -> dict[str, TaskRow]:
        with self.db.session() as session:
            rows = session.scalars(select(TaskRow).where(TaskRow.document_id == document_id))
            return {row.kind: row for row in rows}

    def booking(self, document_id: int) -> BookingRow:
        with self.db.session() as session:
            row = session.scalar(select(BookingRow).where(BookingRow.document_id == document_id))
            assert row is not None
            session.expunge(row)
            return row


def make_firm(db: Database, store: FilesystemObjectStore, settings: Settings) -> Firm:
    load(db, firm())
    return Firm(db, store, settings)


def login(http: TestClient, username: str, next_url: str = "/tasks") -> str:
    """Log in through /login as a browser does; returns the session's CSRF token."""
    page = http.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    answer = http.post(
        "/login",
        data={
            "username": username,
            "password": f"{username}-pw-123456",
            "csrf_token": token.group(1),
            "next": next_url,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    landing = http.get(next_url)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', landing.text)
    assert csrf is not None, landing.text[:500]
    return csrf.group(1)
