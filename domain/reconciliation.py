"""The vocabulary of bank reconciliation (DESIGN.md, "Life of a bank statement", 4-5).

What `routing.reconcile` is given and what it answers, with no I/O:
- `EntryToMatch` — one bank entry as reconciliation needs it (the camt parser's
  transaction is mapped onto it by the caller);
- `OpenItem` — a document still waiting for its payment: a supplier invoice, a receipt
  (card lines), or one of the client's own customer invoices (credits);
- `PostingRule` — a recurring debit or credit booked without a document (master data
  `posting_rules`);
- `ReconciliationSettings` — the client's tolerances (master data `reconciliation`);
- `MatchOutcome` — what became of the entry, with the reason in words.
"""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.identifiers import normalize_iban
from domain.money import Money, to_money


def normalize_payment_reference(value: str | None) -> str | None:
    """QR reference or SCOR as one compact key: `21 00000 00003…` / `rf18 5390 0754…`.

    A QR reference keeps its leading zeros: it is 27 digits, all of them significant.
    """
    if not value:
        return None
    compact = "".join(ch for ch in value if ch.isalnum()).upper()
    return compact or None


def _iban_or_none(value: str | None) -> str | None:
    return normalize_iban(value) or None if value else None


class Direction(StrEnum):
    DEBIT = "debit"  # money leaves the client's account (amount < 0)
    CREDIT = "credit"  # money comes in (amount > 0)


class OpenItemKind(StrEnum):
    INVOICE = "invoice"  # a supplier invoice, paid by transfer or QR-bill
    RECEIPT = "receipt"  # a receipt, paid by card: matched to card lines
    CUSTOMER_INVOICE = "customer_invoice"  # the client's own invoice, paid by a credit


class MatchStatus(StrEnum):
    MATCHED = "matched"
    RULE = "rule"  # booked by a posting rule, no document asked for
    MISSING_DOCUMENT = "missing_document"  # a debit with no document and no rule
    UNMATCHED = "unmatched"  # a credit with no customer invoice and no rule
    AMBIGUOUS = "ambiguous"  # candidates to suggest on a task, never a guess


class PaymentMatchRule(StrEnum):
    """Why an entry was tied to a document; stored as the match's `rule`."""

    REFERENCE = "reference"  # QR / SCOR reference, exact amount
    IBAN_AMOUNT = "iban_amount"  # counterparty IBAN + exact amount + date window
    NAME_AMOUNT = "name_amount"  # counterparty name (fuzzy) + exact amount
    COLLECTIVE = "collective"  # several invoices of one supplier, summing to the entry
    DISCOUNT = "discount"  # paid less a cash discount (Skonto) within the client's limit
    FEE = "fee"  # paid with a small difference (bank fees) within the client's tolerance
    CARD = "card"  # a card line and a receipt: amount, date ± 3 days, merchant name
    # A person tied the entry to the documents (POST /api/v1/transactions/{id}/match):
    # no rule's judgement, so whatever the amounts differ by is theirs to answer for.
    MANUAL = "manual"


