"""Rendering the workspace's pages: templates, the frame's context, security headers.

Pages are server-rendered (Jinja2, autoescaped); the only script is a static file
(`script-src 'self'`, no inline script), and boxes on page images are placed by that
script from data attributes — inline styles are not allowed by the CSP either.
"""

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from storage.masterdata import fiduciary
from web.deps import Viewer, Workspace

HERE = Path(__file__).parent
STATIC_PATH = "/workspace-static"
templates = Jinja2Templates(directory=HERE / "templates")

# The same policy as the intake's pages (ingest/web.py).
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
LOGO_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<rect width="32" height="32" rx="7" fill="#0f4c5c"/>'
    '<path d="M9 8h10l4 4v12a1 1 0 0 1-1 1H9a1 1 0 0 1-1-1V9a1 1 0 0 1 1-1Z" fill="#fff"/>'
    '<path d="M19 8v4h4" fill="#cfe3e8"/>'
    '<path d="M11.5 17.5l3 3 6-6" stroke="#1a9e77" stroke-width="2.4" fill="none" '
    'stroke-linecap="round" stroke-linejoin="round"/></svg>'
)
LOGO_URI = "data:image/svg+xml," + quote(LOGO_SVG)


def mount_static(app: Any) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="workspace-static")


def money(value: Any) -> str:
    """Swiss format: 1'234.50 (a negative amount keeps its sign)."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    whole, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    return ("-" if amount < 0 else "") + "'".join(groups) + "." + cents


def day(value: Any) -> str:
    """dd.mm.yyyy, as Swiss documents print it."""
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10]).strftime("%d.%m.%Y")
        except ValueError:
            return value
    return "" if value is None else str(value)


templates.env.filters["money"] = money
templates.env.filters["day"] = day


def page(
    request: Request,
    ws: Workspace,
    viewer: Viewer,
    name: str,
    context: dict[str, Any],
    status_code: int = 200,
) -> HTMLResponse:
    with ws.db.session() as session:
        firm = fiduciary(session)
    response = templates.TemplateResponse(
        request,
        name,
        {
            "firm": firm.name if firm else ws.firm_name,
            "logo_uri": LOGO_URI,
            "static": STATIC_PATH,
            "user": viewer.user,
            "client": viewer.client,
            "csrf": viewer.csrf,
            "lang": viewer.lang.value,
            "t": viewer.t,
            "today": date.today(),
            **context,
        },
        status_code=status_code,
    )
    response.headers["Content-Security-Policy"] = CSP
    response.headers["Cache-Control"] = "no-store"
    return response
