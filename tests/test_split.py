"""A scanned pile split into its documents when staff ask (issue 15, item 6), on SQLite and
PostgreSQL: the API and web upload's `split`, the pipeline's split step (children through
the intake, the pile routed with rule `split`), its idempotence after crashes, the
one-document and unasked cases, who may ask, and `fiduflow process --split`.
"""

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from domain.enums import BookingStatus, Channel, DocumentState
from domain.settings import Settings
from extractors import split_pdf
from flows import splitting
from flows.pipeline import process_one
from flows.runtime import Runtime, set_runtime
from flows.steps import Outcome
from ingest.api import create_app
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import BookingRow, DocumentRow, TaskRow
from tests.docgen.drafts import build_pdf
from tests.docgen.invoices import build_invoice
from tests.docgen.letters import build_letter
from tests.docgen.receipts import build_receipt
from tests.docgen.statements import payslip
from tests.factories import GLOOR_COMPANY, RECIPIENTS, firm_with_passwords, invoice_pdf, load
from tests.workspace_helpers import login

pytestmark = [pytest.mark.http, pytest.mark.timeout(240)]

ANNA = {"Authorization": "Bearer staff-token-anna"}  # staff
HANS = {"Authorization": "Bearer token-hans"}  # C01, online, company access
FRITZ = {"Authorization": "Bearer token-fritz"}  # C02, offline, employee


@dataclass(frozen=True)
class Pile:
    data: bytes
    pages: list[tuple[int, int]]
    invoice_total: Decimal


def mixed_pile(seed: int = 5) -> Pile:
    """A Gloor invoice to the offline client, a shop receipt and a letter: one PDF."""
    r = random.Random(seed)
    invoice = build_invoice(r, supplier=GLOOR_COMPANY, recipient=RECIPIENTS["C02"], lines=2).draft
    receipt = build_receipt(r)
    letter = build_letter(r, kind="letter", recipient=RECIPIENTS["C02"])
    data, pages = build_pdf([invoice, receipt, letter], seed)
    assert invoice.truth.total is not None
    return Pile(data, pages, invoice.truth.total)


@dataclass
class Rig:
    db: Database
    store: FilesystemObjectStore
    settings: Settings
    http: TestClient
    asked: list[int]

    def upload(
        self, data: bytes, *, headers: dict[str, str] = ANNA, client: str | None = "C02", **form
    ) -> Any:
        return self.http.post(
            "/api/v1/documents" + (f"?client={client}" if client else ""),
            files={"file": ("Scan Brot.pdf", data, "application/pdf")},
            data=form,
            headers=headers,
        )

    def process(self, document_id: int) -> Outcome:
        set_runtime(Runtime(settings=self.settings, db=self.db, store=self.store))
        try:
            return process_one(document_id, step_runs=False)
        finally:
            set_runtime(None)

    def children(self, parent_id: int) -> list[DocumentRow]:
        with self.db.session() as session:
            rows = list(
                session.scalars(
                    select(DocumentRow)
                    .where(DocumentRow.parent_id == parent_id)
                    .order_by(DocumentRow.id)
                )
            )
            session.expunge_all()
            return rows

    def count(self, table: Any, document_id: int) -> int:
        with self.db.session() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(table).where(table.document_id == document_id)
                )
            )

    def reopen(self, document_id: int) -> None:
        """The state a crash leaves: `received`, retry due now."""
        with self.db.session() as session:
            row = session.get(DocumentRow, document_id)
            assert row is not None
            row.state = DocumentState.RECEIVED.value
            row.next_attempt_at = None
            row.lease_owner = row.lease_until = None
            row.routing = None


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    load(db, firm_with_passwords())
    asked: list[int] = []
    with TestClient(create_app(db, fs_store, settings, asked.append)) as http:
        yield Rig(db, fs_store, settings, http, asked)


# --- pure pieces ---------------------------------------------------------------------


