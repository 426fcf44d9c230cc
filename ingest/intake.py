"""The one way into fiduflow: validate → hash → store the original → record → ask for processing.

Every channel (SMTP, app API, web upload, `fiduflow process`) calls `intake`. When it
returns, the original is in the object store (verified) and its row is committed: that is
what "acknowledged" means. If either store is down, it raises `StorageUnavailable` and
the channel tells the sender to retry (SMTP 451, HTTP 503) — nothing is half-accepted.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from domain.enums import Channel, DocumentClass, DocumentState, MediaType, PaymentMethod
from ingest.filetype import sniff
from storage.db import Database
from storage.documents import IdempotencyConflict, NewDocument, Recorded, record_document
from storage.objects import ObjectStore, ObjectStoreUnavailable

log = logging.getLogger("fiduflow.intake")

# Asks for processing of one document (a deployment run, the in-process flow, or nothing:
# the scheduled sweep will pick the document up). Failing to ask never loses a document.
RequestProcessing = Callable[[int], None]


class IntakeRefused(Exception):
    """The input is not acceptable; `reason` is the message for the sender."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind  # "too_large" | "unsupported_type" | "empty"
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
        raise IntakeRefused("empty", "the file is empty")
    if len(submission.data) > max_bytes:
        raise IntakeRefused(
            "too_large",
            f"the file is {len(submission.data):,} bytes; the limit is {max_bytes:,} bytes",
        )
    media_type = submission.media_type or sniff(submission.data)
    if media_type is None:
        raise IntakeRefused(
            "unsupported_type",
            "not a PDF, JPEG, PNG, TIFF, HEIC or XML e-invoice (judged by its content)",
        )
    return media_type


def intake(
    db: Database,
    store: ObjectStore,
    submission: Submission,
    *,
    max_bytes: int,
    request_processing: RequestProcessing | None = None,
) -> Recorded:
    media_type = check_submission(submission, max_bytes)
    try:
        sha256 = store.put_original(submission.data)
    except ObjectStoreUnavailable as exc:
        raise StorageUnavailable(f"object store unavailable: {exc}") from exc
    try:
        with db.session() as session:
            recorded = record_document(session, _new_document(submission, media_type, sha256))
    except IdempotencyConflict:
        raise
    except (OperationalError, PoolTimeout) as exc:
        raise StorageUnavailable(f"database unavailable: {exc.__class__.__name__}") from exc
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
        filename=s.filename,
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
