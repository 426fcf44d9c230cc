"""Batch processing: many documents as tasks of one flow run (not as subflows).

`process-documents` takes explicit ids (the `fiduflow process` command); the scheduled
sweep `process-inbox` claims whatever is due. Documents run concurrently on a *bounded*
thread pool; OCR inside them fans out to its own process-bounded pool.
"""

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from domain.settings import get_settings
from flows.pipeline import process_one, worker_id
from flows.steps import Outcome


@task(
    name="process-one-document",
    cache_policy=NO_CACHE,
    persist_result=False,
    task_run_name="document-{document_id}",
)
def process_document_task(document_id: int, owner: str, claimed: bool = False) -> Outcome:
    return process_one(document_id, owner, claimed=claimed)


def run_all(document_ids: list[int], *, claimed: bool = False) -> list[Outcome]:
    owner = worker_id()
    futures = [process_document_task.submit(i, owner, claimed) for i in document_ids]
    wait(futures)
    return [f.result() for f in futures]


@flow(
    name="process-documents",
    task_runner=ThreadPoolTaskRunner(max_workers=get_settings().inbox_concurrency),
)
async def process_documents(document_ids: list[int]) -> list[Outcome]:
    """Process the given documents to the end (used by `fiduflow process`)."""
    return run_all(document_ids)


@flow(
    name="process-inbox",
    task_runner=ThreadPoolTaskRunner(max_workers=get_settings().inbox_concurrency),
)
async def process_inbox(limit: int = 500) -> list[Outcome]:
    """The sweep: claim every due document (new, retry due, or lease expired) and process it."""
    from datetime import timedelta

    from flows.runtime import get_runtime
    from storage.documents import claim_batch

    runtime = get_runtime()
    owner = worker_id()
    with runtime.db.session() as session:
        ids = claim_batch(session, owner, timedelta(seconds=runtime.settings.lease_seconds), limit)
    futures = [process_document_task.submit(i, owner, True) for i in ids]
    wait(futures)
    return [f.result() for f in futures]
