"""The HTTP intake and API (FastAPI): app upload, documents, tasks, booked output, a
client's posting rules, bank transactions, health.

Contract (DESIGN.md, "HTTP"): `Authorization: Bearer TOKEN`; a client user's token sees
only its own client — another client's ids answer 404, exactly like missing ones; a
staff token sees every client (`?client=ID` narrows). Errors are JSON
`{"detail": "<what to do>"}`, never a stack trace; storage down → 503 with Retry-After.
The client of an upload comes from the token only: body fields such as `client_id`,
`state` or `sha256` are not parameters, so they are ignored. Wrong tokens are counted
per address: after 20 in 15 minutes, 429 with Retry-After (ingest/login_throttle.py).

Access (`storage.scope.Scope`): company users read their client's documents and tasks
(payslips only where the client allows it) and the booked output; employee access is
"upload, nothing else" (DESIGN.md) — an employee reads only what they submitted and the
tasks addressed to them, and everything else answers 404 like a missing id. Whether a
user may *complete* a task is `storage.tasks.complete_task`'s rule.
"""

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import Annotated, Any, TypeVar

import uvicorn
from fastapi import (
    APIRouter,
    Body,
    Depends,
    FastAPI,
    File,
    Form,
    Header,
    HTTPException,
    Path,
    Query,
    Request,
    Response,
    UploadFile,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette import types as asgi

from domain.corrections import CompleteBody
from domain.enums import (
    Access,
    Channel,
    DocumentClass,
    DocumentState,
    LearnedField,
    MediaType,
    Party,
    PaymentMethod,
    TaskKind,
    TaskStatus,
)
from domain.learned import LearnedValueBody, SupplierView
from domain.masterdata import InvalidPostingRules, posting_rules_from
from domain.reconciliation import MatchStatus, PostingRule
from domain.records import BookingView, DocumentView, TaskView, User
from domain.settings import Settings
from ingest.auth import SessionCodec, client_address, session_key, token_hint, user_from_token
from ingest.docs import mount_docs
from ingest.http_guard import guarded_protocol
from ingest.intake import ProcessingQueue, RequestProcessing, StorageUnavailable, Submission
from ingest.uploads import (
    MULTIPART_OVERHEAD,
    Services,
    display_name,
    media_type_of,
    not_found,
    read_upload,
    refuse_split,
    services,
    submit,
    upload_client,
)
from routing.rebook import is_credit, rebuild_booking
from routing.statement import payment_booking
from storage import bookings as bookings_repo
from storage import documents as documents_repo
from storage import learning as learning_repo
from storage import posting_rules as posting_rules_repo
from storage import tasks as tasks_repo
from storage import transactions as transactions_repo
from storage.db import Database, DatabaseUnavailable
from storage.objects import (
    ChecksumMismatch,
    ObjectMissing,
    ObjectStore,
    ObjectStoreUnavailable,
)
from storage.scope import Scope
from storage.tables import ClientRow, DocumentRow

log = logging.getLogger("fiduflow.api")

RETRY_AFTER_S = "30"
SMALL_BODY_LIMIT = 1024 * 1024  # forms and JSON bodies that carry no file
UPLOAD_PATHS = ("/api/v1/documents", "/upload")

_bearer = HTTPBearer(
    auto_error=False,
    description="A client user's or a staff member's API token (from master data).",
)


# --- who is calling ------------------------------------------------------------------


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            401,
            "authentication needed: send the header 'Authorization: Bearer <your API token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    svc = services(request)
    address = client_address(request)
    wait = svc.tokens.retry_after(address)
    if wait is not None:
        # Checked before the token: while paused, even a right guess teaches nothing.
        log.debug("API request from %s refused: too many wrong tokens", address)
        raise HTTPException(
            429,
            f"too many wrong API tokens from your address; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    user = user_from_token(svc.db, credentials.credentials)
    if user is None:
        svc.tokens.failed(address)
        log.warning(
            # Worded so that the log redaction (flows.artifacts) keeps the fingerprint:
            # it masks whatever follows "token " as a secret.
            "API request from %s refused: unknown token; fingerprint %s",
            address,
            token_hint(credentials.credentials),
        )
        raise HTTPException(
            401,
            "this API token is unknown or was revoked; ask your fiduciary for a new one",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return user


CurrentUser = Annotated[User, Depends(current_user)]
Svc = Annotated[Services, Depends(services)]

# A number no id column can hold is no id at all and must not reach a query (SQLite raises
# OverflowError beyond 64 bits, PostgreSQL a DataError beyond its column's type): 422 says
# so. Ids are INTEGER columns (32-bit in PostgreSQL); the bookings' seq is a BIGINT.
MAX_ID = 2**31 - 1
MAX_SEQ = 2**63 - 1
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id")]


def require_bookkeeping(user: User) -> None:
    if not user.is_staff and user.access is not Access.COMPANY:
        raise HTTPException(
            403,
            "your access (employee) does not include the bookkeeping; ask a user with "
            "company access or your fiduciary",
        )


# --- routes --------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1")


class ErrorBody(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "Missing or unknown token"},
    404: {"model": ErrorBody, "description": "No such object for this token"},
    429: {"model": ErrorBody, "description": "Too many wrong tokens from this address"},
    503: {"model": ErrorBody, "description": "Storage unavailable; retry after Retry-After"},
}


@router.post(
    "/documents",
    status_code=201,
    response_model=DocumentView,
    responses={
        **ERRORS,
        400: {"model": ErrorBody, "description": "Empty file, or staff upload without client"},
        403: {"model": ErrorBody, "description": "`split` asked for by a client's user"},
        409: {"model": ErrorBody, "description": "Idempotency-Key reused for other bytes"},
        413: {"model": ErrorBody, "description": "File over the size limit"},
        415: {"model": ErrorBody, "description": "Not a PDF/JPEG/PNG/TIFF/HEIC/XML by content"},
    },
    summary="Upload one document (mobile app)",
)
def upload_document(
    response: Response,
    user: CurrentUser,
    svc: Svc,
    file: Annotated[
        UploadFile, File(description="The document: PDF, JPEG, PNG, TIFF, HEIC or XML")
    ],
    payment_method: Annotated[PaymentMethod | None, Form(description="How it was paid")] = None,
    note: Annotated[str | None, Form(max_length=2000, description="e.g. 'Spesen Müller'")] = None,
    date: Annotated[dt.date | None, Form(description="The document's date (YYYY-MM-DD)")] = None,
    document_class: Annotated[DocumentClass | None, Form()] = None,
    split: Annotated[
        bool,
        Form(
            description="Staff only: one scanned PDF holding several documents; each "
            "document found becomes one of its own (a client user's `split` answers 403)"
        ),
    ] = False,
    client: Annotated[str | None, Query(description="Staff only: the client's id")] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=200,
            pattern=r"^[\x21-\x7e]+$",
            description="Same key + same bytes → the same document; other bytes → 409",
        ),
    ] = None,
    task: Annotated[
        int | None,
        Query(ge=1, le=MAX_ID, description="The missing_document request this upload answers"),
    ] = None,
) -> DocumentView:
    if split:
        refuse_split(user)
    if task is not None:
        client = _request_client(svc, user, task, client)
    owner = upload_client(svc, user, client)
    data = read_upload(file, svc.settings.max_message_bytes)
    media_type = media_type_of(data)
    recorded = submit(
        svc,
        Submission(
            client_id=owner.id,
            channel=Channel.APP,
            data=data,
            filename=display_name(file.filename, media_type),
            media_type=media_type,
            submitted_by=user.username,
            idempotency_key=idempotency_key,
            payment_method=payment_method,
            document_class=document_class,
            note=(note.strip() or None) if note else None,
            doc_date=date,
            meta={
                **({"answers_task": task} if task is not None else {}),
                **({"split": True} if split else {}),
            },
        ),
    )
    response.headers["Location"] = f"/api/v1/documents/{recorded.document_id}"
    if not recorded.created:
        response.headers["Idempotent-Replayed"] = "true"
    with svc.db.session() as session:
        if task is not None:
            tasks_repo.answer_with_upload(session, task, recorded.document_id, user)
        row = session.get(DocumentRow, recorded.document_id)
        assert row is not None
        return documents_repo.document_view(session, row, Scope.of(user))


