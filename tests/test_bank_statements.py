"""Bank statements end to end (issue 16): a camt.053 taken in like any document is checked,
its entries stored once, reconciled with the client's open documents, booked by match or
rule, or asked for — and a document that arrives after its entry closes the request.
On SQLite and PostgreSQL, through `process_one` (the pipeline every channel uses)."""

import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domain.corrections import Corrections
from domain.enums import Channel, TaskKind
from domain.reconciliation import Banking
from flows.pipeline import process_one
from ingest.api import create_app
from routing.rebook import is_credit, rebuild_booking
from storage.bookings import booking_view, posted_after
from storage.masterdata import user_for_token
from storage.scope import Scope
from storage.tables import (
    BankTransactionRow,
    BookingRow,
    ClientRow,
    DocumentRow,
    OpenItemRow,
    TaskRow,
)
from storage.tasks import complete_task, reject_task
from tests.camt_builder import Camt, Entry, Tx
from tests.docgen import reminder, supplier_invoice
from tests.factories import GLOOR_COMPANY, GLOOR_IBAN, RECIPIENTS, take_in

OWN = "CH5800791123000889012"  # the clients' own account in these tests
RENT_IBAN = "CH5604835012345678009"
BANKING = Banking.model_validate(
    {
        "bank_accounts": [{"iban": OWN, "account": "1021"}],
        "posting_rules": [
            {"name": "Rent", "counterparty_iban": RENT_IBAN, "account": "6000"},
            {"name": "Bank fees", "text_contains": "Kontoführung", "account": "6900"},
        ],
    }
)


@pytest.fixture
def firm(runtime: Any, load_firm: Any) -> Any:
    load_firm()
    with runtime.db.session() as session:
        for client_id in ("C01", "C02"):
            row = session.get(ClientRow, client_id)
            row.ibans = [OWN] if client_id == "C02" else [*row.ibans, "CH1509000000152034670"]
            row.banking = BANKING.model_dump(mode="json")
    return runtime


def _process(runtime: Any, client_id: str, data: bytes, filename: str) -> DocumentRow:
    document_id = take_in(runtime, client_id, data, filename, channel=Channel.WEB)
    outcome = process_one(document_id, step_runs=False)
    assert outcome.state.value == "routed", outcome.error
    with runtime.db.session() as session:
        row = session.get(DocumentRow, document_id)
        session.expunge(row)
        return row


def _invoice(runtime: Any, client_id: str = "C02", seed: int = 1) -> tuple[int, Decimal]:
    document = supplier_invoice(
        random.Random(seed), supplier=GLOOR_COMPANY, recipient=RECIPIENTS[client_id], language="de"
    )
    row = _process(runtime, client_id, document.data, f"rechnung-{seed}.pdf")
    assert row.doc_type == "supplier_invoice"
    return row.id, document.truth.total


def _transactions(runtime: Any, document_id: int) -> list[BankTransactionRow]:
    with runtime.db.session() as session:
        rows = list(
            session.scalars(
                select(BankTransactionRow)
                .where(BankTransactionRow.document_id == document_id)
                .order_by(BankTransactionRow.id)
            )
        )
        session.expunge_all()
        return rows


def _booking(runtime: Any, booking_id: int) -> tuple[str, str, list[tuple[str, Decimal, Decimal]]]:
    with runtime.db.session() as session:
        booking = session.get(BookingRow, booking_id)
        lines = [(line.account, line.debit, line.credit) for line in booking.lines]
        return booking.kind, booking.status, lines


def _task(runtime: Any, task_id: int) -> TaskRow:
    with runtime.db.session() as session:
        row = session.get(TaskRow, task_id)
        session.expunge(row)
        return row


