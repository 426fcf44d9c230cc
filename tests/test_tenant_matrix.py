"""Tenant isolation over every HTTP route, generated from the app's OpenAPI schema, and
mass-assignment attempts — on SQLite and PostgreSQL.

The routes come from `app.openapi()`, not from a list in this file: a new route is in the
matrix the day it is added. Each path parameter names the kind of object it addresses
(`document_id` → a document, …); a parameter this file does not know fails the test,
so nobody can add an id route without saying which client owns what it addresses.

For every route with an id, every method:
- a client user's token on another client's id answers exactly what a missing id
  answers (status and message, id aside): 404 — or, for a route the user's access does
  not include at all, the same 403 for every id; never 200, never a different word;
- staff see the object (never 404).
For every route without an id: what a client user gets back never names another client,
whatever `?client=` says. Bodies that carry `client_id`, `state`, `sha256` (and friends)
are ignored or refused (422), never obeyed.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from domain.enums import Channel, Party, TaskKind
from domain.records import BookingDraft, BookingLine, TaskDraft
from domain.settings import Settings
from ingest.intake import Submission, intake
from storage.bookings import create_booking
from storage.db import Database
from storage.objects import FilesystemObjectStore
from storage.tables import BankTransactionRow, BookingRow, DocumentRow, SupplierRow, TaskRow
from storage.tasks import create_task
from tests.factories import firm_with_passwords, load
from tests.intake_helpers import invoice_pdf, pdf_bytes
from web.app import create_app  # intake and the workspace: every route of the product

pytestmark = [pytest.mark.http, pytest.mark.timeout(180)]

# Company access of online C01; employee access of offline C02; staff; and employee
# access of C01 (lea), who must see none of what her company's others submitted.
TOKENS = {
    "C01": "token-hans",
    "C02": "token-fritz",
    "staff": "staff-token-anna",
    "C01-employee": "token-lea",
}
USERS = {"C01": "hans", "C02": "fritz", "C01-employee": "lea"}
# Path parameter → the kind of object it addresses. A new kind must be added here (and
# to `_objects_of`): the test fails for an unknown one rather than skip it.
PARAMETER_KINDS = {
    "document_id": "document",
    "task_id": "task",
    "booking_id": "booking",
    "supplier_id": "supplier",
    "client_id": "client",  # the client itself (its posting rules)
    "transaction_id": "transaction",  # a bank transaction of one of its statements
}
# Path parameters that pick a part of the object, not an object of a client: the same
# value on every client's object (and on a missing one).
SELECTORS = {"field": "account", "n": "1"}  # n: a page of a document
MISSING_ID = 987_654
# (viewer, owner): clients on each other's objects, and an employee on what her company's
# other users submitted (and what is addressed to them): employee access is upload only.
PAIRS = (("C01", "C02"), ("C02", "C01"), ("C01-employee", "C01"), ("C01-employee", "C02"))
# What a body must never set: ownership, processing state, content identity.
HOSTILE_FIELDS = {
    "client_id": "C02",
    "client": "C02",
    "state": "routed",
    "status": "done",
    "sha256": "0" * 64,
    "channel": "batch",
    "id": 1,
    "document_id": 1,
    "duplicate_of": 1,
    "booking_ids": [1],
    "assignee": "fiduciary",
    "submitted_by": "anna",
}


def _headers(who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


@dataclass
class Rig:
    http: TestClient
    db: Database
    objects: dict[str, dict[str, int | str]]  # client → kind → id


def _objects_of(
    db: Database, store: FilesystemObjectStore, client_id: str, user: str
) -> dict[str, int | str]:
    """One of each kind for the client: a document `user` submitted, a task for the
    client addressed to `user`, a posted booking, a supplier of its own, the client
    itself, and a bank transaction still waiting for its document (what every id route
    addresses)."""
    recorded = intake(
        db,
        store,
        Submission(
            client_id=client_id,
            channel=Channel.APP,
            # A real one-page PDF (unique per user): page images are drawn from it.
            data=invoice_pdf(f"matrix-{client_id}-{user}"),
            filename="x.pdf",
            submitted_by=user,
        ),
        max_bytes=10**7,
    )
    with db.session() as session:
        booking, _ = create_booking(
            session,
            client_id,
            recorded.document_id,
            BookingDraft(
                date=date(2026, 3, 1),
                currency="CHF",
                lines=[
                    BookingLine(account="6100", debit=Decimal("100.00")),
                    BookingLine(account="2000", credit=Decimal("100.00")),
                ],
            ),
            origin_key=f"doc:{recorded.document_id}",
            post=True,
        )
        task, _ = create_task(
            session,
            client_id,
            TaskDraft(
                kind=TaskKind.REVIEW_DOCUMENT,
                assignee=Party.CLIENT,
                reason="check",
                assignee_user=user,
            ),
            dedupe_key=f"doc:{recorded.document_id}:review",
            document_id=recorded.document_id,
        )
        # A supplier only this client may see: one proposed from its document (the
        # firm's S001 is both clients'). A number for an id, like the other kinds.
        supplier_id = str(800_000 + recorded.document_id)
        session.add(
            SupplierRow(
                id=supplier_id,
                name=f"Eigenlieferant {user}",
                name_normalized=f"eigenlieferant {user}",
                status="proposed",
                proposed_by_client_id=client_id,
                proposed_from_document_id=recorded.document_id,
            )
        )
        # Waiting for its document, so that matching it is a real option for its client.
        transaction = BankTransactionRow(
            client_id=client_id,
            document_id=recorded.document_id,
            account_iban="CH4431999123000889012",
            entry_key=f"matrix-{recorded.document_id}",
            part=0,
            booking_date=date(2026, 3, 2),
            amount=Decimal("-100.00"),
            currency="CHF",
            counterparty_name="Gloor Elektro AG",
            remittance="Rechnung",
            status="missing_document",
            reason="no document",
            matches=[],
            suggestions=[],
        )
        session.add(transaction)
        session.flush()
        return {
            "document": recorded.document_id,
            "task": task.id,
            "booking": booking.id,
            "supplier": int(supplier_id),
            "client": client_id,
            "transaction": transaction.id,
        }


@pytest.fixture
def rig(db: Database, fs_store: FilesystemObjectStore, settings: Settings) -> Iterator[Rig]:
    load(db, firm_with_passwords())
    objects = {who: _objects_of(db, fs_store, who[:3], user) for who, user in USERS.items()}
    app = create_app(db, fs_store, settings, None)
    with TestClient(app, raise_server_exceptions=False) as http:
        yield Rig(http, db, objects)


def _operations(app_schema: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    """(method, path template, path parameter names) for every operation in the schema."""
    operations = []
    for path, item in app_schema["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
            operations.append((method.upper(), path, params))
    return operations


def _fill(path: str, params: list[str], objects: dict[str, int | str]) -> str:
    for name in params:
        if name in SELECTORS:
            path = path.replace("{" + name + "}", SELECTORS[name])
            continue
        kind = PARAMETER_KINDS.get(name)
        assert kind is not None, (
            f"{path}: path parameter {name!r} addresses an object this matrix does not know; "
            "add it to PARAMETER_KINDS and _objects_of so its route is isolation-tested"
        )
        path = path.replace("{" + name + "}", str(objects[kind]))
    return path


def _masked(response: Any, *ids: int | str) -> tuple[int, str]:
    detail = ""
    if response.headers.get("content-type", "").startswith("application/json"):
        body = response.json()
        detail = body.get("detail", "") if isinstance(body, dict) else ""
    # Longest first: the "1" of "/api/v1" must not eat into an id such as 800001.
    for object_id in sorted(ids, key=lambda i: -len(str(i))):
        detail = detail.replace(str(object_id), "N")
    return response.status_code, str(detail)


def _body_for(method: str) -> dict[str, Any]:
    # A body each write route accepts (a reject needs its reason), plus hostile fields: the
    # answer must come from the id, not from the body's validation.
    body = {**HOSTILE_FIELDS, "reason": "private"}
    return {"json": body} if method in ("POST", "PUT", "PATCH") else {}


def test_every_id_route_hides_other_clients_objects(rig: Rig):
    operations = _operations(rig.http.app.openapi())
    id_operations = [op for op in operations if op[2]]
    assert len(id_operations) >= 5, id_operations  # the schema really was read
    checked = []
    for method, template, params in id_operations:
        for viewer, owner in PAIRS:
            foreign = _fill(template, params, rig.objects[owner])
            missing = _fill(template, params, dict.fromkeys(PARAMETER_KINDS.values(), MISSING_ID))
            seen = rig.http.request(method, foreign, headers=_headers(viewer), **_body_for(method))
            absent = rig.http.request(
                method, missing, headers=_headers(viewer), **_body_for(method)
            )
            # The numbers in the path, and text ids (a client's) whole: "C02", not "02".
            foreign_ids: list[int | str] = [int(i) for i in re.findall(r"\d+", foreign)]
            foreign_ids += [i for i in rig.objects[owner].values() if isinstance(i, str)]
            assert seen.status_code in (403, 404), (method, foreign, viewer, seen.status_code)
            # No oracle: another client's object looks exactly like one that does not exist.
            assert _masked(seen, *foreign_ids) == _masked(absent, MISSING_ID), (
                method,
                template,
                viewer,
            )
            checked.append((method, template, viewer))
        # Staff reach every client's object.
        for owner in ("C01", "C02"):
            path = _fill(template, params, rig.objects[owner])
            response = rig.http.request(method, path, headers=_headers("staff"))
            assert response.status_code != 404, (method, path, response.text)
            if method == "GET":
                assert response.status_code == 200, (method, path, response.text)
    # Nothing a foreign request did changed anything: the tasks are still open, the
    # transactions still wait for their documents.
    with rig.db.session() as session:
        statuses = session.scalars(select(TaskRow.status)).all()
        waiting = session.scalars(select(BankTransactionRow.status)).all()
    assert set(statuses) <= {"open", "done"}
    assert set(waiting) == {"missing_document"}
    assert len(checked) == len(PAIRS) * len(id_operations)


def test_routes_without_id_never_show_another_client(rig: Rig):
    for method, path, params in _operations(rig.http.app.openapi()):
        if params or method != "GET" or not path.startswith("/api/"):
            continue
        for viewer, other in PAIRS:
            response = rig.http.get(path, headers=_headers(viewer), params={"client": other[:3]})
            if response.status_code == 403:
                continue  # the route is not for this user's access at all
            assert response.status_code == 200, (path, viewer, response.text)
            rows = response.json()
            assert isinstance(rows, list), path
            assert rows, (path, viewer)  # the user's own objects are there …
            assert {r["client_id"] for r in rows} == {viewer[:3]}, (path, viewer)  # … only those
            assert str(rig.objects[other]["document"]) not in {
                str(r.get("document_id", r.get("id"))) for r in rows
            }
            if viewer.endswith("employee"):  # … and of them only what is hers
                own = rig.objects[viewer]
                assert {r["id"] for r in rows} <= {own["document"], own["task"]}, (path, rows)


def test_upload_ignores_mass_assignment(rig: Rig):
    data = pdf_bytes("mass-assignment")
    form = {k: (v if isinstance(v, str) else str(v)) for k, v in HOSTILE_FIELDS.items()}
    response = rig.http.post(
        "/api/v1/documents",
        headers=_headers("C01"),
        params={"client": "C02"},  # staff-only parameter: a client user cannot widen
        files={"file": ("r.pdf", data, "application/pdf")},
        data=form,
    )
    assert response.status_code in (201, 422), response.text
    if response.status_code == 422:
        return
    body = response.json()
    assert body["client_id"] == "C01"
    assert body["state"] == "received"
    assert body["channel"] == "app"
    assert body["duplicate_of"] is None and body["booking_ids"] == []
    with rig.db.session() as session:
        row = session.get(DocumentRow, body["id"])
        assert row.client_id == "C01" and row.submitted_by == "hans"
        assert row.sha256 == body["sha256"] != HOSTILE_FIELDS["sha256"]
        assert (
            session.scalar(
                select(func.count()).select_from(DocumentRow).where(DocumentRow.client_id == "C02")
            )
            == 1
        )  # nothing new for the other client


def test_task_completion_ignores_mass_assignment(rig: Rig):
    task_id = rig.objects["C01"]["task"]
    response = rig.http.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=_headers("C01"),
        json={**HOSTILE_FIELDS, "status": "open", "booking_id": rig.objects["C02"]["booking"]},
    )
    assert response.status_code in (200, 422), response.text
    with rig.db.session() as session:
        task = session.get(TaskRow, task_id)
        other = session.get(BookingRow, rig.objects["C02"]["booking"])
        assert task.client_id == "C01" and task.assignee == "client"
        assert other.client_id == "C02" and other.status == "posted"
    if response.status_code == 200:
        body = response.json()
        assert body["client_id"] == "C01" and body["status"] == "done"


def test_json_bodies_on_every_write_route_change_no_owner(rig: Rig):
    """Every POST/PUT/PATCH/DELETE of the schema, with a body full of ownership fields, by
    a client user on its own objects: whatever the answer, nothing moves to the other
    client and no document's content identity or state is overwritten."""
    with rig.db.session() as session:
        before = {
            (r.id, r.client_id, r.sha256, r.state)
            for r in session.scalars(select(DocumentRow)).all()
        }
    for method, template, params in _operations(rig.http.app.openapi()):
        if method == "GET":
            continue
        path = _fill(template, params, rig.objects["C01"])
        response = rig.http.request(method, path, headers=_headers("C01"), json=HOSTILE_FIELDS)
        assert response.status_code < 500, (method, path, response.text)
    with rig.db.session() as session:
        after = {
            (r.id, r.client_id, r.sha256, r.state)
            for r in session.scalars(select(DocumentRow)).all()
        }
        owners = dict(session.execute(select(BookingRow.id, BookingRow.client_id)).all())
    assert before <= after  # rows may be added by an upload, none changed
    assert owners[rig.objects["C02"]["booking"]] == "C02"
