"""Documents waiting for their payment (`open_items`), and the lookups reconciliation makes.

A supplier invoice, a receipt paid by card, or one of the client's own customer invoices
becomes an open item when it is booked; a bank entry that pays it makes it `paid`
(the document resource's `payment_state`). `candidates_for` answers, for a statement's
entries, only the open items that one of them could pay — by reference, exact amount,
counterparty IBAN or name — so reconciling a statement costs its entries' candidates,
whether the client has a hundred open items or a hundred thousand (bench/reconcile.py).
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from domain.enums import BookingStatus, DocType, PaymentMethod
from domain.identifiers import normalize_company_name
from domain.reconciliation import (
    EntryToMatch,
    OpenItem,
    OpenItemKind,
    PaymentState,
    Settled,
    normalize_payment_reference,
)
from storage.tables import BookingRow, OpenItemRow, SupplierAlias, SupplierIban, SupplierRow

CHUNK = 400  # values per IN list: well under every database's parameter limit

# Receipts paid this way never show on the bank statement as their own line.
_NOT_BY_BANK = {PaymentMethod.CASH, PaymentMethod.PRIVATE, PaymentMethod.EMPLOYEE_EXPENSE}


def item_kind(doc_type: DocType, payment_method: str | None) -> OpenItemKind | None:
    """What kind of open item a booked document is, or None when no bank entry pays it."""
    if doc_type is DocType.SUPPLIER_INVOICE:
        return OpenItemKind.INVOICE
    if doc_type is DocType.CUSTOMER_INVOICE:
        return OpenItemKind.CUSTOMER_INVOICE
    if doc_type is DocType.RECEIPT:
        if payment_method and PaymentMethod(payment_method) in _NOT_BY_BANK:
            return None
        return OpenItemKind.RECEIPT
    return None


def register(
    session: Session,
    *,
    client_id: str,
    document_id: int,
    kind: OpenItemKind,
    amount: Decimal,
    currency: str,
    issue_date: date | None,
    due_date: date | None,
    reference: str | None,
    invoice_number: str | None,
    supplier_id: str | None,
    name: str | None,
    name_key: str | None,
    iban: str | None,
    counter_account: str,
    booking_id: int | None,
) -> OpenItemRow | None:
    """The document as an open item (once: a document processed again keeps its row)."""
    if amount <= 0:
        return None
    row = session.get(OpenItemRow, document_id)
    if row is not None:
        return row
    row = OpenItemRow(
        document_id=document_id,
        client_id=client_id,
        kind=kind.value,
        amount=amount,
        currency=currency,
        issue_date=issue_date,
        due_date=due_date,
        reference=normalize_payment_reference(reference),
        invoice_number=invoice_number,
        supplier_id=supplier_id,
        name=name,
        name_key=name_key or None,
        iban=iban,
        counter_account=counter_account,
        booking_id=booking_id,
        status=PaymentState.OPEN.value,
    )
    session.add(row)
    session.flush()
    return row


def follow_correction(
    session: Session, document_id: int, extraction: Any, supplier_id: str | None
) -> None:
    """A person corrected the reading of a document still waiting for its payment: it waits
    with the corrected values (a bank entry is matched against what is really owed).
    `extraction`: the document's corrected `Extraction`."""
    row = session.get(OpenItemRow, document_id)
    if row is None or row.status != PaymentState.OPEN.value:
        return
    if extraction.total is not None and extraction.total > 0:
        row.amount = extraction.total
    if extraction.currency:
        row.currency = extraction.currency
    row.issue_date = extraction.issue_date
    row.due_date = extraction.due_date
    row.reference = normalize_payment_reference(extraction.reference)
    row.invoice_number = extraction.invoice_number
    row.supplier_id = supplier_id


def payment_state(session: Session, document_id: int) -> PaymentState | None:
    state = session.scalar(select(OpenItemRow.status).where(OpenItemRow.document_id == document_id))
    return PaymentState(state) if state else None


def mark_paid(session: Session, client_id: str, document_ids: Iterable[int], by: int) -> None:
    for document_id in document_ids:
        row = session.get(OpenItemRow, document_id)
        if row is not None and row.client_id == client_id:
            row.status = PaymentState.PAID.value
            row.paid_by = by


def settled(session: Session, client_id: str, document_ids: Iterable[int]) -> dict[int, Settled]:
    """What a payment booking needs of the documents it settles."""
    rows = session.scalars(
        select(OpenItemRow).where(
            OpenItemRow.client_id == client_id, OpenItemRow.document_id.in_(list(document_ids))
        )
    )
    return {
        row.document_id: Settled(
            document_id=row.document_id,
            kind=OpenItemKind(row.kind),
            label=_label(row),
            counter_account=row.counter_account,
            supplier_id=row.supplier_id,
        )
        for row in rows
    }


def _label(row: OpenItemRow) -> str:
    what = {"invoice": "invoice", "receipt": "receipt", "customer_invoice": "invoice"}[row.kind]
    number = f" {row.invoice_number}" if row.invoice_number else ""
    of = f" of {row.name}" if row.name else ""
    return f"{what}{number}{of} (document {row.document_id})"


