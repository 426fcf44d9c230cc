"""Whether the flow run doing some work has been cancelled from the UI (or the API it uses).

Prefect cancels a run by killing the process its worker started for it. fiduflow's runs
share a warm process (decision 0011), so they ask instead: a document's run before reading
and before routing, a batch before each document it starts and each one it claims. The
answer is Prefect's (the run's state is Cancelling or Cancelled); a batch asks at most every
2 s (`flows.process_batch.CANCEL_CHECK_S`), however many documents it has in flight.
"""

import logging
import threading
import time
from typing import Any

log = logging.getLogger("fiduflow.cancel")


class RunCancel:
    """Asks Prefect whether the current flow run is being cancelled; once it is, stays so.

    Made inside the run (it takes the run's id from Prefect's run context); called from
    any of the run's threads.
    """

    def __init__(self, every_s: float = 0.0) -> None:
        from prefect.runtime import flow_run

        self.run_id: Any = flow_run.id
        self.every_s = every_s
        self.seen = False
        self._asked = float("-inf")
        self._lock = threading.Lock()

    def __call__(self) -> bool:
        if self.run_id is None:
            return False  # not in a run: nothing can cancel it
        with self._lock:
            if self.seen or time.monotonic() - self._asked < self.every_s:
                return self.seen
            self._asked = time.monotonic()
            try:
                self.seen = _cancelling(self.run_id)
            except Exception as exc:  # Prefect away for a moment: the work goes on
                log.warning("could not ask whether run %s was cancelled (%s)", self.run_id, exc)
            return self.seen


def _cancelling(run_id: Any) -> bool:
    from prefect.client.schemas.objects import StateType

    from flows.prefect_env import thread_client

    state = thread_client().read_flow_run(run_id).state
    return state is not None and state.type in (StateType.CANCELLING, StateType.CANCELLED)
