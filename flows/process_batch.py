"""Batch processing: many documents as tasks of one flow run (not as subflows).

`process-documents` takes explicit ids (the `fiduflow process` command); the scheduled
sweep `process-inbox` claims whatever is due — new documents, retries whose backoff has
passed, and documents whose lease ran out because their worker died. Documents run
concurrently on a *bounded* thread pool; OCR inside them is limited by the `ocr` tag's
concurrency limit and fans out to its own process-bounded pool.

While the sweep runs, a progress artifact shows how far it is; at the end a table
artifact lists the documents by outcome and each failure with its (redacted) reason.
"""

import asyncio
import time
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import (
    acreate_progress_artifact,
    acreate_table_artifact,
    aupdate_progress_artifact,
)
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import ThreadPoolTaskRunner

from domain.enums import DocumentState
from domain.settings import get_settings
from flows.artifacts import inbox_summary, outcome_label
from flows.pipeline import current_outcome, keeping_leases, process_one, run_logger, worker_id
from flows.runtime import get_runtime
from flows.steps import Outcome
from storage.documents import claim_batch
from storage.tables import DocumentRow

ZURICH = ZoneInfo("Europe/Zurich")


@task(
    name="process-one-document",
    cache_policy=NO_CACHE,
    persist_result=False,
    task_run_name="document-{document_id}",
)
def process_document_task(document_id: int, owner: str, claimed: bool = False) -> Outcome:
    return process_one(document_id, owner, claimed=claimed)


def _labels(document_ids: list[int]) -> dict[int, tuple[str, str, str]]:
    """Client, channel and file name per document, for task run names and tags."""
    with get_runtime().db.session() as session:
        rows = session.query(
            DocumentRow.id, DocumentRow.client_id, DocumentRow.channel, DocumentRow.filename
        ).filter(DocumentRow.id.in_(document_ids))
        return {i: (client, channel, filename) for i, client, channel, filename in rows}


def _submit(document_id: int, owner: str, claimed: bool, label: tuple[str, str, str] | None):
    if label is None:
        return process_document_task.submit(document_id, owner, claimed)
    client, channel, filename = label
    name = f"{client}-{document_id}-{filename}"[:120].replace("{", "{{").replace("}", "}}")
    return process_document_task.with_options(
        task_run_name=name, tags={f"client:{client}", f"channel:{channel}"}
    ).submit(document_id, owner, claimed)


async def _run(document_ids: list[int], owner: str, *, claimed: bool, title: str) -> list[Outcome]:
    """Submit every document, show progress while they finish, return their outcomes."""
    if not document_ids:
        return []
    labels = _labels(document_ids)
    total = len(document_ids)
    progress_id = await acreate_progress_artifact(
        progress=0.0,
        key=f"{title}-progress",
        description=f"{title}: 0 of {total} documents done",
    )
    futures = [_submit(i, owner, claimed, labels.get(i)) for i in document_ids]
    pending: set[PrefectFuture[Any]] = set(futures)
    shown, last_update = 0, 0.0
    while pending:
        done_and_not = await asyncio.to_thread(wait, list(pending), 1.0)
        pending = set(done_and_not.not_done)
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


def _result(future: PrefectFuture[Outcome], document_id: int) -> Outcome:
    """The document's outcome; if its task itself broke (e.g. the database went away while
    recording a failure), what the database says now — its lease brings it back later."""
    try:
        return future.result()
    except Exception as exc:
        run_logger().error(
            "document %s: processing task broke (%s); its lease will bring it back",
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
    from prefect.runtime import flow_run

    return f"process-{len(flow_run.parameters.get('document_ids') or [])}-documents"


def _inbox_run_name() -> str:
    from prefect.runtime import flow_run

    started = flow_run.scheduled_start_time
    return f"inbox-{started.astimezone(ZURICH):%Y-%m-%d-%H%M}" if started else "inbox"


@flow(
    name="process-documents",
    flow_run_name=_documents_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=get_settings().inbox_concurrency),
)
async def process_documents(document_ids: list[int]) -> list[Outcome]:
    """Process the given documents to the end (used by `fiduflow process`)."""
    owner = worker_id()
    with keeping_leases(owner):
        outcomes = await _run(document_ids, owner, claimed=False, title="process-documents")
    if outcomes:
        await _summarise("process-documents", outcomes)
    return outcomes


@flow(
    name="process-inbox",
    flow_run_name=_inbox_run_name,
    task_runner=ThreadPoolTaskRunner(max_workers=get_settings().inbox_concurrency),
)
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
    return outcomes
