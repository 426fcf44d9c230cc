"""Bookings: drafts, posting with a sequence number, reversals, and the booked output.

Posting takes the next number from a counter row under a lock that is held until commit.
So numbers are handed out in commit order, and a reader of `?after=SEQ` can never see
number 11 before number 10 exists (a plain auto-increment cannot promise that).

Posted bookings are immutable: nothing here changes their lines, amounts or date. A
correction is `correct_booking`: a reversal (the mirror image, posted with its own
number) plus a new booking. Every booking balances before it is stored (`BookingDraft`)
and again before it is posted (`check_balanced`); the database refuses a line with both
or neither side.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.enums import BookingKind, BookingStatus, HistoryAction, Party, TaskKind
from domain.records import BookingDraft, BookingLine, BookingView, TaskDraft
from storage.scope import Scope
from storage.tables import BookingLineRow, BookingRow, Counter, DocumentFacts, TaskRow, utcnow

POSTING_COUNTER = "booking_seq"


class ImmutableBooking(Exception):
    """Posted bookings never change; a correction is a reversal plus a new booking."""


def document_origin(document_id: int) -> str:
    return f"doc:{document_id}"


def create_booking(
    session: Session,
    client_id: str,
    document_id: int | None,
    draft: BookingDraft,
    *,
    origin_key: str,
    post: bool,
    posted_by: str | None = None,
    kind: BookingKind = BookingKind.DOCUMENT,
) -> tuple[BookingRow, bool]:
    """Create the booking for `origin_key` at most once; returns (row, created)."""
    existing = session.scalar(select(BookingRow).where(BookingRow.origin_key == origin_key))
    if existing is not None:
        return existing, False
    row = BookingRow(
        client_id=client_id,
        document_id=document_id,
        origin_key=origin_key,
        kind=kind.value,
        status=BookingStatus.DRAFT.value,
        date=draft.date,
        currency=draft.currency,
        supplier_id=draft.supplier_id,
        text=draft.text[:500],
        lines=[
            BookingLineRow(
                client_id=client_id,
                line_no=i,
                account=line.account,
                debit=line.debit,
                credit=line.credit,
                vat_code=line.vat_code,
                text=line.text[:500],
            )
            for i, line in enumerate(draft.lines, start=1)
        ],
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(select(BookingRow).where(BookingRow.origin_key == origin_key))
        if existing is None:
            raise
        return existing, False
    if post:
        post_booking(session, row, posted_by=posted_by)
    return row, True


def next_seq(session: Session) -> int:
    counter = session.scalar(
        select(Counter).where(Counter.name == POSTING_COUNTER).with_for_update()
    )
    if counter is None:
        try:
            with session.begin_nested():
                session.add(Counter(name=POSTING_COUNTER, value=0))
        except IntegrityError:
            pass
        counter = session.scalar(
            select(Counter).where(Counter.name == POSTING_COUNTER).with_for_update()
        )
    assert counter is not None
    counter.value += 1
    session.flush()
    return counter.value


def post_booking(session: Session, row: BookingRow, *, posted_by: str | None = None) -> None:
    if row.status == BookingStatus.POSTED.value:
        return
    if row.status != BookingStatus.DRAFT.value:
        raise ImmutableBooking(f"booking {row.id} is {row.status}")
    check_balanced(row)
    row.seq = next_seq(session)
    row.status = BookingStatus.POSTED.value
    row.posted_at = utcnow()
    row.posted_by = posted_by
    session.flush()


def check_balanced(row: BookingRow) -> None:
    debit = sum((line.debit for line in row.lines), Decimal(0))
    credit = sum((line.credit for line in row.lines), Decimal(0))
    if debit != credit or debit == 0:
        raise ValueError(f"booking {row.id} does not balance: {debit} != {credit}")


def reverse_booking(
    session: Session, booking_id: int, *, on: date | None = None, by: str | None = None
) -> BookingRow:
    """Post the mirror image of a posted booking and mark the original reversed."""
    original = session.get(BookingRow, booking_id)
    if original is None or original.status != BookingStatus.POSTED.value:
        raise ImmutableBooking("only a posted booking can be reversed")
    draft = BookingDraft(
        date=on or original.date,
        currency=original.currency,
        supplier_id=original.supplier_id,
        text=f"Storno: {original.text}"[:500],
        lines=[
            BookingLine(
                account=line.account,
                debit=line.credit,
                credit=line.debit,
                vat_code=line.vat_code,
                text=line.text,
            )
            for line in original.lines
        ],
    )
    reversal, _ = create_booking(
        session,
        original.client_id,
        original.document_id,
        draft,
        origin_key=f"rev:{original.id}",
        post=True,
        posted_by=by,
    )
    reversal.reverses_id = original.id
    reversal.kind = original.kind
    # The reversed booking keeps its seq: downstream already read it, and reads the
    # reversal as a new posted booking; only the status tells the story.
    session.execute(
        update(BookingRow)
        .where(BookingRow.id == original.id)
        .values(status=BookingStatus.REVERSED.value)
    )
    return reversal


def correct_booking(
    session: Session,
    booking_id: int,
    draft: BookingDraft,
    *,
    on: date | None = None,
    by: str | None = None,
) -> tuple[BookingRow, BookingRow]:
    """Correct a posted booking: reverse it, and post `draft` in its place (at most once
    per original). Returns (reversal, replacement)."""
    original = session.get(BookingRow, booking_id)
    if original is None:
        raise ImmutableBooking(f"no booking {booking_id}")
    reversal = reverse_booking(session, booking_id, on=on, by=by)
    replacement, _ = create_booking(
        session,
        original.client_id,
        original.document_id,
        draft,
        origin_key=f"cor:{original.id}",
        post=True,
        posted_by=by,
    )
    return reversal, replacement


@dataclass(frozen=True)
class Rebooking:
    """What reversing a posted booking for correction made."""

    reversal: BookingRow
    draft: BookingRow | None  # the document's new draft (None: no document behind it)
    task: TaskRow | None  # the fiduciary's review task holding the new draft


def reverse_for_correction(
    session: Session, scope: Scope, booking_id: int, by: str
) -> Rebooking | None:
    """Reverse a posted booking and put its document back before the fiduciary: a new
    draft (the old lines, to be corrected) held by a review task; the document's history
    says so. None when the scope does not see the booking; ImmutableBooking when it is
    not a posted booking (a draft, reversed already, or itself a reversal)."""
    from storage.audit import record_event
    from storage.tasks import create_task

    original = session.scalar(
        select(BookingRow).where(BookingRow.id == booking_id).with_for_update()
    )
    if original is None or not scope.sees_booking(original):
        return None
    if original.reverses_id is not None:
        raise ImmutableBooking(
            f"booking {booking_id} is itself a reversal (of booking {original.reverses_id})"
        )
    if original.status != BookingStatus.POSTED.value:
        raise ImmutableBooking(
            f"booking {booking_id} is {original.status}; only a posted booking can be reversed"
        )
    reversal = reverse_booking(session, booking_id, by=by)
    session.refresh(original)
    if original.document_id is None or original.kind != BookingKind.DOCUMENT.value:
        return Rebooking(reversal=reversal, draft=None, task=None)
    draft, _ = create_booking(
        session,
        original.client_id,
        original.document_id,
        BookingDraft(
            date=original.date,
            currency=original.currency,
            supplier_id=original.supplier_id,
            text=original.text,
            lines=[_line_of(line) for line in original.lines],
        ),
        origin_key=f"cor:{original.id}",
        post=False,
    )
    task, _ = create_task(
        session,
        original.client_id,
        TaskDraft(
            kind=TaskKind.REVIEW_DOCUMENT,
            assignee=Party.FIDUCIARY,
            reason=f"Booking {original.id} (no. {original.seq}) was reversed by {by}: "
            "correct the new draft and post it, or reject the document",
            details={"reversed_booking": original.id, "reversal": reversal.id},
        ),
        dedupe_key=f"booking:{original.id}:rebook",
        document_id=original.document_id,
        booking_id=draft.id,
    )
    facts = session.get(DocumentFacts, original.document_id)
    if facts is not None:
        facts.booking_id = draft.id  # later duplicates point at the booking that counts
    record_event(
        session,
        client_id=original.client_id,
        document_id=original.document_id,
        by=by,
        action=HistoryAction.REVERSED,
        field="booking",
        before=original.id,
        after=reversal.id,
        task_id=task.id,
    )
    session.flush()
    return Rebooking(reversal=reversal, draft=draft, task=task)


def _line_of(line: BookingLineRow) -> BookingLine:
    return BookingLine(
        account=line.account,
        debit=line.debit,
        credit=line.credit,
        vat_code=line.vat_code,
        text=line.text,
    )


def booking_view(row: BookingRow, base_url: str = "") -> BookingView:
    return BookingView(
        id=row.id,
        seq=row.seq,
        client_id=row.client_id,
        document_id=row.document_id,
        status=BookingStatus(row.status),
        date=row.date,
        currency=row.currency,
        supplier_id=row.supplier_id,
        text=row.text,
        reverses_id=row.reverses_id,
        lines=[
            BookingLine(
                account=line.account,
                debit=line.debit,
                credit=line.credit,
                vat_code=line.vat_code,
                text=line.text,
            )
            for line in row.lines
        ],
        document_url=f"{base_url}/api/v1/documents/{row.document_id}" if row.document_id else None,
        supplier_name=row.supplier.name if row.supplier is not None else None,
        posted_at=row.posted_at,
        kind=BookingKind(row.kind),
        corrected_by=row.corrected_by,
    )


def get_booking(session: Session, scope: Scope, booking_id: int) -> BookingRow | None:
    row = session.get(BookingRow, booking_id)
    if row is None or not scope.sees_booking(row):
        return None
    return row


def posted_after(session: Session, scope: Scope, after: int, limit: int) -> list[BookingRow]:
    """Posted (and later reversed) bookings in sequence order, for downstream polling."""
    statement = select(BookingRow).where(
        BookingRow.seq.is_not(None), BookingRow.seq > after, scope.booking_filter()
    )
    return list(session.scalars(statement.order_by(BookingRow.seq).limit(limit)))


def lock_export_watermark(session: Session, client_id: str) -> Counter:
    """The client's export watermark (`counters` row `export:<client>`: the last posting
    seq exported; 0 before the first export), locked until the transaction ends, so two
    export runs of one client take turns (SQLite: BEGIN IMMEDIATE does the same)."""
    name = f"export:{client_id}"
    statement = select(Counter).where(Counter.name == name).with_for_update()
    counter = session.scalar(statement)
    if counter is None:
        try:
            with session.begin_nested():
                session.add(Counter(name=name, value=0))
        except IntegrityError:
            pass  # another run made it a moment ago
        counter = session.scalar(statement)
    assert counter is not None
    return counter


def posted_since(session: Session, client_id: str, after_seq: int) -> list[BookingRow]:
    """The client's bookings posted with a seq above `after_seq` (reversals included,
    reversed ones with their current status), in sequence order."""
    statement = (
        select(BookingRow)
        .where(
            BookingRow.client_id == client_id,
            BookingRow.seq.is_not(None),
            BookingRow.seq > after_seq,
        )
        .order_by(BookingRow.seq)
    )
    return list(session.scalars(statement))


def bookings_for_period(
    session: Session, client_id: str, start: date, end: date
) -> list[BookingRow]:
    statement = (
        select(BookingRow)
        .where(
            BookingRow.client_id == client_id,
            BookingRow.seq.is_not(None),
            BookingRow.date >= start,
            BookingRow.date <= end,
        )
        .order_by(BookingRow.seq)
    )
    return list(session.scalars(statement))
