"""OCR paths on small pages: image-only PDFs, photos with EXIF orientation, upside-down
scans, the cache, and the OCR workers (a page over its time limit, a crashed worker,
missing language data). Each OCR run costs about a second."""

import os
import signal
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from domain.enums import ReadErrorKind, TextSource
from extractors import Readers, extract, ocr, read
from extractors.errors import ReadFailure
from tests.extract_helpers import exif_rotated_jpeg, image_pdf, own_readers, small_page_image

pytestmark = pytest.mark.ocr


@pytest.fixture
def readers() -> Iterator[Readers]:
    """Readers of the test's own: the settings' limits, a fresh OCR cache in memory."""
    with own_readers() as readers:
        yield readers


def test_image_only_pdf_is_ocrd(readers: Readers) -> None:
    ex = extract(image_pdf(small_page_image()), "scan.pdf", readers=readers)
    assert ex.error is None
    assert ex.text_source is TextSource.OCR
    assert ex.invoice_number == "48213"
    assert ex.total == Decimal("1081.00")
    assert ex.currency == "CHF"
    # OCR'd values are less certain than the same values from a text layer.
    assert 0.3 < ex.conf("invoice_number") < 0.95


def test_photo_exif_orientation_is_honoured(readers: Readers) -> None:
    reading = read(exif_rotated_jpeg(small_page_image()), "IMG_0001.jpg", readers=readers)
    assert reading.error is None
    assert reading.pages[0].rotation == 0  # upright after EXIF, no OSD needed
    assert "48213" in reading.text
    assert reading.pages[0].width < reading.pages[0].height * 3  # landscape strip, upright


def test_upside_down_scan_is_turned(readers: Readers) -> None:
    upside_down = small_page_image().rotate(180)
    reading = read(image_pdf(upside_down), readers=readers)
    assert reading.pages[0].rotation == 180
    assert "48213" in reading.text


def test_cache_by_content_hash(readers: Readers, monkeypatch: pytest.MonkeyPatch) -> None:
    data = image_pdf(small_page_image(["Quittung Nr. 777", "Total CHF 12.50"]))
    first = read(data, readers=readers)
    assert "777" in first.text

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("cached page was OCR'd again")

    monkeypatch.setattr(ocr, "_tesseract_words", refuse)
    again = read(data, readers=readers)
    assert again.text == first.text


def test_disk_cache(tmp_path) -> None:
    data = image_pdf(small_page_image(["Beleg Nr. 31337", "Total CHF 5.00"]))
    with own_readers(ocr_cache_dir=tmp_path) as readers:
        assert "31337" in read(data, readers=readers).text
    assert list(tmp_path.rglob("*.json"))


def test_disk_cache_forgets_what_was_not_used_for_its_max_age(tmp_path) -> None:
    import os
    import time

    cache = ocr.OcrCache(tmp_path, items=0, max_age_s=100, prune_every=5)
    for key in ("aa-old", "bb-used", "cc-new"):
        cache.put(key, {"text": key})
    stale = time.time() - 200
    for key in ("aa-old", "bb-used"):
        os.utime(tmp_path / key[:2] / f"{key}.json", (stale, stale))
    leftover = tmp_path / "aa" / "aa-x.1.2.tmp"  # a write that died half-way
    leftover.write_text("{")
    os.utime(leftover, (stale, stale))
    assert cache.get("bb-used") == {"text": "bb-used"}  # a hit renews the entry

    assert cache.prune() == 2
    assert sorted(p.name for p in tmp_path.rglob("*.*")) == ["bb-used.json", "cc-new.json"]
    assert cache.get("aa-old") is None

    # At every `prune_every`-th new entry (here the fifth) the sweep runs by itself, in
    # the background.
    os.utime(tmp_path / "cc" / "cc-new.json", (stale, stale))
    cache.put("dd-1", {})
    cache.put("dd-2", {})
    assert cache._pruning is not None
    cache._pruning.join(10)
    assert not (tmp_path / "cc" / "cc-new.json").exists()


def test_heic_photo(readers: Readers) -> None:
    import io

    from pillow_heif import register_heif_opener

    register_heif_opener()
    out = io.BytesIO()
    small_page_image().convert("RGB").save(out, "HEIF")
    ex = extract(out.getvalue(), "IMG_0002.HEIC", readers=readers)
    assert ex.error is None
    assert ex.invoice_number == "48213"


