"""The runs of fiduflow's deployments, executed warm in this process: in every
`fiduflow worker` and in `fiduflow serve` (documents become work in flows/feeder.py).

Prefect's process worker starts every flow run as a new Python process that imports
Prefect and fiduflow and starts its own reading workers: ~4.3 s of CPU per document, where
the reading itself costs a twentieth of that. Prefect 3.9 has no warm way of its own that
keeps what operators need — background tasks cannot be cancelled or retried from the UI
and are not handed on when their worker dies (decision 0011). So:

- at start it registers the deployments with their schedules (as `serve` does; an upsert,
  so every worker may), so that `prefect deploy` and a work pool are not needed;
- every `poll_s` it fetches the runs of these deployments that are due — a schedule's run,
  a run started or retried from the UI — as many as it has free slots (`limit`), claims
  each by moving it from Scheduled to Pending (the server grants that to one worker only),
  marks it with this process (`infrastructure_pid`, so that if the process dies the
  feeders of the others mark it Crashed) and runs it with Prefect's engine on one of its
  threads, with this process's database connections and warm readers;
- SIGTERM or Ctrl-C: it claims nothing more, lets the runs in flight finish (seconds for
  a document) and exits 0.

A run cancelled from the UI stops at its next step and gives its document back
(flows/process_document.py). Nothing is written to disk outside the data folder: no run
environment, so no secrets left behind.
"""

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from flows.deployments import DeploymentSpec, runner_deployment
from flows.in_process import execute_run
from flows.pipeline import process_mark

log = logging.getLogger("fiduflow.worker")

# Deployments whose run takes everything due: runs of them missed while no worker ran are
# done by the latest alone.
SWEEPS = ("process-inbox", "send-outbox")


class WarmWorker:
    """Claims the due runs of `specs`' deployments and runs them on up to `limit` threads."""

    def __init__(
        self,
        specs: list[DeploymentSpec],
        limit: int,
        # Each poll costs Prefect's server ~10 ms of CPU, every worker, all day: a run started
        # or retried from the UI, or a schedule's, waits up to this long (bench/pipeline.py).
        poll_s: float = 2.0,
        pause_on_stop: bool = False,
    ) -> None:
        self.specs = specs
        self.limit = max(1, limit)
        self.poll_s = poll_s
        # `fiduflow serve` is the only one serving its deployments: stopped, it pauses their
        # schedules (the UI shows why nothing runs) and applies them again at its next start.
        self.pause_on_stop = pause_on_stop
        self._flows: dict[Any, Any] = {}  # deployment id → flow
        self._deployments: dict[Any, str] = {}  # deployment id → name
        self._sweeps: set[Any] = set()  # ids of the SWEEPS deployments
        self._pool = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix="run")
        self._busy = 0  # runs claimed and not yet finished
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="warm-worker", daemon=True)

    def register(self) -> None:
        """Create or update the deployments with their schedules."""
        for spec in self.specs:
            deployment_id = runner_deployment(spec).apply()
            self._flows[deployment_id] = spec.load_flow()
            self._deployments[deployment_id] = spec.name
            if spec.name in SWEEPS:
                self._sweeps.add(deployment_id)

    def start(self) -> "WarmWorker":
        self.register()
        self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        """Claim nothing more; wait for the runs in flight to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._pool.shutdown(wait=True)
        if self.pause_on_stop:
            self._pause()

    def _pause(self) -> None:
        from prefect.client.orchestration import get_client

        try:
            with get_client(sync_client=True) as client:
                for deployment_id in self._flows:
                    client.pause_deployment(deployment_id)
        except Exception as exc:  # the server may be gone first; nothing is lost
            log.warning("could not pause the schedules (%s)", exc)

    def in_flight(self) -> int:
        with self._lock:
            return self._busy

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.claim_due()
            except Exception as exc:  # Prefect or the database away: the next beat
                log.warning("could not look for due runs (%s)", exc)
                claimed = 0
            if not claimed:
                self._stop.wait(self.poll_s)

    def claim_due(self) -> int:
        """Claim as many due runs as there are free slots and start them; how many."""
        from prefect.client.schemas.responses import SetStateStatus
        from prefect.states import Pending

        from flows.prefect_env import thread_client

        free = self.limit - self.in_flight()
        if free <= 0 or self._stop.is_set():
            return 0
        client = thread_client()  # polled all day: an open client, not a new one
        due = client.get_scheduled_flow_runs_for_deployments(
            deployment_ids=list(self._flows),
            scheduled_before=datetime.now(UTC),
            limit=free,
        )
        due = skip_caught_up(client, due, self._sweeps)
        started = 0
        for flow_run in due[:free]:
            if self._stop.is_set():
                break
            claimed = client.set_flow_run_state(flow_run.id, Pending())
            if claimed.status is not SetStateStatus.ACCEPT:
                continue  # another worker was first
            # Which process runs it: if this one dies, the others crash its runs.
            client.update_flow_run(flow_run.id, infrastructure_pid=process_mark())
            self._start(flow_run)
            started += 1
        return started

    def _start(self, flow_run: Any) -> None:
        with self._lock:
            self._busy += 1
        self._pool.submit(self._execute, self._flows[flow_run.deployment_id], flow_run)

    def _execute(self, flow: Any, flow_run: Any) -> None:
        try:
            execute_run(flow, flow_run, flow_run.parameters)
        except Exception:  # the run records its own failure; a document's lease is kept
            log.exception("run %s broke", flow_run.name)
        finally:
            with self._lock:
                self._busy -= 1


def skip_caught_up(client: Any, due: list[Any], sweeps: set[Any]) -> list[Any]:
    """Of several due runs of a sweep deployment (`sweeps`: ids) with the same parameters
    (no worker ran while its schedule went on), the latest; the earlier ones are cancelled
    with a word why. A sweep takes everything due, so one run does what all of them would;
    runs of other deployments are all run."""
    from prefect.states import Cancelled

    now = datetime.now(UTC)
    due = sorted(due, key=lambda r: r.expected_start_time or now)
    latest: dict[tuple[Any, str], Any] = {}
    for flow_run in due:
        if flow_run.deployment_id not in sweeps:
            continue
        key = (flow_run.deployment_id, json.dumps(flow_run.parameters, sort_keys=True))
        earlier = latest.get(key)
        latest[key] = flow_run
        if earlier is not None:
            client.set_flow_run_state(earlier.id, Cancelled(message=CAUGHT_UP_MESSAGE))
    kept = {id(flow_run) for flow_run in latest.values()}
    # Still in due order.
    return [r for r in due if r.deployment_id not in sweeps or id(r) in kept]


CAUGHT_UP_MESSAGE = (
    "not run: a later run of this deployment with the same parameters was due at the same "
    "time (no fiduflow worker or serve was running) and did the same work"
)
