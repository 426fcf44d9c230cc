"""Routing persisted: one transaction per document, at most once; releasing posts; new
suppliers are confirmed; duplicates and reminders across documents. SQLite and
PostgreSQL, the steps' functions called without Prefect."""

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from domain.enums import DocumentState, PaymentMethod, SupplierStatus, TaskKind
from domain.extraction import Address, VatLine
from domain.records import User
from storage.bookings import correct_booking, posted_after
from storage.documents import document_view
from storage.history import SqlHistory
from storage.scope import Scope
from storage.tables import (
    BookingRow,
    ClientRow,
    DocumentFacts,
    DocumentRow,
    SupplierRow,
    TaskRow,
)
from storage.tasks import TaskNotAllowed, complete_task, task_view
from tests.factories import OFFLINE, ONLINE, master_data
from tests.routing_fakes import (
    NEW_IBAN,
    addressed_to,
    decide_for,
    invoice,
    lines_of,
    persist,
    receipt,
    record,
    route_recorded,
)

D = Decimal
STAFF = User(id=1, username="anna", client_id=None)
HANS = User(id=2, username="hans", client_id="C01", access="company")
LEA = User(id=3, username="lea", client_id="C01", access="employee")


@pytest.fixture
def firm(runtime, load_firm):
    load_firm()
    return runtime.db


def counts(db) -> tuple[int, int, int]:
    with db.session() as s:
        return (
            s.scalar(select(func.count()).select_from(BookingRow)),
            s.scalar(select(func.count()).select_from(TaskRow)),
            s.scalar(select(func.count()).select_from(SupplierRow)),
        )


def tasks(db, document_id: int) -> list[TaskRow]:
    with db.session() as s:
        return list(
            s.scalars(
                select(TaskRow).where(TaskRow.document_id == document_id).order_by(TaskRow.id)
            )
        )


def test_offline_invoice_is_posted_once_however_often_it_is_routed(firm):
    doc = record(firm, "C02", "a1")
    outcome = route_recorded(firm, doc, invoice(OFFLINE))
    assert (outcome.state, outcome.rule, outcome.booking_status) == (
        DocumentState.ROUTED,
        "auto_post",
        "posted",
    )
    assert outcome.task_ids == [] and outcome.supplier_id == "S001"
    before = counts(firm)
    again = route_recorded(firm, doc, invoice(OFFLINE))
    assert again.skipped and counts(firm) == before
    # Even with the state check bypassed, the unique keys hold.
    with firm.session() as s:
        s.get(DocumentRow, doc).state = DocumentState.PROCESSING.value
    route_recorded(firm, doc, invoice(OFFLINE))
    assert counts(firm) == before
    with firm.session() as s:
        row = s.get(DocumentRow, doc)
        assert row.routing["rule"] == "auto_post" and row.routing["reasons"]
        assert row.supplier_match == {
            "supplier_id": "S001",
            "rule": "iban",
            "score": 100.0,
            "detail": "IBAN CH93 0076 2011 6238 5295 7 is Gloor Elektro AG's",
        }
        booking = s.scalar(select(BookingRow).where(BookingRow.document_id == doc))
        assert booking.seq is not None and booking.posted_by == "fiduflow"
        assert lines_of(booking) == [
            ("6100", "1000.00", "", "VI81"),
            ("1171", "81.00", "", "VI81"),
            ("2000", "", "1081.00", None),
        ]


