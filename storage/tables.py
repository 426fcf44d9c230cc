"""The database tables (SQLAlchemy 2 typed mappings).

Every row that belongs to a client carries `client_id`; repositories filter on it. The
unique constraints are the at-most-once guarantees (one original per client and hash,
one booking and one task of a kind per document), not hope.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so that migrations can refer to them on every database.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MONEY = Numeric(18, 2)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored and returned as aware UTC datetimes on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; fiduflow stores UTC only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        Decimal: MONEY,
    }


class Fiduciary(Base):
    __tablename__ = "fiduciary"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    inbound_domain: Mapped[str] = mapped_column(String(200))


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    disabled_at: Mapped[datetime | None] = mapped_column()
    disabled_by: Mapped[str | None] = mapped_column(String(100))  # "setup load" or a person
    # Web sessions carry it; logout and a password or token change raise it.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ClientRow(Base):
    __tablename__ = "clients"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    mode: Mapped[str] = mapped_column(String(16))
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(2), default="CH")
    uid: Mapped[str | None] = mapped_column(String(15), index=True)
    ibans: Mapped[list[str]] = mapped_column(JSON, default=list)
    vat_method: Mapped[str] = mapped_column(String(16), default="effective")
    policy: Mapped[dict[str, Any]] = mapped_column(default=dict)
    phase: Mapped[str] = mapped_column(String(16), default="regular", server_default="regular")
    contact_email: Mapped[str | None] = mapped_column(String(254))  # requests (offline)
    language: Mapped[str | None] = mapped_column(String(2))  # de | fr | it | en
    # Company users see payslips (documents and their tasks) only when this is true.
    payroll_visible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Master data `reconciliation`, `bank_accounts` and `posting_rules` (domain.records
    # Banking): how the client's bank statements are reconciled.
    banking: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboundAddress(Base):
    __tablename__ = "inbound_addresses"
    address: Mapped[str] = mapped_column(String(254), primary_key=True)  # lower case
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)


class UserRow(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    access: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Mail from this address counts as the user's own submission (employee scope).
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(2))
    disabled_at: Mapped[datetime | None] = mapped_column()
    disabled_by: Mapped[str | None] = mapped_column(String(100))
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class SupplierRow(Base):
    """The firm's supplier directory (shared master data, like a creditor register)."""

    __tablename__ = "suppliers"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_normalized: Mapped[str] = mapped_column(String(200), index=True)
    uid: Mapped[str | None] = mapped_column(String(15), index=True)
    street: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(2))
    account: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(16), default="active")
    # The client whose document proposed this supplier; only that client sees it until
    # a fiduciary confirms it (a proposal must not leak one client's business to others).
    proposed_by_client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"))
    proposed_from_document_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SupplierIban(Base):
    __tablename__ = "supplier_ibans"
    iban: Mapped[str] = mapped_column(String(34), primary_key=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"), primary_key=True)
    # Who confirmed it on a bank-details task; None: from master data (a reload replaces
    # those, never a person's confirmation).
    confirmed_by: Mapped[str | None] = mapped_column(String(100))
    __table_args__ = (Index("ix_supplier_ibans_supplier", "supplier_id"),)


class SupplierNameToken(Base):
    """Inverted index of name words: finds fuzzy-match candidates without scanning everyone."""

    __tablename__ = "supplier_name_tokens"
    token: Mapped[str] = mapped_column(String(60), primary_key=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"), primary_key=True)
    __table_args__ = (Index("ix_supplier_name_tokens_supplier", "supplier_id"),)


class ClientSupplier(Base):
    __tablename__ = "client_suppliers"
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), primary_key=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"), primary_key=True)
    __table_args__ = (Index("ix_client_suppliers_supplier", "supplier_id"),)


class MessageRow(Base):
    """One inbound mail (per client it was addressed to), with its metadata."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    message_id: Mapped[str | None] = mapped_column(String(998))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    sender: Mapped[str | None] = mapped_column(String(998))
    subject: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (UniqueConstraint("client_id", "raw_sha256"),)


class DocumentRow(Base):
    __tablename__ = "documents"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str | None] = mapped_column(String(998))
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(255))
    media_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    # sha256 for originals, NULL for duplicates: one original per client and content.
    original_key: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(998))
    message_row_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    payment_method: Mapped[str | None] = mapped_column(String(32))
    document_class: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    doc_date: Mapped[date | None] = mapped_column(Date)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    state: Mapped[str] = mapped_column(String(16), default="received", index=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    doc_type: Mapped[str | None] = mapped_column(String(32))
    supplier_id: Mapped[str | None] = mapped_column(ForeignKey("suppliers.id"))
    supplier_match: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)

    # Processing lease: who works on it until when; attempts for retry with backoff.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    processed_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("client_id", "original_key"),
        UniqueConstraint("client_id", "idempotency_key"),
        Index("ix_documents_claim", "state", "next_attempt_at"),
    )


class ExtractionRow(Base):
    """What reading one document produced (its Extraction JSON and its text)."""

    __tablename__ = "extractions"
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    data: Mapped[dict[str, Any]] = mapped_column()
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReadingCache(Base):
    """Readings by content hash, so the same bytes are never OCR'd twice.

    Not client data in itself: it is only ever looked up by the hash of bytes the caller
    already holds.
    """

    __tablename__ = "reading_cache"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    reader_version: Mapped[str] = mapped_column(String(20), primary_key=True)
    data: Mapped[dict[str, Any]] = mapped_column()
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BookingRow(Base):
    __tablename__ = "bookings"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    # "doc:<id>" for a document's booking, "rev:<id>" for a reversal: at most one each.
    origin_key: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    date: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    supplier_id: Mapped[str | None] = mapped_column(ForeignKey("suppliers.id"))
    text: Mapped[str] = mapped_column(String(500), default="")
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    posted_at: Mapped[datetime | None] = mapped_column()
    posted_by: Mapped[str | None] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), default="document", server_default="document")
    corrected_by: Mapped[str | None] = mapped_column(String(100))  # a person changed it
    lines: Mapped[list["BookingLineRow"]] = relationship(
        order_by="BookingLineRow.line_no", cascade="all, delete-orphan", lazy="selectin"
    )
    # For the booked output's supplier name; read-only, never written through.
    supplier: Mapped["SupplierRow | None"] = relationship(viewonly=True, lazy="selectin")
    __table_args__ = (Index("ix_bookings_client_seq", "client_id", "seq"),)


class BookingLineRow(Base):
    __tablename__ = "booking_lines"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    line_no: Mapped[int] = mapped_column(Integer)
    account: Mapped[str] = mapped_column(String(10))
    debit: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    credit: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0))
    vat_code: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(String(500), default="")
    __table_args__ = (
        UniqueConstraint("booking_id", "line_no"),
        CheckConstraint("debit >= 0 AND credit >= 0", name="non_negative"),
        CheckConstraint("(debit = 0) <> (credit = 0)", name="one_side"),
    )


class TaskRow(Base):
    __tablename__ = "tasks"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"), index=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    # Makes "at most once" a constraint: e.g. "doc:17:release_invoice".
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    assignee: Mapped[str] = mapped_column(String(16))
    # A request addressed to one user of the client (employees see only these).
    assignee_user: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="open")
    reason: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    due_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()
    completed_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(String(16))  # TaskOutcome, once done
    reminded_at: Mapped[datetime | None] = mapped_column()
    # A bank entry's task (missing document, a match to confirm or choose).
    transaction_id: Mapped[int | None] = mapped_column(Integer, index=True)
    __table_args__ = (Index("ix_tasks_open", "status", "assignee", "due_date"),)


class DocumentFacts(Base):
    """What routing saw on a document, kept for the documents after it: suspected
    duplicates (supplier + invoice number + total; supplier + date + total + submitter)
    and reminders (payment reference, supplier + invoice number). Indexed per client, so
    a lookup never reads another client's documents and costs the same at any volume."""

    __tablename__ = "document_facts"
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    doc_type: Mapped[str] = mapped_column(String(32))
    supplier_id: Mapped[str | None] = mapped_column(String(40))
    supplier_iban: Mapped[str | None] = mapped_column(String(34))
    supplier_uid: Mapped[str | None] = mapped_column(String(15))
    supplier_name: Mapped[str | None] = mapped_column(String(200))
    invoice_number: Mapped[str | None] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(40))
    issue_date: Mapped[date | None] = mapped_column(Date)
    total: Mapped[Decimal | None] = mapped_column(MONEY)  # absolute amount
    currency: Mapped[str | None] = mapped_column(String(3))
    submitted_by: Mapped[str | None] = mapped_column(String(100))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_document_facts_number", "client_id", "invoice_number"),
        Index("ix_document_facts_date_total", "client_id", "issue_date", "total"),
        Index("ix_document_facts_reference", "client_id", "reference"),
    )