def test_the_same_cut_gives_the_same_bytes() -> None:
    pile = mixed_pile()
    first, second = split_pdf(pile.data, pile.pages), split_pdf(pile.data, pile.pages)
    assert first == second  # a retried split makes the same documents (same SHA-256)
    assert len(set(first)) == 3


def test_part_names_and_the_unsplit_reasons() -> None:
    assert splitting.part_filename("Scan Brot.pdf", 2, 3) == "Scan Brot (Teil 2 von 3).pdf"
    assert splitting.part_filename("scan.PDF", 1, 2) == "scan (Teil 1 von 2).pdf"
    assert splitting.unsplit_reason([], "application/pdf") == "asked to split; one document found"
    assert splitting.unsplit_reason([(1, 1), (2, 2)], "image/tiff") == splitting.NOT_A_PDF
    assert splitting.can_split([(1, 1), (2, 2)], "application/pdf")
    assert not splitting.can_split([(1, 2)], "application/pdf")
    assert not splitting.can_split([(1, 1), (2, 2)], "image/tiff")


# --- the whole way -------------------------------------------------------------------


def test_staff_split_a_pile_for_an_offline_client_into_three_routed_documents(rig: Rig):
    pile = mixed_pile()
    answer = rig.upload(pile.data, split="true")
    assert answer.status_code == 201, answer.text
    parent = answer.json()["id"]
    assert rig.asked == [parent]  # processing is asked for like any upload

    outcome = rig.process(parent)

    assert outcome.state is DocumentState.ROUTED and outcome.rule == "split"
    children = rig.children(parent)
    ids = [c.id for c in children]
    assert outcome.children == ids and len(ids) == 3
    for k, (child, pages) in enumerate(zip(children, pile.pages, strict=True), start=1):
        assert child.client_id == "C02" and child.channel == "app"
        assert child.submitted_by == "anna" and child.state == DocumentState.RECEIVED.value
        assert child.filename == f"Scan Brot (Teil {k} von 3).pdf"
        assert child.meta == {"split_of": parent, "part": k, "parts": 3, "pages": list(pages)}
        assert not splitting.split_requested(child.meta)  # the parts are not split again

    view = rig.http.get(f"/api/v1/documents/{parent}", headers=ANNA).json()
    assert view["state"] == "routed" and view["children"] == ids
    assert view["routing"]["rule"] == "split"
    assert view["routing"]["reasons"] == [f"split into documents {ids[0]}, {ids[1]}, {ids[2]}"]
    assert view["booking_ids"] == [] and view["task_ids"] == []
    assert view["extraction"]["parts"] == [list(p) for p in pile.pages]
    assert rig.count(BookingRow, parent) == 0 and rig.count(TaskRow, parent) == 0

    # Each part is then processed on its own, as the sweep would.
    outcomes = [rig.process(i) for i in ids]
    for child_outcome in outcomes:
        assert child_outcome.state is DocumentState.ROUTED, child_outcome
        assert child_outcome.rule != "split" and child_outcome.children == []
        assert child_outcome.booking_ids or child_outcome.task_ids, child_outcome
    invoice = outcomes[0]
    assert invoice.doc_type == "supplier_invoice" and invoice.supplier_id == "S001"
    assert invoice.booking_status == BookingStatus.POSTED.value  # offline: booked by us
    with rig.db.session() as session:
        booking = session.get(BookingRow, invoice.booking_ids[0])
        assert booking is not None
        assert sum(line.credit for line in booking.lines) == pile.invoice_total
    child_view = rig.http.get(f"/api/v1/documents/{ids[0]}", headers=ANNA).json()
    assert child_view["parent_id"] == parent and child_view["children"] == []


