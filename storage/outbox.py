"""The outbox: mails fiduflow sends (digests, reminders, requests), each sent at most once.

A mail is queued in the caller's transaction, with its Message-ID fixed there, so that
whatever asked for it (a task, a reminder, a digest) and the mail commit together or not
at all. Queueing is idempotent by `dedupe_key` (`digest:<user>:<date>`,
`reminder:<task>:<date>`, …): the same key again returns the row already there.

The sender (flows/notify.py) moves a row `queued → sending → sent`. `sending` is
committed *before* the mail is handed to the relay, and a row found `sending` is never
handed over again: if the process dies between the relay's "250 accepted" and recording
`sent`, the mail stays `sending` — at most once, and `stuck_sending` lists such rows for
an operator to look at (`fiduflow status`, the send-outbox artifact). The claim is a
conditional UPDATE (`… WHERE state = 'queued'`), so two senders at once never both take
one mail, on SQLite and PostgreSQL alike.
"""

from collections.abc import Sequence
from datetime import datetime, timedelta
from email.utils import make_msgid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.enums import MailKind, OutboxState
from storage.tables import Fiduciary, OutboxMail, utcnow

# Used for Message-IDs before master data names the firm's domain (tests, a fresh install).
FALLBACK_DOMAIN = "fiduflow.invalid"
# Column sizes of `outbox` (storage/tables.py): longer values are cut, never refused.
SUBJECT_MAX = 300
ERROR_MAX = 2000


def queue_mail(
    session: Session,
    *,
    kind: MailKind,
    recipient: str,
    subject: str,
    body: str,
    dedupe_key: str,
    client_id: str | None = None,
    task_id: int | None = None,
) -> OutboxMail:
    """Queue one mail in the caller's transaction; the existing row if `dedupe_key` was
    queued before (whatever its state: a sent digest is not sent again)."""
    existing = _by_key(session, dedupe_key)
    if existing is not None:
        return existing
    row = OutboxMail(
        client_id=client_id,
        kind=MailKind(kind).value,
        recipient=_one_address(recipient),
        subject=_one_line(subject)[:SUBJECT_MAX],
        body=body,
        message_id=make_msgid(domain=message_id_domain(session)),
        dedupe_key=dedupe_key,
        state=OutboxState.QUEUED.value,
        attempts=0,
        task_id=task_id,
        created_at=utcnow(),
    )
    # A concurrent transaction may queue the same key first: the unique constraint says
    # so, and its row is the answer (the savepoint keeps the caller's transaction alive).
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = _by_key(session, dedupe_key)
        if existing is None:
            raise
        return existing
    return row


def _by_key(session: Session, dedupe_key: str) -> OutboxMail | None:
    return session.scalar(select(OutboxMail).where(OutboxMail.dedupe_key == dedupe_key))


def is_queued(session: Session, dedupe_key: str) -> bool:
    """Whether a mail with this dedupe key was queued already (whatever became of it)."""
    found = session.scalar(select(OutboxMail.id).where(OutboxMail.dedupe_key == dedupe_key))
    return found is not None


def _one_line(text: str) -> str:
    """Header values are one line: a newline in a subject would start a new header."""
    return " ".join(text.split())


def _one_address(recipient: str) -> str:
    address = recipient.strip()
    if not address or any(c in address for c in "\r\n,;<>") or "@" not in address:
        raise ValueError(f"recipient {recipient!r} is not one mail address")
    return address


def message_id_domain(session: Session) -> str:
    """The firm's inbound domain (its mail domain), so Message-IDs look like its own."""
    firm = session.get(Fiduciary, 1)
    return firm.inbound_domain if firm is not None and firm.inbound_domain else FALLBACK_DOMAIN


# --- the sender's steps ------------------------------------------------------------------


def queued_ids(session: Session, limit: int) -> list[int]:
    """Ids of queued mails, oldest first."""
    return list(
        session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.state == OutboxState.QUEUED.value)
            .order_by(OutboxMail.id)
            .limit(limit)
        )
    )


def claim(session: Session, mail_id: int, state: OutboxState) -> OutboxMail | None:
    """Move a queued mail to `state` (`sending`, or `logged` without a relay); the row,
    or None when another sender took it first. The caller commits before handing over."""
    result = session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.state == OutboxState.QUEUED.value)
        .values(state=state.value, attempts=OutboxMail.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    row = session.get(OutboxMail, mail_id, populate_existing=True)
    if row is not None:
        row.sent_at = utcnow()  # while `sending`: when it was handed over
    return row


def mark_sent(session: Session, mail_id: int) -> None:
    session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.state == OutboxState.SENDING.value)
        .values(state=OutboxState.SENT.value, sent_at=utcnow(), last_error=None)
        .execution_options(synchronize_session=False)
    )


def mark_retry(session: Session, mail_id: int, error: str) -> None:
    """The relay did not take it (down, or a temporary refusal): queued again."""
    _leave_sending(session, mail_id, OutboxState.QUEUED, error)


def mark_failed(session: Session, mail_id: int, error: str) -> None:
    """The relay refused it for good (5xx): never retried; an operator reads why."""
    _leave_sending(session, mail_id, OutboxState.FAILED, error)


def _leave_sending(session: Session, mail_id: int, state: OutboxState, error: str) -> None:
    session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.state == OutboxState.SENDING.value)
        .values(state=state.value, last_error=error[:ERROR_MAX], sent_at=None)
        .execution_options(synchronize_session=False)
    )


def note_uncertain(session: Session, mail_id: int, error: str) -> None:
    """The relay may have taken it (the connection broke after the message went out):
    it stays `sending`, with the reason for the operator."""
    session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id, OutboxMail.state == OutboxState.SENDING.value)
        .values(last_error=error[:ERROR_MAX])
        .execution_options(synchronize_session=False)
    )


# --- what operators look at ----------------------------------------------------------------

# A mail `sending` for longer than this was not confirmed: its sender died or lost the
# relay's answer. Younger ones may be on their way right now.
STUCK_AFTER = timedelta(minutes=5)


def stuck_sending(session: Session, now: datetime | None = None) -> list[OutboxMail]:
    """Mails handed to the relay but never recorded as sent (never sent again)."""
    before = (now or utcnow()) - STUCK_AFTER
    return list(
        session.scalars(
            select(OutboxMail)
            .where(
                OutboxMail.state == OutboxState.SENDING.value,
                OutboxMail.sent_at < before,
            )
            .order_by(OutboxMail.id)
        )
    )


def counts_by_state(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(OutboxMail.state, func.count()).group_by(OutboxMail.state).order_by(OutboxMail.state)
    )
    return {state: n for state, n in rows}


def requeue(session: Session, mail_ids: Sequence[int]) -> int:
    """An operator's decision after checking the relay's log that a `sending` or `failed`
    mail never went out: queue it again (same Message-ID). How many were requeued."""
    result = session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id.in_(list(mail_ids)),
            OutboxMail.state.in_([OutboxState.SENDING.value, OutboxState.FAILED.value]),
        )
        .values(state=OutboxState.QUEUED.value)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