def _request_client(svc: Services, user: User, task_id: int, requested: str | None) -> str:
    """The client of the request an upload answers (`?task=ID`), checked before the
    file is taken in: the task must be a request the caller may answer."""
    with svc.db.session() as session:
        try:
            row = tasks_repo.request_for_upload(session, Scope.of(user), task_id, user)
        except LookupError:
            not_found("task", task_id)
        except tasks_repo.NotARequest as exc:
            raise HTTPException(422, f"task: {exc}") from exc
        except tasks_repo.TaskNotAllowed as exc:
            raise HTTPException(403, str(exc)) from exc
        if requested is not None and requested != row.client_id:
            raise HTTPException(
                422, f"client: task {task_id} is client {row.client_id}'s, not {requested}'s"
            )
        return row.client_id


@router.get("/documents", response_model=list[DocumentView], responses=ERRORS)
def list_documents(
    user: CurrentUser,
    svc: Svc,
    client: Annotated[str | None, Query(description="Staff only: one client's documents")] = None,
    state: Annotated[DocumentState | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        int | None, Query(le=MAX_ID, description="Only ids below this (paging)")
    ] = None,
) -> list[DocumentView]:
    """Newest first. Page with `?before=<smallest id you have>`."""
    scope = Scope.of(user).narrowed(client)
    with svc.db.session() as session:
        rows = documents_repo.list_documents(
            session, scope, state=state, limit=limit, before_id=before
        )
        return documents_repo.document_views(session, rows, scope)