class Counter(Base):
    """Named counters (the posting sequence); incremented under a row lock."""

    __tablename__ = "counters"
    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class DocumentEvent(Base):
    """The document's history: each person's action and each corrected field."""

    __tablename__ = "document_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    task_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))  # HistoryAction
    field: Mapped[str | None] = mapped_column(String(40))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    __table_args__ = (Index("ix_document_events_document", "document_id", "id"),)


class LearnedRule(Base):
    """What a correction taught for one client and supplier (latest correction wins)."""

    __tablename__ = "learned_rules"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"))
    field: Mapped[str] = mapped_column(String(20))  # LearnedField
    value: Mapped[str] = mapped_column(String(100))
    learned_by: Mapped[str] = mapped_column(String(100))
    learned_at: Mapped[datetime] = mapped_column(default=utcnow)
    document_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("client_id", "supplier_id", "field"),)


class SupplierAlias(Base):
    """A printed name or an IBAN a correction tied to a supplier (IBANs: staff only)."""

    __tablename__ = "supplier_aliases"
    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"))
    kind: Mapped[str] = mapped_column(String(8))  # "name" | "iban"
    value: Mapped[str] = mapped_column(String(200))
    normalized: Mapped[str] = mapped_column(String(200))
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"))
    learned_by: Mapped[str] = mapped_column(String(100))
    learned_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        UniqueConstraint("supplier_id", "kind", "normalized"),
        Index("ix_supplier_aliases_normalized", "kind", "normalized"),
    )


