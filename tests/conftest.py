"""Shared fixtures: settings in a temporary folder, the database on SQLite and PostgreSQL,
the object store on files and on a real S3-protocol server, one Prefect test harness per
test run, and the test firm loaded (`load_firm`; the firm itself is in tests/factories.py).
"""

import os
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# Prefect reads its home at import: give the whole test run a temporary one, before any
# test module imports Prefect.
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="fiduflow-prefect-"))
# Nothing a test does may write into the checkout's ./data (the OCR cache, for one, lives
# under the data folder by default); each test run gets its own.
os.environ.setdefault("FIDUFLOW_DATA_DIR", tempfile.mkdtemp(prefix="fiduflow-data-"))
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")

# The test harness's server runs as fiduflow runs Prefect's server (batched task run records).
from flows.prefect_env import server_env  # after PREFECT_HOME is set, before Prefect

os.environ.update(server_env())

import pytest
from sqlalchemy import text

from domain.masterdata import MasterData
from domain.settings import Settings
from storage.db import Database, make_engine, normalize_url
from storage.masterdata import load_master_data
from storage.objects import FilesystemObjectStore

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_url() -> str | None:
    """The configured PostgreSQL, or the usual local one if it answers."""
    if url := os.environ.get("FIDUFLOW_TEST_POSTGRES_URL"):
        return url
    try:
        import psycopg

        psycopg.connect(DEFAULT_POSTGRES_URL, connect_timeout=2).close()
    except Exception:
        return None
    return DEFAULT_POSTGRES_URL


POSTGRES_URL = _postgres_url()
REQUIRE_ALL = os.environ.get("FIDUFLOW_TEST_REQUIRE_ALL") == "1"


# --- CI: nothing may be skipped ------------------------------------------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REQUIRE_ALL:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(
            f"FIDUFLOW_TEST_REQUIRE_ALL=1 but {len(skipped)} test(s) were skipped: "
            "a service or install step is missing",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- settings, database, object store ------------------------------------------------


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", dispatch="none", ocr_processes=2)


def _postgres_database() -> Iterator[Database]:
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL not configured: set FIDUFLOW_TEST_POSTGRES_URL "
            "(CI uses postgresql://postgres@127.0.0.1:5432/test)"
        )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(normalize_url(POSTGRES_URL))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(POSTGRES_URL, schema=schema)
    database.migrate()
    try:
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, settings: Settings) -> Iterator[Database]:
    """The same test on SQLite (embedded default) and PostgreSQL (production)."""
    if request.param == "sqlite":
        database = Database(settings.resolved_database_url)
        database.migrate()
        yield database
        database.dispose()
    else:
        yield from _postgres_database()


@pytest.fixture
def sqlite_db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.resolved_database_url)
    database.migrate()
    yield database
    database.dispose()


@pytest.fixture
def fs_store(settings: Settings) -> FilesystemObjectStore:
    return FilesystemObjectStore(settings.objects_dir)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A real S3-protocol server (moto's server mode) on loopback; yields host:port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_store(moto_server: str):  # type: ignore[no-untyped-def]
    from storage.objects import S3ObjectStore

    return S3ObjectStore(moto_server, f"b-{uuid.uuid4().hex[:12]}", "testing", "testing")


# --- runtime for flows ---------------------------------------------------------------


@pytest.fixture
def runtime(settings: Settings, db: Database, fs_store: FilesystemObjectStore):  # type: ignore[no-untyped-def]
    from flows.runtime import Runtime, set_runtime

    rt = Runtime(settings=settings, db=db, store=fs_store)
    set_runtime(rt)
    yield rt
    set_runtime(None)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole run (starting one costs 10–14 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=60):
        yield


# --- the test firm (tests/factories.py) --------------------------------------------


@pytest.fixture
def load_firm(db: Database) -> Callable[..., MasterData]:
    # Imported here: factories pull in tests/docgen, which tests without a firm never need.
    from tests.factories import master_data

    def load(**overrides: Any) -> MasterData:
        data = MasterData.model_validate(master_data(**overrides))
        with db.session() as session:
            load_master_data(session, data)
        return data

    return load
