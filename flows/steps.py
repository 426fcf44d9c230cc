"""The steps of processing one document, as Prefect tasks named for what they do.

Each step is a thin wrapper: the logic lives in `extractors/` and `routing/` (pure) and
`storage/` (persistence). Transient failures (object store, database) are retried with
backoff; bad input is not an exception at all (it is an `Extraction.error`), so it is
never retried. A reading that stopped because our own reader process died
(`ReaderInterrupted`) is transient like them: retried, never taken for the file's error.
"""

import logging
from datetime import timedelta
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

import extractors
from domain.enums import (
    Activity,
    BookingStatus,
    DocType,
    DocumentState,
    Party,
    RoutingRule,
    TaskKind,
)
from domain.extraction import Extraction
from domain.learned import Learned, LearnedPosition
from domain.records import (
    Client,
    Decision,
    DocumentContext,
    DocumentOrigin,
    PriorDocument,
    Supplier,
    SupplierMatch,
    TaskDraft,
)
from extractors import camt
from extractors.errors import ReaderInterrupted
from extractors.learned_positions import Place, fill_from_places
from extractors.reading import Classification, Reading
from flows import bank_statements, splitting
from flows.artifacts import artifact_key
from flows.runtime import get_runtime
from routing.decide import CONFIDENT, decide, demote_to_duplicate
from routing.duplicates import find_duplicate
from routing.match import DUPLICATE_CHECKED, Matching
from routing.match import match_document as match_all
from storage import documents as documents_repo
from storage import transactions as transactions_repo
from storage.bookings import create_booking, document_origin
from storage.db import DatabaseUnavailable
from storage.history import SqlHistory, lock_client, record_facts
from storage.learning import learned_for
from storage.masterdata import get_client
from storage.objects import ObjectStoreUnavailable
from storage.suppliers import SqlClientDirectory, SqlSupplierDirectory, propose_supplier
from storage.tables import DocumentRow, utcnow
from storage.tasks import create_task

log = logging.getLogger("fiduflow.steps")

# Bump when reading changes in a way that should not reuse cached readings.
READER_VERSION = "4"  # 4: second look also at unsure totals and dates, one block first
TRANSIENT = (
    ObjectStoreUnavailable,
    DatabaseUnavailable,
    OperationalError,
    PoolTimeout,
    ReaderInterrupted,
)


def _retry_transient(task: Any, task_run: Any, state: Any) -> bool:
    try:
        state.result()
    except TRANSIENT:
        return True
    except Exception:
        return False
    return False


# Shared options: no result caching (our database is the record), retries only for
# transient infrastructure failures.
STEP = {"cache_policy": NO_CACHE, "persist_result": False}
RETRYING = {
    **STEP,
    "retries": 2,
    "retry_delay_seconds": [1, 5],
    "retry_condition_fn": _retry_transient,
}


class DocumentJob(BaseModel):
    """What the steps need to know about the document being processed."""

    document_id: int
    client_id: str
    sha256: str
    filename: str
    origin: DocumentOrigin
    # A person said "not a duplicate" on its suspected_duplicate task: routed without
    # the duplicate check (document.meta["not_a_duplicate"]).
    skip_duplicate_check: bool = False
    # Staff asked for this PDF to be cut into its documents (document.meta["split"]).
    split: bool = False
    media_type: str | None = None


class Outcome(BaseModel):
    """What became of one document; printed by the CLI, shown in artifacts."""

    document_id: int
    client_id: str
    filename: str = ""
    state: DocumentState
    doc_type: DocType | None = None
    rule: RoutingRule | None = None
    reasons: list[str] = Field(default_factory=list)
    booking_ids: list[int] = Field(default_factory=list)
    booking_status: BookingStatus | None = None
    task_ids: list[int] = Field(default_factory=list)
    task_kinds: list[TaskKind] = Field(default_factory=list)
    supplier_id: str | None = None
    error: str | None = None
    children: list[int] = Field(default_factory=list)  # a split pile's documents
    skipped: bool = False  # someone else holds it, or it was already final
    cancelled: bool = False  # its run was cancelled: given back, processed again later


@task(name="load-original", **RETRYING)
def load_original(sha256: str) -> bytes:
    return get_runtime().store.get_original(sha256)


