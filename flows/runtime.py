"""The process-wide handles a flow needs: settings, database, object store, readers.

Built once per process from the environment (`FIDUFLOW_*`); tests install their own.
The readers (`extractors.Readers`: parse and OCR workers, the OCR cache, the reading
limits of the settings) are owned here and passed down by `flows/steps.py`; a runtime
built without readers of its own uses the process's `extractors.default_readers()`, the
same the settings make.

Also what a command says about its data: the folder and database it uses (`data_summary`,
printed by every command) and whether they exist yet (`missing_data`: only `serve` and
`setup` may make a new data folder; the others refuse, so that a command run from the
wrong folder does not quietly make an empty database and report on it).
"""

import threading
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from domain.settings import Settings, get_settings
from extractors import ReaderConfig, Readers, default_readers
from storage.db import Database
from storage.objects import ObjectStore, open_object_store


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: ObjectStore
    readers: Readers = field(default_factory=default_readers)


_lock = threading.Lock()
_runtime: Runtime | None = None


def open_runtime(settings: Settings | None = None) -> Runtime:
    # The process's own settings share the default readers with callers that pass none
    # (one set of workers per process); other settings get readers of their own.
    readers = (
        default_readers()
        if settings is None or settings is get_settings()
        else Readers(ReaderConfig.from_settings(settings))
    )
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.resolved_database_url)
    # Every process migrates at start (serialised by a lock): no separate migration step.
    db.migrate()
    return Runtime(settings=settings, db=db, store=open_object_store(settings), readers=readers)


def get_runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = open_runtime()
        return _runtime


def installed_runtime() -> Runtime | None:
    """The runtime of this process if one is open (or a test installed one), else None."""
    with _lock:
        return _runtime


def data_summary(settings: Settings) -> str:
    """One line naming the data a command uses: the data folder, and the database and
    object store when they are not the folder's own."""
    line = f"data: {settings.data_dir.resolve()} (FIDUFLOW_DATA_DIR)"
    if settings.database_url:
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        line += f"; database {url}"
    if settings.s3_endpoint:
        line += f"; objects s3://{settings.s3_endpoint}/{settings.s3_bucket}"
    return line


def missing_data(settings: Settings) -> str | None:
    """What a command would have to create that does not exist yet (None: nothing): the
    SQLite database, or the data folder that holds the originals."""
    url = make_url(settings.resolved_database_url)
    folder = settings.data_dir.resolve()
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        if not Path(url.database).exists():
            return f"there is no fiduflow database {url.database} yet"
    elif not settings.s3_endpoint and not folder.is_dir():
        return f"there is no data folder {folder} (it holds the originals) yet"
    return None


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    with _lock:
        _runtime = runtime
