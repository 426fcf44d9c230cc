"""The one owner of what reading runs on: the parse workers, the OCR engine, the OCR cache.

A `Readers` is built from a `ReaderConfig` and handed to `extractors.read` (and
`extract`, `warm_up`, `extractors.probe`); everything a reading uses — its worker
processes, its threads, its cache, its time and page limits — comes from it, and
`close()` stops its workers. The flows' `flows.runtime.Runtime` holds the process's
readers and `flows/steps.py` passes them down; a test or benchmark builds its own.

The workers are started when first needed, and again in a forked child (threads and
pipes do not survive a fork).

A caller that passes none gets `default_readers()`: one per process, built when first
asked for from `domain.settings.get_settings()` — the only place in `extractors/` that
reads the settings.
"""

import atexit
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from extractors import ocr
from extractors.config import ReaderConfig
from extractors.limits import Budget, WorkerPool

# Threads waiting on parse workers, so that the caller renders and OCRs meanwhile.
WAITER_THREADS = 8


@dataclass
class _Workers:
    """What one process of the readers runs on."""

    parse: WorkerPool
    ocr: ocr.OcrEngine
    waiters: ThreadPoolExecutor
    pid: int

    def shutdown(self) -> None:
        self.waiters.shutdown(wait=False)
        self.parse.shutdown()
        self.ocr.shutdown()


class Readers:
    """The parse worker pool, the OCR engine and the OCR cache of one `ReaderConfig`."""

    def __init__(self, config: ReaderConfig) -> None:
        self.config = config
        # Kept over a fork: a cache is only files and a dict.
        self.ocr_cache = ocr.OcrCache(
            config.ocr_cache_dir, config.ocr_cache_items, config.ocr_cache_max_age_s
        )
        self._workers: _Workers | None = None
        self._lock = threading.Lock()

    def _current(self) -> _Workers:
        with self._lock:
            if self._workers is None or self._workers.pid != os.getpid():
                size = self.config.ocr_processes
                self._workers = _Workers(
                    parse=WorkerPool(size),
                    ocr=ocr.OcrEngine(size, self.ocr_cache, self.config.ocr_page_timeout_s),
                    waiters=ThreadPoolExecutor(
                        max_workers=WAITER_THREADS, thread_name_prefix="fiduflow-parse"
                    ),
                    pid=os.getpid(),
                )
                atexit.register(self.close)
            return self._workers

    @property
    def parse_pool(self) -> WorkerPool:
        """The parse workers (one per OCR slot): pdfium and pdfminer run in them."""
        return self._current().parse

    @property
    def ocr_engine(self) -> ocr.OcrEngine:
        """The OCR threads and workers, with this configuration's page time limit."""
        return self._current().ocr

    @property
    def waiters(self) -> ThreadPoolExecutor:
        return self._current().waiters

    def submit_ocr(self, page: ocr.OcrInput) -> "Future[ocr.OcrResult]":
        """Queue one page for OCR; the future raises ReadFailure (timeout, OCR missing)."""
        return ocr.submit(self.ocr_engine, page)

    def ocr_budget(self) -> Budget:
        """A fresh budget for one document's OCR time."""
        return Budget(self.config.ocr_document_timeout_s)

    def close(self) -> None:
        """Stop the workers; the next reading starts new ones."""
        with self._lock:
            workers, self._workers = self._workers, None
        atexit.unregister(self.close)
        if workers is not None and workers.pid == os.getpid():
            workers.shutdown()

    def __enter__(self) -> "Readers":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


_default: Readers | None = None
_default_lock = threading.Lock()


def _settings_config() -> ReaderConfig:
    from domain.settings import get_settings

    return ReaderConfig.from_settings(get_settings())


def default_readers() -> Readers:
    """The process's readers for callers that pass none, as the settings say."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Readers(_settings_config())
        return _default
