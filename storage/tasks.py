"""Tasks for people: created at most once per document and kind (dedupe key).

A task that *holds* its document's draft booking (a release, an approval, a review, a
supplier to confirm, a question to the client) posts that booking when it is completed
and no other such task on it is still open: the booking is posted once every open
question about it has been answered, by whoever was entitled to answer it.
"""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.enums import Access, BookingStatus, Party, TaskKind, TaskStatus
from domain.records import TaskDraft, TaskView, User
from storage.scope import Scope
from storage.tables import BookingRow, TaskRow, utcnow

# Kinds that hold a draft booking until they are done.
HOLDING_KINDS = frozenset(
    {
        TaskKind.RELEASE_INVOICE.value,
        TaskKind.APPROVE_EXPENSE.value,
        TaskKind.REVIEW_DOCUMENT.value,
        TaskKind.CONFIRM_SUPPLIER.value,
        TaskKind.ASK_CLIENT.value,
    }
)
# Details only the fiduciary's staff may read (another client's identity).
STAFF_ONLY_DETAILS = frozenset({"other_client"})


def create_task(
    session: Session,
    client_id: str,
    draft: TaskDraft,
    *,
    dedupe_key: str,
    document_id: int | None = None,
    booking_id: int | None = None,
) -> tuple[TaskRow, bool]:
    existing = session.scalar(select(TaskRow).where(TaskRow.dedupe_key == dedupe_key))
    if existing is not None:
        return existing, False
    row = TaskRow(
        client_id=client_id,
        document_id=document_id,
        booking_id=booking_id,
        dedupe_key=dedupe_key,
        kind=draft.kind.value,
        assignee=draft.assignee.value,
        status=TaskStatus.OPEN.value,
        reason=draft.reason,
        details=draft.details,
        due_date=draft.due_date,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(select(TaskRow).where(TaskRow.dedupe_key == dedupe_key))
        if existing is None:
            raise
        return existing, False
    return row, True


def task_view(row: TaskRow, scope: Scope | None = None) -> TaskView:
    """The task resource. Details naming another client are shown to staff only: pass
    the caller's scope (`Scope.staff()` shows everything; no scope shows the safe view)."""
    details: dict[str, Any] = dict(row.details or {})
    if scope is None or scope.client_id is not None:
        for key in STAFF_ONLY_DETAILS:
            details.pop(key, None)
    return TaskView(
        id=row.id,
        client_id=row.client_id,
        document_id=row.document_id,
        kind=TaskKind(row.kind),
        assignee=Party(row.assignee),
        status=TaskStatus(row.status),
        reason=row.reason,
        due_date=row.due_date,
        booking_id=row.booking_id,
        details=details,
        created_at=row.created_at,
    )


def get_task(session: Session, scope: Scope, task_id: int) -> TaskRow | None:
    row = session.get(TaskRow, task_id)
    if row is None or not scope.allows(row.client_id):
        return None
    return row


def list_tasks(
    session: Session,
    scope: Scope,
    *,
    status: TaskStatus | None = None,
    assignee: Party | None = None,
    limit: int = 200,
) -> list[TaskRow]:
    statement = scope.apply(select(TaskRow), TaskRow.client_id)
    if status is not None:
        statement = statement.where(TaskRow.status == status.value)
    if assignee is not None:
        statement = statement.where(TaskRow.assignee == assignee.value)
    return list(session.scalars(statement.order_by(TaskRow.id.desc()).limit(limit)))


def mark_done(session: Session, row: TaskRow, by: str) -> None:
    row.status = TaskStatus.DONE.value
    row.completed_at = utcnow()
    row.completed_by = by


def open_tasks_due(session: Session, on: date) -> list[TaskRow]:
    statement = select(TaskRow).where(
        TaskRow.status == TaskStatus.OPEN.value,
        TaskRow.due_date.is_not(None),
        TaskRow.due_date < on,
    )
    return list(session.scalars(statement.order_by(TaskRow.id)))


class TaskNotAllowed(Exception):
    """The user may see the task but not complete it; the message says why."""


def complete_task(session: Session, scope: Scope, task_id: int, user: User) -> TaskRow | None:
    """Mark a task done, in the caller's transaction, with what completing it means:

    - a confirmed supplier becomes active (and one of the client's suppliers);
    - the document's draft booking is posted when this was the last open task holding it
      (a client's release or approval, a fiduciary's review).

    Returns None when the task does not exist for this scope (the API answers 404).
    Raises TaskNotAllowed when the user may see the task but not complete it.
    """
    from storage.bookings import post_booking
    from storage.suppliers import confirm_supplier

    row = get_task(session, scope, task_id)
    if row is None:
        return None
    if row.status == TaskStatus.DONE.value:
        return row  # completing twice is harmless: nothing is posted twice
    if row.assignee == Party.FIDUCIARY.value and not user.is_staff:
        raise TaskNotAllowed("this task is for the fiduciary")
    if (
        row.assignee == Party.CLIENT.value
        and not user.is_staff
        and (user.access is not Access.COMPANY or user.client_id != row.client_id)
    ):
        raise TaskNotAllowed(
            "only a user with company access can release or approve; ask your company's "
            "administrator, or the fiduciary"
        )
    if row.kind == TaskKind.CONFIRM_SUPPLIER.value and (row.details or {}).get("supplier_id"):
        confirm_supplier(session, row.details["supplier_id"], row.client_id)
    mark_done(session, row, user.username)
    session.flush()
    if holds_booking(session, row) and not _other_holders_open(session, row):
        booking = session.get(BookingRow, row.booking_id)
        if booking is not None and booking.status == BookingStatus.DRAFT.value:
            post_booking(session, booking, posted_by=user.username)
    return row


def holds_booking(session: Session, row: TaskRow) -> bool:
    """The task holds its own document's draft (not a link to another one's booking)."""
    if row.booking_id is None or row.kind not in HOLDING_KINDS:
        return False
    booking = session.get(BookingRow, row.booking_id)
    return booking is not None and booking.document_id == row.document_id


def _other_holders_open(session: Session, row: TaskRow) -> bool:
    statement = select(TaskRow.id).where(
        TaskRow.booking_id == row.booking_id,
        TaskRow.id != row.id,
        TaskRow.status == TaskStatus.OPEN.value,
        TaskRow.kind.in_(HOLDING_KINDS),
    )
    return session.scalar(statement.limit(1)) is not None
