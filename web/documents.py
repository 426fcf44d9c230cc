"""The original's pages as images and its fields' boxes, for the task page and the API:
`GET /api/v1/documents/{id}/pages/{n}` (PNG) and `GET /api/v1/documents/{id}/fields`.

Scoped like every read: what the caller's scope may not see answers 404 exactly like a
missing id, and so does a page beyond the last. Pages are drawn on the server, one page
per request (the renderer works in a worker process: see extractors/pages.py), and kept
in a bounded in-memory cache by content hash and page number — originals never change.
"""

import logging
import threading
from collections import OrderedDict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import Response

from domain.field_boxes import sizes_complete, stored_page_sizes
from storage import documents as documents_repo
from storage.audit import document_history
from storage.objects import ChecksumMismatch, ObjectMissing
from storage.scope import Scope
from storage.tables import DocumentRow, ExtractionRow
from web.deps import AnyUser, Workspace, Ws
from web.fields import DocumentFields, corrected_fields, field_views

log = logging.getLogger("fiduflow.web.pages")

MAX_ID = 2**31 - 1
MAX_PAGE = 300  # no document we read has more (extractors.pdfdoc.MAX_PAGES)
ObjectId = Annotated[int, Path(ge=1, le=MAX_ID, description="The object's id")]
PageNumber = Annotated[int, Path(ge=1, le=MAX_PAGE, description="The page, from 1")]


class BytesLru:
    """At most `budget` bytes of values, least recently used out first."""

    def __init__(self, budget: int):
        self.budget = budget
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int]) -> bytes | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: tuple[str, int], value: bytes) -> None:
        if len(value) > self.budget // 4:
            return  # one huge page must not empty the cache
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= len(old) if old else 0
            self._items[key] = value
            self._size += len(value)
            while self._size > self.budget:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


PNG_CACHE = BytesLru(48 * 1024 * 1024)
_SIZES: OrderedDict[str, list[tuple[float, float]]] = OrderedDict()
_SIZES_KEEP = 2000
_SIZES_LOCK = threading.Lock()

router = APIRouter(prefix="/api/v1", tags=["api"])

ERRORS: dict[int | str, dict[str, object]] = {
    401: {"description": "Missing or unknown token"},
    404: {"description": "No such document or page for this caller"},
}


def _not_found(document_id: int) -> HTTPException:
    # The same words for a foreign document, a missing one and a page beyond the last.
    return HTTPException(404, f"no document {document_id} page; check the id and page number")


def _original(ws: Workspace, row: DocumentRow) -> bytes:
    try:
        return ws.store.get_original(row.sha256)
    except (ObjectMissing, ChecksumMismatch) as exc:
        log.error("original of document %s unreadable: %s", row.id, exc.__class__.__name__)
        raise HTTPException(
            500, "the original cannot be shown right now; the operators have been notified"
        ) from exc


def page_sizes(ws: Workspace, row: DocumentRow) -> list[tuple[float, float]]:
    """The pages' sizes in the reading's units (cached by content hash)."""
    with _SIZES_LOCK:
        known = _SIZES.get(row.sha256)
    if known is not None:
        return known
    try:
        sizes = ws.renderer.sizes(_original(ws, row), row.media_type)
    except HTTPException:
        raise
    except Exception as exc:  # an original we cannot draw has no pages to show
        log.info("document %s: no page sizes (%s)", row.id, exc.__class__.__name__)
        sizes = []
    with _SIZES_LOCK:
        _SIZES[row.sha256] = sizes
        while len(_SIZES) > _SIZES_KEEP:
            _SIZES.popitem(last=False)
    return sizes


@router.get(
    "/documents/{document_id}/pages/{n}",
    response_class=Response,
    responses={**ERRORS, 200: {"content": {"image/png": {}}, "description": "The page"}},
    summary="One page of the original as PNG",
)
def page_image(document_id: ObjectId, n: PageNumber, user: AnyUser, ws: Ws) -> Response:
    """Page `n` (from 1) at about 110 dpi, at most 1400 px wide. Beyond the last: 404."""
    with ws.db.session() as session:
        row = documents_repo.get_document_row(session, Scope.of(user), document_id)
        if row is None:
            raise _not_found(document_id)
        session.expunge(row)
    key = (row.sha256, n)
    png = PNG_CACHE.get(key)
    if png is None:
        try:
            png = ws.renderer.png(_original(ws, row), row.media_type, n)
        except HTTPException:
            raise
        except Exception as exc:
            log.info("document %s page %s not drawn: %s", document_id, n, exc)
            png = None
        if png is None:
            raise _not_found(document_id)
        PNG_CACHE.put(key, png)
    return Response(
        png,
        media_type="image/png",
        # Private: the page is the client's data; the bytes never change for this URL.
        headers={"Cache-Control": "private, max-age=3600"},
    )


def document_fields(ws: Workspace, row: DocumentRow) -> DocumentFields:
    with ws.db.session() as session:
        extraction = session.get(ExtractionRow, row.id)
        data = dict(extraction.data) if extraction else None
        corrected = corrected_fields(document_history(session, row.id))
    # The sizes kept with the reading are in its own units (for images too) and cost no
    # trip to the original; readings made before they were kept open the original.
    stored = stored_page_sizes(data)
    sizes = stored if sizes_complete(stored) else page_sizes(ws, row)
    return DocumentFields(
        document_id=row.id,
        pages=len(sizes),
        page_sizes=sizes,
        fields=field_views(data, sizes, corrected),
    )


@router.get(
    "/documents/{document_id}/fields",
    response_model=DocumentFields,
    responses=ERRORS,
    summary="Each field read: value, confidence, source and its box on the page",
)
def get_fields(document_id: ObjectId, user: AnyUser, ws: Ws) -> DocumentFields:
    """Boxes are fractions of the page, origin top left: `{page, x0, y0, x1, y1}`."""
    with ws.db.session() as session:
        row = documents_repo.get_document_row(session, Scope.of(user), document_id)
        if row is None:
            raise HTTPException(404, f"no document {document_id}; check the id")
        session.expunge(row)
    return document_fields(ws, row)
