"""Tasks for people: created at most once per document and kind (dedupe key).

A task that *holds* its document's draft booking (a release, an approval, a review, a
supplier to confirm, bank details to verify, a question to the client) posts that
booking when it is completed and no other such task on it is still open: the booking is
posted once every open question about it has been answered, by whoever was entitled to
answer it. Bank details come first: while they are unverified, a client cannot release
the invoice (409), and only staff confirm them (DESIGN.md, "Working a task").

Rejecting a task discards its document's draft (status `discarded`, never posted) and
closes every other task that held it; the document keeps the reason.
"""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.enums import Access, BookingStatus, Party, TaskKind, TaskOutcome, TaskStatus
from domain.records import TaskDraft, TaskView, User
from storage.scope import Scope
from storage.tables import BookingRow, DocumentRow, TaskRow, utcnow

# Kinds that hold a draft booking until they are done.
HOLDING_KINDS = frozenset(
    {
        TaskKind.RELEASE_INVOICE.value,
        TaskKind.APPROVE_EXPENSE.value,
        TaskKind.REVIEW_DOCUMENT.value,
        TaskKind.CONFIRM_SUPPLIER.value,
        TaskKind.ASK_CLIENT.value,
        TaskKind.BANK_DETAILS.value,
    }
)
# Kinds by which a client lets its invoice or expense be posted.
RELEASING_KINDS = frozenset({TaskKind.RELEASE_INVOICE.value, TaskKind.APPROVE_EXPENSE.value})
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
        assignee_user=draft.assignee_user,
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
        assignee_user=row.assignee_user,
        outcome=TaskOutcome(row.outcome) if row.outcome else None,
        completed_by=row.completed_by,
        completed_at=row.completed_at,
    )


def get_task(session: Session, scope: Scope, task_id: int) -> TaskRow | None:
    row = session.get(TaskRow, task_id)
    if row is None:
        return None
    document = session.get(DocumentRow, row.document_id) if row.document_id else None
    return row if scope.sees_task(row, document) else None


def list_tasks(
    session: Session,
    scope: Scope,
    *,
    status: TaskStatus | None = None,
    assignee: Party | None = None,
    limit: int = 200,
) -> list[TaskRow]:
    statement = scope.tasks(select(TaskRow))
    if status is not None:
        statement = statement.where(TaskRow.status == status.value)
    if assignee is not None:
        statement = statement.where(TaskRow.assignee == assignee.value)
    return list(session.scalars(statement.order_by(TaskRow.id.desc()).limit(limit)))


def mark_done(
    session: Session, row: TaskRow, by: str, outcome: TaskOutcome = TaskOutcome.DONE
) -> None:
    row.status = TaskStatus.DONE.value
    row.completed_at = utcnow()
    row.completed_by = by
    row.outcome = outcome.value


def open_tasks_due(session: Session, on: date) -> list[TaskRow]:
    statement = select(TaskRow).where(
        TaskRow.status == TaskStatus.OPEN.value,
        TaskRow.due_date.is_not(None),
        TaskRow.due_date < on,
    )
    return list(session.scalars(statement.order_by(TaskRow.id)))


class TaskNotAllowed(Exception):
    """The user may see the task but not complete it; the message says why."""


class TaskBlocked(Exception):
    """The task cannot be completed yet (another must be done first); the message says why."""


