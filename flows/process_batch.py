"""Batch processing: many documents in one flow run, on a bounded thread pool.

`process-documents` takes explicit ids (the `fiduflow process` command); the scheduled
sweep `process-inbox` claims whatever is due — new documents, retries whose backoff has
passed, and documents whose lease ran out because their worker died. Documents run
concurrently on the run's thread pool (`FIDUFLOW_INBOX_CONCURRENCY`), each one's steps as
plain calls with the steps' retries; OCR fans out to this process's OCR pool
(`FIDUFLOW_OCR_PROCESSES`), which bounds it.

What operators see of a batch: a progress artifact while it runs; one log line per
document with its outcome (`document 17 (rechnung.pdf) of client C01: routed as …`); at
the end a table artifact listing the documents by outcome, each failure with its
(redacted) reason. A document has no task run of its own here: on two cores a task run
per document cost ~39 ms of CPU — in serve, Prefect's server and its database — nearly
what pdfplumber takes to read a text PDF (bench/pipeline.py). A quiet document gets a
`process-document` run of its own instead (flows/feeder.py).

`process-backlog` is the run a feeder starts when more documents are due than it has free
per-document slots (flows/feeder.py, decision 0012): it claims due documents as its
threads come free — so that the batches of several workers share a burst — and ends when
nothing is left. Cancelled, it claims nothing more; what it started gives its document
back at the next step.
"""

import asyncio
import contextvars
import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow
from prefect.artifacts import (
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)

from domain.enums import DocumentState
from flows.artifacts import inbox_summary, outcome_label
from flows.cancel import RunCancel
from flows.pipeline import (
    CANCELLED_PAUSE_MINUTES,
    current_outcome,
    keeping_leases,
    process_mark,
    process_one,
    run_logger,
    worker_id,
)
from flows.runtime import get_runtime
from flows.steps import Outcome
from storage.documents import claim_batch

ZURICH = ZoneInfo("Europe/Zurich")
log = logging.getLogger("fiduflow.batch")


def _submit(
    pool: ThreadPoolExecutor,
    document_id: int,
    owner: str,
    claimed: bool,
    cancel: RunCancel | None = None,
) -> Future[Outcome]:
    """Process the document on the run's thread pool, its steps as plain calls with the
    steps' own retries (`pipeline.plain_step`). The flow run's context goes along, so the
    document's log lines (one per outcome) are the run's. Cancelled, a document not yet
    read or routed is given back (`process_one`)."""
    context = contextvars.copy_context()
    return pool.submit(
        context.run,
        process_one,
        document_id,
        owner,
        claimed=claimed,
        step_runs=False,
        cancelled=cancel,
    )


# A batch asks Prefect whether it was cancelled at most this often (flows/cancel.py).
CANCEL_CHECK_S = 2.0


def _ended(outcomes: list[Outcome]) -> Any:
    """A batch's return: its outcomes, or, when it was cancelled and gave documents back,
    a Cancelled state saying how many (due again after a pause, `CANCELLED_PAUSE`)."""
    back = sum(1 for o in outcomes if o.cancelled)
    if not back:
        return outcomes
    from prefect.states import Cancelled

    return Cancelled(
        message=f"cancelled: {back} document(s) given back unprocessed, taken up again in "
        f"{CANCELLED_PAUSE_MINUTES} minutes; {len(outcomes) - back} finished",
        data=outcomes,
    )


def _pool() -> ThreadPoolExecutor:
    """The documents of one batch run share these threads (`FIDUFLOW_INBOX_CONCURRENCY`)."""
    size = get_runtime().settings.inbox_concurrency
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="document")