@router.get("/documents/{document_id}", response_model=DocumentView, responses=ERRORS)
def get_document(document_id: ObjectId, user: CurrentUser, svc: Svc) -> DocumentView:
    with svc.db.session() as session:
        scope = Scope.of(user)
        row = documents_repo.get_document_row(session, scope, document_id)
        if row is None:
            not_found("document", document_id)
        return documents_repo.document_view(session, row, scope)


@router.get(
    "/documents/{document_id}/original",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"application/pdf": {}}, "description": "The bytes"}},
)
def get_original(document_id: ObjectId, user: CurrentUser, svc: Svc) -> Response:
    """The original bytes exactly as received (checked against their SHA-256)."""
    with svc.db.session() as session:
        row = documents_repo.get_document_row(session, Scope.of(user), document_id)
        if row is None:
            not_found("document", document_id)
        sha256, media_type, filename = row.sha256, row.media_type, row.filename
    try:
        data = svc.store.get_original(sha256)
    except (ObjectMissing, ChecksumMismatch) as exc:
        log.error("original of document %s unreadable: %s", document_id, exc.__class__.__name__)
        raise HTTPException(
            500, "the original cannot be served right now; the operators have been notified"
        ) from exc
    return Response(
        data,
        media_type=_served_type(media_type),
        headers={"Content-Disposition": _content_disposition(display_name(filename, media_type))},
    )


def _served_type(media_type: str) -> str:
    """The stored (sniffed) type; anything else — a row from before the sniffer knew better
    — as opaque bytes, so no original is ever served as a page (text/html) or a script."""
    known = {m.value for m in MediaType}
    return media_type if media_type in known else "application/octet-stream"


def _content_disposition(filename: str) -> str:
    from urllib.parse import quote

    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_").replace("\\", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


_Body = TypeVar("_Body", bound=BaseModel)


class TaskStatusFilter(StrEnum):
    OPEN = "open"
    DONE = "done"
    ALL = "all"


@router.get("/tasks", response_model=list[TaskView], responses=ERRORS)
def list_tasks(
    user: CurrentUser,
    svc: Svc,
    status: Annotated[TaskStatusFilter, Query()] = TaskStatusFilter.OPEN,
    kind: Annotated[TaskKind | None, Query()] = None,
    assignee: Annotated[Party | None, Query(description="client | fiduciary")] = None,
    client: Annotated[str | None, Query(description="Staff only: one client's tasks")] = None,
    due_before: Annotated[dt.date | None, Query(description="Due before this day")] = None,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="Only ids above this (paging)")] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[TaskView]:
    """In id order. Page with `?after=<largest id you have>`; `status` open (default),
    done or all."""
    scope = Scope.of(user).narrowed(client)
    with svc.db.session() as session:
        rows = tasks_repo.list_tasks(
            session,
            scope,
            status=None if status is TaskStatusFilter.ALL else TaskStatus(status.value),
            kind=kind,
            assignee=assignee,
            due_before=due_before,
            after=after,
            limit=limit,
        )
        return [tasks_repo.task_view(row, scope) for row in rows]


@router.get("/tasks/{task_id}", response_model=TaskView, responses=ERRORS)
def get_task(task_id: ObjectId, user: CurrentUser, svc: Svc) -> TaskView:
    with svc.db.session() as session:
        scope = Scope.of(user)
        row = tasks_repo.get_task(session, scope, task_id)
        if row is None:
            not_found("task", task_id)
        return tasks_repo.task_view(row, scope)


TASK_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorBody, "description": "Not yours to do"},
    409: {"model": ErrorBody, "description": "Someone acted first, or another task comes first"},
    422: {"model": ErrorBody, "description": "Invalid body; the message names the field"},
}


