"""What `close-period` reads of one client: what still blocks closing a period, and the
period-close tasks an earlier run left open (flows/close_period.py groups the blockers by
responsible party and keeps the tasks)."""

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import BookingStatus, DocumentState, TaskKind, TaskStatus
from storage.tables import BookingRow, DocumentRow, TaskRow

# Documents that have not (or not successfully) been through processing.
UNPROCESSED_STATES = (
    DocumentState.RECEIVED.value,
    DocumentState.PROCESSING.value,
    DocumentState.FAILED.value,
)


def unprocessed_documents(
    session: Session, client_id: str, received_before: datetime
) -> list[tuple[int, str | None]]:
    """(id, doc type) of the client's documents received before the instant and still
    received, processing or failed, in id order."""
    rows = session.execute(
        select(DocumentRow.id, DocumentRow.doc_type)
        .where(
            DocumentRow.client_id == client_id,
            DocumentRow.received_at < received_before,
            DocumentRow.state.in_(UNPROCESSED_STATES),
        )
        .order_by(DocumentRow.id)
    )
    return [(document_id, doc_type) for document_id, doc_type in rows]


def open_tasks_created_before(
    session: Session, client_id: str, created_before: datetime
) -> list[tuple[int, str, str | None]]:
    """(id, kind, its document's doc type) of the client's open tasks created before the
    instant, period-close tasks left out, in id order."""
    rows = session.execute(
        select(TaskRow.id, TaskRow.kind, DocumentRow.doc_type)
        .outerjoin(DocumentRow, DocumentRow.id == TaskRow.document_id)
        .where(
            TaskRow.client_id == client_id,
            TaskRow.status == TaskStatus.OPEN.value,
            TaskRow.created_at < created_before,
            TaskRow.kind != TaskKind.PERIOD_CLOSE.value,
        )
        .order_by(TaskRow.id)
    )
    return [(task_id, kind, doc_type) for task_id, kind, doc_type in rows]


def drafts_dated_until(
    session: Session, client_id: str, last: date
) -> list[tuple[int, str | None]]:
    """(id, its document's doc type) of the client's draft bookings dated up to `last`,
    in id order."""
    rows = session.execute(
        select(BookingRow.id, DocumentRow.doc_type)
        .outerjoin(DocumentRow, DocumentRow.id == BookingRow.document_id)
        .where(
            BookingRow.client_id == client_id,
            BookingRow.status == BookingStatus.DRAFT.value,
            BookingRow.date <= last,
        )
        .order_by(BookingRow.id)
    )
    return [(booking_id, doc_type) for booking_id, doc_type in rows]


def open_close_tasks(session: Session, client_id: str, key_prefix: str) -> list[TaskRow]:
    """The client's open tasks whose dedupe key starts with `key_prefix` (one period's
    close tasks: `close:<client>:<period>:`)."""
    return list(
        session.scalars(
            select(TaskRow).where(
                TaskRow.client_id == client_id,
                TaskRow.dedupe_key.like(key_prefix + "%"),
                TaskRow.status == TaskStatus.OPEN.value,
            )
        )
    )
