"""Processing one document from `received` to a final state: the business process.

    claim → load original → read → classify → extract fields → match → learned places
    → decide → persist
    (or, when staff asked to split a PDF and the reading found several documents:
    classify → split: each part taken in as a new document, this one routed as their pile;
    or, for a camt bank statement: classify → extract → reconcile the statement: its
    entries stored once, matched, booked or asked for — flows/bank_statements.py)

Called by the `process-document` flow (one run per document) and by the batch flows
(one task per document). The document's state lives in our database, not in Prefect: a
claim with a lease makes sure only one worker processes it at a time. While a worker
processes, a keeper thread renews its leases; when the worker dies (crash, SIGKILL, a
lost machine) the renewals stop, the lease runs out and the next `process-inbox` sweep
claims the document again. A document that has killed its worker `max_attempts` times
is not tried again: it becomes `failed` with a task for the fiduciary.
"""

import contextlib
import contextvars
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

from domain.enums import StepRuns
from extractors.reading import Classification, Reading
from flows import splitting, steps
from flows.artifacts import install_log_redaction, redact_filename
from flows.runtime import get_runtime
from storage import documents as documents_repo
from storage.tables import DocumentRow

log = logging.getLogger("fiduflow.pipeline")
install_log_redaction()

OCR_TAG = "ocr"

# A document whose run an operator cancelled is given back unprocessed and due again only
# after this pause: cancelling stops the work, the feeders do not start it again at once.
CANCELLED_PAUSE_MINUTES = 5
CANCELLED_PAUSE = timedelta(minutes=CANCELLED_PAUSE_MINUTES)


