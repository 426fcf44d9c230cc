"""Page images for people: one page of a document as a PNG, and the size of every page.

The task page shows the original beside what was read. Rendering runs in a worker
process of its own (`extractors.limits.WorkerPool`): pdfium is not thread-safe, and a
hostile file can make pdfium or Pillow balloon or hang — in a worker it is killed at a
time and memory limit, not the web server. One page per call, and its pixels bounded
(the width capped, the area capped), whatever the page's declared size.

Sizes are in the units the reading's positions use (`domain.extraction.Box`): PDF points
for PDFs; for images the pixel size (the reading scales image positions uniformly, so a
box as a fraction of the page is the same either way).
"""

import atexit
import io
import os
import threading
from dataclasses import dataclass

from PIL import Image, ImageOps

from domain.enums import MediaType, ReadErrorKind
from extractors.errors import ReadFailure
from extractors.limits import WorkerPool, spooled

RENDER_DPI = 110
MAX_WIDTH_PX = 1400
MAX_PIXELS = 6_000_000  # a 1400 px wide page up to ~4300 px tall
RENDER_TIMEOUT_S = 30.0
WORKER_MEMORY_BYTES = 1024**3

RENDERABLE = frozenset(
    {MediaType.PDF.value, MediaType.JPEG.value, MediaType.PNG.value, MediaType.TIFF.value}
    | {MediaType.HEIC.value}
)


class NoSuchPage(Exception):
    """The document has no page of that number (or no pages at all: an XML e-invoice)."""


@dataclass(frozen=True)
class PageSize:
    width: float
    height: float


# --- the caller's side ------------------------------------------------------------------

_POOL: WorkerPool | None = None
_POOL_LOCK = threading.Lock()


def _pool() -> WorkerPool:
    """One worker for page images, apart from the readers' pool: a person waiting for a
    page never queues behind a batch of scans, and a scan never waits for a page."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.pid != os.getpid():
            _POOL = WorkerPool(1, WORKER_MEMORY_BYTES, job="page rendering")
            atexit.register(_POOL.shutdown)
        return _POOL


def page_sizes(data: bytes, media_type: str) -> list[PageSize]:
    """Every page's size (empty for a document without pages, e.g. XML)."""
    if media_type not in RENDERABLE:
        return []
    with spooled(data, suffix=".bin") as path:
        sizes = _pool().call(_sizes_in_worker, path, media_type, timeout=RENDER_TIMEOUT_S)
    return [PageSize(w, h) for w, h in sizes]


def render_png(data: bytes, media_type: str, number: int, max_width: int = MAX_WIDTH_PX) -> bytes:
    """Page `number` (1-based) as a PNG at about RENDER_DPI, at most `max_width` wide.
    Raises NoSuchPage beyond the last page, ReadFailure when the file cannot be drawn."""
    if media_type not in RENDERABLE or number < 1:
        raise NoSuchPage(number)
    with spooled(data, suffix=".bin") as path:
        png = _pool().call(
            _png_in_worker, path, media_type, number - 1, max_width, timeout=RENDER_TIMEOUT_S
        )
    if png is None:
        raise NoSuchPage(number)
    return png


def shutdown() -> None:
    with _POOL_LOCK:
        if _POOL is not None:
            _POOL.shutdown()


# --- the worker's side (module-level functions: called by name in the worker) ----------


def _sizes_in_worker(path: str, media_type: str) -> list[tuple[float, float]]:
    if media_type == MediaType.PDF.value:
        from extractors.pdfdoc import PDFIUM_LOCK, open_pdf

        with open(path, "rb") as handle:
            doc = open_pdf(handle.read())
        with PDFIUM_LOCK:
            try:
                count = len(doc)
                return [tuple(map(float, doc[i].get_size())) for i in range(min(count, 300))]  # type: ignore[misc]
            finally:
                doc.close()
    image = _open_image(path)
    sizes = []
    for index in range(getattr(image, "n_frames", 1)):
        frame = _frame(image, index)
        sizes.append((float(frame.width), float(frame.height)))
    return sizes


def _png_in_worker(path: str, media_type: str, index: int, max_width: int) -> bytes | None:
    if media_type == MediaType.PDF.value:
        image = _pdf_page(path, index, max_width)
    else:
        source = _open_image(path)
        if index >= getattr(source, "n_frames", 1):
            return None
        image = _frame(source, index).convert("RGB")
        image.thumbnail((max_width, MAX_PIXELS // max(1, max_width)))
    if image is None:
        return None
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _pdf_page(path: str, index: int, max_width: int) -> Image.Image | None:
    from extractors.pdfdoc import PDFIUM_LOCK, open_pdf

    with open(path, "rb") as handle:
        doc = open_pdf(handle.read())
    with PDFIUM_LOCK:
        try:
            if index >= len(doc):
                return None
            page = doc[index]
            width, height = page.get_size()
            scale = min(RENDER_DPI / 72, max_width / max(width, 1.0))
            if width * height * scale * scale > MAX_PIXELS:
                scale = (MAX_PIXELS / max(width * height, 1.0)) ** 0.5
            bitmap = page.render(scale=scale, may_draw_forms=True)
            image = bitmap.to_pil().convert("RGB")
            bitmap.close()
            page.close()
            return image
        finally:
            doc.close()


def _open_image(path: str) -> Image.Image:
    from extractors.images import open_image

    with open(path, "rb") as handle:
        return open_image(handle.read())


def _frame(image: Image.Image, index: int) -> Image.Image:
    """Frame `index`, upright as the reader saw it (EXIF orientation on the first)."""
    try:
        image.seek(index)
        return ImageOps.exif_transpose(image) if index == 0 else image.copy()
    except (OSError, ValueError, EOFError) as exc:
        raise ReadFailure(ReadErrorKind.CORRUPT, f"image page {index + 1} is broken") from exc
