"""The task inbox's queries: filters, the due-date order, pages, counts, neighbours.

Order: due date first (no due date last), then id — what is late is on top. A page is
LIMIT/OFFSET over the `ix_tasks_open (status, assignee, due_date)` index, so thousands of
tasks cost one indexed query and one count per page. Every query starts from the
viewer's Scope.
"""

from datetime import date
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from domain.enums import Party, TaskKind, TaskStatus
from storage.scope import Scope
from storage.tables import ClientRow, DocumentRow, TaskRow

PAGE_SIZE = 50
MAX_PAGE = 10_000


class InboxFilter(BaseModel):
    """What the inbox shows; the same query string carries it to the task page and back."""

    status: str = "open"  # open | done | all
    kind: TaskKind | None = None
    assignee: Party | None = None
    client: str | None = Field(default=None, max_length=32)
    due_before: date | None = None
    page: int = Field(default=1, ge=1, le=MAX_PAGE)

    @field_validator("status")
    @classmethod
    def _status(cls, value: str) -> str:
        if value not in ("open", "done", "all"):
            raise ValueError("status must be open, done or all")
        return value

    @field_validator("kind", "assignee", "client", "due_before", mode="before")
    @classmethod
    def _blank(cls, value: Any) -> Any:
        return None if value == "" else value

    def query(self, **changes: Any) -> str:
        """The query string of this filter (with `changes`), empty values left out."""
        from urllib.parse import urlencode

        values = {**self.model_dump(mode="json"), **changes}
        if values.get("page") == 1:
            values.pop("page")
        if values.get("status") == "open":
            values.pop("status")
        return urlencode({k: v for k, v in values.items() if v not in (None, "")})


def _filtered(scope: Scope, wanted: InboxFilter) -> Any:
    statement = scope.narrowed(wanted.client).tasks(select(TaskRow))
    if wanted.status != "all":
        statement = statement.where(TaskRow.status == wanted.status)
    if wanted.kind is not None:
        statement = statement.where(TaskRow.kind == wanted.kind.value)
    if wanted.assignee is not None:
        statement = statement.where(TaskRow.assignee == wanted.assignee.value)
    if wanted.due_before is not None:
        statement = statement.where(TaskRow.due_date < wanted.due_before)
    return statement


def _no_due():  # type: ignore[no-untyped-def]
    return case((TaskRow.due_date.is_(None), 1), else_=0)


def _ordered(statement: Any) -> Any:
    return statement.order_by(_no_due(), TaskRow.due_date, TaskRow.id)


def page_of_tasks(session: Session, scope: Scope, wanted: InboxFilter) -> tuple[list[TaskRow], int]:
    """One page of tasks in inbox order, and how many there are in all."""
    statement = _filtered(scope, wanted)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = session.scalars(
        _ordered(statement).limit(PAGE_SIZE).offset((wanted.page - 1) * PAGE_SIZE)
    )
    return list(rows), total


def open_by_client(session: Session, scope: Scope) -> list[tuple[str, str, int]]:
    """(client id, name, open tasks) for every client with open tasks."""
    statement = scope.tasks(
        select(TaskRow.client_id, func.count())
        .where(TaskRow.status == TaskStatus.OPEN.value)
        .group_by(TaskRow.client_id)
    )
    counts = dict(session.execute(statement).all())
    names = dict(session.execute(select(ClientRow.id, ClientRow.name)).all()) if counts else {}
    return sorted((cid, names.get(cid, cid), n) for cid, n in counts.items())


def neighbours(
    session: Session, scope: Scope, wanted: InboxFilter, row: TaskRow
) -> tuple[int | None, int | None]:
    """The tasks before and after `row` in inbox order (for j/k and save-and-next)."""
    statement = _filtered(scope, wanted).where(TaskRow.id != row.id)
    nulls = _no_due()
    if row.due_date is None:
        after = and_(TaskRow.due_date.is_(None), TaskRow.id > row.id)
        before = or_(TaskRow.due_date.is_not(None), TaskRow.id < row.id)
    else:
        after = or_(
            TaskRow.due_date.is_(None),
            TaskRow.due_date > row.due_date,
            and_(TaskRow.due_date == row.due_date, TaskRow.id > row.id),
        )
        before = and_(
            TaskRow.due_date.is_not(None),
            or_(
                TaskRow.due_date < row.due_date,
                and_(TaskRow.due_date == row.due_date, TaskRow.id < row.id),
            ),
        )
    following = session.scalar(
        _ordered(statement.where(after)).with_only_columns(TaskRow.id).limit(1)
    )
    previous = session.scalar(
        statement.where(before)
        .with_only_columns(TaskRow.id)
        .order_by(nulls.desc(), TaskRow.due_date.desc(), TaskRow.id.desc())
        .limit(1)
    )
    return previous, following


def next_open(session: Session, scope: Scope, wanted: InboxFilter, row: TaskRow) -> int | None:
    """Save-and-next: the next open task after `row` in inbox order, else the first."""
    open_filter = wanted.model_copy(update={"status": "open", "page": 1})
    _, following = neighbours(session, scope, open_filter, row)
    if following is not None:
        return following
    statement = _filtered(scope, open_filter).where(TaskRow.id != row.id)
    return session.scalar(_ordered(statement).with_only_columns(TaskRow.id).limit(1))


def documents_of(session: Session, rows: list[TaskRow]) -> dict[int, DocumentRow]:
    ids = {row.document_id for row in rows if row.document_id is not None}
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(select(DocumentRow).where(DocumentRow.id.in_(ids)))}


def client_names(session: Session, rows: list[TaskRow]) -> dict[str, str]:
    ids = {row.client_id for row in rows}
    if not ids:
        return {}
    return dict(
        session.execute(select(ClientRow.id, ClientRow.name).where(ClientRow.id.in_(ids))).all()
    )
