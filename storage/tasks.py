"""Tasks for people: created at most once per document and kind (dedupe key), listed,
and worked — completed (with or without corrections), rejected, or asked about.

A task that *holds* its document's draft booking (a release, an approval, a review, a
supplier to confirm, bank details to verify, a question to the client) posts that
booking when it is completed and no other such task on it is still open: the booking is
posted once every open question about it has been answered, by whoever was entitled to
answer it. Bank details come first: while they are unverified, a client cannot release
the invoice (409), and only staff confirm them (DESIGN.md, "Working a task").

Completing with corrections changes the document's reading (source `corrected`) and
rebuilds the held draft from it with routing's own proposal (handed in as `rebuild`:
storage does not import routing); every changed field goes into the document's history
(storage/audit.py), and what the correction teaches into storage/learning.py.

Rejecting a task discards its document's draft (status `discarded`, never posted) and
closes every other task that held it; the document keeps the reason.

Two people on one task: the task row is locked while one acts, and the second action
answers 409 naming who acted first — except completing a completed task again with no
body, which is harmless (nothing new happens).
"""

import hashlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.booking_lines import main_account, main_vat_code
from domain.corrections import READING_FIELDS, Corrections
from domain.enums import (
    Access,
    BookingStatus,
    ClientMode,
    DocType,
    DocumentState,
    HistoryAction,
    MailKind,
    Party,
    TaskKind,
    TaskOutcome,
    TaskStatus,
    TextSource,
)
from domain.extraction import Extraction
from domain.learned import Learned
from domain.records import (
    BookingDraft,
    BookingLine,
    Client,
    DocumentContext,
    PriorDocument,
    Supplier,
    TaskDraft,
    TaskView,
    User,
)
from storage import open_items
from storage.audit import as_json, record_event
from storage.scope import Scope
from storage.tables import (
    BankTransactionRow,
    BookingLineRow,
    BookingRow,
    ClientRow,
    DocumentRow,
    ExtractionRow,
    OpenItemRow,
    TaskRow,
    utcnow,
)

# Kinds that hold a draft booking until they are done.
HOLDING_KINDS = frozenset(
    {
        TaskKind.RELEASE_INVOICE.value,
        TaskKind.APPROVE_EXPENSE.value,
        TaskKind.REVIEW_DOCUMENT.value,
        TaskKind.CONFIRM_SUPPLIER.value,
        TaskKind.ASK_CLIENT.value,
        TaskKind.BANK_DETAILS.value,
        TaskKind.RECONCILE_ENTRY.value,  # a payment the client confirms (online)
    }
)
# Kinds by which a client lets its invoice or expense be posted.
RELEASING_KINDS = frozenset({TaskKind.RELEASE_INVOICE.value, TaskKind.APPROVE_EXPENSE.value})
# Details only the fiduciary's staff may read (another client's identity).
STAFF_ONLY_DETAILS = frozenset({"other_client"})
# Kinds whose request an upload answers (`POST /api/v1/documents?task=ID`).
UPLOAD_KINDS = frozenset({TaskKind.MISSING_DOCUMENT.value, TaskKind.ASK_CLIENT.value})
ASK_WITHIN = timedelta(days=10)  # due date of a question to the client
MAX_PAGE = 500

# What completing a task of a kind means in the document's history.
_COMPLETED_ACTION = {
    TaskKind.RELEASE_INVOICE.value: HistoryAction.RELEASED,
    TaskKind.APPROVE_EXPENSE.value: HistoryAction.APPROVED,
    TaskKind.REVIEW_DOCUMENT.value: HistoryAction.APPROVED,
    TaskKind.CONFIRM_SUPPLIER.value: HistoryAction.CONFIRMED,
    TaskKind.BANK_DETAILS.value: HistoryAction.CONFIRMED,
    TaskKind.SUSPECTED_DUPLICATE.value: HistoryAction.NOT_A_DUPLICATE,
}


class TaskNotAllowed(Exception):
    """The user may see the task but not do this to it; the message says why (403)."""


class TaskBlocked(Exception):
    """Not now: another task must be done first, or someone else acted first (409)."""


class InvalidCorrection(ValueError):
    """A correction that cannot be applied (422); the message names the field."""


class Rebuilt(Protocol):
    booking: BookingDraft
    facts: PriorDocument