@pytest.mark.parametrize("version", [4, 8])
def test_offline_statement_is_matched_booked_by_rule_and_asks_for_what_is_missing(
    firm: Any, version: int
) -> None:
    invoice_id, total = _invoice(firm)
    statement = Camt(
        account=OWN,
        version=version,
        entries=[
            Entry(date(2026, 3, 5), [Tx(-total, "GLOOR ELEKTRO AG WINTERTHUR", GLOOR_IBAN)], "R1"),
            Entry(date(2026, 3, 6), [Tx(Decimal("-2400.00"), "Immo AG", RENT_IBAN)], "R2"),
            Entry(date(2026, 3, 7), [Tx(Decimal("-57.30"), "Papeterie Zaugg")], "R3"),
            Entry(date(2026, 3, 8), [Tx(Decimal("200.00"), "Unbekannt GmbH")], "R4"),
            Entry(date(2026, 3, 31), [Tx(Decimal("-12.00"))], "R5", info="Kontoführung März"),
        ],
    )
    row = _process(firm, "C02", statement.xml(), "auszug-maerz.xml")
    assert row.doc_type == "bank_statement"
    assert row.routing["rule"] == "statement_reconciled"
    paid, rent, missing, credit, fees = _transactions(firm, row.id)

    assert (paid.status, [m["document_id"] for m in paid.matches]) == ("matched", [invoice_id])
    assert paid.counterparty_name == "GLOOR ELEKTRO AG WINTERTHUR"
    kind, status, lines = _booking(firm, paid.booking_id)
    # Offline: reconciliation is the fiduciary's, so the payment posts; the bank's ledger
    # account is the one master data gives the IBAN.
    assert (kind, status) == ("payment", "posted")
    assert lines == [("2000", total, Decimal(0)), ("1021", Decimal(0), total)]
    with firm.db.session() as session:
        assert session.get(OpenItemRow, invoice_id).status == "paid"

    assert (rent.status, rent.posting_rule) == ("rule", "Rent")
    assert _booking(firm, rent.booking_id) == (
        "rule",
        "posted",
        [("6000", Decimal("2400.00"), Decimal(0)), ("1021", Decimal(0), Decimal("2400.00"))],
    )
    assert (fees.status, fees.posting_rule) == ("rule", "Bank fees")

    assert missing.status == "missing_document" and missing.booking_id is None
    task = _task(firm, missing.task_id)
    assert (task.kind, task.assignee, task.transaction_id) == (
        "missing_document",
        "fiduciary",
        missing.id,
    )
    assert task.due_date == row.received_at.date() + timedelta(days=14)
    assert "Ask the client" in task.reason and "57.30" in task.reason

    assert credit.status == "unmatched"
    assert _task(firm, credit.task_id).kind == TaskKind.RECONCILE_ENTRY.value


def test_the_same_entries_in_an_overlapping_statement_are_stored_once(firm: Any) -> None:
    march = [
        Entry(date(2026, 3, 7), [Tx(Decimal("-57.30"), "Papeterie Zaugg")], "R3"),
        Entry(date(2026, 3, 9), [Tx(Decimal("-80.00"), "Garage Meier")]),  # no bank reference
    ]
    first = _process(firm, "C02", Camt(OWN, march, statement_id="A").xml(), "a.xml")
    overlap = [*march, Entry(date(2026, 3, 10), [Tx(Decimal("-19.90"), "Kiosk")], "R9")]
    second = _process(
        firm, "C02", Camt(OWN, overlap, statement_id="B", opening=Decimal(5)).xml(), "b.xml"
    )
    assert len(_transactions(firm, first.id)) == 2
    [new] = _transactions(firm, second.id)
    assert new.amount == Decimal("-19.90")
    assert "2 taken in before" in " ".join(second.routing["reasons"])
    with firm.db.session() as session:
        tasks = session.scalars(
            select(TaskRow.transaction_id).where(TaskRow.kind == "missing_document")
        ).all()
    assert len(tasks) == len(set(tasks)) == 3  # one request per debit, never two


def test_a_document_arriving_after_its_entry_is_matched_and_the_request_closes(firm: Any) -> None:
    document = supplier_invoice(
        random.Random(7), supplier=GLOOR_COMPANY, recipient=RECIPIENTS["C02"], language="de"
    )
    total = document.truth.total
    statement = Camt(
        OWN, [Entry(date(2026, 4, 2), [Tx(-total, "Gloor Elektro", GLOOR_IBAN)], "X1")]
    )
    row = _process(firm, "C02", statement.xml(), "april.xml")
    [entry] = _transactions(firm, row.id)
    assert entry.status == "missing_document"
    request = entry.task_id

    invoice = _process(firm, "C02", document.data, "rechnung.pdf")
    [entry] = _transactions(firm, row.id)
    assert (entry.status, entry.matches[0]["document_id"]) == ("matched", invoice.id)
    closed = _task(firm, request)
    assert (closed.status, closed.completed_by) == ("done", "fiduflow")
    assert str(invoice.id) in closed.details["closed_because"]
    assert _booking(firm, entry.booking_id)[:2] == ("payment", "posted")


