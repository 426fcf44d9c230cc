"""A corrected field teaches where the supplier's layout prints it, and the next document
of that supplier is read there (DESIGN.md, "Working a task").

Pure: the words inside a learned place (widened a little) give the value, parsed as the
reader parses that field; a place never overrides an exact, corrected or confident value.
End to end on SQLite and PostgreSQL: an invoice whose number stands alone, without a
label, is read without its number; a person corrects it; the next invoice in the same
layout gets its number from the place, and the reasons say so.
"""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import select

from domain.corrections import Corrections
from domain.enums import DocType, TextSource
from domain.extraction import Extraction
from domain.records import User
from extractors.learned_positions import (
    AMBIGUOUS,
    SURE,
    Place,
    fill_from_places,
    read_at_place,
    read_at_places,
)
from extractors.reading import PageText, Word
from flows.pipeline import process_one
from routing.decide import CONFIDENT
from routing.rebook import is_credit, rebuild_booking
from storage.scope import Scope
from storage.tables import BookingRow, DocumentRow, ExtractionRow, FieldPosition, TaskRow
from storage.tasks import complete_task
from tests.factories import SUPPLIER_GLOOR, take_in

D = Decimal
W, H = 600.0, 800.0


def word(text: str, x0: float, top: float, x1: float, *, conf: float | None = None) -> Word:
    return Word(text=text, page=1, x0=x0, top=top, x1=x1, bottom=top + 10, conf=conf)


def page(*words: Word, source: TextSource = TextSource.TEXT_LAYER) -> PageText:
    return PageText(number=1, width=W, height=H, text="", words=list(words), source=source)


def place(x0: float, top: float, x1: float, bottom: float, number: int = 1) -> Place:
    """A place as `storage.learning` keeps it: fractions of the page."""
    return Place(number, x0 / W, top / H, x1 / W, bottom / H)


# The number was taught at 480..545 × 60..70 ("2026-0417", right-aligned).
NUMBER_PLACE = place(480, 60, 545, 70)


# --- reading at a place (pure) -------------------------------------------------------------


def test_the_words_in_the_place_give_the_value_and_the_words_around_it_do_not():
    # The next number is a digit longer and, right-aligned, starts a little further left.
    the_page = page(
        word("Huber", 50, 60, 90),
        word("2026-10418", 474, 60, 545),
        word("Seite", 480, 75, 505),  # the line below, inside the widened width
        word("1/1", 508, 75, 520),
        word("CHF", 400, 60, 425),  # same line, left of the place
    )
    read = read_at_place("invoice_number", the_page, NUMBER_PLACE)
    assert read is not None
    assert (read.value, read.confidence, read.source) == ("2026-10418", SURE, "text_layer")
    assert (read.box.page, read.box.x0, read.box.top, read.box.x1) == (1, 474, 60, 545)


def test_a_date_in_german_words_is_parsed_as_the_reader_does():
    the_page = page(
        word("Thalwil,", 50, 220, 95),
        word("4.", 100, 220, 108),
        word("Dezember", 111, 220, 160),
        word("2026", 163, 220, 188),
    )
    read = read_at_place("issue_date", the_page, place(100, 220, 185, 230))
    assert read is not None and read.value == date(2026, 12, 4)
    assert read.confidence == SURE


def test_an_amount_with_apostrophes_is_a_decimal():
    the_page = page(
        word("Total", 50, 400, 80),
        word("CHF", 440, 400, 465),
        word("12'345.60", 470, 400, 545),
    )
    # Taught on a shorter amount ("1'081.00" at 500..545): the longer one grows leftwards.
    read = read_at_place("total", the_page, place(500, 400, 545, 410))
    assert read is not None
    assert read.value == D("12345.60") and isinstance(read.value, Decimal)


def test_nothing_in_the_place_or_nothing_that_parses_is_none():
    elsewhere = page(word("2026-0418", 50, 300, 110))
    assert read_at_place("invoice_number", elsewhere, NUMBER_PLACE) is None
    words_only = page(word("Rechnung", 480, 60, 545))
    assert read_at_place("invoice_number", words_only, NUMBER_PLACE) is None
    assert read_at_place("total", words_only, NUMBER_PLACE) is None
    # A place on a page the document does not have reads nothing either.
    assert read_at_places([words_only], {"invoice_number": place(480, 60, 545, 70, 2)}) == {}


