"""Run parsers that can hang or balloon under a time and memory limit.

pdfminer can loop or eat memory on hostile PDFs, and a Python thread cannot be stopped. So
parsing runs in small persistent worker processes (`python -m extractors.worker`, talking
length-prefixed pickles over stdin/stdout): a call that overruns its time limit kills its
worker (a fresh one is started on the next call); a worker that hits its memory limit
answers `too_large`. A worker that dies mid-call is told apart by how it ended: killed by a
crash signal (a segfault or abort in a C library on hostile input) it is the file's fault,
`ReadFailure(CORRUPT)`; killed any other way (SIGKILL from the OOM killer or an operator,
SIGINT from a Ctrl-C that reached the process group, SIGTERM at shutdown) it is ours,
`ReaderInterrupted`, which is never recorded as the file's error and is retried. Workers
stay alive between calls, so the per-document overhead is one pipe round trip, not a
process start. Plain subprocesses rather than
`multiprocessing`: they never re-import the caller's `__main__` and are safe to start from
threaded programs (Prefect workers).

The pools are made and closed by their owner, `extractors.readers.Readers` (the readers'
parse and OCR workers) or `extractors.pages` (page images), with the limits it was given.
"""

import contextlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from domain.enums import ReadErrorKind
from extractors.errors import ReaderInterrupted, ReadFailure

# Address-space limit of a worker. pdfminer on a normal invoice needs < 200 MiB.
WORKER_MEMORY_BYTES = 3 * 1024**3
# Signals a process gets from its own fault (bad memory access, abort, bad instruction):
# a worker that dies of one of these died of the file it was reading.
CRASH_SIGNALS = frozenset(
    {signal.SIGSEGV, signal.SIGBUS, signal.SIGABRT, signal.SIGFPE, signal.SIGILL, signal.SIGSYS}
)
_HEADER = struct.Struct("!Q")
# Files handed to workers and to tesseract go to a RAM disk where there is one.
_SHM = "/dev/shm"  # noqa: S108 - private files made by mkstemp inside it
RAM_DISK = _SHM if os.path.isdir(_SHM) and os.access(_SHM, os.W_OK) else None
_ROOT = str(Path(__file__).resolve().parent.parent)


