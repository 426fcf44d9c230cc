"""What `fiduflow status` shows: documents per state, open tasks, last flow runs."""

import asyncio
from typing import Any

from flows.runtime import Runtime
from storage import outbox
from storage.documents import count_by_state, count_in_flight
from storage.scope import Scope
from storage.tasks import count_open_by_assignee_and_kind


def collect_status(runtime: Runtime, api_url: str | None, runs: int = 10) -> dict[str, Any]:
    with runtime.db.session() as session:
        documents = count_by_state(session, Scope.staff())
        open_tasks = [
            {"assignee": assignee, "kind": kind, "count": count}
            for assignee, kind, count in count_open_by_assignee_and_kind(session)
        ]
        leases = count_in_flight(session)
        mail = _outbox(session)
    return {
        "documents": documents,
        "leases": leases,
        "open_tasks": open_tasks,
        "outbox": mail,
        "last_runs": _last_runs(runs) if api_url else [],
        "prefect_api_url": api_url,
    }


def _outbox(session: Any) -> dict[str, Any]:
    """Mails per state, and those handed to the relay but never confirmed (never sent
    again: an operator checks the relay's log for their Message-IDs)."""
    return {
        "states": outbox.counts_by_state(session),
        "stuck": [
            {"id": m.id, "kind": m.kind, "client_id": m.client_id, "message_id": m.message_id}
            for m in outbox.stuck_sending(session)
        ],
    }


def _last_runs(limit: int) -> list[dict[str, Any]]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterStartTime
    from prefect.client.schemas.sorting import FlowRunSort

    async def fetch() -> list[dict[str, Any]]:
        async with get_client() as client:
            found = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(start_time=FlowRunFilterStartTime(is_null_=False)),
                sort=FlowRunSort.START_TIME_DESC,
                limit=limit,
            )
        return [{"name": r.name, "state": r.state_name, "start": r.start_time} for r in found]

    try:
        return asyncio.run(fetch())
    except Exception as exc:  # the status of our own data is still worth showing
        return [{"name": f"(could not read flow runs: {exc})", "state": "", "start": None}]
