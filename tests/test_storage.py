"""Repositories on SQLite and PostgreSQL: master data, documents, bookings, tasks, scope."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from domain.enums import Channel, DocumentState, Party, TaskKind
from domain.masterdata import MasterData
from domain.records import BookingDraft, BookingLine, TaskDraft
from storage import documents as repo
from storage.bookings import create_booking, posted_after, reverse_booking
from storage.db import Database
from storage.masterdata import (
    client_for_address,
    get_client,
    user_for_password,
    user_for_token,
)
from storage.scope import Scope
from storage.tables import Base, BookingLineRow, ClientRow, StaffUser, UserRow
from storage.tasks import create_task, get_task
from tests.factories import load, master_data


def new_doc(client_id: str = "C01", sha: str = "a" * 64, **kw) -> repo.NewDocument:
    return repo.NewDocument(
        client_id=client_id,
        channel=Channel.APP,
        filename="r.pdf",
        media_type="application/pdf",
        size=10,
        sha256=sha,
        **kw,
    )


def draft(amount: str = "108.10") -> BookingDraft:
    return BookingDraft(
        date=date(2026, 3, 1),
        currency="CHF",
        text="Gloor",
        lines=[
            BookingLine(account="6100", debit=Decimal("100.00")),
            BookingLine(account="1171", debit=Decimal("8.10")),
            BookingLine(account="2000", credit=Decimal(amount)),
        ],
    )


def test_migrations_match_the_tables(db):
    """The migration chain builds exactly the schema `tables.py` declares."""
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_a_database_migrates_only_when_asked_and_twice_is_harmless(tmp_path):
    """Constructing a Database leaves the schema alone; `migrate()` builds it, and a
    second `migrate()` (every process migrates at start) changes nothing."""
    database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    try:
        assert inspect(database.engine).get_table_names() == []
        database.migrate()
        tables = set(inspect(database.engine).get_table_names())
        assert {"documents", "alembic_version"} <= tables
        assert set(Base.metadata.tables) <= tables
        load(database, master_data())
        database.migrate()
        assert set(inspect(database.engine).get_table_names()) == tables
        with database.session() as s:
            assert len(s.scalars(select(ClientRow)).all()) == 2
            assert s.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        database.dispose()


def test_master_data_load_is_idempotent_and_hashes_secrets(db, load_firm):
    load_firm()
    load_firm()
    with db.session() as s:
        assert len(s.scalars(select(ClientRow)).all()) == 2
        users = s.scalars(select(UserRow)).all()
        assert len(users) == 3
        for row in [*users, *s.scalars(select(StaffUser)).all()]:
            stored = f"{row.token_hash} {row.password_hash}"
            for secret in (
                "token-hans",
                "token-lea",
                "staff-token-anna",
                "hans-pw-123456",
                "anna-pw-123456",
            ):
                assert secret not in stored
        assert user_for_token(s, "token-hans").client_id == "C01"
        assert user_for_token(s, "staff-token-anna").is_staff
        assert user_for_token(s, "nope") is None
        assert user_for_password(s, "hans", "hans-pw-123456").username == "hans"
        assert user_for_password(s, "hans", "wrong") is None
        assert client_for_address(s, "Muster-7F3A9C@in.treuhand.example") == "C01"
        assert get_client(s, "C02").mode.value == "offline"


def test_offline_client_cannot_be_made_responsible():
    data = master_data()
    data["clients"][1]["policy"] = {"supplier_invoice": "client"}
    with pytest.raises(ValueError, match="offline client cannot be responsible"):
        MasterData.model_validate(data)


def _shared_uid(data: dict) -> None:
    data["clients"][1]["uid"] = "CHE-116.281.710"  # C01's


def _foreign_inbound(data: dict) -> None:
    data["clients"][1]["inbound"] = "brot@mail.example"


def _short_password(data: dict) -> None:
    data["clients"][0]["users"][0]["password"] = "x"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_shared_uid, "client C02: UID CHE-116.281.710 is already client C01's"),
        (
            _foreign_inbound,
            "client C02: inbound address 'brot@mail.example' is not in the firm's inbound "
            "domain 'in.treuhand.example'",
        ),
        (_short_password, "user 'hans': the password has 1 characters; use at least 12"),
    ],
    ids=["uid-of-another-client", "inbound-outside-the-domain", "one-character-password"],
)
def test_setup_load_refuses_what_would_mix_up_clients_or_guard_nothing(change, message, tmp_path):
    """Regression: `setup load` accepted each of these."""
    import json
    import re

    from typer.testing import CliRunner

    from flows.cli import app

    data = master_data()
    change(data)
    with pytest.raises(ValueError, match=re.escape(message)):
        MasterData.model_validate(data)
    file = tmp_path / "firm.json"
    file.write_text(json.dumps(data), encoding="utf-8")
    result = CliRunner().invoke(app, ["setup", "load", str(file)])
    assert result.exit_code == 1 and message in " ".join(result.output.split())
    assert "input_value" not in result.output and "token-" not in result.output  # no secrets


def test_the_demo_loads_and_a_later_file_cannot_reuse_a_clients_uid(db):
    from pathlib import Path

    import yaml

    from storage.masterdata import load_master_data

    demo = Path(__file__).resolve().parent.parent / "examples" / "demo.yaml"
    data = yaml.safe_load(demo.read_text(encoding="utf-8"))
    with db.session() as s:
        load_master_data(s, MasterData.model_validate(data))
    newcomer = {
        "fiduciary": data["fiduciary"],
        "clients": [{"id": "C09", "name": "Kopie AG", "mode": "offline", "uid": "CHE-116.281.710"}],
    }
    with db.session() as s, pytest.raises(ValueError, match=r"UID CHE-116\.281\.710 is already"):
        load_master_data(s, MasterData.model_validate(newcomer))


def test_same_bytes_twice_is_a_duplicate_and_other_client_is_not(db, load_firm):
    load_firm()
    with db.session() as s:
        first = repo.record_document(s, new_doc())
        second = repo.record_document(s, new_doc())
        other = repo.record_document(s, new_doc(client_id="C02"))
    assert first.state is DocumentState.RECEIVED
    assert second.state is DocumentState.DUPLICATE and second.duplicate_of == first.document_id
    assert other.state is DocumentState.RECEIVED  # tenant data never crosses clients


def test_idempotency_key(db, load_firm):
    load_firm()
    with db.session() as s:
        a = repo.record_document(s, new_doc(idempotency_key="k1"))
        b = repo.record_document(s, new_doc(idempotency_key="k1"))
        assert (a.document_id, b.created) == (b.document_id, False)
        with pytest.raises(repo.IdempotencyConflict):
            repo.record_document(s, new_doc(sha="b" * 64, idempotency_key="k1"))


def test_claim_is_exclusive_until_the_lease_runs_out(db, load_firm):
    load_firm()
    with db.session() as s:
        doc = repo.record_document(s, new_doc()).document_id
    with db.session() as s:
        assert repo.claim(s, doc, "w1", timedelta(minutes=5))
    with db.session() as s:
        assert not repo.claim(s, doc, "w2", timedelta(minutes=5))
        assert repo.claim_batch(s, "w2", timedelta(minutes=5), 10) == []
    with db.session() as s:  # w1 dies: its lease expires
        assert repo.claim(s, doc, "w1", timedelta(seconds=-1)) is False
        row = repo.lock_document(s, doc)
        row.lease_until = row.lease_until - timedelta(minutes=10)
    with db.session() as s:
        assert repo.claim_batch(s, "w2", timedelta(minutes=5), 10) == [doc]
        assert repo.holds_lease(s, doc, "w2")


def test_booking_at_most_once_and_sequence_in_order(db, load_firm):
    load_firm()
    with db.session() as s:
        doc = repo.record_document(s, new_doc()).document_id
    with db.session() as s:
        b1, created1 = create_booking(s, "C01", doc, draft(), origin_key=f"doc:{doc}", post=True)
        b2, created2 = create_booking(s, "C01", doc, draft(), origin_key=f"doc:{doc}", post=True)
    assert created1 and not created2 and b1.id == b2.id and b1.seq is not None
    with db.session() as s:  # the constraint holds even when the check is bypassed
        s.add(
            type(b1)(
                client_id="C01",
                document_id=doc,
                origin_key=f"doc:{doc}",
                status="draft",
                date=date(2026, 3, 1),
                currency="CHF",
            )
        )
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()
    with db.session() as s:
        reversal = reverse_booking(s, b1.id)
    with db.session() as s:
        out = posted_after(s, Scope.staff(), 0, 10)
        assert [b.id for b in out] == [b1.id, reversal.id]
        assert out[0].status == "reversed" and reversal.seq > b1.seq
        assert posted_after(s, Scope.staff(), reversal.seq, 10) == []
        assert posted_after(s, Scope.client("C02"), 0, 10) == []


def test_unbalanced_booking_is_impossible(db):
    with pytest.raises(ValueError, match="debits"):
        draft(amount="108.00")
    with db.session() as s:  # and the database refuses a line with both sides
        s.add(
            BookingLineRow(
                booking_id=1,
                client_id="x",
                line_no=1,
                account="1",
                debit=Decimal(1),
                credit=Decimal(1),
            )
        )
        with pytest.raises(IntegrityError):
            s.flush()
        s.rollback()


def test_task_dedupe_and_scope(db, load_firm):
    load_firm()
    t = TaskDraft(kind=TaskKind.REVIEW_DOCUMENT, assignee=Party.FIDUCIARY, reason="check")
    with db.session() as s:
        a, new_a = create_task(s, "C01", t, dedupe_key="doc:1:review")
        b, new_b = create_task(s, "C01", t, dedupe_key="doc:1:review")
    assert new_a and not new_b and a.id == b.id
    with db.session() as s:
        assert get_task(s, Scope.client("C01"), a.id) is not None
        assert get_task(s, Scope.client("C02"), a.id) is None
        assert get_task(s, Scope.staff(), a.id) is not None