def test_a_retry_after_a_crash_never_takes_the_parts_in_twice(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
):
    pile = mixed_pile(7)
    parent = rig.upload(pile.data, split="true").json()["id"]

    # The worker dies after the second part was recorded, before the third.
    real_intake = splitting.intake
    taken: list[int] = []

    def dying_intake(*args: Any, **kwargs: Any) -> Any:
        if len(taken) == 2:
            raise RuntimeError("worker died")
        recorded = real_intake(*args, **kwargs)
        taken.append(recorded.document_id)
        return recorded

    monkeypatch.setattr(splitting, "intake", dying_intake)
    assert rig.process(parent).state is DocumentState.RECEIVED  # to be tried again
    assert [c.id for c in rig.children(parent)] == taken
    monkeypatch.setattr(splitting, "intake", real_intake)

    rig.reopen(parent)
    again = rig.process(parent)
    children = rig.children(parent)
    assert again.rule == "split" and [c.meta["part"] for c in children] == [1, 2, 3]
    assert [c.id for c in children][:2] == taken  # the first two kept, the third added

    # A crash after the pile's documents were all recorded, before the pile was routed:
    # done again, the split finds its three documents and makes none.
    rig.reopen(parent)
    third = rig.process(parent)
    assert third.rule == "split" and third.children == [c.id for c in children]
    assert [c.id for c in rig.children(parent)] == [c.id for c in children]
    with rig.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 4


def test_a_one_document_pdf_asked_to_split_is_processed_as_usual(rig: Rig):
    data, total = invoice_pdf("C02", number=1, seed=3)
    parent = rig.upload(data, split="true").json()["id"]

    outcome = rig.process(parent)

    assert outcome.state is DocumentState.ROUTED and outcome.doc_type == "supplier_invoice"
    assert outcome.rule != "split" and outcome.children == []
    assert outcome.reasons[-1] == "asked to split; one document found"
    assert outcome.booking_status == BookingStatus.POSTED.value
    assert rig.children(parent) == []
    with rig.db.session() as session:
        booking = session.get(BookingRow, outcome.booking_ids[0])
        assert booking is not None and sum(x.credit for x in booking.lines) == total


def test_without_the_request_a_pile_is_never_split(rig: Rig):
    pile = mixed_pile(9)
    parent = rig.upload(pile.data).json()["id"]

    outcome = rig.process(parent)

    assert outcome.state is DocumentState.ROUTED and outcome.rule != "split"
    assert outcome.children == [] and rig.children(parent) == []
    assert "asked to split; one document found" not in outcome.reasons
    view = rig.http.get(f"/api/v1/documents/{parent}", headers=ANNA).json()
    assert view["children"] == [] and len(view["extraction"]["parts"]) == 3  # seen, not cut
    with rig.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 1


# --- who may ask ---------------------------------------------------------------------


@pytest.mark.parametrize("headers", [HANS, FRITZ], ids=["company-user", "employee"])
def test_a_clients_user_cannot_ask_for_a_split(rig: Rig, headers: dict[str, str]):
    pile = mixed_pile()
    answer = rig.upload(pile.data, headers=headers, client=None, split="true")

    assert answer.status_code == 403
    assert "staff" in answer.json()["detail"]
    with rig.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 0
    # Without `split` the same upload is taken in (and never split).
    plain = rig.upload(pile.data, headers=headers, client=None)
    assert plain.status_code == 201 and plain.json()["children"] == []


def test_the_web_checkbox_is_shown_to_staff_only_and_asks_for_the_split(rig: Rig):
    pile = mixed_pile()
    csrf = login(rig.http, "anna", "/upload")
    page = rig.http.get("/upload").text
    assert "Ein PDF, mehrere Belege" in page and 'name="split"' in page
    answer = rig.http.post(
        "/upload",
        files={"files": ("Scan Brot.pdf", pile.data, "application/pdf")},
        data={"csrf_token": csrf, "client": "C02", "split": "true"},
        headers={"Accept": "application/json"},
    )
    assert answer.status_code == 201, answer.text
    parent = answer.json()["documents"][0]["id"]
    with rig.db.session() as session:
        row = session.get(DocumentRow, parent)
        assert row is not None and row.meta == {"split": True} and row.channel == "web"
    assert rig.process(parent).rule == "split"
    listed = rig.http.get("/upload/documents").json()["documents"]
    pile_item = next(d for d in listed if d["id"] == parent)
    assert pile_item["outcome"].startswith("Aufgeteilt in 3 Belege")

    rig.http.cookies.clear()
    csrf = login(rig.http, "hans", "/upload")
    page = rig.http.get("/upload").text
    assert "Ein PDF, mehrere Belege" not in page and 'name="split"' not in page
    refused = rig.http.post(
        "/upload",
        files={"files": ("Scan.pdf", pile.data, "application/pdf")},
        data={"csrf_token": csrf, "split": "true"},
        headers={"Accept": "application/json"},
    )
    assert refused.status_code == 403
    with rig.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 4