def cached_reading(session: Any, sha256: str) -> Reading | None:
    """The good reading stored for these bytes, if any. A stored failure (written before
    failures stopped being cached) counts as none: it is read again."""
    data = documents_repo.cached_reading(session, sha256, READER_VERSION)
    if data is None or data.get("error"):
        return None
    return Reading.model_validate(data)


@task(name="read-document", **RETRYING)
def read_document(sha256: str, data: bytes, filename: str) -> Reading:
    """Text layer, OCR, QR-bill or e-invoice XML. Readings are cached by content hash:
    the same bytes are never OCR'd twice, whichever client sent them.

    Only readings without an error are cached. A failure is either ours (a worker that
    was killed, a time limit hit while the machine was busy, OCR not installed) and
    would be wrong for the next try, or the file's (encrypted, corrupt, empty, too
    large), which is found again in milliseconds; telling the two apart for every kind
    is guesswork, and a cached failure would outlive the retry meant to fix it and make
    the same bytes from another client unreadable at once. So: never cache a failure.
    A worker killed mid-read raises `ReaderInterrupted` (TRANSIENT): this step is
    retried, then the document (`fail_or_retry`)."""
    runtime = get_runtime()
    db = runtime.db
    with db.session() as session:
        cached = cached_reading(session, sha256)
    if cached is not None:
        return cached
    # The runtime's readers: its workers, OCR cache and limits (ReaderConfig).
    reading = extractors.read(data, filename, readers=runtime.readers)
    if reading.error is None:
        with db.session() as session:
            documents_repo.cache_reading(
                session, sha256, READER_VERSION, reading.model_dump(mode="json")
            )
    return reading


@task(name="classify-document", **STEP)
def classify_document(reading: Reading) -> Classification:
    return extractors.classify(reading)


@task(name="extract-fields", **STEP)
def extract_fields(reading: Reading, classification: Classification) -> Extraction:
    return extractors.extract_fields(reading, classification)


class MatchResult(BaseModel):
    """The client and everything routing looked up about the document."""

    client: Client
    matching: Matching
    learned: Learned | None = None  # what corrections taught for the matched supplier
    # Fields read where the supplier prints them (`read_learned_positions`), as reasons.
    notes: list[str] = Field(default_factory=list)

    @property
    def match(self) -> SupplierMatch:
        return self.matching.supplier.match

    @property
    def supplier(self) -> Supplier | None:
        return self.matching.supplier.supplier


def document_context(job: DocumentJob, extraction: Extraction) -> DocumentContext:
    return DocumentContext(
        document_id=job.document_id,
        client_id=job.client_id,
        extraction=extraction,
        **job.origin.model_dump(),
    )


@task(name="match-supplier", **RETRYING)
def match_document(job: DocumentJob, extraction: Extraction) -> MatchResult:
    """Client check, supplier, duplicates and reminders: indexed lookups, one client's."""
    with get_runtime().db.session() as session:
        client = get_client(session, job.client_id)
        if client is None:
            raise LookupError(f"client {job.client_id} of document {job.document_id} is gone")
        matching = match_all(
            document_context(job, extraction),
            client,
            SqlSupplierDirectory(session, job.client_id),
            SqlClientDirectory(session, job.client_id),
            _history(session, job),
        )
        supplier = matching.supplier.supplier
        learned = learned_for(session, job.client_id, supplier.id) if supplier else None
    return MatchResult(client=client, matching=matching, learned=learned)


@task(name="read-learned-positions", **RETRYING)
def read_learned_positions(
    job: DocumentJob, reading: Reading, extraction: Extraction, matched: MatchResult
) -> tuple[Extraction, MatchResult]:
    """Fields the reader missed or doubts, read where the matched supplier's layout prints
    them (a person's correction taught the place). Matched again when a field was filled:
    the duplicate check and the facts stored for later documents see the filled values."""
    learned, supplier = matched.learned, matched.supplier
    if learned is None or supplier is None or not learned.positions:
        return extraction, matched
    taught = {p.field: p for p in learned.positions}
    places = {field: Place(p.page, p.x0, p.y0, p.x1, p.y1) for field, p in taught.items()}
    filled, fields = fill_from_places(extraction, reading.pages, places, confident=CONFIDENT)
    if not fields:
        return extraction, matched
    again = match_document.fn(job, filled)
    if again.supplier is None or again.supplier.id != supplier.id:
        return extraction, matched  # the places belong to the supplier matched before
    notes = [position_note(field, supplier.name, taught[field]) for field in fields]
    return filled, again.model_copy(update={"notes": notes})