@router.post("/tasks/{task_id}/complete", response_model=TaskView, responses=TASK_ERRORS)
def complete_task(
    task_id: ObjectId,
    user: CurrentUser,
    svc: Svc,
    raw: Annotated[
        Any,
        Body(
            description='Optional: `{"corrections": {FIELD: VALUE, …}, "note": "…"}` '
            "(domain.corrections.CompleteBody); no body releases / approves as read"
        ),
    ] = None,
) -> TaskView:
    """Release / approve as read (no body), or with `corrections`: the document's fields
    take the corrected values, the draft is rebuilt from them and posted when this was
    the last open task holding it. On a `suspected_duplicate` task: "not a duplicate —
    carry on" (the document is routed again without the duplicate check)."""
    scope = Scope.of(user)
    with _task_errors(), svc.db.session() as session:
        if tasks_repo.get_task(session, scope, task_id) is None:
            not_found("task", task_id)  # before the body: a stranger learns nothing from it
        body = _parsed(CompleteBody, raw)
        row = tasks_repo.complete_task(
            session,
            scope,
            task_id,
            user,
            body.corrections,
            body.note.strip() or None if body.note else None,
            rebuild=rebuild_booking,
            is_credit=is_credit,
        )
        if row is None:
            not_found("task", task_id)
        view = tasks_repo.task_view(row, scope)
        route_again = (
            row.kind == TaskKind.SUSPECTED_DUPLICATE.value
            and row.completed_by == user.username
            and row.document_id is not None
        )
    if route_again and view.document_id is not None:
        svc.processing(view.document_id)  # after the commit: it is `received` again
    return view


def _parsed(model: type[_Body], raw: Any) -> _Body:
    """A body validated after the id was checked, answered like any invalid request (422
    naming the field): which objects exist is never told by a body's validation."""
    try:
        return model.model_validate({} if raw is None else raw)
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from exc


@contextmanager
def _task_errors() -> Iterator[None]:
    """What storage.tasks refuses, as the HTTP answers the API promises."""
    try:
        yield
    except tasks_repo.TaskNotAllowed as exc:
        raise HTTPException(403, str(exc)) from exc
    except tasks_repo.TaskBlocked as exc:
        raise HTTPException(409, str(exc)) from exc
    except (tasks_repo.InvalidCorrection, tasks_repo.NoContactAddress) as exc:
        raise HTTPException(422, str(exc)) from exc
    except bookings_repo.ImmutableBooking as exc:
        raise HTTPException(409, str(exc)) from exc


class Rejection(BaseModel):
    reason: Annotated[
        str,
        Field(
            min_length=1,
            max_length=500,
            description="private | not_a_business_document | duplicate | not_our_client | "
            "bank_details_forged | free text",
        ),
    ]


@router.post("/tasks/{task_id}/reject", response_model=TaskView, responses=TASK_ERRORS)
def reject_task(task_id: ObjectId, body: Rejection, user: CurrentUser, svc: Svc) -> TaskView:
    """Nothing is posted: the draft is discarded, the document keeps the reason."""
    scope = Scope.of(user)
    with _task_errors(), svc.db.session() as session:
        row = tasks_repo.reject_task(session, scope, task_id, user, body.reason.strip())
        if row is None:
            not_found("task", task_id)
        return tasks_repo.task_view(row, scope)


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: Annotated[
        str,
        Field(min_length=1, max_length=2000, description="What the client is asked"),
    ]


@router.post("/tasks/{task_id}/ask", response_model=TaskView, responses=TASK_ERRORS)
def ask_client(
    task_id: ObjectId,
    user: CurrentUser,
    svc: Svc,
    raw: Annotated[Any, Body(description='`{"message": "…"}`: what the client is asked')] = None,
) -> TaskView:
    """Staff ask the client about the task's document: an online client gets a task of its
    own (due in 10 days), an offline client a mail to its contact address. The task stays
    open; `details.asked` lists every question and where it went."""
    scope = Scope.of(user)
    with _task_errors(), svc.db.session() as session:
        if tasks_repo.get_task(session, scope, task_id) is None:
            not_found("task", task_id)  # before the body: a stranger learns nothing from it
        message = _parsed(Question, raw).message.strip()
        if not message:
            raise HTTPException(422, "message: write the question to the client")
        row = tasks_repo.ask_client(session, scope, task_id, user, message)
        if row is None:
            not_found("task", task_id)
        return tasks_repo.task_view(row, scope)


