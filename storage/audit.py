"""A document's history: who did what to it, when, and each corrected field's before
and after (DESIGN.md, "Working a task": every correction is kept and shown).

Events are only ever added, never changed: the history is the record of what people did.
Values are stored as JSON (Decimals and dates as strings), exactly as they are shown.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.enums import HistoryAction
from domain.records import HistoryEntry
from storage.tables import DocumentEvent, utcnow


def record_event(
    session: Session,
    *,
    client_id: str,
    document_id: int,
    by: str,
    action: HistoryAction,
    field: str | None = None,
    before: Any = None,
    after: Any = None,
    task_id: int | None = None,
) -> None:
    """Add one entry to the document's history, in the caller's transaction."""
    session.add(
        DocumentEvent(
            client_id=client_id,
            document_id=document_id,
            task_id=task_id,
            at=utcnow(),
            by=by,
            action=HistoryAction(action).value,
            field=field,
            before=as_json(before),
            after=as_json(after),
        )
    )


def document_history(session: Session, document_id: int) -> list[HistoryEntry]:
    """The document's history, oldest first (the caller has checked the scope)."""
    return histories_of(session, [document_id]).get(document_id, [])


def histories_of(session: Session, document_ids: list[int]) -> dict[int, list[HistoryEntry]]:
    """The histories of several documents in one query (a page of a document list)."""
    if not document_ids:
        return {}
    statement = (
        select(DocumentEvent)
        .where(DocumentEvent.document_id.in_(document_ids))
        .order_by(DocumentEvent.document_id, DocumentEvent.id)
    )
    found: dict[int, list[HistoryEntry]] = {}
    for row in session.scalars(statement):
        found.setdefault(row.document_id, []).append(
            HistoryEntry(
                at=row.at,
                by=row.by,
                action=HistoryAction(row.action),
                field=row.field,
                before=row.before,
                after=row.after,
                task_id=row.task_id,
            )
        )
    return found


def as_json(value: Any) -> Any:
    """A value as the history stores it: JSON types only (money and dates as strings)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return str(value)
