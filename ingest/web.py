"""The web pages: `/login` and `/upload` ("+ Add document" for online clients).

Server-rendered HTML (Jinja2, autoescaped) with a little plain JavaScript (no CDN): a
drag-and-drop zone that uploads files one by one, and a table of the user's documents
that polls `/upload/documents` every 2 s so states change before the user's eyes.
Without JavaScript the same form still posts and the page reloads.

Who may upload here (DESIGN.md: web upload is for online clients' company users):
- a user with company access of an **online** client — for that client;
- fiduciary staff — for any client, offline ones included (the paper an offline client
  brings in is scanned at the firm), chosen in a selector;
- staff may tick "Ein PDF, mehrere Belege" (`split`): each PDF is cut into the
  documents its reading finds; the box is theirs alone (anyone else sending it: 403);
- an offline client's user, or an employee-access user, gets 403 with a page that says
  which channels they can use instead (e-mail to their inbound address, mobile app) —
  except for the upload a request addressed to them asks for (`?task=ID`, the task page's
  "upload the missing document"), which answers and closes that request.
The list shows what the user's Scope sees (storage/scope.py): a company user the
company's documents from every channel and everyone, an employee their own, staff all.
Wrong passwords at `/login` are counted per name and address (ingest/login_throttle.py):
after five in 15 minutes, 429 with Retry-After; after 50 from one address for any names,
the whole address pauses.
"""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import (
    APIRouter,
    Depends,
    FastAPI,
    File,
    Form,
    HTTPException,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select

from domain.enums import (
    Access,
    BookingStatus,
    Channel,
    DocType,
    DocumentClass,
    DocumentState,
    Party,
    TaskStatus,
)
from domain.records import Client, User
from ingest.auth import (
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    LOGIN_CSRF_MAX_AGE_S,
    SESSION_COOKIE,
    SESSION_MAX_AGE_S,
    WebSession,
    client_address,
    csrf_matches,
    end_web_sessions,
    new_csrf_token,
    user_from_session,
)
from ingest.intake import Submission
from ingest.uploads import Services, display_name, media_type_of, read_upload, services, submit
from storage import documents as documents_repo
from storage import tasks as tasks_repo
from storage.masterdata import fiduciary, get_client, list_clients, user_for_password
from storage.scope import Scope
from storage.tables import BookingRow, DocumentRow, InboundAddress, TaskRow

log = logging.getLogger("fiduflow.web")

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
LIST_LIMIT = 50
# Files per POST /upload. The page's script sends one file per request (any number in
# all); a plain form post sends them together and more than this is refused whole (413).
MAX_FILES = 20
# The logo, inline as a data: URI (allowed by the CSP): no extra request, no extra file.
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#0f4c5c"/>'
    '<path d="M9 8h10l4 4v12a1 1 0 0 1-1 1H9a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1Z" fill="#fff"/>'
    '<path d="M19 8v4h4" fill="#cfe3e8"/>'
    '<path d="M11.5 17.5l3 3 6-6" stroke="#1a9e77" stroke-width="2.4" fill="none" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)
LOGO_URI = "data:image/svg+xml," + quote(LOGO_SVG)

STATE_LABELS = {
    DocumentState.RECEIVED: "Eingegangen",
    DocumentState.PROCESSING: "In Bearbeitung",
    DocumentState.ROUTED: "Verarbeitet",
    DocumentState.DUPLICATE: "Duplikat",
    DocumentState.REJECTED: "Abgelehnt",
    DocumentState.FAILED: "Fehler",
}
DOC_TYPE_LABELS = {
    DocType.SUPPLIER_INVOICE: "Lieferantenrechnung",
    DocType.RECEIPT: "Quittung",
    DocType.CREDIT_NOTE: "Gutschrift",
    DocType.REMINDER: "Mahnung",
    DocType.BANK_STATEMENT: "Kontoauszug",
    DocType.PAYSLIP: "Lohnabrechnung",
    DocType.CUSTOMER_INVOICE: "Ausgangsrechnung",
    DocType.OTHER: "Anderes Dokument",
}
CLASS_LABELS = {
    DocumentClass.PAYABLE: ("Kreditoren", "Rechnung, die wir bezahlen"),
    DocumentClass.RECEIVABLE: ("Debitoren", "Rechnung, die wir gestellt haben"),
    DocumentClass.EXPENSE: ("Spesen", "Quittung, Beleg einer Auslage"),
}
CHANNEL_LABELS = {
    Channel.EMAIL: "E-Mail",
    Channel.APP: "App",
    Channel.WEB: "Web",
    Channel.BATCH: "Stapel",
}


def mount_static(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")


# --- sessions ------------------------------------------------------------------------


@dataclass(frozen=True)
class WebUser:
    user: User
    session: WebSession
    client: Client | None  # None for staff


def web_user(request: Request, svc: Annotated[Services, Depends(services)]) -> WebUser | None:
    session = svc.sessions.read(request.cookies.get(SESSION_COOKIE))
    if session is None:
        return None
    user = user_from_session(svc.db, session)
    if user is None:
        return None
    client = None
    if user.client_id is not None:
        with svc.db.session() as db_session:
            client = get_client(db_session, user.client_id)
    return WebUser(user=user, session=session, client=client)


MaybeWebUser = Annotated[WebUser | None, Depends(web_user)]
Svc = Annotated[Services, Depends(services)]


def _secure(svc: Services) -> bool:
    return (svc.settings.public_url or "").startswith("https://")


def _page(
    request: Request,
    svc: Services,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    with svc.db.session() as session:
        firm = fiduciary(session)
    response = templates.TemplateResponse(
        request,
        name,
        {"firm": firm.name if firm else "Treuhand", "logo_uri": LOGO_URI, **context},
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(target: str | None) -> str:
    """Only paths on this site: an open redirect would hand our login to a phisher."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/"
    return target


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


# --- login / logout ------------------------------------------------------------------


def _login_page(
    request: Request,
    svc: Services,
    *,
    next_url: str,
    error: str | None = None,
    username: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    token = new_csrf_token()
    response = _page(
        request,
        svc,
        "login.html",
        {"csrf": token, "next": next_url, "error": error, "username": username},
        status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        svc.sessions.login_csrf(token),
        max_age=LOGIN_CSRF_MAX_AGE_S,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=_secure(svc),
    )
    return response


@router.get("/login")
def login_form(request: Request, svc: Svc, who: MaybeWebUser, next: str = "/") -> Response:
    if who is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, svc, next_url=_safe_next(next))


@router.post("/login")
def login(
    request: Request,
    svc: Svc,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    next_url = _safe_next(next)
    expected = svc.sessions.read_login_csrf(request.cookies.get(LOGIN_CSRF_COOKIE))
    if not csrf_matches(expected, csrf_token):
        return _login_page(
            request,
            svc,
            next_url=next_url,
            username=username,
            error="Die Anmeldeseite war abgelaufen. Bitte melden Sie sich noch einmal an.",
            status_code=403,
        )
    address = client_address(request)
    wait = svc.logins.retry_after(username, address)
    if wait is not None:
        # Checked before the password: while paused, even the right one teaches nothing.
        log.warning("web login from %s refused: too many failed attempts", address)
        response = _login_page(
            request,
            svc,
            next_url=next_url,
            username=username,
            error="Zu viele fehlgeschlagene Anmeldungen. Bitte versuchen Sie es in "
            f"{max(1, round(wait / 60))} Minuten wieder.",
            status_code=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    with svc.db.session() as session:
        user = user_for_password(session, username.strip(), password)
    if user is None:
        svc.logins.failed(username, address)
        log.info("web login from %s failed", address)
        return _login_page(
            request,
            svc,
            next_url=next_url,
            username=username,
            error="Benutzername oder Passwort ist falsch.",
            status_code=401,
        )
    svc.logins.succeeded(username, address)
    value, _ = svc.sessions.issue(user)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=SESSION_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(svc),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    log.info("web login of user %s", user.username)
    return response


@router.post("/logout")
def logout(
    svc: Svc,
    who: MaybeWebUser,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    if who is not None and not csrf_matches(who.session.csrf, csrf_token):
        raise HTTPException(403, "the form was stale; reload the page and try again")
    if who is not None:
        end_web_sessions(svc.db, who.user.username)
        log.info("web logout of user %s: every session of theirs ended", who.user.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- who may upload ------------------------------------------------------------------


def _inbound_address(svc: Services, client_id: str) -> str | None:
    with svc.db.session() as session:
        return session.scalar(
            select(InboundAddress.address).where(InboundAddress.client_id == client_id).limit(1)
        )


def refusal(svc: Services, who: WebUser) -> str | None:
    """Why this user may not use the upload page, in words for them; None: they may."""
    if who.user.is_staff:
        return None
    client = who.client
    if client is None:
        return "Ihr Zugang ist keiner Firma zugeordnet. Bitte wenden Sie sich an Ihre Treuhand."
    if not client.online:
        return (
            f"Der Web-Upload ist nur für Online-Kunden freigeschaltet. {client.name} ist bei "
            "uns als Offline-Kunde erfasst: Senden Sie Ihre Belege bitte per E-Mail an Ihre "
            "Beleg-Adresse oder laden Sie sie mit der Mobile-App hoch."
        )
    if who.user.access is not Access.COMPANY:
        return (
            "Der Web-Upload steht Benutzern mit Firmenzugang offen. Mit Ihrem "
            "Mitarbeiterzugang laden Sie Belege bitte mit der Mobile-App hoch."
        )
    return None


def _all_clients(svc: Services) -> list[Client]:
    with svc.db.session() as session:
        return list_clients(session)


# --- the upload page -----------------------------------------------------------------


@router.get("/upload")
def upload_page(request: Request, svc: Svc, who: MaybeWebUser) -> Response:
    if who is None:
        return RedirectResponse(f"/login?next={quote('/upload')}", status_code=303)
    context: dict[str, Any] = {
        "user": who.user,
        "client": who.client,
        "csrf": who.session.csrf,
    }
    reason = refusal(svc, who)
    if reason is not None:
        address = _inbound_address(svc, who.client.id) if who.client else None
        return _page(
            request,
            svc,
            "message.html",
            {
                **context,
                "title": "Web-Upload nicht verfügbar",
                "message": reason,
                "address": address,
            },
            status_code=403,
        )
    return _page(
        request,
        svc,
        "upload.html",
        {
            **context,
            "classes": [(c.value, *CLASS_LABELS[c]) for c in DocumentClass],
            "clients": _all_clients(svc) if who.user.is_staff else [],
            "max_mb": svc.settings.max_message_bytes // (1024 * 1024),
            "max_files": MAX_FILES,
        },
    )


def _require_web_user(who: WebUser | None) -> WebUser:
    if who is None:
        raise HTTPException(401, "your session has ended; log in again at /login")
    return who


@router.post("/upload")
def upload(
    request: Request,
    svc: Svc,
    who: MaybeWebUser,
    files: Annotated[list[UploadFile], File()],
    document_class: Annotated[DocumentClass, Form()] = DocumentClass.PAYABLE,
    client: Annotated[str | None, Form(max_length=32)] = None,
    csrf_token: Annotated[str | None, Form(max_length=100)] = None,
    split: Annotated[bool, Form()] = False,
    task: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="The request this upload answers")
    ] = None,
) -> Response:
    """One or more files; JSON for the page's script, a redirect for a plain form post.
    With `?task=ID`: the document that request asked for (it closes the request).
    `split` (staff only, "Ein PDF, mehrere Belege"): each PDF is cut into the documents
    its reading finds (flows/splitting.py)."""
    web = _require_web_user(who)
    given = request.headers.get(CSRF_HEADER) or csrf_token
    if not csrf_matches(web.session.csrf, given):
        raise HTTPException(403, "the form was stale (CSRF check); reload the page and try again")
    if split and not web.user.is_staff:
        # The page shows the box to staff only; anyone else sending it is refused, not
        # ignored (ingest.uploads.refuse_split says why).
        raise HTTPException(
            403,
            "Nur die Treuhand teilt ein PDF in mehrere Belege. Bitte laden Sie jeden Beleg "
            "einzeln hoch.",
        )
    if task is not None:
        owner = _requesting_client(svc, web, task)
    else:
        reason = refusal(svc, web)
        if reason is not None:
            address = _inbound_address(svc, web.client.id) if web.client else None
            raise HTTPException(403, f"{reason} ({address})" if address else reason)
        owner = _upload_owner(svc, web, client)
    if len(files) > MAX_FILES:
        # All or nothing: taking the first twenty and dropping the rest unseen would lose
        # documents the user believes were sent.
        return _refused_upload(request, svc, web, too_many_files(len(files)), 413)
    documents: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for upload in files:
        try:
            documents.append(_take_one(svc, web, owner, upload, document_class, split=split))
        except HTTPException as exc:
            detail = _german(exc, svc.settings.max_message_bytes)
            errors.append(
                {"filename": upload.filename or "", "status": exc.status_code, "detail": detail}
            )
    if task is not None and documents:
        with svc.db.session() as session:
            tasks_repo.answer_with_upload(session, task, documents[0]["id"], web.user)
    status = 201 if documents or not errors else errors[0]["status"]
    if not _wants_json(request):
        if not errors:
            # Back where the request was made: its task page shows it answered.
            after = f"/tasks/{task}?done={task}&outcome=done" if task else "/upload"
            return RedirectResponse(after, status_code=303)
        # A plain form post (no script) sees which files were not taken, too.
        return _not_taken_page(request, svc, web, errors, status)
    body: dict[str, Any] = {"documents": documents, "errors": errors}
    if errors and not documents:
        body["detail"] = errors[0]["detail"]
    return JSONResponse(body, status_code=status)


def too_many_files(count: int) -> str:
    return (
        f"Höchstens {MAX_FILES} Dateien auf einmal – Sie haben {count} gewählt. Es wurde "
        "keine davon übernommen: Bitte laden Sie sie in mehreren Schritten hoch."
    )


def _refused_upload(
    request: Request, svc: Services, web: WebUser, message: str, status: int
) -> Response:
    """The whole request refused: JSON for the page's script, a page for a plain form."""
    if _wants_json(request):
        return JSONResponse({"documents": [], "errors": [], "detail": message}, status_code=status)
    return _page(
        request,
        svc,
        "message.html",
        {**_web_context(web), "title": "Nicht hochgeladen", "message": message},
        status_code=status,
    )


def _not_taken_page(
    request: Request, svc: Services, web: WebUser, errors: list[dict[str, Any]], status: int
) -> Response:
    return _page(
        request,
        svc,
        "message.html",
        {
            **_web_context(web),
            "title": "Nicht alle Dateien übernommen",
            "message": "Diese Dateien haben wir nicht übernommen; die übrigen sind angekommen.",
            "items": [f"{e['filename'] or 'Datei'}: {e['detail']}" for e in errors],
            "back": "/upload",
        },
        status_code=status,
    )


def _web_context(web: WebUser) -> dict[str, Any]:
    return {"user": web.user, "client": web.client, "csrf": web.session.csrf}


def _german(exc: HTTPException, max_bytes: int) -> str:
    """The page speaks German; the API's English message is the fallback."""
    return {
        400: "Die Datei ist leer. Bitte wählen Sie sie noch einmal aus.",
        413: f"Die Datei ist grösser als {max_bytes // (1024 * 1024)} MB. Bitte teilen oder "
        "verkleinern Sie sie.",
        415: "Dieses Format können wir nicht lesen. Bitte als PDF, JPG, PNG, TIFF, HEIC oder "
        "XML-E-Rechnung hochladen.",
    }.get(exc.status_code, str(exc.detail))


def _requesting_client(svc: Services, web: WebUser, task_id: int) -> Client:
    """The client whose request (a missing document, a question) this upload answers.
    Whoever the request is addressed to may answer it, an employee too; a task the user
    may not see answers 404 like a missing one. An offline client's users still upload
    by mail or app: web upload is not theirs (DESIGN.md)."""
    with svc.db.session() as session:
        try:
            row = tasks_repo.request_for_upload(session, Scope.of(web.user), task_id, web.user)
        except LookupError:
            raise HTTPException(404, f"no task {task_id}; check the id") from None
        except tasks_repo.TaskNotAllowed as exc:
            raise HTTPException(403, str(exc)) from None
        except tasks_repo.TaskBlocked as exc:
            raise HTTPException(409, str(exc)) from None
        if row.status != TaskStatus.OPEN.value:
            raise HTTPException(409, f"task {task_id} is already done; nothing to upload for it")
        owner = get_client(session, row.client_id)
    assert owner is not None
    if not web.user.is_staff and not owner.online:
        raise HTTPException(403, refusal(svc, web) or "web upload is for online clients")
    return owner


def _upload_owner(svc: Services, web: WebUser, requested: str | None) -> Client:
    if web.client is not None:
        return web.client  # a client user uploads for their own client, whatever was sent
    if not requested:
        raise HTTPException(400, "bitte wählen Sie zuerst den Kunden aus")
    with svc.db.session() as session:
        owner = get_client(session, requested)
    if owner is None:
        raise HTTPException(404, f"no client {requested}")
    return owner  # staff upload for offline clients too: their paper is scanned here


def _take_one(
    svc: Services,
    web: WebUser,
    owner: Client,
    upload: UploadFile,
    document_class: DocumentClass,
    *,
    split: bool = False,
) -> dict[str, Any]:
    data = read_upload(upload, svc.settings.max_message_bytes)
    media_type = media_type_of(data)
    recorded = submit(
        svc,
        Submission(
            client_id=owner.id,
            channel=Channel.WEB,
            data=data,
            filename=display_name(upload.filename, media_type),
            media_type=media_type,
            submitted_by=web.user.username,
            document_class=document_class,
            meta={"split": True} if split else {},
        ),
    )
    with svc.db.session() as session:
        row = session.get(DocumentRow, recorded.document_id)
        assert row is not None
        return document_item(row)


@router.get("/upload/documents")
def my_documents(svc: Svc, who: MaybeWebUser) -> JSONResponse:
    """The table's data, newest first: what the user's Scope sees — a company user the
    company's documents (mailed, uploaded by anyone, by the fiduciary), an employee their
    own, staff everyone's — so a "duplicate of document N" points to one they can open."""
    web = _require_web_user(who)
    scope = Scope.of(web.user)
    with svc.db.session() as session:
        rows = documents_repo.list_documents(session, scope, limit=LIST_LIMIT)
        outcomes = _outcomes(session, [row.id for row in rows])
        items = [document_item(row, outcomes.get(row.id)) for row in rows]
    return JSONResponse({"documents": items}, headers={"Cache-Control": "no-store"})


def _outcomes(session: Any, document_ids: list[int]) -> dict[int, str]:
    """What became of each routed document, in words for the table (two queries in all)."""
    if not document_ids:
        return {}
    posted = set(
        session.scalars(
            select(BookingRow.document_id).where(
                BookingRow.document_id.in_(document_ids),
                BookingRow.status == BookingStatus.POSTED.value,
            )
        )
    )
    open_tasks: dict[int, set[str]] = {}
    for document_id, assignee in session.execute(
        select(TaskRow.document_id, TaskRow.assignee).where(
            TaskRow.document_id.in_(document_ids), TaskRow.status == TaskStatus.OPEN.value
        )
    ):
        open_tasks.setdefault(document_id, set()).add(assignee)
    outcomes: dict[int, str] = {}
    for document_id in document_ids:
        assignees = open_tasks.get(document_id, set())
        if Party.CLIENT.value in assignees:
            outcomes[document_id] = "Ihre Freigabe nötig"
        elif Party.FIDUCIARY.value in assignees:
            outcomes[document_id] = "Wird von der Treuhand geprüft"
        elif document_id in posted:
            outcomes[document_id] = "Verbucht"
    return outcomes


def document_item(row: DocumentRow, outcome: str | None = None) -> dict[str, Any]:
    state = DocumentState(row.state)
    children = (row.routing or {}).get("children") or []
    if outcome is None and children:  # a split PDF: its documents are listed on their own
        outcome = f"Aufgeteilt in {len(children)} Belege (Nr. {', '.join(map(str, children))})"
    doc_type = DocType(row.doc_type) if row.doc_type else None
    document_class = DocumentClass(row.document_class) if row.document_class else None
    return {
        "id": row.id,
        "client_id": row.client_id,
        "filename": row.filename,
        "channel": row.channel,
        "channel_label": CHANNEL_LABELS.get(Channel(row.channel), row.channel),
        "state": state.value,
        "state_label": STATE_LABELS[state],
        "final": state.is_final,
        "doc_type": doc_type.value if doc_type else None,
        "doc_type_label": DOC_TYPE_LABELS[doc_type] if doc_type else None,
        "document_class": document_class.value if document_class else None,
        "class_label": CLASS_LABELS[document_class][0] if document_class else None,
        "duplicate_of": row.duplicate_of,
        "outcome": outcome if state is DocumentState.ROUTED else None,
        "received_at": row.received_at.isoformat(),
    }