def position_note(field: str, supplier_name: str, taught: LearnedPosition) -> str:
    """How the reasons name a field read at a learned place."""
    return (
        f"{field} read where {supplier_name} prints it (learned from a correction by "
        f"{taught.learned_by} on {taught.learned_at.date()})"
    )


class _NoDuplicates(SqlHistory):
    """The client's history without its duplicate candidates: a person decided that the
    document is not a duplicate of what looks like it."""

    def with_invoice_number(self, invoice_number: str) -> list[PriorDocument]:
        return []

    def on_date_with_total(self, on: Any, total: Any) -> list[PriorDocument]:
        return []


def _history(session: Any, job: DocumentJob) -> SqlHistory:
    if job.skip_duplicate_check:
        return _NoDuplicates(session, job.client_id)
    return SqlHistory(session, job.client_id)


@task(name="decide-routing", **STEP)
def decide_routing(job: DocumentJob, extraction: Extraction, matched: MatchResult) -> Decision:
    # The client's phase (master data) says which column of its policy applies.
    client = matched.client
    decision = decide(
        document_context(job, extraction),
        client,
        matched.matching,
        client.phase,
        learned=matched.learned,
    )
    if not matched.notes:
        return decision
    return decision.model_copy(update={"reasons": [*matched.notes, *decision.reasons]})


@task(name="persist-outcome", **RETRYING)
def persist_outcome(
    job: DocumentJob, extraction: Extraction, matched: MatchResult, decision: Decision
) -> Outcome:
    """Supplier proposal, booking, tasks, facts and the document's new state: one
    transaction, at most once (origin and dedupe keys are unique constraints)."""
    with get_runtime().db.session() as session:
        # Per client, one routing commit at a time: a copy of an invoice persisted a moment
        # ago is seen below, so two copies can never both be booked.
        lock_client(session, job.client_id)
        row = documents_repo.lock_document(session, job.document_id)
        assert row is not None
        if DocumentState(row.state).is_final:
            return outcome_of(session, row, skipped=True)
        documents_repo.save_extraction(
            session, row.id, row.client_id, extraction.public_json(), extraction.text
        )
        matching = matched.matching
        decision, matching = _recheck_duplicate(session, job, matching, decision)
        match = matching.supplier.match
        proposal = matching.supplier.proposal
        proposing = proposal is not None and any(
            t.kind is TaskKind.CONFIRM_SUPPLIER for t in decision.tasks
        )
        if proposing:
            propose_supplier(session, proposal, row.client_id, row.id)
        supplier_id = match.supplier_id if (proposal is None or proposing) else None
        doc_type = (decision.doc_type or extraction.doc_type).value
        documents_repo.record_supplier(row, supplier_id, match.model_dump(mode="json"))
        documents_repo.record_routing(
            row,
            doc_type,
            {
                "rule": decision.rule,
                "reasons": decision.reasons,
                "responsible": decision.responsible.value,
                "post": decision.post,
                "doc_type": doc_type,
                "issues": [i.value for i in decision.issues],
                "links": decision.links,
            },
        )
        booking_id = None
        if decision.booking is not None:
            booking, _ = create_booking(
                session,
                row.client_id,
                row.id,
                decision.booking,
                origin_key=document_origin(row.id),
                post=decision.post,
                posted_by="fiduflow" if decision.post else None,
            )
            booking_id = booking.id
            _await_payment(session, job, matched, row, extraction, decision, booking_id)
        for draft in decision.tasks:
            create_task(
                session,
                row.client_id,
                draft,
                dedupe_key=f"doc:{row.id}:{draft.kind.value}",
                document_id=row.id,
                booking_id=booking_id if draft.holds_booking else draft.booking_id,
            )
        if (row.meta or {}).get("answers_task"):  # an upload a bank entry's request asked for
            bank_statements.check_answer(session, matched.client, row.id, row.meta)
        invoice = decision.links.get("invoice_document")
        if invoice is not None:  # a reminder: paid already, it closes itself
            transactions_repo.close_reminder_if_paid(session, row.client_id, row.id, int(invoice))
        record_facts(
            session,
            row.client_id,
            matching.facts.model_copy(update={"supplier_id": supplier_id}),
            booking_id=booking_id,
            duplicate_of=decision.links.get("duplicate_of"),
        )
        documents_repo.mark_final(session, row, DocumentState.ROUTED)
        session.flush()
        return outcome_of(session, row)