# --- lookups -----------------------------------------------------------------------------


def candidates_for(
    session: Session,
    client_id: str,
    entries: Sequence[EntryToMatch],
    name_key: Callable[[str], str],
) -> list[OpenItem]:
    """The client's open items any of these entries could pay (see the module docstring).
    `name_key`: how reconciliation keys a name (the same function filled `name_key`)."""
    references = {e.reference for e in entries if e.reference}
    amounts = {e.paid for e in entries}
    names = {name_key(e.counterparty_name) for e in entries if e.counterparty_name}
    ibans = {e.counterparty_iban for e in entries if e.counterparty_iban}
    supplier_ids = _suppliers_with_ibans(session, ibans) | _suppliers_with_aliases(
        session, client_id, {e.counterparty_name for e in entries if e.counterparty_name}
    )
    found: dict[int, OpenItemRow] = {}
    for column, values in (
        (OpenItemRow.reference, references),
        (OpenItemRow.amount, amounts),
        (OpenItemRow.name_key, names - {""}),
        (OpenItemRow.iban, ibans),
        (OpenItemRow.supplier_id, supplier_ids),
    ):
        for chunk in _chunks(values):
            statement = _open_of(client_id).where(column.in_(chunk))
            for row in session.scalars(statement):
                found[row.document_id] = row
    return open_items(session, client_id, list(found.values()))


def _open_of(client_id: str) -> Any:
    """Open items of the client whose booking still stands (a rejected draft is no debt).
    The booking is looked up by its key per candidate: a `NOT IN` over the client's
    discarded bookings read all of its bookings, and grew with every year of them."""
    discarded = exists().where(
        BookingRow.id == OpenItemRow.booking_id,
        BookingRow.status == BookingStatus.DISCARDED.value,
    )
    return select(OpenItemRow).where(
        OpenItemRow.client_id == client_id,
        OpenItemRow.status == PaymentState.OPEN.value,
        ~discarded,
    )


def _suppliers_with_ibans(session: Session, ibans: set[str]) -> set[str]:
    found: set[str] = set()
    for chunk in _chunks(ibans):
        found.update(
            session.scalars(select(SupplierIban.supplier_id).where(SupplierIban.iban.in_(chunk)))
        )
    return found


def _suppliers_with_aliases(session: Session, client_id: str, names: set[str]) -> set[str]:
    """Suppliers a person tied a printed name to, for this client (exact, normalised)."""
    wanted = {normalize_company_name(n) for n in names} - {""}
    found: set[str] = set()
    for chunk in _chunks(wanted):
        found.update(
            session.scalars(
                select(SupplierAlias.supplier_id).where(
                    SupplierAlias.kind == "name",
                    (SupplierAlias.client_id == client_id) | SupplierAlias.client_id.is_(None),
                    SupplierAlias.normalized.in_(chunk),
                )
            )
        )
    return found


def open_items(session: Session, client_id: str, rows: list[OpenItemRow]) -> list[OpenItem]:
    """Rows as reconciliation's `OpenItem`s, with their suppliers' known accounts and
    aliases (two queries for all of them)."""
    supplier_ids = {r.supplier_id for r in rows if r.supplier_id}
    ibans: dict[str, list[str]] = {}
    aliases: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for chunk in _chunks(supplier_ids):
        for supplier_id, iban in session.execute(
            select(SupplierIban.supplier_id, SupplierIban.iban).where(
                SupplierIban.supplier_id.in_(chunk)
            )
        ):
            ibans.setdefault(supplier_id, []).append(iban)
        for supplier_id, alias in session.execute(
            select(SupplierAlias.supplier_id, SupplierAlias.value).where(
                SupplierAlias.kind == "name",
                (SupplierAlias.client_id == client_id) | SupplierAlias.client_id.is_(None),
                SupplierAlias.supplier_id.in_(chunk),
            )
        ):
            aliases.setdefault(supplier_id, []).append(alias)
        for supplier_id, name in session.execute(
            select(SupplierRow.id, SupplierRow.name).where(SupplierRow.id.in_(chunk))
        ):
            names[supplier_id] = name
    items = []
    for row in rows:
        known = ibans.get(row.supplier_id or "", [])
        printed_name = row.name
        master_name = names.get(row.supplier_id or "")
        items.append(
            OpenItem(
                document_id=row.document_id,
                kind=OpenItemKind(row.kind),
                supplier_id=row.supplier_id,
                supplier_name=master_name or printed_name,
                supplier_aliases=tuple(
                    a
                    for a in (*aliases.get(row.supplier_id or "", []), printed_name)
                    if a and a != master_name
                ),
                supplier_ibans=tuple({*known, *([row.iban] if row.iban else [])}),
                amount=row.amount,
                currency=row.currency,
                issue_date=row.issue_date,
                due_date=row.due_date,
                reference=row.reference,
                invoice_number=row.invoice_number,
            )
        )
    return items


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    ordered = sorted(v for v in values if v is not None)
    for start in range(0, len(ordered), CHUNK):
        yield ordered[start : start + CHUNK]
