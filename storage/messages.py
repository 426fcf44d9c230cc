"""Inbound mails: one `messages` row per client a mail was addressed to.

The row is unique per (client, SHA-256 of the raw mail), so the same mail delivered twice
(a sender retrying after a lost `250`, or a mail loop) is recognised and adds nothing.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.tables import MessageRow

# Header values come from strangers; the columns have limits, and nobody needs more.
_MAX_HEADER_CHARS = 998


@dataclass
class NewMessage:
    client_id: str
    raw_sha256: str
    message_id: str | None = None
    sender: str | None = None
    subject: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def record_message(session: Session, new: NewMessage) -> tuple[MessageRow, bool]:
    """Insert the message row; returns (row, created). created=False: delivered before.

    Runs inside the caller's transaction. Insert first, look second: a new mail is the
    common case, and the unique constraint (in a savepoint) decides between concurrent
    deliveries of the same mail, so exactly one of them creates the row.
    """
    row = MessageRow(
        client_id=new.client_id,
        raw_sha256=new.raw_sha256,
        message_id=_clip(new.message_id),
        sender=_clip(new.sender),
        subject=new.subject[: _MAX_HEADER_CHARS * 4] if new.subject else None,
        meta=new.meta,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = _find(session, new.client_id, new.raw_sha256)
        if existing is None:
            raise
        return existing, False
    return row, True


def _find(session: Session, client_id: str, raw_sha256: str) -> MessageRow | None:
    return session.scalar(
        select(MessageRow).where(
            MessageRow.client_id == client_id, MessageRow.raw_sha256 == raw_sha256
        )
    )


def _clip(value: str | None) -> str | None:
    return value[:_MAX_HEADER_CHARS] if value else None
