"""A reading that failed because our own process died is never stored, and staff can
have any document read again (`fiduflow reread`). SQLite and PostgreSQL.

Each OCR run here costs about a second (a small scanned page, tests/extract_helpers.py).
"""

import os
import signal
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from domain.enums import Channel, DocumentState, TaskKind
from flows import steps
from flows.cli import app
from flows.pipeline import process_one
from ingest.intake import Submission, intake
from storage import documents as documents_repo
from storage.tables import (
    BookingRow,
    DocumentRow,
    ExtractionRow,
    ReadingCache,
    TaskRow,
    utcnow,
)
from tests.extract_helpers import image_pdf, small_page_image
from tests.factories import OFFLINE, ONLINE
from tests.routing_fakes import invoice, record, route_recorded, unreadable

SCAN_LINES = ["Huber Sanitaer GmbH", "Rechnung Nr. 7319", "Total CHF 250.00"]


def kill_the_worker(*_args: object) -> None:
    """Run in an OCR worker instead of libtesseract: the worker is killed mid-page, as
    Ctrl-C, a shutdown or the OOM killer would kill it."""
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(autouse=True)
def memory_ocr_cache(runtime):
    """The runtime reads with readers of the test's own: a fresh OCR cache in memory, so
    the page is OCR'd (and its worker killed) whatever an earlier test read."""
    from tests.extract_helpers import own_readers

    with own_readers() as readers:
        runtime.readers = readers
        yield


def take_in(runtime, client_id: str, data: bytes) -> int:
    recorded = intake(
        runtime.db,
        runtime.store,
        Submission(client_id=client_id, channel=Channel.APP, data=data, filename="scan.pdf"),
        max_bytes=runtime.settings.max_message_bytes,
    )
    return recorded.document_id


def cached_readings(db, sha256: str) -> int:
    with db.session() as s:
        return s.scalar(
            select(func.count()).select_from(ReadingCache).where(ReadingCache.sha256 == sha256)
        )


def task_kinds(db, document_id: int) -> list[str]:
    with db.session() as s:
        return list(s.scalars(select(TaskRow.kind).where(TaskRow.document_id == document_id)))


@pytest.mark.ocr
def test_worker_killed_during_ocr_is_retried_and_never_stored_as_unreadable(
    runtime, load_firm, monkeypatch
):
    from extractors import tesseract

    load_firm()
    db = runtime.db
    data = image_pdf(small_page_image(SCAN_LINES))
    first = take_in(runtime, "C02", data)
    with db.session() as s:
        sha256 = s.get(DocumentRow, first).sha256
    # The worker imports this module to find the function: it dies on every page.
    monkeypatch.setattr(tesseract, "read_words", kill_the_worker)
    monkeypatch.setattr(steps.read_document, "retry_delay_seconds", [0, 0])

    outcome = process_one(first, step_runs=False)

    # Not the file's fault: no reading stored, no "unreadable" verdict; back for a retry.
    assert outcome.state is DocumentState.RECEIVED, outcome
    assert "ReaderInterrupted" in (outcome.error or ""), outcome.error
    assert cached_readings(db, sha256) == 0
    assert task_kinds(db, first) == []
    monkeypatch.undo()

    # The same bytes from another client are read at once, not "unreadable" from a cache.
    second = take_in(runtime, "C01", data)
    other = process_one(second, step_runs=False)
    assert other.state is DocumentState.ROUTED, other
    assert TaskKind.UNREADABLE.value not in task_kinds(db, second)
    # The first document's retry reads it fine too.
    with db.session() as s:
        s.execute(update(DocumentRow).where(DocumentRow.id == first).values(next_attempt_at=None))
    again = process_one(first, step_runs=False)
    assert again.state is DocumentState.ROUTED, again
    assert TaskKind.UNREADABLE.value not in task_kinds(db, first)
    with db.session() as s:
        assert "7319" in s.get(ExtractionRow, first).text
    assert cached_readings(db, sha256) == 1  # a good reading is stored


