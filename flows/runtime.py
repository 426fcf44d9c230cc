"""The process-wide handles a flow needs: settings, database, object store.

Built once per process from the environment (`FIDUFLOW_*`); tests install their own.
"""

import threading
from dataclasses import dataclass

from domain.settings import Settings, get_settings
from storage.db import Database
from storage.objects import ObjectStore, open_object_store


@dataclass
class Runtime:
    settings: Settings
    db: Database
    store: ObjectStore


_lock = threading.Lock()
_runtime: Runtime | None = None


def open_runtime(settings: Settings | None = None) -> Runtime:
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Runtime(
        settings=settings,
        db=Database(settings.resolved_database_url),
        store=open_object_store(settings),
    )


def get_runtime() -> Runtime:
    global _runtime
    with _lock:
        if _runtime is None:
            _runtime = open_runtime()
        return _runtime


def set_runtime(runtime: Runtime | None) -> None:
    global _runtime
    with _lock:
        _runtime = runtime
