"""Every state and kind in fiduflow, as string enums.

The string values are part of the public interface (JSON, CLI, database): never rename one.
"""

from enum import StrEnum


class Channel(StrEnum):
    EMAIL = "email"
    APP = "app"
    WEB = "web"
    BATCH = "batch"


class DocumentState(StrEnum):
    RECEIVED = "received"
    PROCESSING = "processing"
    ROUTED = "routed"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    FAILED = "failed"

    @property
    def is_final(self) -> bool:
        return self not in (DocumentState.RECEIVED, DocumentState.PROCESSING)


class DocType(StrEnum):
    SUPPLIER_INVOICE = "supplier_invoice"
    RECEIPT = "receipt"
    CREDIT_NOTE = "credit_note"
    REMINDER = "reminder"
    BANK_STATEMENT = "bank_statement"
    PAYSLIP = "payslip"
    CUSTOMER_INVOICE = "customer_invoice"
    OTHER = "other"


class TextSource(StrEnum):
    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    QR = "qr"
    XML = "xml"
    CORRECTED = "corrected"  # a person's correction: a field's source, never a reading's


class ReadErrorKind(StrEnum):
    """Why a document could not be read; routing turns each into a task for a human."""

    ENCRYPTED = "encrypted"  # needs a user password we do not have
    CORRUPT = "corrupt"  # truncated or broken file
    EMPTY = "empty"  # zero pages / no content
    TOO_LARGE = "too_large"  # decompression bomb, absurd page or pixel count
    TIMEOUT = "timeout"  # a parser or OCR ran past its time limit
    UNSUPPORTED = "unsupported"  # a type we do not read
    UNREADABLE = "unreadable"  # read, but nothing legible came out


class ClientMode(StrEnum):
    ONLINE = "online"
    OFFLINE = "offline"


class Access(StrEnum):
    COMPANY = "company"
    EMPLOYEE = "employee"


class Party(StrEnum):
    """Who is responsible for an activity, and whom a task is assigned to."""

    CLIENT = "client"
    FIDUCIARY = "fiduciary"


class Activity(StrEnum):
    SUPPLIER_INVOICE = "supplier_invoice"
    EXPENSE_RECEIPT = "expense_receipt"
    CREDIT_NOTE = "credit_note"
    REMINDER = "reminder"
    BANK_STATEMENT = "bank_statement"
    PAYSLIP = "payslip"
    OTHER = "other"


class Phase(StrEnum):
    SETUP = "setup"
    REGULAR = "regular"
    PERIOD_CLOSE = "period_close"


class VatMethod(StrEnum):
    EFFECTIVE = "effective"  # input VAT booked to 1170/1171
    NET_TAX_RATE = "net_tax_rate"  # Saldosteuersatz: no input VAT booked


class PaymentMethod(StrEnum):
    COMPANY_CARD = "company_card"
    DEBIT_CARD = "debit_card"
    CASH = "cash"
    INVOICE_TO_PAY = "invoice_to_pay"
    CUSTOMER_INVOICE = "customer_invoice"
    EMPLOYEE_EXPENSE = "employee_expense"
    PRIVATE = "private"


class DocumentClass(StrEnum):
    """What an online client says a web upload is ("+ Add document")."""

    PAYABLE = "payable"
    RECEIVABLE = "receivable"
    EXPENSE = "expense"


class BookingStatus(StrEnum):
    DRAFT = "draft"
    POSTED = "posted"
    REVERSED = "reversed"
    DISCARDED = "discarded"  # a rejected draft: never posted


class TaskKind(StrEnum):
    RELEASE_INVOICE = "release_invoice"
    APPROVE_EXPENSE = "approve_expense"
    REVIEW_DOCUMENT = "review_document"
    CONFIRM_SUPPLIER = "confirm_supplier"
    MISMATCHED_RECIPIENT = "mismatched_recipient"
    SUSPECTED_DUPLICATE = "suspected_duplicate"
    MISSING_DOCUMENT = "missing_document"
    UNREADABLE = "unreadable"
    MAIL_WITHOUT_DOCUMENT = "mail_without_document"
    ASK_CLIENT = "ask_client"
    PROCESSING_FAILED = "processing_failed"
    PERIOD_CLOSE = "period_close"
    REMINDER_RECEIVED = "reminder_received"
    BANK_DETAILS = "bank_details"
    RECONCILE_ENTRY = "reconcile_entry"  # a bank entry to confirm, choose a match for, or book


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"


class TaskOutcome(StrEnum):
    """What completing a task meant (DESIGN.md, task resource)."""

    RELEASED = "released"  # a client released / approved: its draft may post
    POSTED = "posted"  # completing it posted the document's booking
    REJECTED = "rejected"  # nothing posted, the draft discarded
    DONE = "done"  # answered; nothing to post


class MatchRule(StrEnum):
    """How a supplier was found; shown to users next to the score."""

    XML = "xml"  # exact seller identifiers from an e-invoice
    IBAN = "iban"
    QR_IBAN = "qr_iban"
    UID = "uid"
    NAME = "name"  # fuzzy name among the client's suppliers
    NAME_DIRECTORY = "name_directory"  # fuzzy name in the firm's whole directory
    PROPOSED = "proposed"  # a new supplier record was proposed from the document
    NONE = "none"


class SupplierStatus(StrEnum):
    ACTIVE = "active"
    PROPOSED = "proposed"  # created from a document; a fiduciary confirms it


