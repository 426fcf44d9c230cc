"""What `remind-missing` reads: the open tasks past their due date, and who a reminder
of one reaches (flows/remind_missing.py decides what happens to them)."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import Access, TaskStatus
from storage.masterdata import user_by_username
from storage.scope import Scope
from storage.tables import DocumentRow, TaskRow, UserRow


def overdue_open_tasks(session: Session, today: date) -> list[TaskRow]:
    """Every client's open tasks due before `today`, in id order, locked for the rest of
    the transaction (a second run waits, then finds them reminded or escalated)."""
    return list(
        session.scalars(
            select(TaskRow)
            .where(
                TaskRow.status == TaskStatus.OPEN.value,
                TaskRow.due_date.is_not(None),
                TaskRow.due_date < today,
            )
            .order_by(TaskRow.id)
            .with_for_update()
        )
    )


def reminder_recipients(
    session: Session, task: TaskRow, document: DocumentRow | None
) -> list[UserRow]:
    """The addressed user, else the client's company users who may see the task; only
    enabled users with an email, by username."""
    statement = select(UserRow).where(
        UserRow.client_id == task.client_id,
        UserRow.email.is_not(None),
        UserRow.disabled_at.is_(None),
    )
    if task.assignee_user:
        statement = statement.where(UserRow.username == task.assignee_user)
    else:
        statement = statement.where(UserRow.access == Access.COMPANY.value)
    recipients = []
    for row in session.scalars(statement.order_by(UserRow.username)):
        user = user_by_username(session, row.username)
        if user is not None and Scope.of(user).sees_task(task, document):
            recipients.append(row)
    return recipients
