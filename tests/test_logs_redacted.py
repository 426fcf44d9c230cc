"""Logs and artifacts name the document and the client, and never contain document text,
amounts, IBANs or secrets — also when a step fails with such things in its error.

A `process-inbox` run over two clients' invoices (one of them failing with an IBAN and an
amount in its exception) is captured twice: every log record this process emits (console
and Prefect's API handler see the same records) and what the Prefect API stores and shows
(the run's logs and artifacts).
"""

import asyncio
import logging
from decimal import Decimal

import pytest
from sqlalchemy import select

from flows.process_batch import process_inbox
from storage.tables import ExtractionRow
from tests.factories import chf, invoice, master_data, take_in
from tests.test_ops_support import flow_run_artifacts, flow_run_logs, wait_for

pytestmark = [pytest.mark.prefect, pytest.mark.xdist_group("prefect")]

IBAN = "CH93 0076 2011 6238 5295 7"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def _forbidden(runtime, documents, failing_total: Decimal) -> set[str]:
    words = {IBAN, IBAN.replace(" ", ""), chf(failing_total), f"{failing_total:.2f}"}
    for document in documents:
        truth = document.truth
        words |= {chf(abs(truth.total)), f"{abs(truth.total):.2f}"}
        words |= {chf(v["amount"]) for v in truth.vat} | {chf(v["base"]) for v in truth.vat}
        if truth.supplier_iban:
            words.add(truth.supplier_iban)
        if truth.reference:
            words.add(truth.reference)
    with runtime.db.session() as s:
        for text in s.scalars(select(ExtractionRow.text)):
            # Every substantial line of what was read from the documents.
            words |= {line.strip() for line in text.splitlines() if len(line.strip()) >= 16}
    firm = master_data()
    for person in firm["staff"] + [u for c in firm["clients"] for u in c["users"]]:
        words |= {v for k, v in person.items() if k in ("token", "password") and v}
    return words


def test_logs_and_artifacts_never_show_document_content(
    prefect_harness, runtime, load_firm, monkeypatch
):
    load_firm()
    documents = [invoice("C02", number=1, seed=9), invoice("C01", number=2, seed=9)]
    ids = [take_in(runtime, "C02", documents[0].data), take_in(runtime, "C01", documents[1].data)]
    failing = invoice("C02", number=3, seed=9)
    failing_id = take_in(runtime, "C02", failing.data, filename="kaputt.pdf")
    failing_total = Decimal("4321.65")
    real_get = runtime.store.get_original

    def get_original(sha256: str) -> bytes:
        data = real_get(sha256)
        if data == failing.data:
            raise ValueError(f"unexpected payee {IBAN} for CHF {chf(failing_total)}")
        return data

    monkeypatch.setattr(runtime.store, "get_original", get_original)
    capture = Capture()
    loggers = [logging.getLogger(), logging.getLogger("prefect")]
    for logger in loggers:
        logger.addHandler(capture)
    try:
        state = asyncio.run(process_inbox(return_state=True))
    finally:
        for logger in loggers:
            logger.removeHandler(capture)
    assert state.is_completed()
    run_id = state.state_details.flow_run_id

    api_logs = wait_for(
        lambda: (
            (logs := flow_run_logs(run_id)) and any("process-inbox: 3" in m for m in logs) and logs
        )
    )
    artifacts = wait_for(
        lambda: len(flow_run_artifacts(run_id)) >= 2 and flow_run_artifacts(run_id)
    )
    shown = [
        *capture.lines,
        *api_logs,
        *(str(a.data) for a in artifacts),
        *(a.description or "" for a in artifacts),
    ]
    text = "\n".join(shown)

    # Operators can tell which document and client a line is about...
    for document_id, client_id in zip([*ids, failing_id], ["C02", "C01", "C02"], strict=True):
        assert f"document {document_id} (" in text and f"client {client_id}" in text
    assert "kaputt.pdf" in text  # the file name is how people refer to a document
    summary = next(a for a in artifacts if a.type == "table")
    assert "ValueError" in str(summary.data)  # the failure and its (redacted) reason
    # ...and never what is in it.
    leaks = {word for word in _forbidden(runtime, documents, failing_total) if word in text}
    assert not leaks, leaks
