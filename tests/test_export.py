"""Booked output: `export-bookings` writes each client's period as CSV and JSON Lines;
`posted_after` lets a downstream system poll in sequence order without gaps."""

import csv
import io
import json
from datetime import date

import pytest

from domain.enums import PaymentMethod
from flows.export_bookings import (
    default_periods,
    export_bookings,
    export_key,
    parse_period,
    run_export,
)
from storage.bookings import booking_view, posted_after
from storage.scope import Scope
from tests.routing_fakes import OFFLINE, ONLINE, invoice, receipt, record, route_recorded


def test_periods():
    assert parse_period("2026-03") == (date(2026, 3, 1), date(2026, 3, 31))
    assert parse_period("2026-Q1") == (date(2026, 1, 1), date(2026, 3, 31))
    assert parse_period("2024") == (date(2024, 1, 1), date(2024, 12, 31))
    assert parse_period("2026-02-10..2026-02-20") == (date(2026, 2, 10), date(2026, 2, 20))
    with pytest.raises(ValueError, match="use 2026-03"):
        parse_period("March")
    assert default_periods(date(2026, 4, 1)) == [
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ]


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


def test_export_writes_csv_and_jsonl_per_client_and_period(booked):
    results = {r.client_id: r for r in run_export("2026-03")}
    assert (results["C02"].bookings, results["C02"].lines) == (2, 6)
    assert results["C01"].bookings == 0  # a draft is not booked output
    store = booked.store
    rows = list(csv.DictReader(io.StringIO(store.get_file(results["C02"].csv_key).decode())))
    assert [r["account"] for r in rows] == ["6100", "1171", "2000", "5820", "1171", "1000"]
    assert rows[0]["vat_code"] == "VI81" and rows[0]["debit"] == "1000.00"
    assert rows[0]["supplier_name"] == "Gloor Elektro AG" and rows[0]["status"] == "posted"
    seqs = [int(r["seq"]) for r in rows]
    assert seqs == sorted(seqs)
    bookings = [json.loads(line) for line in store.get_file(results["C02"].jsonl_key).splitlines()]
    assert [b["lines"][0]["account"] for b in bookings] == ["6100", "5820"]
    assert bookings[0]["document_url"].endswith(f"/api/v1/documents/{bookings[0]['document_id']}")
    header = store.get_file(results["C01"].csv_key).decode().splitlines()
    assert header == [",".join(header[0].split(","))] and header[0].startswith("seq,")
    assert results["C02"].csv_key == export_key("C02", date(2026, 3, 1), date(2026, 3, 31), "csv")


def test_export_is_repeatable_and_scoped(booked):
    first = run_export("2026-03", "C02")
    data = booked.store.get_file(first[0].jsonl_key)
    again = export_bookings.fn("2026-03", "C02")  # the flow's body, without Prefect
    assert [r.model_dump() for r in first] == [r.model_dump() for r in await_result(again)]
    assert booked.store.get_file(first[0].jsonl_key) == data
    with pytest.raises(ValueError, match="unknown client"):
        run_export("2026-03", "C99")


def await_result(value):  # the flow is async; .fn returns its coroutine
    import asyncio

    return asyncio.run(value) if asyncio.iscoroutine(value) else value


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
