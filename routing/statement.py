"""A bank statement's entries turned into what the books need (DESIGN.md, "Life of a
bank statement", 2 and 5). Pure: no I/O.

- `foreign_account`, `balance_gap` — the checks: the account is one of the client's, and
  opening balance + booked entries = closing balance;
- `entries_to_match` — each booked entry's transactions as reconciliation sees them
  (a batch entry is split into its transactions), with the key that stores it once;
- `payment_booking` / `rule_booking` — the booking a matched or ruled entry gets;
- `entry_task` — the task an entry needs: a missing document, a match to confirm, a
  choice among suggestions, or a credit nobody explained.

Why payments follow the division of labour and rules post at once: docs/decisions/0009.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from domain.bank import BankEntry, BankTransaction, EntryStatus, Statement
from domain.enums import Party, TaskKind
from domain.reconciliation import (
    EntryToMatch,
    MatchOutcome,
    MatchStatus,
    PaymentMatch,
    PaymentMatchRule,
    PostingRule,
    Settled,
)
from domain.records import BookingDraft, BookingLine, TaskDraft

MISSING_DOCUMENT_DUE = timedelta(days=14)  # the client has two weeks to hand the document in
PAYABLES = "2000"  # Kreditoren
RECEIVABLES = "1100"  # Debitoren
PURCHASE_DISCOUNTS = "4900"  # Skonti received (reductions of purchase costs)
SALES_DEDUCTIONS = "3800"  # Skonti and fees the client's customers deducted
BANK_FEES = "6900"  # Finanzaufwand: fees and small differences


# --- checks -------------------------------------------------------------------------------


def foreign_account(statement: Statement, own_ibans: set[str]) -> bool:
    """The statement is for an account that is not one of the client's (or has no IBAN)."""
    return not statement.account_iban or statement.account_iban not in own_ibans


def balance_gap(statement: Statement) -> str | None:
    """Opening + booked entries ≠ closing, in words; None when it adds up or the file
    carries no balances (a camt.054 notification has none)."""
    if statement.opening is None or statement.closing is None:
        return None
    moved = sum((e.amount for e in statement.entries if booked(e)), Decimal(0))
    expected = statement.opening.amount + moved
    if expected == statement.closing.amount:
        return None
    return (
        f"opening balance {statement.opening.amount} + entries {moved} = {expected}, but the "
        f"closing balance is {statement.closing.amount}: entries may be missing"
    )


def booked(entry: BankEntry) -> bool:
    """Only booked entries moved money; pending and information entries come again booked."""
    return entry.status is EntryStatus.BOOKED


# --- entries -----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    """One transaction of a booked entry, ready to be stored and reconciled."""

    entry_key: str
    part: int
    bank_reference: str | None
    booking_date: date
    value_date: date | None
    entry: EntryToMatch
    end_to_end_id: str | None


def entries_to_match(statement: Statement) -> list[StatementLine]:
    """The statement's booked entries, each transaction one line, in statement order."""
    lines = []
    fallback = statement.period_to or statement.period_from or date.today()
    for entry in statement.entries:
        if not booked(entry):
            continue
        on = entry.booking_date or entry.value_date or fallback
        transactions = entry.transactions or [
            BankTransaction(amount=entry.amount, currency=entry.currency)
        ]
        for part, tx in enumerate(transactions):
            if tx.amount == 0:
                continue  # nothing moved (a zero line of a batch)
            lines.append(
                StatementLine(
                    entry_key=entry.entry_key,
                    part=part,
                    bank_reference=tx.bank_reference or entry.bank_reference,
                    booking_date=on,
                    value_date=entry.value_date,
                    end_to_end_id=tx.end_to_end_id,
                    entry=EntryToMatch(
                        amount=tx.amount,
                        currency=tx.currency,
                        booking_date=on,
                        counterparty_name=tx.counterparty_name,
                        counterparty_iban=tx.counterparty_iban,
                        reference=tx.reference,
                        end_to_end_id=tx.end_to_end_id,
                        # A card line names the merchant in the bank's entry text.
                        remittance=remittance_of(tx, entry),
                    ),
                )
            )
    return lines


def remittance_of(tx: BankTransaction, entry: BankEntry) -> str:
    """The transaction's text and the entry's, each once (the reader already gives a
    single payment without text of its own the entry's)."""
    texts = [t for t in (tx.remittance, entry.additional_info) if t]
    return " ".join(dict.fromkeys(texts))


# --- bookings ----------------------------------------------------------------------------


