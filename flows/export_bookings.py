"""`export-bookings`: each client's bookings posted since its last export, as CSV and
JSON Lines, written to the object store.

Exports go by posting sequence, not by date (DESIGN.md, "Rules of the house"): per client
a watermark, the `counters` row `export:<client>`, holds the last `seq` exported. A run
writes every booking of the client posted with a higher `seq` — an invoice dated a year
ago and posted today, reversals (posted bookings with a `seq` of their own) — so each
posted booking is in exactly one export, with its booking date:

    exports/<client>/<first seq>/bookings.csv      one row per booking line
    exports/<client>/<first seq>/bookings.jsonl    one booking per line

(`<first seq>`: the export's lowest `seq`, 12 digits, so the names sort in posting
order.) A client with nothing new gets no files. Per client it is one transaction: lock
the watermark, select, write both files, then advance the watermark to the export's last
`seq` — only once the object store has taken both files. A write or commit that fails
leaves the watermark where it was, and the next run writes those bookings again under the
same name (the lowest new `seq` cannot change: numbers are handed out in commit order),
so a repeated export replaces its own files and no booking is ever in two of them.

A file shows each booking as it was when exported: one reversed later stays `posted` in
its export, and the reversal comes in a later one (as `GET /api/v1/bookings?after=`
shows them).
"""

import csv
import io
import json
import logging

from prefect import flow
from pydantic import BaseModel
from sqlalchemy.orm import Session

from domain.csv_cells import SafeCsvWriter
from domain.records import BookingView
from flows.artifacts import run_name_of
from flows.runtime import get_runtime
from storage.bookings import booking_view, lock_export_watermark, posted_since
from storage.masterdata import get_client, list_clients
from storage.objects import ObjectStore

log = logging.getLogger("fiduflow.export")


def _logger():  # type: ignore[no-untyped-def]
    """The Prefect run logger inside the flow (shown in the UI), else ours."""
    try:
        from prefect.logging import get_run_logger

        return get_run_logger()
    except Exception:
        return log


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
    """One export written: a client's bookings with `first_seq` <= seq <= `last_seq`."""

    client_id: str
    first_seq: int
    last_seq: int
    bookings: int
    lines: int
    csv_key: str
    jsonl_key: str


def render_csv(views: list[BookingView]) -> bytes:
    out = io.StringIO()
    writer = SafeCsvWriter(csv.writer(out, lineterminator="\n"))  # no formulas (OWASP)
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


def export_key(client_id: str, first_seq: int, suffix: str) -> str:
    return f"exports/{client_id}/{first_seq:012d}/bookings.{suffix}"


def export_client(
    session: Session, store: ObjectStore, client_id: str, base_url: str = ""
) -> ExportResult | None:
    """Write what the client posted since its last export and advance its watermark, in
    the caller's transaction (committed by the caller); None when nothing is new."""
    watermark = lock_export_watermark(session, client_id)
    views = [
        booking_view(row, base_url) for row in posted_since(session, client_id, watermark.value)
    ]
    if not views:
        return None
    first, last = views[0].seq, views[-1].seq
    assert first is not None and last is not None
    csv_key = export_key(client_id, first, "csv")
    jsonl_key = export_key(client_id, first, "jsonl")
    store.put_file(csv_key, render_csv(views), "text/csv; charset=utf-8")
    store.put_file(jsonl_key, render_jsonl(views), "application/x-ndjson")
    watermark.value = last  # only now: both files are in the store
    session.flush()
    return ExportResult(
        client_id=client_id,
        first_seq=first,
        last_seq=last,
        bookings=len(views),
        lines=sum(len(v.lines) for v in views),
        csv_key=csv_key,
        jsonl_key=jsonl_key,
    )


def run_export(client_id: str | None = None) -> list[ExportResult]:
    """Export every client (or one) as far as it has posted; the exports written.

    Each client in a transaction of its own: one whose export fails (the object store
    refused a file) keeps its watermark and is tried again next run, the others' exports
    stand; the run then fails naming it."""
    runtime = get_runtime()
    base_url = (runtime.settings.public_url or "").rstrip("/")
    with runtime.db.session() as session:
        if client_id is not None:
            if get_client(session, client_id) is None:
                raise ValueError(f"unknown client {client_id!r}")
            client_ids = [client_id]
        else:
            client_ids = [c.id for c in list_clients(session)]
    logger = _logger()
    results: list[ExportResult] = []
    failed: list[str] = []
    for cid in client_ids:
        try:
            with runtime.db.session() as session:
                result = export_client(session, runtime.store, cid, base_url)
        except Exception as exc:
            logger.error("export of client %s failed (%s); next run tries again", cid, exc)
            failed.append(f"{cid} ({exc.__class__.__name__}: {exc})")
            continue
        if result is None:
            logger.info("client %s: nothing posted since its last export", cid)
        else:
            logger.info(
                "client %s: %s bookings (seq %s-%s) to %s",
                cid,
                result.bookings,
                result.first_seq,
                result.last_seq,
                result.csv_key,
            )
            results.append(result)
    if failed:
        raise RuntimeError(f"export failed for {', '.join(failed)}")
    return results


@flow(name="export-bookings", flow_run_name=run_name_of("export", "client_id"))
async def export_bookings(client_id: str | None = None) -> list[ExportResult]:
    """Write each client's bookings posted since its last export (or one client's) as
    CSV and JSON Lines into the object store; a client with nothing new gets no files."""
    return run_export(client_id)