def test_two_different_values_in_the_place_are_in_doubt_and_the_nearest_is_taken():
    the_page = page(
        word("2026-0418", 480, 60, 545),
        word("2026-0419", 480, 54 + 13, 545),  # a line lower, its centre still in the place
    )
    read = read_at_place("invoice_number", the_page, place(480, 60, 545, 74))
    assert read is not None
    assert (read.value, read.confidence) == ("2026-0418", AMBIGUOUS)


def test_ocr_words_read_with_little_confidence_read_less_surely():
    the_page = page(word("2026-0418", 480, 60, 545, conf=40), source=TextSource.OCR)
    read = read_at_place("invoice_number", the_page, NUMBER_PLACE)
    assert read is not None and read.source == "ocr"
    assert read.confidence < SURE * 0.8


# --- what a place may fill (pure) ----------------------------------------------------------

NUMBER_PAGE = page(word("2026-0418", 480, 60, 545), word("1'081.00", 500, 400, 545))
PLACES = {"invoice_number": NUMBER_PLACE, "total": place(500, 400, 545, 410)}


def extraction(**fields) -> Extraction:
    base = {"doc_type": DocType.SUPPLIER_INVOICE, "currency": "CHF"}
    return Extraction(**(base | fields))


def fill(ex: Extraction) -> tuple[Extraction, list[str]]:
    return fill_from_places(ex, [NUMBER_PAGE], PLACES, confident=CONFIDENT)


def test_a_missing_field_is_filled_with_confidence_box_and_the_pages_source():
    before = extraction(total=D("1081.00"), confidence={"total": 0.97})
    filled, fields = fill(before)
    assert fields == ["invoice_number"]
    assert filled.invoice_number == "2026-0418"
    assert filled.confidence["invoice_number"] == SURE
    assert filled.sources["invoice_number"] is TextSource.TEXT_LAYER
    assert filled.positions["invoice_number"].x0 == 480
    assert before.invoice_number is None  # the reader's extraction is left as it was


def test_a_confident_exact_or_corrected_value_is_never_overridden():
    confident = extraction(
        invoice_number="R-1",
        total=D("999.00"),
        confidence={"invoice_number": 0.85, "total": 0.97},
        sources={"invoice_number": TextSource.TEXT_LAYER, "total": TextSource.TEXT_LAYER},
    )
    assert fill(confident) == (confident, [])
    unsure_but_exact = extraction(
        invoice_number="R-1",
        total=D("999.00"),
        confidence={"invoice_number": 0.3, "total": 0.4},
        sources={"invoice_number": TextSource.QR, "total": TextSource.XML},
    )
    assert fill(unsure_but_exact) == (unsure_but_exact, [])
    corrected = extraction(
        invoice_number="R-1",
        confidence={"invoice_number": 0.0},
        sources={"invoice_number": TextSource.CORRECTED},
    )
    assert fill(corrected)[0].invoice_number == "R-1"


def test_an_unsure_reading_is_replaced_and_an_agreeing_one_gains():
    unsure = extraction(
        invoice_number="R-1",
        total=D("1081.00"),
        confidence={"invoice_number": 0.5, "total": 0.6},
        sources={"invoice_number": TextSource.TEXT_LAYER, "total": TextSource.TEXT_LAYER},
    )
    filled, fields = fill(unsure)
    assert sorted(fields) == ["invoice_number", "total"]
    assert filled.invoice_number == "2026-0418"
    assert filled.total == D("1081.00") and filled.confidence["total"] == 0.96  # 1-.4*.1


def test_a_credit_notes_total_stays_negative_and_a_receipt_gets_no_due_date():
    credit = extraction(doc_type=DocType.CREDIT_NOTE, invoice_number="G-1")
    credit.confidence["invoice_number"] = 0.9
    filled, fields = fill(credit)
    assert fields == ["total"] and filled.total == D("-1081.00")
    due_page = page(word("31.12.2026", 480, 60, 545))
    receipt = extraction(doc_type=DocType.RECEIPT)
    due = {"due_date": NUMBER_PLACE}
    assert fill_from_places(receipt, [due_page], due, confident=CONFIDENT) == (receipt, [])


# --- end to end: a correction teaches, the next invoice is read there -----------------------

HUBER = {
    "id": "S003",
    "name": "Huber Bürotechnik GmbH",
    "iban": "CH2900700111122233344",
    "address": {"street": "Seeweg 4", "postcode": "8800", "city": "Thalwil"},
}
ANNA = User(id=1, username="anna", client_id=None)


