"""The README's production topology for bench/pipeline.py (`--production`): which processes,
with which environment, and the drill that kills a worker mid-burst (`--kill-worker`).

Everything here is on one machine: the Prefect server on PostgreSQL, fiduflow on PostgreSQL
and S3 (moto), `fiduflow smtp` and `fiduflow api` apart (they record documents and ask
nobody), and two `fiduflow worker` whose feeders take due documents from the database — a
run each while quiet, a batch when busy — the way tests/test_prefect_server.py
`_production_drill` starts them (`python -m flows.cli <command>`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORKERS = 2
# One OCR process per worker: two workers on this 2-core machine then read at most two
# pages at once, one per core, as the raw tesseract floor does at its best. The default
# (one per core) would give each worker two, four OCR processes fighting for two cores and
# twice the memory; fewer would leave a core idle during the OCR burst. Text PDFs are
# parsed in the same pool, so two parse processes at once too.
WORKER_OCR_PROCESSES = 1
# The `ocr` tag limit (README step 3): the first worker would create it with its own
# OCR_PROCESSES (1), and then one OCR step at a time ran on the whole machine. Set to
# the OCR processes of all workers, once, before they start.
OCR_LIMIT = WORKERS * WORKER_OCR_PROCESSES


def lease_seconds() -> int:
    """FIDUFLOW_LEASE_SECONDS of the processes: its default (the bench sets none)."""
    from domain.settings import Settings

    return int(Settings.model_fields["lease_seconds"].default)


@dataclass(frozen=True)
class ProcessSpec:
    name: str  # the log file's name and the process's key in the stack
    command: list[str]
    env: dict[str, str]


def _fiduflow(command: str) -> list[str]:
    # No console-script wrapper in between: the pid is the process that holds the leases
    # (lease_owner contains ':<pid>:'), so the drill can tell which documents it held.
    return [sys.executable, "-m", "flows.cli", command]


def worker_specs(workdir: Path) -> list[ProcessSpec]:
    """The workers, each with a data folder of its own, as on a machine of its own (its OCR
    cache, its Prefect home); FIDUFLOW_WORKER_RUNS is left at its default."""
    return [
        ProcessSpec(
            f"worker-{n}",
            _fiduflow("worker"),
            {
                "FIDUFLOW_DATA_DIR": str(workdir / f"data-worker-{n}"),
                "PREFECT_HOME": str(workdir / f"prefect-worker-{n}"),
                "FIDUFLOW_OCR_PROCESSES": str(WORKER_OCR_PROCESSES),
            },
        )
        for n in range(1, WORKERS + 1)
    ]


def intake_specs(workdir: Path) -> list[ProcessSpec]:
    """`fiduflow smtp` and `fiduflow api`, with the default dispatch (`auto`)."""
    return [
        ProcessSpec(
            name,
            _fiduflow(name),
            {
                "FIDUFLOW_DATA_DIR": str(workdir / f"data-{name}"),
                "PREFECT_HOME": str(workdir / f"prefect-{name}"),
            },
        )
        for name in ("smtp", "api")
    ]


def worker_ready(log: Path) -> bool:
    """The worker printed its start line (deployments registered, OCR limit checked)."""
    try:
        return b"fiduflow worker:" in log.read_bytes()
    except OSError:
        return False


class WorkerKill:
    """Waits until the worker `pid` holds a document (its lease; `held_by` counts them),
    then SIGKILLs it — no
    goodbye, its leases just stop being renewed, as when a machine dies.

    `cpu_of` is read just before the kill: the CPU the worker (with its children, and
    alone) used up to then, which the bench keeps counting for it (a killed process's time
    is gone from /proc). Its reading children are not killed with it (the drill kills the
    one process too); the bench stops those still running at the end (`stop_leftovers`).
    """

    def __init__(
        self,
        pid: int,
        held_by: Callable[[int], int],
        cpu_of: Callable[[int], tuple[float, float]],
        tree_of: Callable[[int], list[int]],
        timeout: float = 300.0,
    ) -> None:
        self.pid, self.held_by, self.timeout = pid, held_by, timeout
        self.cpu_of, self.tree_of = cpu_of, tree_of
        self.killed_at: float | None = None  # Unix time
        self.held = 0  # documents it held at the kill
        self.cpu_at_kill = (0.0, 0.0)  # (with children, alone)
        self.left: dict[int, bytes] = {}  # its children at the kill: pid → command line
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True, name="kill-worker")

    def start(self) -> WorkerKill:
        self._thread.start()
        return self

    def _watch(self) -> None:
        deadline = time.monotonic() + self.timeout
        while not self._done.is_set() and time.monotonic() < deadline:
            held = self.held_by(self.pid)
            if held:
                self.held = held
                self.left = {pid: _cmdline(pid) for pid in self.tree_of(self.pid)[1:]}
                self.cpu_at_kill = self.cpu_of(self.pid)
                os.kill(self.pid, signal.SIGKILL)
                self.killed_at = time.time()
                return
            self._done.wait(0.1)

    def stop(self) -> None:
        self._done.set()
        self._thread.join(10)

    def stop_leftovers(self) -> int:
        """SIGKILL the dead worker's children still running; how many there were."""
        running = 0
        for pid, command in self.left.items():
            if command and _cmdline(pid) == command:  # still the same process
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                    running += 1
        return running


def _cmdline(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read()
    except OSError:
        return b""
