"""`export-bookings`: each client's posted bookings of a period, as CSV and JSON Lines,
written to the object store.

    exports/<client>/<first day>_<last day>/bookings.csv     one row per booking line
    exports/<client>/<first day>_<last day>/bookings.jsonl   one booking per line

A period's files are rewritten whole on every run, in sequence order, so running it twice
gives the same bytes and a late posting (an invoice dated last month, posted today) is in
the next night's file. Bookings count in the period of their booking date; reversed ones
stay in (with status `reversed`), next to their reversal — the file is the ledger as
posted. Without parameters (the nightly schedule) it writes the month of yesterday and
the month before it, in Europe/Zurich time.
"""

import csv
import io
import json
import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from prefect import flow
from pydantic import BaseModel
from sqlalchemy.orm import Session

from domain.records import BookingView
from flows.runtime import get_runtime
from storage.bookings import booking_view, bookings_for_period
from storage.masterdata import get_client, list_clients
from storage.objects import ObjectStore

ZURICH = ZoneInfo("Europe/Zurich")
CSV_COLUMNS = (
    "seq",
    "booking_id",
    "status",
    "date",
    "currency",
    "supplier_id",
    "supplier_name",
    "document_id",
    "reverses_id",
    "line_no",
    "account",
    "debit",
    "credit",
    "vat_code",
    "text",
)


class ExportResult(BaseModel):
    client_id: str
    start: date
    end: date
    bookings: int
    lines: int
    csv_key: str
    jsonl_key: str


def parse_period(period: str) -> tuple[date, date]:
    """`2026-03` (month), `2026-Q1` (quarter), `2026` (year) or `2026-03-01..2026-03-31`."""
    text = period.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})\.\.(\d{4})-(\d{2})-(\d{2})", text):
        start = date(int(m[1]), int(m[2]), int(m[3]))
        end = date(int(m[4]), int(m[5]), int(m[6]))
    elif m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
        year, month = int(m[1]), int(m[2])
        start, end = date(year, month, 1), date(year, month, monthrange(year, month)[1])
    elif m := re.fullmatch(r"(\d{4})-[Qq]([1-4])", text):
        year, quarter = int(m[1]), int(m[2])
        first = 3 * quarter - 2
        start = date(year, first, 1)
        end = date(year, first + 2, monthrange(year, first + 2)[1])
    elif re.fullmatch(r"\d{4}", text):
        start, end = date(int(text), 1, 1), date(int(text), 12, 31)
    else:
        raise ValueError(f"period {period!r}: use 2026-03, 2026-Q1, 2026 or 2026-03-01..2026-03-31")
    if end < start:
        raise ValueError(f"period {period!r} ends before it starts")
    return start, end


def default_periods(today: date) -> list[tuple[date, date]]:
    """The month of yesterday and the month before it (late postings land in both)."""
    yesterday = today - timedelta(days=1)
    this = parse_period(f"{yesterday.year}-{yesterday.month:02d}")
    before = this[0] - timedelta(days=1)
    return [parse_period(f"{before.year}-{before.month:02d}"), this]


def render_csv(views: list[BookingView]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for view in views:
        for number, line in enumerate(view.lines, start=1):
            writer.writerow(
                (
                    view.seq,
                    view.id,
                    view.status.value,
                    view.date.isoformat(),
                    view.currency,
                    view.supplier_id or "",
                    view.supplier_name or "",
                    view.document_id or "",
                    view.reverses_id or "",
                    number,
                    line.account,
                    f"{line.debit:.2f}",
                    f"{line.credit:.2f}",
                    line.vat_code or "",
                    line.text,
                )
            )
    return out.getvalue().encode("utf-8")


def render_jsonl(views: list[BookingView]) -> bytes:
    return "".join(
        json.dumps(view.model_dump(mode="json"), ensure_ascii=False, sort_keys=True) + "\n"
        for view in views
    ).encode("utf-8")


def export_key(client_id: str, start: date, end: date, suffix: str) -> str:
    return f"exports/{client_id}/{start.isoformat()}_{end.isoformat()}/bookings.{suffix}"


def export_client_period(
    session: Session,
    store: ObjectStore,
    client_id: str,
    start: date,
    end: date,
    base_url: str = "",
) -> ExportResult:
    """Write one client's period; the files are complete and in sequence order."""
    views = [
        booking_view(row, base_url) for row in bookings_for_period(session, client_id, start, end)
    ]
    csv_key = export_key(client_id, start, end, "csv")
    jsonl_key = export_key(client_id, start, end, "jsonl")
    store.put_file(csv_key, render_csv(views), "text/csv; charset=utf-8")
    store.put_file(jsonl_key, render_jsonl(views), "application/x-ndjson")
    return ExportResult(
        client_id=client_id,
        start=start,
        end=end,
        bookings=len(views),
        lines=sum(len(v.lines) for v in views),
        csv_key=csv_key,
        jsonl_key=jsonl_key,
    )


def run_export(period: str | None = None, client_id: str | None = None) -> list[ExportResult]:
    runtime = get_runtime()
    periods = [parse_period(period)] if period else default_periods(datetime.now(ZURICH).date())
    base_url = (runtime.settings.public_url or "").rstrip("/")
    results: list[ExportResult] = []
    with runtime.db.session() as session:
        if client_id is not None:
            if get_client(session, client_id) is None:
                raise ValueError(f"unknown client {client_id!r}")
            client_ids = [client_id]
        else:
            client_ids = [c.id for c in list_clients(session)]
        for cid in client_ids:
            for start, end in periods:
                results.append(
                    export_client_period(session, runtime.store, cid, start, end, base_url)
                )
    return results


@flow(name="export-bookings")
async def export_bookings(
    period: str | None = None, client_id: str | None = None
) -> list[ExportResult]:
    """Write each client's posted bookings of the period (default: this and last month)
    as CSV and JSON Lines into the object store."""
    return run_export(period, client_id)