@router.get("/bookings", response_model=list[BookingView], responses=ERRORS)
def list_bookings(
    user: CurrentUser,
    svc: Svc,
    after: Annotated[int, Query(ge=0, le=MAX_SEQ, description="Sequence number already read")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    client: Annotated[str | None, Query(description="Staff only: one client's bookings")] = None,
) -> list[BookingView]:
    """Posted bookings in sequence order; read on with `?after=<last seq>`."""
    require_bookkeeping(user)
    scope = Scope.of(user).narrowed(client)
    with svc.db.session() as session:
        rows = bookings_repo.posted_after(session, scope, after, limit)
        return [bookings_repo.booking_view(row, _base_url(svc.settings)) for row in rows]


@router.get("/bookings/{booking_id}", response_model=BookingView, responses=ERRORS)
def get_booking(booking_id: ObjectId, user: CurrentUser, svc: Svc) -> BookingView:
    require_bookkeeping(user)
    with svc.db.session() as session:
        row = bookings_repo.get_booking(session, Scope.of(user), booking_id)
        if row is None:
            not_found("booking", booking_id)
        return bookings_repo.booking_view(row, _base_url(svc.settings))


# --- suppliers and what corrections taught ---------------------------------------------

SupplierId = Annotated[str, Path(min_length=1, max_length=40, description="The supplier's id")]


def _learning_client(user: User, requested: str | None, svc: Services) -> str | None:
    """Whose learned rules: a client user's own client; staff name one with `?client=`."""
    if user.client_id is not None:
        return user.client_id
    if requested is None:
        return None
    with svc.db.session() as session:
        if session.get(ClientRow, requested) is None:
            raise HTTPException(422, f"client: no client {requested!r}")
    return requested


@router.get("/suppliers/{supplier_id}", response_model=SupplierView, responses=ERRORS)
def get_supplier(
    supplier_id: SupplierId,
    user: CurrentUser,
    svc: Svc,
    client: Annotated[str | None, Query(description="Staff only: whose learned rules")] = None,
) -> SupplierView:
    """The supplier's master data and, for the caller's client (staff: `?client=`), what
    corrections taught: account, VAT code, payment method, private, aliases, positions,
    and the history of those rules."""
    client_id = _learning_client(user, client, svc)
    with svc.db.session() as session:
        row = learning_repo.visible_supplier(session, Scope.of(user), supplier_id)
        if row is None:
            not_found("supplier", supplier_id)
        return learning_repo.supplier_view(session, row, client_id)


def _editable(session: Any, user: User, supplier_id: str, client_id: str | None) -> tuple[Any, str]:
    row = learning_repo.visible_supplier(session, Scope.of(user), supplier_id)
    if row is None:
        not_found("supplier", supplier_id)
    if not user.is_staff and user.access is not Access.COMPANY:
        not_found("supplier", supplier_id)  # employees never see suppliers
    if client_id is None:
        raise HTTPException(422, "client: staff must name the client whose rule it is (?client=ID)")
    return row, client_id


@router.put(
    "/suppliers/{supplier_id}/learned/{field}",
    response_model=SupplierView,
    responses={**ERRORS, 422: {"model": ErrorBody, "description": "Invalid value"}},
)
def put_learned(
    supplier_id: SupplierId,
    field: LearnedField,
    user: CurrentUser,
    svc: Svc,
    body: LearnedValueBody | None = None,
    client: Annotated[str | None, Query(description="Staff only: whose rule")] = None,
) -> SupplierView:
    """Set what is used for this supplier's next documents (company users for their
    client, staff for any with `?client=`); the change is kept in the rule's history."""
    client_id = _learning_client(user, client, svc)
    with svc.db.session() as session:
        row, client_id = _editable(session, user, supplier_id, client_id)
        if body is None or body.value is None:
            raise HTTPException(422, 'value: required, e.g. {"value": "6570"}')
        try:
            learning_repo.set_learned(session, client_id, row.id, field, body.value, user.username)
        except learning_repo.InvalidLearnedValue as exc:
            raise HTTPException(422, f"value: {exc}") from exc
        return learning_repo.supplier_view(session, row, client_id)


@router.delete(
    "/suppliers/{supplier_id}/learned/{field}",
    response_model=SupplierView,
    responses=ERRORS,
)
def delete_learned(
    supplier_id: SupplierId,
    field: LearnedField,
    user: CurrentUser,
    svc: Svc,
    client: Annotated[str | None, Query(description="Staff only: whose rule")] = None,
) -> SupplierView:
    """Forget a learned value: the supplier's default and the chart apply again."""
    client_id = _learning_client(user, client, svc)
    with svc.db.session() as session:
        row, client_id = _editable(session, user, supplier_id, client_id)
        learning_repo.forget_learned(session, client_id, row.id, field, user.username)
        return learning_repo.supplier_view(session, row, client_id)


# --- a client's posting rules ----------------------------------------------------------

ClientId = Annotated[str, Path(min_length=1, max_length=32, description="The client's id")]
RULES_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorBody, "description": "Not for this access (employees; changes: staff)"},
}


def _rules_client(session: Any, user: User, client_id: str) -> None:
    """Employees are refused the same way for every id (they see no bookkeeping, like
    the bookings); another client's id answers like a missing one."""
    require_bookkeeping(user)
    if not Scope.of(user).allows(client_id) or session.get(ClientRow, client_id) is None:
        not_found("client", client_id)


