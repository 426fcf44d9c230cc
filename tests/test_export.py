"""Booked output: `export-bookings` writes each client's bookings posted since its last
export (by `seq`) as CSV and JSON Lines; `posted_after` lets a downstream system poll in
sequence order without gaps."""

import csv
import io
import json
from datetime import date

import pytest
from sqlalchemy import select

from domain.enums import PaymentMethod
from flows.export_bookings import export_bookings, export_key, run_export
from storage.bookings import booking_view, posted_after, reverse_booking
from storage.scope import Scope
from storage.tables import BookingRow, Counter
from tests.factories import OFFLINE, ONLINE
from tests.routing_fakes import invoice, receipt, record, route_recorded


@pytest.fixture
def booked(runtime, load_firm):
    """C02: an invoice (posted) and a receipt (posted) in March, one invoice in April;
    C01: a draft (not output) and nothing posted."""
    load_firm()
    db = runtime.db
    route_recorded(db, record(db, "C02", "x1"), invoice(OFFLINE))
    slip = record(db, "C02", "x2", payment_method=PaymentMethod.CASH.value)
    route_recorded(db, slip, receipt(OFFLINE))
    april = invoice(OFFLINE, invoice_number="RE-2026-40", issue_date=date(2026, 4, 2))
    route_recorded(db, record(db, "C02", "x3"), april)
    route_recorded(db, record(db, "C01", "x4"), invoice(ONLINE))
    return runtime


def test_export_writes_csv_and_jsonl_per_client(booked):
    results = {r.client_id: r for r in run_export()}
    assert set(results) == {"C02"}  # C01 has only a draft: not booked output, no files
    c02 = results["C02"]
    assert (c02.bookings, c02.lines) == (3, 9)
    store = booked.store
    rows = list(csv.DictReader(io.StringIO(store.get_file(c02.csv_key).decode())))
    assert [r["account"] for r in rows][:6] == ["6100", "1171", "2000", "5820", "1171", "1000"]
    assert rows[0]["vat_code"] == "VI81" and rows[0]["debit"] == "1000.00"
    assert rows[0]["supplier_name"] == "Gloor Elektro AG" and rows[0]["status"] == "posted"
    assert [r["date"] for r in rows[::3]] == ["2026-03-01", "2026-03-04", "2026-04-02"]
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs) and (seqs[0], seqs[-1]) == (c02.first_seq, c02.last_seq)
    bookings = [json.loads(line) for line in store.get_file(c02.jsonl_key).splitlines()]
    assert [b["lines"][0]["account"] for b in bookings] == ["6100", "5820", "6100"]
    assert bookings[0]["document_url"].endswith(f"/api/v1/documents/{bookings[0]['document_id']}")
    assert c02.csv_key == export_key("C02", c02.first_seq, "csv")
    assert c02.csv_key == f"exports/C02/{c02.first_seq:012d}/bookings.csv"


def test_a_run_with_nothing_new_writes_nothing(booked):
    [first] = run_export("C02")
    again = export_bookings.fn("C02")  # the flow's body, without Prefect
    assert await_result(again) == []
    assert run_export() == []
    assert booked.store.get_file(first.csv_key)  # the earlier export stays as it was
    with pytest.raises(ValueError, match="unknown client"):
        run_export("C99")


def await_result(value):  # the flow is async; .fn returns its coroutine
    import asyncio

    return asyncio.run(value) if asyncio.iscoroutine(value) else value


def exported_seqs(store, results) -> list[int]:
    return [
        json.loads(line)["seq"]
        for r in results
        for line in store.get_file(r.jsonl_key).decode().splitlines()
    ]


def test_export_goes_by_posting_seq_each_booking_in_exactly_one_export(runtime, load_firm):
    """Regression: the export picked bookings by date in last and this month, so the
    posted bookings of older documents were in no export at all."""
    load_firm()
    db, store = runtime.db, runtime.store
    old = invoice(OFFLINE, invoice_number="RE-2025-1", issue_date=date(2025, 2, 3))
    route_recorded(db, record(db, "C02", "y1"), old)  # dated a year ago, posted today

    first = run_export()

    assert [r.client_id for r in first] == ["C02"]
    with db.session() as s:
        [booking] = s.scalars(select(BookingRow).where(BookingRow.client_id == "C02")).all()
        assert booking.date == date(2025, 2, 3)
        assert s.get(Counter, "export:C02").value == booking.seq  # the watermark
        old_seq = booking.seq
    assert exported_seqs(store, first) == [old_seq]
    # Posted between the runs: a new invoice, and the reversal of the old booking.
    new = invoice(OFFLINE, invoice_number="RE-2026-2", issue_date=date(2026, 5, 6))
    route_recorded(db, record(db, "C02", "y2"), new)
    with db.session() as s:
        reversal = reverse_booking(s, booking.id, by="anna")
        s.flush()
        reversal_seq = reversal.seq

    second = run_export()

    later = exported_seqs(store, second)
    assert len(later) == 2 and reversal_seq in later and old_seq not in later
    assert second[0].csv_key != first[0].csv_key  # the first export's files are untouched
    assert exported_seqs(store, first) == [old_seq]
    assert run_export() == []
    with db.session() as s:
        posted = sorted(s.scalars(select(BookingRow.seq).where(BookingRow.seq.is_not(None))))
    assert sorted(exported_seqs(store, first + second)) == posted  # each exactly once


def test_a_failed_write_leaves_the_watermark_and_the_next_run_writes_it(booked, monkeypatch):
    store = booked.store
    real_put = store.put_file
    calls: list[str] = []

    def flaky(key: str, data: bytes, content_type: str) -> None:
        calls.append(key)
        if key.endswith(".jsonl") and len(calls) == 2:
            raise OSError("disk full")
        real_put(key, data, content_type)

    monkeypatch.setattr(store, "put_file", flaky)
    with pytest.raises(RuntimeError, match="export failed for C02"):
        run_export()
    with booked.db.session() as s:
        watermark = s.get(Counter, "export:C02")
        assert watermark is None or watermark.value == 0  # rolled back with the export
    [result] = run_export()
    assert result.csv_key == calls[0]  # the same name: the half-written export is replaced
    assert len(exported_seqs(store, [result])) == 3


def test_polling_in_sequence_never_misses_or_repeats(booked):
    with booked.db.session() as s:
        seen: list[int] = []
        after = 0
        while page := posted_after(s, Scope.staff(), after, 2):
            seen += [b.seq for b in page]
            after = page[-1].seq
        assert seen == sorted(set(seen)) and len(seen) == 3
        views = [
            booking_view(b, "https://fidu.example") for b in posted_after(s, Scope.staff(), 0, 9)
        ]
        assert all(v.posted_at is not None for v in views)
        assert [v.supplier_name for v in views] == ["Gloor Elektro AG", None, "Gloor Elektro AG"]
        assert views[0].document_url.startswith("https://fidu.example/api/v1/documents/")