def test_online_invoice_waits_for_the_company_user_to_release_it(firm):
    doc = record(firm, "C01", "b1")
    outcome = route_recorded(firm, doc, invoice(ONLINE))
    assert (outcome.rule, outcome.booking_status, outcome.task_kinds) == (
        "client_releases",
        "draft",
        ["release_invoice"],
    )
    [task] = tasks(firm, doc)
    assert task.booking_id == outcome.booking_ids[0] and task.assignee == "client"
    assert task.due_date == date(2026, 3, 31)
    with firm.session() as s:
        # Employee access does not even see the company's task (upload, nothing else) …
        assert complete_task(s, Scope.of(LEA), task.id, LEA) is None
    with firm.session() as s, pytest.raises(TaskNotAllowed):
        # … and could not release it if it did.
        complete_task(s, Scope.client("C01"), task.id, LEA)
    with firm.session() as s:
        assert complete_task(s, Scope.client("C02"), task.id, STAFF) is None  # not its scope
        done = complete_task(s, Scope.of(HANS), task.id, HANS)
        assert done.status == "done"
    with firm.session() as s:
        booking = s.get(BookingRow, task.booking_id)
        assert (booking.status, booking.posted_by) == ("posted", "hans")
        seq = booking.seq
        complete_task(s, Scope.of(HANS), task.id, HANS)  # twice: nothing posted twice
    with firm.session() as s:
        assert s.get(BookingRow, task.booking_id).seq == seq


def test_new_supplier_is_proposed_and_the_booking_waits_for_both_tasks(firm):
    new = invoice(
        ONLINE,
        supplier_name="Huber Sanitär GmbH",
        supplier_iban=NEW_IBAN,
        supplier_address=Address(postcode="6003", city="Luzern"),
    )
    doc = record(firm, "C01", "c1")
    outcome = route_recorded(firm, doc, new)
    assert outcome.task_kinds == ["release_invoice", "confirm_supplier"]
    assert outcome.supplier_id == f"new-{doc}"
    release, confirm = tasks(firm, doc)
    with firm.session() as s:
        supplier = s.get(SupplierRow, f"new-{doc}")
        assert (supplier.status, supplier.proposed_by_client_id) == ("proposed", "C01")
        complete_task(s, Scope.of(HANS), release.id, HANS)
    with firm.session() as s:
        assert s.get(BookingRow, release.booking_id).status == "draft"  # supplier unconfirmed
        with pytest.raises(TaskNotAllowed):
            complete_task(s, Scope.of(HANS), confirm.id, HANS)
    with firm.session() as s:
        complete_task(s, Scope.staff(), confirm.id, STAFF)
    with firm.session() as s:
        # Confirmed: a directory id of its own instead of the proposal's `new-<document>`.
        assert s.get(SupplierRow, "SUP-0001").status == SupplierStatus.ACTIVE.value
        booking = s.get(BookingRow, release.booking_id)
        assert (booking.status, booking.posted_by, booking.supplier_id) == (
            "posted",
            "anna",
            "SUP-0001",
        )
    # The next invoice of that supplier is matched, not proposed again.
    second = record(firm, "C02", "c2")
    again = route_recorded(
        firm,
        second,
        new.model_copy(update={"recipient": addressed_to(OFFLINE), "invoice_number": "R-2"}),
    )
    assert (again.supplier_id, again.rule) == ("SUP-0001", "auto_post")


def test_offline_receipt_without_payment_method_is_asked_for_then_posted(firm):
    doc = record(firm, "C02", "d1")
    outcome = route_recorded(firm, doc, receipt(OFFLINE))
    assert outcome.task_kinds == ["ask_client"] and outcome.booking_status == "draft"
    [ask] = tasks(firm, doc)
    assert ask.assignee == "fiduciary"
    with firm.session() as s:
        complete_task(s, Scope.staff(), ask.id, STAFF)
    with firm.session() as s:
        assert s.get(BookingRow, ask.booking_id).status == "posted"


def test_a_second_copy_is_a_suspected_duplicate_and_never_booked(firm):
    first = record(firm, "C02", "e1")
    route_recorded(firm, first, invoice(OFFLINE))
    copy = record(firm, "C02", "e2")  # other bytes (a scan), same invoice
    outcome = route_recorded(firm, copy, invoice(OFFLINE))
    assert (outcome.rule, outcome.booking_ids, outcome.task_kinds) == (
        "suspected_duplicate",
        [],
        ["suspected_duplicate"],
    )
    with firm.session() as s:
        facts = s.get(DocumentFacts, copy)
        assert facts.duplicate_of == first
        first_booking = s.scalar(select(BookingRow.id).where(BookingRow.document_id == first))
    assert tasks(firm, copy)[0].booking_id == first_booking
    # Another client's identical invoice is not this client's duplicate.
    other = record(firm, "C01", "e3")
    assert route_recorded(firm, other, invoice(ONLINE)).rule == "client_releases"


