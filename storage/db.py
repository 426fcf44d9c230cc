"""Connecting to the database and bringing its schema up to date.

SQLite (the embedded default) runs in WAL mode with a busy timeout, and every transaction
starts with BEGIN IMMEDIATE: SQLite allows one writer, and taking the write lock up front
turns "database is locked" failures halfway through a transaction into a short wait.
The SQLite file holds every client's books: it is readable by its owner only (0600, a
folder fiduflow makes 0700); SQLite gives its -wal and -shm files the database's mode.
"""

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from storage.private import PRIVATE_FILE, private_file

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: the PostgreSQL advisory lock that serialises concurrent migrators.
_MIGRATION_LOCK_ID = 4_242_017


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached right now; callers answer "try again later"."""


def normalize_url(url: str) -> str:
    """Plain `postgresql://` means the psycopg 3 driver we install (not psycopg2)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str, *, schema: str | None = None, echo: bool = False) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.query.get("uri"):
            # Made 0600 before SQLite opens it: SQLite would create it by the umask.
            private_file(Path(parsed.database))
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,
            connect_args={"timeout": 30, "check_same_thread": False},
        )
        _configure_sqlite(engine)
        return engine
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if schema:
        connect_args["options"] = f"-csearch_path={schema}"
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        # Error messages end up in logs, task reasons and Prefect's UI: never with the
        # client data (IBANs, amounts, text) that was bound to the failing statement.
        hide_parameters=True,
        pool_size=10,
        max_overflow=20,
        connect_args=connect_args,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's implicit BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def migrate(engine: Engine) -> None:
    """Apply every pending migration; safe when several processes start at once."""
    with _migration_lock(engine), engine.connect() as connection:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")
        connection.commit()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    if is_sqlite(engine):
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        lock_path = Path(database + ".migrate.lock")
        fd = os.open(lock_path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
        with open(fd, "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    with engine.connect() as lock_connection:
        lock_connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
        try:
            yield
        finally:
            lock_connection.execute(
                text("SELECT pg_advisory_unlock(:id)"), {"id": _MIGRATION_LOCK_ID}
            )
            lock_connection.commit()


class Database:
    """The engine and a session factory; `session()` is one transaction.

    Constructing one never touches the schema (a tool that only reads, or a check that the
    database is down, must not write to it): whoever needs the tables calls `migrate()`.
    """

    def __init__(self, url: str, *, schema: str | None = None):
        self.engine = make_engine(url, schema=schema)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema up to date (see the module function `migrate`)."""
        migrate(self.engine)

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:
            raise DatabaseUnavailable(str(exc)) from exc

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()