@router.get(
    "/clients/{client_id}/posting-rules", response_model=list[PostingRule], responses=RULES_ERRORS
)
def get_posting_rules(client_id: ClientId, user: CurrentUser, svc: Svc) -> list[PostingRule]:
    """The client's posting rules (recurring bank entries booked without a document), in
    the order they were given: staff, and the client's company users."""
    with svc.db.session() as session:
        _rules_client(session, user, client_id)
        return posting_rules_repo.posting_rules(session, client_id)


@router.put(
    "/clients/{client_id}/posting-rules",
    response_model=list[PostingRule],
    responses={
        **RULES_ERRORS,
        422: {"model": ErrorBody, "description": "Invalid rules; the message names rule and field"},
    },
    # The body is read after the client was checked (`raw`), yet /docs shows its shape.
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {
                    "schema": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/PostingRule"},
                    }
                }
            }
        }
    },
)
def put_posting_rules(
    client_id: ClientId,
    user: CurrentUser,
    svc: Svc,
    raw: Annotated[
        Any,
        Body(
            description="The client's complete list of posting rules (domain.reconciliation."
            'PostingRule), e.g. `[{"name": "Rent", "counterparty_iban": "CH56 0483 5012 3456 '
            '7800 9", "account": "6000"}]`; `[]` removes them all'
        ),
    ] = None,
) -> list[PostingRule]:
    """Staff: replace the client's posting rules; answers the list as stored. Its
    reconciliation settings and bank accounts stay as they are."""
    with svc.db.session() as session:
        _rules_client(session, user, client_id)  # before the body: nothing told by it
        if not user.is_staff:
            raise HTTPException(403, "only the fiduciary's staff change a client's posting rules")
        if raw is None:
            raise HTTPException(422, "body: the complete list of posting rules ([] for none)")
        try:
            rules = posting_rules_from(raw)
        except InvalidPostingRules as exc:
            raise HTTPException(422, str(exc)) from exc
        posting_rules_repo.set_posting_rules(session, client_id, rules)
        return posting_rules_repo.posting_rules(session, client_id)


# --- bank transactions -----------------------------------------------------------------

BANK_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    403: {"model": ErrorBody, "description": "Not for this access (employees see no bank data)"},
}


@router.get(
    "/transactions",
    response_model=list[transactions_repo.TransactionView],
    responses={**BANK_ERRORS, 422: {"model": ErrorBody, "description": "Invalid filter"}},
)
def list_transactions(
    user: CurrentUser,
    svc: Svc,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="Only ids above this (paging)")] = 0,
    limit: Annotated[int, Query(ge=1, le=transactions_repo.MAX_PAGE)] = 100,
    client: Annotated[
        str | None, Query(description="Staff only: one client's transactions")
    ] = None,
    status: Annotated[
        MatchStatus | None,
        Query(description="matched | rule | missing_document | unmatched | ambiguous"),
    ] = None,
    document: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="One statement's transactions")
    ] = None,
) -> list[transactions_repo.TransactionView]:
    """Bank transactions (from camt.053 / camt.054 statements) in id order; read on with
    `?after=<largest id you have>`. Staff, and the client's company users."""
    require_bookkeeping(user)
    scope = Scope.of(user).narrowed(client)
    with svc.db.session() as session:
        rows = transactions_repo.list_transactions(
            session, scope, after=after, limit=limit, status=status, document_id=document
        )
        return [transactions_repo.transaction_view(row) for row in rows]


@router.get(
    "/transactions/{transaction_id}",
    response_model=transactions_repo.TransactionView,
    responses=BANK_ERRORS,
)
def get_transaction(
    transaction_id: ObjectId, user: CurrentUser, svc: Svc
) -> transactions_repo.TransactionView:
    require_bookkeeping(user)
    with svc.db.session() as session:
        row = transactions_repo.get_transaction(session, Scope.of(user), transaction_id)
        if row is None:
            not_found("transaction", transaction_id)
        return transactions_repo.transaction_view(row)


class MatchBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_ids: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]],
        Field(
            min_length=1,
            max_length=100,
            description="The open documents the entry pays (the last one takes what is left "
            "of the entry; a difference is booked as a discount or fee)",
        ),
    ]


