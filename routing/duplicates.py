"""Duplicates beyond identical bytes, and reminders for invoices we already have.

Identical bytes are caught at intake. Here the commercial tools' rules (DOMAIN.md):
an invoice with the same supplier, invoice number and total as an earlier one, or a
receipt with the same supplier, date, total and submitter, is a *suspected duplicate*:
a task, never a second booking. A reminder is linked to the invoice it reminds of
(payment reference, else supplier + invoice number) and books nothing.

The history is handed in (a Protocol; `storage.history.SqlHistory` answers it with
indexed queries over one client's earlier documents).
"""

import re
from datetime import date
from decimal import Decimal
from typing import Protocol

from rapidfuzz import fuzz

from domain.enums import DocType
from domain.extraction import Extraction
from domain.identifiers import normalize_company_name, normalize_iban
from domain.money import to_money
from domain.records import PriorDocument
from routing.suppliers import clean_uid

SAME_NAME = 90.0  # supplier names this alike count as the same supplier (no ids known)


class History(Protocol):
    """One client's earlier documents, by the keys duplicates are found by."""

    def with_invoice_number(self, invoice_number: str) -> list[PriorDocument]: ...
    def on_date_with_total(self, on: date, total: Decimal) -> list[PriorDocument]: ...
    def with_reference(self, reference: str) -> list[PriorDocument]: ...


def normalize_invoice_number(value: str | None) -> str | None:
    """`RE-2026/0042`, `re 2026 0042` -> `RE20260042`; all-digit numbers lose leading zeros."""
    if not value:
        return None
    compact = re.sub(r"[^0-9A-Za-z]", "", value).upper()
    if compact.isdigit():
        compact = compact.lstrip("0") or "0"
    return compact[:64] or None


def normalize_reference(value: str | None) -> str | None:
    if not value:
        return None
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()[:40] or None


def facts_of(
    document_id: int,
    doc_type: DocType,
    extraction: Extraction,
    supplier_id: str | None,
    submitted_by: str | None,
) -> PriorDocument:
    """What later documents are compared with: this document's identifying facts."""
    return PriorDocument(
        document_id=document_id,
        doc_type=doc_type,
        supplier_id=supplier_id,
        supplier_iban=normalize_iban(extraction.supplier_iban)
        if extraction.supplier_iban
        else None,
        supplier_uid=clean_uid(extraction.supplier_uid),
        supplier_name=normalize_company_name(extraction.supplier_name)[:200]
        if extraction.supplier_name
        else None,
        invoice_number=normalize_invoice_number(extraction.invoice_number),
        reference=normalize_reference(extraction.reference),
        issue_date=extraction.issue_date,
        total=to_money(extraction.total) if extraction.total is not None else None,
        currency=(extraction.currency or "").upper() or None,
        submitted_by=submitted_by,
    )


def same_supplier(a: PriorDocument, b: PriorDocument) -> bool:
    """One supplier: the same record, IBAN or UID; failing any id, a name this alike."""
    for x, y in (
        (a.supplier_id, b.supplier_id),
        (a.supplier_iban, b.supplier_iban),
        (a.supplier_uid, b.supplier_uid),
    ):
        if x and x == y:
            return True
    if a.supplier_id and b.supplier_id:
        return False  # two different records, and no identifier in common
    if a.supplier_name and b.supplier_name:
        return fuzz.ratio(a.supplier_name, b.supplier_name) >= SAME_NAME
    return False


def _same_amount(a: PriorDocument, b: PriorDocument) -> bool:
    if a.total is None or b.total is None:
        return False
    if a.currency and b.currency and a.currency != b.currency:
        return False
    return abs(a.total) == abs(b.total)


# Which earlier documents a new one can duplicate: the same paper read as another type
# (a scanned invoice classed as a receipt) is still the same expense.
_FAMILIES = {
    DocType.SUPPLIER_INVOICE: {DocType.SUPPLIER_INVOICE, DocType.RECEIPT},
    DocType.RECEIPT: {DocType.RECEIPT, DocType.SUPPLIER_INVOICE},
    DocType.CREDIT_NOTE: {DocType.CREDIT_NOTE},
    DocType.CUSTOMER_INVOICE: {DocType.CUSTOMER_INVOICE},
}


def find_duplicate(current: PriorDocument, history: History) -> PriorDocument | None:
    """The earliest earlier document this one duplicates, if any."""
    family = _FAMILIES.get(current.doc_type) if current.doc_type else None
    if not family:
        return None
    candidates: list[PriorDocument] = []
    if current.invoice_number and current.doc_type is not DocType.RECEIPT:
        candidates = [
            p
            for p in history.with_invoice_number(current.invoice_number)
            if p.doc_type in family and _same_amount(p, current) and same_supplier(p, current)
        ]
    elif current.doc_type is DocType.RECEIPT and current.issue_date and current.total is not None:
        candidates = [
            p
            for p in history.on_date_with_total(current.issue_date, abs(current.total))
            if p.doc_type in family
            and p.issue_date == current.issue_date
            and _same_amount(p, current)
            and same_supplier(p, current)
            and p.submitted_by == current.submitted_by
        ]
    earlier = [p for p in candidates if p.document_id != current.document_id]
    return min(earlier, key=lambda p: p.document_id) if earlier else None


def find_reminded_invoice(current: PriorDocument, history: History) -> PriorDocument | None:
    """The invoice a reminder is about: same payment reference, else supplier + number."""
    found: list[PriorDocument] = []
    if current.reference:
        found = [
            p
            for p in history.with_reference(current.reference)
            if p.doc_type is DocType.SUPPLIER_INVOICE
        ]
    if not found and current.invoice_number:
        found = [
            p
            for p in history.with_invoice_number(current.invoice_number)
            if p.doc_type is DocType.SUPPLIER_INVOICE and same_supplier(p, current)
        ]
    found = [p for p in found if p.document_id != current.document_id]
    if not found:
        return None
    # The one with a booking, else the earliest.
    return min(found, key=lambda p: (p.booking_id is None, p.document_id))
