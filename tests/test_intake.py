"""The intake itself, without a socket: one file (`intake`), one mail (`intake_mail`), and
the background queue that asks for processing after the channel has acknowledged."""

import threading
import time

import pytest
from sqlalchemy import func, select

from domain.enums import Channel, DocumentState, MediaType, TaskKind
from ingest.intake import (
    IntakeRefused,
    MailFile,
    MailSubmission,
    ProcessingQueue,
    StorageUnavailable,
    Submission,
    intake,
    intake_mail,
    to_process,
)
from ingest.mime import parse_mail
from ingest.smtp import mail_submission
from storage.db import Database
from storage.documents import IdempotencyConflict
from storage.objects import FilesystemObjectStore, S3ObjectStore, sha256_hex
from storage.tables import DocumentRow, MessageRow, TaskRow
from tests.conftest import free_port
from tests.intake_helpers import mail, pdf_bytes, wire, zip_bytes


def _count(db: Database, table: type) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(table)) or 0


def _mail(files: list[bytes], clients: list[str], raw: bytes | None = None) -> MailSubmission:
    return MailSubmission(
        raw=raw or pdf_bytes("raw-mail"),
        client_ids=clients,
        files=[
            MailFile(filename=f"f{i}.pdf", data=data, media_type=MediaType.PDF, origin="attachment")
            for i, data in enumerate(files)
        ],
        message_id="<m@x>",
        sender="a@b.ch",
        subject="Belege",
    )


def test_one_file_intake_refuses_clearly(db: Database, fs_store: FilesystemObjectStore, load_firm):
    load_firm()
    cases = [
        (b"", "empty"),
        (b"PK\x03\x04" + bytes(40), "unsupported_type"),
        (bytes(200), "too_large"),
    ]
    for data, kind in cases:
        with pytest.raises(IntakeRefused) as refused:
            intake(
                db,
                fs_store,
                Submission(client_id="C01", channel=Channel.APP, data=data, filename="x.pdf"),
                max_bytes=100,
            )
        assert refused.value.kind == kind
    assert _count(db, DocumentRow) == 0
    assert list(fs_store.iter_originals()) == []


def test_idempotency_conflict_passes_through(
    db: Database, fs_store: FilesystemObjectStore, load_firm
):
    load_firm()

    def submit(data: bytes):  # type: ignore[no-untyped-def]
        return intake(
            db,
            fs_store,
            Submission(
                client_id="C01",
                channel=Channel.APP,
                data=data,
                filename="x.pdf",
                idempotency_key="k1",
            ),
            max_bytes=10**6,
        )

    first = submit(pdf_bytes("one"))
    assert submit(pdf_bytes("one")).document_id == first.document_id
    with pytest.raises(IdempotencyConflict):
        submit(pdf_bytes("two"))


def test_a_mail_for_two_clients_is_recorded_for_both_in_one_go(
    db: Database, fs_store: FilesystemObjectStore, load_firm
):
    load_firm()
    asked: list[int] = []
    files = [pdf_bytes("a"), pdf_bytes("b")]
    results = intake_mail(
        db,
        fs_store,
        _mail(files, ["C01", "C02", "C01"]),
        max_bytes=10**6,
        request_processing=asked.append,
    )
    assert [r.client_id for r in results] == ["C01", "C02"]  # each client once
    assert all(len(r.documents) == 2 and not r.duplicate_delivery for r in results)
    assert sorted(asked) == sorted(to_process(results))
    assert len(asked) == 4
    assert set(fs_store.iter_originals()) == {sha256_hex(f) for f in files} | {
        sha256_hex(pdf_bytes("raw-mail"))
    }
    # Delivered again: recognised per client, nothing new, nothing asked.
    again = intake_mail(
        db, fs_store, _mail(files, ["C01", "C02"]), max_bytes=10**6, request_processing=asked.append
    )
    assert all(r.duplicate_delivery and r.documents == [] for r in again)
    assert len(asked) == 4
    assert _count(db, DocumentRow) == 4
    assert _count(db, MessageRow) == 2