def test_online_client_confirms_matches_and_uploads_missing_documents(firm: Any) -> None:
    invoice_id, total = _invoice(firm, "C01", seed=3)
    statement = Camt(
        "CH1509000000152034670",
        [
            Entry(date(2026, 3, 5), [Tx(-total, "Gloor Elektro AG", GLOOR_IBAN)], "O1"),
            Entry(date(2026, 3, 7), [Tx(Decimal("-57.30"), "Papeterie Zaugg")], "O2"),
        ],
    )
    row = _process(firm, "C01", statement.xml(), "auszug.xml")
    paid, missing = _transactions(firm, row.id)
    # Online: reconciliation is the client's activity, so the match waits for its yes.
    assert _booking(firm, paid.booking_id)[:2] == ("payment", "draft")
    confirm = _task(firm, paid.task_id)
    assert (confirm.kind, confirm.assignee, confirm.booking_id) == (
        "reconcile_entry",
        "client",
        paid.booking_id,
    )
    assert str(invoice_id) in confirm.reason
    ask = _task(firm, missing.task_id)
    assert (ask.kind, ask.assignee) == ("missing_document", "client")
    assert ask.reason.startswith("Please upload")

    # The client's yes posts the payment, as a release posts an invoice.
    with firm.db.session() as session:
        hans = user_for_token(session, "token-hans")
        assert hans is not None
        complete_task(session, Scope.of(hans), confirm.id, hans)
    kind, status, lines = _booking(firm, paid.booking_id)
    assert (kind, status) == ("payment", "posted")
    assert lines == [("2000", total, Decimal(0)), ("1020", Decimal(0), total)]


def test_a_statement_of_another_account_is_not_taken_in(firm: Any) -> None:
    foreign = Camt("CH9300762011623852957", [Entry(date(2026, 3, 5), [Tx(Decimal("-10"))], "F1")])
    row = _process(firm, "C02", foreign.xml(), "fremd.xml")
    assert _transactions(firm, row.id) == []
    assert row.routing["rule"] == "statement_checked"
    with firm.db.session() as session:
        [task] = session.scalars(select(TaskRow).where(TaskRow.document_id == row.id)).all()
    assert task.kind == "review_document" and "not one of" in task.reason


def test_an_unbalanced_statement_is_taken_in_and_flagged(firm: Any) -> None:
    entries = [Entry(date(2026, 3, 5), [Tx(Decimal("-10.00"), "Kiosk")], "U1")]
    row = _process(firm, "C02", Camt(OWN, entries, closing=Decimal("9000.00")).xml(), "u.xml")
    assert len(_transactions(firm, row.id)) == 1
    with firm.db.session() as session:
        kinds = sorted(session.scalars(select(TaskRow.kind).where(TaskRow.document_id == row.id)))
        review = session.scalar(
            select(TaskRow.reason).where(
                TaskRow.document_id == row.id, TaskRow.kind == "review_document"
            )
        )
    assert kinds == ["missing_document", "review_document"]
    assert "closing balance is 9000.00" in review


def test_a_batch_debit_is_split_and_each_transaction_reconciled(firm: Any) -> None:
    invoice_id, total = _invoice(firm, seed=11)
    batch = Entry(
        date(2026, 3, 12),
        [
            Tx(-total, "Gloor Elektro AG", GLOOR_IBAN, ref="B1-1"),
            Tx(Decimal("-2400.00"), "Immo AG", RENT_IBAN, ref="B1-2"),
        ],
        "B1",
    )
    row = _process(firm, "C02", Camt(OWN, [batch]).xml(), "batch.xml")
    first, second = _transactions(firm, row.id)
    assert (first.part, first.status, first.matches[0]["document_id"]) == (0, "matched", invoice_id)
    assert (second.part, second.status) == (1, "rule")


