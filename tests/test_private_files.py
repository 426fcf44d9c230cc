"""What the embedded default keeps on disk — the SQLite database, the originals and exports,
the OCR cache — is readable by its owner only: files 0600, the folders it makes 0700,
whatever the process umask would allow."""

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from extractors.ocr import OcrCache
from storage.db import Database
from storage.objects import FilesystemObjectStore, original_key


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    """The common default (0644 files, 0755 folders), whatever the test runner has."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_database_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    database = Database(f"sqlite:///{data / 'fiduflow.db'}")
    database.migrate()  # its lock file, next to the database, must be private too
    try:
        with database.session() as session:
            session.execute(text("CREATE TABLE t (x INTEGER)"))
            session.execute(text("INSERT INTO t VALUES (1)"))
        assert mode(data) == 0o700
        files = [p for p in data.iterdir() if p.name.startswith("fiduflow.db")]
        assert {p.name for p in files} >= {"fiduflow.db", "fiduflow.db-wal", "fiduflow.db-shm"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        database.dispose()


def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "fiduflow.db"
    Database(f"sqlite:///{path}").dispose()
    path.chmod(0o644)  # as an older version left it
    Database(f"sqlite:///{path}").dispose()
    assert mode(path) == 0o600


def test_originals_and_exports_are_private(tmp_path: Path) -> None:
    root = tmp_path / "data" / "objects"
    store = FilesystemObjectStore(root)
    sha256 = store.put_original(b"%PDF-1.4 an invoice")
    store.put_file("exports/C01/2026-03-01_2026-03-31/bookings.csv", b"seq\n")
    original = root / original_key(sha256)
    export = root / "exports/C01/2026-03-01_2026-03-31/bookings.csv"
    assert (mode(original), mode(export)) == (0o600, 0o600)
    folders = [tmp_path / "data", root, *original.parents, *export.parents]
    made = [f for f in folders if f.is_relative_to(tmp_path / "data")]
    assert {str(f): mode(f) for f in made} == {str(f): 0o700 for f in made}


def test_ocr_cache_entries_are_private(tmp_path: Path) -> None:
    directory = tmp_path / "data" / "cache" / "ocr"
    cache = OcrCache(directory)
    key = "ab" + "0" * 62
    cache.put(key, {"words": [["Rechnung", 1, 2, 3, 4, 95.0]]})
    entry = directory / key[:2] / f"{key}.json"
    assert mode(entry) == 0o600
    for folder in (entry.parent, directory, directory.parent, tmp_path / "data"):
        assert mode(folder) == 0o700, folder
    assert OcrCache(directory).get(key) == {"words": [["Rechnung", 1, 2, 3, 4, 95.0]]}