class Rebuild(Protocol):
    """`routing.rebook.rebuild_booking`: the draft a corrected reading makes; raises
    ValueError saying why when it makes none."""

    def __call__(
        self,
        doc_type: DocType,
        ctx: DocumentContext,
        client: Client,
        supplier: Supplier | None,
        *,
        account: str | None = None,
        vat_code: str | None = None,
        credit: bool = False,
        learned: Learned | None = None,
    ) -> Rebuilt: ...


# Whether a draft books the mirror image (credit note); routing.rebook.is_credit.
IsCredit = Callable[[DocType, list[BookingLine]], bool]


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
        transaction_id=row.transaction_id,
    )


def get_task(session: Session, scope: Scope, task_id: int, *, lock: bool = False) -> TaskRow | None:
    """The task if this scope sees it. `lock`: held until commit (PostgreSQL; SQLite has
    one writer anyway), so two people acting on one task take turns."""
    statement = select(TaskRow).where(TaskRow.id == task_id)
    if lock:
        statement = statement.with_for_update()
    row = session.scalar(statement)
    if row is None:
        return None
    document = session.get(DocumentRow, row.document_id) if row.document_id else None
    return row if scope.sees_task(row, document) else None


def list_tasks(
    session: Session,
    scope: Scope,
    *,
    status: TaskStatus | None = None,
    kind: TaskKind | None = None,
    assignee: Party | None = None,
    client_id: str | None = None,
    due_before: date | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[TaskRow]:
    """The scope's tasks in id order, from `after` on (paging), at most `limit` (≤ 500).
    `status` None: open and done; `client_id` narrows (a client user's scope stays its
    own); `due_before`: due strictly before that day."""
    statement = scope.tasks(select(TaskRow))
    if client_id is not None:
        statement = statement.where(TaskRow.client_id == client_id)
    if status is not None:
        statement = statement.where(TaskRow.status == status.value)
    if kind is not None:
        statement = statement.where(TaskRow.kind == kind.value)
    if assignee is not None:
        statement = statement.where(TaskRow.assignee == assignee.value)
    if due_before is not None:
        statement = statement.where(TaskRow.due_date.is_not(None), TaskRow.due_date < due_before)
    if after is not None:
        statement = statement.where(TaskRow.id > after)
    limit = max(1, min(limit, MAX_PAGE))
    return list(session.scalars(statement.order_by(TaskRow.id).limit(limit)))


def count_open_by_client(session: Session, scope: Scope) -> dict[str, int]:
    """Open tasks per client the scope sees (clients without any are left out)."""
    statement = scope.tasks(
        select(TaskRow.client_id, func.count())
        .where(TaskRow.status == TaskStatus.OPEN.value)
        .group_by(TaskRow.client_id)
    )
    return {client_id: count for client_id, count in session.execute(statement)}


def count_open_by_assignee_and_kind(session: Session) -> list[tuple[str, str, int]]:
    """Open tasks of every client counted per assignee and kind, in that order."""
    rows = session.execute(
        select(TaskRow.assignee, TaskRow.kind, func.count())
        .where(TaskRow.status == TaskStatus.OPEN.value)
        .group_by(TaskRow.assignee, TaskRow.kind)
        .order_by(TaskRow.assignee, TaskRow.kind)
    )
    return [(assignee, kind, count) for assignee, kind, count in rows]


def open_client_tasks_for(session: Session, scope: Scope, username: str) -> list[TaskRow]:
    """The open tasks waiting for this user, in id order: the client's side of the work
    (not the fiduciary's), not addressed to someone else, and within the user's scope."""
    statement = scope.tasks(
        select(TaskRow).where(
            TaskRow.status == TaskStatus.OPEN.value,
            TaskRow.assignee == Party.CLIENT.value,
            or_(TaskRow.assignee_user.is_(None), TaskRow.assignee_user == username),
        )
    ).order_by(TaskRow.id)
    return list(session.scalars(statement))


def mark_done(
    session: Session, row: TaskRow, by: str, outcome: TaskOutcome = TaskOutcome.DONE
) -> None:
    row.status = TaskStatus.DONE.value
    row.completed_at = utcnow()
    row.completed_by = by
    row.outcome = outcome.value


# --- completing -----------------------------------------------------------------------


def complete_task(
    session: Session,
    scope: Scope,
    task_id: int,
    user: User,
    corrections: Corrections | None = None,
    note: str | None = None,
    *,
    rebuild: Rebuild | None = None,
    is_credit: IsCredit | None = None,
) -> TaskRow | None:
    """Mark a task done, in the caller's transaction, with what completing it means:

    - corrections (a task holding a draft only) change the document's reading and
      rebuild the draft with `rebuild` (required with corrections), `corrected_by` set,
      each changed field in the history, and teach (storage.learning);
    - a confirmed supplier becomes active (and one of the client's suppliers);
    - confirmed bank details become one of the supplier's accounts (staff only);
    - "not a duplicate" (a `suspected_duplicate` task) sends the document back to be
      routed without the duplicate check (`document.meta["not_a_duplicate"]`);
    - the document's draft booking is posted when this was the last open task holding it.

    Returns None when the task does not exist for this scope (the API answers 404).
    Raises TaskNotAllowed (403), TaskBlocked (409: bank details first, or someone acted
    first) and InvalidCorrection (422).
    """
    from storage.bank_details import confirm_supplier_iban
    from storage.bookings import post_booking
    from storage.suppliers import confirm_supplier

    row = get_task(session, scope, task_id, lock=True)
    if row is None:
        return None
    if row.status == TaskStatus.DONE.value:
        if corrections is None and row.outcome != TaskOutcome.REJECTED.value:
            return row  # completing twice is harmless: nothing is posted twice
        raise TaskBlocked(_acted_first(row))
    _check_may_act(row, user)
    if row.kind in RELEASING_KINDS and _bank_details_open(session, row):
        raise TaskBlocked(
            "the bank details on this document are not the supplier's known ones; the "
            "fiduciary verifies them before it can be released"
        )
    document = session.get(DocumentRow, row.document_id) if row.document_id else None
    learned: list[str] = []
    if corrections is not None and corrections.given():
        if not holds_booking(session, row) or document is None:
            raise InvalidCorrection(
                f"corrections: this {row.kind} task holds no draft booking to correct; "
                "complete it without corrections"
            )
        if rebuild is None or is_credit is None:
            raise TypeError("complete_task with corrections needs rebuild and is_credit")
        learned = _apply_corrections(session, row, document, corrections, user, rebuild, is_credit)
    asked = row.details or {}
    if row.kind == TaskKind.CONFIRM_SUPPLIER.value and asked.get("supplier_id"):
        confirm_supplier(session, asked["supplier_id"], row.client_id)
    if row.kind == TaskKind.BANK_DETAILS.value and asked.get("supplier_id"):
        confirm_supplier_iban(session, asked["supplier_id"], asked["iban"], user.username)
    # Read again: confirming a proposed supplier renames it in every task's details.
    details = dict(row.details or {})
    if note:
        details["note"] = note
    if learned:
        details["learned"] = [*details.get("learned", []), *learned]
    row.details = details
    outcome = TaskOutcome.RELEASED if row.kind in RELEASING_KINDS else TaskOutcome.DONE
    mark_done(session, row, user.username, outcome)
    if document is not None:
        action = _COMPLETED_ACTION.get(row.kind, HistoryAction.DONE)
        _event(session, row, document, user, action, after=note)
        if row.kind == TaskKind.SUSPECTED_DUPLICATE.value:
            _route_again_without_duplicate_check(session, row, document, user)
    session.flush()
    if holds_booking(session, row) and not _other_holders_open(session, row):
        booking = session.get(BookingRow, row.booking_id)
        if booking is not None and booking.status == BookingStatus.DRAFT.value:
            post_booking(session, booking, posted_by=user.username)
            row.outcome = TaskOutcome.POSTED.value
            if document is not None:
                _event(session, row, document, user, HistoryAction.POSTED, after=booking.seq)
    session.flush()
    return row


def _acted_first(row: TaskRow) -> str:
    when = row.completed_at.strftime("%Y-%m-%d %H:%M UTC") if row.completed_at else "earlier"
    return (
        f"{row.completed_by or 'someone'} already acted on this task ({row.outcome}, "
        f"{when}); nothing was changed — reload it to see what they did"
    )


def _apply_corrections(
    session: Session,
    row: TaskRow,
    document: DocumentRow,
    corrections: Corrections,
    user: User,
    rebuild: Rebuild,
    is_credit: IsCredit,
) -> list[str]:
    """Change the reading, rebuild and replace the held draft; returns what was learned."""
    from storage.documents import origin_of  # storage.documents imports this module
    from storage.history import record_facts
    from storage.learning import learn_from_correction, learned_for
    from storage.masterdata import get_client
    from storage.suppliers import SqlSupplierDirectory

    booking = session.get(BookingRow, row.booking_id)
    assert booking is not None  # holds_booking said so
    if booking.status != BookingStatus.DRAFT.value:
        raise TaskBlocked(f"the booking of this task is {booking.status}; nothing was changed")
    given = corrections.given()
    stored = session.get(ExtractionRow, document.id)
    extraction = (
        Extraction.model_validate(stored.data) if stored is not None else Extraction()
    ).model_copy(update={"text": stored.text if stored is not None else ""})
    changes: list[tuple[str, Any, Any]] = []

    # The reading: the person's value, certain, and marked as theirs.
    updates: dict[str, Any] = {}
    for name in READING_FIELDS:
        if name not in given:
            continue
        value = getattr(corrections, name)
        before = as_json(getattr(extraction, name))
        if as_json(value) != before:
            changes.append((name, before, as_json(value)))
        updates[name] = value
    if updates:
        extraction = extraction.model_copy(
            update={
                **updates,
                "confidence": {**extraction.confidence, **{k: 1.0 for k in updates}},
                "sources": {**extraction.sources, **{k: TextSource.CORRECTED for k in updates}},
            }
        )

    directory = SqlSupplierDirectory(session, row.client_id)
    supplier_id = document.supplier_id
    if corrections.supplier_id is not None:
        if directory.get(corrections.supplier_id) is None:
            raise InvalidCorrection(
                f"corrections.supplier_id: there is no supplier {corrections.supplier_id} "
                "for this client; choose one of its suppliers"
            )
        if corrections.supplier_id != supplier_id:
            changes.append(("supplier_id", supplier_id, corrections.supplier_id))
        supplier_id = corrections.supplier_id
    if corrections.payment_method is not None:
        if corrections.payment_method.value != document.payment_method:
            changes.append(
                ("payment_method", document.payment_method, corrections.payment_method.value)
            )
        document.payment_method = corrections.payment_method.value

    client = get_client(session, row.client_id)
    assert client is not None
    supplier = directory.get(supplier_id) if supplier_id else None
    doc_type = DocType(document.doc_type or extraction.doc_type)
    old_lines = [_line_of(line) for line in booking.lines]
    context = DocumentContext(
        document_id=document.id,
        client_id=document.client_id,
        extraction=extraction,
        **origin_of(document).model_dump(),
    )
    # The account the draft had stays unless the person or a new supplier changes it
    # (a learned or chosen account must not fall back to the chart's default).
    keep = main_account(old_lines) if corrections.supplier_id is None else None
    try:
        rebuilt = rebuild(
            doc_type,
            context,
            client,
            supplier,
            account=corrections.account or keep,
            vat_code=corrections.vat_code,
            credit=is_credit(doc_type, old_lines),
            learned=learned_for(session, row.client_id, supplier_id) if supplier_id else None,
        )
        draft = rebuilt.booking
        if corrections.lines is not None:
            draft = BookingDraft(
                date=draft.date,
                currency=draft.currency,
                supplier_id=draft.supplier_id,
                text=draft.text,
                lines=corrections.lines,
            )
    except ValueError as exc:
        if corrections.lines is None:
            raise InvalidCorrection(f"corrections: {exc}") from exc
        # Lines given by hand book even a reading routing cannot book by itself.
        try:
            draft = BookingDraft(
                date=extraction.issue_date or booking.date,
                currency=(extraction.currency or booking.currency).upper(),
                supplier_id=supplier_id,
                text=booking.text,
                lines=corrections.lines,
            )
        except ValueError as error:
            raise InvalidCorrection(f"corrections.lines: {error}") from error
        rebuilt = None
    new_lines = list(draft.lines)
    for name, before, after in (
        ("account", main_account(old_lines), main_account(new_lines)),
        ("vat_code", main_vat_code(old_lines), main_vat_code(new_lines)),
    ):
        if (name in given or "lines" in given) and before != after:
            changes.append((name, before, after))
    if "lines" in given:
        changes.append(("lines", as_json(old_lines), as_json(new_lines)))

    _replace_draft(session, booking, draft)
    booking.corrected_by = user.username
    document.supplier_id = supplier_id
    open_items.follow_correction(session, document.id, extraction, supplier_id)
    if stored is not None:
        stored.data = extraction.public_json()
    else:
        session.add(
            ExtractionRow(
                document_id=document.id,
                client_id=document.client_id,
                data=extraction.public_json(),
                text=extraction.text,
            )
        )
    if rebuilt is not None:
        record_facts(
            session,
            document.client_id,
            rebuilt.facts,
            booking_id=booking.id,
            duplicate_of=None,
        )
    for name, before, after in changes:
        _event(session, row, document, user, HistoryAction.CORRECTED, name, before, after)
    session.flush()
    return learn_from_correction(
        session,
        client_id=row.client_id,
        supplier_id=supplier_id,
        document_id=document.id,
        given=given,
        by=user.username,
        staff=user.is_staff,
    )


def _line_of(row: BookingLineRow) -> BookingLine:
    return BookingLine(
        account=row.account,
        debit=row.debit,
        credit=row.credit,
        vat_code=row.vat_code,
        text=row.text,
    )


def _replace_draft(session: Session, booking: BookingRow, draft: BookingDraft) -> None:
    """A draft's lines and header replaced; posted bookings never get here."""
    booking.lines.clear()
    session.flush()  # the old lines go before the new take their numbers
    booking.date = draft.date
    booking.currency = draft.currency
    booking.supplier_id = draft.supplier_id
    booking.text = draft.text[:500]
    booking.lines.extend(
        BookingLineRow(
            client_id=booking.client_id,
            line_no=i,
            account=line.account,
            debit=line.debit,
            credit=line.credit,
            vat_code=line.vat_code,
            text=line.text[:500],
        )
        for i, line in enumerate(draft.lines, start=1)
    )


def _route_again_without_duplicate_check(
    session: Session, row: TaskRow, document: DocumentRow, user: User
) -> None:
    """ "Not a duplicate — carry on": the document goes back to `received` and is routed
    again by the pipeline, which skips the duplicate check for it (its stored reading is
    reused, nothing is read twice). The caller asks for processing after the commit."""
    document.meta = {
        **(document.meta or {}),
        "not_a_duplicate": {"by": user.username, "task_id": row.id},
    }
    document.state = DocumentState.RECEIVED.value
    document.lease_owner = None
    document.lease_until = None
    document.next_attempt_at = None
    document.processed_at = None
    document.attempts = 0
    document.error = None


# --- rejecting ------------------------------------------------------------------------


def reject_task(
    session: Session, scope: Scope, task_id: int, user: User, reason: str
) -> TaskRow | None:
    """Reject what the task is about: nothing is posted, the document's draft is
    discarded and every other open task holding it closes; the document keeps the reason.

    Returns None when the task does not exist for this scope; raises TaskNotAllowed as
    `complete_task` does, and TaskBlocked for a task that is already done otherwise.
    """
    row = get_task(session, scope, task_id, lock=True)
    if row is None:
        return None
    if row.status == TaskStatus.DONE.value:
        if row.outcome == TaskOutcome.REJECTED.value:
            return row  # rejecting twice is harmless
        raise TaskBlocked(_acted_first(row))
    _check_may_act(row, user)
    mark_done(session, row, user.username, TaskOutcome.REJECTED)
    if holds_booking(session, row):
        booking = session.get(BookingRow, row.booking_id)
        if booking is not None and booking.status == BookingStatus.DRAFT.value:
            booking.status = BookingStatus.DISCARDED.value
        for other in session.scalars(_open_holders(row)):
            mark_done(session, other, user.username, TaskOutcome.REJECTED)
    if row.transaction_id is not None:
        # A bank entry's task: the match (or the entry's reading) is what was rejected,
        # not the statement it came on.
        _undo_match(session, row, user, reason)
        session.flush()
        return row
    if row.document_id is not None:
        document = session.get(DocumentRow, row.document_id)
        if document is not None:
            document.meta = {
                **(document.meta or {}),
                "rejected": {"reason": reason, "by": user.username, "task_id": row.id},
            }
            _event(session, row, document, user, HistoryAction.REJECTED, after=reason)
            if reason.strip().lower() == "private" and document.supplier_id:
                # The supplier's next documents go before a person as probably private.
                from storage.learning import learn_from_correction

                learn_from_correction(
                    session,
                    client_id=row.client_id,
                    supplier_id=document.supplier_id,
                    document_id=document.id,
                    given={"private": True},
                    by=user.username,
                    staff=user.is_staff,
                )
    session.flush()
    return row


def _undo_match(session: Session, row: TaskRow, user: User, reason: str) -> None:
    """A person said the entry does not pay these documents: they are open again, the
    entry is unexplained, and the fiduciary gets it to book by hand."""
    entry = session.get(BankTransactionRow, row.transaction_id)
    if entry is None or entry.status != "matched":
        return
    for item in session.scalars(select(OpenItemRow).where(OpenItemRow.paid_by == entry.id)):
        item.status = "open"
        item.paid_by = None
    entry.status = "unmatched"
    entry.reason = f"{user.username} rejected the match ({reason})"
    entry.matches = []
    task, _ = create_task(
        session,
        row.client_id,
        TaskDraft(
            kind=TaskKind.RECONCILE_ENTRY,
            assignee=Party.FIDUCIARY,
            reason=f"Book bank transaction {entry.id} by hand: {entry.reason}",
        ),
        dedupe_key=f"tx:{entry.id}:rejected:{TaskKind.RECONCILE_ENTRY.value}",
        document_id=entry.document_id,
    )
    task.transaction_id = entry.id
    entry.task_id = task.id


# --- asking the client ----------------------------------------------------------------


class NoContactAddress(ValueError):
    """An offline client without `contact: {email}` cannot be written to (422)."""


def ask_client(
    session: Session, scope: Scope, task_id: int, user: User, message: str
) -> TaskRow | None:
    """Ask the client about the task's document (staff only): an online client gets a
    task of its own (`ask_client`, due in 10 days, the message as its reason); an offline
    client a mail to its contact address (storage.outbox; sent by the notifier). The
    task stays open — it is done when the answer is in. The same message twice asks once.

    Returns the task (its `details["asked"]` lists every question and where it went),
    None when the scope does not see it. Raises TaskNotAllowed (not staff), TaskBlocked
    (done already) and NoContactAddress.
    """
    from storage.outbox import queue_mail

    row = get_task(session, scope, task_id, lock=True)
    if row is None:
        return None
    if not user.is_staff:
        raise TaskNotAllowed("only the fiduciary's staff ask the client")
    if row.status == TaskStatus.DONE.value:
        raise TaskBlocked(_acted_first(row))
    client = session.get(ClientRow, row.client_id)
    assert client is not None
    text = message.strip()
    key = hashlib.sha256(text.encode()).hexdigest()[:16]
    asked: dict[str, Any] = {"at": utcnow().isoformat(), "by": user.username, "message": text}
    if client.mode == ClientMode.ONLINE.value:
        request, _ = create_task(
            session,
            row.client_id,
            TaskDraft(
                kind=TaskKind.ASK_CLIENT,
                assignee=Party.CLIENT,
                reason=text,
                due_date=date.today() + ASK_WITHIN,
                details={"asked_on_task": row.id, "asked_by": user.username},
            ),
            dedupe_key=f"task:{row.id}:ask:{key}",
            document_id=row.document_id,
        )
        asked["task_id"] = request.id
    else:
        if not client.contact_email:
            raise NoContactAddress(
                f"no contact address for client {client.id}; add `contact: {{email: …}}` to "
                "the master data"
            )
        subject, body = _request_mail(session, client, row, text)
        mail = queue_mail(
            session,
            kind=MailKind.REQUEST,
            recipient=client.contact_email,
            subject=subject,
            body=body,
            dedupe_key=f"request:task:{row.id}:{key}",
            client_id=client.id,
            task_id=row.id,
        )
        asked["mail_id"] = mail.id
        asked["to"] = client.contact_email
    details = dict(row.details or {})
    if not any(a.get("message") == text for a in details.get("asked", [])):
        details["asked"] = [*details.get("asked", []), asked]
        row.details = details
        if row.document_id is not None:
            document = session.get(DocumentRow, row.document_id)
            if document is not None:
                _event(session, row, document, user, HistoryAction.ASKED, after=text)
    session.flush()
    return row


_SUBJECT = {
    "de": "Rückfrage zu Ihrem Beleg {name}",
    "fr": "Question concernant votre pièce {name}",
    "it": "Domanda sul vostro documento {name}",
    "en": "A question about your document {name}",
}
_BODY = {
    "de": "Guten Tag\n\n{message}\n\nBeleg: {name}\n\nFreundliche Grüsse\n{by}",
    "fr": "Bonjour\n\n{message}\n\nPièce : {name}\n\nMeilleures salutations\n{by}",
    "it": "Buongiorno\n\n{message}\n\nDocumento: {name}\n\nCordiali saluti\n{by}",
    "en": "Hello\n\n{message}\n\nDocument: {name}\n\nKind regards\n{by}",
}


def _request_mail(
    session: Session, client: ClientRow, row: TaskRow, message: str
) -> tuple[str, str]:
    """Subject and body of a request to an offline client, in the client's language."""
    from storage.masterdata import fiduciary

    document = session.get(DocumentRow, row.document_id) if row.document_id else None
    name = document.filename if document is not None else f"#{row.id}"
    firm = fiduciary(session)
    language = client.language if client.language in _SUBJECT else "de"
    subject = _SUBJECT[language].format(name=name)
    body = _BODY[language].format(message=message, name=name, by=firm.name if firm else "")
    return subject, body


# --- the upload a request asked for ---------------------------------------------------


class NotARequest(ValueError):
    """The task an upload names is no request for a document (422)."""


def request_for_upload(session: Session, scope: Scope, task_id: int, user: User) -> TaskRow:
    """The open request an upload answers (`?task=ID`). Raises LookupError (404: not in
    the scope), NotARequest (not a request for a document) and TaskNotAllowed (the
    fiduciary's own request, for a client user). A done request still takes the upload:
    nothing a client sends is refused for that."""
    row = get_task(session, scope, task_id)
    if row is None:
        raise LookupError(task_id)
    if row.kind not in UPLOAD_KINDS:
        raise NotARequest(
            f"task {row.id} is a {row.kind} task; an upload answers missing_document or "
            "ask_client tasks only"
        )
    if row.assignee == Party.FIDUCIARY.value and not user.is_staff:
        raise TaskNotAllowed("this request is for the fiduciary")
    return row


def answer_with_upload(session: Session, task_id: int, document_id: int, user: User) -> None:
    """The request is answered by the uploaded document: the task closes (outcome done,
    by the uploader) unless someone closed it already; the task's document records the
    upload, the upload the task it answers."""
    row = session.scalar(select(TaskRow).where(TaskRow.id == task_id).with_for_update())
    upload = session.get(DocumentRow, document_id)
    if row is None or upload is None:
        return
    if (upload.meta or {}).get("answers_task") != row.id:
        upload.meta = {**(upload.meta or {}), "answers_task": row.id}
    if row.status == TaskStatus.DONE.value:
        return
    mark_done(session, row, user.username, TaskOutcome.DONE)
    row.details = {**(row.details or {}), "uploaded_document_id": document_id}
    about = session.get(DocumentRow, row.document_id) if row.document_id else None
    for document in (about, upload) if about is not None else (upload,):
        _event(session, row, document, user, HistoryAction.UPLOADED, after=document_id)
    session.flush()


# --- rules ----------------------------------------------------------------------------


def _event(
    session: Session,
    row: TaskRow,
    document: DocumentRow,
    user: User,
    action: HistoryAction,
    field: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    record_event(
        session,
        client_id=document.client_id,
        document_id=document.id,
        by=user.username,
        action=action,
        field=field,
        before=before,
        after=after,
        task_id=row.id,
    )


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


def _open_holders(row: TaskRow) -> Select[TaskRow]:
    return select(TaskRow).where(
        TaskRow.booking_id == row.booking_id,
        TaskRow.id != row.id,
        TaskRow.status == TaskStatus.OPEN.value,
        TaskRow.kind.in_(HOLDING_KINDS),
    )


def _other_holders_open(session: Session, row: TaskRow) -> bool:
    return session.scalars(_open_holders(row).limit(1)).first() is not None
