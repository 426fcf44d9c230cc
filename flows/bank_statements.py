"""Taking in a bank statement, and a document that arrives for an entry already taken in
(DESIGN.md, "Life of a bank statement"). The business process, inside the caller's
transaction (the client lock is held):

    checks → store each entry once → reconcile the new ones → book / ask

- a matched entry pays its documents: they become *paid*, a payment booking settles
  them against the bank — posted when reconciliation is the fiduciary's activity, a
  draft held by a `reconcile_entry` task when it is the client's; a reminder still open
  for a paid invoice closes itself;
- a posting rule's entry is booked by the rule at once (the firm set the rule up);
- a debit nobody explains asks for its document (`missing_document`, due in two weeks),
  an ambiguous entry or an unexplained credit goes to a person (`reconcile_entry`).

The parser is `extractors.camt`, the judgements `routing.reconcile` and
`routing.statement`, the rows `storage.transactions` and `storage.open_items`.
Why: docs/decisions/0009-bank-statements.md.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from domain.bank import Statement
from domain.enums import Activity, BookingKind, DocType, Party, TaskKind, TaskStatus
from domain.extraction import Extraction
from domain.reconciliation import (
    EntryToMatch,
    MatchOutcome,
    MatchStatus,
    OpenItemKind,
)
from domain.records import BookingDraft, Client, TaskDraft
from routing.reconcile import index_open_items, name_index_key, reconcile, reconcile_statement
from routing.statement import (
    StatementLine,
    balance_gap,
    describe_entry,
    entries_to_match,
    entry_task,
    foreign_account,
    payment_booking,
    rule_booking,
)
from storage import open_items, transactions
from storage.tables import BankTransactionRow, OpenItemRow, TaskRow
from storage.tasks import create_task
from storage.transactions import entry_of

BY = "fiduflow"
WAITING = (MatchStatus.MISSING_DOCUMENT, MatchStatus.UNMATCHED, MatchStatus.AMBIGUOUS)


@dataclass
class StatementReport:
    """What taking in a statement file did, for its routing reasons and its artifact."""

    problems: list[str] = field(default_factory=list)
    new: int = 0
    known: int = 0  # stored already (the same or an overlapping statement)
    by_status: dict[str, int] = field(default_factory=dict)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # signed sums by status
    booking_ids: list[int] = field(default_factory=list)
    task_ids: list[int] = field(default_factory=list)

    def count(self, status: MatchStatus, amount: Decimal) -> None:
        self.by_status[status.value] = self.by_status.get(status.value, 0) + 1
        self.amounts[status.value] = self.amounts.get(status.value, Decimal(0)) + amount

    def reasons(self) -> list[str]:
        counts = ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in sorted(self.by_status.items()))
        told = [f"{self.new} new transactions ({counts or 'none'})"]
        if self.known:
            told.append(f"{self.known} taken in before (same or overlapping statement): skipped")
        return [*told, *self.problems]


def take_in_statements(
    session: Session,
    client: Client,
    document_id: int,
    statements: list[Statement],
    received: date,
) -> StatementReport:
    report = StatementReport()
    own = client.own_ibans
    for statement in statements:
        if foreign_account(statement, own):
            report.problems.append(
                f"the statement is for account {statement.account_iban or statement.account_id}"
                f", which is not one of {client.name}'s accounts: its entries were not taken in"
            )
            continue
        gap = balance_gap(statement)
        if gap:
            report.problems.append(gap)
        assert statement.account_iban is not None
        lines = entries_to_match(statement)
        rows, known = transactions.store_new(
            session,
            client.id,
            document_id,
            statement.account_iban,
            [_new_transaction(line) for line in lines],
        )
        report.new += len(rows)
        report.known += known
        entries = [entry_of(row) for row in rows]
        candidates = open_items.candidates_for(session, client.id, entries, name_index_key)
        outcomes = reconcile_statement(
            entries,
            index_open_items(candidates),
            client.banking.posting_rules,
            client.banking.reconciliation,
        )
        for row, entry, outcome in zip(rows, entries, outcomes, strict=True):
            apply_outcome(session, client, row, entry, outcome, received, report)
    return report


def _new_transaction(line: StatementLine) -> transactions.NewTransaction:
    entry = line.entry
    return transactions.NewTransaction(
        entry_key=line.entry_key,
        part=line.part,
        bank_reference=line.bank_reference,
        booking_date=line.booking_date,
        value_date=line.value_date,
        amount=entry.amount,
        currency=entry.currency,
        counterparty_name=entry.counterparty_name,
        counterparty_iban=entry.counterparty_iban,
        reference=entry.reference,
        end_to_end_id=line.end_to_end_id,
        remittance=entry.remittance,
    )


def apply_outcome(
    session: Session,
    client: Client,
    row: BankTransactionRow,
    entry: EntryToMatch,
    outcome: MatchOutcome,
    received: date,
    report: StatementReport | None = None,
) -> None:
    """Book or ask for one transaction as reconciliation decided, and record it."""
    responsible = client.policy.responsible(Activity.BANK_STATEMENT, client.phase)
    bank_account = client.banking.ledger_account(row.account_iban)
    booking: BookingDraft | None = None
    kind = BookingKind.PAYMENT
    post = responsible is Party.FIDUCIARY
    paid: list[int] = []
    if outcome.status is MatchStatus.MATCHED:
        settled = open_items.settled(session, client.id, [m.document_id for m in outcome.matches])
        booking = payment_booking(entry, outcome.matches, settled, bank_account)
        paid = list(settled)
    elif outcome.status is MatchStatus.RULE:
        rule = next(r for r in client.banking.posting_rules if r.name == outcome.posting_rule)
        booking, kind, post = rule_booking(entry, rule, bank_account), BookingKind.RULE, True
    task = entry_task(
        entry,
        outcome,
        responsible,
        client.online,
        received=received,
        holds_booking=booking is not None and not post,
    )
    transactions.record_outcome(
        session, row, outcome, booking=booking, kind=kind, post=post, task=task, paid=paid, by=BY
    )
    if report is not None:
        report.count(outcome.status, row.amount)
        if row.booking_id is not None:
            report.booking_ids.append(row.booking_id)
        if row.task_id is not None:
            report.task_ids.append(row.task_id)


# --- a document that arrives later ---------------------------------------------------------


def register_open_item(
    session: Session,
    client: Client,
    document_id: int,
    doc_type: DocType,
    payment_method: str | None,
    extraction: Extraction,
    supplier_id: str | None,
    supplier_name: str | None,
    booking: BookingDraft,
    booking_id: int,
) -> OpenItemRow | None:
    """A booked invoice or card receipt waits for its payment (see storage.open_items)."""
    kind = open_items.item_kind(doc_type, payment_method)
    if kind is None or extraction.total is None or not extraction.currency:
        return None
    if kind is OpenItemKind.CUSTOMER_INVOICE:
        name = extraction.recipient.name if extraction.recipient else None
        counter = max(booking.lines, key=lambda line: line.debit).account
    else:
        name = supplier_name or extraction.supplier_name
        counter = max(booking.lines, key=lambda line: line.credit).account
    return open_items.register(
        session,
        client_id=client.id,
        document_id=document_id,
        kind=kind,
        amount=extraction.total,
        currency=extraction.currency,
        issue_date=extraction.issue_date,
        due_date=extraction.due_date,
        reference=extraction.reference,
        invoice_number=extraction.invoice_number,
        supplier_id=supplier_id,
        name=name,
        name_key=name_index_key(name) if name else None,
        iban=extraction.supplier_iban,
        counter_account=counter,
        booking_id=booking_id,
    )


def match_waiting(
    session: Session, client: Client, item: OpenItemRow, received: date
) -> int | None:
    """An entry taken in before its document: the document, newly open, is matched to it
    when reconciliation (with everything open now) picks it; the entry's task closes.
    Returns the transaction's id, or None."""
    settings = client.banking.reconciliation
    high = item.amount + settings.fee_tolerance
    low = item.amount * (1 - settings.discount_pct / 100) - settings.fee_tolerance
    # Credits pay the client's own invoices; debits pay what it owes.
    credit = item.kind == OpenItemKind.CUSTOMER_INVOICE.value
    bounds = (low, high) if credit else (-high, -low)
    for row in transactions.waiting_for(session, client.id, item.currency, *bounds, WAITING):
        entry = entry_of(row)
        candidates = open_items.candidates_for(session, client.id, [entry], name_index_key)
        outcome = reconcile(
            entry, index_open_items(candidates), client.banking.posting_rules, settings
        )
        if outcome.status is not MatchStatus.MATCHED:
            continue
        if item.document_id not in {m.document_id for m in outcome.matches}:
            continue
        earlier = session.get(TaskRow, row.task_id) if row.task_id else None
        if earlier is not None and earlier.status == TaskStatus.OPEN.value:
            transactions.close_by_fiduflow(
                session, earlier, f"document {item.document_id} arrived and pays the entry"
            )
        apply_outcome(session, client, row, entry, outcome, received)
        return row.id
    return None


def check_answer(session: Session, client: Client, document_id: int, meta: dict[str, Any]) -> None:
    """A document uploaded for a bank entry's request that did not pay it (another amount,
    a cash receipt, not a document at all): the entry would wait with its request closed,
    so the fiduciary gets it, naming both."""
    answered = meta.get("answers_task")
    request = session.get(TaskRow, answered) if answered else None
    if request is None or request.client_id != client.id or request.transaction_id is None:
        return
    entry = session.get(BankTransactionRow, request.transaction_id)
    if entry is None or MatchStatus(entry.status) not in WAITING:
        return
    task, _ = create_task(
        session,
        client.id,
        TaskDraft(
            kind=TaskKind.RECONCILE_ENTRY,
            assignee=Party.FIDUCIARY,
            reason=f"Document {document_id} was uploaded for the {describe_entry(entry_of(entry))}"
            ", but it does not pay it: match it by hand, or ask for the right document",
            details={"uploaded_document_id": document_id},
        ),
        dedupe_key=f"tx:{entry.id}:answer:{document_id}",
        document_id=entry.document_id,
    )
    task.transaction_id = entry.id
    entry.task_id = task.id