@router.post(
    "/transactions/{transaction_id}/match",
    response_model=transactions_repo.TransactionView,
    responses={
        **BANK_ERRORS,
        403: {"model": ErrorBody, "description": "Employees, and users of offline clients"},
        409: {"model": ErrorBody, "description": "The entry is matched or ruled already"},
        422: {"model": ErrorBody, "description": "Invalid body; the message names the document"},
    },
)
def match_transaction(
    transaction_id: ObjectId,
    user: CurrentUser,
    svc: Svc,
    raw: Annotated[
        Any, Body(description='`{"document_ids": [ID, …]}`: the open documents it pays')
    ] = None,
) -> transactions_repo.TransactionView:
    """Tie an entry reconciliation left without a match (`missing_document`, `unmatched`,
    `ambiguous`) to the client's open invoices, receipts (a debit) or customer invoices
    (a credit): they become paid, the payment booking is posted, the entry's task closes.
    Staff, and company users of an online client."""
    require_bookkeeping(user)
    scope = Scope.of(user)
    with svc.db.session() as session:
        if transactions_repo.get_transaction(session, scope, transaction_id) is None:
            not_found("transaction", transaction_id)  # before the body: nothing told by it
        body = _parsed(MatchBody, raw)
        try:
            row = transactions_repo.match_by_hand(
                session,
                scope,
                transaction_id,
                body.document_ids,
                user,
                payment_booking=payment_booking,
            )
        except transactions_repo.MatchNotAllowed as exc:
            raise HTTPException(403, str(exc)) from exc
        except transactions_repo.NotWaiting as exc:
            raise HTTPException(409, str(exc)) from exc
        except transactions_repo.MatchRefused as exc:
            raise HTTPException(422, str(exc)) from exc
        if row is None:
            not_found("transaction", transaction_id)
        return transactions_repo.transaction_view(row)


class Reversal(BaseModel):
    """What reversing a posted booking made: the reversal (posted), and for a document's
    booking its new draft and the fiduciary's review task holding it."""

    reversal: BookingView
    draft: BookingView | None = None
    task: TaskView | None = None


@router.post(
    "/bookings/{booking_id}/reverse",
    response_model=Reversal,
    responses={
        **ERRORS,
        403: {"model": ErrorBody, "description": "Staff only"},
        409: {"model": ErrorBody, "description": "Not a posted booking"},
    },
)
def reverse_booking(booking_id: ObjectId, user: CurrentUser, svc: Svc) -> Reversal:
    """Staff: post the reversal of a posted booking (posted bookings never change) and put
    its document back before the fiduciary, with a new draft to correct and post."""
    scope = Scope.of(user)
    with _task_errors(), svc.db.session() as session:
        row = bookings_repo.get_booking(session, scope, booking_id)
        if row is None:
            not_found("booking", booking_id)
        if not user.is_staff:
            raise HTTPException(403, "only the fiduciary's staff reverse a posted booking")
        done = bookings_repo.reverse_for_correction(session, scope, booking_id, user.username)
        if done is None:
            not_found("booking", booking_id)
        base = _base_url(svc.settings)
        return Reversal(
            reversal=bookings_repo.booking_view(done.reversal, base),
            draft=bookings_repo.booking_view(done.draft, base) if done.draft else None,
            task=tasks_repo.task_view(done.task, scope) if done.task else None,
        )


def _base_url(settings: Settings) -> str:
    """FIDUFLOW_PUBLIC_URL, else nothing: links are then relative (`/api/v1/documents/7`).
    Never the request's Host header, which the caller chooses (a forged one would point a
    script's next request, with its token, at someone else's server)."""
    return (settings.public_url or "").rstrip("/")


# --- health --------------------------------------------------------------------------


class Health(BaseModel):
    status: str
    database: str
    object_store: str


health_router = APIRouter()


@health_router.get(
    "/healthz", response_model=Health, responses={503: {"model": Health}}, tags=["health"]
)
def healthz(svc: Svc) -> JSONResponse:
    """200 when the database and the object store answer; 503 names the one that does not."""
    database = _check(svc.db.ping)
    object_store = _check(svc.store.ping)
    ok = database == "ok" and object_store == "ok"
    body = Health(
        status="ok" if ok else "unavailable", database=database, object_store=object_store
    )
    return JSONResponse(
        body.model_dump(),
        status_code=200 if ok else 503,
        headers={} if ok else {"Retry-After": RETRY_AFTER_S},
    )


def _check(ping: Any) -> str:
    try:
        ping()
    except Exception as exc:
        log.warning("health check failed: %s", exc.__class__.__name__)
        return "down"
    return "ok"


# --- errors --------------------------------------------------------------------------

_UNAVAILABLE = (
    StorageUnavailable,
    ObjectStoreUnavailable,
    DatabaseUnavailable,
    DBAPIError,
    PoolTimeout,
)


async def _unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning(
        "%s %s: storage unavailable (%s)", request.method, request.url.path, exc.__class__.__name__
    )
    return JSONResponse(
        {
            "detail": "storage is temporarily unavailable; nothing was changed — please try "
            "again in a minute"
        },
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_S},
    )


async def _invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
        problems.append(f"{where}: {error.get('msg', 'invalid')}" if where else error.get("msg"))
    return JSONResponse({"detail": "; ".join(str(p) for p in problems)}, status_code=422)


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "internal error; the operators have been notified — please try again later"},
        status_code=500,
    )


