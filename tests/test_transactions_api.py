"""Bank transactions over the HTTP API, on SQLite and PostgreSQL: the list (paging, filters,
scope), one transaction, the document resource's `payment_state` and a statement's
`reconciliation`, the task resource's `transaction_id`, a person's match of an entry to the
open documents it pays (`POST /api/v1/transactions/{id}/match`) with its refusals, and the
bank entry on a missing document's task page.

Rows are written through the storage layer the way statement processing leaves them (a
statement document, its transactions, open items, the entry's task), so each test states
exactly the situation it is about.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select

from domain.enums import BookingStatus, Channel, DocType, Party, TaskKind
from domain.records import BookingDraft, BookingLine, TaskDraft
from domain.settings import Settings
from ingest.intake import Submission, intake
from storage.bookings import create_booking
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import (
    BankTransactionRow,
    BookingRow,
    ClientRow,
    DocumentRow,
    OpenItemRow,
    TaskRow,
)
from storage.tasks import create_task
from storage.transactions import manual_matches
from tests.factories import GLOOR_IBAN, firm_with_passwords, load
from tests.intake_helpers import pdf_bytes
from tests.workspace_helpers import login
from web.app import create_app

pytestmark = [pytest.mark.http, pytest.mark.timeout(180)]

ANNA = {"Authorization": "Bearer staff-token-anna"}  # staff
HANS = {"Authorization": "Bearer token-hans"}  # C01, online, company access
LEA = {"Authorization": "Bearer token-lea"}  # C01, employee
FRITZ = {"Authorization": "Bearer token-fritz"}  # C02, offline, employee
STATEMENT = Path(__file__).parent / "data" / "camt" / "handmade_camt053_v04_postfinance_style.xml"
C01_IBAN = "CH4431999123000889012"


@dataclass
class Rig:
    db: Database
    store: FilesystemObjectStore
    http: TestClient
    statements: dict[str, int]  # client → its statement document

    def document(
        self,
        client_id: str,
        doc_type: DocType,
        *,
        label: str,
        submitted_by: str = "hans",
    ) -> int:
        """A routed document of this type (no open item yet)."""
        recorded = intake(
            self.db,
            self.store,
            Submission(
                client_id=client_id,
                channel=Channel.APP,
                data=pdf_bytes(f"{client_id}-{label}"),
                filename=f"{label}.pdf",
                submitted_by=submitted_by,
            ),
            max_bytes=10**7,
        )
        with self.db.session() as session:
            row = session.get(DocumentRow, recorded.document_id)
            assert row is not None
            row.state = "routed"
            row.doc_type = doc_type.value
        return recorded.document_id

    def open_item(
        self,
        client_id: str,
        amount: str,
        *,
        label: str,
        kind: str = "invoice",
        currency: str = "CHF",
        status: str = "open",
        submitted_by: str = "hans",
    ) -> int:
        """A booked document waiting for its payment (its document and its open item)."""
        doc_type = (
            DocType.CUSTOMER_INVOICE if kind == "customer_invoice" else DocType.SUPPLIER_INVOICE
        )
        document_id = self.document(client_id, doc_type, label=label, submitted_by=submitted_by)
        with self.db.session() as session:
            session.add(
                OpenItemRow(
                    document_id=document_id,
                    client_id=client_id,
                    kind=kind,
                    amount=Decimal(amount),
                    currency=currency,
                    invoice_number=f"RE-{label}",
                    supplier_id="S001" if kind != "customer_invoice" else None,
                    name="Gloor Elektro AG" if kind != "customer_invoice" else "Kunde AG",
                    counter_account="1100" if kind == "customer_invoice" else "2000",
                    status=status,
                )
            )
        return document_id

    def transaction(
        self,
        client_id: str,
        amount: str,
        *,
        status: str = "missing_document",
        currency: str = "CHF",
        with_task: bool = False,
        **fields: Any,
    ) -> int:
        """A stored transaction of the client's statement; `with_task`: the task statement
        processing gives an entry nobody explained (a missing document for the client)."""
        values: dict[str, Any] = {
            "counterparty_name": "Gloor Elektro AG",
            "counterparty_iban": GLOOR_IBAN,
            "remittance": "Rechnung RE-2026-17",
            "booking_date": date(2026, 3, 2),
            **fields,
        }
        with self.db.session() as session:
            count = len(session.scalars(select(BankTransactionRow.id)).all())
            row = BankTransactionRow(
                client_id=client_id,
                document_id=self.statements[client_id],
                account_iban=C01_IBAN,
                entry_key=f"entry-{count}",
                part=0,
                value_date=values["booking_date"],
                amount=Decimal(amount),
                currency=currency,
                status=status,
                reason="no document, no rule" if status != "matched" else "reference",
                matches=[],
                suggestions=[],
                posting_rule="Rent" if status == "rule" else None,
                **values,
            )
            session.add(row)
            session.flush()
            if with_task:
                task, _ = create_task(
                    session,
                    client_id,
                    TaskDraft(
                        kind=TaskKind.MISSING_DOCUMENT,
                        assignee=Party.CLIENT,
                        reason="Please upload the receipt or invoice for the debit",
                        due_date=date(2026, 3, 16),
                    ),
                    dedupe_key=f"tx:{row.id}:missing",
                    document_id=row.document_id,
                )
                task.transaction_id = row.id
                row.task_id = task.id
            return row.id

    def match(self, transaction_id: int, document_ids: Any, headers: dict[str, str]) -> Any:
        return self.http.post(
            f"/api/v1/transactions/{transaction_id}/match",
            headers=headers,
            json={"document_ids": document_ids},
        )


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    load(db, firm_with_passwords())
    statements = {}
    for client_id in ("C01", "C02"):
        recorded = intake(
            db,
            fs_store,
            Submission(
                client_id=client_id,
                channel=Channel.EMAIL,
                data=STATEMENT.read_bytes(),
                filename="auszug.xml",
            ),
            max_bytes=10**7,
        )
        with db.session() as session:
            row = session.get(DocumentRow, recorded.document_id)
            assert row is not None
            row.state = "routed"
            row.doc_type = DocType.BANK_STATEMENT.value
        statements[client_id] = recorded.document_id
    app = create_app(db, fs_store, settings, None)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield Rig(db, fs_store, http, statements)


def ids(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [row["id"] for row in response.json()]


# --- the list and one transaction ----------------------------------------------------------


def test_the_list_pages_in_id_order_and_filters(rig: Rig):
    mine = [
        rig.transaction("C01", "-100.00"),
        rig.transaction("C01", "250.00", status="unmatched"),
        rig.transaction("C01", "-80.00", status="matched"),
        rig.transaction("C01", "-1500.00", status="rule"),
        rig.transaction("C01", "-20.00", status="ambiguous"),
    ]
    theirs = [rig.transaction("C02", "-60.00"), rig.transaction("C02", "-70.00")]
    everything = sorted(mine + theirs)

    # Staff read everything by pages, each in id order, nothing twice, nothing missed.
    seen: list[int] = []
    after = 0
    while page := ids(rig.http.get(f"/api/v1/transactions?after={after}&limit=3", headers=ANNA)):
        assert page == sorted(page) and len(page) <= 3
        seen += page
        after = page[-1]
    assert seen == everything

    assert ids(rig.http.get("/api/v1/transactions?client=C02", headers=ANNA)) == theirs
    matched = rig.http.get("/api/v1/transactions?status=matched", headers=ANNA)
    assert ids(matched) == [mine[2]]
    assert matched.json()[0]["amount"] == "-80.00" and matched.json()[0]["status"] == "matched"
    statement = rig.statements["C02"]
    assert ids(rig.http.get(f"/api/v1/transactions?document={statement}", headers=ANNA)) == theirs
    missing_of_c01 = rig.http.get(
        "/api/v1/transactions?status=missing_document&client=C01", headers=ANNA
    )
    assert ids(missing_of_c01) == [mine[0]]

    bad = rig.http.get("/api/v1/transactions?status=paid", headers=ANNA)
    assert bad.status_code == 422 and "status" in bad.json()["detail"]
    assert "missing_document" in bad.json()["detail"]  # the message names what is valid
    assert rig.http.get("/api/v1/transactions?limit=501", headers=ANNA).status_code == 422
    assert rig.http.get("/api/v1/transactions?limit=0", headers=ANNA).status_code == 422


def test_one_transaction_is_the_resource(rig: Rig):
    tx = rig.transaction("C01", "-1234.50", reference="210000000003139471430009017")
    answer = rig.http.get(f"/api/v1/transactions/{tx}", headers=HANS)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == tx and body["client_id"] == "C01"
    assert body["document_id"] == rig.statements["C01"]
    assert body["amount"] == "-1234.50" and body["currency"] == "CHF"
    assert body["booking_date"] == "2026-03-02"
    assert body["counterparty_name"] == "Gloor Elektro AG"
    assert body["counterparty_iban"] == GLOOR_IBAN
    assert body["reference"] == "210000000003139471430009017"
    assert body["status"] == "missing_document"
    assert body["matches"] == [] and body["booking_id"] is None


def test_a_client_never_sees_another_clients_transactions(rig: Rig):
    mine = rig.transaction("C01", "-100.00")
    theirs = rig.transaction("C02", "-100.00")

    # Even asking for the other client by name shows only one's own.
    for query in ("", "?client=C02", f"?document={rig.statements['C02']}"):
        listed = ids(rig.http.get(f"/api/v1/transactions{query}", headers=HANS))
        assert theirs not in listed
        assert listed == ([] if "document" in query else [mine])

    foreign = rig.http.get(f"/api/v1/transactions/{theirs}", headers=HANS)
    missing = rig.http.get("/api/v1/transactions/987654", headers=HANS)
    assert foreign.status_code == missing.status_code == 404
    # No oracle: the answer for another client's id is the one for a missing id.
    assert foreign.json()["detail"].replace(str(theirs), "N") == missing.json()["detail"].replace(
        "987654", "N"
    )
    assert rig.match(theirs, [1], HANS).status_code == 404

    # Employees see no bank data at all, their own company's included.
    for headers in (LEA, FRITZ):
        assert rig.http.get("/api/v1/transactions", headers=headers).status_code == 403
        for tx in (mine, theirs, 987654):
            assert rig.http.get(f"/api/v1/transactions/{tx}", headers=headers).status_code == 403
            assert rig.match(tx, [1], headers).status_code == 403
    assert rig.http.get(f"/api/v1/transactions/{theirs}", headers=ANNA).status_code == 200


# --- the document and task resources -------------------------------------------------------


def test_documents_tell_their_payment_state_and_a_statement_its_reconciliation(rig: Rig):
    invoice = rig.open_item("C01", "250.00", label="open")
    paid = rig.open_item("C01", "80.00", label="paid", status="paid")
    letter = rig.document("C01", DocType.OTHER, label="letter")
    rig.transaction("C01", "-250.00")
    rig.transaction("C01", "-100.00")
    rig.transaction("C01", "-80.00", status="matched")
    rig.transaction("C01", "500.00", status="unmatched")
    rig.transaction("C01", "-20.00", status="matched", currency="EUR")

    def view(document_id: int, headers: dict[str, str] = HANS) -> dict[str, Any]:
        answer = rig.http.get(f"/api/v1/documents/{document_id}", headers=headers)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert view(invoice)["payment_state"] == "open"
    assert view(paid)["payment_state"] == "paid"
    assert view(letter)["payment_state"] is None and view(letter)["reconciliation"] is None
    assert view(invoice)["reconciliation"] is None

    reconciliation = view(rig.statements["C01"])["reconciliation"]
    assert reconciliation["transactions"] == 5
    by_status = reconciliation["by_status"]
    assert by_status["missing_document"] == {"count": 2, "amounts": {"CHF": "-350.00"}}
    assert by_status["matched"] == {"count": 2, "amounts": {"CHF": "-80.00", "EUR": "-20.00"}}
    assert by_status["unmatched"] == {"count": 1, "amounts": {"CHF": "500.00"}}
    assert by_status["rule"] == {"count": 0, "amounts": {}}
    # A statement with no transactions (yet) says so, rather than nothing.
    assert view(rig.statements["C02"], ANNA)["reconciliation"]["transactions"] == 0

    # The list carries the same, for the whole page.
    listed = {d["id"]: d for d in rig.http.get("/api/v1/documents", headers=HANS).json()}
    assert listed[invoice]["payment_state"] == "open"
    assert listed[paid]["payment_state"] == "paid"
    assert listed[rig.statements["C01"]]["reconciliation"] == reconciliation

    # An employee's own upload does not lead her to the company's bank data.
    own = rig.open_item("C01", "40.00", label="lea", submitted_by="lea")
    assert view(own, LEA)["payment_state"] is None
    assert view(own, HANS)["payment_state"] == "open"


def test_a_page_of_documents_reads_payments_in_one_query_whatever_its_size(rig: Rig):
    statements_read: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "open_items" in statement or "bank_transactions" in statement:
            statements_read.append(statement)

    for n in range(6):
        rig.open_item("C01", f"{10 + n}.00", label=f"page-{n}")
    event.listen(rig.db.engine, "before_cursor_execute", count)
    try:
        page = rig.http.get("/api/v1/documents?limit=100", headers=ANNA)
    finally:
        event.remove(rig.db.engine, "before_cursor_execute", count)
    assert page.status_code == 200 and len(page.json()) == 8  # 6 invoices, 2 statements
    # One query for the payment states, one for both statements' reconciliations.
    assert len(statements_read) == 2, statements_read


def test_a_task_names_its_bank_transaction(rig: Rig):
    tx = rig.transaction("C01", "-100.00", with_task=True)
    with rig.db.session() as session:
        task_id = session.scalar(
            select(BankTransactionRow.task_id).where(BankTransactionRow.id == tx)
        )
    one = rig.http.get(f"/api/v1/tasks/{task_id}", headers=HANS).json()
    assert one["transaction_id"] == tx and one["kind"] == "missing_document"
    listed = rig.http.get("/api/v1/tasks?kind=missing_document", headers=HANS).json()
    assert [t["transaction_id"] for t in listed] == [tx]


# --- a person's match ----------------------------------------------------------------------


def _booking(rig: Rig, booking_id: int) -> dict[str, Any]:
    answer = rig.http.get(f"/api/v1/bookings/{booking_id}", headers=ANNA)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _lines(booking: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(line["account"], line["debit"], line["credit"]) for line in booking["lines"]]


def test_a_company_user_matches_a_missing_document_and_the_invoice_is_paid(rig: Rig):
    invoice = rig.open_item("C01", "250.00", label="gloor")
    tx = rig.transaction("C01", "-250.00", with_task=True)

    answer = rig.match(tx, [invoice], HANS)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["id"] == tx and body["status"] == "matched"
    assert body["reason"] == "matched by hans"
    assert body["matches"] == [
        {
            "document_id": invoice,
            "amount": "250.00",
            "rule": "manual",
            "score": 100.0,
            "difference": "0.00",
        }
    ]
    booking = _booking(rig, body["booking_id"])
    assert booking["kind"] == "payment" and booking["status"] == "posted"
    assert booking["seq"] is not None and booking["client_id"] == "C01"
    assert booking["date"] == "2026-03-02"
    assert _lines(booking) == [("2000", "250.00", "0.00"), ("1020", "0.00", "250.00")]
    # The payment is in the booked output, like every posted booking.
    output = rig.http.get("/api/v1/bookings", headers=HANS).json()
    assert body["booking_id"] in {b["id"] for b in output}

    document = rig.http.get(f"/api/v1/documents/{invoice}", headers=HANS).json()
    assert document["payment_state"] == "paid"
    task = rig.http.get(f"/api/v1/tasks/{body['task_id']}", headers=HANS).json()
    assert task["status"] == "done" and task["outcome"] == "done"
    assert task["completed_by"] == "hans"
    assert task["transaction_id"] == tx
    assert str(invoice) in task["details"]["closed_because"]
    with rig.db.session() as session:
        item = session.get(OpenItemRow, invoice)
        assert item is not None and item.status == "paid" and item.paid_by == tx
    statement = rig.http.get(f"/api/v1/documents/{rig.statements['C01']}", headers=HANS).json()
    assert statement["reconciliation"]["by_status"]["matched"]["count"] == 1

    # Matching it again: someone did already, and nothing is booked twice.
    again = rig.match(tx, [invoice], ANNA)
    assert again.status_code == 409 and "matched by hans" in again.json()["detail"]
    with rig.db.session() as session:
        payments = session.scalars(select(BookingRow).where(BookingRow.kind == "payment")).all()
    assert len(payments) == 1


def test_several_invoices_the_last_takes_the_remainder_and_the_difference_is_booked(rig: Rig):
    first = rig.open_item("C01", "100.00", label="a")
    second = rig.open_item("C01", "155.00", label="b")
    tx = rig.transaction("C01", "-250.00", status="ambiguous")

    answer = rig.match(tx, [first, second], ANNA)

    assert answer.status_code == 200, answer.text
    matches = answer.json()["matches"]
    assert [(m["document_id"], m["amount"], m["difference"]) for m in matches] == [
        (first, "100.00", "0.00"),
        (second, "150.00", "5.00"),
    ]
    booking = _booking(rig, answer.json()["booking_id"])
    assert booking["kind"] == "payment" and booking["status"] == "posted"
    assert sorted(_lines(booking)) == sorted(
        [
            ("2000", "100.00", "0.00"),
            ("2000", "155.00", "0.00"),
            ("6900", "0.00", "5.00"),  # the 5.00 not paid: a difference, booked away
            ("1020", "0.00", "250.00"),
        ]
    )
    for document_id in (first, second):
        view = rig.http.get(f"/api/v1/documents/{document_id}", headers=ANNA).json()
        assert view["payment_state"] == "paid"


def test_a_credit_pays_a_customer_invoice(rig: Rig):
    invoice = rig.open_item("C01", "1200.00", label="kunde", kind="customer_invoice")
    tx = rig.transaction("C01", "1200.00", status="unmatched", counterparty_name="Kunde AG")

    answer = rig.match(tx, [invoice], ANNA)

    assert answer.status_code == 200, answer.text
    booking = _booking(rig, answer.json()["booking_id"])
    assert _lines(booking) == [("1100", "0.00", "1200.00"), ("1020", "1200.00", "0.00")]
    assert booking["posted_at"] is not None


def test_manual_matches_split_the_entry():
    assert [
        (m.amount, m.difference) for m in manual_matches(Decimal("90"), [(1, Decimal("90"))])
    ] == [(Decimal("90.00"), Decimal("0.00"))]
    paid_more = manual_matches(Decimal("100"), [(1, Decimal("30")), (2, Decimal("60"))])
    assert [(m.amount, m.difference) for m in paid_more] == [
        (Decimal("30.00"), Decimal("0.00")),
        (Decimal("70.00"), Decimal("-10.00")),  # more paid than open: negative difference
    ]
    assert {m.rule.value for m in paid_more} == {"manual"} and {m.score for m in paid_more} == {100}


def test_what_an_entry_cannot_pay_is_refused_naming_the_document(rig: Rig):
    debit = rig.transaction("C01", "-250.00", with_task=True)
    credit = rig.transaction("C01", "250.00", status="unmatched")
    invoice = rig.open_item("C01", "250.00", label="ok")
    small = rig.open_item("C01", "200.00", label="small")
    paid = rig.open_item("C01", "250.00", label="paid", status="paid")
    euro = rig.open_item("C01", "250.00", label="euro", currency="EUR")
    customer = rig.open_item("C01", "250.00", label="customer", kind="customer_invoice")
    letter = rig.document("C01", DocType.OTHER, label="letter")
    foreign = rig.open_item("C02", "250.00", label="foreign")
    rejected = rig.open_item("C01", "250.00", label="rejected")
    with rig.db.session() as session:
        booking, _ = create_booking(
            session,
            "C01",
            rejected,
            BookingDraft(
                date=date(2026, 3, 1),
                currency="CHF",
                lines=[
                    BookingLine(account="6100", debit=Decimal("250.00")),
                    BookingLine(account="2000", credit=Decimal("250.00")),
                ],
            ),
            origin_key=f"doc:{rejected}",
            post=False,
        )
        booking.status = BookingStatus.DISCARDED.value
        item = session.get(OpenItemRow, rejected)
        assert item is not None
        item.booking_id = booking.id

    def refused(tx: int, body: Any, *words: str, headers: dict[str, str] = HANS) -> str:
        answer = rig.http.post(f"/api/v1/transactions/{tx}/match", headers=headers, json=body)
        assert answer.status_code == 422, (body, answer.text)
        detail = answer.json()["detail"]
        for word in words:
            assert word in detail, (word, detail)
        return detail

    refused(debit, {"document_ids": []}, "document_ids")
    refused(debit, {}, "document_ids")
    refused(debit, {"document_ids": ["x"]}, "document_ids")
    refused(debit, {"document_ids": [invoice], "client_id": "C02"}, "client_id")
    refused(debit, {"document_ids": [invoice, invoice]}, str(invoice), "more than once")
    missing = refused(debit, {"document_ids": [987654]}, "no document 987654")
    # Another client's document answers exactly like a missing one.
    hidden = refused(debit, {"document_ids": [foreign]}, f"no document {foreign}")
    assert hidden.replace(str(foreign), "N") == missing.replace("987654", "N")
    refused(debit, {"document_ids": [letter]}, str(letter), "waits for no payment")
    refused(debit, {"document_ids": [paid]}, str(paid), "paid already")
    refused(debit, {"document_ids": [euro]}, str(euro), "EUR")
    refused(debit, {"document_ids": [customer]}, str(customer), "customer invoice", "debit")
    refused(credit, {"document_ids": [invoice]}, str(invoice), "credit")
    refused(debit, {"document_ids": [rejected]}, str(rejected), "rejected")
    refused(debit, {"document_ids": [invoice, small]}, str(small), "nothing is left")
    # Staff see every client, and are told plainly whose the document is.
    refused(debit, {"document_ids": [foreign]}, str(foreign), "C02", headers=ANNA)

    # Nothing of it changed anything: the entry waits, its task is open, nothing is paid.
    with rig.db.session() as session:
        row = session.get(BankTransactionRow, debit)
        assert row is not None and row.status == "missing_document" and row.booking_id is None
        task = session.get(TaskRow, row.task_id)
        assert task is not None and task.status == "open"
        states = session.scalars(select(OpenItemRow.status).where(OpenItemRow.client_id == "C01"))
        assert sorted(states) == ["open"] * 5 + ["paid"]
        assert session.scalars(select(BookingRow).where(BookingRow.kind == "payment")).all() == []

    assert rig.match(debit, [invoice], HANS).status_code == 200  # the right one is taken


def test_an_entry_reconciled_already_answers_409(rig: Rig):
    invoice = rig.open_item("C01", "250.00", label="x")
    matched = rig.transaction("C01", "-250.00", status="matched")
    ruled = rig.transaction("C01", "-250.00", status="rule")
    answer = rig.match(matched, [invoice], HANS)
    assert answer.status_code == 409 and "matched" in answer.json()["detail"]
    answer = rig.match(ruled, [invoice], HANS)
    assert answer.status_code == 409 and "posting rule 'Rent'" in answer.json()["detail"]
    view = rig.http.get(f"/api/v1/documents/{invoice}", headers=HANS).json()
    assert view["payment_state"] == "open"


def test_an_offline_clients_entries_are_the_fiduciarys_to_match(rig: Rig):
    invoice = rig.open_item("C01", "250.00", label="offline")
    tx = rig.transaction("C01", "-250.00")
    with rig.db.session() as session:
        client = session.get(ClientRow, "C01")
        assert client is not None
        client.mode = "offline"  # hans's company access predates the switch
    refused = rig.match(tx, [invoice], HANS)
    assert refused.status_code == 403 and "fiduciary" in refused.json()["detail"]
    assert rig.match(tx, [invoice], ANNA).status_code == 200


def _payment(rig: Rig, tx: int, status: BookingStatus) -> int:
    """A payment booking the entry had before (a match that was undone, or one that stands)."""
    with rig.db.session() as session:
        booking, _ = create_booking(
            session,
            "C01",
            rig.statements["C01"],
            BookingDraft(
                date=date(2026, 3, 2),
                currency="CHF",
                lines=[
                    BookingLine(account="2000", debit=Decimal("250.00")),
                    BookingLine(account="1020", credit=Decimal("250.00")),
                ],
            ),
            origin_key=f"pay:{tx}",
            post=status is BookingStatus.POSTED,
        )
        if status is BookingStatus.DISCARDED:
            booking.status = status.value
        row = session.get(BankTransactionRow, tx)
        assert row is not None
        row.booking_id = booking.id
        return booking.id


def test_a_match_after_an_undone_one_gets_a_booking_of_its_own(rig: Rig):
    invoice = rig.open_item("C01", "250.00", label="again")
    tx = rig.transaction("C01", "-250.00", status="unmatched")
    rejected = _payment(rig, tx, BookingStatus.DISCARDED)

    answer = rig.match(tx, [invoice], ANNA)

    assert answer.status_code == 200, answer.text
    booking_id = answer.json()["booking_id"]
    assert booking_id != rejected
    assert _booking(rig, booking_id)["status"] == "posted"
    assert _booking(rig, rejected)["status"] == "discarded"  # the rejected draft stays so

    # A payment that still stands is not booked over.
    standing_tx = rig.transaction("C01", "-250.00", status="unmatched")
    other = rig.open_item("C01", "250.00", label="standing")
    standing = _payment(rig, standing_tx, BookingStatus.POSTED)
    refused = rig.match(standing_tx, [other], ANNA)
    assert refused.status_code == 409 and f"payment booking {standing}" in refused.json()["detail"]
    assert (
        rig.http.get(f"/api/v1/documents/{other}", headers=ANNA).json()["payment_state"] == "open"
    )


# --- the task page ---------------------------------------------------------------------------


def test_a_missing_documents_task_page_shows_the_entry_beside_the_upload(rig: Rig):
    tx = rig.transaction(
        "C01",
        "-1234.50",
        with_task=True,
        counterparty_name="Baumarkt Hobel AG",
        remittance="Kartenzahlung Filiale Oerlikon",
        booking_date=date(2026, 3, 2),
    )
    with rig.db.session() as session:
        task_id = session.scalar(
            select(BankTransactionRow.task_id).where(BankTransactionRow.id == tx)
        )
    login(rig.http, "hans", f"/tasks/{task_id}")
    page = rig.http.get(f"/tasks/{task_id}")
    assert page.status_code == 200
    card = re.search(r'data-testid="bank-entry">(.*?)</section>', page.text, re.S)
    assert card is not None, page.text[:2000]
    entry = card.group(1)
    assert "Bankbuchung" in entry and "Belastung" in entry  # hans reads German
    assert "02.03.2026" in entry
    assert "CHF 1&#39;234.50" in entry or "CHF 1'234.50" in entry
    assert "Baumarkt Hobel AG" in entry and GLOOR_IBAN in entry
    assert "Kartenzahlung Filiale Oerlikon" in entry
    assert 'data-testid="entry-upload-hint"' in entry
    assert 'data-testid="upload-form"' in page.text  # the upload the task asks for
    assert f'action="/upload?task={task_id}"' in page.text

    # A task without a bank entry shows none.
    with rig.db.session() as session:
        other, _ = create_task(
            session,
            "C01",
            TaskDraft(kind=TaskKind.REVIEW_DOCUMENT, assignee=Party.CLIENT, reason="check"),
            dedupe_key="test:no-entry",
        )
        other_id = other.id
    assert 'data-testid="bank-entry"' not in rig.http.get(f"/tasks/{other_id}").text


def test_a_manual_match_far_from_the_amount_is_refused_not_booked_as_a_fee(rig: Rig):
    """Regression: a 5,000 payment matched to a 100 invoice booked 4,900 as a bank fee."""
    invoice = rig.open_item("C01", "100.00", label="klein")
    tx = rig.transaction("C01", "-5000.00", with_task=True)

    answer = rig.match(tx, [invoice], ANNA)

    assert answer.status_code == 422
    assert "more than the client's tolerance" in answer.json()["detail"]
    with rig.db.session() as session:
        assert session.scalars(select(BookingRow).where(BookingRow.kind == "payment")).all() == []
        assert session.get(OpenItemRow, invoice).status == "open"
