"""The first real flow: a generated Swiss supplier invoice through `process-document`.

Offline client → exactly one posted booking; online client → one task for the client with
the booking as a draft. Processing again creates nothing new.
"""

import asyncio
import json
import random
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.enums import BookingStatus, DocumentState
from flows.process_document import process_document
from storage.tables import BookingLineRow, BookingRow, ClientRow, DocumentRow, TaskRow
from tests.camt_builder import Camt, Entry, Tx
from tests.docgen import supplier_invoice
from tests.factories import GLOOR_COMPANY, RECIPIENTS, take_in
from tests.test_ops_support import flow_run_artifacts, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


def counts(runtime, document_id: int) -> tuple[int, int, int]:
    with runtime.db.session() as s:
        bookings = s.scalar(
            select(func.count())
            .select_from(BookingRow)
            .where(BookingRow.document_id == document_id)
        )
        lines = s.scalar(select(func.count()).select_from(BookingLineRow))
        tasks = s.scalar(
            select(func.count()).select_from(TaskRow).where(TaskRow.document_id == document_id)
        )
    return bookings, lines, tasks


@pytest.mark.parametrize("with_qr", [False, True], ids=["plain", "qr-bill"])
def test_offline_client_invoice_becomes_one_posted_booking(
    prefect_harness, runtime, load_firm, with_qr
):
    load_firm()
    doc = supplier_invoice(
        random.Random(7),
        supplier=GLOOR_COMPANY,
        recipient=RECIPIENTS["C02"],
        language="de",
        with_qr=with_qr,
    )
    document_id = take_in(runtime, "C02", doc.data)

    outcome = asyncio.run(process_document(document_id))

    assert outcome.state is DocumentState.ROUTED
    assert outcome.doc_type == "supplier_invoice"
    with runtime.db.session() as s:
        booking = s.scalars(select(BookingRow).where(BookingRow.document_id == document_id)).one()
        row = s.get(DocumentRow, document_id)
        assert booking.status == BookingStatus.POSTED.value and booking.seq is not None
        assert booking.supplier_id == "S001" and row.supplier_id == "S001"
        assert booking.currency == doc.truth.currency
        credit = sum(line.credit for line in booking.lines if line.account == "2000")
        assert credit == abs(doc.truth.total)
        assert sum(li.debit for li in booking.lines) == sum(li.credit for li in booking.lines)
        assert (
            s.scalar(
                select(func.count()).select_from(TaskRow).where(TaskRow.document_id == document_id)
            )
            == 0
        )
    before = counts(runtime, document_id)

    again = asyncio.run(process_document(document_id))  # a second run of the same document

    assert again.skipped and counts(runtime, document_id) == before


def test_online_client_invoice_becomes_one_task_with_a_draft(prefect_harness, runtime, load_firm):
    load_firm()
    doc = supplier_invoice(
        random.Random(11), supplier=GLOOR_COMPANY, recipient=RECIPIENTS["C01"], language="de"
    )
    document_id = take_in(runtime, "C01", doc.data)

    outcome = asyncio.run(process_document(document_id))

    assert outcome.state is DocumentState.ROUTED
    with runtime.db.session() as s:
        task = s.scalars(select(TaskRow).where(TaskRow.document_id == document_id)).one()
        booking = s.scalars(select(BookingRow).where(BookingRow.document_id == document_id)).one()
        assert (task.kind, task.assignee, task.status) == ("release_invoice", "client", "open")
        assert task.booking_id == booking.id
        assert booking.status == BookingStatus.DRAFT.value and booking.seq is None
    before = counts(runtime, document_id)
    # Even if the document is put back to `received` (e.g. a repaired lease), routing
    # again creates nothing new: the unique constraints hold.
    with runtime.db.session() as s:
        s.get(DocumentRow, document_id).state = DocumentState.RECEIVED.value
    asyncio.run(process_document(document_id))
    assert counts(runtime, document_id) == before


def test_a_bank_statement_run_publishes_its_reconciliation(prefect_harness, runtime, load_firm):
    """Operators see in the UI what became of a statement: a table artifact on its run."""
    load_firm()
    with runtime.db.session() as s:
        s.get(ClientRow, "C02").ibans = ["CH5800791123000889012"]
    statement = Camt(
        "CH5800791123000889012",
        [
            Entry(date(2026, 3, 7), [Tx(Decimal("-57.30"), "Papeterie Zaugg")], "A1"),
            Entry(date(2026, 3, 8), [Tx(Decimal("-42.10"), "Kiosk")], "A2"),
        ],
    )
    document_id = take_in(runtime, "C02", statement.xml())

    state = asyncio.run(process_document(document_id, return_state=True))

    assert state.is_completed()
    run_id = state.state_details.flow_run_id
    [artifact] = wait_for(lambda: flow_run_artifacts(run_id))
    assert artifact.key == f"statement-c02-{document_id}"
    assert artifact.type == "table"
    rows = artifact.data if isinstance(artifact.data, list) else json.loads(artifact.data)
    assert {"status": "missing_document", "transactions": "2", "amount": "-99.40"} in rows
