"""A cheap look at a file before reading it: will reading it need OCR?

Used by the flows to put OCR work under its own concurrency limit and time limit before
the (slow) reading starts. A few milliseconds: the file type by its bytes, and for a PDF
pdfium's quick text of each page (in a parse worker of the `readers` passed in, under
their parse time limit; the default readers when none are). Never raises: a file that
cannot even be probed is left to `read`, which reports why.
"""

import io

from domain.enums import MediaType
from domain.filetype import sniff
from extractors.limits import spooled
from extractors.pdfdoc import inspect_file
from extractors.readers import Readers, default_readers

_IMAGES = (MediaType.JPEG, MediaType.PNG, MediaType.TIFF, MediaType.HEIC)


def ocr_pages(data: bytes, readers: Readers | None = None) -> int:
    """How many pages of this file reading will OCR (0: text layer, XML, or unreadable)."""
    readers = readers if readers is not None else default_readers()
    media_type = sniff(data)
    if media_type in _IMAGES:
        return _frames(data)
    if media_type is not MediaType.PDF:
        return 0
    try:
        # In a parse worker, like every pdfium call on a document (extractors.pdfdoc).
        with spooled(data) as path:
            info = readers.parse_pool.call(
                inspect_file, path, False, timeout=readers.config.parse_timeout_s
            )
    except Exception:
        return 0
    return sum(1 for page in info.pages if not page.has_text_layer)


def needs_ocr(data: bytes, readers: Readers | None = None) -> bool:
    """True for images and for PDFs with a page without a text layer."""
    return ocr_pages(data, readers) > 0


def _frames(data: bytes) -> int:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return max(1, int(getattr(image, "n_frames", 1)))
    except Exception:
        return 1
