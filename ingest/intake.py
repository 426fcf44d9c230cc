"""The one way into fiduflow: validate → hash → store the original → record → ask for processing.

Every channel (SMTP, app API, web upload, `fiduflow process`) calls `intake` (one file) or
`intake_mail` (one inbound mail, any number of files). When they return, the originals
are in the object store (verified) and their rows are committed: that is what
"acknowledged" means. If either store is down, they raise `StorageUnavailable` and the
channel tells the sender to retry (SMTP 451, HTTP 503) — nothing is half-accepted.

Order matters: objects first, rows second. A crash in between leaves an unreferenced
object (harmless: content-addressed, reused by the retry), never a row without its object.
"""

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from domain.enums import (
    Channel,
    DocumentClass,
    DocumentState,
    MediaType,
    Party,
    PaymentMethod,
    RefusalKind,
    TaskKind,
)
from domain.filetype import looks_like_pdf, sniff
from domain.records import TaskDraft
from ingest.filenames import safe_filename
from storage.db import Database, DatabaseUnavailable
from storage.documents import NewDocument, Recorded, record_document
from storage.messages import NewMessage, record_message
from storage.objects import ObjectStore, ObjectStoreUnavailable
from storage.tasks import create_task

log = logging.getLogger("fiduflow.intake")

# Asks for processing of one document (a deployment run, the in-process flow, or nothing:
# the scheduled sweep will pick the document up). Failing to ask never loses a document.
RequestProcessing = Callable[[int], None]

# Any database error during intake means "not recorded": the channel answers "retry
# later" (IntegrityError included — the unique constraints we expect are handled inside).
_DB_ERRORS = (DBAPIError, PoolTimeout, DatabaseUnavailable)


