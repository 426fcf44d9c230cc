"""The supplier page (`/suppliers/{id}`): master data, and what corrections taught for
the viewer's client — account, VAT code, payment method, private; printed names and
IBANs tied to the supplier; where its layout prints fields — editable by staff and the
client's company users (storage.learning keeps every change in the supplier's history).

Who sees a supplier: staff every one; a company user the suppliers their client works
with (or proposed from their documents); an employee none. Anything else answers 404
exactly like a supplier that does not exist.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from domain.enums import Access, LearnedField
from domain.records import User
from storage.learning import InvalidLearnedValue, forget_learned, learned_for, set_learned
from storage.tables import ClientRow, ClientSupplier, LearnedRule, SupplierIban, SupplierRow
from web.deps import CurrentViewer, Viewer, Ws
from web.render import page

router = APIRouter(include_in_schema=False)

SupplierId = Annotated[str, Path(min_length=1, max_length=40)]


def visible_supplier(session: Any, user: User, supplier_id: str) -> SupplierRow | None:
    row = session.get(SupplierRow, supplier_id)
    if row is None:
        return None
    if user.is_staff:
        return row
    if user.access is not Access.COMPANY:
        return None  # employee access is upload only
    if row.proposed_by_client_id == user.client_id:
        return row
    linked = session.scalar(
        select(ClientSupplier.client_id).where(
            ClientSupplier.client_id == user.client_id, ClientSupplier.supplier_id == supplier_id
        )
    )
    return row if linked else None


def _client_for(session: Any, viewer: Viewer, supplier_id: str, asked: str | None) -> str | None:
    """Whose learned values the page shows: a client user's own client; staff the one
    asked for, else the first client that learned something or works with it."""
    if not viewer.user.is_staff:
        return viewer.user.client_id
    if asked and session.get(ClientRow, asked) is not None:
        return asked
    first = session.scalar(
        select(LearnedRule.client_id)
        .where(LearnedRule.supplier_id == supplier_id)
        .order_by(LearnedRule.learned_at.desc())
        .limit(1)
    )
    return first or session.scalar(
        select(ClientSupplier.client_id)
        .where(ClientSupplier.supplier_id == supplier_id)
        .order_by(ClientSupplier.client_id)
        .limit(1)
    )


def _missing(request: Request, ws: Any, viewer: Viewer, supplier_id: str) -> HTMLResponse:
    message = {
        "de": f"Kein Lieferant {supplier_id}; bitte prüfen Sie die Nummer.",
        "fr": f"Aucun fournisseur {supplier_id} ; veuillez vérifier le numéro.",
        "it": f"Nessun fornitore {supplier_id}; verificare il numero.",
        "en": f"No supplier {supplier_id}; check the id.",
    }[viewer.lang.value]
    return page(request, ws, viewer, "missing.html", {"message": message}, status_code=404)


def _render(
    request: Request,
    ws: Any,
    viewer: Viewer,
    supplier_id: str,
    asked_client: str | None,
    *,
    notice: tuple[str, str] | None = None,
    status: int = 200,
) -> Response:
    # Pages are rendered after the session closes (SQLite: one session at a time).
    with ws.db.session() as session:
        supplier = visible_supplier(session, viewer.user, supplier_id)
        if supplier is not None:
            session.expunge(supplier)
    if supplier is None:
        return _missing(request, ws, viewer, supplier_id)
    with ws.db.session() as session:
        client_id = _client_for(session, viewer, supplier_id, asked_client)
        learned = learned_for(session, client_id, supplier_id) if client_id else None
        ibans = list(
            session.scalars(
                select(SupplierIban.iban).where(SupplierIban.supplier_id == supplier_id)
            )
        )
        clients = (
            list(session.execute(select(ClientRow.id, ClientRow.name).order_by(ClientRow.id)))
            if viewer.user.is_staff
            else []
        )
        client_name = session.scalar(select(ClientRow.name).where(ClientRow.id == client_id))
    return page(
        request,
        ws,
        viewer,
        "supplier.html",
        {
            "supplier": supplier,
            "ibans": ibans,
            "learned": learned,
            "learned_client": client_id,
            "learned_client_name": client_name,
            "clients": clients,
            "fields": [f.value for f in LearnedField],
            "editable": viewer.user.is_staff or viewer.user.access is Access.COMPANY,
            "notice": notice,
        },
        status_code=status,
    )


@router.get("/suppliers/{supplier_id}")
def supplier_page(
    request: Request, ws: Ws, viewer: CurrentViewer, supplier_id: SupplierId
) -> Response:
    return _render(request, ws, viewer, supplier_id, request.query_params.get("client"))


@router.post("/suppliers/{supplier_id}/learned")
async def edit_learned(
    request: Request, ws: Ws, viewer: CurrentViewer, supplier_id: SupplierId
) -> Response:
    """Set (or with `forget`, delete) one learned value for the viewer's client."""
    import hmac

    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    asked = form.get("client") or None
    if not hmac.compare_digest(viewer.csrf.encode(), (form.get("csrf_token") or "").encode()):
        return _render(
            request,
            ws,
            viewer,
            supplier_id,
            asked,
            notice=("error", viewer.t("err.stale")),
            status=403,
        )
    try:
        field = LearnedField(form.get("field", ""))
    except ValueError:
        return _render(
            request,
            ws,
            viewer,
            supplier_id,
            asked,
            notice=("error", f"field: one of {', '.join(f.value for f in LearnedField)}"),
            status=422,
        )
    if not (viewer.user.is_staff or viewer.user.access is Access.COMPANY):
        return _missing(request, ws, viewer, supplier_id)
    client_id = viewer.user.client_id if not viewer.user.is_staff else asked
    with ws.db.session() as session:
        visible = visible_supplier(session, viewer.user, supplier_id) is not None
    if not visible:
        return _missing(request, ws, viewer, supplier_id)
    try:
        with ws.db.session() as session:
            if client_id is None or session.get(ClientRow, client_id) is None:
                raise InvalidLearnedValue("client: choose a client")
            if "forget" in form:
                forget_learned(session, client_id, supplier_id, field, viewer.user.username)
            else:
                value = form.get("value", "")
                set_learned(session, client_id, supplier_id, field, value, viewer.user.username)
    except InvalidLearnedValue as exc:
        notice = ("error", f"{field.value}: {exc}")
        return _render(request, ws, viewer, supplier_id, asked, notice=notice, status=422)
    query = f"?client={client_id}" if viewer.user.is_staff else ""
    return RedirectResponse(f"/suppliers/{supplier_id}{query}", status_code=303)
