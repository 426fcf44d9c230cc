"""The records fiduflow keeps and shows: clients, suppliers, documents, bookings, tasks.

These are the shapes at the edges (API JSON, CLI output, what routing receives); the
database tables in `storage/` map onto them.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.enums import (
    Access,
    BookingKind,
    BookingStatus,
    Channel,
    ClientMode,
    DocType,
    DocumentClass,
    DocumentState,
    HistoryAction,
    MatchRule,
    Party,
    PaymentMethod,
    Phase,
    ReviewReason,
    RoutingRule,
    SupplierStatus,
    TaskKind,
    TaskOutcome,
    TaskStatus,
    VatMethod,
)
from domain.extraction import Address, Extraction
from domain.money import Money
from domain.policy import DivisionOfLabour
from domain.reconciliation import Banking, PaymentState


class Record(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Client(Record):
    id: str
    name: str
    mode: ClientMode
    address: Address | None = None
    uid: str | None = None
    ibans: list[str] = Field(default_factory=list)
    vat_method: VatMethod = VatMethod.EFFECTIVE
    policy: DivisionOfLabour
    phase: Phase = Phase.REGULAR  # which column of the policy applies to its documents
    contact_email: str | None = None  # where requests to an offline client go
    language: str | None = None  # de | fr | it | en, for users without their own
    # Reconciliation settings, ledger accounts of its IBANs, posting rules (master data).
    banking: Banking = Field(default_factory=Banking)

    @property
    def own_ibans(self) -> set[str]:
        """Every account of the client's: `iban` and those of `bank_accounts`."""
        return {*self.ibans, *(a.iban for a in self.banking.bank_accounts)}

    @property
    def online(self) -> bool:
        return self.mode is ClientMode.ONLINE


class Supplier(Record):
    id: str
    name: str
    uid: str | None = None
    ibans: list[str] = Field(default_factory=list)
    address: Address | None = None
    account: str | None = None
    status: SupplierStatus = SupplierStatus.ACTIVE
    # Printed names a correction tied to it (normalised), as the asking client may use them.
    aliases: list[str] = Field(default_factory=list)


class User(Record):
    """Who is calling: a client's user, or fiduciary staff (client_id None)."""

    id: int
    username: str
    client_id: str | None  # None: staff of the fiduciary, sees every client
    access: Access | None = None
    email: str | None = None  # mail from it counts as this user's own submission
    payroll_visible: bool = False  # the client lets its company users see payslips
    auth_epoch: int = 0  # web sessions of an older epoch are dead (logout, new secret)

    @property
    def is_staff(self) -> bool:
        return self.client_id is None


class SupplierMatch(BaseModel):
    """Which supplier a document is from, and why we think so."""

    supplier_id: str | None = None
    rule: MatchRule = MatchRule.NONE
    score: float = 0.0  # 0..100
    detail: str = ""


class PriorDocument(BaseModel):
    """What routing remembers of an earlier document of the same client (duplicates,
    reminders): the identifying facts, and what became of it."""

    document_id: int
    doc_type: DocType | None = None
    supplier_id: str | None = None
    supplier_iban: str | None = None
    supplier_uid: str | None = None
    supplier_name: str | None = None  # normalised (identifiers.normalize_company_name)
    invoice_number: str | None = None  # normalised (upper case, letters and digits only)
    reference: str | None = None  # normalised payment reference (QRR / SCOR)
    issue_date: date | None = None
    total: Money | None = None  # as printed: negative for credit notes
    currency: str | None = None
    submitted_by: str | None = None
    booking_id: int | None = None
    booking_status: BookingStatus | None = None


class HistoryEntry(BaseModel):
    """One entry of a document's history: a person's action, or one corrected field."""

    at: datetime
    by: str
    action: HistoryAction
    field: str | None = None
    before: Any = None
    after: Any = None
    task_id: int | None = None


class DocumentView(BaseModel):
    """The document resource (DESIGN.md, "Resources")."""

    id: int
    client_id: str
    channel: Channel
    filename: str
    sha256: str
    size: int
    state: DocumentState
    doc_type: DocType | None = None
    pages: int = 0  # as read; 0 until read, and for an e-invoice XML
    # What `fiduflow extract` prints, plus `fields`: per field its value, confidence,
    # source and box on the page (domain.field_boxes.with_fields).
    extraction: dict[str, Any] | None = None
    supplier_id: str | None = None
    supplier_match: SupplierMatch | None = None
    booking_ids: list[int] = Field(default_factory=list)
    task_ids: list[int] = Field(default_factory=list)
    duplicate_of: int | None = None
    parent_id: int | None = None  # the PDF this document was split from
    children: list[int] = Field(default_factory=list)  # a split PDF's documents, page order
    received_at: datetime
    payment_method: PaymentMethod | None = None
    document_class: DocumentClass | None = None
    note: str | None = None
    error: str | None = None
    routing: dict[str, Any] | None = None  # the decision and why
    history: list[HistoryEntry] = Field(default_factory=list)  # who did what, oldest first
    # An invoice, receipt or customer invoice waiting for its payment: open or paid (null
    # for every other document, and for users who do not see the bookkeeping).
    payment_state: PaymentState | None = None
    # A bank statement's transactions by status, counts and amounts
    # (storage.transactions.statement_reconciliation); null for other documents.
    reconciliation: dict[str, Any] | None = None


