"""Tenant isolation at the storage level: no query path hands one client another client's
suppliers (proposals), documents' history, bookings or tasks."""

from datetime import date

import pytest
from sqlalchemy import select

from domain.enums import Party, TaskStatus
from domain.extraction import Address, Recipient
from domain.records import User
from storage.bookings import bookings_for_period, get_booking, posted_after
from storage.history import SqlHistory
from storage.scope import Scope
from storage.suppliers import SqlClientDirectory, SqlSupplierDirectory
from storage.tables import BookingRow, TaskRow
from storage.tasks import complete_task, get_task, list_tasks
from tests.factories import OFFLINE, ONLINE
from tests.routing_fakes import NEW_IBAN, invoice, record, route_recorded

FRITZ = User(id=9, username="fritz", client_id="C02", access="employee")


@pytest.fixture
def two_clients(runtime, load_firm):
    """C01 (online) proposed a new supplier and has a draft + tasks; C02 (offline) has a
    posted booking."""
    load_firm()
    db = runtime.db
    new = invoice(
        ONLINE,
        supplier_name="Geheim Lieferant AG",
        supplier_iban=NEW_IBAN,
        supplier_uid="CHE-101.544.298",
        supplier_address=Address(postcode="6003"),
    )
    c01_doc = record(db, "C01", "t1")
    route_recorded(db, c01_doc, new)
    c02_doc = record(db, "C02", "t2")
    route_recorded(db, c02_doc, invoice(OFFLINE))
    return db, c01_doc, c02_doc


def test_a_proposed_supplier_is_invisible_to_other_clients(two_clients):
    db, c01_doc, _ = two_clients
    with db.session() as s:
        mine, theirs = SqlSupplierDirectory(s, "C01"), SqlSupplierDirectory(s, "C02")
        assert [x.id for x in mine.by_iban(NEW_IBAN)] == [f"new-{c01_doc}"]
        assert theirs.by_iban(NEW_IBAN) == []
        assert theirs.by_uid("CHE-101.544.298") == []
        assert theirs.by_name("Geheim Lieferant AG") == []
        assert theirs.get(f"new-{c01_doc}") is None
        assert f"new-{c01_doc}" not in theirs.client_supplier_ids()


def test_a_proposed_supplier_does_not_match_for_another_client(two_clients):
    db, c01_doc, _ = two_clients
    same_supplier = invoice(
        OFFLINE,
        supplier_name="Geheim Lieferant AG",
        supplier_iban=NEW_IBAN,
        supplier_address=Address(postcode="6003"),
    )
    outcome = route_recorded(db, record(db, "C02", "t3"), same_supplier)
    # C02 gets its own proposal, never C01's record.
    assert outcome.supplier_id not in (None, f"new-{c01_doc}")


def test_history_is_per_client(two_clients):
    db, _, _ = two_clients
    with db.session() as s:
        assert len(SqlHistory(s, "C02").with_invoice_number("RE202617")) == 1
        assert len(SqlHistory(s, "C01").with_invoice_number("RE202617")) == 1
        c02 = SqlHistory(s, "C02").with_invoice_number("RE202617")[0]
        c01 = SqlHistory(s, "C01").with_invoice_number("RE202617")[0]
        assert c01.document_id != c02.document_id
        assert SqlHistory(s, "C03").with_reference("RF18539007547034") == []


def test_bookings_are_per_client(two_clients):
    db, c01_doc, c02_doc = two_clients
    with db.session() as s:
        c02_booking = s.scalar(select(BookingRow).where(BookingRow.document_id == c02_doc))
        c01_booking = s.scalar(select(BookingRow).where(BookingRow.document_id == c01_doc))
        assert [b.id for b in posted_after(s, Scope.client("C02"), 0, 10)] == [c02_booking.id]
        assert posted_after(s, Scope.client("C01"), 0, 10) == []  # only a draft
        assert get_booking(s, Scope.client("C01"), c02_booking.id) is None
        assert get_booking(s, Scope.client("C02"), c01_booking.id) is None
        assert get_booking(s, Scope.staff(), c01_booking.id) is not None
        march = (date(2026, 3, 1), date(2026, 3, 31))
        assert bookings_for_period(s, "C01", *march) == []
        assert len(bookings_for_period(s, "C02", *march)) == 1
        # A client user's scope cannot be widened, whatever it asks for.
        assert Scope.client("C02").narrowed("C01") == Scope.client("C02")


def test_tasks_are_per_client(two_clients):
    db, _, _ = two_clients
    with db.session() as s:
        c01_tasks = list_tasks(s, Scope.client("C01"))
        assert {t.kind for t in c01_tasks} == {"release_invoice", "confirm_supplier"}
        assert list_tasks(s, Scope.client("C02")) == []
        assert len(list_tasks(s, Scope.staff(), assignee=Party.FIDUCIARY)) == 1
        release = next(t for t in c01_tasks if t.kind == "release_invoice")
        assert get_task(s, Scope.client("C02"), release.id) is None
        # Another client's user cannot complete it: it does not exist for them.
        assert complete_task(s, Scope.of(FRITZ), release.id, FRITZ) is None
        assert s.get(TaskRow, release.id).status == TaskStatus.OPEN.value


def test_other_clients_for_invoice_control_exclude_the_client_itself(two_clients):
    db, _, _ = two_clients
    with db.session() as s:
        found = SqlClientDirectory(s, "C01").others_like(
            Recipient(name="Bäckerei Brot GmbH", address=Address(postcode="3000"))
        )
        assert [c.id for c in found] == ["C02"]
        assert SqlClientDirectory(s, "C02").others_like(Recipient(name="Bäckerei Brot")) == []
