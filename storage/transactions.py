"""Bank transactions: each transaction of a statement's booked entries, stored once.

The same statement twice, or two statements that overlap, never store an entry twice:
a transaction is keyed by the client, the account, the entry's key (the bank's
reference, else a digest of the entry's fields) and its place in the entry — a unique
constraint, so two workers taking in overlapping statements at once cannot both store it.
Also the transaction resource (DESIGN.md, "Resources"), the lists the API pages, and a
person's match of an entry nothing explained to the documents it pays (`match_by_hand`).
"""

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

from domain.enums import Access, BookingKind, BookingStatus, TaskKind, TaskOutcome, TaskStatus
from domain.reconciliation import (
    EntryToMatch,
    MatchOutcome,
    MatchStatus,
    OpenItemKind,
    PaymentMatch,
    PaymentMatchRule,
    PaymentState,
    ReconciliationSettings,
    Settled,
)
from domain.records import BookingDraft, TaskDraft, User
from storage import open_items
from storage.bookings import create_booking
from storage.history import lock_client
from storage.masterdata import get_client
from storage.scope import Scope
from storage.tables import (
    BankTransactionRow,
    BookingRow,
    DocumentRow,
    OpenItemRow,
    TaskRow,
)
from storage.tasks import create_task, mark_done

MAX_PAGE = 500
CHUNK = 300
# States in which an entry still waits for a person or a document (not matched, not ruled).
WAITING = (MatchStatus.MISSING_DOCUMENT, MatchStatus.UNMATCHED, MatchStatus.AMBIGUOUS)


class NewTransaction(BaseModel):
    """One transaction to store (what `routing.statement.entries_to_match` gives)."""

    entry_key: str
    part: int
    bank_reference: str | None
    booking_date: date
    value_date: date | None
    amount: Decimal
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None
    reference: str | None
    end_to_end_id: str | None
    remittance: str


def store_new(
    session: Session,
    client_id: str,
    document_id: int,
    account_iban: str,
    transactions: Sequence[NewTransaction],
) -> tuple[list[BankTransactionRow], int]:
    """Store the transactions not stored yet for this account; returns (the new rows, in
    order, and how many were known already). New rows start `unmatched`, with no reason:
    reconciliation sets both."""
    known = _known_keys(
        session, client_id, account_iban, [(t.entry_key, t.part) for t in transactions]
    )
    new_rows = []
    seen: set[tuple[str, int]] = set()
    for tx in transactions:
        key = (tx.entry_key, tx.part)
        if key in known or key in seen:
            continue
        seen.add(key)
        row = BankTransactionRow(
            client_id=client_id,
            document_id=document_id,
            account_iban=account_iban,
            entry_key=tx.entry_key[:120],
            part=tx.part,
            bank_reference=(tx.bank_reference or None) and tx.bank_reference[:100],
            booking_date=tx.booking_date,
            value_date=tx.value_date,
            amount=tx.amount,
            currency=tx.currency,
            counterparty_name=(tx.counterparty_name or None) and tx.counterparty_name[:200],
            counterparty_iban=tx.counterparty_iban,
            reference=(tx.reference or None) and tx.reference[:40],
            end_to_end_id=(tx.end_to_end_id or None) and tx.end_to_end_id[:40],
            remittance=tx.remittance,
            status=MatchStatus.UNMATCHED.value,
            reason="",
            matches=[],
            suggestions=[],
        )
        new_rows.append(row)
    session.add_all(new_rows)
    session.flush()
    return new_rows, len(transactions) - len(new_rows)


def _known_keys(
    session: Session, client_id: str, account_iban: str, keys: list[tuple[str, int]]
) -> set[tuple[str, int]]:
    known: set[tuple[str, int]] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        statement = select(BankTransactionRow.entry_key, BankTransactionRow.part).where(
            BankTransactionRow.client_id == client_id,
            BankTransactionRow.account_iban == account_iban,
            tuple_(BankTransactionRow.entry_key, BankTransactionRow.part).in_(chunk),
        )
        known.update((key, part) for key, part in session.execute(statement))
    return known


def waiting_for(
    session: Session,
    client_id: str,
    currency: str,
    low: Decimal,
    high: Decimal,
    statuses: Iterable[MatchStatus],
) -> list[BankTransactionRow]:
    """The client's transactions in these states whose signed amount lies in [low, high]
    (a document that arrives later looks for the entry that paid it), oldest first."""
    statement = (
        select(BankTransactionRow)
        .where(
            BankTransactionRow.client_id == client_id,
            BankTransactionRow.status.in_([s.value for s in statuses]),
            BankTransactionRow.amount >= low,
            BankTransactionRow.amount <= high,
            BankTransactionRow.currency == currency,
        )
        .order_by(BankTransactionRow.booking_date, BankTransactionRow.id)
        .limit(50)
    )
    return list(session.scalars(statement))