class _Worker:
    def __init__(self, memory_bytes: int) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        env["FIDUFLOW_WORKER_MEMORY"] = str(memory_bytes)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "extractors.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=_ROOT,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def exit_status(self, grace: float = 1.0) -> int | None:
        """How the process ended (negative: the signal that killed it); None when it is
        still running after `grace` seconds."""
        try:
            return self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            return None

    def call(
        self, fn: Callable[..., Any], args: tuple, timeout: float, budget: "Budget | None" = None
    ) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        body = pickle.dumps(
            (fn.__module__, fn.__qualname__, args), protocol=pickle.HIGHEST_PROTOCOL
        )
        self.proc.stdin.write(_HEADER.pack(len(body)) + body)
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        header = self._read(_HEADER.size, deadline, budget)
        (size,) = _HEADER.unpack(header)
        status, payload = pickle.loads(self._read(size, deadline, budget))  # noqa: S301
        if status == "fail":
            kind, message = payload
            raise ReadFailure(ReadErrorKind(kind), message)
        return payload

    def _read(self, size: int, deadline: float, budget: "Budget | None" = None) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError
            if budget is not None:
                if budget.exceeded():
                    raise TimeoutError
                wait = min(wait, budget.POLL_S)  # the document's other calls spend it too
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(fd, min(remaining, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                if stream:
                    stream.close()
            except OSError:
                pass


class WorkerPool:
    """At most `size` workers, each used by one caller at a time."""

    def __init__(
        self, size: int, memory_bytes: int = WORKER_MEMORY_BYTES, job: str = "parsing"
    ) -> None:
        self._size = max(1, size)
        self._job = job  # what the workers do, for the messages of a timeout or a crash
        self._memory = memory_bytes
        self._idle: list[_Worker] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self._size)
        self.pid = os.getpid()

    def _take(self) -> _Worker:
        with self._lock:
            while self._idle:
                worker = self._idle.pop()
                if worker.alive():
                    return worker
                worker.kill()
        return _Worker(self._memory)

    def call(
        self, fn: Callable[..., Any], *args: Any, timeout: float, budget: "Budget | None" = None
    ) -> Any:
        """Run module-level `fn(*args)` in a worker; ReadFailure(TIMEOUT) past `timeout` s,
        or once the document's `budget` is spent (the worker is killed: a fresh one
        serves the next call), ReadFailure(CORRUPT) when the file crashed the worker,
        ReaderInterrupted when the worker was stopped from outside."""
        with self._slots:
            if budget is not None and budget.exceeded():
                raise budget.failure()
            worker = self._take()
            try:
                with budget.spending() if budget is not None else contextlib.nullcontext():
                    result = worker.call(fn, args, timeout, budget)
            except TimeoutError:
                worker.kill()
                if budget is not None and budget.exceeded():
                    raise budget.failure() from None
                raise ReadFailure(
                    ReadErrorKind.TIMEOUT, f"{self._job} took longer than {timeout:g} s"
                ) from None
            except (EOFError, OSError, pickle.UnpicklingError, struct.error):
                status = worker.exit_status()
                worker.kill()
                raise self._lost(status) from None
            except ReadFailure:
                self._give(worker)
                raise
            except BaseException:
                # Interrupted while the worker works (Ctrl-C, a step's time limit, a
                # cancelled run): nobody will read its answer, so it must not serve the
                # next caller with that answer still in its pipe.
                worker.kill()
                raise
            self._give(worker)
            return result

    def _lost(self, status: int | None) -> Exception:
        """The error for a worker that went away mid-call (`status`: its exit status)."""
        if status is not None and status < 0 and -status in CRASH_SIGNALS:
            return ReadFailure(ReadErrorKind.CORRUPT, f"{self._job} crashed on this file")
        if status is None:
            how = "gave no answer"
        elif status < 0:
            try:
                how = f"was stopped by {signal.Signals(-status).name}"
            except ValueError:
                how = f"was stopped by signal {-status}"
        else:
            how = f"exited with status {status}"
        return ReaderInterrupted(f"{self._job} did not finish: the worker process {how}")

    def _give(self, worker: _Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def warm(self, count: int = 1) -> None:
        """Start workers ahead of the first document (each start costs ~0.5 s)."""
        with self._lock:
            while len(self._idle) < min(count, self._size):
                self._idle.append(_Worker(self._memory))

    def shutdown(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for worker in idle:
            worker.kill()


class Budget:
    """The worker time one document may use, added up over all its calls — those running
    in parallel too; waiting for a free worker does not count, so a busy machine does not
    make a document fail. A call running when the budget runs out is stopped within
    `POLL_S` (its worker killed), and no call of the document starts after that."""

    POLL_S = 0.25

    def __init__(self, seconds: float, what: str = "OCR of this document") -> None:
        self.seconds = seconds
        self.what = what
        self._spent = 0.0
        self._running: dict[int, float] = {}  # call → when it started
        self._lock = threading.Lock()

    def used(self) -> float:
        now = time.monotonic()
        with self._lock:
            return self._spent + sum(now - started for started in self._running.values())

    def exceeded(self) -> bool:
        return self.used() >= self.seconds

    @contextlib.contextmanager
    def spending(self) -> Iterator[None]:
        call = object()
        with self._lock:
            self._running[id(call)] = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self._spent += time.monotonic() - self._running.pop(id(call))

    def failure(self) -> ReadFailure:
        return ReadFailure(
            ReadErrorKind.TIMEOUT,
            f"{self.what} took more than its limit of {self.seconds:g} s; stopped",
        )


@contextlib.contextmanager
def spooled(data: bytes, suffix: str = ".pdf") -> Iterator[str]:
    """The bytes as a private file, for as long as workers read it (page by page, without
    sending the whole file down the pipe for every page)."""
    # A name never used before: workers keep files open by name (extractors.pdfdoc), and a
    # name mkstemp hands out again after the unlink must not find another client's file.
    prefix = f"fiduflow-read-{uuid.uuid4().hex}-"
    fd, path = tempfile.mkstemp(suffix=suffix, prefix=prefix, dir=RAM_DISK)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)
