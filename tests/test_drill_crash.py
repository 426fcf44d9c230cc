"""Fault drill: an intake process dies between the object write and the database commit.

A real subprocess runs `ingest.intake` and SIGKILLs itself at a forced point — right after
the original is written (and verified) to the object store, or at the database COMMIT of
the row — on SQLite + files and on PostgreSQL + S3 (moto's server). Then:

- no row exists without its object (intake writes the object first);
- `fiduflow check` (the real command) lists the object as an orphan, exits 0 (an orphan is
  harmless), and verifies every stored checksum;
- the sender's retry records the document once, reusing the object; the orphan is gone;
- `fiduflow check` exits 1 and names the object when an original is corrupt or missing.
"""

import hashlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select

from domain.enums import Channel, MediaType
from domain.settings import Settings
from ingest.intake import MailFile, MailSubmission, Submission, intake, intake_mail
from storage.db import Database
from storage.integrity import check_store
from storage.objects import FilesystemObjectStore, ObjectStore, S3ObjectStore, original_key
from storage.tables import DocumentRow, MessageRow
from tests.factories import firm_with_passwords, load
from tests.intake_helpers import mail, pdf_bytes, wire

pytestmark = [pytest.mark.timeout(180)]

ROOT = Path(__file__).resolve().parent.parent
FIDUFLOW = str(Path(sys.executable).with_name("fiduflow"))

# Runs intake in its own process and kills itself at `point` (argv[1]).
CRASHING_INTAKE = """
import os, signal, sys
from sqlalchemy import event
from domain.enums import Channel, MediaType
from flows.runtime import get_runtime
from ingest.intake import MailFile, MailSubmission, Submission, intake, intake_mail

point, path, client = sys.argv[1], sys.argv[2], sys.argv[3]
runtime = get_runtime()
store = runtime.store
if point == "after-object-write":
    put = store.put_original

    def put_then_die(data):
        put(data)  # written and verified ...
        os.kill(os.getpid(), signal.SIGKILL)  # ... and the process is gone

    store.put_original = put_then_die
elif point == "at-commit":
    @event.listens_for(runtime.db.engine, "commit")
    def die(connection):  # before the database has the transaction
        os.kill(os.getpid(), signal.SIGKILL)
data = open(path, "rb").read()
if sys.argv[4] == "mail":
    intake_mail(
        runtime.db, store,
        MailSubmission(raw=data, client_ids=[client],
                       files=[MailFile("r.pdf", data[-400:], MediaType.PDF, "attachment")]),
        max_bytes=10**8)
else:
    intake(runtime.db, store, Submission(client_id=client, channel=Channel.APP, data=data,
           filename="r.pdf"), max_bytes=10**8)
print("not killed")
"""


class Backend:
    def __init__(self, db: Database, store: ObjectStore, env: dict[str, str]):
        self.db, self.store, self.env = db, store, env

    def rows(self) -> int:
        with self.db.session() as session:
            documents = session.scalar(select(func.count()).select_from(DocumentRow))
            messages = session.scalar(select(func.count()).select_from(MessageRow))
            return int(documents or 0) + int(messages or 0)

    def fiduflow_check(self) -> tuple[int, dict]:
        result = subprocess.run(
            [FIDUFLOW, "check", "--json"],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return result.returncode, json.loads(result.stdout)

    def crash(self, point: str, data_file: Path, kind: str = "file") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", CRASHING_INTAKE, point, str(data_file), "C01", kind],
            env=self.env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )


