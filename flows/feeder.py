"""Where documents become work: the feeder of `fiduflow serve` and of every `fiduflow worker`.

Intake records a document (`received`) and returns; it asks Prefect for nothing. The feeder
of each serving process looks in fiduflow's database for due documents — new ones, retries
whose backoff has passed, a dead worker's whose lease ran out — every `poll_s`
(`FIDUFLOW_BATCH_POLL_S`), and at once when intake in the same process wakes it (`wake`).
It claims a document (a compare-and-set with a lease, `storage.documents.claim`) before it
starts anything for it: across processes and machines a document is one worker's at a time,
and no run is asked for twice. Decision 0012 says why the choice is made here.

- **Quiet** — the due documents fit the free per-document slots (`max_runs`,
  `FIDUFLOW_DOCUMENT_RUNS`) and no batch runs here: each document gets a `process-document`
  run of the deployment (its page, name and tags in the UI, Cancel and Retry), created
  Pending for this process and executed by Prefect's engine on one of the feeder's threads
  (`flows.in_process.execute_run`). The run learns that its document is claimed for it
  through `flows.pipeline.handed_over`.
- **Busy** — more due than free slots: one `process-backlog` run (flows/process_batch.py),
  which claims due documents as its threads come free and ends when none is left; the
  batch runs of all workers share the backlog. A flow run per document costs ~0.3 s of CPU
  in Prefect's server and engine, five times what reading a text PDF costs: under a burst
  it would more than halve the documents a machine gets through.
"""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from flows.in_process import crash_runs_of, execute_run
from flows.pipeline import handing_over, process_mark, process_of, worker_id
from flows.runtime import get_runtime
from storage import documents as documents_repo
from storage.tables import DocumentRow

log = logging.getLogger("fiduflow.feeder")

DEPLOYMENT = "process-document/process-document"


def run_tags(client_id: str, channel: str) -> list[str]:
    """Tags of a document's run (the type and the outcome follow once it is read)."""
    return [f"client:{client_id}", f"channel:{channel}"]


class DocumentFeeder:
    """Claims due documents and starts their work: a run each while quiet, a batch when busy."""

    def __init__(self, max_runs: int, poll_s: float) -> None:
        self.max_runs = max(0, max_runs)
        self.poll_s = poll_s
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, self.max_runs), thread_name_prefix="process-document"
        )
        self._lock = threading.Lock()
        self._runs = 0  # per-document runs started and not yet finished
        self._batch: threading.Thread | None = None
        self._deployment_id: Any = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._failures = 0
        self._thread = threading.Thread(target=self._loop, name="feeder", daemon=True)

    # --- the process's side ---------------------------------------------------------

    def start(self) -> "DocumentFeeder":
        self._thread.start()
        return self

    def wake(self, document_id: int | None = None) -> None:
        """A document was recorded here: look now rather than at the next beat. Intake's
        dispatcher in `fiduflow serve` (the id is not needed: the database says what is due)."""
        self._wake.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Start nothing more; let the runs and the batch in flight finish."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)
        batch = self._batch
        if batch is not None:
            batch.join(timeout)

    def in_flight(self) -> int:
        """Per-document runs under way, and the batch if one runs."""
        with self._lock:
            return self._runs + (1 if self._batch_running() else 0)

    # --- the loop -------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.beat()
                self._failures = 0
            except Exception as exc:  # the database or Prefect away: documents wait safely
                self._failures += 1
                log.warning(
                    "feeder: %s (%s in a row); trying again",
                    exc.__class__.__name__,
                    self._failures,
                    exc_info=self._failures == 1,
                )
                self._stop.wait(min(30.0, self.poll_s * 2**self._failures))

    def beat(self) -> str:
        """Look once and start what is due: `idle`, `runs` or `batch` (what it chose)."""
        self._crash_dead_workers()
        with self._lock:
            if self._batch_running():
                return "idle"  # the batch claims what is due as its threads come free
            free = self.max_runs - self._runs
        with get_runtime().db.session() as session:
            due = documents_repo.claimable_ids(session, max(0, free) + 1)
        if not due:
            return "idle"
        if len(due) > free:
            self._start_batch()
            return "batch"
        started = sum(1 for document_id in due if self._start_run(document_id))
        return "runs" if started else "idle"

    def _crash_dead_workers(self) -> None:
        """Documents whose lease ran out were held by a worker that died (or lost the
        database for a whole lease): the runs it left Running are marked Crashed, before
        a claim here replaces its name on them. The documents are simply due again."""
        with get_runtime().db.session() as session:
            owners = documents_repo.expired_lease_owners(session)
        dead = {process_of(owner) for owner in owners} - {process_mark()}
        if dead and crash_runs_of(dead):
            log.warning("runs of %s stopped worker(s) marked Crashed", len(dead))

    def _batch_running(self) -> bool:
        return self._batch is not None and self._batch.is_alive()

    # --- a run per document -----------------------------------------------------------

    def _start_run(self, document_id: int) -> bool:
        """Claim the document, ask Prefect for its run, hand both to a thread. False when
        another worker was first. If Prefect cannot create the run, the document is given
        back (the attempt not counted) and the error raised: the next beat tries again."""
        runtime = get_runtime()
        owner = worker_id()
        lease = timedelta(seconds=runtime.settings.lease_seconds)
        with runtime.db.session() as session:
            if not documents_repo.claim(session, document_id, owner, lease):
                return False
            row = session.get(DocumentRow, document_id)
            tags = run_tags(row.client_id, row.channel) if row is not None else []
        try:
            flow_run = self._create_run(document_id, tags)
        except Exception:
            with runtime.db.session() as session:
                documents_repo.release(session, document_id, owner)
            raise
        with self._lock:
            self._runs += 1
        self._pool.submit(self._execute, flow_run, document_id, owner)
        return True

    def _create_run(self, document_id: int, tags: list[str]) -> Any:
        from prefect.states import Pending

        from flows.prefect_env import thread_client

        client = thread_client()
        if self._deployment_id is None:
            self._deployment_id = client.read_deployment_by_name(DEPLOYMENT).id
        # Pending, not Scheduled: no worker's poll for due runs takes it; marked with this
        # process, so that if it dies the others mark the run Crashed.
        flow_run = client.create_flow_run_from_deployment(
            self._deployment_id,
            parameters={"document_id": document_id},
            state=Pending(),
            tags=tags,
        )
        client.update_flow_run(flow_run.id, infrastructure_pid=process_mark())
        return flow_run

    def _execute(self, flow_run: Any, document_id: int, owner: str) -> None:
        from flows.process_document import process_document

        try:
            with handing_over(document_id, owner):
                execute_run(process_document, flow_run, {"document_id": document_id})
        except Exception:
            # The run records its own failure; the document's lease brings it back.
            log.exception("process-document run for document %s broke", document_id)
        finally:
            with self._lock:
                self._runs -= 1
            self._wake.set()  # a slot is free: what waits may get a run of its own

    # --- a batch when busy --------------------------------------------------------------

    def _start_batch(self) -> None:
        thread = threading.Thread(target=self._run_batch, name="process-backlog", daemon=True)
        with self._lock:
            self._batch = thread
        thread.start()

    def _run_batch(self) -> None:
        from flows.process_batch import run_backlog

        try:
            run_backlog(self._stop)
        except Exception:
            log.exception("process-backlog run broke; its documents' leases bring them back")
        finally:
            self._wake.set()
