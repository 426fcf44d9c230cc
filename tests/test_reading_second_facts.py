"""A value is trusted for what else on the page agrees with it (issue 14, item 4).

Regression for the straight-through bench's one wrong posting: a photographed invoice whose
OCR lost the same leading "2'" in the VAT base and in the total — 991.67 instead of
2'991.67, posted at confidence 0.97 because base + VAT still made the total. Also the
second facts that let a till receipt's total post without a person: the amount paid
printed below it, and the receipt's VAT table where the total line itself was lost.
"""

from decimal import Decimal

from extractors import pipeline
from extractors.pipeline import SURE_ENOUGH
from tests.extract_helpers import page_reading

# The reader's confidence at which routing posts without a person (routing.decide.CONFIDENT).
POSTS = SURE_ENOUGH


def _read(lines: list[str], conf: float = 92.0):
    rows = [(60.0 + 14 * i, [(60.0, text)]) for i, text in enumerate(lines)]
    reading = page_reading(rows, conf=conf)
    return pipeline.extract_fields(reading, pipeline.classify(reading))


def _invoice(base: str, vat: str, total: str) -> list[str]:
    return [
        "Bachmann & Zürcher Treuhand AG",
        "Seestrasse 8, 8002 Zürich",
        "CHE-123.456.789 MWST",
        "Moser Sanitär AG",
        "Marktgasse 71",
        "6370 Stans",
        "Rechnung Nr. 2026-118",
        "Datum: 28.01.2026",
        "Buchführung Januar 2026   " + base,
        "Total exkl. MWST   " + base,
        "MWST 8.1% auf " + base + "   " + vat,
        "Total CHF   " + total,
        "Zahlbar innert 60 Tagen",
    ]


def test_an_invoice_whose_figures_add_up_and_fit_the_rate_is_sure() -> None:
    ex = _read(_invoice("2'767.50", "224.17", "2'991.67"))
    assert ex.total == Decimal("2991.67")
    assert ex.conf("total") >= 0.9


def test_a_digit_lost_in_base_and_total_alike_is_not_trusted() -> None:
    # 767.50 + 224.17 = 991.67 adds up, but 8.1 % of 767.50 is 62.17, not 224.17.
    ex = _read(_invoice("767.50", "224.17", "991.67"))
    assert ex.total == Decimal("991.67")  # read as printed: no guess replaces it
    assert ex.conf("total") < POSTS
    assert ex.conf("vat") < POSTS


def _slip(*tail: str) -> list[str]:
    return [
        "Tankstelle Küsnacht",
        "Sonnenbergstrasse 140",
        "8700 Küsnacht ZH",
        "CHE-438.125.712 MWST",
        "Kassenbeleg",
        "Datum: 25.06.2026  Zeit: 17:13",
        "Beleg-Nr. 705761  Kasse 3",
        "Bleifrei 95   43.60",
        "Sandwich Schinken   5.75",
        *tail,
        "Danke für Ihren Besuch",
    ]


def test_a_receipt_total_paid_as_printed_is_sure_enough_to_post() -> None:
    ex = _read(_slip("Summe CHF   49.35", "Debit Mastercard   49.35", "XXXX XXXX XXXX 1318"))
    assert ex.doc_type == "receipt"
    assert ex.total == Decimal("49.35")
    assert ex.conf("total") >= POSTS


def test_a_receipt_whose_payment_says_another_amount_stays_unsure() -> None:
    ex = _read(_slip("Summe CHF   49.35", "Debit Mastercard   48.35", "XXXX XXXX XXXX 1318"))
    assert ex.total == Decimal("49.35")
    assert ex.conf("total") < POSTS


def test_a_receipt_whose_total_line_was_lost_is_summed_from_its_vat_table() -> None:
    vat_table = ["MWST  Brutto  MWST  Netto", "8.1%  49.35  3.70  45.65"]
    ex = _read(_slip("Debit Mastercard   49.35", "XXXX XXXX XXXX 1318", *vat_table))
    assert ex.total == Decimal("49.35")
    assert ex.conf("total") >= POSTS  # the table's sum is also what was paid
    assert ex.sources["total"] == "ocr"  # shown as read from the page, not exact


def test_a_vat_table_sum_printed_nowhere_else_is_for_a_person_to_confirm() -> None:
    vat_table = ["MWST  Brutto  MWST  Netto", "8.1%  49.35  3.70  45.65"]
    ex = _read(_slip("XXXX XXXX XXXX 1318", *vat_table))
    assert ex.total == Decimal("49.35")
    assert ex.conf("total") < POSTS


def test_a_vat_table_row_that_does_not_fit_its_rate_gives_no_total() -> None:
    vat_table = ["MWST  Brutto  MWST  Netto", "8.1%  81.45  13.83  47.32"]
    ex = _read(_slip("Debit Mastercard   61.15", *vat_table))
    assert ex.total is None