# --- the OCR workers (libtesseract in processes of their own) -------------------------


def test_page_over_its_time_limit_fails_alone_and_the_pool_recovers() -> None:
    from PIL import Image

    from extractors import tesseract

    # An A4 page of noise: tesseract's layout analysis takes seconds on it.
    noise = Image.effect_noise((2480, 3508), 90).convert("L")
    with own_readers(ocr_page_timeout_s=0.3) as readers:
        started = time.perf_counter()
        reading = read(image_pdf(noise, (210, 297)), "noise.pdf", readers=readers)
        assert time.perf_counter() - started < 10
        assert reading.error is not None and reading.error.kind is ReadErrorKind.TIMEOUT
        assert "OCR of a page took longer than 0.3 s" in reading.error.message
        # The worker that overran was killed; a fresh one takes the pool's next call (a
        # whole page would take longer than this configuration's 0.3 s per page).
        workers = readers.ocr_engine.workers
        assert workers.call(tesseract.version, timeout=60.0) == tesseract.version()


def crash_the_worker(*_args: object) -> None:
    """Run in an OCR worker instead of libtesseract: a segfault, as hostile input can
    cause in a C library."""
    os.kill(os.getpid(), signal.SIGSEGV)


def kill_the_worker(*_args: object) -> None:
    """Run in an OCR worker instead of libtesseract: killed from outside (kill -9, the
    OOM killer); Ctrl-C's SIGINT ends it the same way."""
    os.kill(os.getpid(), signal.SIGKILL)


def test_crashed_ocr_worker_is_a_clear_error_and_is_replaced(readers: Readers, monkeypatch) -> None:
    from extractors import tesseract

    # Workers call functions by module and name: they import this module and find it.
    monkeypatch.setattr(tesseract, "read_words", crash_the_worker)
    reading = read(image_pdf(small_page_image(["Beleg Nr. 5150"])), "crash.pdf", readers=readers)
    assert reading.error is not None and reading.error.kind is ReadErrorKind.CORRUPT
    assert "OCR of a page crashed" in reading.error.message
    monkeypatch.undo()
    assert "5151" in read(image_pdf(small_page_image(["Beleg Nr. 5151"])), readers=readers).text


def test_ocr_worker_killed_from_outside_is_not_the_files_error(
    readers: Readers, monkeypatch
) -> None:
    from extractors import tesseract
    from extractors.errors import ReaderInterrupted

    monkeypatch.setattr(tesseract, "read_words", kill_the_worker)
    with pytest.raises(ReaderInterrupted, match="stopped by SIGKILL"):
        read(image_pdf(small_page_image(["Beleg Nr. 5152"])), "killed.pdf", readers=readers)
    monkeypatch.undo()
    assert "5153" in read(image_pdf(small_page_image(["Beleg Nr. 5153"])), readers=readers).text


def test_missing_language_data_says_how_to_install_it(monkeypatch, tmp_path) -> None:
    from extractors import tesseract

    monkeypatch.setenv("TESSDATA_PREFIX", str(tmp_path))
    monkeypatch.setattr(tesseract, "_TESSDATA_DIRS", ())
    tesseract.tessdata.cache_clear()
    try:
        with pytest.raises(ReadFailure, match="bootstrap") as raised:
            tesseract.tessdata()
        assert raised.value.kind is ReadErrorKind.UNREADABLE
    finally:
        tesseract.tessdata.cache_clear()


def osd_breaks(*_args: object) -> int:
    """Run in an OCR worker instead of tesseract's orientation detection."""
    raise RuntimeError("OSD broke")


def test_failing_orientation_detection_leaves_the_page_as_it_lies(
    readers: Readers, monkeypatch
) -> None:
    from extractors import tesseract

    # Regression: with OSD in the workers, its failure failed the whole page.
    monkeypatch.setattr(tesseract, "orientation", osd_breaks)
    reading = read(image_pdf(small_page_image().rotate(180)), "upside-down.pdf", readers=readers)
    assert reading.error is None
    assert reading.pages[0].rotation == 0  # not turned, but read
