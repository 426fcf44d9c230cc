"""Pages made easier to read before and during OCR: a skewed page is levelled (the angle
found from its lines of text), a page of tiny letters is read again enlarged. The
geometry tests are pure Pillow; those marked `ocr` read small pages (about a second)."""

import io
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from extractors import Readers, ocr, read
from extractors.images import MIN_SKEW, deskew, skew_angle
from tests.extract_helpers import image_pdf, own_readers, small_page_image

LINES = [
    "Beispiel Druck GmbH",
    "Rechnung Nr. 70412 vom 03.02.2025",
    "Kundennummer 5521",
    "Druckarbeiten Flyer A5 1200 Stk",
    "Total CHF 2'345.60",
]


def turned(image: Image.Image, angle: float) -> Image.Image:
    """The page as a scanner feeds it in askew: turned about its centre, white corners."""
    return image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor="white")


@pytest.mark.parametrize("angle", [2.0, -3.5, 1.2, -0.8, 4.6])
def test_skew_angle_recovers_a_known_turn(angle: float) -> None:
    page = small_page_image(LINES, dpi=200)
    assert skew_angle(turned(page, angle)) == pytest.approx(-angle, abs=0.2)


def test_a_level_page_is_left_as_it_is() -> None:
    assert abs(skew_angle(small_page_image(LINES, dpi=200))) < MIN_SKEW


def test_a_blank_or_tiny_page_has_no_skew() -> None:
    assert skew_angle(Image.new("L", (800, 600), 255)) == 0.0
    assert skew_angle(Image.new("L", (12, 12), 0)) == 0.0


def test_deskew_levels_the_page_and_keeps_its_size() -> None:
    page = turned(small_page_image(LINES, dpi=200).convert("RGB"), 3.0)
    level = deskew(page, skew_angle(page))
    assert level.size == page.size
    assert level.mode == "L"
    assert abs(skew_angle(level)) < 0.3
    # Paper stays paper: the corners the turn brought in are white, not black.
    assert level.getpixel((0, 0)) == 255


def _word(height: float, conf: float = 90.0) -> ocr.OcrWord:
    return ("Wort", 10.0, 100.0, 60.0, 100.0 + height, conf)


def test_small_text_is_enlarged_towards_the_target_height() -> None:
    small = [_word(8.0)] * 20
    assert ocr._enlargement(small, (1000, 700)) == pytest.approx(ocr.TARGET_TEXT_PX / 8.0)
    # Text of a 200 dpi scan is left alone; so is a page with too few words to tell.
    assert ocr._enlargement([_word(20.0)] * 20, (1654, 2339)) == 1.0
    assert ocr._enlargement([_word(8.0)] * 3, (1200, 900)) == 1.0
    # Unsure words (noise) do not count as text.
    assert ocr._enlargement([_word(8.0, conf=20.0)] * 20, (1200, 900)) == 1.0


def test_enlargement_stays_within_its_pixel_bound() -> None:
    factor = ocr._enlargement([_word(6.0)] * 20, (2480, 3508))
    assert factor < ocr.TARGET_TEXT_PX / 6.0
    assert 2480 * 3508 * factor**2 <= ocr.MAX_ENLARGED_PIXELS * 1.001


@pytest.fixture
def readers() -> Iterator[Readers]:
    """Readers of the test's own: a fresh OCR cache in memory, so every page is OCR'd."""
    with own_readers() as readers:
        yield readers


@pytest.mark.ocr
def test_skewed_scan_is_read_level(readers: Readers, monkeypatch: pytest.MonkeyPatch) -> None:
    # Watch what tesseract is given (the real reading still runs).
    given: list[float] = []
    tesseract_words = ocr._tesseract_words

    def watched(workers: Any, path: str, *args: Any, **kwargs: Any) -> list[ocr.OcrWord]:
        with Image.open(path) as image:
            given.append(skew_angle(image))
        return tesseract_words(workers, path, *args, **kwargs)

    monkeypatch.setattr(ocr, "_tesseract_words", watched)
    reading = read(image_pdf(turned(small_page_image(LINES, dpi=200), 3.0)), readers=readers)
    assert reading.error is None
    assert given and all(abs(angle) < 0.3 for angle in given), given
    lines = reading.text.splitlines()
    assert any("Total" in line and "2'345.60" in line for line in lines), reading.text
    assert any("Rechnung" in line and "70412" in line for line in lines), reading.text


