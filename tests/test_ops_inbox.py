"""`process-inbox` and per-document processing as operators run them.

The sweep claims exactly what is due (new, retry due, lease expired) and leaves what a live
worker holds; it shows progress and ends with a table artifact; transient failures are
retried (in the run, then across runs with backoff), bad input is not; a document that
keeps killing its worker stops being tried; leases are renewed while a worker lives.
"""

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from domain.enums import DocumentState
from flows import pipeline, steps
from flows.process_batch import process_inbox
from storage.objects import ObjectStoreUnavailable
from storage.tables import DocumentRow, TaskRow, utcnow
from tests.factories import invoice_pdf, take_in
from tests.test_ops_support import flow_run_artifacts, flow_run_logs, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


def _set(runtime, document_id: int, **values) -> None:
    with runtime.db.session() as s:
        row = s.get(DocumentRow, document_id)
        for key, value in values.items():
            setattr(row, key, value)


def _row(runtime, document_id: int) -> DocumentRow:
    with runtime.db.session() as s:
        return s.get(DocumentRow, document_id)


def _run_inbox(**params):
    state = asyncio.run(process_inbox(return_state=True, **params))
    assert state.is_completed(), state
    return state.state_details.flow_run_id, state.result()


def test_sweep_claims_what_is_due_and_leaves_live_leases(prefect_harness, runtime, load_firm):
    load_firm()
    now = utcnow()
    ids = [take_in(runtime, "C02", invoice_pdf("C02", number=n, seed=1)[0]) for n in range(5)]
    new, retry_due, orphaned, held, not_yet = ids
    _set(runtime, retry_due, attempts=1, next_attempt_at=now - timedelta(seconds=1))
    _set(
        runtime,
        orphaned,
        state="processing",
        attempts=1,
        lease_owner="dead-host:1:x",
        lease_until=now - timedelta(seconds=5),
    )
    _set(
        runtime,
        held,
        state="processing",
        attempts=1,
        lease_owner="live-host:2:y",
        lease_until=now + timedelta(minutes=10),
    )
    _set(runtime, not_yet, attempts=1, next_attempt_at=now + timedelta(minutes=10))

    flow_run_id, outcomes = _run_inbox()

    assert sorted(o.document_id for o in outcomes) == sorted([new, retry_due, orphaned])
    for document_id in (new, retry_due, orphaned):
        row = _row(runtime, document_id)
        assert DocumentState(row.state).is_final and row.lease_owner is None
    assert _row(runtime, orphaned).attempts == 2
    assert _row(runtime, held).state == "processing"
    assert _row(runtime, held).lease_owner == "live-host:2:y"
    assert _row(runtime, not_yet).state == "received"

    artifacts = wait_for(
        lambda: len(flow_run_artifacts(flow_run_id)) >= 2 and flow_run_artifacts(flow_run_id)
    )
    by_type = {a.type: a for a in artifacts}
    assert by_type["progress"].data == 100.0
    table = by_type["table"]
    assert table.key == "process-inbox-summary"
    assert "3 document(s)" in table.description

    # A batch has no task run per document: each document's outcome is a line of the
    # run's own log, which the UI shows (the documents run on threads of their own).
    def documents_logged() -> set[int]:
        lines = flow_run_logs(flow_run_id)
        ids = (new, retry_due, orphaned)
        return {i for i in ids for line in lines if line.startswith(f"document {i} (")}

    assert wait_for(lambda: documents_logged() == {new, retry_due, orphaned})