def test_same_attachment_in_two_mails_is_a_duplicate_document(
    db: Database, fs_store: FilesystemObjectStore, load_firm
):
    load_firm()
    same = pdf_bytes("same")
    intake_mail(db, fs_store, _mail([same], ["C01"], raw=b"mail one"), max_bytes=10**6)
    [second] = intake_mail(db, fs_store, _mail([same], ["C01"], raw=b"mail two"), max_bytes=10**6)
    [document] = second.documents
    assert document.state is DocumentState.DUPLICATE
    assert document.duplicate_of is not None
    assert to_process([second]) == []


def test_a_mail_without_documents_is_a_task_for_the_fiduciary(
    db: Database, fs_store: FilesystemObjectStore, load_firm
):
    load_firm()
    raw = wire(
        mail(
            subject="Lohnfragen",
            attachments=[("notes.docx", b"PK\x03\x04xx", "application/octet-stream")],
        )
    )
    submission = mail_submission(parse_mail(raw), raw, ["C01"], "x@y.ch")
    [result] = intake_mail(db, fs_store, submission, max_bytes=10**6)
    assert result.documents == []
    with db.session() as session:
        task = session.get(TaskRow, result.task_id)
        assert task.kind == TaskKind.MAIL_WITHOUT_DOCUMENT.value
        assert task.assignee == "fiduciary"
        assert "Lohnfragen" in task.reason
        assert "notes.docx" in task.reason  # what was not taken, so nobody has to guess
        message = session.get(MessageRow, result.message_row_id)
        assert message.meta["body_excerpt"].startswith("Guten Tag")


def test_zip_members_carry_their_origin(db: Database, fs_store: FilesystemObjectStore, load_firm):
    load_firm()
    raw = wire(
        mail(attachments=[("q.zip", zip_bytes({"a.pdf": pdf_bytes("z1")}), "application/zip")])
    )
    [result] = intake_mail(
        db, fs_store, mail_submission(parse_mail(raw), raw, ["C02"], None), max_bytes=10**6
    )
    with db.session() as session:
        row = session.get(DocumentRow, result.documents[0].document_id)
        assert row.meta == {"origin": "zip:q.zip"}
        assert row.channel == "email"


def test_store_down_means_no_row_at_all(db: Database, load_firm):
    load_firm()
    dead = S3ObjectStore(f"127.0.0.1:{free_port()}", "nowhere", "testing", "testing")
    with pytest.raises(StorageUnavailable):
        intake_mail(db, dead, _mail([pdf_bytes()], ["C01"]), max_bytes=10**6)
    with pytest.raises(StorageUnavailable):
        intake(
            db,
            dead,
            Submission(client_id="C01", channel=Channel.APP, data=pdf_bytes(), filename="x.pdf"),
            max_bytes=10**6,
        )
    assert _count(db, MessageRow) == 0
    assert _count(db, DocumentRow) == 0


def test_database_down_is_storage_unavailable(fs_store: FilesystemObjectStore):
    dead = Database(f"postgresql://postgres@127.0.0.1:{free_port()}/none")
    try:
        with pytest.raises(StorageUnavailable):
            intake_mail(dead, fs_store, _mail([pdf_bytes()], ["C01"]), max_bytes=10**6)
    finally:
        dead.dispose()


def test_processing_queue_asks_in_the_background_and_survives_failures():
    seen: list[int] = []
    gate = threading.Event()

    def request(document_id: int) -> None:
        gate.wait(5)
        if document_id == 2:
            raise RuntimeError("Prefect API unreachable")
        seen.append(document_id)

    queue = ProcessingQueue(request, workers=1)
    started = time.monotonic()
    for document_id in (1, 2, 3):
        queue(document_id)
    assert time.monotonic() - started < 0.5  # the caller never waits for the request
    gate.set()
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    queue.stop()
    assert seen == [1, 3]  # 2 failed: it stays `received` and the sweep takes it
    queue(4)  # after stop: ignored, not an error
    ProcessingQueue(None)(5)  # dispatch "none": nothing to ask
