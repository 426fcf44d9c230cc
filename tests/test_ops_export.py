"""`export-bookings` as deployed: on demand with `period` and `client_id`, and nightly
without parameters (every client, the month of yesterday and the one before)."""

import asyncio
import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

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
        seq = _posted(s, "C02", date(2026, 1, 15), "test:1")
        _posted(s, "C02", date(2026, 2, 1), "test:2")  # another period

    results = asyncio.run(export_bookings(period="2026-01", client_id="C02"))

    [result] = results
    assert result.bookings == 1
    rows = runtime.store.get_file(result.jsonl_key).decode().splitlines()
    assert [json.loads(r)["seq"] for r in rows] == [seq]
    assert runtime.store.get_file(result.csv_key).decode().startswith("seq,")

    # The nightly run (the deployment has no parameters): every client, two months.
    nightly = asyncio.run(export_bookings(**by_name("export-bookings").parameters))
    yesterday = datetime.now(ZoneInfo("Europe/Zurich")).date() - timedelta(days=1)
    assert {r.client_id for r in nightly} == {"C01", "C02"}
    assert any(r.start <= yesterday <= r.end for r in nightly)
    for r in nightly:
        assert runtime.store.get_file(r.csv_key)
