"""Run parsers that can hang or balloon under a time and memory limit.

pdfminer can loop or eat memory on hostile PDFs, and a Python thread cannot be stopped. So
parsing runs in small persistent worker processes (`python -m extractors.worker`, talking
length-prefixed pickles over stdin/stdout): a call that overruns its time limit kills its
worker (a fresh one is started on the next call); a worker that hits its memory limit
answers `too_large`. Workers stay alive between calls, so the per-document overhead is
one pipe round trip, not a process start. Plain subprocesses rather than
`multiprocessing`: they never re-import the caller's `__main__` and are safe to start from
threaded programs (Prefect workers).
"""

import atexit
import contextlib
import os
import pickle
import select
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
from extractors.errors import ReadFailure

# Address-space limit of a worker. pdfminer on a normal invoice needs < 200 MiB.
WORKER_MEMORY_BYTES = 3 * 1024**3
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

    def call(self, fn: Callable[..., Any], args: tuple, timeout: float) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        body = pickle.dumps(
            (fn.__module__, fn.__qualname__, args), protocol=pickle.HIGHEST_PROTOCOL
        )
        self.proc.stdin.write(_HEADER.pack(len(body)) + body)
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        header = self._read(_HEADER.size, deadline)
        (size,) = _HEADER.unpack(header)
        status, payload = pickle.loads(self._read(size, deadline))  # noqa: S301 - our own child
        if status == "fail":
            kind, message = payload
            raise ReadFailure(ReadErrorKind(kind), message)
        return payload

    def _read(self, size: int, deadline: float) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        chunks: list[bytes] = []
        remaining = size
        while remaining:
            wait = deadline - time.monotonic()
            if wait <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                raise TimeoutError
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

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float) -> Any:
        """Run module-level `fn(*args)` in a worker; ReadFailure(TIMEOUT) past `timeout` s."""
        with self._slots:
            worker = self._take()
            try:
                result = worker.call(fn, args, timeout)
            except TimeoutError:
                worker.kill()
                raise ReadFailure(
                    ReadErrorKind.TIMEOUT, f"{self._job} took longer than {timeout:g} s"
                ) from None
            except (EOFError, OSError, pickle.UnpicklingError, struct.error):
                worker.kill()
                raise ReadFailure(
                    ReadErrorKind.CORRUPT, f"{self._job} crashed on this file"
                ) from None
            except ReadFailure:
                self._give(worker)
                raise
            self._give(worker)
            return result

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


_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def parse_pool() -> WorkerPool:
    """The process-wide pool of parse workers (one per OCR slot, i.e. per core)."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            from domain.settings import get_settings

            _POOL = WorkerPool(get_settings().ocr_processes)
            atexit.register(_POOL.shutdown)
        return _POOL


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