async def _run(document_ids: list[int], owner: str, *, claimed: bool, title: str) -> list[Outcome]:
    """Process every document, show progress while they finish, return their outcomes."""
    if not document_ids:
        return []
    total = len(document_ids)
    progress_id = await acreate_progress_artifact(
        progress=0.0,
        key=f"{title}-progress",
        description=f"{title}: 0 of {total} documents done",
    )
    cancel = RunCancel(every_s=CANCEL_CHECK_S)
    with _pool() as pool:
        futures = [_submit(pool, i, owner, claimed, cancel) for i in document_ids]
        pending: set[Future[Outcome]] = set(futures)
        shown, last_update = 0, 0.0
        while pending:
            done_and_not = await asyncio.to_thread(wait, pending, 1.0)
            pending = done_and_not.not_done
            finished = total - len(pending)
            if finished != shown and (not pending or time.monotonic() - last_update >= 1.0):
                shown, last_update = finished, time.monotonic()
                await aupdate_progress_artifact(
                    progress_id,
                    progress=100.0 * finished / total,
                    description=f"{title}: {finished} of {total} documents done",
                )
    return [
        _result(future, document_id)
        for future, document_id in zip(futures, document_ids, strict=True)
    ]


def _result(future: Future[Outcome], document_id: int) -> Outcome:
    """The document's outcome; if its processing itself broke (e.g. the database went away
    while recording a failure), what the database says now — its lease brings it back later."""
    try:
        return future.result()
    except Exception as exc:
        run_logger().error(
            "document %s: processing broke (%s); its lease will bring it back",
            document_id,
            exc.__class__.__name__,
        )
        try:
            outcome = current_outcome(document_id, skipped=False)
        except Exception:
            outcome = Outcome(
                document_id=document_id, client_id="?", state=DocumentState.PROCESSING
            )
        return outcome.model_copy(update={"error": f"{exc.__class__.__name__}: {exc}"})


async def _summarise(title: str, outcomes: list[Outcome]) -> None:
    counts: dict[str, int] = {}
    for outcome in outcomes:
        label = outcome_label(outcome)
        counts[label] = counts.get(label, 0) + 1
    summary = ", ".join(f"{n} {label}" for label, n in sorted(counts.items())) or "nothing due"
    run_logger().info("%s: %s document(s): %s", title, len(outcomes), summary)
    await acreate_table_artifact(
        table=inbox_summary(outcomes),
        key=f"{title}-summary",
        description=f"**{title}**: {len(outcomes)} document(s) — {summary}",
    )


def _documents_run_name() -> str:
    """`fiduflow process`'s run, named as a document's own run (`<client>-<id>-<filename>`)
    after its first document, `and N more` when it has several."""
    from prefect.runtime import flow_run

    from flows.process_document import named_document

    ids = list(flow_run.parameters.get("document_ids") or [])
    if not ids:
        return "process-no-documents"
    first = named_document(ids[0])
    return first if len(ids) == 1 else f"{first} and {len(ids) - 1} more"


def _inbox_run_name() -> str:
    from prefect.runtime import flow_run

    started = flow_run.scheduled_start_time
    return f"inbox-{started.astimezone(ZURICH):%Y-%m-%d-%H%M}" if started else "inbox"


@flow(name="process-documents", flow_run_name=_documents_run_name)
async def process_documents(document_ids: list[int]) -> list[Outcome]:
    """Process the given documents to the end (used by `fiduflow process`)."""
    owner = worker_id()
    with keeping_leases(owner):
        outcomes = await _run(document_ids, owner, claimed=False, title="process-documents")
    if outcomes:
        await _summarise("process-documents", outcomes)
    return _ended(outcomes)


@flow(name="process-inbox", flow_run_name=_inbox_run_name)
async def process_inbox(limit: int = 500) -> list[Outcome]:
    """The sweep: claim every due document (new, retry due, or lease expired) and process it.

    Claims up to `limit` documents at once under one lease owner; a keeper renews their
    leases while this run lives, so documents waiting their turn are not reclaimed by the
    next sweep — and are, as soon as this process dies.
    """
    runtime = get_runtime()
    owner = worker_id()
    lease = timedelta(seconds=runtime.settings.lease_seconds)
    with keeping_leases(owner):
        with runtime.db.session() as session:
            ids = claim_batch(session, owner, lease, limit)
        run_logger().info("process-inbox claimed %s document(s) as %s", len(ids), owner)
        outcomes = await _run(ids, owner, claimed=True, title="process-inbox")
    if outcomes:  # an empty sweep every five minutes is not worth an artifact
        await _summarise("process-inbox", outcomes)
    return _ended(outcomes)