def record_outcome(
    session: Session,
    row: BankTransactionRow,
    outcome: MatchOutcome,
    *,
    booking: BookingDraft | None,
    kind: BookingKind,
    post: bool,
    task: TaskDraft | None,
    paid: list[int],
    by: str,
) -> None:
    """What became of one transaction: its status and why, its booking (at most once:
    `pay:<id>` / `rule:<id>`), the task it needs, the documents it paid (and the open
    reminders for them, which close)."""
    row.status = outcome.status.value
    row.reason = outcome.reason
    row.matches = [m.model_dump(mode="json") for m in outcome.matches]
    row.suggestions = [s.model_dump(mode="json") for s in outcome.suggestions]
    row.posting_rule = outcome.posting_rule
    booking_id = None
    if booking is not None:
        prefix = "rule" if kind is BookingKind.RULE else "pay"
        created, _ = create_booking(
            session,
            row.client_id,
            row.document_id,
            booking,
            origin_key=f"{prefix}:{row.id}",
            post=post,
            posted_by=by if post else None,
            kind=kind,
        )
        booking_id = created.id
    row.booking_id = booking_id
    if paid:
        open_items.mark_paid(session, row.client_id, paid, by=row.id)
        close_reminders(session, row.client_id, paid, row)
    if task is not None:
        task_row, _ = create_task(
            session,
            row.client_id,
            task,
            dedupe_key=f"tx:{row.id}:{outcome.status.value}:{task.kind.value}",
            document_id=row.document_id,
            booking_id=booking_id if task.holds_booking else None,
        )
        task_row.transaction_id = row.id
        row.task_id = task_row.id
    session.flush()


def close_reminders(
    session: Session, client_id: str, document_ids: list[int], row: BankTransactionRow
) -> None:
    """A reminder waiting for an invoice that is now paid needs nobody any more."""
    open_reminders = session.scalars(
        select(TaskRow).where(
            TaskRow.client_id == client_id,
            TaskRow.kind == TaskKind.REMINDER_RECEIVED.value,
            TaskRow.status == TaskStatus.OPEN.value,
        )
    )
    for task in open_reminders:
        if (task.details or {}).get("invoice_document") in document_ids:
            close_by_fiduflow(session, task, _paid_on(row.booking_date.isoformat(), row.id))


def close_reminder_if_paid(
    session: Session, client_id: str, reminder_id: int, invoice_id: int
) -> None:
    """A reminder that arrives for an invoice the bank already shows paid: its task closes."""
    item = session.get(OpenItemRow, invoice_id)
    if item is None or item.client_id != client_id or item.paid_by is None:
        return
    payment = session.get(BankTransactionRow, item.paid_by)
    when = payment.booking_date.isoformat() if payment else "earlier"
    tasks = session.scalars(
        select(TaskRow).where(
            TaskRow.document_id == reminder_id,
            TaskRow.kind == TaskKind.REMINDER_RECEIVED.value,
            TaskRow.status == TaskStatus.OPEN.value,
        )
    )
    for task in tasks:
        close_by_fiduflow(session, task, _paid_on(when, item.paid_by))


def _paid_on(when: str, transaction_id: int) -> str:
    return f"the invoice was paid on {when} (bank transaction {transaction_id})"


def close_by_fiduflow(session: Session, task: TaskRow, why: str) -> None:
    """Done by fiduflow itself, with the reason in the task's details."""
    close_as(session, task, "fiduflow", why)


def close_as(session: Session, task: TaskRow, by: str, why: str) -> None:
    """Done by `by` (fiduflow, or the person whose act made the task needless), with the
    reason in the task's details."""
    mark_done(session, task, by, TaskOutcome.DONE)
    task.details = {**(task.details or {}), "closed_because": why}


def entry_of(row: BankTransactionRow) -> EntryToMatch:
    """A stored transaction as reconciliation and the payment booking see it."""
    return EntryToMatch(
        amount=row.amount,
        currency=row.currency,
        booking_date=row.booking_date,
        counterparty_name=row.counterparty_name,
        counterparty_iban=row.counterparty_iban,
        reference=row.reference,
        end_to_end_id=row.end_to_end_id,
        remittance=row.remittance,
    )