def test_transient_failures_retry_then_back_off_across_runs(
    prefect_harness, runtime, load_firm, monkeypatch
):
    load_firm()
    document_id = take_in(runtime, "C02", invoice_pdf("C02", number=7)[0])
    calls = []

    def store_down(sha256: str) -> bytes:
        calls.append(sha256)
        raise ObjectStoreUnavailable("object store unreachable")

    monkeypatch.setattr(runtime.store, "get_original", store_down)
    monkeypatch.setattr(
        steps, "load_original", steps.load_original.with_options(retry_delay_seconds=0)
    )

    _, [outcome] = _run_inbox()

    assert len(calls) == 3  # the try and two retries inside the run
    row = _row(runtime, document_id)
    assert outcome.state is DocumentState.RECEIVED and row.state == "received"
    assert row.next_attempt_at > utcnow() + timedelta(seconds=30)  # backoff, not at once
    assert "ObjectStoreUnavailable" in row.error and row.lease_owner is None

    # The last allowed attempt fails for good: `failed`, with a task for the fiduciary.
    _set(runtime, document_id, attempts=runtime.settings.max_attempts - 1, next_attempt_at=None)
    _, [outcome] = _run_inbox()
    assert outcome.state is DocumentState.FAILED
    with runtime.db.session() as s:
        task = s.scalars(select(TaskRow).where(TaskRow.document_id == document_id)).one()
        assert (task.kind, task.assignee) == ("processing_failed", "fiduciary")


def test_bad_input_is_not_retried(prefect_harness, runtime, load_firm, monkeypatch):
    load_firm()
    document_id = take_in(runtime, "C02", invoice_pdf("C02", number=8)[0])
    calls = []

    def broken(sha256: str) -> bytes:
        calls.append(sha256)
        raise ValueError("not a transient problem")

    monkeypatch.setattr(runtime.store, "get_original", broken)
    _, [outcome] = _run_inbox()
    assert len(calls) == 1
    assert outcome.state is DocumentState.RECEIVED  # released for a later attempt
    assert "ValueError" in _row(runtime, document_id).error


def test_a_document_that_keeps_killing_its_worker_is_given_up(prefect_harness, runtime, load_firm):
    load_firm()
    document_id = take_in(runtime, "C02", invoice_pdf("C02", number=9)[0])
    # Three workers died holding it: three claims, no verdict, the lease ran out again.
    _set(
        runtime,
        document_id,
        state="processing",
        attempts=runtime.settings.max_attempts,
        lease_owner="dead-host:3:z",
        lease_until=utcnow() - timedelta(seconds=1),
    )
    _, [outcome] = _run_inbox()
    assert outcome.state is DocumentState.FAILED
    assert "worker stopped" in _row(runtime, document_id).error
    with runtime.db.session() as s:
        kinds = s.scalars(select(TaskRow.kind).where(TaskRow.document_id == document_id)).all()
    assert kinds == ["processing_failed"]


def test_leases_are_renewed_while_the_worker_lives(runtime, load_firm, monkeypatch):
    load_firm()
    monkeypatch.setattr(runtime.settings, "lease_seconds", 1)
    document_id = take_in(runtime, "C02", invoice_pdf("C02", number=10)[0])
    assert pipeline.claim(document_id, "me:1:a")
    with pipeline.keeping_leases("me:1:a"), pipeline.keeping_leases("me:1:a"):
        time.sleep(1.6)
        assert _row(runtime, document_id).lease_until > utcnow()  # renewed, not expired
    assert not pipeline._keepers
    time.sleep(1.1)
    assert _row(runtime, document_id).lease_until < utcnow()  # the keeper stopped
    with runtime.db.session() as s:
        assert s.scalar(select(func.count()).select_from(DocumentRow)) == 1


def test_status_shows_documents_in_flight(runtime, load_firm):
    from flows.status import collect_status

    load_firm()
    now = utcnow()
    live, dead, waiting = (
        take_in(runtime, "C02", invoice_pdf("C02", number=n, seed=4)[0]) for n in range(3)
    )
    _set(runtime, live, state="processing", lease_owner="a", lease_until=now + timedelta(minutes=5))
    _set(runtime, dead, state="processing", lease_owner="b", lease_until=now - timedelta(minutes=1))
    _set(runtime, waiting, attempts=1, next_attempt_at=now + timedelta(minutes=2))

    status = collect_status(runtime, api_url=None)

    assert status["documents"] == {"processing": 2, "received": 1}
    assert status["leases"] == {"processing": 1, "lease_expired": 1, "waiting_for_retry": 1}
    assert status["last_runs"] == []
