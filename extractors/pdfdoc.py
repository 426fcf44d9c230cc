"""Everything we ask of pypdfium2, behind one lock: pdfium is not thread-safe."""

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from domain.enums import ReadErrorKind
from extractors.errors import ReadFailure

PDFIUM_LOCK = threading.RLock()
MAX_PAGES = 300
# A page we render is capped at this many pixels (an absurd page size would otherwise
# allocate gigabytes); A4 at 300 dpi is 8.7 Mpx.
MAX_RENDER_PIXELS = 40_000_000
# Fewer letters than this and the page's "text layer" is a stamp or page number: OCR it.
MIN_TEXT_CHARS = 25
_EMPTY_TREE = re.compile(rb"/Type\s*/Pages\b(?:(?!>>).)*/Count\s+0\b", re.DOTALL)


@dataclass
class PageInfo:
    index: int  # 0-based
    width: float  # points, after /Rotate
    height: float
    text: str  # pdfium's quick text, used for decisions (the real text comes from pdfplumber)

    @property
    def has_text_layer(self) -> bool:
        return sum(ch.isalnum() for ch in self.text) >= MIN_TEXT_CHARS


@dataclass
class PdfInfo:
    pages: list[PageInfo] = field(default_factory=list)
    attachments: list[tuple[str, bytes]] = field(default_factory=list)


def open_pdf(data: bytes) -> pdfium.PdfDocument:
    """Open under the lock; password and structure problems become ReadFailure."""
    if b"%%EOF" not in data[-4096:] and b"%%EOF" not in data:
        raise ReadFailure(ReadErrorKind.CORRUPT, "PDF is truncated (no end-of-file marker)")
    with PDFIUM_LOCK:
        try:
            return pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            # pdfium's error code can be stale from an earlier document: trust it only
            # when the file really has an /Encrypt dictionary.
            encrypted = re.search(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)", data) is not None
            if _EMPTY_TREE.search(data) and not encrypted:
                raise ReadFailure(ReadErrorKind.EMPTY, "PDF has no pages") from exc
            if encrypted and getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
                raise ReadFailure(
                    ReadErrorKind.ENCRYPTED, "PDF is protected by a password needed to open it"
                ) from exc
            if encrypted and getattr(exc, "err_code", None) == pdfium_c.FPDF_ERR_SECURITY:
                raise ReadFailure(
                    ReadErrorKind.ENCRYPTED, "PDF uses unsupported encryption"
                ) from exc
            raise ReadFailure(ReadErrorKind.CORRUPT, f"PDF cannot be opened: {exc}") from exc


def inspect_pdf(doc: pdfium.PdfDocument, want_attachments: bool = True) -> PdfInfo:
    with PDFIUM_LOCK:
        count = len(doc)
        if count == 0:
            raise ReadFailure(ReadErrorKind.EMPTY, "PDF has no pages")
        if count > MAX_PAGES:
            raise ReadFailure(ReadErrorKind.TOO_LARGE, f"PDF has {count} pages (limit {MAX_PAGES})")
        info = PdfInfo()
        for i in range(count):
            try:
                page = doc[i]
            except pdfium.PdfiumError as exc:
                raise ReadFailure(ReadErrorKind.CORRUPT, f"page {i + 1} cannot be loaded") from exc
            width, height = page.get_size()
            textpage = page.get_textpage()
            text = textpage.get_text_range()
            textpage.close()
            page.close()
            info.pages.append(PageInfo(i, float(width), float(height), text))
        if want_attachments:
            for i in range(doc.count_attachments()):
                att = doc.get_attachment(i)
                name = att.get_name()
                if name.lower().endswith(".xml"):
                    info.attachments.append((name, bytes(att.get_data())))
        return info