# --- a person's match ----------------------------------------------------------------------


class MatchRefused(ValueError):
    """The documents cannot be what the entry pays; the message names which and why (422)."""


class MatchNotAllowed(Exception):
    """The user may see the entry but not reconcile it (403)."""


class NotWaiting(Exception):
    """The entry is reconciled already: matched or booked by a rule (409)."""


# `routing.statement.payment_booking`, handed in: storage does not import routing.
PaymentBooking = Callable[
    [EntryToMatch, list[PaymentMatch], dict[int, Settled], str], BookingDraft | None
]


def match_by_hand(
    session: Session,
    scope: Scope,
    transaction_id: int,
    document_ids: list[int],
    user: User,
    *,
    payment_booking: PaymentBooking,
) -> BankTransactionRow | None:
    """A person says which open documents an entry pays (one reconciliation left without a
    match: a missing document, an unexplained credit, a choice among suggestions).

    The documents become paid, the payment booking is posted at once (a person decided,
    as a confirmed match would be), and the entry's open task is closed in that person's
    name. Returns None when the entry does not exist for this scope (404). Raises
    MatchNotAllowed (403: an offline client's users, or no company access), NotWaiting
    (409) and MatchRefused (422)."""
    row = get_transaction(session, scope, transaction_id)
    if row is None:
        return None
    client = get_client(session, row.client_id)
    assert client is not None  # a transaction's client exists (foreign key)
    if not user.is_staff and (user.access is not Access.COMPANY or not client.online):
        raise MatchNotAllowed(
            "reconciling bank transactions takes company access of an online client; "
            "ask your fiduciary"
        )
    # The order statement processing takes its locks in: the client, then the entry.
    lock_client(session, row.client_id)
    session.refresh(row, with_for_update=True)
    if MatchStatus(row.status) not in WAITING:
        raise NotWaiting(_reconciled_already(row))
    items = _payable_items(session, scope, row, document_ids)
    _retire_undone_payment(session, row)
    entry = entry_of(row)
    matches = manual_matches(entry.paid, [(item.document_id, item.amount) for item in items])
    _within_tolerance(matches[-1], items[-1].amount, client.banking.reconciliation)
    outcome = MatchOutcome(
        status=MatchStatus.MATCHED, matches=matches, reason=f"matched by {user.username}"
    )
    settled = open_items.settled(session, row.client_id, document_ids)
    booking = payment_booking(
        entry, matches, settled, client.banking.ledger_account(row.account_iban)
    )
    task = session.get(TaskRow, row.task_id) if row.task_id is not None else None
    if task is not None and task.status == TaskStatus.OPEN.value:
        listed = ", ".join(str(i) for i in document_ids)
        close_as(
            session,
            task,
            user.username,
            f"{user.username} matched the entry to document(s) {listed}",
        )
    record_outcome(
        session,
        row,
        outcome,
        booking=booking,
        kind=BookingKind.PAYMENT,
        post=True,
        task=None,
        paid=list(document_ids),
        by=user.username,
    )
    return row


def manual_matches(paid: Decimal, open_amounts: list[tuple[int, Decimal]]) -> list[PaymentMatch]:
    """What a person's match pays each document: its open amount, the last one what is left
    of the entry. The last one's difference (open − paid: a discount or fee deducted, or
    negative, more paid) is what the payment booking books away."""
    if not open_amounts:
        raise MatchRefused("document_ids: name at least one document the entry pays")
    *first, (last_id, last_open) = open_amounts
    taken = sum((amount for _, amount in first), Decimal(0))
    remainder = paid - taken
    if remainder <= 0:
        ids = ", ".join(str(document_id) for document_id, _ in first)
        raise MatchRefused(
            f"document_ids: documents {ids} are open for {taken:.2f} together, the entry "
            f"pays {paid:.2f}: nothing is left for document {last_id}; name fewer documents"
        )
    matches = [
        PaymentMatch(
            document_id=document_id, amount=amount, rule=PaymentMatchRule.MANUAL, score=100
        )
        for document_id, amount in first
    ]
    matches.append(
        PaymentMatch(
            document_id=last_id,
            amount=remainder,
            rule=PaymentMatchRule.MANUAL,
            score=100,
            difference=last_open - remainder,
        )
    )
    return matches


