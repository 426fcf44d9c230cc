"""The task inbox (`/tasks`) and the task page (`/tasks/{id}`), and their actions.

Who sees what is the Scope's (storage/scope.py): a client's company users their
client's tasks, employees the requests addressed to them, staff everything (filtered by
client, kind, assignee, due date and status, with open counts per client). Who may do
what is storage.tasks' rule; its refusals are shown on the page in the user's words
(403 not allowed, 409 not yet / someone else acted first, 422 a field is wrong).

Every form posts with the session's CSRF token. After an action the page goes on to the
next open task in inbox order (save-and-next), carrying the inbox's filters along.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select

from domain.booking_lines import main_index
from domain.corrections import Corrections
from domain.enums import (
    Access,
    BookingStatus,
    ClientMode,
    Party,
    PaymentMethod,
    TaskKind,
    TaskStatus,
)
from domain.records import BookingLine, User
from storage import documents as documents_repo
from storage import tasks as tasks_repo
from storage import transactions as transactions_repo
from storage.scope import Scope
from storage.tables import (
    BankTransactionRow,
    BookingRow,
    ClientRow,
    DocumentRow,
    SupplierRow,
    TaskRow,
)
from web.deps import CurrentViewer, Viewer, Ws
from web.documents import document_fields
from web.fields import EDITABLE, DocumentFields
from web.inbox import (
    InboxFilter,
    client_names,
    documents_of,
    neighbours,
    next_open,
    open_by_client,
    page_of_tasks,
)
from web.render import page

router = APIRouter(include_in_schema=False)

MAX_ID = 2**31 - 1
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
RELEASABLE = frozenset({TaskKind.RELEASE_INVOICE.value, TaskKind.APPROVE_EXPENSE.value})
REJECT_REASONS = ("private", "not_a_business_document", "duplicate", "not_our_client")
# The main action's label, by kind.
ACTION_LABEL = {
    TaskKind.RELEASE_INVOICE.value: "act.release",
    TaskKind.APPROVE_EXPENSE.value: "act.approve",
    TaskKind.REVIEW_DOCUMENT.value: "act.post",
    TaskKind.SUSPECTED_DUPLICATE.value: "act.not_duplicate",
    TaskKind.BANK_DETAILS.value: "act.confirm_bank",
    TaskKind.CONFIRM_SUPPLIER.value: "act.confirm_supplier",
}
# Kinds answered by an upload rather than a button.
UPLOAD_KINDS = frozenset({TaskKind.MISSING_DOCUMENT.value, TaskKind.ASK_CLIENT.value})


# --- who may do what (mirrors storage.tasks' rule, to show only usable buttons) ------


def may_act(user: User, row: TaskRow) -> bool:
    if user.is_staff:
        return True
    if row.assignee == Party.FIDUCIARY.value:
        return False
    return user.access is Access.COMPANY and user.client_id == row.client_id


def may_upload(user: User, row: TaskRow) -> bool:
    if row.kind not in UPLOAD_KINDS or row.status != TaskStatus.OPEN.value:
        return False
    return user.is_staff or row.assignee == Party.CLIENT.value


# --- the inbox -----------------------------------------------------------------------


def _filter_from(request: Request) -> tuple[InboxFilter, str | None]:
    """The inbox filter of the query string; a wrong value is named, not a stack trace."""
    raw = {k: v for k, v in request.query_params.items() if k in InboxFilter.model_fields}
    try:
        return InboxFilter.model_validate(raw), None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3]
        )
        return InboxFilter(), problems


@dataclass
class Released:
    task_id: int
    ok: bool
    message: str


def _inbox_context(ws: Any, viewer: Viewer, wanted: InboxFilter) -> dict[str, Any]:
    scope = Scope.of(viewer.user)
    with ws.db.session() as session:
        rows, total = page_of_tasks(session, scope, wanted)
        documents = documents_of(session, rows)
        names = client_names(session, rows)
        counts = open_by_client(session, scope) if viewer.user.is_staff else []
        clients = (
            list(session.execute(select(ClientRow.id, ClientRow.name).order_by(ClientRow.id)))
            if viewer.user.is_staff
            else []
        )
        items = [
            {
                "task": row,
                "document": documents.get(row.document_id) if row.document_id else None,
                "client_name": names.get(row.client_id, row.client_id),
                "releasable": row.kind in RELEASABLE
                and row.status == TaskStatus.OPEN.value
                and may_act(viewer.user, row),
            }
            for row in rows
        ]
    from web.inbox import PAGE_SIZE

    pages = max(1, -(-total // PAGE_SIZE))
    return {
        "items": items,
        "total": total,
        "flt": wanted,
        "filter_query": wanted.query(page=wanted.page),
        "pages": pages,
        "counts": counts,
        "clients": clients,
        "kinds": [k.value for k in TaskKind],
        "bulk": any(item["releasable"] for item in items),
    }


@router.get("/tasks")
def inbox(request: Request, ws: Ws, viewer: CurrentViewer) -> HTMLResponse:
    wanted, problem = _filter_from(request)
    context = _inbox_context(ws, viewer, wanted)
    return page(
        request,
        ws,
        viewer,
        "inbox.html",
        {**context, "error": problem},
        status_code=422 if problem else 200,
    )


@router.post("/tasks/release")
def release_several(
    request: Request,
    ws: Ws,
    viewer: CurrentViewer,
    task_id: Annotated[list[int], Form()] = [],  # noqa: B006 - FastAPI form default
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    inbox_query: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Release (complete) each chosen task in its own transaction; report each outcome."""
    t = viewer.t
    wanted, _ = _filter_from(request)
    if not _csrf_ok(viewer, csrf_token):
        return _inbox_with(request, ws, viewer, wanted, error=t("err.stale"), status=403)
    if not task_id:
        return _inbox_with(
            request, ws, viewer, wanted, error=t("inbox.nothing_selected"), status=422
        )
    results = [_release_one(ws, viewer, one) for one in task_id[:200]]
    status = 200 if all(r.ok for r in results) else 207
    return _inbox_with(request, ws, viewer, wanted, results=results, status=status)


