"""Runs of served deployments executed inside `fiduflow serve`, not by Prefect's runner.

Prefect's runner starts every run it picks up as a new Python process, which imports
Prefect and fiduflow and starts its own parse and OCR workers: ~3–4 s of CPU before the
run does anything, and on two cores a second set of OCR workers competing with serve's.
Two kinds of run skip that:

- `hybrid` dispatch's per-document `process-document` runs (flows/dispatch.py,
  `InProcessRuns`), created in state Pending, which the runner leaves alone;
- the schedule of `process-inbox` (`InProcessSchedule`): every 5 minutes a sweep that, in
  serve, mostly finds nothing, because serve's batch worker already takes what is due.
  The deployment and its schedule are registered as the runner would (the UI shows the
  schedule, each sweep is a run of the deployment); serve takes its due runs itself.
  Likewise `send-outbox`, every minute (flows/notify.py), on a schedule thread of its own
  so that a long sweep does not hold up the mail.

Either way the run is Prefect's engine running the flow (`prefect.flow_engine.run_flow`)
on a thread of serve, with serve's database connections and warm workers. Not enforced
here, unlike in a runner's process: cancelling such a run from the UI (it finishes, in
seconds for a document). If serve dies mid-run, the documents come back through their
leases, and the next serve marks the runs it left behind Crashed (`crash_orphans`), so
the UI does not show them running forever.
"""

import asyncio
import json
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from flows.deployments import DeploymentSpec, runner_deployment

log = logging.getLogger("fiduflow.in_process")


def execute_run(flow: Any, flow_run: Any, parameters: dict[str, Any]) -> Any:
    """Run `flow_run` (created already) with Prefect's engine, here; its final state."""
    from prefect.flow_engine import run_flow

    state = run_flow(flow, flow_run=flow_run, parameters=parameters, return_type="state")
    if asyncio.iscoroutine(state):  # an async flow
        state = asyncio.run(state)
    return state


class InProcessSchedule:
    """Registers deployments with their schedules and runs their due runs in this process.

    What Prefect's runner does for the deployments it serves, for these: `start` applies
    them, every `poll_s` their runs due by now are fetched (which also marks the
    deployments ready in the UI), each is claimed by moving it to Pending — a run another
    poller claimed first is refused by the server and skipped — and run to its end on
    this object's thread, one at a time. Runs missed while serve was down are caught up
    by the latest of them alone (`_skip_caught_up`). `stop` pauses their schedules, as
    the runner does on shutdown (serve applies them again at its next start).
    """

    def __init__(self, specs: list[DeploymentSpec], poll_s: float = 5.0) -> None:
        self.specs = specs
        self.poll_s = poll_s
        self._flows: dict[Any, Any] = {}  # deployment id → flow
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="in-process-schedule", daemon=True)

    def start(self) -> "InProcessSchedule":
        self.register()
        self._thread.start()
        return self

    def register(self) -> None:
        """Create or update the deployments with their schedules (unpaused)."""
        for spec in self.specs:
            self._flows[runner_deployment(spec).apply()] = spec.load_flow()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
        from prefect.client.orchestration import get_client

        try:
            with get_client(sync_client=True) as client:
                for deployment_id in self._flows:
                    client.pause_deployment(deployment_id)
        except Exception as exc:  # the server may be gone first; nothing is lost
            log.warning("could not pause the schedules of %s (%s)", self.names, exc)

    @property
    def names(self) -> str:
        return ", ".join(spec.name for spec in self.specs)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception as exc:  # Prefect away: the runs wait for the next beat
                log.warning("could not look for due runs of %s (%s)", self.names, exc)
            self._stop.wait(self.poll_s)

    def run_due(self) -> int:
        """Claim and run every run of these deployments due by now; how many ran."""
        from prefect.client.orchestration import get_client
        from prefect.client.schemas.responses import SetStateStatus
        from prefect.states import Pending

        with get_client(sync_client=True) as client:
            due = client.get_scheduled_flow_runs_for_deployments(
                deployment_ids=list(self._flows), scheduled_before=datetime.now(UTC)
            )
            due = self._skip_caught_up(client, due)
        ran = 0
        for flow_run in due:
            if self._stop.is_set():
                break
            with get_client(sync_client=True) as client:
                claimed = client.set_flow_run_state(flow_run.id, Pending())
            if claimed.status is not SetStateStatus.ACCEPT:
                continue
            try:
                execute_run(self._flows[flow_run.deployment_id], flow_run, flow_run.parameters)
            except Exception:  # the run records its own failure
                log.exception("run %s of %s broke", flow_run.name, self.names)
            ran += 1
        return ran

    @staticmethod
    def _skip_caught_up(client: Any, due: list[Any]) -> list[Any]:
        """Of several due runs with the same deployment and parameters (serve was down
        while the schedule went on), the latest; the earlier ones are cancelled with a
        word why. A sweep claims everything due, so one run does what all of them would."""
        from prefect.states import Cancelled

        now = datetime.now(UTC)
        due = sorted(due, key=lambda r: r.expected_start_time or now)
        latest: dict[tuple[Any, str], Any] = {}
        for flow_run in due:
            key = (flow_run.deployment_id, json.dumps(flow_run.parameters, sort_keys=True))
            earlier = latest.get(key)
            latest[key] = flow_run
            if earlier is not None:
                client.set_flow_run_state(earlier.id, Cancelled(message=CAUGHT_UP_MESSAGE))
        kept = {id(flow_run) for flow_run in latest.values()}
        return [flow_run for flow_run in due if id(flow_run) in kept]  # still in due order


CAUGHT_UP_MESSAGE = (
    "not run: a later run of this deployment with the same parameters was due at the same "
    "time (fiduflow serve was not running) and did the same work"
)

ORPHAN_MESSAGE = (
    "fiduflow serve stopped while this run was running in its process; the documents it "
    "held are processed again once their leases run out"
)


def crash_orphans(deployment_names: list[str]) -> int:
    """Mark Crashed the runs of these deployments that a previous `fiduflow serve` left
    Pending or Running in its own process; how many. Call at start, before any run.

    Only runs without a process of their own (`infrastructure_pid` unset) are taken: a run
    the runner or a worker started may outlive serve in its own process and finish. One
    `fiduflow serve` per Prefect server, as in the embedded default: a second serve on the
    same server would mark the first one's running runs Crashed (their documents are
    safe all the same; the state of a document lives in fiduflow's database).
    """
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.exceptions import ObjectNotFound
    from prefect.states import Crashed

    crashed = 0
    with get_client(sync_client=True) as client:
        ids = []
        for name in deployment_names:
            try:
                ids.append(client.read_deployment_by_name(f"{name}/{name}").id)
            except ObjectNotFound:  # never served here: nothing was left behind
                continue
        if not ids:
            return 0
        left = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=ids),
                state=FlowRunFilterState(
                    type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING])
                ),
            )
        )
        for flow_run in left:
            if flow_run.infrastructure_pid is not None:
                continue
            client.set_flow_run_state(flow_run.id, Crashed(message=ORPHAN_MESSAGE), force=True)
            log.warning(
                "run %s was left %s by a previous fiduflow serve: marked Crashed",
                flow_run.name,
                flow_run.state_name,
            )
            crashed += 1
    return crashed