def _within_tolerance(
    last: PaymentMatch, open_amount: Decimal, settings: ReconciliationSettings
) -> None:
    """What a manual match books away (a Skonto taken, a fee, an overpayment) stays within
    the client's tolerances: a larger gap is a wrong document, not a fee."""
    allowed = settings.fee_tolerance
    if last.difference > 0:
        allowed += (open_amount * settings.discount_pct / 100).quantize(Decimal("0.01"))
    if abs(last.difference) > allowed:
        raise MatchRefused(
            f"document_ids: document {last.document_id} is open for {open_amount:.2f} and "
            f"the entry leaves {last.amount:.2f} for it: a difference of "
            f"{last.difference:.2f} is more than the client's tolerance ({allowed:.2f}); "
            "name the documents the entry really pays, or book it by hand"
        )


def _retire_undone_payment(session: Session, row: BankTransactionRow) -> None:
    """An entry whose earlier match was undone (its draft rejected, or the payment
    reversed) keeps that booking under the entry's payment key: the key is retired, so that
    the new match gets a booking of its own. A payment that still stands is refused."""
    key = f"pay:{row.id}"
    earlier = session.scalar(select(BookingRow).where(BookingRow.origin_key == key))
    if earlier is None:
        return
    if earlier.status not in (BookingStatus.DISCARDED.value, BookingStatus.REVERSED.value):
        raise NotWaiting(
            f"transaction {row.id} has payment booking {earlier.id} ({earlier.status}) "
            "already; reverse or reject it first"
        )
    earlier.origin_key = f"{key}:was:{earlier.id}"
    session.flush()


def _reconciled_already(row: BankTransactionRow) -> str:
    if row.status == MatchStatus.RULE.value:
        what = f"booked by posting rule {row.posting_rule!r}"
    else:
        paid = ", ".join(str(m.get("document_id")) for m in row.matches or [])
        what = f"matched to document(s) {paid} ({row.reason})"
    return f"transaction {row.id} is {what} already; nothing was changed"


def _payable_items(
    session: Session, scope: Scope, row: BankTransactionRow, document_ids: list[int]
) -> list[OpenItemRow]:
    """The open items the entry may pay, in the order named; MatchRefused naming the first
    document that cannot be one."""
    doubled = sorted({i for i in document_ids if document_ids.count(i) > 1})
    if doubled:
        raise MatchRefused(f"document_ids: document {doubled[0]} is named more than once")
    debit = row.amount < 0
    items = []
    for document_id in document_ids:
        document = session.get(DocumentRow, document_id)
        if document is None or not scope.sees_document(document):
            # Another client's document answers like a missing one.
            raise MatchRefused(f"document_ids: there is no document {document_id}")
        if document.client_id != row.client_id:
            raise MatchRefused(
                f"document_ids: document {document_id} is client {document.client_id}'s, "
                f"transaction {row.id} client {row.client_id}'s"
            )
        item = session.get(OpenItemRow, document_id)
        if item is None:
            raise MatchRefused(
                f"document_ids: document {document_id} waits for no payment (only booked "
                "supplier invoices, receipts and customer invoices do)"
            )
        if item.status != PaymentState.OPEN.value:
            by = f" (bank transaction {item.paid_by})" if item.paid_by else ""
            raise MatchRefused(f"document_ids: document {document_id} is paid already{by}")
        if item.booking_id is not None and _discarded(session, item.booking_id):
            raise MatchRefused(
                f"document_ids: document {document_id}'s booking was rejected: it is no debt"
            )
        if item.currency != row.currency:
            raise MatchRefused(
                f"document_ids: document {document_id} is in {item.currency}, "
                f"the transaction in {row.currency}"
            )
        customer = item.kind == OpenItemKind.CUSTOMER_INVOICE.value
        if debit and customer:
            raise MatchRefused(
                f"document_ids: document {document_id} is a customer invoice, which a credit "
                f"pays; transaction {row.id} is a debit"
            )
        if not debit and not customer:
            raise MatchRefused(
                f"document_ids: document {document_id} is a {item.kind.replace('_', ' ')} the "
                f"client pays, which a debit pays; transaction {row.id} is a credit"
            )
        items.append(item)
    return items


def _discarded(session: Session, booking_id: int) -> bool:
    status = session.scalar(select(BookingRow.status).where(BookingRow.id == booking_id))
    return status == BookingStatus.DISCARDED.value


# --- the resource ------------------------------------------------------------------------