def test_a_rejected_match_opens_the_invoice_again_and_goes_to_the_fiduciary(firm: Any) -> None:
    invoice_id, total = _invoice(firm, "C01", seed=5)
    statement = Camt(
        "CH1509000000152034670",
        [Entry(date(2026, 3, 5), [Tx(-total, "Gloor Elektro AG", GLOOR_IBAN)], "J1")],
    )
    row = _process(firm, "C01", statement.xml(), "auszug.xml")
    [paid] = _transactions(firm, row.id)
    with firm.db.session() as session:
        hans = user_for_token(session, "token-hans")
        assert hans is not None
        reject_task(session, Scope.of(hans), paid.task_id, hans, "not this invoice")
    [entry] = _transactions(firm, row.id)
    assert (entry.status, entry.matches) == ("unmatched", [])
    assert _booking(firm, paid.booking_id)[1] == "discarded"
    with firm.db.session() as session:
        assert session.get(OpenItemRow, invoice_id).status == "open"
        statement_doc = session.get(DocumentRow, row.id)
        assert "rejected" not in (statement_doc.meta or {})  # the statement itself stands
    followup = _task(firm, entry.task_id)
    assert (followup.kind, followup.assignee, followup.status) == (
        "reconcile_entry",
        "fiduciary",
        "open",
    )
    assert "hans rejected the match (not this invoice)" in followup.reason


def _reminder_for(runtime: Any, invoice: Any, seed: int) -> DocumentRow:
    document = reminder(
        random.Random(seed),
        supplier=GLOOR_COMPANY,
        recipient=RECIPIENTS["C02"],
        language="de",
        invoice_number=invoice.truth.invoice_number,
        total=invoice.truth.total,
        issue_date=invoice.truth.issue_date + timedelta(days=40),
    )
    row = _process(runtime, "C02", document.data, f"mahnung-{seed}.pdf")
    assert row.routing["rule"] == "reminder_linked", row.routing
    return row


def test_reminders_for_a_paid_invoice_close_themselves(firm: Any) -> None:
    invoice = supplier_invoice(
        random.Random(21), supplier=GLOOR_COMPANY, recipient=RECIPIENTS["C02"], language="de"
    )
    _process(firm, "C02", invoice.data, "rechnung.pdf")
    before = _reminder_for(firm, invoice, seed=22)  # arrives while the invoice is open
    with firm.db.session() as session:
        [waiting] = session.scalars(select(TaskRow).where(TaskRow.document_id == before.id))
        assert (waiting.kind, waiting.status) == ("reminder_received", "open")
    total = invoice.truth.total
    statement = Camt(
        OWN, [Entry(date(2026, 5, 2), [Tx(-total, "Gloor Elektro", GLOOR_IBAN)], "M1")]
    )
    _process(firm, "C02", statement.xml(), "mai.xml")
    closed = _task(firm, waiting.id)
    assert (closed.status, closed.completed_by) == ("done", "fiduflow")
    assert "paid on 2026-05-02" in closed.details["closed_because"]

    after = _reminder_for(firm, invoice, seed=23)  # arrives once the bank shows it paid
    with firm.db.session() as session:
        [task] = session.scalars(select(TaskRow).where(TaskRow.document_id == after.id))
    assert (task.status, task.completed_by) == ("done", "fiduflow")


def test_payment_bookings_are_in_the_booked_output(firm: Any) -> None:
    _, total = _invoice(firm, seed=31)
    statement = Camt(
        OWN, [Entry(date(2026, 3, 5), [Tx(-total, "Gloor Elektro", GLOOR_IBAN)], "P1")]
    )
    row = _process(firm, "C02", statement.xml(), "p.xml")
    [paid] = _transactions(firm, row.id)
    with firm.db.session() as session:
        posted = posted_after(session, Scope.staff(), 0, 1000)
        views = [booking_view(b) for b in posted]
    [payment] = [v for v in views if v.id == paid.booking_id]
    assert payment.kind == "payment" and payment.seq is not None
    assert payment.document_id == row.id