def _release_one(ws: Any, viewer: Viewer, task_id: int) -> Released:
    t = viewer.t
    try:
        with ws.db.session() as session:
            row = tasks_repo.get_task(session, Scope.of(viewer.user), task_id)
            if row is None or row.kind not in RELEASABLE:
                return Released(task_id, False, _not_found_text(viewer, task_id))
            row = tasks_repo.complete_task(session, Scope.of(viewer.user), task_id, viewer.user)
            assert row is not None
            outcome = t.maybe("outcome", row.outcome)
    except tasks_repo.TaskNotAllowed as exc:
        return Released(task_id, False, f"{t('err.not_allowed')}: {exc}")
    except tasks_repo.TaskBlocked as exc:
        return Released(task_id, False, f"{t('err.blocked')}: {exc}")
    return Released(task_id, True, t("task.done_flash", id=task_id, outcome=outcome))


def _inbox_with(
    request: Request,
    ws: Any,
    viewer: Viewer,
    wanted: InboxFilter,
    *,
    results: list[Released] | None = None,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    context = _inbox_context(ws, viewer, wanted)
    return page(
        request,
        ws,
        viewer,
        "inbox.html",
        {**context, "results": results, "error": error},
        status_code=status,
    )


def _csrf_ok(viewer: Viewer, given: str | None) -> bool:
    import hmac

    return bool(given) and hmac.compare_digest(viewer.csrf.encode(), (given or "").encode())


def _not_found_text(viewer: Viewer, task_id: int) -> str:
    return {
        "de": f"Keine Aufgabe {task_id}; bitte prüfen Sie die Nummer.",
        "fr": f"Aucune tâche {task_id} ; veuillez vérifier le numéro.",
        "it": f"Nessuna attività {task_id}; verificare il numero.",
        "en": f"No task {task_id}; check the number.",
    }[viewer.lang.value]


# --- the task page -------------------------------------------------------------------


@dataclass
class Notice:
    kind: str  # ok | error
    title: str
    text: str = ""


@dataclass
class TaskPage:
    task: TaskRow
    document: DocumentRow | None
    fields: DocumentFields | None
    booking: BookingRow | None
    lines: list[BookingLine]
    main_line: int | None
    history: list[Any]
    reasons: list[str]
    supplier: SupplierRow | None
    client: ClientRow
    previous_id: int | None
    next_id: int | None
    learned: list[str] = field(default_factory=list)
    # The bank entry the task is about (a missing document, a match to make), for those
    # who see bank data: what to look for is shown beside the upload.
    transaction: BankTransactionRow | None = None


def _load(ws: Any, viewer: Viewer, task_id: int, wanted: InboxFilter) -> TaskPage | None:
    scope = Scope.of(viewer.user)
    with ws.db.session() as session:
        row = tasks_repo.get_task(session, scope, task_id)
        if row is None:
            return None
        document = session.get(DocumentRow, row.document_id) if row.document_id else None
        if document is not None and not scope.sees_document(document):
            # A request addressed to an employee about a document she did not submit: the
            # task is hers, the document (its reasons, history, fields) is not.
            document = None
        booking = session.get(BookingRow, row.booking_id) if row.booking_id else None
        if booking is not None and not scope.sees_booking(booking):
            booking = None
        lines = [
            BookingLine(
                account=line.account,
                debit=line.debit,
                credit=line.credit,
                vat_code=line.vat_code,
                text=line.text,
            )
            for line in (booking.lines if booking is not None else [])
        ]
        reasons: list[str] = []
        history: list[Any] = []
        supplier = None
        if document is not None:
            view = documents_repo.document_view(session, document, scope)
            reasons = list((view.routing or {}).get("reasons") or [])
            history = list(view.history)  # the resource carries it: not read twice
            supplier_id = (row.details or {}).get("supplier_id") or document.supplier_id
            supplier = session.get(SupplierRow, supplier_id) if supplier_id else None
            session.expunge(document)
        client = session.get(ClientRow, row.client_id)
        transaction = (
            transactions_repo.get_transaction(session, scope, row.transaction_id)
            if row.transaction_id is not None
            else None
        )
        previous_id, next_id = neighbours(session, scope, wanted, row)
        for obj in (row, booking, supplier, client, transaction):
            if obj is not None:
                session.expunge(obj)
    fields = document_fields(ws, document) if document is not None else None
    assert client is not None
    return TaskPage(
        task=row,
        document=document,
        fields=fields,
        booking=booking,
        lines=lines,
        main_line=main_index(lines),
        history=history,
        reasons=reasons,
        supplier=supplier,
        client=client,
        previous_id=previous_id,
        next_id=next_id,
        learned=list((row.details or {}).get("learned") or []),
        transaction=transaction,
    )


def _task_page(
    request: Request,
    ws: Any,
    viewer: Viewer,
    task_id: int,
    wanted: InboxFilter,
    *,
    notice: Notice | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    loaded = _load(ws, viewer, task_id, wanted)
    if loaded is None:
        return _missing(request, ws, viewer, task_id)
    row = loaded.task
    open_ = row.status == TaskStatus.OPEN.value
    acting = open_ and may_act(viewer.user, row)
    correctable = (
        acting
        and loaded.booking is not None
        and loaded.booking.status == BookingStatus.DRAFT.value
        and loaded.booking.document_id == row.document_id
        and row.kind in tasks_repo.HOLDING_KINDS
    )
    return page(
        request,
        ws,
        viewer,
        "task.html",
        {
            "p": loaded,
            "row": row,
            "open": open_,
            "acting": acting,
            "correctable": correctable,
            "completable": acting and row.kind not in UPLOAD_KINDS - {TaskKind.ASK_CLIENT.value},
            "uploadable": may_upload(viewer.user, row),
            "askable": open_ and viewer.user.is_staff and row.assignee == Party.FIDUCIARY.value,
            "action_label": ACTION_LABEL.get(row.kind, "act.done"),
            "reject_reasons": REJECT_REASONS,
            "payment_methods": [m.value for m in PaymentMethod],
            "filter_query": wanted.query(),
            "notice": notice,
            "form": form or {},
            "editable": EDITABLE,
            "offline": loaded.client.mode == ClientMode.OFFLINE.value,
            "contact_email": loaded.client.contact_email,
            "overdue": open_ and row.due_date is not None and row.due_date < _today(),
        },
        status_code=status,
    )


def _today():  # type: ignore[no-untyped-def]
    from datetime import date

    return date.today()


def _missing(request: Request, ws: Any, viewer: Viewer, task_id: int) -> HTMLResponse:
    # Another client's task looks exactly like one that does not exist.
    return page(
        request,
        ws,
        viewer,
        "missing.html",
        {"message": _not_found_text(viewer, task_id)},
        status_code=404,
    )


@router.get("/tasks/{task_id}")
def task_page(request: Request, ws: Ws, viewer: CurrentViewer, task_id: TaskId) -> Response:
    wanted, _ = _filter_from(request)
    notice = None
    done = request.query_params.get("done")
    if done and done.isdigit():
        outcome = request.query_params.get("outcome", "done")
        notice = Notice(
            "ok", viewer.t("task.done_flash", id=done, outcome=viewer.t.maybe("outcome", outcome))
        )
    return _task_page(request, ws, viewer, task_id, wanted, notice=notice)


# --- actions -------------------------------------------------------------------------


def _after_action(
    ws: Any, viewer: Viewer, row: TaskRow, wanted: InboxFilter, outcome: str | None
) -> RedirectResponse:
    """Save-and-next: on to the next open task in inbox order, or back to the inbox."""
    with ws.db.session() as session:
        following = next_open(session, Scope.of(viewer.user), wanted, row)
    query = wanted.query()
    flash = f"done={row.id}&outcome={outcome or 'done'}"
    if following is not None:
        return RedirectResponse(
            f"/tasks/{following}?{query + '&' if query else ''}{flash}", status_code=303
        )
    return RedirectResponse(f"/tasks?{query + '&' if query else ''}{flash}", status_code=303)


def _refusal(
    request: Request,
    ws: Any,
    viewer: Viewer,
    task_id: int,
    wanted: InboxFilter,
    exc: Exception,
    form: dict[str, str] | None = None,
) -> Response:
    t = viewer.t
    if isinstance(exc, tasks_repo.TaskNotAllowed):
        status, title = 403, t("err.not_allowed")
    elif isinstance(exc, tasks_repo.TaskBlocked):
        status, title = 409, t("err.blocked")
    else:
        status, title = 422, t("err.invalid")
    return _task_page(
        request,
        ws,
        viewer,
        task_id,
        wanted,
        notice=Notice("error", title, str(exc)),
        status=status,
        form=form,
    )


def _form_filter(inbox_query: str) -> InboxFilter:
    from urllib.parse import parse_qsl

    raw = {k: v for k, v in parse_qsl(inbox_query) if k in InboxFilter.model_fields}
    try:
        return InboxFilter.model_validate(raw)
    except ValidationError:
        return InboxFilter()


def _stale(
    request: Request, ws: Any, viewer: Viewer, task_id: int, wanted: InboxFilter
) -> Response:
    return _task_page(
        request,
        ws,
        viewer,
        task_id,
        wanted,
        notice=Notice("error", viewer.t("err.stale")),
        status=403,
    )


@router.post("/tasks/{task_id}/complete")
async def complete(request: Request, ws: Ws, viewer: CurrentViewer, task_id: TaskId) -> Response:
    """Release / approve / post as read, or with the fields the person changed."""
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    wanted = _form_filter(form.get("inbox_query", ""))
    if not _csrf_ok(viewer, form.get("csrf_token")):
        return _stale(request, ws, viewer, task_id, wanted)
    loaded = _load(ws, viewer, task_id, wanted)
    if loaded is None:
        return _missing(request, ws, viewer, task_id)
    try:
        corrections = corrections_from_form(form, loaded)
    except ValueError as exc:
        return _refusal(request, ws, viewer, task_id, wanted, exc, form)
    note = (form.get("note") or "").strip()[:2000] or None
    return _run(
        request,
        ws,
        viewer,
        task_id,
        wanted,
        form,
        lambda session, scope: _complete(session, scope, task_id, viewer.user, corrections, note),
    )


def _complete(
    session: Any,
    scope: Scope,
    task_id: int,
    user: User,
    corrections: Corrections | None,
    note: str | None,
) -> TaskRow | None:
    from routing.rebook import is_credit, rebuild_booking

    # complete_task turns a draft that cannot be rebuilt into InvalidCorrection itself.
    return tasks_repo.complete_task(
        session,
        scope,
        task_id,
        user,
        corrections,
        note,
        rebuild=rebuild_booking,
        is_credit=is_credit,
    )


def _run(
    request: Request,
    ws: Any,
    viewer: Viewer,
    task_id: int,
    wanted: InboxFilter,
    form: dict[str, str],
    act: Callable[[Any, Scope], TaskRow | None],
) -> Response:
    outcome = None
    try:
        with ws.db.session() as session:
            row = act(session, Scope.of(viewer.user))
            if row is not None:
                outcome = row.outcome
                session.expunge(row)
    except (
        tasks_repo.TaskNotAllowed,
        tasks_repo.TaskBlocked,
        tasks_repo.InvalidCorrection,
        tasks_repo.NoContactAddress,
    ) as exc:
        return _refusal(request, ws, viewer, task_id, wanted, exc, form)
    if row is None:
        return _missing(request, ws, viewer, task_id)
    return _after_action(ws, viewer, row, wanted, outcome)


@router.post("/tasks/{task_id}/reject")
async def reject(request: Request, ws: Ws, viewer: CurrentViewer, task_id: TaskId) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    wanted = _form_filter(form.get("inbox_query", ""))
    if not _csrf_ok(viewer, form.get("csrf_token")):
        return _stale(request, ws, viewer, task_id, wanted)
    reason = (form.get("reason") or "").strip()
    if reason == "other" or not reason:
        reason = (form.get("reason_text") or "").strip()
    if not reason or len(reason) > 500:
        exc = ValueError("reason: choose a reason or write one (at most 500 characters)")
        return _refusal(request, ws, viewer, task_id, wanted, exc, form)
    return _run(
        request,
        ws,
        viewer,
        task_id,
        wanted,
        form,
        lambda session, scope: tasks_repo.reject_task(session, scope, task_id, viewer.user, reason),
    )


@router.post("/tasks/{task_id}/ask")
async def ask(request: Request, ws: Ws, viewer: CurrentViewer, task_id: TaskId) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    wanted = _form_filter(form.get("inbox_query", ""))
    if not _csrf_ok(viewer, form.get("csrf_token")):
        return _stale(request, ws, viewer, task_id, wanted)
    message = (form.get("message") or "").strip()
    if not message or len(message) > 2000:
        exc = ValueError("message: write what the client should answer (at most 2000 characters)")
        return _refusal(request, ws, viewer, task_id, wanted, exc, form)
    try:
        with ws.db.session() as session:
            scope = Scope.of(viewer.user)
            found = tasks_repo.ask_client(session, scope, task_id, viewer.user, message) is not None
    except (tasks_repo.TaskNotAllowed, tasks_repo.TaskBlocked, tasks_repo.NoContactAddress) as exc:
        return _refusal(request, ws, viewer, task_id, wanted, exc, form)
    if not found:
        return _missing(request, ws, viewer, task_id)
    # The task stays open until the answer is in: back to it, with the question shown.
    return RedirectResponse(f"/tasks/{task_id}?{wanted.query()}", status_code=303)


# --- corrections from the form -------------------------------------------------------


def _text(form: dict[str, str], name: str) -> str | None:
    value = form.get(name)
    return None if value is None else value.strip()


def _same(name: str, given: str, current: Any) -> bool:
    if current is None or current == "":
        return given == ""
    if name == "total":
        try:
            return Decimal(given.replace("'", "")) == Decimal(str(current))
        except InvalidOperation:
            return False
    return given == str(current)


def corrections_from_form(form: dict[str, str], loaded: TaskPage) -> Corrections | None:
    """The fields the person changed, compared with what is stored now (a form field
    left as it was is no correction). Raises ValueError naming the field."""
    given: dict[str, Any] = {}
    reading = {f.name: f.value for f in (loaded.fields.fields if loaded.fields else [])}
    for name in sorted(EDITABLE):
        value = _text(form, f"f_{name}")
        if value is None or _same(name, value, reading.get(name)):
            continue
        if value == "":
            raise ValueError(f"{name}: a corrected value cannot be empty")
        given[name] = value.replace("'", "") if name == "total" else value
    supplier = _text(form, "f_supplier_id")
    current_supplier = loaded.supplier.id if loaded.supplier is not None else ""
    if supplier and supplier != current_supplier:
        given["supplier_id"] = supplier
    method = _text(form, "f_payment_method")
    current_method = loaded.document.payment_method if loaded.document is not None else None
    if method and method != (current_method or ""):
        given["payment_method"] = method
    main = loaded.lines[loaded.main_line] if loaded.main_line is not None else None
    account = _text(form, "f_account")
    if account and main is not None and account != main.account:
        given["account"] = account
    vat_code = _text(form, "f_vat_code")
    if vat_code and main is not None and vat_code != (main.vat_code or ""):
        given["vat_code"] = vat_code
    lines = _lines_from_form(form, loaded.lines)
    if lines is not None:
        given["lines"] = lines
    if not given:
        return None
    try:
        return Corrections.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "corrections"
        raise ValueError(f"{where}: {first.get('msg', 'invalid')}") from None


def _lines_from_form(form: dict[str, str], current: list[BookingLine]) -> list[dict] | None:
    """The booking lines as edited, when any cell differs from the stored draft (the
    main line's account and VAT code are corrected through their own fields)."""
    lines: list[dict[str, Any]] = []
    changed = False
    for i, line in enumerate(current):
        cells = {
            "account": _text(form, f"l{i}_account"),
            "vat_code": _text(form, f"l{i}_vat_code"),
            "debit": _text(form, f"l{i}_debit"),
            "credit": _text(form, f"l{i}_credit"),
            "text": _text(form, f"l{i}_text"),
        }
        if all(v is None for v in cells.values()):
            return None  # the form had no line editor
        was = {
            "account": line.account,
            "vat_code": line.vat_code or "",
            "debit": line.debit,
            "credit": line.credit,
            "text": line.text,
        }
        new: dict[str, Any] = {}
        for key, value in cells.items():
            value = value if value is not None else ""
            if key in ("debit", "credit"):
                try:
                    amount = Decimal(value.replace("'", "") or "0")
                except InvalidOperation:
                    raise ValueError(f"lines.{i}.{key}: not an amount: {value!r}") from None
                changed |= amount != was[key]
                new[key] = amount
            else:
                changed |= value != was[key]
                new[key] = value or None if key == "vat_code" else value
        lines.append(new)
    return lines if changed else None
