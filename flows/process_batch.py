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
what pdfplumber takes to read a text PDF (bench/pipeline.py, PostgreSQL + S3: our
overhead 20.2 % of the raw tools' CPU with them, 12.2 % without). A quiet document gets a
`process-document` run of its own instead (dispatch.py), with a task run per step.

`process-backlog` is the continuously running batch worker of `fiduflow serve`
(`BatchWorker`, a thread): whenever documents are due it starts one in-process run that
claims them as they come — those the dispatcher hands it (`Backlog.offer`) at once, the
rest (retries, expired leases, other intake processes' documents) by polling — and ends
when nothing is left.
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
from flows.pipeline import current_outcome, keeping_leases, process_one, run_logger, worker_id
from flows.runtime import get_runtime
from flows.steps import Outcome
from storage import documents as documents_repo
from storage.documents import claim_batch, claimable_ids
from storage.tables import DocumentRow, utcnow

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
CANCEL_CHECK_S = 1.0


def _ended(outcomes: list[Outcome]) -> Any:
    """A batch's return: its outcomes, or, when it was cancelled and gave documents back,
    a Cancelled state saying how many (the next sweep takes them)."""
    back = sum(1 for o in outcomes if o.cancelled)
    if not back:
        return outcomes
    from prefect.states import Cancelled

    return Cancelled(
        message=f"cancelled: {back} document(s) given back unprocessed, the next sweep "
        f"takes them; {len(outcomes) - back} finished",
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


# --- the continuous batch worker of `fiduflow serve` ----------------------------------


class Backlog:
    """What `fiduflow serve`'s dispatcher and its batch worker share (one per process).

    - `offer(id)`: a document for the batch worker, taken at its next beat (~0.25 s).
    - `reserve(id)`: a document given to a per-document `process-document` run; the batch
      worker leaves it alone until the run is over (`release`), it is final, or
      `reservation_s` passed (the run never started) — then it is due like any other.
    - documents nobody offered (retries, expired leases, another intake process's) are
      claimed by polling, once older than `grace_s`: a document recorded a moment ago may
      be on its way to the dispatcher, which might give it a run.
    Claims are compare-and-set updates with a lease (storage.documents.claim), so whatever
    the timing, one document is processed by one worker at a time.
    """

    def __init__(
        self, *, poll_s: float = 0.5, grace_s: float = 5.0, reservation_s: float = 120.0
    ) -> None:
        self.poll_s = poll_s
        self.grace_s = grace_s
        self.reservation_s = reservation_s
        self.wake = threading.Event()
        self._lock = threading.Lock()
        self._offered: dict[int, None] = {}  # insertion-ordered set
        self._reserved: dict[int, float] = {}  # id → monotonic deadline
        self._holding = 0  # documents the running process-backlog run holds

    # dispatcher side
    def offer(self, document_id: int) -> None:
        with self._lock:
            self._offered[document_id] = None
        self.wake.set()

    def reserve(self, document_id: int) -> None:
        with self._lock:
            self._reserved[document_id] = time.monotonic() + self.reservation_s

    def release(self, document_id: int) -> None:
        with self._lock:
            self._reserved.pop(document_id, None)

    def runs_in_flight(self) -> int:
        with self._lock:
            return len(self._reserved)

    def busy(self) -> bool:
        """The batch worker holds documents, or has some waiting for it."""
        with self._lock:
            return bool(self._offered) or self._holding > 0

    # worker side
    def reserved_ids(self) -> set[int]:
        with self._lock:
            return set(self._reserved)

    def take_offered(self, limit: int) -> list[int]:
        with self._lock:
            taken = list(self._offered)[:limit]
            for document_id in taken:
                del self._offered[document_id]
            return taken

    def has_offered(self) -> bool:
        with self._lock:
            return bool(self._offered)

    def set_holding(self, count: int) -> None:
        with self._lock:
            self._holding = count

    def prune(self, db: Any) -> None:
        """Drop reservations whose run finished the document, or that ran out."""
        with self._lock:
            reserved = dict(self._reserved)
        if not reserved:
            return
        now = time.monotonic()
        with db.session() as session:
            states = dict(
                session.query(DocumentRow.id, DocumentRow.state).filter(
                    DocumentRow.id.in_(list(reserved))
                )
            )
        with self._lock:
            for document_id, deadline in reserved.items():
                state = states.get(document_id)
                if state is None or DocumentState(state).is_final or deadline < now:
                    self._reserved.pop(document_id, None)

    def due_ids(self, session: Any, limit: int) -> list[int]:
        """Due documents nobody offered: not reserved for a run, not just recorded."""
        reserved = self.reserved_ids()
        candidates = claimable_ids(session, limit + len(reserved) + 50)
        candidates = [i for i in candidates if i not in reserved]
        if not candidates:
            return []
        young = utcnow() - timedelta(seconds=self.grace_s)
        rows = session.query(DocumentRow.id, DocumentRow.received_at, DocumentRow.attempts).filter(
            DocumentRow.id.in_(candidates)
        )
        old_enough = {i for i, received_at, attempts in rows if attempts or received_at < young}
        return [i for i in candidates if i in old_enough][:limit]

    def claim(self, owner: str, room: int, offered_limit: int | None = None) -> list[int]:
        """Claim offered documents (up to `offered_limit`, default `room`), then due ones
        until `room` is reached."""
        runtime = get_runtime()
        lease = timedelta(seconds=runtime.settings.lease_seconds)
        claimed: list[int] = []
        offered = self.take_offered(room if offered_limit is None else offered_limit)
        try:
            with runtime.db.session() as session:
                for document_id in offered:
                    if documents_repo.claim(session, document_id, owner, lease):
                        claimed.append(document_id)
        except Exception:
            # The database failed: give them back (they stay `received`, so also the
            # polling below or the sweep would find them).
            for document_id in offered:
                self.offer(document_id)
            raise
        if len(claimed) < room:
            with runtime.db.session() as session:
                for document_id in self.due_ids(session, room - len(claimed)):
                    if documents_repo.claim(session, document_id, owner, lease):
                        claimed.append(document_id)
        return claimed

    def anything_due(self) -> bool:
        if self.has_offered():
            return True
        with get_runtime().db.session() as session:
            return bool(self.due_ids(session, 1))


BACKLOG = Backlog()


def _backlog_run_name() -> str:
    from prefect.runtime import flow_run

    started = flow_run.scheduled_start_time
    return f"backlog-{started.astimezone(ZURICH):%Y-%m-%d-%H%M%S}" if started else "backlog"


@flow(name="process-backlog", flow_run_name=_backlog_run_name)
async def process_backlog(limit: int = 500) -> list[Outcome]:
    """Claim due documents as they come and process them, until none is left (or `limit`).

    Every document the dispatcher offers is claimed at once (it is this worker's by the
    dispatcher's decision; left `received`, it would wait for the next process-inbox sweep).
    Other due documents (retries, expired leases, other processes' documents) are claimed
    only as threads come free, so this run holds few of them. At most twice the thread
    pool's size is submitted at a time.
    """
    backlog = BACKLOG
    owner = worker_id()
    ahead = 2 * get_runtime().settings.inbox_concurrency
    running: dict[Future[Outcome], int] = {}
    waiting: list[int] = []  # claimed, not yet submitted
    outcomes: list[Outcome] = []
    taken = 0
    progress_id = await acreate_progress_artifact(
        progress=0.0, key="process-backlog-progress", description="process-backlog: starting"
    )
    last_update = 0.0
    cancel = RunCancel(every_s=CANCEL_CHECK_S)
    with keeping_leases(owner), _pool() as pool:
        try:
            while True:
                if await asyncio.to_thread(cancel):
                    # Cancelled: claim nothing more; what was claimed and not started goes
                    # back now, what runs gives its document back at its next step.
                    outcomes.extend(_give_back(waiting, owner))
                    waiting = []
                room = (
                    0
                    if cancel.seen
                    else max(0, min(ahead - len(running) - len(waiting), limit - taken))
                )
                offered = 0 if cancel.seen else limit - taken
                ids = await asyncio.to_thread(backlog.claim, owner, room, offered)
                taken += len(ids)
                waiting.extend(ids)
                free = ahead - len(running)
                if free > 0 and waiting:
                    submit, waiting = waiting[:free], waiting[free:]
                    for document_id in submit:
                        running[_submit(pool, document_id, owner, True, cancel)] = document_id
                backlog.set_holding(len(running) + len(waiting))
                if not running:
                    break
                done, _ = await asyncio.to_thread(
                    wait, list(running), backlog.poll_s / 2, FIRST_COMPLETED
                )
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
        finally:
            backlog.set_holding(0)
    await aupdate_progress_artifact(
        progress_id, progress=100.0, description=f"process-backlog: {len(outcomes)} documents"
    )
    if outcomes:
        await _summarise("process-backlog", outcomes)
    return _ended(outcomes)


def _give_back(document_ids: list[int], owner: str) -> list[Outcome]:
    """Documents this run claimed and never started, back to `received` for the next sweep."""
    outcomes = []
    for document_id in document_ids:
        with get_runtime().db.session() as session:
            documents_repo.release(session, document_id, owner)
        outcome = current_outcome(document_id, skipped=False)
        outcomes.append(outcome.model_copy(update={"cancelled": True}))
    return outcomes


class BatchWorker:
    """The loop in `fiduflow serve` that runs `process-backlog` whenever work is due.

    Wakes when the dispatcher offers a document, else every `poll_s`; a failure (the
    database away) is logged and retried at the next beat — the documents are safe in
    `received` and the leases of a broken run run out by themselves.
    """

    def __init__(self, backlog: Backlog = BACKLOG) -> None:
        self.backlog = backlog
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="batch-worker", daemon=True)

    def start(self) -> "BatchWorker":
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self.backlog.wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self.backlog.wake.wait(self.backlog.poll_s)
            self.backlog.wake.clear()
            if self._stop.is_set():
                return
            try:
                self.backlog.prune(get_runtime().db)
                if self.backlog.anything_due():
                    # Its final state says what became of it (Cancelled too): no raise.
                    asyncio.run(process_backlog(return_state=True))
                failures = 0
            except Exception as exc:
                failures += 1
                log.warning(
                    "batch worker: %s (%s in a row); trying again",
                    exc.__class__.__name__,
                    failures,
                    exc_info=failures == 1,
                )
                self._stop.wait(min(30.0, self.backlog.poll_s * 2**failures))