def test_two_copies_decided_at_once_still_make_one_booking(firm):
    a, b = record(firm, "C02", "f1"), record(firm, "C02", "f2")
    extraction = invoice(OFFLINE)
    decided_a = decide_for(firm, a, extraction)
    decided_b = decide_for(firm, b, extraction)  # neither is persisted yet
    assert decided_a[2].post and decided_b[2].post
    persist(*decided_a[:1], extraction, *decided_a[1:])
    late = persist(*decided_b[:1], extraction, *decided_b[1:])
    assert (late.rule, late.booking_ids) == ("suspected_duplicate", [])
    with firm.session() as s:
        assert s.scalar(select(func.count()).select_from(BookingRow)) == 1


def test_receipts_of_two_employees_are_not_duplicates(firm):
    slip = receipt(OFFLINE)
    one = record(firm, "C02", "g1", submitted_by="fritz", payment_method="cash")
    two = record(firm, "C02", "g2", submitted_by="vreni", payment_method="cash")
    three = record(firm, "C02", "g3", submitted_by="fritz", payment_method="cash")
    assert route_recorded(firm, one, slip).rule == "auto_post"
    assert route_recorded(firm, two, slip).rule == "auto_post"
    assert route_recorded(firm, three, slip).rule == "suspected_duplicate"


def test_a_reminder_links_to_the_booked_invoice_and_books_nothing(firm):
    inv = record(firm, "C02", "h1")
    route_recorded(firm, inv, invoice(OFFLINE))
    reminder = record(firm, "C02", "h2")
    outcome = route_recorded(
        firm, reminder, invoice(OFFLINE, doc_type="reminder", total=D("1101.00"), vat=[])
    )
    assert (outcome.rule, outcome.booking_ids, outcome.task_kinds) == (
        "reminder_linked",
        [],
        ["reminder_received"],
    )
    with firm.session() as s:
        booked = s.scalar(select(BookingRow.id).where(BookingRow.document_id == inv))
        row = s.get(DocumentRow, reminder)
        assert row.routing["links"] == {"invoice_document": inv, "invoice_booking": booked}
        history = SqlHistory(s, "C02")
        assert [p.document_id for p in history.with_reference("RF18539007547034")] == [
            inv,
            reminder,
        ]
    assert tasks(firm, reminder)[0].booking_id == booked


def test_misaddressed_names_the_other_client_to_staff_only(firm):
    doc = record(firm, "C01", "i1")
    outcome = route_recorded(firm, doc, invoice(ONLINE, recipient=addressed_to(OFFLINE)))
    assert (outcome.rule, outcome.booking_ids) == ("recipient_other_client", [])
    [task] = tasks(firm, doc)
    assert task.kind == TaskKind.MISMATCHED_RECIPIENT.value
    staff_view = task_view(task, Scope.staff())
    assert staff_view.details["other_client"] == {"id": "C02", "name": "Bäckerei Brot GmbH"}
    for view in (task_view(task, Scope.client("C01")), task_view(task)):
        assert "other_client" not in view.details
        assert "C02" not in view.reason
        assert "another client" not in view.reason  # nor that the firm serves the addressee
    with firm.session() as s:
        row = s.get(DocumentRow, doc)
        assert "C02" not in str(row.routing)
        assert document_view(s, row, Scope.client("C01")).routing["rule"] == "recipient_mismatch"
        assert document_view(s, row, Scope.staff()).routing["rule"] == "recipient_other_client"


