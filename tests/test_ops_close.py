"""`close-period`: per client a checklist artifact and tasks for what blocks the close,
each for the party the division-of-labour policy names for the period close; re-running
creates nothing new and completes what was cleared."""

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from domain.enums import Party, TaskKind
from domain.records import BookingDraft, BookingLine, TaskDraft
from flows import close_period as close_period_module
from flows.close_period import Period, close_period
from flows.remind_missing import today_in_zurich
from storage.bookings import create_booking
from storage.tables import DocumentRow, TaskRow
from storage.tasks import create_task
from tests.factories import invoice_pdf, take_in
from tests.test_ops_support import flow_run_artifacts, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]

JAN = datetime(2026, 1, 20, 9, 0, tzinfo=UTC)
FEB = datetime(2026, 2, 3, 9, 0, tzinfo=UTC)


def _doc(runtime, client_id: str, n: int, **values) -> int:
    document_id = take_in(runtime, client_id, invoice_pdf(client_id, number=n, seed=5)[0])
    with runtime.db.session() as s:
        row = s.get(DocumentRow, document_id)
        row.received_at = JAN
        for key, value in values.items():
            setattr(row, key, value)
    return document_id


def _draft(session, client_id: str, document_id: int, day: date) -> int:
    amount = Decimal("108.10")
    booking, _ = create_booking(
        session,
        client_id,
        document_id,
        BookingDraft(
            date=day,
            currency="CHF",
            text="test",
            lines=[
                BookingLine(account="6100", debit=amount),
                BookingLine(account="2000", credit=amount),
            ],
        ),
        origin_key=f"doc:{document_id}",
        post=False,
    )
    return booking.id


def _task(session, client_id, kind, assignee, document_id, created) -> int:
    row, _ = create_task(
        session,
        client_id,
        TaskDraft(kind=kind, assignee=assignee, reason="test"),
        dedupe_key=f"doc:{document_id}:{kind.value}",
        document_id=document_id,
    )
    row.created_at = created
    session.flush()
    return row.id


def _close_tasks(runtime) -> dict[str, tuple[int, str, str, dict]]:
    with runtime.db.session() as s:
        rows = s.scalars(select(TaskRow).where(TaskRow.kind == TaskKind.PERIOD_CLOSE.value))
        return {r.dedupe_key: (r.id, r.assignee, r.status, dict(r.details)) for r in rows}


def test_close_period_checklists_and_tasks(prefect_harness, runtime, load_firm):
    load_firm()
    # C01 (online): one document not processed, an invoice waiting for the client's
    # release (task + draft), a suspected duplicate, and a task from after the period.
    pending = _doc(runtime, "C01", 1)
    invoice = _doc(runtime, "C01", 2, state="routed", doc_type="supplier_invoice")
    duplicate = _doc(runtime, "C01", 3, state="routed", doc_type="supplier_invoice")
    later = _doc(runtime, "C01", 4, state="routed", doc_type="receipt")
    # C02 (offline): a document that failed.
    failed = _doc(runtime, "C02", 5, state="failed", error="boom")
    with runtime.db.session() as s:
        draft = _draft(s, "C01", invoice, date(2026, 1, 15))
        release = _task(s, "C01", TaskKind.RELEASE_INVOICE, Party.CLIENT, invoice, JAN)
        dup_task = _task(s, "C01", TaskKind.SUSPECTED_DUPLICATE, Party.FIDUCIARY, duplicate, JAN)
        _task(s, "C01", TaskKind.REVIEW_DOCUMENT, Party.FIDUCIARY, later, FEB)

    state = asyncio.run(close_period(period="2026-01", return_state=True))
    checklists = {c.client_id: c for c in state.result()}

    tasks = _close_tasks(runtime)
    assert set(tasks) == {
        "close:C01:2026-01:unprocessed:fiduciary",
        "close:C01:2026-01:open_tasks:client",
        "close:C01:2026-01:drafts:client",
        "close:C01:2026-01:duplicates:client",
        "close:C02:2026-01:unprocessed:fiduciary",
    }
    assert tasks["close:C01:2026-01:unprocessed:fiduciary"][3]["document_ids"] == [pending]
    assert tasks["close:C01:2026-01:open_tasks:client"][3]["task_ids"] == [release]
    assert tasks["close:C01:2026-01:drafts:client"][3]["booking_ids"] == [draft]
    assert tasks["close:C01:2026-01:duplicates:client"][3]["task_ids"] == [dup_task]
    assert tasks["close:C02:2026-01:unprocessed:fiduciary"][3]["document_ids"] == [failed]
    with runtime.db.session() as s:
        row = s.scalars(select(TaskRow).where(TaskRow.dedupe_key.like("close:C02:%"))).one()
        assert row.due_date == date(2026, 2, 20) and "Period close 2026-01" in row.reason

    artifacts = wait_for(
        lambda: (
            len(flow_run_artifacts(state.state_details.flow_run_id)) == 2
            and flow_run_artifacts(state.state_details.flow_run_id)
        )
    )
    by_key = {a.key: a.data for a in artifacts}
    c01 = by_key["close-c01-2026-01"]
    assert "- [ ] Documents still unprocessed: **1** — fiduciary" in c01
    assert "- [ ] Drafts not released: **1** — client" in c01
    assert "108.10" not in c01  # ids and counts, never amounts
    assert "- [x] Open tasks older than the period end: none" in by_key["close-c02-2026-01"]
    assert checklists["C01"].created and checklists["C02"].created

    # Again: nothing new. Then the pending document is processed: its item is done.
    again = asyncio.run(close_period(period="2026-01"))
    assert all(not c.created for c in again) and _close_tasks(runtime) == tasks
    with runtime.db.session() as s:
        s.get(DocumentRow, pending).state = "routed"
    asyncio.run(close_period(client="C01", period="2026-01"))
    after = _close_tasks(runtime)
    assert after["close:C01:2026-01:unprocessed:fiduciary"][2] == "done"
    assert after["close:C01:2026-01:drafts:client"][2] == "open"
    assert len(after) == len(tasks)


def test_close_period_on_demand_defaults_to_the_previous_month(prefect_harness, runtime, load_firm):
    load_firm()
    [checklist] = asyncio.run(close_period(client="C02"))
    assert checklist.client_id == "C02" and checklist.clear
    assert checklist.period == Period.previous_month(today_in_zurich()).name
    with pytest.raises(ValueError, match="unknown client"):
        asyncio.run(close_period(client="C99", period="2026-01"))


def test_one_clients_failure_does_not_undo_the_others(
    prefect_harness, runtime, load_firm, monkeypatch
):
    """Regression (issue 17): every client was closed in one transaction, so one client's
    failure rolled back every other client's tasks."""
    load_firm()
    _doc(runtime, "C02", 5, state="failed", error="boom")
    real = close_period_module.close_client

    def close_client(session, client, period):  # type: ignore[no-untyped-def]
        if client.id == "C01":
            raise RuntimeError("C01's data is broken")
        return real(session, client, period)

    monkeypatch.setattr(close_period_module, "close_client", close_client)
    state = asyncio.run(close_period(period="2026-01", return_state=True))

    assert state.is_failed()
    with pytest.raises(RuntimeError, match=r"failed for client\(s\) C01"):
        state.result()
    assert set(_close_tasks(runtime)) == {"close:C02:2026-01:unprocessed:fiduciary"}