def huber_pdf(number: str, day: str, *, footer: str = "") -> bytes:
    """Huber's invoice: the number printed alone at the top right, without a label."""
    buf = io.BytesIO()
    c = Canvas(buf, pagesize=A4, invariant=1)
    w, h = A4
    c.setFont("Helvetica-Bold", 16)
    c.drawString(50, h - 60, HUBER["name"])
    c.setFont("Helvetica", 9)
    c.drawString(50, h - 74, "Seeweg 4, 8800 Thalwil")
    c.setFont("Helvetica", 11)
    c.drawRightString(w - 50, h - 60, number)
    for i, line in enumerate(["Bäckerei Brot GmbH", "Dorfplatz 3", "3000 Bern"]):
        c.drawString(330, h - 150 - 14 * i, line)
    c.drawString(50, h - 230, f"Thalwil, {day}")
    c.setFont("Helvetica-Bold", 14)
    c.drawString(50, h - 260, "Rechnung")
    c.setFont("Helvetica", 11)
    c.drawString(50, h - 300, "Diverse Arbeiten")
    c.drawRightString(w - 50, h - 300, "1'000.00")
    c.drawString(50, h - 330, "MWST 8.1% von CHF 1'000.00")
    c.drawRightString(w - 50, h - 330, "81.00")
    c.setFont("Helvetica-Bold", 11)
    c.drawString(50, h - 360, "Total CHF")
    c.drawRightString(w - 50, h - 360, "1'081.00")
    c.setFont("Helvetica", 9)
    c.drawString(50, h - 400, "Zahlbar innert 30 Tagen auf IBAN CH29 0070 0111 1222 3334 4")
    if footer:
        c.drawString(50, 60, footer)
    c.showPage()
    c.save()
    return buf.getvalue()


def stored(db, document_id: int) -> tuple[dict, dict]:
    """The stored extraction and the document's routing."""
    with db.session() as s:
        row = s.get(DocumentRow, document_id)
        return s.get(ExtractionRow, document_id).data, row.routing


def open_tasks(db, document_id: int) -> list[TaskRow]:
    with db.session() as s:
        return list(
            s.scalars(
                select(TaskRow).where(TaskRow.document_id == document_id, TaskRow.status == "open")
            )
        )


def deliver(runtime, pdf: bytes):  # type: ignore[no-untyped-def]
    document_id = take_in(runtime, "C02", pdf)
    outcome = process_one(document_id, step_runs=False)
    assert outcome.state.value == "routed", outcome.error
    return document_id, outcome


def test_a_corrected_invoice_number_is_read_where_the_supplier_prints_it_next_time(
    runtime, load_firm
):
    load_firm(suppliers=[SUPPLIER_GLOOR, HUBER])
    db = runtime.db

    first, outcome = deliver(runtime, huber_pdf("2026-0417", "4. Dezember 2026"))
    data, _ = stored(db, first)
    assert data["invoice_number"] is None  # no label: the reader does not find it
    assert (outcome.supplier_id, outcome.task_kinds) == ("S003", ["review_document"])
    [task] = [t for t in open_tasks(db, first) if t.booking_id is not None]
    with db.session() as s:
        complete_task(
            s,
            Scope.of(ANNA),
            task.id,
            ANNA,
            Corrections(invoice_number="2026-0417", account="6500"),
            rebuild=rebuild_booking,
            is_credit=is_credit,
        )
    with db.session() as s:
        taught = s.get(FieldPosition, ("S003", "invoice_number"))
        assert taught is not None and (taught.learned_by, taught.page) == ("anna", 1)
        assert taught.x1 > 0.85 and taught.y0 < 0.1  # top right

    second, outcome = deliver(runtime, huber_pdf("2026-0418", "11. Dezember 2026"))
    data, routing = stored(db, second)
    assert data["invoice_number"] == "2026-0418"
    assert data["confidence"]["invoice_number"] == SURE
    assert data["sources"]["invoice_number"] == "text_layer"
    assert data["positions"]["invoice_number"]["page"] == 1
    today = datetime.now(UTC).date()
    reason = (
        "invoice_number read where Huber Bürotechnik GmbH prints it "
        f"(learned from a correction by anna on {today})"
    )
    assert reason in outcome.reasons and reason in routing["reasons"]
    assert (outcome.rule, outcome.booking_status) == ("auto_post", "posted")  # account learned
    with db.session() as s:
        booking = s.scalar(select(BookingRow).where(BookingRow.document_id == second))
        assert booking is not None and "2026-0418" in booking.text

    # The number read at the place is the document's: a copy of it is a duplicate.
    copy, outcome = deliver(runtime, huber_pdf("2026-0418", "11. Dezember 2026", footer="Kopie"))
    assert outcome.task_kinds == ["suspected_duplicate"]
    assert stored(db, copy)[1]["links"]["duplicate_of"] == second