def payment_booking(
    entry: EntryToMatch,
    matches: list[PaymentMatch],
    settled: dict[int, Settled],
    bank_account: str,
) -> BookingDraft | None:
    """The payment of matched documents: the open account against the bank.

    A supplier invoice: debit 2000, credit the bank; the client's customer invoice:
    debit the bank, credit 1100. A cash discount or a fee the payment differs by books
    away (4900 / 3800 / 6900). A receipt the card already booked against the bank
    needs nothing: None.
    """
    lines: list[BookingLine] = []
    debit_side = entry.amount < 0
    for match in matches:
        doc = settled[match.document_id]
        if doc.counter_account == bank_account:
            continue  # booked against the bank already (a debit-card receipt)
        open_amount = match.amount + match.difference
        if debit_side:
            lines.append(
                BookingLine(account=doc.counter_account, debit=open_amount, text=doc.label)
            )
        else:
            lines.append(
                BookingLine(account=doc.counter_account, credit=open_amount, text=doc.label)
            )
        lines.extend(_difference_lines(match, debit_side, doc.label))
    if not lines:
        return None
    paid = sum(
        (m.amount for m in matches if settled[m.document_id].counter_account != bank_account),
        Decimal(0),
    )
    text = "payment: " + ", ".join(settled[m.document_id].label for m in matches)
    bank = BookingLine(
        account=bank_account,
        text=text[:500],
        **({"credit": paid} if debit_side else {"debit": paid}),
    )
    suppliers = {settled[m.document_id].supplier_id for m in matches}
    return BookingDraft(
        date=entry.booking_date,
        currency=entry.currency,
        supplier_id=suppliers.pop() if len(suppliers) == 1 else None,
        text=text[:500],
        lines=[*lines, bank],
    )


def _difference_lines(match: PaymentMatch, debit_side: bool, label: str) -> list[BookingLine]:
    difference = match.difference
    if difference == 0:
        return []
    is_discount = match.rule is PaymentMatchRule.DISCOUNT
    if debit_side:  # we paid a supplier
        if difference > 0:  # paid less: the discount taken reduces the cost
            account = PURCHASE_DISCOUNTS if is_discount else BANK_FEES
            return [BookingLine(account=account, credit=difference, text=f"difference {label}")]
        return [BookingLine(account=BANK_FEES, debit=-difference, text=f"fee {label}")]
    if difference > 0:  # the customer paid less: its discount or the bank's fee
        account = SALES_DEDUCTIONS if is_discount else BANK_FEES
        return [BookingLine(account=account, debit=difference, text=f"difference {label}")]
    return [BookingLine(account=BANK_FEES, credit=-difference, text=f"overpaid {label}")]


def rule_booking(entry: EntryToMatch, rule: PostingRule, bank_account: str) -> BookingDraft:
    """A recurring entry booked by its rule: the rule's account against the bank."""
    text = f"{rule.name}: {entry.counterparty_name or entry.remittance or 'bank entry'}"[:500]
    if entry.amount < 0:
        lines = [
            BookingLine(account=rule.account, debit=entry.paid, vat_code=rule.vat_code, text=text),
            BookingLine(account=bank_account, credit=entry.paid, text=text),
        ]
    else:
        lines = [
            BookingLine(account=bank_account, debit=entry.paid, text=text),
            BookingLine(account=rule.account, credit=entry.paid, vat_code=rule.vat_code, text=text),
        ]
    return BookingDraft(date=entry.booking_date, currency=entry.currency, text=text, lines=lines)


# --- tasks -------------------------------------------------------------------------------


def describe_entry(entry: EntryToMatch) -> str:
    """`debit of CHF 1'234.50 on 2026-03-04 to Gloor Elektro AG ("Rechnung 117")`."""
    way = "debit" if entry.amount < 0 else "credit"
    party = entry.counterparty_name or entry.counterparty_iban
    towards = (" to " if entry.amount < 0 else " from ") + party if party else ""
    said = f' ("{entry.remittance[:80]}")' if entry.remittance else ""
    return (
        f"{way} of {entry.currency} {entry.paid} on {entry.booking_date.isoformat()}{towards}{said}"
    )


def entry_task(
    entry: EntryToMatch,
    outcome: MatchOutcome,
    responsible: Party,
    online: bool,
    *,
    received: date,
    holds_booking: bool = False,
) -> TaskDraft | None:
    """The task an entry needs, or None (booked by rule, or matched and posted)."""
    what = describe_entry(entry)
    if outcome.status is MatchStatus.MISSING_DOCUMENT:
        due = received + MISSING_DOCUMENT_DUE
        if online:
            return TaskDraft(
                kind=TaskKind.MISSING_DOCUMENT,
                assignee=Party.CLIENT,
                reason=f"Please upload the receipt or invoice for the {what}",
                due_date=due,
            )
        return TaskDraft(
            kind=TaskKind.MISSING_DOCUMENT,
            assignee=Party.FIDUCIARY,
            reason=f"Ask the client for the receipt or invoice of the {what}",
            due_date=due,
        )
    if outcome.status is MatchStatus.AMBIGUOUS:
        return TaskDraft(
            kind=TaskKind.RECONCILE_ENTRY,
            assignee=responsible,
            reason=f"Which document does the {what} pay? {outcome.reason}",
            details={"suggestions": [s.model_dump(mode="json") for s in outcome.suggestions]},
        )
    if outcome.status is MatchStatus.UNMATCHED:
        return TaskDraft(
            kind=TaskKind.RECONCILE_ENTRY,
            assignee=Party.FIDUCIARY,
            reason=f"Book the {what}: {outcome.reason}",
        )
    if outcome.status is MatchStatus.MATCHED and holds_booking:
        return TaskDraft(
            kind=TaskKind.RECONCILE_ENTRY,
            assignee=responsible,
            reason=f"Confirm the payment: the {what} pays {_documents(outcome)} ({outcome.reason})",
            holds_booking=True,
        )
    return None


def _documents(outcome: MatchOutcome) -> str:
    ids = [f"document {m.document_id}" for m in outcome.matches]
    return ", ".join(ids)
