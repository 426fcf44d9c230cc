"""`export-bookings` as deployed: on demand for one client (`client_id`), and nightly
without parameters (every client, what it posted since its last export)."""

import asyncio
import json
from datetime import date
from decimal import Decimal

import pytest

from domain.records import BookingDraft, BookingLine
from flows.deployments import by_name
from storage.bookings import create_booking

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]


def _posted(session, client_id: str, day: date, key: str) -> int:
    amount = Decimal("250.00")
    booking, _ = create_booking(
        session,
        client_id,
        None,
        BookingDraft(
            date=day,
            currency="CHF",
            text="export test",
            lines=[
                BookingLine(account="6500", debit=amount),
                BookingLine(account="2000", credit=amount),
            ],
        ),
        origin_key=key,
        post=True,
        posted_by="test",
    )
    return booking.seq


def test_export_bookings_deployment_writes_files(prefect_harness, runtime, load_firm):
    load_firm()
    export_bookings = by_name("export-bookings").load_flow()
    with runtime.db.session() as s:
        first = _posted(s, "C02", date(2026, 1, 15), "test:1")
        second = _posted(s, "C02", date(2024, 2, 1), "test:2")  # dated long ago

    results = asyncio.run(export_bookings(client_id="C02"))

    [result] = results
    assert (result.bookings, result.first_seq, result.last_seq) == (2, first, second)
    rows = runtime.store.get_file(result.jsonl_key).decode().splitlines()
    assert [json.loads(r)["seq"] for r in rows] == [first, second]
    assert runtime.store.get_file(result.csv_key).decode().startswith("seq,")

    # The nightly run (the deployment has no parameters): every client, only what is new.
    parameters = by_name("export-bookings").parameters
    assert asyncio.run(export_bookings(**parameters)) == []
    with runtime.db.session() as s:
        third = _posted(s, "C01", date(2026, 3, 2), "test:3")
    nightly = asyncio.run(export_bookings(**parameters))
    assert [(r.client_id, r.first_seq, r.last_seq) for r in nightly] == [("C01", third, third)]
    assert runtime.store.get_file(nightly[0].csv_key)
