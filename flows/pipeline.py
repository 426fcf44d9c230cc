"""Processing one document from `received` to a final state: the business process.

    claim → load original → read → classify → extract fields → match → decide → persist

Called by the `process-document` flow (one run per document) and by the batch flows
(one task per document). The document's state lives in our database, not in Prefect: a
claim with a lease makes sure only one worker processes it at a time, and a crashed
worker's lease simply runs out.
"""

import logging
import os
import socket
import uuid
from datetime import timedelta

from domain.enums import DocumentState
from flows import steps
from flows.runtime import get_runtime
from storage import documents as documents_repo
from storage.tables import DocumentRow

log = logging.getLogger("fiduflow.pipeline")


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def load_job(document_id: int) -> steps.DocumentJob | None:
    with get_runtime().db.session() as session:
        row = session.get(DocumentRow, document_id)
        if row is None:
            return None
        return steps.DocumentJob(
            document_id=row.id,
            client_id=row.client_id,
            sha256=row.sha256,
            filename=row.filename,
            context={
                "channel": row.channel,
                "filename": row.filename,
                "received_at": row.received_at,
                "submitted_by": row.submitted_by,
                "payment_method": row.payment_method,
                "document_class": row.document_class,
                "note": row.note,
            },
        )


def current_outcome(document_id: int, *, skipped: bool) -> steps.Outcome:
    with get_runtime().db.session() as session:
        row = session.get(DocumentRow, document_id)
        assert row is not None
        return steps.outcome_of(session, row, skipped=skipped)


def claim(document_id: int, owner: str) -> bool:
    runtime = get_runtime()
    with runtime.db.session() as session:
        return documents_repo.claim(
            session, document_id, owner, timedelta(seconds=runtime.settings.lease_seconds)
        )


def process_one(
    document_id: int, owner: str | None = None, *, claimed: bool = False
) -> steps.Outcome:
    """Take one document as far as it goes. Never raises for a document's own problems."""
    owner = owner or worker_id()
    job = load_job(document_id)
    if job is None:
        raise LookupError(f"no document {document_id}")
    if not claimed and not claim(document_id, owner):
        # Final already, or another worker holds a live lease on it.
        return current_outcome(document_id, skipped=True)
    log.info("processing document %s of client %s", job.document_id, job.client_id)
    try:
        data = steps.load_original(job.sha256)
        reading = steps.read_document(job.sha256, data, job.filename)
        classification = steps.classify_document(reading)
        extraction = steps.extract_fields(reading, classification)
        matched = steps.match_document(job, extraction)
        decision = steps.decide_routing(job, extraction, matched)
        return steps.persist_outcome(job, extraction, matched, decision)
    except Exception as exc:
        log.exception("document %s of client %s failed", job.document_id, job.client_id)
        return steps.fail_or_retry(document_id, owner, f"{exc.__class__.__name__}: {exc}"[:2000])


def is_final(state: DocumentState) -> bool:
    return state.is_final