class EntryToMatch(BaseModel):
    """One bank entry (a transaction of a statement) to reconcile."""

    model_config = ConfigDict(frozen=True)

    amount: Money  # signed: negative = debit
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    booking_date: date
    counterparty_name: str | None = None
    counterparty_iban: str | None = None
    reference: str | None = None  # QR reference or SCOR, as the bank reports it
    end_to_end_id: str | None = None
    # The remittance text; for a card line, the bank's entry text, which names the merchant.
    remittance: str = ""

    @field_validator("counterparty_iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        return _iban_or_none(value)

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return normalize_payment_reference(value)

    @field_validator("remittance", mode="before")
    @classmethod
    def _text(cls, value: str | None) -> str:
        return value or ""

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        if value == 0:
            raise ValueError("a bank entry moves money: the amount is not zero")
        return to_money(value)

    @property
    def direction(self) -> Direction:
        return Direction.DEBIT if self.amount < 0 else Direction.CREDIT

    @property
    def paid(self) -> Decimal:
        """The amount without its sign."""
        return abs(self.amount)


class OpenItem(BaseModel):
    """A document still waiting for its payment.

    For a customer invoice the `supplier_*` fields describe the other party, the
    customer who pays it (its name and the IBANs it paid from before).
    """

    model_config = ConfigDict(frozen=True)

    document_id: int
    kind: OpenItemKind
    supplier_id: str | None = None
    supplier_name: str | None = None
    supplier_aliases: tuple[str, ...] = ()
    supplier_ibans: tuple[str, ...] = ()  # known accounts, QR-IBANs included
    amount: Money = Field(gt=0)  # gross, what is still open
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    issue_date: date | None = None
    due_date: date | None = None
    reference: str | None = None
    invoice_number: str | None = None

    @field_validator("supplier_ibans")
    @classmethod
    def _ibans(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(iban for iban in (_iban_or_none(v) for v in values) if iban)

    @field_validator("reference")
    @classmethod
    def _reference(cls, value: str | None) -> str | None:
        return normalize_payment_reference(value)

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return to_money(value)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n in (self.supplier_name, *self.supplier_aliases) if n)


class PostingRule(BaseModel):
    """A recurring entry booked by rule (rent, leasing, loans, bank fees, salaries).

    Every criterion given must hold (AND). Amounts compare without the entry's sign;
    `direction` says which way the money goes.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    counterparty_iban: str | None = None
    text_contains: str | None = Field(default=None, min_length=2)
    direction: Direction | None = None
    amount: Money | None = Field(default=None, gt=0)
    amount_max: Money | None = Field(default=None, gt=0)
    account: str = Field(pattern=r"^\d{4}$")
    vat_code: str | None = None

    @field_validator("counterparty_iban")
    @classmethod
    def _iban(cls, value: str | None) -> str | None:
        return _iban_or_none(value)

    @model_validator(mode="after")
    def _identifies_something(self) -> Self:
        # A rule with only a direction or a ceiling would book every small debit without
        # a document: it must name the counterparty, a text or an exact amount.
        if not (self.counterparty_iban or self.text_contains or self.amount is not None):
            raise ValueError(
                f"posting rule {self.name!r} needs counterparty_iban, text_contains or amount"
            )
        return self


class ReconciliationSettings(BaseModel):
    """A client's tolerances (master data `reconciliation`)."""

    # A misspelt tolerance in the master data is refused, not silently left at its default.
    model_config = ConfigDict(frozen=True, extra="forbid")

    date_window_days: int = Field(default=10, ge=0, le=366)
    discount_pct: Decimal = Field(default=Decimal(3), ge=0, le=20)  # the largest Skonto taken
    fee_tolerance: Money = Field(default=Decimal("5.00"), ge=0)


class PaymentMatch(BaseModel):
    """One document an entry pays (or, in a suggestion, might pay)."""

    model_config = ConfigDict(frozen=True)

    document_id: int
    amount: Money  # the part of the entry that goes to this document (no sign)
    rule: PaymentMatchRule
    score: float = Field(ge=0, le=100)
    # The document's open amount less what was paid for it: the Skonto taken or the fee
    # deducted (negative when more was paid); the payment booking books it away.
    difference: Money = Decimal("0.00")


class MatchOutcome(BaseModel):
    """What reconciliation made of one entry."""

    model_config = ConfigDict(frozen=True)

    status: MatchStatus
    matches: list[PaymentMatch] = []  # status matched: the documents it pays
    suggestions: list[PaymentMatch] = []  # status ambiguous: candidates for a person
    posting_rule: str | None = None  # status rule: the rule's name
    reason: str


class PaymentState(StrEnum):
    """Where an invoice stands with its payment (the document resource's `payment_state`)."""

    OPEN = "open"
    PAID = "paid"


DEFAULT_BANK_LEDGER = "1020"  # Bank (KMU chart of accounts)


class BankAccount(BaseModel):
    """One of the client's own accounts and the ledger account its entries book against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    iban: str
    account: str = Field(default=DEFAULT_BANK_LEDGER, pattern=r"^\d{4}$")

    @field_validator("iban")
    @classmethod
    def _iban(cls, value: str) -> str:
        iban = normalize_iban(value)
        if not iban:
            raise ValueError(f"{value!r} is not an IBAN")
        return iban


class Banking(BaseModel):
    """How a client's bank statements are reconciled (master data `reconciliation`,
    `bank_accounts`, `posting_rules`; stored on the client as `banking`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    reconciliation: ReconciliationSettings = Field(default_factory=ReconciliationSettings)
    bank_accounts: list[BankAccount] = Field(default_factory=list)
    posting_rules: list[PostingRule] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_rule_names(self) -> Self:
        names = [rule.name for rule in self.posting_rules]
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise ValueError(f"posting rule names must be unique: {', '.join(doubled)}")
        return self

    def ledger_account(self, iban: str | None) -> str:
        """The ledger account of one of the client's IBANs (default 1020, Bank)."""
        wanted = normalize_iban(iban) if iban else None
        for account in self.bank_accounts:
            if account.iban == wanted:
                return account.account
        return DEFAULT_BANK_LEDGER


class Settled(BaseModel):
    """A document a payment settles, as its payment booking needs it."""

    model_config = ConfigDict(frozen=True)

    document_id: int
    kind: OpenItemKind
    label: str  # "invoice 2024-117 of Gloor Elektro AG (document 12)"
    counter_account: str  # what the document's booking left open: 2000, 1100, 2100 …
    supplier_id: str | None = None
