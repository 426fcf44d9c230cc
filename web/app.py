"""The one place that composes fiduflow's HTTP app: the intake (ingest.api: the API,
/login, /upload, /healthz, /docs) plus the workspace (the task inbox and page, the
supplier page, page images and field boxes).

This module alone in `web/` reaches into intake and the readers (tests/test_architecture
holds it to that): it hands the workspace, in a `Workspace`, who a session or a token
is (intake's own login, sessions and token throttle) and how a page is drawn
(extractors.pages, in a worker process), so the workspace's pages need neither.
"""

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials

from domain.records import User
from domain.settings import Settings
from extractors import pages as page_images
from ingest.api import create_app as create_intake_app
from ingest.api import current_user
from ingest.intake import RequestProcessing
from ingest.uploads import services
from ingest.web import web_user
from storage.db import Database
from storage.objects import ObjectStore
from web import documents, suppliers, tasks
from web.deps import LoginNeeded, SessionIdentity, Workspace
from web.render import mount_static

HOME = "/tasks"


class PdfiumPages:
    """The workspace's PageRenderer: extractors.pages (a worker process of its own)."""

    def sizes(self, data: bytes, media_type: str) -> list[tuple[float, float]]:
        return [(s.width, s.height) for s in page_images.page_sizes(data, media_type)]

    def png(self, data: bytes, media_type: str, number: int) -> bytes | None:
        try:
            return page_images.render_png(data, media_type, number)
        except page_images.NoSuchPage:
            return None


def session_user(request: Request) -> SessionIdentity | None:
    who = web_user(request, services(request))
    return None if who is None else SessionIdentity(who.user, who.session.csrf)


def token_user(request: Request) -> User | None:
    """The Bearer token's user (401/429 as the API answers them); None without one."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=value.strip())
    return current_user(request, credentials)


def create_app(
    db: Database,
    store: ObjectStore,
    settings: Settings,
    request_processing: RequestProcessing | None,
) -> FastAPI:
    """fiduflow's whole HTTP app: intake + workspace; `/` leads to the task inbox."""
    app = create_intake_app(db, store, settings, request_processing, home=HOME)
    app.state.workspace = Workspace(
        db=db,
        store=store,
        settings=settings,
        session_user=session_user,
        token_user=token_user,
        renderer=PdfiumPages(),
    )
    app.include_router(documents.router)
    app.include_router(tasks.router)
    app.include_router(suppliers.router)
    mount_static(app)

    async def login_needed(request: Request, exc: Exception) -> RedirectResponse:
        from urllib.parse import quote

        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    app.add_exception_handler(LoginNeeded, login_needed)
    app.openapi_schema = None  # the schema includes the workspace's API routes
    return app