def _await_payment(
    session: Any,
    job: DocumentJob,
    matched: MatchResult,
    row: DocumentRow,
    extraction: Extraction,
    decision: Decision,
    booking_id: int,
) -> None:
    """A booked invoice or card receipt waits for its payment; a bank entry taken in
    before it arrived is matched to it now (its missing-document task closes)."""
    assert decision.booking is not None
    item = bank_statements.register_open_item(
        session,
        matched.client,
        row.id,
        DocType(row.doc_type),
        row.payment_method,
        extraction,
        row.supplier_id,
        matched.supplier.name if matched.supplier and row.supplier_id else None,
        decision.booking,
        booking_id,
    )
    if item is not None:
        bank_statements.match_waiting(session, matched.client, item, utcnow().date())


@task(name="reconcile-statement", **RETRYING)
def reconcile_statement(job: DocumentJob, data: bytes, extraction: Extraction) -> Outcome:
    """A camt.053 / camt.054 file: its entries stored once, reconciled with the client's
    open documents, booked by match or rule, or asked for (flows.bank_statements)."""
    statements = camt.parse_camt(data)  # the reading kept a summary; parsing is cheap
    with get_runtime().db.session() as session:
        lock_client(session, job.client_id)
        row = documents_repo.lock_document(session, job.document_id)
        assert row is not None
        if DocumentState(row.state).is_final:
            return outcome_of(session, row, skipped=True)
        client = get_client(session, job.client_id)
        if client is None:
            raise LookupError(f"client {job.client_id} of document {job.document_id} is gone")
        documents_repo.save_extraction(
            session, row.id, row.client_id, extraction.public_json(), extraction.text
        )
        report = bank_statements.take_in_statements(
            session, client, row.id, statements, row.received_at.date()
        )
        responsible = client.policy.responsible(Activity.BANK_STATEMENT, client.phase)
        if report.problems:
            create_task(
                session,
                row.client_id,
                TaskDraft(
                    kind=TaskKind.REVIEW_DOCUMENT,
                    assignee=Party.FIDUCIARY,
                    reason="Check the bank statement: " + "; ".join(report.problems),
                ),
                dedupe_key=f"doc:{row.id}:{TaskKind.REVIEW_DOCUMENT.value}",
                document_id=row.id,
            )
        documents_repo.record_routing(
            row,
            DocType.BANK_STATEMENT.value,
            {
                "rule": RoutingRule.STATEMENT_CHECKED
                if report.problems
                else RoutingRule.STATEMENT_RECONCILED,
                "reasons": report.reasons(),
                "responsible": responsible.value,
                "post": responsible is Party.FIDUCIARY,
                "doc_type": DocType.BANK_STATEMENT.value,
                "issues": [],
                "links": {},
            },
        )
        documents_repo.mark_final(session, row, DocumentState.ROUTED)
        session.flush()
        outcome = outcome_of(session, row)
    publish_statement_artifact(job, report)
    return outcome


def publish_statement_artifact(job: DocumentJob, report: bank_statements.StatementReport) -> None:
    """matched / by rule / missing, with amounts, on the run that took the statement in.
    Best effort: outside a Prefect run (or if the API is away) nothing is published."""
    from prefect.artifacts import create_table_artifact
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is None and TaskRunContext.get() is None:
        return
    rows = [
        {"status": status, "transactions": str(count), "amount": f"{report.amounts[status]:.2f}"}
        for status, count in sorted(report.by_status.items())
    ]
    rows.append({"status": "taken in before", "transactions": str(report.known), "amount": ""})
    for problem in report.problems:
        rows.append({"status": "problem", "transactions": "", "amount": problem})
    try:
        create_table_artifact(
            key=artifact_key("statement", job.client_id, str(job.document_id)),
            table=rows,
            description=f"Bank statement {job.document_id} of client {job.client_id}",
            # Synchronously even when called as a plain step inside an async flow's loop,
            # where Prefect would otherwise hand back a coroutine nobody awaits.
            _sync=True,  # type: ignore[call-arg]  # async_dispatch's switch
        )
    except Exception as exc:  # an artifact is never worth failing a statement for
        log.warning("could not publish the statement artifact (%s)", exc)


