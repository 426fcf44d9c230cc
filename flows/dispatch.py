"""How intake asks for a document to be processed (DESIGN.md: intake never imports flows;
the CLI hands it one of these callables).

- `deployment`: a run of the `process-document` deployment (production, `fiduflow serve`);
  returns as soon as the run is scheduled.
- `inline`: the flow in this process, on a small thread pool (no Prefect server needed).
- `none`: nothing; the scheduled `process-inbox` sweep picks the document up.
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from domain.settings import Settings

log = logging.getLogger("fiduflow.dispatch")

DEPLOYMENT = "process-document/process-document"


def run_tags(client_id: str, channel: str) -> list[str]:
    """Tags of a document's run, set when intake asks for it (the type follows once read)."""
    return [f"client:{client_id}", f"channel:{channel}"]


def via_deployment(document_id: int) -> None:
    """Schedule a `process-document` run now and return without waiting for it.

    Safe from any thread, including one running an event loop (the SMTP server's): the
    synchronous client is used explicitly, never a coroutine that nobody awaits. The
    idempotency key makes a repeated request for the same document one run, not two.
    """
    from prefect.deployments import run_deployment

    from flows.runtime import get_runtime
    from storage.tables import DocumentRow

    tags: list[str] = []
    with get_runtime().db.session() as session:
        row = session.get(DocumentRow, document_id)
        if row is not None:
            tags = run_tags(row.client_id, row.channel)
    run_deployment(
        DEPLOYMENT,
        parameters={"document_id": document_id},
        timeout=0,
        tags=tags,
        idempotency_key=f"process-document-{document_id}",
        as_subflow=False,
        _sync=True,  # type: ignore[call-arg]  # async_dispatch's switch
    )


def inline_dispatcher(workers: int = 2) -> Callable[[int], None]:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="process-document")

    def run(document_id: int) -> None:
        from flows.process_document import process_document

        def job() -> None:
            try:
                asyncio.run(process_document(document_id))
            except Exception:
                log.exception("in-process run for document %s failed", document_id)

        pool.submit(job)

    return run


def make_dispatcher(settings: Settings, *, server_reachable: bool) -> Callable[[int], None] | None:
    mode = settings.dispatch
    if mode == "auto":
        mode = "deployment" if server_reachable else "inline"
    if mode == "deployment":
        return via_deployment
    if mode == "inline":
        return inline_dispatcher()
    return None
