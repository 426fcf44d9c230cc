"""What one document may cost the reader: its pages' OCR time added up, and the number of
pages OCR'd (extractors/pipeline.py). A file of noise pages — seconds of tesseract each —
ends as a `timeout` reading (a task for a person) within its budget, the workers it was
using are replaced, and other documents are read as usual, during and after it."""

import io
import threading
import time

import pytest

from domain.enums import ReadErrorKind
from extractors import Readers, read
from extractors.limits import Budget
from tests.extract_helpers import image_pdf, own_readers, small_page_image

pytestmark = [pytest.mark.ocr, pytest.mark.timeout(120)]


def noise_pdf(pages: int) -> bytes:
    """A scan of nothing: small JPEGs of noise drawn over A6 pages (~20 KB a page).
    Tesseract's layout analysis costs seconds per page on it."""
    from PIL import Image
    from reportlab.lib.units import mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    size = (105 * mm, 148 * mm)
    pdf = canvas.Canvas(buf, pagesize=size)
    for i in range(pages):
        jpeg = io.BytesIO()
        Image.effect_noise((160, 226), 90 + i).convert("L").save(jpeg, "JPEG", quality=50)
        jpeg.seek(0)
        pdf.drawImage(ImageReader(jpeg), 0, 0, *size)
        pdf.showPage()
    pdf.save()
    return buf.getvalue()


def pages_pdf(texts: list[str]) -> bytes:
    """An image-only PDF with one small scanned page per text."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for text in texts:
        writer.add_page(PdfReader(io.BytesIO(image_pdf(small_page_image([text])))).pages[0])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# The limits are the readers' configuration, passed in: no setting or environment changes.


def test_a_noise_pdf_is_stopped_at_its_ocr_budget_and_others_are_read() -> None:
    with own_readers(ocr_document_timeout_s=2.0) as readers:
        _noise_beside_others(readers)


def _noise_beside_others(readers: Readers) -> None:
    warm = read(image_pdf(small_page_image(["Beleg Nr. 4710"])), readers=readers)
    assert "4710" in warm.text
    others: list[str] = []

    def read_others() -> None:
        for n in (4711, 4712):
            reading = read(image_pdf(small_page_image([f"Beleg Nr. {n}"])), readers=readers)
            others.append(reading.text if reading.error is None else str(reading.error))

    neighbour = threading.Thread(target=read_others)
    started = time.monotonic()
    neighbour.start()
    # Unbounded: ~30 s of OCR on two cores.
    reading = read(noise_pdf(30), "noise.pdf", readers=readers)
    elapsed = time.monotonic() - started
    neighbour.join(60)
    assert reading.error is not None and reading.error.kind is ReadErrorKind.TIMEOUT
    assert "limit of 2 s" in reading.error.message
    assert elapsed < 12, elapsed
    # The document beside it was read in full, and so is the next one.
    assert len(others) == 2 and "4711" in others[0] and "4712" in others[1], others
    after = read(image_pdf(small_page_image(["Beleg Nr. 4713"])), "next.pdf", readers=readers)
    assert after.error is None and "4713" in after.text


def test_pages_over_the_ocr_page_bound_are_left_to_a_person() -> None:
    data = pages_pdf(["Beleg Nr. 5101", "Beleg Nr. 5102", "Beleg Nr. 5103"])
    with own_readers(ocr_max_pages=2) as readers:
        reading = read(data, "x.pdf", readers=readers)
    assert reading.error is not None and reading.error.kind is ReadErrorKind.TOO_LARGE
    assert "3 pages need OCR; only the first 2 were read" in reading.error.message
    assert "5101" in reading.text and "5102" in reading.text and "5103" not in reading.text


def test_the_page_bound_of_one_readers_is_not_the_others() -> None:
    # Two configurations in one process, each read with its own bound, the settings untouched.
    data = pages_pdf(["Beleg Nr. 5201", "Beleg Nr. 5202"])
    with own_readers(ocr_max_pages=1) as one, own_readers(ocr_max_pages=2) as two:
        first = read(data, "x.pdf", readers=one)
        both = read(data, "x.pdf", readers=two)
    assert first.error is not None and first.error.kind is ReadErrorKind.TOO_LARGE
    assert "5201" in first.text and "5202" not in first.text
    assert both.error is None and "5201" in both.text and "5202" in both.text


def test_the_budget_counts_parallel_calls_and_not_the_wait() -> None:
    budget = Budget(1.0)
    assert not budget.exceeded()
    with budget.spending(), budget.spending():
        time.sleep(0.3)
        assert 0.55 < budget.used() < 0.9  # two calls at once spend twice as fast
    time.sleep(0.3)  # between calls (waiting for a worker) nothing is spent
    assert 0.55 < budget.used() < 0.9
    with budget.spending():
        time.sleep(0.45)
    assert budget.exceeded()
    assert budget.failure().kind is ReadErrorKind.TIMEOUT
