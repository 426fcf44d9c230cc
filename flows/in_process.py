"""Flow runs of fiduflow's deployments executed inside a fiduflow process, and what such
runs leave behind when that process dies.

Prefect's runner and process worker start every run as a new Python process that imports
Prefect and fiduflow and starts its own parse and OCR workers: ~3–4 s of CPU before the
run does anything. The feeders' per-document runs (flows/feeder.py) and the deployments'
runs of `fiduflow worker` and `serve` (flows/warm_worker.py) are instead executed with
Prefect's engine (`prefect.flow_engine.run_flow`) on a thread of their own process, with
its database connections and warm workers. Prefect cannot enforce a cancel there by
killing a process, so a document's run asks between its steps (flows/process_document.py).
If the process dies mid-run, the documents come back through their leases; the feeders of
the live workers mark its runs Crashed (`crash_runs_of`), and the next serve those it left
behind in its own process (`crash_orphans`), so the UI does not show them running forever.
"""

import asyncio
import logging
import os
import socket
from typing import Any

log = logging.getLogger("fiduflow.in_process")


def execute_run(flow: Any, flow_run: Any, parameters: dict[str, Any]) -> Any:
    """Run `flow_run` (created already) with Prefect's engine, here; its final state."""
    from prefect.flow_engine import run_flow

    state = run_flow(flow, flow_run=flow_run, parameters=parameters, return_type="state")
    if asyncio.iscoroutine(state):  # an async flow
        state = asyncio.run(state)
    return state


ORPHAN_MESSAGE = (
    "fiduflow serve stopped while this run was running in its process; the documents it "
    "held are processed again once their leases run out"
)


def _gone(mark: str | None) -> bool:
    """Whether the process a run was executed in is gone: unmarked (runs of an older
    serve), or a process of this machine that no longer lives. A process on another
    machine is not ours to judge; its worker's leases are (`crash_runs_of`)."""
    if mark is None:
        return True
    host, _, pid = mark.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def crash_orphans(deployment_names: list[str]) -> int:
    """Mark Crashed the runs of these deployments that a previous `fiduflow serve` left
    Pending or Running in its own process; how many. Call at start, before any run.

    Taken: runs without a process mark (an older serve's) and runs marked with a
    process of this machine that is gone; a `fiduflow worker` still running here keeps
    its runs. One `fiduflow serve` per Prefect server, as in the embedded default: a second
    serve on the same server would mark the first one's unmarked runs Crashed (their
    documents are safe all the same; the state of a document lives in fiduflow's
    database).
    """
    from prefect.client.orchestration import get_client
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
        left = unfinished(client, deployment_ids=ids)
        left += unfinished(client, flow_names=["process-backlog"])
        for flow_run in left:
            if not _gone(flow_run.infrastructure_pid):
                continue
            client.set_flow_run_state(flow_run.id, Crashed(message=ORPHAN_MESSAGE), force=True)
            log.warning(
                "run %s was left %s by a previous fiduflow serve: marked Crashed",
                flow_run.name,
                flow_run.state_name,
            )
            crashed += 1
    return crashed


DEAD_WORKER_MESSAGE = (
    "the fiduflow worker running this stopped without finishing it (its leases ran out); "
    "the documents it held are taken up by another worker"
)


def crash_runs_of(marks: set[str]) -> int:
    """Mark Crashed the Pending or Running flow runs executed by the processes `marks`
    names (workers whose leases ran out: they are dead) — a deployment's runs and the
    feeders' batches alike; how many."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    if not marks:
        return 0
    crashed = 0
    with get_client(sync_client=True) as client:
        for flow_run in unfinished(client):
            if flow_run.infrastructure_pid in marks:
                message = DEAD_WORKER_MESSAGE
                client.set_flow_run_state(flow_run.id, Crashed(message=message), force=True)
                crashed += 1
    return crashed


def unfinished(
    client: Any,
    *,
    deployment_ids: list[Any] | None = None,
    flow_names: list[str] | None = None,
) -> list[Any]:
    """The Pending or Running flow runs (a sync Prefect client's): of these deployments, of
    these flows (a feeder's `process-backlog` batches are runs of the flow, not of a
    deployment), or all."""
    from prefect.client.schemas.filters import (
        FlowFilter,
        FlowFilterName,
        FlowRunFilter,
        FlowRunFilterDeploymentId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType

    state = FlowRunFilterState(
        type=FlowRunFilterStateType(any_=[StateType.PENDING, StateType.RUNNING])
    )
    deployed = (
        FlowRunFilterDeploymentId(any_=deployment_ids) if deployment_ids is not None else None
    )
    flows = FlowFilter(name=FlowFilterName(any_=flow_names)) if flow_names is not None else None
    return list(
        client.read_flow_runs(
            flow_filter=flows, flow_run_filter=FlowRunFilter(state=state, deployment_id=deployed)
        )
    )