class BookingLine(BaseModel):
    account: str
    debit: Money = Decimal("0.00")
    credit: Money = Decimal("0.00")
    vat_code: str | None = None
    text: str = ""

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if self.debit < 0 or self.credit < 0:
            raise ValueError("booking line amounts are never negative; swap debit and credit")
        if (self.debit == 0) == (self.credit == 0):
            raise ValueError("a booking line has exactly one of debit and credit")
        return self


class UnbalancedBooking(ValueError):
    pass


class BookingDraft(BaseModel):
    """A proposed booking: balanced by construction, or it cannot exist."""

    date: date
    currency: str
    supplier_id: str | None = None
    text: str = ""
    lines: list[BookingLine]

    @model_validator(mode="after")
    def _balanced(self) -> Self:
        if len(self.lines) < 2:
            raise UnbalancedBooking("a booking needs at least two lines")
        debit = sum((line.debit for line in self.lines), Decimal(0))
        credit = sum((line.credit for line in self.lines), Decimal(0))
        if debit != credit:
            raise UnbalancedBooking(f"debits {debit} != credits {credit}")
        return self

    @property
    def amount(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal(0))


class BookingView(BaseModel):
    """The booking resource."""

    id: int
    seq: int | None = None
    client_id: str
    document_id: int | None = None
    status: BookingStatus
    date: date
    currency: str
    supplier_id: str | None = None
    text: str = ""
    reverses_id: int | None = None
    lines: list[BookingLine]
    document_url: str | None = None
    supplier_name: str | None = None
    posted_at: datetime | None = None
    kind: BookingKind = BookingKind.DOCUMENT
    corrected_by: str | None = None  # a person corrected it before it was posted


class TaskDraft(BaseModel):
    kind: TaskKind
    assignee: Party
    reason: str
    due_date: date | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    assignee_user: str | None = None  # a request to one user of the client (e.g. an employee)
    # True: the task holds the document's draft booking; completing the last such task
    # posts it (a release, an approval, a review that accepts the proposal).
    holds_booking: bool = False
    # An existing booking the task is about (a reminder points at the booked invoice).
    booking_id: int | None = None


class TaskView(BaseModel):
    """The task resource."""

    id: int
    client_id: str
    document_id: int | None = None
    kind: TaskKind
    assignee: Party
    status: TaskStatus
    reason: str
    due_date: date | None = None
    booking_id: int | None = None
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: datetime
    assignee_user: str | None = None  # a request addressed to one user of the client
    outcome: TaskOutcome | None = None  # once done
    completed_by: str | None = None
    completed_at: datetime | None = None
    transaction_id: int | None = None  # the bank entry a missing document or a match is for


class Decision(BaseModel):
    """What routing decided for one document, and why (shown to users)."""

    booking: BookingDraft | None = None
    post: bool = False  # post the booking now; otherwise it stays a draft
    tasks: list[TaskDraft] = Field(default_factory=list)
    responsible: Party = Party.FIDUCIARY
    rule: RoutingRule  # the rule that decided
    reasons: list[str] = Field(default_factory=list)  # human sentences
    # The type routing settled on (it may differ from the reader's: a customer invoice
    # recognised by the client's own IBAN, a web upload's document class).
    doc_type: DocType | None = None
    issues: list[ReviewReason] = Field(default_factory=list)  # machine-readable reasons
    # Other records this decision refers to: {"duplicate_of": doc id, "invoice_booking": id}
    links: dict[str, int] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _something(self) -> Self:
        if self.post and self.booking is None:
            raise ValueError("cannot post without a booking")
        return self


class DocumentOrigin(BaseModel):
    """How a document came in: what intake recorded beside its bytes."""

    channel: Channel
    filename: str
    received_at: datetime
    submitted_by: str | None = None
    payment_method: PaymentMethod | None = None
    document_class: DocumentClass | None = None
    note: str | None = None


class DocumentContext(DocumentOrigin):
    """What routing knows about a document beyond its reading."""

    document_id: int
    client_id: str
    extraction: Extraction