class ReviewReason(StrEnum):
    """Reasons a human can act on (DOMAIN.md, "escalate")."""

    PAYMENT_METHOD_UNKNOWN = "payment_method_unknown"
    DOCUMENT_INCOMPLETE = "document_incomplete"
    ACCOUNT_UNCLEAR = "account_unclear"
    RECIPIENT_MISMATCH = "recipient_mismatch"
    SUSPECTED_DUPLICATE = "suspected_duplicate"
    UNREADABLE = "unreadable"
    SUPPLIER_UNKNOWN = "supplier_unknown"
    UNCERTAIN_READING = "uncertain_reading"
    NOT_BOOKABLE = "not_bookable"
    BANK_DETAILS_UNVERIFIED = "bank_details_unverified"


class MediaType(StrEnum):
    """File types fiduflow accepts, decided by the bytes, never by the name."""

    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"
    TIFF = "image/tiff"
    HEIC = "image/heic"
    XML = "application/xml"  # e-invoices (XRechnung / UBL / CII)


class BookingKind(StrEnum):
    DOCUMENT = "document"  # from a document's reading
    PAYMENT = "payment"  # a bank entry matched to an invoice
    RULE = "rule"  # a bank entry booked by a posting rule


class HistoryAction(StrEnum):
    """What a person (or the pipeline on their behalf) did to a document."""

    CORRECTED = "corrected"  # one field: before → after
    RELEASED = "released"
    APPROVED = "approved"
    POSTED = "posted"
    REJECTED = "rejected"
    REVERSED = "reversed"
    ASKED = "asked"  # the client was asked (a task or a mail)
    NOT_A_DUPLICATE = "not_a_duplicate"
    CONFIRMED = "confirmed"  # a supplier or bank details confirmed
    UPLOADED = "uploaded"  # the document a request asked for
    DONE = "done"  # a task about it was done without posting (e.g. a question answered)


class LearnedField(StrEnum):
    """What a correction teaches per client and supplier (DESIGN.md, "Working a task")."""

    ACCOUNT = "account"
    VAT_CODE = "vat_code"
    PAYMENT_METHOD = "payment_method"
    PRIVATE = "private"


class AliasKind(StrEnum):
    """What a correction tied to a supplier besides its master data (`supplier_aliases`)."""

    NAME = "name"  # a printed name the matcher did not know
    IBAN = "iban"  # a printed account, confirmed by staff only


class LearnedHow(StrEnum):
    """How a learned rule changed (`learned_changes`)."""

    CORRECTION = "correction"  # a person corrected a document of the supplier
    EDITED = "edited"  # set by hand on the supplier page or over the API
    DELETED = "deleted"


class MailKind(StrEnum):
    DIGEST = "digest"  # a company user's open tasks, daily
    REMINDER = "reminder"  # remind-missing: a request past its due date
    REQUEST = "request"  # "ask the client" for an offline client's contact


class OutboxState(StrEnum):
    QUEUED = "queued"  # not yet handed to the relay (also: the relay was down)
    SENDING = "sending"  # handed over, not yet confirmed: never sent again
    SENT = "sent"
    LOGGED = "logged"  # no relay configured: the log says what would have been sent
    FAILED = "failed"  # the relay refused it for good (5xx): not retried, last_error says why


class RoutingRule(StrEnum):
    """The rule that decided what became of a document (`routing.rule`, shown to people with
    its reasons; routing/decide.py, flows/steps.py, flows/splitting.py)."""

    UNREADABLE = "unreadable"
    RECIPIENT_MISMATCH = "recipient_mismatch"
    RECIPIENT_OTHER_CLIENT = "recipient_other_client"
    SUSPECTED_DUPLICATE = "suspected_duplicate"
    REMINDER_LINKED = "reminder_linked"
    REMINDER_INVOICE_MISSING = "reminder_invoice_missing"
    STATEMENT_RECONCILE = "statement_reconcile"  # a statement read as a page (PDF): a person
    PAYROLL = "payroll"
    NOT_BOOKABLE = "not_bookable"
    INCOMPLETE = "incomplete"
    CLIENT_RELEASES = "client_releases"
    AUTO_POST = "auto_post"
    FIDUCIARY_REVIEW = "fiduciary_review"
    BANK_DETAILS_UNVERIFIED = "bank_details_unverified"
    STATEMENT_RECONCILED = "statement_reconciled"  # camt: entries taken in and reconciled
    STATEMENT_CHECKED = "statement_checked"  # camt: taken in, with problems for a person
    SPLIT = "split"  # a pile staff asked to cut into its documents


class RefusalKind(StrEnum):
    """Why intake refused a file (each channel answers it its own way: 552/554, 413/415/400)."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    UNSUPPORTED_TYPE = "unsupported_type"


class DispatchMode(StrEnum):
    """What intake does with a recorded document (setting `DISPATCH`; domain/settings.py
    says each)."""

    AUTO = "auto"
    INLINE = "inline"
    NONE = "none"


class StepRuns(StrEnum):
    """Which steps of a document's `process-document` run are Prefect task runs of their
    own (setting `STEP_RUNS`): every step, only a reading that needs OCR (it carries the
    `ocr` concurrency limit), or none (the batch runs' way)."""

    ALL = "all"
    OCR = "ocr"
    NONE = "none"
