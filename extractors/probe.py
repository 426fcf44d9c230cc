"""A cheap look at a file before reading it: will reading it need OCR?

Used by the flows to put OCR work under its own concurrency limit and time limit before
the (slow) reading starts. A few milliseconds: the file type by its bytes, and for a PDF
pdfium's quick text of each page. Never raises: a file that cannot even be probed is
left to `read`, which reports why.
"""

import io

from domain.enums import MediaType
from extractors.pdfdoc import PDFIUM_LOCK, inspect_pdf, open_pdf
from extractors.sniff import sniff

_IMAGES = (MediaType.JPEG, MediaType.PNG, MediaType.TIFF, MediaType.HEIC)


def ocr_pages(data: bytes) -> int:
    """How many pages of this file reading will OCR (0: text layer, XML, or unreadable)."""
    media_type = sniff(data)
    if media_type in _IMAGES:
        return _frames(data)
    if media_type is not MediaType.PDF:
        return 0
    try:
        doc = open_pdf(data)
    except Exception:
        return 0
    try:
        info = inspect_pdf(doc, want_attachments=False)
    except Exception:
        return 0
    finally:
        with PDFIUM_LOCK:
            doc.close()
    return sum(1 for page in info.pages if not page.has_text_layer)


def needs_ocr(data: bytes) -> bool:
    """True for images and for PDFs with a page without a text layer."""
    return ocr_pages(data) > 0


def _frames(data: bytes) -> int:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return max(1, int(getattr(image, "n_frames", 1)))
    except Exception:
        return 1