def render_page(
    doc: pdfium.PdfDocument,
    index: int,
    dpi: float,
    crop_bottom_share: float | None = None,
) -> tuple[Image.Image, float]:
    """Grayscale render of one page (or of its bottom share); returns (image, scale used)."""
    with PDFIUM_LOCK:
        page = doc[index]
        width, height = page.get_size()
        scale = dpi / 72
        if width * height * scale * scale > MAX_RENDER_PIXELS:
            scale = (MAX_RENDER_PIXELS / (width * height)) ** 0.5
        crop = (0, 0, 0, height * (1 - crop_bottom_share)) if crop_bottom_share else (0, 0, 0, 0)
        bitmap = page.render(scale=scale, crop=crop, grayscale=True)
        image = bitmap.to_pil().convert("L")
        bitmap.close()
        page.close()
        return image, scale


def single_page_image(doc: pdfium.PdfDocument, index: int) -> tuple[bytes, int, int] | None:
    """A scanned page is one JPEG covering the page: return its bytes and pixel size.

    Handing tesseract the scanner's own JPEG saves a render and keeps the scan's pixels.
    """
    with PDFIUM_LOCK:
        page = doc[index]
        try:
            objs = list(page.get_objects(max_depth=1))
            images = [o for o in objs if isinstance(o, pdfium.PdfImage)]
            if len(images) != 1 or len(objs) > 3:
                return None
            img = images[0]
            if img.get_filters() != ["DCTDecode"]:
                return None
            pw, ph = page.get_size()
            left, bottom, right, top = img.get_bounds()
            if (right - left) < 0.9 * pw or (top - bottom) < 0.9 * ph:
                return None
            if page.get_rotation() != 0:
                return None
            width, height = img.get_px_size()
            data = bytes(img.get_data(decode_simple=False))
            return data, width, height
        except pdfium.PdfiumError:
            return None
        finally:
            page.close()


# --- in a parse worker -----------------------------------------------------------------
# pdfium inflates content streams and decodes images in the process that asks, and a
# hostile 300 KB file can make that 400 MB or more. So every pdfium call on a document
# being read runs in a parse worker (extractors.limits: time limit, memory limit, killed
# when it overruns); the reader's own process only ever holds the file and page images.
# The worker keeps the last few files it opened, so a 250-page scan is opened once, not
# once per page; the caller names the file by a path it spooled the bytes to.

_OPEN: "OrderedDict[str, pdfium.PdfDocument]" = OrderedDict()
_OPEN_KEEP = 4


def _opened(path: str) -> pdfium.PdfDocument:
    doc = _OPEN.pop(path, None)
    if doc is None:
        with open(path, "rb") as handle:
            doc = open_pdf(handle.read())
        while len(_OPEN) >= _OPEN_KEEP:
            _OPEN.popitem(last=False)[1].close()
    _OPEN[path] = doc
    return doc


def inspect_file(path: str, want_attachments: bool = True) -> PdfInfo:
    """`inspect_pdf` of the PDF at `path` (worker side)."""
    return inspect_pdf(_opened(path), want_attachments)


def render_file_page(
    path: str, index: int, dpi: float, crop_bottom_share: float | None = None
) -> tuple[Image.Image, float]:
    """`render_page` of the PDF at `path` (worker side)."""
    return render_page(_opened(path), index, dpi, crop_bottom_share)


def scan_or_render(
    path: str, index: int, page_width_pt: float, dpi: float
) -> tuple[bytes | None, Image.Image | None, int, float]:
    """What OCR should read of one image page (worker side): the scanner's own JPEG when
    the page is one at a sensible resolution (better pixels than an upscaled render, and
    faster), else a render at `dpi`. Returns (jpeg, image, dpi, points per pixel)."""
    doc = _opened(path)
    scan = single_page_image(doc, index)
    if scan is not None:
        jpeg, px_w, _px_h = scan
        scan_dpi = px_w / (page_width_pt / 72)
        if 150 <= scan_dpi <= 450:
            return jpeg, None, round(scan_dpi), page_width_pt / px_w
    image, scale = render_page(doc, index, dpi)
    return None, image, round(scale * 72), 1 / scale