@pytest.mark.ocr
def test_tiny_letters_are_read_again_enlarged(readers: Readers) -> None:
    # A page shrunk into a small, compressed picture: letters some 7 px tall. Read as it
    # is, tesseract makes "18213" of the number and loses the total's separator.
    page = small_page_image(dpi=300)
    shrunk = page.resize((round(page.width / 6), round(page.height / 6)), Image.Resampling.BOX)
    compressed = io.BytesIO()
    shrunk.save(compressed, "JPEG", quality=30)
    png = io.BytesIO()
    Image.open(compressed).save(png, "PNG")
    reading = read(png.getvalue(), "small.png", readers=readers)
    assert reading.error is None
    assert "48213" in reading.text
    assert "1'081.00" in reading.text
    # Positions stay those of the picture as delivered, not of the enlarged copy.
    words = reading.pages[0].words
    assert max(w.x1 for w in words) <= reading.pages[0].width + 1


# --- the second look: a page read again (one block, then sparse text) where a required
# field is missing


def _invoice_rows(total: bool, number: str = "70412") -> list:
    rows = [
        (60.0, [(60.0, "Beispiel Druck GmbH")]),
        (75.0, [(60.0, "Bahnhofstrasse 12, 8001 Zürich")]),
        (160.0, [(60.0, "Rechnung Nr. " + number)]),
        (175.0, [(60.0, "Datum: 03.02.2025")]),
        (300.0, [(60.0, "Druckarbeiten Flyer A5"), (420.0, "2'170.00")]),
    ]
    if total:
        rows.append((330.0, [(60.0, "Total CHF"), (420.0, "2'170.00")]))
    return rows


def _looked(
    monkeypatch: pytest.MonkeyPatch, first: list, second: list | dict[int, list] | None
) -> tuple:
    """The first reading after `_second_look`, and the page segmentation modes it was read
    again with. The second OCR is stood in for by the page `second` (what tesseract would
    have found; per mode when a dict): what is under test is which reading is kept."""
    from extractors import pipeline
    from tests.extract_helpers import page_reading, reader_config

    reading = page_reading(first, conf=90.0)
    calls = []

    def again(readers: Any, data: bytes, reading_: Any, page: Any, psm: int, budget: Any) -> Any:
        assert page.number == 1
        calls.append(psm)
        if second is None:
            raise pipeline.ReadFailure(pipeline.ReadErrorKind.TIMEOUT, "budget spent")
        rows = second[psm] if isinstance(second, dict) else second
        return page_reading(rows, conf=90.0).pages[0]

    monkeypatch.setattr(pipeline, "_read_again", again)
    before = reading.text
    # No OCR happens (`_read_again` is stood in for): readers that never start a worker.
    readers = Readers(reader_config())
    pipeline._second_look(readers, b"", reading, readers.ocr_budget())
    return reading, before, calls


def test_complete_page_gets_no_second_look(monkeypatch: pytest.MonkeyPatch) -> None:
    reading, before, calls = _looked(monkeypatch, _invoice_rows(total=True), None)
    assert calls == []
    assert reading.text == before


def test_second_look_that_finds_the_missing_total_is_kept(monkeypatch) -> None:
    reading, _before, calls = _looked(
        monkeypatch, _invoice_rows(total=False), _invoice_rows(total=True)
    )
    assert calls == [ocr.SINGLE_BLOCK]  # the first that fills the gap is the last
    assert "Total CHF" in reading.text
    assert "second_look" in reading.timings


def test_sparse_text_is_read_when_one_block_does_not_fill_the_gap(monkeypatch) -> None:
    reading, _before, calls = _looked(
        monkeypatch,
        _invoice_rows(total=False),
        {ocr.SINGLE_BLOCK: _invoice_rows(total=False), ocr.SPARSE_TEXT: _invoice_rows(True)},
    )
    assert calls == [ocr.SINGLE_BLOCK, ocr.SPARSE_TEXT]
    assert "Total CHF" in reading.text