def complete_task(session: Session, scope: Scope, task_id: int, user: User) -> TaskRow | None:
    """Mark a task done, in the caller's transaction, with what completing it means:

    - a confirmed supplier becomes active (and one of the client's suppliers);
    - confirmed bank details become one of the supplier's accounts (staff only);
    - the document's draft booking is posted when this was the last open task holding it
      (a client's release or approval, a fiduciary's review).

    Returns None when the task does not exist for this scope (the API answers 404).
    Raises TaskNotAllowed when the user may see the task but not complete it, and
    TaskBlocked when another task must be done first (unverified bank details).
    """
    from storage.bank_details import confirm_supplier_iban
    from storage.bookings import post_booking
    from storage.suppliers import confirm_supplier

    row = get_task(session, scope, task_id)
    if row is None:
        return None
    if row.status == TaskStatus.DONE.value:
        return row  # completing twice is harmless: nothing is posted twice
    _check_may_act(row, user)
    if row.kind in RELEASING_KINDS and _bank_details_open(session, row):
        raise TaskBlocked(
            "the bank details on this document are not the supplier's known ones; the "
            "fiduciary verifies them before it can be released"
        )
    details = row.details or {}
    if row.kind == TaskKind.CONFIRM_SUPPLIER.value and details.get("supplier_id"):
        confirm_supplier(session, details["supplier_id"], row.client_id)
    if row.kind == TaskKind.BANK_DETAILS.value and details.get("supplier_id"):
        confirm_supplier_iban(session, details["supplier_id"], details["iban"], user.username)
    outcome = TaskOutcome.RELEASED if row.kind in RELEASING_KINDS else TaskOutcome.DONE
    mark_done(session, row, user.username, outcome)
    session.flush()
    if holds_booking(session, row) and not _other_holders_open(session, row):
        booking = session.get(BookingRow, row.booking_id)
        if booking is not None and booking.status == BookingStatus.DRAFT.value:
            post_booking(session, booking, posted_by=user.username)
            row.outcome = TaskOutcome.POSTED.value
    return row


def reject_task(
    session: Session, scope: Scope, task_id: int, user: User, reason: str
) -> TaskRow | None:
    """Reject what the task is about: nothing is posted, the document's draft is
    discarded and every other open task holding it closes; the document keeps the reason.

    Returns None when the task does not exist for this scope; raises TaskNotAllowed as
    `complete_task` does, and TaskBlocked for a task that is already done otherwise.
    """
    row = get_task(session, scope, task_id)
    if row is None:
        return None
    if row.status == TaskStatus.DONE.value:
        if row.outcome == TaskOutcome.REJECTED.value:
            return row  # rejecting twice is harmless
        raise TaskBlocked(f"this task was already completed by {row.completed_by}")
    _check_may_act(row, user)
    mark_done(session, row, user.username, TaskOutcome.REJECTED)
    if holds_booking(session, row):
        booking = session.get(BookingRow, row.booking_id)
        if booking is not None and booking.status == BookingStatus.DRAFT.value:
            booking.status = BookingStatus.DISCARDED.value
        for other in session.scalars(_open_holders(row)):
            mark_done(session, other, user.username, TaskOutcome.REJECTED)
    if row.document_id is not None:
        document = session.get(DocumentRow, row.document_id)
        if document is not None:
            document.meta = {
                **(document.meta or {}),
                "rejected": {"reason": reason, "by": user.username, "task_id": row.id},
            }
    session.flush()
    return row


def _check_may_act(row: TaskRow, user: User) -> None:
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


def _bank_details_open(session: Session, row: TaskRow) -> bool:
    if row.document_id is None:
        return False
    statement = select(TaskRow.id).where(
        TaskRow.document_id == row.document_id,
        TaskRow.kind == TaskKind.BANK_DETAILS.value,
        TaskRow.status == TaskStatus.OPEN.value,
    )
    return session.scalar(statement.limit(1)) is not None


def holds_booking(session: Session, row: TaskRow) -> bool:
    """The task holds its own document's draft (not a link to another one's booking)."""
    if row.booking_id is None or row.kind not in HOLDING_KINDS:
        return False
    booking = session.get(BookingRow, row.booking_id)
    return booking is not None and booking.document_id == row.document_id


def _open_holders(row: TaskRow):  # type: ignore[no-untyped-def]
    return select(TaskRow).where(
        TaskRow.booking_id == row.booking_id,
        TaskRow.id != row.id,
        TaskRow.status == TaskStatus.OPEN.value,
        TaskRow.kind.in_(HOLDING_KINDS),
    )


def _other_holders_open(session: Session, row: TaskRow) -> bool:
    return session.scalars(_open_holders(row).limit(1)).first() is not None
