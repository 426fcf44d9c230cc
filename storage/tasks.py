"""Tasks for people: created at most once per document and kind (dedupe key)."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.enums import Party, TaskKind, TaskStatus
from domain.records import TaskDraft, TaskView, User
from storage.scope import Scope
from storage.tables import TaskRow, utcnow


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


def task_view(row: TaskRow) -> TaskView:
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
        details=row.details or {},
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
    """Mark a task done; a release/approval posts its draft booking in the same transaction.

    Returns None when the task does not exist for this scope (the API answers 404).
    """
    from domain.enums import Access
    from storage.bookings import post_booking
    from storage.tables import BookingRow

    row = get_task(session, scope, task_id)
    if row is None:
        return None
    if row.status == TaskStatus.DONE.value:
        return row  # completing twice is harmless: nothing is posted twice
    if (
        row.assignee == Party.CLIENT.value
        and not user.is_staff
        and user.access is not Access.COMPANY
    ):
        raise TaskNotAllowed(
            "only a user with company access can release or approve; ask your company's "
            "administrator, or the fiduciary"
        )
    if row.assignee == Party.FIDUCIARY.value and not user.is_staff:
        raise TaskNotAllowed("this task is for the fiduciary")
    if row.booking_id is not None and row.kind in (
        TaskKind.RELEASE_INVOICE.value,
        TaskKind.APPROVE_EXPENSE.value,
    ):
        booking = session.get(BookingRow, row.booking_id)
        if booking is not None and booking.status == "draft":
            post_booking(session, booking, posted_by=user.username)
    mark_done(session, row, user.username)
    return row