@task(name="split-document", **RETRYING)
def split_document(
    job: DocumentJob, data: bytes, reading: Reading, classification: Classification
) -> Outcome:
    """Staff asked, the reading found several documents: take each part in as a document
    of its own (processed like any new one), then route the pile with rule `split`.
    Done again after a crash, it takes in only the parts still missing."""
    runtime = get_runtime()
    parts = list(classification.parts)
    children = splitting.take_in_parts(
        runtime.db,
        runtime.store,
        job.document_id,
        data,
        parts,
        max_bytes=runtime.settings.max_message_bytes,
    )
    doc_type = splitting.pile_doc_type(splitting.part_types(reading, parts))
    extraction = splitting.pile_extraction(reading, classification)
    with runtime.db.session() as session:
        row = documents_repo.lock_document(session, job.document_id)
        assert row is not None
        if DocumentState(row.state).is_final:
            return outcome_of(session, row, skipped=True)
        documents_repo.save_extraction(
            session, row.id, row.client_id, extraction.public_json(), extraction.text
        )
        documents_repo.record_routing(
            row,
            doc_type.value if doc_type else None,
            splitting.split_routing(children, parts, doc_type),
        )
        documents_repo.mark_final(session, row, DocumentState.ROUTED)
        session.flush()
        return outcome_of(session, row)


def _recheck_duplicate(
    session: Any, job: DocumentJob, matching: Matching, decision: Decision
) -> tuple[Decision, Matching]:
    """Look for a duplicate again under the client lock: one may have been committed
    between the match step and now. Found → the decision becomes the duplicate's."""
    if (
        decision.booking is None
        or matching.doc_type not in DUPLICATE_CHECKED
        or job.skip_duplicate_check
    ):
        return decision, matching
    prior = find_duplicate(matching.facts, SqlHistory(session, job.client_id))
    if prior is None:
        return decision, matching
    matching = matching.model_copy(update={"duplicate_of": prior})
    return demote_to_duplicate(decision, matching), matching


def outcome_of(session: Any, row: DocumentRow, *, skipped: bool = False) -> Outcome:
    bookings, tasks = documents_repo.bookings_and_tasks(session, row.id)
    return Outcome(
        document_id=row.id,
        client_id=row.client_id,
        filename=row.filename,
        state=DocumentState(row.state),
        doc_type=row.doc_type,
        rule=(row.routing or {}).get("rule"),
        reasons=(row.routing or {}).get("reasons", []),
        booking_ids=[b.id for b in bookings],
        booking_status=bookings[0].status if bookings else None,
        task_ids=[t.id for t in tasks],
        task_kinds=[t.kind for t in tasks],
        supplier_id=row.supplier_id,
        error=row.error,
        children=list((row.routing or {}).get("children", [])),
        skipped=skipped,
    )


def fail_or_retry(document_id: int, owner: str, error: str) -> Outcome:
    """After a step failed for good: retry later with backoff, or give up with a task."""
    runtime = get_runtime()
    with runtime.db.session() as session:
        row = documents_repo.lock_document(session, document_id)
        assert row is not None
        if DocumentState(row.state).is_final or row.lease_owner != owner:
            # Final already, or our lease ran out and another worker owns it now: its
            # outcome counts, not our failure.
            return outcome_of(session, row, skipped=True)
        if row.attempts < runtime.settings.max_attempts:
            delay = timedelta(minutes=2 ** (row.attempts - 1))
            documents_repo.release_for_retry(session, document_id, owner, error, delay)
            session.refresh(row)
            return outcome_of(session, row)
        documents_repo.mark_final(session, row, DocumentState.FAILED, error=error)
        create_task(
            session,
            row.client_id,
            TaskDraft(
                kind=TaskKind.PROCESSING_FAILED,
                assignee=Party.FIDUCIARY,
                reason=f"Processing failed after {row.attempts} attempts: {error}",
            ),
            dedupe_key=f"doc:{row.id}:{TaskKind.PROCESSING_FAILED.value}",
            document_id=row.id,
        )
        session.flush()
        return outcome_of(session, row)