def process_mark() -> str:
    """This process, as `host:pid`: what a run executed here records as its
    `infrastructure_pid`, and how every lease owner name of it begins."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_id() -> str:
    return f"{process_mark()}:{uuid.uuid4().hex[:8]}"


def process_of(owner: str) -> str:
    """The `process_mark` of the process a lease owner name (`worker_id`) belongs to."""
    return owner.rsplit(":", 1)[0]


# A document a feeder claimed before it started the run for it (flows/feeder.py), as
# (document id, lease owner): the run processes it under that lease instead of claiming it.
# A context variable, so that only the run executed on that thread sees it — a run retried
# later from the UI claims for itself.
_handed_over: contextvars.ContextVar[tuple[int, str] | None] = contextvars.ContextVar(
    "handed_over", default=None
)


@contextlib.contextmanager
def handing_over(document_id: int, owner: str) -> Iterator[None]:
    """Within the block, a run of `document_id` finds it claimed by `owner`."""
    token = _handed_over.set((document_id, owner))
    try:
        yield
    finally:
        _handed_over.reset(token)


def handed_over(document_id: int) -> str | None:
    """The lease owner under which the document was claimed for this run, if it was."""
    held = _handed_over.get()
    return held[1] if held is not None and held[0] == document_id else None


def job_of(row: DocumentRow) -> steps.DocumentJob:
    """What the steps need of a document row (read once, inside the caller's session)."""
    return steps.DocumentJob(
        document_id=row.id,
        client_id=row.client_id,
        sha256=row.sha256,
        filename=row.filename,
        origin=documents_repo.origin_of(row),
        skip_duplicate_check=bool((row.meta or {}).get("not_a_duplicate")),
        split=splitting.split_requested(row.meta),
        media_type=row.media_type,
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


# --- leases ------------------------------------------------------------------------------


class LeaseKeeper:
    """Renews every lease one owner holds, every third of the lease time, until stopped.

    One keeper per owner (a batch run claims many documents under one owner); a daemon
    thread, so it dies with the process and the leases then run out by themselves.
    """

    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.users = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-keeper-{owner}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        runtime = get_runtime()
        lease = timedelta(seconds=runtime.settings.lease_seconds)
        interval = max(0.5, runtime.settings.lease_seconds / 3)
        while not self._stop.wait(interval):
            try:
                renew_leases(self.owner, lease)
            except Exception:  # the database may be back at the next beat
                log.warning("could not renew the leases of %s", self.owner, exc_info=True)


def renew_leases(owner: str, lease: timedelta) -> int:
    with get_runtime().db.session() as session:
        return documents_repo.renew_leases(session, owner, lease)


_keepers: dict[str, LeaseKeeper] = {}
_keepers_lock = threading.Lock()


@contextlib.contextmanager
def keeping_leases(owner: str) -> Iterator[None]:
    """Keep `owner`'s leases alive for the duration of the block (re-entrant per owner)."""
    with _keepers_lock:
        keeper = _keepers.get(owner)
        if keeper is None:
            keeper = _keepers[owner] = LeaseKeeper(owner)
            keeper.start()
        keeper.users += 1
    try:
        yield
    finally:
        with _keepers_lock:
            keeper.users -= 1
            if keeper.users == 0:
                keeper.stop()
                del _keepers[owner]


# --- processing --------------------------------------------------------------------------


def run_logger() -> Any:
    """The Prefect run logger inside a flow or task run (shown in the UI), else ours."""
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:
        return log


class RunCancelled(Exception):
    """The run processing a document was cancelled (from Prefect's UI or API)."""


def process_one(
    document_id: int,
    owner: str | None = None,
    *,
    claimed: bool = False,
    step_runs: bool | StepRuns = True,
    cancelled: Callable[[], bool] | None = None,
) -> steps.Outcome:
    """Take one document as far as it goes. Never raises for a document's own problems.

    `claimed`: the caller claimed it already and keeps the lease alive (the sweep).
    `step_runs`: which steps are Prefect task runs of their own (`StepRuns`; True: all,
    False: none). Plain calls have the same retries — the batch runs' way, where the
    document's outcome line in the run's log is what operators see; `ocr` keeps a task
    run only for a reading that needs OCR, where the `ocr` concurrency limit applies.
    Measured on two cores: a task run costs ~10 ms of CPU here and ~30 ms in Prefect's
    server; seven per document would cost five times what reading a text PDF does
    (bench/pipeline.py).
    `cancelled`: asked before reading and before routing; when it says so, the document
    is given back unprocessed (`received`, the attempt not counted) for the next sweep.
    """
    owner = owner or worker_id()
    loaded = _load(document_id)
    if loaded is None:
        raise LookupError(f"no document {document_id}")
    job, attempts = loaded
    if not claimed:
        if not claim(document_id, owner):
            # Final already, or another worker holds a live lease on it.
            return current_outcome(document_id, skipped=True)
        attempts = None  # the claim counted one more; read it again
    with keeping_leases(owner):
        try:
            return _process_claimed(
                job, owner, attempts=attempts, step_runs=step_runs, cancelled=cancelled
            )
        except RunCancelled:
            with get_runtime().db.session() as session:
                documents_repo.release(session, document_id, owner, again_after=CANCELLED_PAUSE)
            run_logger().info(
                "document %s of client %s: run cancelled; given back, taken up again in %s minutes",
                job.document_id,
                job.client_id,
                CANCELLED_PAUSE_MINUTES,
            )
            outcome = current_outcome(document_id, skipped=False)
            return outcome.model_copy(update={"cancelled": True})


def _load(document_id: int) -> tuple[steps.DocumentJob, int] | None:
    """The job and the attempts so far, in one transaction (the batch claimed already)."""
    with get_runtime().db.session() as session:
        row = session.get(DocumentRow, document_id)
        if row is None:
            return None
        return job_of(row), row.attempts


def plain_step(step: Any) -> Any:
    """Call a step's function directly, with the retries its task options promise.

    Same policy as a task run of it: `step.retries` more tries after
    `step.retry_delay_seconds` when the failure is transient (object store, database —
    what `steps._retry_transient` accepts); anything else is raised at once (bad input is
    never retried).
    """
    retries = int(getattr(step, "retries", 0) or 0)
    delays = getattr(step, "retry_delay_seconds", None) or 0
    delays = list(delays) if isinstance(delays, list | tuple) else [delays] * max(1, retries)

    def call(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(retries + 1):
            try:
                return step.fn(*args, **kwargs)
            except steps.TRANSIENT as exc:
                if attempt == retries:
                    raise
                delay = float(delays[min(attempt, len(delays) - 1)])
                log.warning(
                    "step %s failed (%s); retry %s of %s in %.0f s",
                    step.name,
                    exc.__class__.__name__,
                    attempt + 1,
                    retries,
                    delay,
                )
                time.sleep(delay)
        raise AssertionError("unreachable")

    return call


def _process_claimed(
    job: steps.DocumentJob,
    owner: str,
    *,
    attempts: int | None = None,
    step_runs: bool | StepRuns = True,
    cancelled: Callable[[], bool] | None = None,
) -> steps.Outcome:
    if isinstance(step_runs, bool):
        step_runs = StepRuns.ALL if step_runs else StepRuns.NONE

    def step(task: Any) -> Any:
        return task if step_runs is StepRuns.ALL else plain_step(task)

    def reader(data: bytes) -> Any:
        if step_runs is StepRuns.NONE:
            return step(steps.read_document)
        read = reader_for(data, job.sha256)
        # `ocr`: a reading under the `ocr` limit stays a task run, the rest a plain call.
        return read if step_runs is StepRuns.ALL or OCR_TAG in read.tags else plain_step(read)

    def checkpoint() -> None:
        if cancelled is not None and cancelled():
            raise RunCancelled

    logger = run_logger()
    runtime = get_runtime()
    if attempts is None:
        attempts = _attempts(job.document_id)
    if attempts > runtime.settings.max_attempts:
        # Claims beyond the allowed attempts only happen when earlier workers died while
        # holding it (their lease ran out): this document kills its worker. Stop here.
        logger.error(
            "document %s of client %s: worker stopped %s times while processing it; giving up",
            job.document_id,
            job.client_id,
            attempts - 1,
        )
        return steps.fail_or_retry(
            job.document_id,
            owner,
            f"processing never finished in {attempts - 1} attempts (the worker stopped)",
        )
    # One line per document at INFO (its outcome, below): each log record is redacted,
    # printed and sent to Prefect's API. A repeated attempt is worth a line of its own.
    logger.log(
        logging.INFO if attempts > 1 else logging.DEBUG,
        "processing document %s (%s) of client %s, attempt %s",
        job.document_id,
        redact_filename(job.filename),
        job.client_id,
        attempts,
    )
    checkpoint()
    try:
        data = step(steps.load_original)(job.sha256)
        # The `ocr` tag and the time limit belong to a step run; plain calls rely on the
        # reader's own limits (parse and per-page OCR timeouts) and this process's OCR pool.
        read = reader(data)
        reading = read(job.sha256, data, job.filename)
        checkpoint()
        classification = step(steps.classify_document)(reading)
        if job.split and splitting.can_split(classification.parts, job.media_type):
            # Staff asked and the reading found several documents: the parts become
            # documents of their own; this one is routed as their pile.
            tag_document_run("split")
            outcome = step(steps.split_document)(job, data, reading, classification)
        elif reading.bank_statement is not None:
            # camt.053 / camt.054: entries stored, reconciled, booked or asked for.
            tag_document_run("bank_statement")
            extraction = step(steps.extract_fields)(reading, classification)
            outcome = step(steps.reconcile_statement)(job, data, extraction)
        else:
            tag_document_run(classification.doc_type.value)
            outcome = _route(job, reading, classification, step)
    except RunCancelled:
        raise
    except Exception as exc:
        logger.warning(
            "document %s of client %s: processing failed (%s)",
            job.document_id,
            job.client_id,
            exc.__class__.__name__,
            exc_info=True,
        )
        outcome = steps.fail_or_retry(
            job.document_id, owner, f"{exc.__class__.__name__}: {exc}"[:2000]
        )
    logger.info(
        "document %s (%s) of client %s: %s%s%s%s",
        job.document_id,
        redact_filename(job.filename),
        job.client_id,
        outcome.state.value,
        f" as {outcome.doc_type}" if outcome.doc_type else "",
        f", tasks: {', '.join(outcome.task_kinds)}" if outcome.task_kinds else "",
        f", split into documents {', '.join(map(str, outcome.children))}"
        if outcome.children
        else "",
    )
    return outcome


def _route(
    job: steps.DocumentJob, reading: Reading, classification: Classification, step: Any
) -> steps.Outcome:
    """Extract fields → match → learned places → decide → persist: one document's way."""
    extraction = step(steps.extract_fields)(reading, classification)
    matched = step(steps.match_document)(job, extraction)
    # What the reader missed, read where the supplier's layout prints it (learned).
    extraction, matched = step(steps.read_learned_positions)(job, reading, extraction, matched)
    decision = step(steps.decide_routing)(job, extraction, matched)
    if job.split:  # asked to split, but one document (or not a PDF): the reasons say so
        decision = splitting.noting_unsplit(decision, classification.parts, job.media_type)
    return step(steps.persist_outcome)(job, extraction, matched, decision)


def _attempts(document_id: int) -> int:
    with get_runtime().db.session() as session:
        row = session.get(DocumentRow, document_id)
        return row.attempts if row is not None else 0


def reader_for(data: bytes, sha256: str) -> Any:
    """The read step as it should run for these bytes: under the `ocr` tag (a Prefect tag
    concurrency limit, so a flood of scans cannot take every worker slot) when they need
    OCR; plain otherwise (text layer, XML, or a reading cached by content hash).

    No Prefect `timeout_seconds`: the step runs on a worker thread, where Prefect cannot
    interrupt it (it says so in a warning, and would only fail a reading that already
    finished). The reader keeps its own limits, which stop the worker processes doing
    the work: per page, per PDF parse, and per document (`ocr_document_timeout_s`, the
    pages' OCR time added up; `ocr_max_pages`)."""
    from extractors.probe import ocr_pages

    if _cached(sha256):  # one query; the probe is a round trip to a parse worker
        return steps.read_document
    if ocr_pages(data, get_runtime().readers) == 0:
        return steps.read_document
    return steps.read_document.with_options(tags={OCR_TAG})


def _cached(sha256: str) -> bool:
    with get_runtime().db.session() as session:
        return steps.cached_reading(session, sha256) is not None


def tag_document_run(doc_type: str, attempts: int = 3) -> None:
    """Add `type:<doc type>` to a `process-document` run's tags (client and channel came
    from intake; `outcome:` follows at its end). Best effort: a tag is never worth failing a
    document for."""
    tag_run(f"type:{doc_type}", attempts)


def tag_run(tag: str, attempts: int = 3) -> None:
    """Add `tag` to the tags of the `process-document` run this is called in (nothing
    elsewhere); best effort."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    if context is None or context.flow_run is None or context.flow.name != "process-document":
        return
    for attempt in range(1, attempts + 1):
        try:
            _add_run_tag(context.flow_run.id, tag)
            return
        except Exception as exc:
            if attempt == attempts:
                run_logger().warning("could not tag the run with %s (%s)", tag, exc)
            else:
                time.sleep(0.5 * attempt)


def _add_run_tag(flow_run_id: Any, tag: str) -> None:
    from flows.prefect_env import thread_client

    client = thread_client()
    current = client.read_flow_run(flow_run_id).tags
    if tag not in current:
        client.update_flow_run(flow_run_id, tags=[*current, tag])