# --- the command line ----------------------------------------------------------------


@pytest.mark.prefect
@pytest.mark.xdist_group("prefect")
def test_process_split_cuts_the_pile_and_processes_each_part(
    prefect_harness, runtime, load_firm, tmp_path
) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    load_firm()
    pile = mixed_pile(11)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(pile.data)

    result = CliRunner().invoke(app, ["process", str(scan), "--client", "C02", "--split", "--json"])

    assert result.exit_code == 0, result.output
    entries = json.loads(result.stdout)
    parent, *parts = entries
    assert parent["rule"] == "split" and parent["state"] == "routed"
    assert parent["children"] == [p["document_id"] for p in parts] and len(parts) == 3
    for k, part in enumerate(parts, start=1):
        assert part["split_of"] == parent["document_id"] and part["state"] == "routed", part
        assert re.fullmatch(rf"scan \(Teil {k} von 3\)\.pdf", part["file"])
        assert part["bookings"] or part["tasks"], part


# --- payslips stay private -----------------------------------------------------------


def merged(*pdfs: bytes) -> bytes:
    """One PDF of all pages of `pdfs`, in order (a pile run through the scanner)."""
    import io

    import pypdfium2 as pdfium

    out = pdfium.PdfDocument.new()
    for data in pdfs:
        src = pdfium.PdfDocument(data)
        out.import_pages(src)
        src.close()
    buffer = io.BytesIO()
    out.save(buffer)
    out.close()
    return buffer.getvalue()


def test_a_pile_holding_a_payslip_is_hidden_like_a_payslip(rig: Rig):
    data, _ = invoice_pdf("C01", number=1, seed=4)
    slip = payslip(random.Random(3), supplier=RECIPIENTS["C01"], language="de").data
    parent = rig.upload(merged(data, slip), client="C01", split="true").json()["id"]

    outcome = rig.process(parent)

    assert outcome.rule == "split" and len(outcome.children) == 2
    assert outcome.doc_type == "payslip"  # the pile shows the payslip's page
    # C01 does not let its company users see payslips: not the pile either.
    assert rig.http.get(f"/api/v1/documents/{parent}", headers=HANS).status_code == 404
    invoice_child = outcome.children[0]
    assert rig.http.get(f"/api/v1/documents/{invoice_child}", headers=HANS).status_code == 200
    assert rig.http.get(f"/api/v1/documents/{parent}", headers=ANNA).json()["children"] == (
        outcome.children
    )


@pytest.mark.prefect
@pytest.mark.xdist_group("prefect")
def test_a_process_document_run_splits_with_its_step_as_a_task_run(
    prefect_harness, runtime, load_firm
) -> None:
    import asyncio

    from flows.process_document import process_document
    from ingest.intake import Submission, intake

    load_firm()
    pile = mixed_pile(13)
    parent = intake(
        runtime.db,
        runtime.store,
        Submission(
            client_id="C02",
            channel=Channel.WEB,
            data=pile.data,
            filename="Stapel.pdf",
            submitted_by="anna",
            meta={"split": True},
        ),
        max_bytes=runtime.settings.max_message_bytes,
    ).document_id

    outcome = asyncio.run(process_document(parent))

    assert outcome.rule == "split" and len(outcome.children) == 3
    again = asyncio.run(process_document(parent))  # a second run of the routed pile
    assert again.skipped and again.children == outcome.children
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DocumentRow)) == 4