def test_a_correction_is_a_reversal_plus_a_new_booking(firm):
    doc = record(firm, "C02", "j1")
    route_recorded(firm, doc, invoice(OFFLINE))
    with firm.session() as s:
        original = s.scalar(select(BookingRow).where(BookingRow.document_id == doc))
        from routing.accounts import propose_booking
        from tests.factories import GLOOR
        from tests.routing_fakes import context

        fixed = propose_booking(
            "supplier_invoice",
            context(OFFLINE, invoice(OFFLINE, vat=[VatLine(rate=D("8.1"), amount=D("81.00"))])),
            OFFLINE,
            GLOOR.model_copy(update={"account": "4400"}),
        ).booking
        reversal, replacement = correct_booking(s, original.id, fixed, by="anna")
        assert reversal.reverses_id == original.id
    with firm.session() as s:
        out = posted_after(s, Scope.client("C02"), 0, 10)
        assert [(b.id, b.status) for b in out] == [
            (original.id, "reversed"),
            (reversal.id, "posted"),
            (replacement.id, "posted"),
        ]
        assert out[0].seq < out[1].seq < out[2].seq
        assert lines_of(out[2])[0] == ("4400", "1000.00", "", "VM81")


def test_payment_method_from_the_app_is_used(firm):
    doc = record(firm, "C02", "k1", payment_method=PaymentMethod.DEBIT_CARD.value)
    outcome = route_recorded(firm, doc, receipt(OFFLINE))
    assert outcome.rule == "auto_post"
    with firm.session() as s:
        booking = s.get(BookingRow, outcome.booking_ids[0])
        assert booking.lines[-1].account == "1020"


def test_an_online_client_in_setup_gets_its_invoices_booked_by_the_fiduciary(runtime, load_firm):
    # The client's phase comes from master data; in setup the fiduciary does everything
    # (DESIGN.md defaults), so no release task goes to the client.
    data = master_data()
    data["clients"][0]["phase"] = "setup"
    load_firm(clients=data["clients"])
    doc = record(runtime.db, "C01", "s1")
    outcome = route_recorded(runtime.db, doc, invoice(ONLINE))
    assert "release_invoice" not in outcome.task_kinds
    assert (outcome.rule, outcome.booking_status) == ("auto_post", "posted")
    with runtime.db.session() as s:
        assert s.get(ClientRow, "C01").phase == "setup"
        reasons = s.get(DocumentRow, doc).routing["reasons"]
    assert "client is in the setup phase: supplier_invoice is the fiduciary's then" in reasons
    # Back in regular use, the same kind of invoice waits for the client's release.
    data["clients"][0]["phase"] = "regular"
    load_firm(clients=data["clients"])
    again = route_recorded(
        runtime.db, record(runtime.db, "C01", "s2"), invoice(ONLINE, invoice_number="RE-2026-18")
    )
    assert again.task_kinds == ["release_invoice"]


def test_a_document_that_makes_it_on_a_later_try_keeps_no_error_from_the_earlier_one(
    runtime, load_firm, monkeypatch
):
    from flows import steps
    from flows.pipeline import process_one
    from storage.objects import ObjectStoreUnavailable
    from tests.factories import invoice_pdf, take_in

    load_firm()
    doc = take_in(runtime, "C02", invoice_pdf("C02", number=1, seed=3)[0])
    monkeypatch.setattr(steps.load_original, "retry_delay_seconds", [0, 0])
    real_get = runtime.store.get_original

    def unreachable(sha256: str) -> bytes:
        raise ObjectStoreUnavailable("ConnectError: [Errno 111] Connection refused")

    monkeypatch.setattr(runtime.store, "get_original", unreachable)
    failed = process_one(doc, step_runs=False)
    assert failed.state is DocumentState.RECEIVED and "ConnectError" in failed.error
    monkeypatch.setattr(runtime.store, "get_original", real_get)
    with runtime.db.session() as s:
        s.get(DocumentRow, doc).next_attempt_at = None  # the retry is due now

    outcome = process_one(doc, step_runs=False)

    assert outcome.state is DocumentState.ROUTED and outcome.error is None
    with runtime.db.session() as s:
        assert s.get(DocumentRow, doc).error is None


