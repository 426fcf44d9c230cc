"""The text layer of a PDF, with word positions (pdfplumber). Runs inside a parse worker.

Only letters matter here, so the pdfminer device skips vector paths and images: a QR code
drawn as thousands of little squares would otherwise cost more than all the text.
"""

import io
import warnings

import pdfplumber
from pdfminer.pdfdocument import PDFPasswordIncorrect
from pdfminer.pdfinterp import PDFPageInterpreter
from pdfplumber.page import PDFPageAggregatorWithMarkedContent

from domain.enums import ReadErrorKind
from extractors.errors import ReadFailure

# (text, x0, top, x1, bottom, font size)
RawWord = tuple[str, float, float, float, float, float]
RawPage = tuple[int, float, float, list[RawWord]]  # (1-based number, width, height, words)


class _TextOnlyDevice(PDFPageAggregatorWithMarkedContent):
    def paint_path(self, gstate, stroke, fill, evenodd, path):
        return None

    def render_image(self, name, stream):
        return None


def parse_text_layer(data: bytes, page_numbers: list[int]) -> list[RawPage]:
    """Words of the given pages (1-based). Raises ReadFailure for password/broken files."""
    warnings.simplefilter("ignore")
    out: list[RawPage] = []
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except PDFPasswordIncorrect as exc:
        raise ReadFailure(ReadErrorKind.ENCRYPTED, "PDF needs a password to open") from exc
    with pdf:
        wanted = set(page_numbers)
        for page in pdf.pages:
            if page.page_number not in wanted:
                continue
            device = _TextOnlyDevice(pdf.rsrcmgr, pageno=page.page_number, laparams=pdf.laparams)
            PDFPageInterpreter(pdf.rsrcmgr, device).process_page(page.page_obj)
            page._layout = device.get_result()
            words = page.extract_words(keep_blank_chars=False, extra_attrs=["size"])
            out.append(
                (
                    page.page_number,
                    float(page.width),
                    float(page.height),
                    [
                        (
                            w["text"],
                            float(w["x0"]),
                            float(w["top"]),
                            float(w["x1"]),
                            float(w["bottom"]),
                            float(w["size"]),
                        )
                        for w in words
                    ],
                )
            )
    return out
