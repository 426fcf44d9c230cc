"""How intake asks for a document to be processed (DESIGN.md: intake never imports flows;
the CLI hands it one of these callables). `FIDUFLOW_DISPATCH`:

- `auto` (default): `hybrid` in `fiduflow serve`; in `fiduflow smtp` / `api`, `deployment`
  when a Prefect server answers, else `inline`.
- `hybrid` (`fiduflow serve`): a `process-document` run per document while the backlog is
  small — at most `FIDUFLOW_DOCUMENT_RUNS` at once, and only while the batch worker is
  idle (a run is one process with its own page in the UI, ~3–4 s until it starts); under
  load the documents go to the in-process batch worker (`process-backlog`: one flow run
  per burst, one task run per document), because each run costs a new Python process
  (2–3 s of CPU) and two cores could then not pass ~40 documents a minute. Measured in
  bench/pipeline.py.
- `batch` (`fiduflow serve`): every document to the batch worker (throughput first).
- `deployment`: every document a `process-document` run (production with workers);
  returns as soon as the run is scheduled.
- `inline`: the flow in this process, on a small thread pool (no Prefect server needed).
- `none`: nothing; the scheduled `process-inbox` sweep picks the document up.

`hybrid` and `batch` need the batch worker of `fiduflow serve`; other processes treat them
as `auto`.
"""

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from domain.settings import Settings

if TYPE_CHECKING:  # the batch worker is Prefect-heavy; intake processes never need it
    from flows.process_batch import Backlog

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


MODES = ("auto", "hybrid", "batch", "deployment", "inline", "none")


class HybridDispatcher:
    """`hybrid`: a per-document run while the backlog is small — fewer than `max_runs`
    runs in flight and the batch worker idle — otherwise the batch worker (the module
    docstring says why). A burst thus starts at most `max_runs` processes; a quiet system
    shows every document as a run of its own."""

    def __init__(
        self, backlog: "Backlog", max_runs: int, start_run: Callable[[int], None] = via_deployment
    ):
        self.backlog = backlog
        self.max_runs = max_runs
        self.start_run = start_run
        self._lock = threading.Lock()

    def __call__(self, document_id: int) -> None:
        with self._lock:  # two intake threads must not both take the last free run
            run = not self.backlog.busy() and self.backlog.runs_in_flight() < self.max_runs
            if run:
                # Reserved before the run is asked for: the batch worker keeps its hands off.
                self.backlog.reserve(document_id)
        if not run:
            self.backlog.offer(document_id)
            return
        try:
            self.start_run(document_id)
        except Exception:
            log.warning(
                "could not start a run for document %s; the batch worker takes it",
                document_id,
                exc_info=True,
            )
            self.backlog.release(document_id)
            self.backlog.offer(document_id)


def make_dispatcher(
    settings: Settings, *, server_reachable: bool, backlog: "Backlog | None" = None
) -> Callable[[int], None] | None:
    """The callable intake hands each new document to. `backlog`: the batch worker's
    (only `fiduflow serve` has one); without it `hybrid` and `batch` act as `auto`."""
    mode = settings.dispatch
    if mode not in MODES:
        raise ValueError(f"FIDUFLOW_DISPATCH={mode!r}; one of {', '.join(MODES)}")
    if backlog is not None:
        if mode in ("auto", "hybrid"):
            return HybridDispatcher(backlog, settings.document_runs)
        if mode == "batch":
            return backlog.offer
    if mode in ("auto", "hybrid", "batch"):
        mode = "deployment" if server_reachable else "inline"
    if mode == "deployment":
        return via_deployment
    if mode == "inline":
        return inline_dispatcher()
    return None
