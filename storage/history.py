"""A client's earlier documents, as routing needs them: duplicates and reminders.

`document_facts` holds what routing saw on each routed document (supplier, invoice
number, reference, date, total, submitter) with indexes per client, so a lookup reads
only the handful of rows that share the key — never another client's, never a scan.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import BookingStatus, DocType
from domain.records import PriorDocument
from storage.tables import BookingRow, ClientRow, DocumentFacts

LOOKUP_LIMIT = 50  # more earlier documents than this with one key are not "a duplicate"


class SqlHistory:
    """`routing.duplicates.History` for one client."""

    def __init__(self, session: Session, client_id: str):
        self.session = session
        self.client_id = client_id

    def _query(self, *conditions: Any) -> list[PriorDocument]:
        statement = (
            select(DocumentFacts, BookingRow.status)
            .outerjoin(BookingRow, BookingRow.id == DocumentFacts.booking_id)
            .where(DocumentFacts.client_id == self.client_id, *conditions)
            .order_by(DocumentFacts.document_id)
            .limit(LOOKUP_LIMIT)
        )
        return [prior_of(row, status) for row, status in self.session.execute(statement)]

    def with_invoice_number(self, invoice_number: str) -> list[PriorDocument]:
        return self._query(DocumentFacts.invoice_number == invoice_number)

    def on_date_with_total(self, on: date, total: Decimal) -> list[PriorDocument]:
        return self._query(DocumentFacts.issue_date == on, DocumentFacts.total == abs(total))

    def with_reference(self, reference: str) -> list[PriorDocument]:
        return self._query(DocumentFacts.reference == reference)


def prior_of(row: DocumentFacts, booking_status: str | None = None) -> PriorDocument:
    return PriorDocument(
        document_id=row.document_id,
        doc_type=DocType(row.doc_type),
        supplier_id=row.supplier_id,
        supplier_iban=row.supplier_iban,
        supplier_uid=row.supplier_uid,
        supplier_name=row.supplier_name,
        invoice_number=row.invoice_number,
        reference=row.reference,
        issue_date=row.issue_date,
        total=row.total,
        currency=row.currency,
        submitted_by=row.submitted_by,
        booking_id=row.booking_id,
        booking_status=BookingStatus(booking_status) if booking_status else None,
    )


def record_facts(
    session: Session,
    client_id: str,
    facts: PriorDocument,
    *,
    booking_id: int | None,
    duplicate_of: int | None,
) -> DocumentFacts:
    """Store (or refresh) one document's facts; one row per document."""
    row = session.get(DocumentFacts, facts.document_id) or DocumentFacts(
        document_id=facts.document_id, client_id=client_id
    )
    if row.client_id != client_id:
        raise ValueError(f"document {facts.document_id} belongs to client {row.client_id}")
    row.doc_type = (facts.doc_type or DocType.OTHER).value
    row.supplier_id = facts.supplier_id
    row.supplier_iban = facts.supplier_iban
    row.supplier_uid = facts.supplier_uid
    row.supplier_name = facts.supplier_name
    row.invoice_number = facts.invoice_number
    row.reference = facts.reference
    row.issue_date = facts.issue_date
    row.total = abs(facts.total) if facts.total is not None else None
    row.currency = facts.currency
    row.submitted_by = facts.submitted_by
    row.booking_id = booking_id
    row.duplicate_of = duplicate_of
    session.add(row)
    session.flush()
    return row


def lock_client(session: Session, client_id: str) -> None:
    """Serialise routing's commits per client (PostgreSQL row lock; SQLite has one writer
    anyway), so two copies of one invoice processed at the same moment cannot both miss
    each other and both be booked."""
    session.scalar(select(ClientRow.id).where(ClientRow.id == client_id).with_for_update())
