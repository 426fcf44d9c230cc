"""A camt.053 bank statement taken in by upload and by mail is recognised by its content,
read as a `bank_statement` (not an unreadable "XML that is not an e-invoice"), and its
entries are stored and reconciled — on SQLite and PostgreSQL (the reconciliation itself:
tests/test_bank_statements.py)."""

from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from domain.enums import Channel
from domain.settings import Settings
from flows.pipeline import process_one
from flows.runtime import Runtime, set_runtime
from ingest.api import create_app
from ingest.intake import Submission, intake
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import BankTransactionRow, TaskRow
from tests.factories import firm_with_passwords, load

pytestmark = [pytest.mark.http]

SAMPLE = Path(__file__).parent / "data" / "camt" / "handmade_camt053_v04_postfinance_style.xml"
STAFF = {"Authorization": "Bearer staff-token-anna"}
SAMPLE_ACCOUNT = "CH1309000000851234567"  # the PostFinance-style sample's account


def firm_owning_the_sample_account() -> dict:
    data = firm_with_passwords()
    for client in data["clients"]:
        client["iban"] = SAMPLE_ACCOUNT
    return data


def _process(db: Database, store: FilesystemObjectStore, settings: Settings, doc: int) -> None:
    set_runtime(Runtime(settings=settings, db=db, store=store))
    try:
        outcome = process_one(doc, step_runs=False)
    finally:
        set_runtime(None)
    assert outcome.state.value == "routed", outcome.error


def test_an_uploaded_statement_becomes_a_bank_statement_and_its_entries_are_taken_in(
    db: Database, fs_store: FilesystemObjectStore, settings: Settings
):
    load(db, firm_owning_the_sample_account())
    with TestClient(create_app(db, fs_store, settings, None)) as http:
        answer = http.post(
            "/api/v1/documents",
            params={"client": "C02"},
            headers=STAFF,
            files={"file": ("auszug.xml", SAMPLE.read_bytes(), "application/xml")},
        )
        assert answer.status_code == 201, answer.text
        doc = answer.json()["id"]
        _process(db, fs_store, settings, doc)
        view = http.get(f"/api/v1/documents/{doc}", headers=STAFF).json()
    assert view["doc_type"] == "bank_statement"
    assert view["extraction"]["text_source"] == "xml"
    assert view["extraction"]["error"] is None
    assert view["routing"]["rule"] == "statement_reconciled"
    with db.session() as session:
        amounts = session.scalars(
            select(BankTransactionRow.amount).where(BankTransactionRow.document_id == doc)
        ).all()
        kinds = set(session.scalars(select(TaskRow.kind).where(TaskRow.document_id == doc)))
    # 11 entries, five of them batches (21 payments); they net to 790.10 (test_camt).
    assert len(amounts) >= 11
    assert sum(amounts) == Decimal("790.10")
    # Offline C02, no open documents: debits are asked for, credits go to a person.
    assert kinds == {"missing_document", "reconcile_entry"}


def test_a_statement_as_a_mail_attachment_is_read_too(
    db: Database, fs_store: FilesystemObjectStore, settings: Settings
):
    load(db, firm_owning_the_sample_account())
    recorded = intake(
        db,
        fs_store,
        Submission(
            client_id="C01",
            channel=Channel.EMAIL,
            data=SAMPLE.read_bytes(),
            filename="camt053.xml",
            sender="bank@postfinance.example",
        ),
        max_bytes=10**7,
    )
    _process(db, fs_store, settings, recorded.document_id)
    with db.session() as session:
        tasks = session.scalars(
            select(TaskRow).where(TaskRow.document_id == recorded.document_id)
        ).all()
    assert tasks and {t.kind for t in tasks} <= {"missing_document", "reconcile_entry"}
    # C01 is online: it reconciles itself, so the requests for documents are its own.
    assert {t.assignee for t in tasks if t.kind == "missing_document"} == {"client"}