def test_a_confirmed_supplier_gets_a_directory_id_and_every_reference_moves(firm, runtime):
    """Regression: a confirmed new supplier kept its proposal id `new-<document>` in the
    booked output."""
    from flows.export_bookings import run_export
    from storage.bookings import booking_view
    from storage.tables import ClientSupplier, SupplierIban, SupplierNameToken

    new = invoice(
        ONLINE,
        supplier_name="Huber Sanitär GmbH",
        supplier_iban=NEW_IBAN,
        supplier_address=Address(postcode="6003", city="Luzern"),
    )
    doc = record(firm, "C01", "m1")
    route_recorded(firm, doc, new)
    proposed = f"new-{doc}"
    release, confirm = tasks(firm, doc)
    assert confirm.details["supplier_id"] == proposed
    with firm.session() as s:
        complete_task(s, Scope.of(HANS), release.id, HANS)
    with firm.session() as s:
        done = complete_task(s, Scope.staff(), confirm.id, STAFF)
        assert done.details["supplier_id"] == "SUP-0001"

    with firm.session() as s:
        assert s.get(SupplierRow, proposed) is None
        supplier = s.get(SupplierRow, "SUP-0001")
        assert (supplier.name, supplier.status, supplier.proposed_from_document_id) == (
            "Huber Sanitär GmbH",
            "active",
            doc,
        )
        document = s.get(DocumentRow, doc)
        assert document.supplier_id == "SUP-0001"
        assert document.supplier_match["supplier_id"] == "SUP-0001"
        assert s.get(DocumentFacts, doc).supplier_id == "SUP-0001"
        booking = s.scalar(select(BookingRow).where(BookingRow.document_id == doc))
        assert (booking.status, booking.supplier_id) == ("posted", "SUP-0001")
        assert s.get(ClientSupplier, ("C01", "SUP-0001")) is not None
        assert s.scalars(select(SupplierIban.supplier_id)).all().count("SUP-0001") == 1
        tokens = select(SupplierNameToken.supplier_id).distinct()
        assert "SUP-0001" in s.scalars(tokens).all() and proposed not in s.scalars(tokens).all()
        for table in (ClientSupplier, SupplierIban, SupplierNameToken, DocumentRow, BookingRow):
            assert s.scalars(select(table).where(table.supplier_id == proposed)).all() == []
        assert all(t.details.get("supplier_id") != proposed for t in s.scalars(select(TaskRow)))

    # The booked output shows the new id: what GET /api/v1/bookings serves, and the export.
    with firm.session() as s:
        [shown] = [booking_view(b) for b in posted_after(s, Scope.staff(), 0, 100)]
    assert (shown.document_id, shown.supplier_id) == (doc, "SUP-0001")
    assert shown.supplier_name == "Huber Sanitär GmbH"
    [export] = run_export("C01")
    assert ",SUP-0001,Huber Sanitär GmbH," in runtime.store.get_file(export.csv_key).decode()

    # The next confirmation takes the next number.
    other = record(firm, "C01", "m2")
    route_recorded(
        firm,
        other,
        invoice(
            ONLINE,
            supplier_name="Keller Malerei AG",
            supplier_iban="CH03 0070 0110 0001 2345 6",
            supplier_address=Address(postcode="9000", city="St. Gallen"),
            invoice_number="K-1",
        ),
    )
    confirm_other = next(t for t in tasks(firm, other) if t.kind == "confirm_supplier")
    with firm.session() as s:
        complete_task(s, Scope.staff(), confirm_other.id, STAFF)
    with firm.session() as s:
        assert s.get(SupplierRow, "SUP-0002").name == "Keller Malerei AG"