def _upload_for(firm: Any, task_id: int, data: bytes, filename: str) -> int:
    with TestClient(create_app(firm.db, firm.store, firm.settings, None)) as http:
        answer = http.post(
            "/api/v1/documents",
            params={"task": task_id},
            headers={"Authorization": "Bearer token-hans"},
            files={"file": (filename, data, "application/pdf")},
        )
    assert answer.status_code == 201, answer.text
    document_id = answer.json()["id"]
    assert process_one(document_id, step_runs=False).state.value == "routed"
    return document_id


def test_the_document_uploaded_for_an_entry_pays_it_or_goes_to_the_fiduciary(firm: Any) -> None:
    right = supplier_invoice(
        random.Random(41), supplier=GLOOR_COMPANY, recipient=RECIPIENTS["C01"], language="de"
    )
    wrong = supplier_invoice(
        random.Random(42), supplier=GLOOR_COMPANY, recipient=RECIPIENTS["C01"], language="de"
    )
    assert right.truth.total != wrong.truth.total
    statement = Camt(
        "CH1509000000152034670",
        [
            Entry(date(2026, 6, 1), [Tx(-right.truth.total, "Gloor Elektro", GLOOR_IBAN)], "W1"),
            Entry(date(2026, 6, 2), [Tx(Decimal("-57.30"), "Papeterie Zaugg")], "W2"),
        ],
    )
    row = _process(firm, "C01", statement.xml(), "juni.xml")
    first, second = _transactions(firm, row.id)

    _upload_for(firm, first.task_id, right.data, "rechnung.pdf")  # the client's upload
    paid, _ = _transactions(firm, row.id)
    assert paid.status == "matched" and _task(firm, first.task_id).status == "done"

    uploaded = _upload_for(firm, second.task_id, wrong.data, "falsch.pdf")
    _, waiting = _transactions(firm, row.id)
    assert waiting.status == "missing_document"  # 57.30 is not what the upload is for
    followup = _task(firm, waiting.task_id)
    assert (followup.kind, followup.assignee, followup.status) == (
        "reconcile_entry",
        "fiduciary",
        "open",
    )
    assert f"Document {uploaded} was uploaded" in followup.reason


def test_an_entry_text_is_stored_once(firm: Any) -> None:
    """Regression: a fee's text read "GEBÜHR KONTO GEBÜHR KONTO" (the reader gives a single
    payment without text of its own the entry's, and it was appended again)."""
    fee = Entry(date(2026, 3, 31), [Tx(Decimal("-3.00"))], "G1", info="GEBÜHR KONTO MÄRZ")
    row = _process(firm, "C02", Camt(OWN, [fee]).xml(), "g.xml")
    [entry] = _transactions(firm, row.id)
    assert entry.remittance == "GEBÜHR KONTO MÄRZ"


def test_a_corrected_total_is_what_the_payment_is_matched_against(firm: Any) -> None:
    """Regression: a person's correction of the total on the release task left the open
    item at the misread amount, so the real payment found no invoice."""
    invoice_id, total = _invoice(firm, "C01", seed=51)
    corrected = total + Decimal("100.00")  # the page said more than the reader saw
    with firm.db.session() as session:
        task = session.scalars(
            select(TaskRow).where(
                TaskRow.document_id == invoice_id, TaskRow.kind == "release_invoice"
            )
        ).one()
        hans = user_for_token(session, "token-hans")
        assert hans is not None
        complete_task(
            session,
            Scope.of(hans),
            task.id,
            hans,
            Corrections(total=corrected, vat=[]),
            rebuild=rebuild_booking,
            is_credit=is_credit,
        )
        assert session.get(OpenItemRow, invoice_id).amount == corrected
    statement = Camt(
        "CH1509000000152034670",
        [Entry(date(2026, 7, 1), [Tx(-corrected, "Gloor Elektro AG", GLOOR_IBAN)], "K1")],
    )
    row = _process(firm, "C01", statement.xml(), "juli.xml")
    [entry] = _transactions(firm, row.id)
    assert (entry.status, entry.matches[0]["document_id"]) == ("matched", invoice_id)