def _env(settings: Settings, db: Database, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIDUFLOW_")}
    env["FIDUFLOW_DATA_DIR"] = str(settings.data_dir)
    env["FIDUFLOW_DATABASE_URL"] = db.engine.url.render_as_string(hide_password=False)
    if db.dialect == "postgresql":
        with db.engine.connect() as connection:
            search_path = connection.exec_driver_sql("SHOW search_path").scalar()
        env["PGOPTIONS"] = f"-csearch_path={search_path}"  # this test's schema (libpq)
    env.update(extra)
    return env


@pytest.fixture(params=["sqlite+files", pytest.param("postgres+s3", marks=pytest.mark.postgres)])
def backend(request, settings: Settings, tmp_path: Path):
    if request.param == "sqlite+files":
        db = Database(settings.resolved_database_url)
        db.migrate()
        store: ObjectStore = FilesystemObjectStore(settings.objects_dir)
        env = _env(settings, db)
    else:
        from tests.conftest import _postgres_database

        databases = _postgres_database()
        db = next(databases)
        moto = request.getfixturevalue("moto_server")
        bucket = f"crash-{uuid.uuid4().hex[:10]}"
        store = S3ObjectStore(moto, bucket, "testing", "testing")
        env = _env(
            settings,
            db,
            FIDUFLOW_S3_ENDPOINT=moto,
            FIDUFLOW_S3_BUCKET=bucket,
            FIDUFLOW_S3_ACCESS_KEY="testing",
            FIDUFLOW_S3_SECRET_KEY="testing",
        )
    load(db, firm_with_passwords())
    yield Backend(db, store, env)
    if request.param == "sqlite+files":
        db.dispose()
    else:
        next(databases, None)  # drops the schema


@pytest.mark.parametrize("point", ["after-object-write", "at-commit"])
def test_crash_between_object_and_row_leaves_an_orphan_that_check_reports(
    backend: Backend, tmp_path: Path, point: str
):
    data = pdf_bytes(f"crash-{point}")
    data_file = tmp_path / "r.pdf"
    data_file.write_bytes(data)
    submission = Submission(client_id="C01", channel=Channel.APP, data=data, filename="r.pdf")
    digest = hashlib.sha256(data).hexdigest()

    result = backend.crash(point, data_file)
    assert result.returncode == -9, result.stdout + result.stderr  # SIGKILLed, as forced

    # No row without its object: there is no row at all, and the object is stored.
    assert backend.rows() == 0
    assert backend.store.has_original(digest)
    code, report = backend.fiduflow_check()
    assert code == 0, report  # orphans are worth knowing, not an error
    assert report["orphans"] == [digest]
    assert report["missing"] == [] and report["corrupt"] == []

    # The sender tries again: recorded once, the object reused; nothing orphaned now.
    recorded = intake(backend.db, backend.store, submission, max_bytes=10**8)
    assert recorded.created
    code, report = backend.fiduflow_check()
    assert code == 0 and report["orphans"] == []
    assert report["documents"] == report["verified"] == 1


def test_crashed_mail_delivery_orphans_mail_and_document_until_the_retry(
    backend: Backend, tmp_path: Path
):
    raw = wire(mail(attachments=[("r.pdf", pdf_bytes("crash-mail"), "application/pdf")]))
    raw_file = tmp_path / "mail.eml"
    raw_file.write_bytes(raw)
    result = backend.crash("at-commit", raw_file, kind="mail")
    assert result.returncode == -9, result.stdout + result.stderr
    assert backend.rows() == 0
    code, report = backend.fiduflow_check()
    assert code == 0 and len(report["orphans"]) == 2  # the raw mail and its document

    # The MTA retries the same mail: one message, one document, no orphan left.
    submission = MailSubmission(
        raw=raw,
        client_ids=["C01"],
        files=[MailFile("r.pdf", raw[-400:], MediaType.PDF, "attachment")],
    )
    [recorded] = intake_mail(backend.db, backend.store, submission, max_bytes=10**8)
    assert len(recorded.documents) == 1
    code, report = backend.fiduflow_check()
    assert code == 0, report
    assert report["orphans"] == [] and report["messages"] == 1 and report["documents"] == 1
    assert report["verified"] == 2


def test_raw_mails_are_not_orphans(backend: Backend):
    """Regression: `check_store` counted only documents as references, so every raw mail
    the SMTP intake keeps was reported as an orphan."""
    raw = wire(mail(attachments=[("r.pdf", pdf_bytes("kept-mail"), "application/pdf")]))
    intake_mail(
        backend.db,
        backend.store,
        MailSubmission(
            raw=raw,
            client_ids=["C01"],
            files=[MailFile("r.pdf", pdf_bytes("kept-mail"), MediaType.PDF, "attachment")],
        ),
        max_bytes=10**8,
    )
    with backend.db.session() as session:
        report = check_store(session, backend.store)
    assert report.orphans == [] and report.ok
    assert (report.documents, report.messages, report.objects, report.verified) == (1, 1, 2, 2)


def test_check_fails_on_a_corrupt_or_missing_original(settings: Settings, tmp_path: Path):
    db = Database(settings.resolved_database_url)
    db.migrate()
    store = FilesystemObjectStore(settings.objects_dir)
    load(db, firm_with_passwords())
    backend = Backend(db, store, _env(settings, db))
    kept, damaged, lost = (
        intake(
            db,
            store,
            Submission(
                client_id="C01", channel=Channel.APP, data=pdf_bytes(name), filename="r.pdf"
            ),
            max_bytes=10**8,
        )
        for name in ("kept", "damaged", "lost")
    )
    with db.session() as session:
        shas = {r.id: r.sha256 for r in session.scalars(select(DocumentRow))}
    damaged_path = settings.objects_dir / original_key(shas[damaged.document_id])
    damaged_path.write_bytes(damaged_path.read_bytes().replace(b"PDF", b"PDX", 1))
    (settings.objects_dir / original_key(shas[lost.document_id])).unlink()

    code, report = backend.fiduflow_check()
    assert code == 1
    assert report["corrupt"] == [shas[damaged.document_id]]
    assert report["missing"] == [shas[lost.document_id]]
    assert report["verified"] == 1 and not report["ok"]
    table = subprocess.run(
        [FIDUFLOW, "check"], env=backend.env, cwd=ROOT, capture_output=True, text=True
    )
    assert table.returncode == 1
    assert "corrupt" in table.stdout and shas[damaged.document_id][:20] in table.stdout
    assert shas[kept.document_id] not in report["corrupt"] + report["missing"]
    db.dispose()