class TransactionView(BaseModel):
    """The transaction resource (DESIGN.md)."""

    id: int
    client_id: str
    document_id: int
    account_iban: str
    bank_reference: str | None
    booking_date: date
    value_date: date | None
    amount: str  # signed, two places: negative = debit
    currency: str
    counterparty_name: str | None
    counterparty_iban: str | None
    reference: str | None
    remittance: str
    status: MatchStatus
    reason: str
    matches: list[dict[str, Any]]
    suggestions: list[dict[str, Any]]
    posting_rule: str | None
    task_id: int | None
    booking_id: int | None
    created_at: datetime


def transaction_view(row: BankTransactionRow) -> TransactionView:
    return TransactionView(
        id=row.id,
        client_id=row.client_id,
        document_id=row.document_id,
        account_iban=row.account_iban,
        bank_reference=row.bank_reference,
        booking_date=row.booking_date,
        value_date=row.value_date,
        amount=f"{row.amount:.2f}",
        currency=row.currency,
        counterparty_name=row.counterparty_name,
        counterparty_iban=row.counterparty_iban,
        reference=row.reference,
        remittance=row.remittance,
        status=MatchStatus(row.status),
        reason=row.reason,
        matches=list(row.matches or []),
        suggestions=list(row.suggestions or []),
        posting_rule=row.posting_rule,
        task_id=row.task_id,
        booking_id=row.booking_id,
        created_at=row.created_at,
    )


def get_transaction(
    session: Session, scope: Scope, transaction_id: int, *, lock: bool = False
) -> BankTransactionRow | None:
    """The transaction if this scope sees it (staff, and the client's company users;
    employees see no bank data)."""
    if not scope.sees_bookkeeping:
        return None
    statement = select(BankTransactionRow).where(BankTransactionRow.id == transaction_id)
    if lock:
        statement = statement.with_for_update()
    row = session.scalar(statement)
    return row if row is not None and scope.allows(row.client_id) else None


def list_transactions(
    session: Session,
    scope: Scope,
    *,
    after: int | None = None,
    limit: int = 100,
    client_id: str | None = None,
    status: MatchStatus | None = None,
    document_id: int | None = None,
) -> list[BankTransactionRow]:
    """The scope's transactions in id order, from `after` on, at most `limit` (≤ 500)."""
    if not scope.sees_bookkeeping:
        return []
    statement = scope.narrowed(client_id).apply(
        select(BankTransactionRow), BankTransactionRow.client_id
    )
    if status is not None:
        statement = statement.where(BankTransactionRow.status == status.value)
    if document_id is not None:
        statement = statement.where(BankTransactionRow.document_id == document_id)
    if after is not None:
        statement = statement.where(BankTransactionRow.id > after)
    limit = max(1, min(limit, MAX_PAGE))
    return list(session.scalars(statement.order_by(BankTransactionRow.id).limit(limit)))


def statement_reconciliation(session: Session, document_id: int) -> dict[str, Any]:
    """A statement's transactions by status: how many and how much (the document resource's
    `reconciliation`). Amounts are the sums of the signed amounts, per currency."""
    return statement_reconciliations(session, [document_id])[document_id]


def statement_reconciliations(
    session: Session, document_ids: Sequence[int]
) -> dict[int, dict[str, Any]]:
    """`statement_reconciliation` of several statements (a page of documents) in one query."""
    counts: dict[int, Counter[str]] = {i: Counter() for i in document_ids}
    amounts: dict[int, dict[str, dict[str, str]]] = {i: {} for i in document_ids}
    for start in range(0, len(document_ids), CHUNK):
        statement = (
            select(
                BankTransactionRow.document_id,
                BankTransactionRow.status,
                BankTransactionRow.currency,
                func.count(),
                func.sum(BankTransactionRow.amount),
            )
            .where(BankTransactionRow.document_id.in_(document_ids[start : start + CHUNK]))
            .group_by(
                BankTransactionRow.document_id,
                BankTransactionRow.status,
                BankTransactionRow.currency,
            )
        )
        for document_id, status, currency, count, total in session.execute(statement):
            counts[document_id][status] += count
            amounts[document_id].setdefault(status, {})[currency] = f"{Decimal(total or 0):.2f}"
    return {i: _reconciliation(counts[i], amounts[i]) for i in document_ids}


def _reconciliation(counts: Counter[str], amounts: dict[str, dict[str, str]]) -> dict[str, Any]:
    return {
        "transactions": sum(counts.values()),
        "by_status": {
            status.value: {
                "count": counts.get(status.value, 0),
                "amounts": amounts.get(status.value, {}),
            }
            for status in MatchStatus
        },
    }