def test_second_look_takes_only_the_lines_of_the_missing_field(monkeypatch) -> None:
    # Sparse text found the total but read the invoice number otherwise: only the total's
    # line is taken, the number stays as first read.
    reading, _before, calls = _looked(
        monkeypatch, _invoice_rows(total=False), _invoice_rows(total=True, number="70418")
    )
    assert calls == [ocr.SINGLE_BLOCK]
    assert "Total CHF" in reading.text
    assert "70412" in reading.text and "70418" not in reading.text


def test_second_look_that_changes_a_value_read_already_is_dropped(monkeypatch) -> None:
    # The line where sparse text found the total also holds the invoice number, read
    # otherwise: taking it would replace a value already read, so the first reading stands.
    first = _invoice_rows(total=False)
    second = [row for row in _invoice_rows(total=False) if row[0] != 160.0]
    second.append((160.0, [(60.0, "Rechnung Nr. 70418"), (300.0, "Total CHF 2'170.00")]))
    reading, before, calls = _looked(monkeypatch, first, second)
    assert calls == [ocr.SINGLE_BLOCK, ocr.SPARSE_TEXT]
    assert reading.text == before


def test_second_look_that_fails_leaves_the_first_reading(monkeypatch) -> None:
    reading, before, calls = _looked(monkeypatch, _invoice_rows(total=False), None)
    assert calls == [ocr.SINGLE_BLOCK]  # the budget is spent: no third reading
    assert reading.text == before


def _unsure_total_rows(amount: str = "2'170.00", conf: float = 30.0) -> list:
    rows = _invoice_rows(total=False)
    rows.append((330.0, [(60.0, "Total CHF"), (420.0, amount, conf)]))
    return rows


def test_second_look_that_confirms_an_unsure_total_is_kept(monkeypatch) -> None:
    from extractors import pipeline
    from tests.extract_helpers import page_reading

    first = page_reading(_unsure_total_rows(), conf=90.0)
    assert pipeline.extract_fields(first, pipeline.classify(first)).conf("total") < 0.75
    reading, _before, calls = _looked(
        monkeypatch, _unsure_total_rows(), _unsure_total_rows(conf=92.0)
    )
    assert calls == [ocr.SINGLE_BLOCK]
    after = pipeline.extract_fields(reading, pipeline.classify(reading))
    assert str(after.total) == "2170.00"
    assert after.conf("total") >= 0.75


def test_second_look_that_reads_an_unsure_total_otherwise_is_dropped(monkeypatch) -> None:
    # Another value is no confirmation: the first reading stands and a person decides.
    reading, before, calls = _looked(
        monkeypatch, _unsure_total_rows(), _unsure_total_rows("2'710.00", conf=92.0)
    )
    assert calls == [ocr.SINGLE_BLOCK, ocr.SPARSE_TEXT]
    assert reading.text == before


@pytest.mark.ocr
def test_the_second_look_spends_the_documents_budget_not_a_new_one(
    readers: Readers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: each second look made a fresh OCR budget, so one document could spend
    three times `ocr_document_timeout_s`. Now one budget is made per document and the
    second look reads on what the first reading left of it."""
    from extractors import pipeline

    budgets: list[object] = []
    make_budget = readers.ocr_budget

    def counted() -> Any:
        budgets.append(make_budget())
        return budgets[-1]

    looked_with: list[object] = []

    def again(readers_: Any, data: bytes, reading: Any, page: Any, psm: int, budget: Any) -> Any:
        looked_with.append(budget)
        raise pipeline.ReadFailure(pipeline.ReadErrorKind.TIMEOUT, "budget spent")

    monkeypatch.setattr(readers, "ocr_budget", counted)
    monkeypatch.setattr(pipeline, "_read_again", again)
    page = small_page_image(LINES[:3], dpi=200)  # an invoice without its total
    png = io.BytesIO()
    page.save(png, "PNG")
    reading = read(png.getvalue(), "no-total.png", readers=readers)
    assert reading.error is None and "70412" in reading.text
    assert len(budgets) == 1  # one budget for the document
    assert looked_with and all(budget is budgets[0] for budget in looked_with)