# --- request bodies: a streaming size limit -----------------------------------------


class BodyTooLarge(HTTPException):
    pass


class BodySizeLimit:
    """Answer 413 before a too-large body is read: at once when Content-Length says so,
    otherwise as soon as the counted bytes pass the limit (chunked uploads)."""

    def __init__(self, app: asgi.ASGIApp, upload_limit: int, small_limit: int = SMALL_BODY_LIMIT):
        self.app = app
        self.upload_limit = upload_limit
        self.small_limit = small_limit

    def _limit(self, path: str) -> int:
        return self.upload_limit if path.startswith(UPLOAD_PATHS) else self.small_limit

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_413(send, limit)
            return
        seen = 0

        async def counting_receive() -> asgi.Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Connection: close, so the server stops reading the rest of it.
                    raise BodyTooLarge(413, _too_large_text(limit), {"Connection": "close"})
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: asgi.Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large_text(limit: int) -> str:
    return f"the request is larger than the limit of {limit:,} bytes; upload smaller files"


async def _send_413(send: asgi.Send, limit: int) -> None:
    response = JSONResponse(
        {"detail": _too_large_text(limit)}, status_code=413, headers={"Connection": "close"}
    )
    await send({"type": "http.response.start", "status": 413, "headers": response.raw_headers})
    await send({"type": "http.response.body", "body": response.body})


class SecurityHeaders:
    """Headers every response gets (the web pages add their own CSP)."""

    def __init__(self, app: asgi.ASGIApp):
        self.app = app

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: asgi.Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                ):
                    if name not in present:
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


# --- the app -------------------------------------------------------------------------


def create_app(
    db: Database,
    store: ObjectStore,
    settings: Settings,
    request_processing: RequestProcessing | None,
    *,
    home: str = "/upload",
) -> FastAPI:
    """The HTTP intake: API under /api/v1, web pages (/login, /upload), /healthz, /docs.
    `home` is where `/` leads (web/app.py, which adds the workspace, makes it /tasks)."""
    from contextlib import asynccontextmanager

    from ingest import web

    processing = ProcessingQueue(request_processing, name="http-processing")

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        processing.stop()

    app = FastAPI(
        title="fiduflow",
        version="1",
        summary="Document intake and booked output of a Swiss fiduciary",
        description=(
            "Upload documents from the mobile app, follow their processing, complete tasks "
            "and read posted bookings. Authenticate with `Authorization: Bearer <token>`."
        ),
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI / ReDoc from a CDN: ingest.docs serves /docs.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = Services(
        db=db,
        store=store,
        settings=settings,
        processing=processing,
        sessions=SessionCodec(session_key(settings)),
    )
    app.include_router(router, tags=["api"])
    app.include_router(health_router)
    app.include_router(web.router)
    web.mount_static(app)
    mount_docs(app)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse(home, status_code=303)

    for exc_type in _UNAVAILABLE:
        app.add_exception_handler(exc_type, _unavailable)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(Exception, _internal)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit, upload_limit=settings.max_message_bytes + MULTIPART_OVERHEAD)
    return app


class HttpHandle:
    """A uvicorn server in a daemon thread; `.port` is the bound port, `.stop()` ends it."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread):
        self.server = server
        self.thread = thread

    @property
    def port(self) -> int:
        for server in getattr(self.server, "servers", []):
            for sock in server.sockets:
                return sock.getsockname()[1]
        raise RuntimeError("the HTTP server is not listening")

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)


def run_http_in_thread(app: FastAPI, settings: Settings, ready: threading.Event) -> HttpHandle:
    """Serve `app` on settings.http_host:http_port (0: any free port) until `.stop()`."""
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # keep the process's logging; uvicorn's access log is off
        access_log=False,
        timeout_keep_alive=15,
        timeout_graceful_shutdown=5,
        # Per peer: connections and the time to send headers (ingest/http_guard.py); the
        # global limit is far above one peer's share, so one peer cannot make it 503.
        http=guarded_protocol(
            settings.http_connections_per_peer,
            settings.http_header_timeout_s,
            exempt=list(settings.trusted_proxies),
        ),
        limit_concurrency=settings.http_max_connections,
        server_header=False,
        # X-Forwarded-For only from FIDUFLOW_TRUSTED_PROXIES (uvicorn's default believes
        # any local peer, so anyone on this host could pick the address the throttle sees).
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="http-intake", daemon=True)
    thread.start()

    def signal_ready() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and thread.is_alive():
            if server.started:
                ready.set()
                return
            time.sleep(0.02)

    threading.Thread(target=signal_ready, name="http-ready", daemon=True).start()
    return HttpHandle(server, thread)
