"""OCR paths on small pages: image-only PDFs, photos with EXIF orientation, upside-down
scans, the cache, and the pool. Each OCR run costs about a second."""

from decimal import Decimal

import pytest

from domain.enums import TextSource
from extractors import extract, ocr, read
from tests.extract_helpers import exif_rotated_jpeg, image_pdf, small_page_image

pytestmark = pytest.mark.ocr


@pytest.fixture(autouse=True)
def memory_cache():
    ocr.configure(cache_dir=None)
    yield
    ocr.configure(cache_dir=None)


def test_image_only_pdf_is_ocrd() -> None:
    ex = extract(image_pdf(small_page_image()), "scan.pdf")
    assert ex.error is None
    assert ex.text_source is TextSource.OCR
    assert ex.invoice_number == "48213"
    assert ex.total == Decimal("1081.00")
    assert ex.currency == "CHF"
    # OCR'd values are less certain than the same values from a text layer.
    assert 0.3 < ex.conf("invoice_number") < 0.95


def test_photo_exif_orientation_is_honoured() -> None:
    reading = read(exif_rotated_jpeg(small_page_image()), "IMG_0001.jpg")
    assert reading.error is None
    assert reading.pages[0].rotation == 0  # upright after EXIF, no OSD needed
    assert "48213" in reading.text
    assert reading.pages[0].width < reading.pages[0].height * 3  # landscape strip, upright


def test_upside_down_scan_is_turned() -> None:
    upside_down = small_page_image().rotate(180)
    reading = read(image_pdf(upside_down))
    assert reading.pages[0].rotation == 180
    assert "48213" in reading.text


def test_cache_by_content_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    data = image_pdf(small_page_image(["Quittung Nr. 777", "Total CHF 12.50"]))
    first = read(data)
    assert "777" in first.text

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("cached page was OCR'd again")

    monkeypatch.setattr(ocr, "_tesseract_words", refuse)
    again = read(data)
    assert again.text == first.text


def test_disk_cache(tmp_path) -> None:
    ocr.configure(cache_dir=tmp_path)
    data = image_pdf(small_page_image(["Beleg Nr. 31337", "Total CHF 5.00"]))
    assert "31337" in read(data).text
    assert list(tmp_path.rglob("*.json"))


def test_heic_photo() -> None:
    import io

    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    small_page_image().convert("RGB").save(out, "HEIF")
    ex = extract(out.getvalue(), "IMG_0002.HEIC")
    assert ex.error is None
    assert ex.invoice_number == "48213"
