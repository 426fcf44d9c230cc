"""Helpers of the operations tests (Prefect reads), and the pure pieces of operations
tested without Prefect: redaction, the OCR probe, periods, labels. The documents they take
in come from tests/factories.py.
"""

import asyncio
import logging
import time
from datetime import date
from typing import Any

import pytest

from domain.enums import DocumentState
from flows.artifacts import artifact_key, inbox_summary, outcome_label, redact, short_reason
from flows.close_period import Period
from flows.steps import Outcome
from tests.factories import invoice_pdf, scan_png

# --- reading Prefect's API ----------------------------------------------------------------


def prefect_call(fn: Any) -> Any:
    """Run `await fn(client)` with a client of the current Prefect API."""
    from prefect.client.orchestration import get_client

    async def go() -> Any:
        async with get_client() as client:
            return await fn(client)

    return asyncio.run(go())


def document_outcomes(runtime: Any, ids: list[int]) -> dict[int, tuple[str, int, int]]:
    """Each document's state, attempts and bookings: what "processed once" is checked by."""
    from sqlalchemy import func, select

    from storage.tables import BookingRow, DocumentRow

    with runtime.db.session() as session:
        out = {}
        for document_id in ids:
            row = session.get(DocumentRow, document_id)
            bookings = session.scalar(
                select(func.count())
                .select_from(BookingRow)
                .where(BookingRow.document_id == document_id)
            )
            out[document_id] = (row.state, row.attempts, bookings)
        return out


def wait_for(predicate: Any, timeout: float = 15.0, every: float = 0.25) -> Any:
    """Poll until `predicate()` is truthy (the API shows runs seconds after they end)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


def flow_run_artifacts(flow_run_id: Any) -> list[Any]:
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    return prefect_call(
        lambda c: c.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    )


def flow_run_logs(flow_run_id: Any) -> list[str]:
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    logs = prefect_call(
        lambda c: c.read_logs(
            log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])), limit=200
        )
    )
    return [log.message for log in logs]


# --- pure pieces --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("pay to CH93 0076 2011 6238 5295 7 now", "CH93 0076"),
        ("pay to CH9300762011623852957 now", "CH9300762011623852957"),
        ("Total CHF 1'234.50", "1'234.50"),
        ("Total 1234.50 and 1.234,50", "1234.50"),
        ("Betrag 12.– bar", "12.–"),
        (
            "(psycopg.OperationalError) timeout [SQL: INSERT INTO extractions (text) VALUES "
            "(%(text)s)] [parameters: {'text': 'Rechnung Gloor'}]",
            "Rechnung Gloor",
        ),
        ("postgresql://fiduflow:s3cret@db/fiduflow", "s3cret"),
        ("Authorization: Bearer demo-token-hans", "demo-token-hans"),
    ],
)
def test_redact_hides_document_content_and_secrets(text: str, hidden: str) -> None:
    assert hidden not in redact(text)


def test_redact_keeps_what_operators_need() -> None:
    text = "document 17 (rechnung.pdf) of client C01: routed on 01.02.2026"
    assert redact(text) == text
    assert len(short_reason("x" * 1000)) <= 300


def test_log_records_are_redacted_whoever_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    from flows.artifacts import install_log_redaction

    install_log_redaction()
    logger = logging.getLogger("some.library")
    with caplog.at_level(logging.INFO):
        logger.info("paid %s to %s", "1'234.50", "CH93 0076 2011 6238 5295 7")
        try:
            raise ValueError("bad IBAN CH93 0076 2011 6238 5295 7")
        except ValueError:
            logger.exception("document 3 of client C01 failed")
    assert "CH93" not in caplog.text and "1'234.50" not in caplog.text
    assert "document 3 of client C01 failed" in caplog.text


def test_ocr_probe_tells_scans_from_text_pdfs() -> None:
    from extractors.probe import needs_ocr, ocr_pages

    pdf, _ = invoice_pdf("C02")
    assert not needs_ocr(pdf)
    assert needs_ocr(scan_png()) and ocr_pages(scan_png()) == 1
    assert not needs_ocr(b"%PDF-1.7 broken")
    assert not needs_ocr(b"<Invoice/>")


def test_periods() -> None:
    assert Period.previous_month(date(2026, 3, 2)).name == "2026-02"
    assert Period.previous_month(date(2026, 1, 15)).last == date(2025, 12, 31)
    feb = Period.parse("2024-02")
    assert (feb.first, feb.last) == (date(2024, 2, 1), date(2024, 2, 29))
    # The end is midnight in Zurich (CET in winter): 23:00 UTC the day before.
    assert feb.end_utc.isoformat() == "2024-02-29T23:00:00+00:00"
    with pytest.raises(ValueError, match="YYYY-MM"):
        Period.parse("2024-13")
    assert artifact_key("close", "C01", "2026-01") == "close-c01-2026-01"


def test_inbox_summary_rows_by_outcome_and_failures() -> None:
    def outcome(i: int, state: str, **kw: Any) -> Outcome:
        return Outcome(document_id=i, client_id="C01", state=DocumentState(state), **kw)

    outcomes = [
        outcome(1, "routed", booking_ids=[1], booking_status="posted"),
        outcome(2, "routed", booking_ids=[2], booking_status="draft", task_ids=[5]),
        outcome(
            3, "failed", error="OperationalError: [parameters: ('CH93 0076 2011 6238 5295 7',)]"
        ),
        outcome(4, "received", error="ObjectStoreUnavailable: down"),
    ]
    rows = inbox_summary(outcomes)
    assert {r["outcome"] for r in rows} >= {
        "booked",
        "task, booking as draft",
        "failed",
        "retry later",
    }
    assert all(set(r) == {"outcome", "documents", "ids", "clients", "reason"} for r in rows)
    failed = [r for r in rows if r["outcome"] == "failed" and r["reason"]]
    assert failed and "CH93" not in failed[0]["reason"]
    assert outcome_label(outcome(9, "routed", skipped=True)).startswith("skipped")