class IntakeRefused(Exception):
    """The input is not acceptable; `reason` is the message for the sender."""

    def __init__(self, kind: RefusalKind, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class StorageUnavailable(Exception):
    """Object store or database unavailable: nothing was acknowledged, retry later."""


@dataclass
class Submission:
    client_id: str
    channel: Channel
    data: bytes
    filename: str
    media_type: MediaType | None = None  # already sniffed by the caller (e.g. MIME parser)
    sender: str | None = None
    submitted_by: str | None = None
    message_id: str | None = None
    message_row_id: int | None = None
    idempotency_key: str | None = None
    payment_method: PaymentMethod | None = None
    document_class: DocumentClass | None = None
    note: str | None = None
    doc_date: date | None = None
    parent_id: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def check_submission(submission: Submission, max_bytes: int) -> MediaType:
    if not submission.data:
        raise IntakeRefused(RefusalKind.EMPTY, "the file is empty")
    if len(submission.data) > max_bytes:
        raise IntakeRefused(
            RefusalKind.TOO_LARGE,
            f"the file is {len(submission.data):,} bytes; the limit is {max_bytes:,} bytes",
        )
    media_type = submission.media_type or sniff(submission.data)
    if media_type is None:
        raise IntakeRefused(
            RefusalKind.UNSUPPORTED_TYPE,
            "a PDF header on a file that is not built like a PDF (judged by its content)"
            if looks_like_pdf(submission.data)
            else "not a PDF, JPEG, PNG, TIFF, HEIC or XML e-invoice (judged by its content)",
        )
    return media_type


def store_original(store: ObjectStore, data: bytes) -> str:
    """Write and verify the bytes; their SHA-256. StorageUnavailable when the store fails."""
    try:
        return store.put_original(data)
    except ObjectStoreUnavailable as exc:
        raise StorageUnavailable(f"object store unavailable: {exc}") from exc


@contextmanager
def recording(db: Database) -> Iterator[Session]:
    """One transaction; any database failure becomes StorageUnavailable (nothing committed)."""
    try:
        with db.session() as session:
            yield session
    except _DB_ERRORS as exc:
        raise StorageUnavailable(f"database unavailable: {exc.__class__.__name__}") from exc


def intake(
    db: Database,
    store: ObjectStore,
    submission: Submission,
    *,
    max_bytes: int,
    request_processing: RequestProcessing | None = None,
) -> Recorded:
    media_type = check_submission(submission, max_bytes)
    sha256 = store_original(store, submission.data)
    # IdempotencyConflict (same key, other bytes) passes through: the caller answers 409.
    with recording(db) as session:
        recorded = record_document(session, _new_document(submission, media_type, sha256))
    log.info(
        "document %s recorded for client %s via %s (%s)",
        recorded.document_id,
        submission.client_id,
        submission.channel.value,
        recorded.state.value,
    )
    if recorded.created and recorded.state is DocumentState.RECEIVED and request_processing:
        ask_for_processing(request_processing, recorded.document_id)
    return recorded


def ask_for_processing(request_processing: RequestProcessing, document_id: int) -> None:
    try:
        request_processing(document_id)
    except Exception:
        # The document is safe and `received`; the scheduled sweep will process it.
        log.warning(
            "could not start processing of document %s; the sweep will", document_id, exc_info=True
        )


def _new_document(s: Submission, media_type: MediaType, sha256: str) -> NewDocument:
    return NewDocument(
        client_id=s.client_id,
        channel=s.channel,
        # Every channel's name ends in the type's extension (`setup.exe` → `setup.exe.pdf`):
        # it is the name downloads are served under.
        filename=safe_filename(s.filename, media_type=media_type),
        media_type=media_type.value,
        size=len(s.data),
        sha256=sha256,
        sender=s.sender,
        submitted_by=s.submitted_by,
        message_id=s.message_id,
        message_row_id=s.message_row_id,
        idempotency_key=s.idempotency_key,
        payment_method=s.payment_method.value if s.payment_method else None,
        document_class=s.document_class.value if s.document_class else None,
        note=s.note,
        doc_date=s.doc_date,
        parent_id=s.parent_id,
        meta=s.meta,
    )


# --- inbound mail ----------------------------------------------------------------------


@dataclass(frozen=True)
class MailFile:
    """One document a mail carries (already sniffed and named by the MIME parser)."""

    filename: str
    data: bytes
    media_type: MediaType
    origin: str  # "attachment", "inline", "zip:a.zip", "forwarded:1/attachment", …


@dataclass
class MailSubmission:
    """One inbound mail for one or more clients (decided by the envelope recipients)."""

    raw: bytes
    client_ids: list[str]
    files: list[MailFile]
    message_id: str | None = None
    sender: str | None = None  # the From header: metadata, never used to route
    subject: str | None = None
    envelope_from: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # date, auth results, skipped, …
    skipped: list[str] = field(default_factory=list)  # "name (reason)", for the task text


@dataclass(frozen=True)
class MailRecorded:
    client_id: str
    message_row_id: int
    duplicate_delivery: bool  # this exact mail was recorded for this client before
    documents: list[Recorded]
    task_id: int | None  # the "mail without document" task, when there was no document


def intake_mail(
    db: Database,
    store: ObjectStore,
    mail: MailSubmission,
    *,
    max_bytes: int,
    request_processing: RequestProcessing | None = None,
    raw_sha256: str | None = None,
    io: Executor | None = None,
) -> list[MailRecorded]:
    """Store the raw mail and its documents, then record them for every client at once.

    One transaction for all recipients: either every client has the mail or none has,
    so a `451` never leaves half a delivery behind, and the sender's retry is recognised
    per client as a duplicate delivery (same raw SHA-256) that adds nothing.

    `raw_sha256`: the caller already stored (and verified) the raw mail under this hash,
    e.g. while it was being parsed. `io`: store the documents in parallel on it.
    """
    if len(mail.raw) > max_bytes:
        raise IntakeRefused(
            RefusalKind.TOO_LARGE, f"the mail is over the limit of {max_bytes:,} bytes"
        )
    if raw_sha256 is None:
        raw_sha256 = store_original(store, mail.raw)
    blobs = [f.data for f in mail.files]
    if io is not None and len(blobs) > 1:
        shas = list(io.map(lambda data: store_original(store, data), blobs))
    else:
        shas = [store_original(store, data) for data in blobs]
    with recording(db) as session:
        results = [
            _record_mail(session, mail, client_id, raw_sha256, shas)
            for client_id in dict.fromkeys(mail.client_ids)
        ]
    for result in results:
        log.info(
            "mail recorded for client %s as message %s: %d document(s)%s",
            result.client_id,
            result.message_row_id,
            len(result.documents),
            " (duplicate delivery)" if result.duplicate_delivery else "",
        )
    if request_processing:
        for document_id in to_process(results):
            ask_for_processing(request_processing, document_id)
    return results


def to_process(results: list[MailRecorded]) -> list[int]:
    """The documents a mail's recording created that await processing."""
    return [
        d.document_id
        for r in results
        for d in r.documents
        if d.created and d.state is DocumentState.RECEIVED
    ]


def _record_mail(
    session: Session, mail: MailSubmission, client_id: str, raw_sha256: str, shas: list[str]
) -> MailRecorded:
    message, created = record_message(
        session,
        NewMessage(
            client_id=client_id,
            raw_sha256=raw_sha256,
            message_id=mail.message_id,
            sender=mail.sender,
            subject=mail.subject,
            meta={**mail.meta, "envelope_from": mail.envelope_from, "size": len(mail.raw)},
        ),
    )
    if not created:
        return MailRecorded(client_id, message.id, True, [], None)
    documents = [
        record_document(
            session,
            NewDocument(
                client_id=client_id,
                channel=Channel.EMAIL,
                filename=safe_filename(f.filename, media_type=f.media_type),
                media_type=f.media_type.value,
                size=len(f.data),
                sha256=sha,
                sender=_clip(mail.sender),
                message_id=_clip(mail.message_id),
                message_row_id=message.id,
                meta={"origin": f.origin},
            ),
        )
        for f, sha in zip(mail.files, shas, strict=True)
    ]
    task_id = None if documents else _mail_without_document(session, mail, client_id, message.id)
    return MailRecorded(client_id, message.id, False, documents, task_id)


def _clip(header: str | None) -> str | None:
    # Header values come from strangers; the columns hold 998 characters (RFC 5322's
    # line limit), and a longer value must not turn a delivery into a database error.
    return header[:998] if header else None


def _mail_without_document(
    session: Session, mail: MailSubmission, client_id: str, message_row_id: int
) -> int:
    """A mail with no document in it is still news: the fiduciary looks at it."""
    sender = mail.sender or mail.envelope_from or "unknown sender"
    subject = f' "{mail.subject}"' if mail.subject else " (no subject)"
    reason = f"Mail from {sender}{subject} carried no document"
    if mail.skipped:
        reason += "; not taken: " + ", ".join(mail.skipped[:10])
    reason += ". Check whether the client meant to send one."
    task, _ = create_task(
        session,
        client_id,
        TaskDraft(
            kind=TaskKind.MAIL_WITHOUT_DOCUMENT,
            assignee=Party.FIDUCIARY,
            reason=reason[:2000],
            details={
                "message_row_id": message_row_id,
                "message_id": mail.message_id,
                "sender": mail.sender,
                "subject": mail.subject,
                "skipped": mail.skipped[:50],
            },
        ),
        dedupe_key=f"msg:{message_row_id}:{TaskKind.MAIL_WITHOUT_DOCUMENT.value}",
    )
    return task.id


# --- asking for processing off the acknowledging thread --------------------------------


class ProcessingQueue:
    """Hands document ids to `request_processing` on background threads.

    Channels acknowledge first and ask afterwards: a Prefect API call must not delay an
    SMTP `250` or an HTTP `201`. Asking may fail or be lost at shutdown — the document
    is `received` and committed, so the scheduled sweep processes it anyway.
    """

    def __init__(
        self, request_processing: RequestProcessing | None, *, workers: int = 2, name: str = ""
    ):
        self._request = request_processing
        self._queue: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._workers = workers
        self._name = name or "processing-queue"
        self._lock = threading.Lock()
        self._stopped = False

    def __call__(self, document_id: int) -> None:
        if self._request is None or self._stopped:
            return
        self._start()
        self._queue.put(document_id)

    def _start(self) -> None:
        with self._lock:
            if self._threads:
                return
            for i in range(self._workers):
                thread = threading.Thread(target=self._run, name=f"{self._name}-{i}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _run(self) -> None:
        while (document_id := self._queue.get()) is not None:
            assert self._request is not None
            ask_for_processing(self._request, document_id)

    def stop(self, timeout: float = 5.0) -> None:
        self._stopped = True
        with self._lock:
            threads, self._threads = self._threads, []
        for _ in threads:
            self._queue.put(None)
        for thread in threads:
            thread.join(timeout)
