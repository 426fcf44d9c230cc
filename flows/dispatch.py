"""What intake does after it recorded a document (DESIGN.md: intake never imports flows; the
CLI hands it one of these callables). `FIDUFLOW_DISPATCH`:

- `auto` (default): nothing but a nudge. The feeders of `fiduflow serve` and of every
  `fiduflow worker` take due documents from the database (flows/feeder.py); in serve,
  intake wakes the feeder of its own process, so a document starts at once rather than at
  the feeder's next look (`FIDUFLOW_BATCH_POLL_S`). `fiduflow smtp` / `api` ask Prefect
  for nothing: they keep taking documents in while Prefect is away.
- `inline`: the `process-document` flow in this process, on a small thread pool — an
  intake process with no worker behind it (in serve, the same as `auto`).
- `none`: nothing, and `fiduflow serve` runs no feeder: documents wait for the scheduled
  `process-inbox` sweep (drills of the sweep).
"""

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from domain.enums import DispatchMode
from domain.settings import Settings

if TYPE_CHECKING:  # the feeder is Prefect-heavy; intake processes never need it
    from flows.feeder import DocumentFeeder

log = logging.getLogger("fiduflow.dispatch")


def inline_dispatcher(workers: int = 2) -> Callable[[int], None]:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="process-document")

    def run(document_id: int) -> None:
        from flows.process_document import process_document

        def job() -> None:
            try:  # the run's state says what became of the document, failed or not
                asyncio.run(process_document(document_id, return_state=True))
            except Exception:
                log.exception("in-process run for document %s failed", document_id)

        pool.submit(job)

    return run


def dispatch_mode(settings: Settings) -> DispatchMode:
    """The setting, or an error that names the choices."""
    try:
        return DispatchMode(settings.dispatch)
    except ValueError:
        choices = ", ".join(m.value for m in DispatchMode)
        raise ValueError(f"FIDUFLOW_DISPATCH={settings.dispatch!r}; one of {choices}") from None


def make_dispatcher(
    settings: Settings, feeder: "DocumentFeeder | None" = None
) -> Callable[[int], None] | None:
    """The callable intake hands each new document to, or None (the feeders find it).
    `feeder`: the one of this process (`fiduflow serve`)."""
    mode = dispatch_mode(settings)
    if feeder is not None:  # serve: its feeder processes (an inline run would race it)
        return feeder.wake
    if mode is DispatchMode.INLINE:
        return inline_dispatcher()
    return None