class FieldPosition(Base):
    """Where a supplier's layout prints a field (fractions of the page, top left origin)."""

    __tablename__ = "field_positions"
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"), primary_key=True)
    field: Mapped[str] = mapped_column(String(40), primary_key=True)
    page: Mapped[int] = mapped_column(Integer)
    x0: Mapped[float] = mapped_column(Float)
    y0: Mapped[float] = mapped_column(Float)
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    learned_by: Mapped[str] = mapped_column(String(100))
    learned_at: Mapped[datetime] = mapped_column(default=utcnow)


class LearnedChange(Base):
    """The history of a learned rule: taught by a correction, edited or deleted by a person."""

    __tablename__ = "learned_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    supplier_id: Mapped[str] = mapped_column(ForeignKey("suppliers.id"))
    field: Mapped[str] = mapped_column(String(20))  # LearnedField
    before: Mapped[str | None] = mapped_column(String(100))
    after: Mapped[str | None] = mapped_column(String(100))  # None: deleted
    how: Mapped[str] = mapped_column(String(12))  # LearnedHow
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    document_id: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (
        Index("ix_learned_changes_client_supplier", "client_id", "supplier_id", "id"),
    )


class OutboxMail(Base):
    """A mail to send (digest, reminder, request), sent at most once: its Message-ID is
    fixed when it is queued, and its state says how far sending got."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str | None] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(20))  # MailKind
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[str] = mapped_column(String(12))  # OutboxState
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    task_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_outbox_state", "state", "id"),)


class BankTransactionRow(Base):
    """One transaction of a bank entry (a batch entry has several), stored once per
    account: `entry_key` is the bank's reference or a digest of the entry (DESIGN.md,
    "Life of a bank statement", 3), `part` its transaction's place in the entry."""

    __tablename__ = "bank_transactions"
    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    account_iban: Mapped[str] = mapped_column(String(34))
    entry_key: Mapped[str] = mapped_column(String(120))
    part: Mapped[int] = mapped_column(Integer, default=0)
    bank_reference: Mapped[str | None] = mapped_column(String(100))
    booking_date: Mapped[date] = mapped_column(Date)
    value_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(MONEY)  # signed: negative = debit
    currency: Mapped[str] = mapped_column(String(3))
    counterparty_name: Mapped[str | None] = mapped_column(String(200))
    counterparty_iban: Mapped[str | None] = mapped_column(String(34))
    reference: Mapped[str | None] = mapped_column(String(40))
    end_to_end_id: Mapped[str | None] = mapped_column(String(40))
    remittance: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20))  # MatchStatus
    reason: Mapped[str] = mapped_column(Text, default="")
    matches: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    posting_rule: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[int | None] = mapped_column(Integer)
    booking_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    __table_args__ = (
        UniqueConstraint("client_id", "account_iban", "entry_key", "part"),
        Index("ix_bank_transactions_waiting", "client_id", "status", "amount"),
        Index("ix_bank_transactions_client_id", "client_id", "id"),
    )


class OpenItemRow(Base):
    """A document waiting for its payment (supplier invoice, card receipt, the client's
    own customer invoice): what reconciliation looks up, indexed so that one bank entry
    costs its candidates, not the client's open items. `status` is the document's
    `payment_state`."""

    __tablename__ = "open_items"
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.id"))
    kind: Mapped[str] = mapped_column(String(20))  # OpenItemKind
    amount: Mapped[Decimal] = mapped_column(MONEY)  # gross, positive
    currency: Mapped[str] = mapped_column(String(3))
    issue_date: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(40))
    invoice_number: Mapped[str | None] = mapped_column(String(100))
    supplier_id: Mapped[str | None] = mapped_column(ForeignKey("suppliers.id"))
    name: Mapped[str | None] = mapped_column(String(200))  # the other party, as known
    name_key: Mapped[str | None] = mapped_column(String(200))
    iban: Mapped[str | None] = mapped_column(String(34))  # the account printed on it
    # The account the document's booking left open (2000, 1100, 2100 …): what its payment
    # books against the bank.
    counter_account: Mapped[str] = mapped_column(String(10))
    booking_id: Mapped[int | None] = mapped_column(Integer)  # the document's booking
    status: Mapped[str] = mapped_column(String(8), default="open")  # PaymentState
    paid_by: Mapped[int | None] = mapped_column(Integer)  # bank_transactions.id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    __table_args__ = (
        Index("ix_open_items_amount", "client_id", "status", "amount"),
        Index("ix_open_items_reference", "client_id", "reference"),
        Index("ix_open_items_name", "client_id", "name_key"),
        Index("ix_open_items_supplier", "client_id", "supplier_id"),
        Index("ix_open_items_iban", "client_id", "iban"),
    )
