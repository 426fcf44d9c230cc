"""How intake asks for a document to be processed (DESIGN.md: intake never imports flows;
the CLI hands it one of these callables). `FIDUFLOW_DISPATCH`:

- `auto` (default): `hybrid` in `fiduflow serve`; in `fiduflow smtp` / `api`, `deployment`
  when a Prefect server answers, else `inline`.
- `hybrid` (`fiduflow serve`): a `process-document` run per document while the backlog is
  small — at most `FIDUFLOW_DOCUMENT_RUNS` at once, and only while the batch worker is
  idle; each is a run of the deployment with its own page in the UI, executed in this
  process (`InProcessRuns`: ~1.1–1.3 s of CPU per document where a runner process cost ~5 s).
  Under load the documents go to the in-process batch worker (`process-backlog`: one
  flow run per burst, its documents on threads, their steps plain calls), because a
  flow run with seven step task runs costs more than reading a text PDF. Measured in
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

from domain.enums import DispatchMode
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

    tags, key = _run_request(document_id)
    run_deployment(
        DEPLOYMENT,
        parameters={"document_id": document_id},
        timeout=0,
        tags=tags,
        idempotency_key=key,
        as_subflow=False,
        _sync=True,  # type: ignore[call-arg]  # async_dispatch's switch
    )


class InProcessRuns:
    """`hybrid`'s per-document runs: `process-document` runs of the deployment, executed in
    this process (`fiduflow serve`) rather than by Prefect's runner.

    A run the runner starts is a new Python process that imports Prefect and fiduflow and
    starts its own parse and OCR workers: ~4.5 s of CPU per document on two cores, and
    ~6 s until the document is final (bench/pipeline.py, trickle). Here the run is created
    from the deployment — its own page, name and tags in the UI, listed under the
    deployment — in state Pending, which the warm worker does not pick up (it claims Scheduled
    runs), and Prefect's engine runs it on one of `max_runs` threads, with this process's
    database connections and warm workers. Reading stays in the worker processes with
    their limits. A run retried from the UI is Scheduled again: the warm worker takes it.
    """

    def __init__(self, max_runs: int, on_done: Callable[[int], None]) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, max_runs), thread_name_prefix="process-document"
        )
        self._on_done = on_done
        self._deployment_id: object | None = None

    def __call__(self, document_id: int) -> None:
        """Create the run (raises if Prefect cannot) and hand it to a thread."""
        flow_run = self._create(document_id)
        if flow_run is None:
            self._on_done(document_id)
            return
        self._pool.submit(self._execute, flow_run, document_id)

    def close(self) -> None:
        """Wait for the runs in flight (serve is stopping, intake has stopped): they finish
        while Prefect's server and this process's Prefect clients are still there. Left to
        the interpreter's exit, they would outlive both and fail noisily."""
        self._pool.shutdown(wait=True)

    def _create(self, document_id: int):  # type: ignore[no-untyped-def]
        from prefect.client.orchestration import get_client
        from prefect.states import Pending, StateType

        tags, key = _run_request(document_id)
        with get_client(sync_client=True) as client:
            if self._deployment_id is None:
                self._deployment_id = client.read_deployment_by_name(DEPLOYMENT).id
            flow_run = client.create_flow_run_from_deployment(
                self._deployment_id,  # type: ignore[arg-type]
                parameters={"document_id": document_id},
                state=Pending(),
                tags=tags,
                idempotency_key=key,
            )
        if flow_run.state is None or flow_run.state.type is not StateType.PENDING:
            return None  # asked for before: that run exists already
        return flow_run

    def _execute(self, flow_run, document_id: int) -> None:  # type: ignore[no-untyped-def]
        from flows.in_process import execute_run
        from flows.process_document import process_document

        try:
            execute_run(process_document, flow_run, {"document_id": document_id})
        except Exception:
            # The run records its own failure; the document's lease brings it back.
            log.exception("process-document run for document %s broke", document_id)
        finally:
            self._on_done(document_id)


def _run_request(document_id: int) -> tuple[list[str], str]:
    """Tags and idempotency key of the document's run. The key names the document record
    (id and time received), so the same record asked for twice is one run, and another
    installation's document with the same id on the same Prefect server is not."""
    from flows.runtime import get_runtime
    from storage.tables import DocumentRow

    with get_runtime().db.session() as session:
        row = session.get(DocumentRow, document_id)
        if row is None:
            return [], f"process-document-{document_id}"
        received = row.received_at.strftime("%Y%m%d%H%M%S%f")
        return run_tags(row.client_id, row.channel), f"process-document-{document_id}-{received}"


def inline_dispatcher(workers: int = 2) -> Callable[[int], None]:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="process-document")

    def run(document_id: int) -> None:
        from flows.process_document import process_document

        def job() -> None:
            try:  # the run's state says what became of the document, failed or not
                asyncio.run(process_document(document_id, return_state=True))
            except Exception:
                log.exception("in-process run for document %s failed", document_id)

        pool.submit(job)

    return run


class HybridDispatcher:
    """`hybrid`: a per-document run while the backlog is small — fewer than `max_runs`
    runs in flight and the batch worker idle — otherwise the batch worker (the module
    docstring says why). A burst thus starts at most `max_runs` document runs; a quiet
    system shows every document as a run of its own."""

    def __init__(self, backlog: "Backlog", max_runs: int, start_run: Callable[[int], None]):
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

    def close(self) -> None:
        """Wait for the document runs in flight (`InProcessRuns.close`)."""
        close = getattr(self.start_run, "close", None)
        if close is not None:
            close()


def make_dispatcher(
    settings: Settings, *, server_reachable: bool, backlog: "Backlog | None" = None
) -> Callable[[int], None] | None:
    """The callable intake hands each new document to. `backlog`: the batch worker's
    (only `fiduflow serve` has one); without it `hybrid` and `batch` act as `auto`."""
    try:
        mode = DispatchMode(settings.dispatch)
    except ValueError:
        choices = ", ".join(m.value for m in DispatchMode)
        raise ValueError(f"FIDUFLOW_DISPATCH={settings.dispatch!r}; one of {choices}") from None
    if backlog is not None:
        if mode in (DispatchMode.AUTO, DispatchMode.HYBRID):
            runs = InProcessRuns(settings.document_runs, on_done=backlog.release)
            return HybridDispatcher(backlog, settings.document_runs, start_run=runs)
        if mode is DispatchMode.BATCH:
            return backlog.offer
    if mode in (DispatchMode.AUTO, DispatchMode.HYBRID, DispatchMode.BATCH):
        mode = DispatchMode.DEPLOYMENT if server_reachable else DispatchMode.INLINE
    if mode is DispatchMode.DEPLOYMENT:
        return via_deployment
    if mode is DispatchMode.INLINE:
        return inline_dispatcher()
    return None
