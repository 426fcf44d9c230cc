"""Documents: recording them at intake, claiming them for processing, their states.

Claiming is one conditional UPDATE (compare-and-set), so two workers can never both own a
document; a lease that runs out makes it claimable again (a crashed worker's documents
come back by themselves). Staff can have a document read again from scratch
(`reread_document`, `fiduflow reread`) unless it has a posted booking.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.enums import (
    Channel,
    DocType,
    DocumentClass,
    DocumentState,
    PaymentMethod,
    RoutingRule,
    TaskStatus,
)
from domain.field_boxes import corrected_fields, with_fields
from domain.reconciliation import PaymentState
from domain.records import DocumentOrigin, DocumentView, HistoryEntry, SupplierMatch
from storage.audit import document_history, histories_of
from storage.scope import Scope
from storage.tables import (
    BookingRow,
    DocumentFacts,
    DocumentRow,
    ExtractionRow,
    OpenItemRow,
    ReadingCache,
    TaskRow,
    utcnow,
)
from storage.tasks import mark_done
from storage.transactions import statement_reconciliations


@dataclass
class NewDocument:
    client_id: str
    channel: Channel
    filename: str
    media_type: str
    size: int
    sha256: str
    sender: str | None = None
    submitted_by: str | None = None
    message_id: str | None = None
    message_row_id: int | None = None
    idempotency_key: str | None = None
    payment_method: str | None = None
    document_class: str | None = None
    note: str | None = None
    doc_date: date | None = None
    parent_id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recorded:
    document_id: int
    state: DocumentState
    duplicate_of: int | None
    created: bool  # False: an earlier request with the same idempotency key made it


class IdempotencyConflict(Exception):
    """Same Idempotency-Key, different bytes."""


def record_document(session: Session, new: NewDocument) -> Recorded:
    """Insert the document row; the same bytes for the same client become a duplicate.

    Runs inside the caller's transaction; a concurrent insert of the same content is
    caught by the unique constraint and turned into a duplicate, not an error.
    """
    for _ in range(3):
        # Looked up on every try: when a concurrent request with the same key wins the race,
        # our insert fails on the key's unique constraint, and the answer is *its* document
        # (PostgreSQL: before, the retries only looked for the content and failed all three).
        if new.idempotency_key:
            earlier = session.scalar(
                select(DocumentRow).where(
                    DocumentRow.client_id == new.client_id,
                    DocumentRow.idempotency_key == new.idempotency_key,
                )
            )
            if earlier is not None:
                if earlier.sha256 != new.sha256:
                    raise IdempotencyConflict(new.idempotency_key)
                return Recorded(
                    earlier.id, DocumentState(earlier.state), earlier.duplicate_of, False
                )
        original = session.scalar(
            select(DocumentRow).where(
                DocumentRow.client_id == new.client_id, DocumentRow.original_key == new.sha256
            )
        )
        row = _row(new)
        if original is not None:
            row.state = DocumentState.DUPLICATE.value
            row.duplicate_of = original.id
            row.original_key = None
            row.processed_at = utcnow()
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:
            continue  # someone recorded the same content (or key) a moment ago: look again
        return Recorded(row.id, DocumentState(row.state), row.duplicate_of, True)
    raise RuntimeError("could not record document after concurrent conflicts")


def _row(new: NewDocument) -> DocumentRow:
    return DocumentRow(
        client_id=new.client_id,
        channel=new.channel.value,
        filename=new.filename,
        media_type=new.media_type,
        size=new.size,
        sha256=new.sha256,
        original_key=new.sha256,
        sender=new.sender,
        submitted_by=new.submitted_by,
        message_id=new.message_id,
        message_row_id=new.message_row_id,
        idempotency_key=new.idempotency_key,
        payment_method=new.payment_method,
        document_class=new.document_class,
        note=new.note,
        doc_date=new.doc_date,
        parent_id=new.parent_id,
        meta=new.meta,
        state=DocumentState.RECEIVED.value,
        received_at=utcnow(),
    )


# --- processing ----------------------------------------------------------------------


def _claimable(now: datetime) -> ColumnElement[bool]:
    due = or_(DocumentRow.next_attempt_at.is_(None), DocumentRow.next_attempt_at <= now)
    return or_(
        and_(DocumentRow.state == DocumentState.RECEIVED.value, due),
        and_(DocumentRow.state == DocumentState.PROCESSING.value, DocumentRow.lease_until < now),
    )


def claim(session: Session, document_id: int, owner: str, lease: timedelta) -> bool:
    """Take the document for processing if nobody holds a live lease on it."""
    now = utcnow()
    result = session.execute(
        update(DocumentRow)
        .where(DocumentRow.id == document_id, _claimable(now))
        .values(
            state=DocumentState.PROCESSING.value,
            lease_owner=owner,
            lease_until=now + lease,
            attempts=DocumentRow.attempts + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def claimable_ids(session: Session, limit: int) -> list[int]:
    now = utcnow()
    statement = select(DocumentRow.id).where(_claimable(now)).order_by(DocumentRow.id).limit(limit)
    return list(session.scalars(statement))


def claim_batch(session: Session, owner: str, lease: timedelta, limit: int) -> list[int]:
    """Claim up to `limit` due documents (received, retry due, or lease expired)."""
    return [i for i in claimable_ids(session, limit) if claim(session, i, owner, lease)]


def renew_leases(session: Session, owner: str, lease: timedelta) -> int:
    """Push out the lease of every document `owner` is processing; how many it holds."""
    result = session.execute(
        update(DocumentRow)
        .where(
            DocumentRow.lease_owner == owner,
            DocumentRow.state == DocumentState.PROCESSING.value,
        )
        .values(lease_until=utcnow() + lease)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined]  # a CursorResult


def release(
    session: Session, document_id: int, owner: str, *, again_after: timedelta | None = None
) -> bool:
    """Give a document `owner` is processing back, as if never claimed: `received`, no
    lease, the attempt not counted (its run was cancelled, the document did nothing
    wrong). It is due again at once, or after `again_after` (a run an operator cancelled
    is not started again the next moment). False when `owner` no longer holds it."""
    now = utcnow()
    result = session.execute(
        update(DocumentRow)
        .where(
            DocumentRow.id == document_id,
            DocumentRow.lease_owner == owner,
            DocumentRow.state == DocumentState.PROCESSING.value,
        )
        .values(
            state=DocumentState.RECEIVED.value,
            lease_owner=None,
            lease_until=None,
            next_attempt_at=None if again_after is None else now + again_after,
            attempts=DocumentRow.attempts - 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]  # a CursorResult


def count_in_flight(session: Session) -> dict[str, int]:
    """Documents in flight: held by a live worker, orphaned (the worker died: the next
    `process-inbox` sweep reclaims them), or waiting for their retry."""
    now = utcnow()
    processing = DocumentRow.state == DocumentState.PROCESSING.value
    received = DocumentRow.state == DocumentState.RECEIVED.value

    def count(*where: ColumnElement[bool]) -> int:
        return session.scalar(select(func.count()).select_from(DocumentRow).where(*where)) or 0

    return {
        "processing": count(processing, DocumentRow.lease_until >= now),
        "lease_expired": count(processing, DocumentRow.lease_until < now),
        "waiting_for_retry": count(received, DocumentRow.next_attempt_at > now),
    }


def expired_lease_owners(session: Session) -> set[str]:
    """Who held the documents whose lease ran out: workers that died holding them."""
    now = utcnow()
    owners = session.scalars(
        select(DocumentRow.lease_owner).where(
            DocumentRow.state == DocumentState.PROCESSING.value, DocumentRow.lease_until < now
        )
    ).all()
    return {owner for owner in owners if owner}


def holds_lease(session: Session, document_id: int, owner: str) -> bool:
    row = session.get(DocumentRow, document_id)
    return bool(row and row.state == DocumentState.PROCESSING.value and row.lease_owner == owner)


def release_for_retry(
    session: Session, document_id: int, owner: str, error: str, delay: timedelta
) -> None:
    session.execute(
        update(DocumentRow)
        .where(DocumentRow.id == document_id, DocumentRow.lease_owner == owner)
        .values(
            state=DocumentState.RECEIVED.value,
            lease_owner=None,
            lease_until=None,
            next_attempt_at=utcnow() + delay,
            error=error,
        )
        .execution_options(synchronize_session=False)
    )


def mark_final(
    session: Session,
    row: DocumentRow,
    state: DocumentState,
    *,
    error: str | None = None,
) -> None:
    """The document's final state. `error` is the error it ends with; None (a document
    that made it) clears the error an earlier, failed try left behind."""
    row.state = state.value
    row.lease_owner = None
    row.lease_until = None
    row.next_attempt_at = None
    row.processed_at = utcnow()
    row.error = error


def record_supplier(row: DocumentRow, supplier_id: str | None, match: dict[str, Any]) -> None:
    """The supplier routing settled on (None: none, or one not yet confirmed) and how the
    match was made."""
    row.supplier_id = supplier_id
    row.supplier_match = match


def record_routing(row: DocumentRow, doc_type: str | None, routing: dict[str, Any]) -> None:
    """What the document is and how it was routed (rule, reasons, links)."""
    row.doc_type = doc_type
    row.routing = routing


def bookings_and_tasks(
    session: Session, document_id: int
) -> tuple[list[BookingRow], list[TaskRow]]:
    """Every booking and task made for the document, each in id order."""
    bookings = session.scalars(
        select(BookingRow).where(BookingRow.document_id == document_id).order_by(BookingRow.id)
    )
    tasks = session.scalars(
        select(TaskRow).where(TaskRow.document_id == document_id).order_by(TaskRow.id)
    )
    return list(bookings), list(tasks)


def children_of(
    session: Session, client_id: str, parent_id: int
) -> list[tuple[int, dict[str, Any] | None]]:
    """The documents taken in as parts of a pile: (id, meta) of each, in no set order."""
    rows = session.execute(
        select(DocumentRow.id, DocumentRow.meta).where(
            DocumentRow.client_id == client_id, DocumentRow.parent_id == parent_id
        )
    )
    return [(document_id, meta) for document_id, meta in rows]


def origin_of(row: DocumentRow) -> DocumentOrigin:
    """How the document came in, as intake recorded it (what routing knows beside the
    reading)."""
    return DocumentOrigin(
        channel=Channel(row.channel),
        filename=row.filename,
        received_at=row.received_at,
        submitted_by=row.submitted_by,
        payment_method=PaymentMethod(row.payment_method) if row.payment_method else None,
        document_class=DocumentClass(row.document_class) if row.document_class else None,
        note=row.note,
    )


def lock_document(session: Session, document_id: int) -> DocumentRow | None:
    """The row, locked for the rest of the transaction (PostgreSQL; SQLite has one writer)."""
    return session.scalar(
        select(DocumentRow).where(DocumentRow.id == document_id).with_for_update()
    )


def save_extraction(
    session: Session, document_id: int, client_id: str, data: dict[str, Any], text: str
) -> None:
    row = session.get(ExtractionRow, document_id)
    if row is None:
        session.add(
            ExtractionRow(document_id=document_id, client_id=client_id, data=data, text=text)
        )
    else:
        row.data = data
        row.text = text


def cached_reading(session: Session, sha256: str, version: str) -> dict[str, Any] | None:
    row = session.get(ReadingCache, (sha256, version))
    return row.data if row else None


def cache_reading(session: Session, sha256: str, version: str, data: dict[str, Any]) -> None:
    existing = session.get(ReadingCache, (sha256, version))
    if existing is not None:
        if existing.data.get("error"):
            existing.data = data  # a failure stored by an older version: the reading wins
        return
    try:
        with session.begin_nested():
            session.add(ReadingCache(sha256=sha256, reader_version=version, data=data))
    except IntegrityError:
        pass  # a parallel worker cached the same bytes first; theirs is as good


def drop_cached_readings(session: Session, sha256: str) -> int:
    """Forget every stored reading of these bytes (all reader versions); how many went."""
    result = session.execute(delete(ReadingCache).where(ReadingCache.sha256 == sha256))
    return result.rowcount or 0  # type: ignore[attr-defined]  # a CursorResult


# --- reading a document again (staff) ----------------------------------------------


class RereadRefused(Exception):
    """The document cannot be read again; the message says why and what to do instead."""


@dataclass
class Reread:
    """What `reread_document` did."""

    document_id: int
    client_id: str
    filename: str
    previous_state: str
    readings_dropped: int  # stored readings of its bytes that were forgotten
    drafts_removed: list[int] = field(default_factory=list)  # never-posted bookings
    tasks_closed: list[int] = field(default_factory=list)  # open tasks of the old reading


def reread_document(session: Session, document_id: int, by: str) -> Reread:
    """Read a document again from scratch: forget the stored reading of its bytes and
    put it back to `received`, where the next sweep (or a processing run) takes it.

    What the earlier reading made goes with it: its open tasks are closed (done, by
    `by`), its never-posted bookings (drafts, discarded drafts) are removed, its routing
    facts forgotten, and its tasks' dedupe keys retired, so that the new reading makes
    its own tasks and booking. Refused (RereadRefused) for a document with a posted
    booking (posted bookings never change: correct or reverse it instead), a duplicate
    (read its original), and one being processed under a live lease.
    """
    row = lock_document(session, document_id)
    if row is None:
        raise RereadRefused(f"there is no document {document_id}")
    state = DocumentState(row.state)
    if state is DocumentState.DUPLICATE:
        raise RereadRefused(
            f"document {row.id} is a duplicate of document {row.duplicate_of} and was never "
            f"read itself: read document {row.duplicate_of} again instead"
        )
    now = utcnow()
    if state is DocumentState.PROCESSING and row.lease_until and row.lease_until > now:
        raise RereadRefused(
            f"document {row.id} is being processed right now (by {row.lease_owner}); "
            "try again when it is done"
        )
    bookings = list(
        session.scalars(
            select(BookingRow).where(BookingRow.document_id == row.id).order_by(BookingRow.id)
        )
    )
    booked = [b for b in bookings if b.seq is not None]  # posted, reversed, reversals
    if booked:
        first = booked[0]
        raise RereadRefused(
            f"document {row.id} is routed with a posted booking (booking {first.id}, "
            f"{first.status}, seq {first.seq}); posted bookings never change, so it is not "
            f"read again: correct it on its task, or reverse it "
            f"(POST /api/v1/bookings/{first.id}/reverse)"
        )
    done = Reread(
        document_id=row.id,
        client_id=row.client_id,
        filename=row.filename,
        previous_state=row.state,
        readings_dropped=drop_cached_readings(session, row.sha256),
    )
    for task in session.scalars(
        select(TaskRow).where(TaskRow.document_id == row.id).order_by(TaskRow.id)
    ):
        if task.status == TaskStatus.OPEN.value:
            mark_done(session, task, by)
            done.tasks_closed.append(task.id)
        # The new reading's tasks are made under the same keys ("doc:17:unreadable").
        if ":reread:" not in task.dedupe_key:
            task.dedupe_key = f"{task.dedupe_key}:reread:{task.id}"[:200]
    drafts = [b.id for b in bookings]
    if drafts:
        # Nothing may point at a removed draft: tasks (this document's and links from
        # other documents' tasks) and routing facts let go of it first.
        session.execute(
            update(TaskRow)
            .where(TaskRow.booking_id.in_(drafts))
            .values(booking_id=None)
            .execution_options(synchronize_session="fetch")
        )
        session.execute(
            update(DocumentFacts)
            .where(DocumentFacts.booking_id.in_(drafts))
            .values(booking_id=None)
            .execution_options(synchronize_session="fetch")
        )
        session.flush()
        for booking in bookings:
            session.delete(booking)
        done.drafts_removed = drafts
    facts = session.get(DocumentFacts, row.id)
    if facts is not None:
        session.delete(facts)
    row.state = DocumentState.RECEIVED.value
    row.lease_owner = None
    row.lease_until = None
    row.next_attempt_at = None
    row.processed_at = None
    row.attempts = 0  # a fresh set of tries
    row.error = None
    row.doc_type = None
    row.supplier_id = None
    row.supplier_match = None
    row.routing = None
    session.flush()
    return done


# --- reading documents for users ----------------------------------------------------


def get_document_row(session: Session, scope: Scope, document_id: int) -> DocumentRow | None:
    row = session.get(DocumentRow, document_id)
    if row is None or not scope.sees_document(row):
        return None  # what a scope may not see looks exactly like a missing id
    return row


def document_views(session: Session, rows: list[DocumentRow], scope: Scope) -> list[DocumentView]:
    """A page of document resources, their histories and payments read in one query each."""
    histories = histories_of(session, [row.id for row in rows])
    payments = payments_of(session, rows, scope)
    return [
        document_view(session, row, scope, history=histories.get(row.id, []), payments=payments)
        for row in rows
    ]


@dataclass(frozen=True)
class Payments:
    """What the bank said about documents: invoices' payment states, statements'
    reconciliations (by document id; absent: none)."""

    states: dict[int, PaymentState] = field(default_factory=dict)
    reconciliations: dict[int, dict[str, Any]] = field(default_factory=dict)


def payments_of(session: Session, rows: list[DocumentRow], scope: Scope) -> Payments:
    """The payments of a page of documents, in two queries whatever the page's size. Bank
    data is bookkeeping: a scope that does not see the bookkeeping (an employee) gets none."""
    if not scope.sees_bookkeeping or not rows:
        return Payments()
    ids = [row.id for row in rows]
    states = {
        document_id: PaymentState(status)
        for document_id, status in session.execute(
            select(OpenItemRow.document_id, OpenItemRow.status).where(
                OpenItemRow.document_id.in_(ids)
            )
        )
    }
    statements = [row.id for row in rows if row.doc_type == DocType.BANK_STATEMENT.value]
    reconciliations = statement_reconciliations(session, statements) if statements else {}
    return Payments(states, reconciliations)


def document_view(
    session: Session,
    row: DocumentRow,
    scope: Scope | None = None,
    *,
    history: list[HistoryEntry] | None = None,
    payments: Payments | None = None,
) -> DocumentView:
    """The document resource; with a scope, its booking and task ids are only those the
    scope may open (an employee's own upload does not lead to the company's bookings).
    `history` and `payments`: already read for a page (`document_views`), else read here."""
    scope = scope or Scope.staff()
    if payments is None:
        payments = payments_of(session, [row], scope)
    extraction = session.get(ExtractionRow, row.id)
    data = extraction.data if extraction else None
    if history is None:
        history = document_history(session, row.id)
    booking_ids = list(
        session.scalars(
            select(BookingRow.id)
            .where(BookingRow.document_id == row.id, scope.booking_filter())
            .order_by(BookingRow.id)
        )
    )
    task_ids = list(
        session.scalars(
            select(TaskRow.id)
            .where(TaskRow.document_id == row.id, scope.task_filter())
            .order_by(TaskRow.id)
        )
    )
    return DocumentView(
        id=row.id,
        client_id=row.client_id,
        channel=Channel(row.channel),
        filename=row.filename,
        sha256=row.sha256,
        size=row.size,
        state=DocumentState(row.state),
        doc_type=row.doc_type,
        pages=int(data.get("pages") or 0) if data else 0,
        extraction=with_fields(data, corrected_fields(history)) if data else None,
        supplier_id=row.supplier_id,
        supplier_match=SupplierMatch(**row.supplier_match) if row.supplier_match else None,
        booking_ids=booking_ids,
        task_ids=task_ids,
        duplicate_of=row.duplicate_of,
        parent_id=row.parent_id,
        children=_children(session, row, scope),
        received_at=row.received_at,
        payment_method=row.payment_method,
        document_class=row.document_class,
        note=row.note,
        error=row.error,
        routing=_routing_for(row.routing, scope),
        history=history,
        payment_state=payments.states.get(row.id),
        reconciliation=payments.reconciliations.get(row.id),
    )


def _children(session: Session, row: DocumentRow, scope: Scope) -> list[int]:
    """The documents a split pile was cut into (its routing lists them), those the scope
    may open, in page order."""
    ids = [int(i) for i in (row.routing or {}).get("children", [])]
    if not ids:
        return []
    visible = set(
        session.scalars(scope.documents(select(DocumentRow.id)).where(DocumentRow.id.in_(ids)))
    )
    return [i for i in ids if i in visible]


# Rules whose very name tells something only staff may know, and what others see instead.
STAFF_ONLY_RULES = {RoutingRule.RECIPIENT_OTHER_CLIENT: RoutingRule.RECIPIENT_MISMATCH}


def _routing_for(routing: dict[str, Any] | None, scope: Scope) -> dict[str, Any] | None:
    """The routing record as this scope may read it: a client's user does not learn that
    a misaddressed document names another client of the firm."""
    if routing is None or scope.client_id is None:
        return routing
    rule = routing.get("rule")
    if rule in STAFF_ONLY_RULES:
        return {**routing, "rule": STAFF_ONLY_RULES[rule]}
    return routing


def list_documents(
    session: Session,
    scope: Scope,
    *,
    state: DocumentState | None = None,
    submitted_by: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[DocumentRow]:
    statement = scope.documents(select(DocumentRow))
    if state is not None:
        statement = statement.where(DocumentRow.state == state.value)
    if submitted_by is not None:
        statement = statement.where(DocumentRow.submitted_by == submitted_by)
    if before_id is not None:
        statement = statement.where(DocumentRow.id < before_id)
    return list(session.scalars(statement.order_by(DocumentRow.id.desc()).limit(limit)))


def count_by_state(session: Session, scope: Scope) -> dict[str, int]:
    statement = scope.documents(select(DocumentRow.state, func.count()).group_by(DocumentRow.state))
    return {state: count for state, count in session.execute(statement)}
