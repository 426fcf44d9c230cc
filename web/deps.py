"""What the workspace runs on, handed to it by the one place that composes the app.

The workspace sits above intake but must not reach into it (nor into the readers): the
composer (`web/app.py`) gives it, in a `Workspace` on `app.state.workspace`, the storage
it works on and three callables — who a browser session is, who an API token is (both
answer None for nobody, or raise the HTTP error intake would), and how to draw a page.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select

from domain.records import Client, User
from domain.settings import Settings
from storage.db import Database
from storage.masterdata import get_client
from storage.objects import ObjectStore
from storage.tables import ClientRow, UserRow
from web.i18n import Lang, Translator, lang_of


class PageRenderer(Protocol):
    """Draws pages of an original (extractors.pages, in a worker process)."""

    def sizes(self, data: bytes, media_type: str) -> list[tuple[float, float]]: ...

    def png(self, data: bytes, media_type: str, number: int) -> bytes | None:
        """None beyond the last page (or for a document without pages)."""
        ...


@dataclass(frozen=True)
class SessionIdentity:
    user: User
    csrf: str


@dataclass
class Workspace:
    db: Database
    store: ObjectStore
    settings: Settings
    session_user: Callable[[Request], SessionIdentity | None]
    token_user: Callable[[Request], User | None]  # raises 401/429 like the API
    renderer: PageRenderer
    firm_name: str = "Treuhand"


@dataclass(frozen=True)
class Viewer:
    """A logged-in person on a workspace page."""

    user: User
    csrf: str
    client: Client | None  # None for staff
    lang: Lang

    @property
    def t(self) -> Translator:
        return Translator(self.lang)


def workspace(request: Request) -> Workspace:
    return request.app.state.workspace


Ws = Annotated[Workspace, Depends(workspace)]


class LoginNeeded(Exception):
    """No session: the page sends the browser to /login and back."""


def language_for(ws: Workspace, user: User) -> Lang:
    """The user's language, else their client's, else German."""
    with ws.db.session() as session:
        own = (
            None
            if user.is_staff
            else session.scalar(select(UserRow.language).where(UserRow.username == user.username))
        )
        client = (
            session.scalar(select(ClientRow.language).where(ClientRow.id == user.client_id))
            if user.client_id
            else None
        )
    return lang_of(own, client)


def viewer_or_none(request: Request, ws: Ws) -> Viewer | None:
    identity = ws.session_user(request)
    if identity is None:
        return None
    client = None
    if identity.user.client_id is not None:
        with ws.db.session() as session:
            client = get_client(session, identity.user.client_id)
    return Viewer(identity.user, identity.csrf, client, language_for(ws, identity.user))


def require_viewer(viewer: Annotated[Viewer | None, Depends(viewer_or_none)]) -> Viewer:
    if viewer is None:
        raise LoginNeeded()
    return viewer


CurrentViewer = Annotated[Viewer, Depends(require_viewer)]


def api_or_session_user(request: Request, ws: Ws) -> User:
    """A Bearer token (scripts) or the browser's session (the task page's <img>)."""
    user = ws.token_user(request)
    if user is not None:
        return user
    identity = ws.session_user(request)
    if identity is not None:
        return identity.user
    raise HTTPException(
        401,
        "authentication needed: send the header 'Authorization: Bearer <your API token>'",
        headers={"WWW-Authenticate": "Bearer"},
    )


AnyUser = Annotated[User, Depends(api_or_session_user)]