def test_a_failed_reading_stored_earlier_is_read_again(runtime, load_firm, monkeypatch):
    """Failed readings cached before this rule (or by an older version) do not outlive a
    retry: the read step takes them for a miss, and the good reading replaces them."""
    load_firm()
    db = runtime.db
    sha = "f" * 64
    with db.session() as s:
        documents_repo.cache_reading(
            s,
            sha,
            steps.READER_VERSION,
            {"error": {"kind": "corrupt", "message": "OCR of a page crashed on this file"}},
        )
    read = []

    def fake_read(data: bytes, filename: str | None = None, readers=None):
        from extractors.reading import Reading

        read.append(filename)
        return Reading(filename=filename)

    monkeypatch.setattr(steps.extractors, "read", fake_read)
    reading = steps.read_document.fn(sha, b"%PDF-", "scan.pdf")
    assert read == ["scan.pdf"] and reading.error is None
    with db.session() as s:
        assert steps.cached_reading(s, sha) is not None


def test_reread_forgets_the_reading_and_puts_the_document_back(runtime, load_firm):
    load_firm()
    db = runtime.db
    doc = record(db, "C02", "aa11")
    first = route_recorded(db, doc, unreadable())
    assert first.task_kinds == [TaskKind.UNREADABLE.value]
    with db.session() as s:
        row = s.get(DocumentRow, doc)
        row.error = "ConnectError: an earlier try"
        row.attempts = 3
        documents_repo.cache_reading(s, row.sha256, steps.READER_VERSION, {"pages": []})
        sha256 = row.sha256

    result = CliRunner().invoke(app, ["reread", str(doc), "--by", "anna"])

    assert result.exit_code == 0, result.output
    assert f"document {doc} (C02," in result.stdout and "was routed" in result.stdout
    assert "forgot 1 stored reading" in result.stdout and "back to received" in result.stdout
    assert cached_readings(db, sha256) == 0
    with db.session() as s:
        row = s.get(DocumentRow, doc)
        assert (row.state, row.attempts, row.error, row.routing) == ("received", 0, None, None)
        [task] = s.scalars(select(TaskRow).where(TaskRow.document_id == doc)).all()
        assert (task.status, task.completed_by) == ("done", "anna")
    # The new reading makes its own booking and tasks (the old keys are retired).
    second = route_recorded(db, doc, invoice(OFFLINE))
    assert second.state is DocumentState.ROUTED and second.booking_status == "posted"

    refused = CliRunner().invoke(app, ["reread", str(doc)])

    assert refused.exit_code == 1
    assert "posted booking" in refused.output and "reverse" in refused.output
    with db.session() as s:
        assert s.get(DocumentRow, doc).state == "routed"
        assert s.scalar(select(func.count()).select_from(BookingRow)) == 1


def test_reread_removes_a_draft_and_refuses_a_live_lease(runtime, load_firm):
    load_firm()
    db = runtime.db
    doc = record(db, "C01", "bb22")  # online client: a draft waiting for release
    routed = route_recorded(db, doc, invoice(ONLINE))
    assert routed.booking_status == "draft", routed
    draft = routed.booking_ids[0]

    result = CliRunner().invoke(app, ["reread", str(doc)])

    assert result.exit_code == 0, result.output
    assert f"#{draft}" in result.stdout
    with db.session() as s:
        assert s.get(BookingRow, draft) is None
        assert all(t.status == "done" for t in s.scalars(select(TaskRow)))
        s.execute(
            update(DocumentRow)
            .where(DocumentRow.id == doc)
            .values(state="processing", lease_owner="w1", lease_until=utcnow() + timedelta(1))
        )
    busy = CliRunner().invoke(app, ["reread", str(doc)])
    assert busy.exit_code == 1 and "being processed right now" in busy.output
    missing = CliRunner().invoke(app, ["reread", "999999"])
    assert missing.exit_code == 1 and "no document 999999" in missing.output