# --- the batch of a busy feeder ------------------------------------------------------


def _claim_due(owner: str, room: int) -> list[int]:
    """Claim up to `room` due documents under `owner` (compare-and-set: another worker's
    batch may take some of the same first)."""
    if room <= 0:
        return []
    runtime = get_runtime()
    lease = timedelta(seconds=runtime.settings.lease_seconds)
    with runtime.db.session() as session:
        return claim_batch(session, owner, lease, room)


def _backlog_run_name() -> str:
    from prefect.runtime import flow_run

    started = flow_run.scheduled_start_time
    return f"backlog-{started.astimezone(ZURICH):%Y-%m-%d-%H%M%S}" if started else "backlog"


@flow(name="process-backlog", flow_run_name=_backlog_run_name)
async def process_backlog(limit: int = 500) -> list[Outcome]:
    """Claim due documents as threads come free and process them, until none is left (or
    `limit`): a busy feeder's run (flows/feeder.py). At most twice the thread pool's size is
    claimed at a time, so the batches of several workers share a burst."""
    owner = worker_id()
    await _mark_process()
    settings = get_runtime().settings
    ahead = 2 * settings.inbox_concurrency
    beat_s = settings.batch_poll_s / 2
    running: dict[Future[Outcome], int] = {}
    outcomes: list[Outcome] = []
    taken = 0
    progress_id = await acreate_progress_artifact(
        progress=0.0, key="process-backlog-progress", description="process-backlog: starting"
    )
    last_update = 0.0
    cancel = RunCancel(every_s=CANCEL_CHECK_S)
    with keeping_leases(owner), _pool() as pool:
        while True:
            room = 0
            if not await asyncio.to_thread(cancel) and not stopping():
                room = max(0, min(ahead - len(running), limit - taken))
            ids = await asyncio.to_thread(_claim_due, owner, room)
            taken += len(ids)
            for document_id in ids:
                running[_submit(pool, document_id, owner, True, cancel)] = document_id
            if not running:
                break
            done, _ = await asyncio.to_thread(wait, list(running), beat_s, FIRST_COMPLETED)
            for future in done:
                outcomes.append(_result(future, running.pop(future)))
            if time.monotonic() - last_update >= 2.0:
                last_update = time.monotonic()
                await aupdate_progress_artifact(
                    progress_id,
                    progress=100.0 * len(outcomes) / max(1, taken),
                    description=f"process-backlog: {len(outcomes)} of {taken} claimed "
                    "documents done",
                )
    await aupdate_progress_artifact(
        progress_id, progress=100.0, description=f"process-backlog: {len(outcomes)} documents"
    )
    if outcomes:
        await _summarise("process-backlog", outcomes)
    return _ended(outcomes)


async def _mark_process() -> None:
    """Record which process runs this batch (as a worker does for a deployment's run): if it
    dies, the other workers mark the batch Crashed (flows/in_process.py `crash_runs_of`)."""
    from prefect.client.orchestration import get_client
    from prefect.runtime import flow_run

    async with get_client() as client:
        await client.update_flow_run(flow_run.id, infrastructure_pid=process_mark())


# Set by a feeder that is stopping (flows/feeder.py): its batch claims nothing more and ends
# when what it holds is done. A context variable: only the batch run on that thread sees it.
_stopping: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "stopping", default=None
)


def stopping() -> bool:
    event = _stopping.get()
    return event is not None and event.is_set()


def run_backlog(stop: threading.Event) -> Any:
    """Run `process-backlog` here until it ends; `stop` set, it claims nothing more. Its
    final state (Cancelled too), never raised."""
    token = _stopping.set(stop)
    try:
        return asyncio.run(process_backlog(return_state=True))
    finally:
        _stopping.reset(token)
