"""Date parsing in de/fr/it/en/nl/es, numeric and named, and Swico's YYMMDD; the order of day
and month per document; payment terms; and the issue and due dates a page gives, with
confidences that say how sure the reading is (small made-up pages)."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.enums import DocType
from domain.extraction import Extraction
from extractors import extract_fields
from extractors.fields.dates import date_order, find_dates, format_date, parse_date, parse_yymmdd
from extractors.fields.terms import find_term_days
from extractors.reading import Classification, Reading
from routing.decide import CONFIDENT
from tests.extract_helpers import page_reading


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("01.02.2026", date(2026, 2, 1)),
        ("1.2.26", date(2026, 2, 1)),
        ("01/02/2026", date(2026, 2, 1)),
        ("2026-02-01", date(2026, 2, 1)),
        ("1. Februar 2026", date(2026, 2, 1)),
        ("1er février 2026", date(2026, 2, 1)),
        ("1° febbraio 2026", date(2026, 2, 1)),
        ("February 1, 2026", date(2026, 2, 1)),
        ("1 Feb 2026", date(2026, 2, 1)),
        ("15. März 2026", date(2026, 3, 15)),
        ("15 mars 2026", date(2026, 3, 15)),
        ("3 dicembre 2025", date(2025, 12, 3)),
        ("Zürich, 15. Dez. 2025", date(2025, 12, 15)),
    ],
)
def test_parse_date(text: str, value: date) -> None:
    assert parse_date(text) == value


@pytest.mark.parametrize("text", ["32.01.2026", "31.02.2026", "1'234.50", "Seite 1/2"])
def test_not_a_date(text: str) -> None:
    assert parse_date(text) is None


def test_find_dates_in_order() -> None:
    text = "Rechnungsdatum: 01.03.2026, zahlbar bis 31.03.2026"
    assert [d.value for d in find_dates(text)] == [date(2026, 3, 1), date(2026, 3, 31)]


def test_yymmdd() -> None:
    assert parse_yymmdd("200701") == date(2020, 7, 1)
    assert parse_yymmdd("201301") is None


@given(
    st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    st.sampled_from(["de", "fr", "it", "en"]),
    st.integers(min_value=0, max_value=3),
)
def test_format_parse_round_trip(value: date, language: str, variant: int) -> None:
    assert parse_date(format_date(value, language, variant)) == value


# --- day and month order -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("11/15/2019", date(2019, 11, 15)),  # reads only month first
        ("27-Feb-2019", date(2019, 2, 27)),
        ("27/Feb/19", date(2019, 2, 27)),
        ("15 de septiembre de 2021", date(2021, 9, 15)),
        ("3 maart 2026", date(2026, 3, 3)),
        ("15 de março de 2026", date(2026, 3, 15)),
        ("2019/11/15", date(2019, 11, 15)),
        ("issued at 2020- 11-21.", date(2020, 11, 21)),  # OCR split the ISO date
    ],
)
def test_parse_date_formats_from_everywhere(text: str, value: date) -> None:
    assert parse_date(text) == value


def test_numeric_date_read_in_the_documents_order() -> None:
    (dmy,) = find_dates("Invoice Date: 1/2/22")
    (mdy,) = find_dates("Invoice Date: 1/2/22", "mdy")
    assert (dmy.value, mdy.value) == (date(2022, 2, 1), date(2022, 1, 2))
    assert dmy.ambiguous and mdy.ambiguous
    assert not find_dates("13/02/2026", "mdy")[0].ambiguous
    assert not find_dates("02/02/2026")[0].ambiguous  # the same either way


def test_dotted_dates_are_always_day_first() -> None:
    (found,) = find_dates("01.02.2026", "mdy")
    assert found.value == date(2026, 2, 1)
    assert not found.ambiguous


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Date 1/2/22  Due 03/15/22", "en", ("mdy", True)),  # 15 can only be a day
        ("Date 1/2/22  Due 15/03/22", "en", ("dmy", True)),
        ("Datum 01.02.2026  Betrag 1/2", "de", ("dmy", True)),
        ("Date : 01/02/2026", "fr", ("dmy", True)),
        ("Acme Inc, Springfield, IL 62704\nDate 1/2/22", "en", ("mdy", False)),
        ("Date 1/2/22", "en", ("dmy", False)),  # English alone: UK, India, … put the day first
        ("Date 03/04/2026\nTotal CHF 120.00", "en", ("dmy", True)),  # no US document has CHF
        ("Date 03/04/2026\nIBAN DE89 3704 0044 0532 0130 00", "en", ("dmy", True)),
        ("Acme Inc, Austin, TX 78701\nVAT 20 %\nDate 1/2/22", "en", ("dmy", False)),  # both
        ("Art. 12-15-22  Date 1/2/22", "en", ("dmy", False)),  # a code, not a date
    ],
)
def test_date_order(text: str, language: str, expected: tuple[str, bool]) -> None:
    assert date_order(text, language) == expected


# --- payment terms -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("Zahlbar innert 30 Tagen netto", [30]),
        ("30 days from date of invoice", [30]),
        ("Payable within 14 days", [14]),
        ("Pagamento: 50 GG DF", [50]),
        ("Terms: Net 30", [30]),
        ("2/10 net 30", [30]),
        ("Betaling binnen 14 dagen", [14]),
        ("Condición de pago: 30 días fecha factura", [30]),
        ("Payable at the latest within 20 days", [20]),
        # A cash-discount period is not the payment term; the net term is.
        ("Zahlbar innert 30 Tagen netto, 2 % Skonto innert 10 Tagen", [30]),
        ("Innerhalb von 10 Tagen 2% Skonto, 60 Tage ohne Abzug", [60]),
        ("2 % Skonto innert 10 Tagen", []),
        ("30 jours net, 10 jours 2 % d'escompte", [30]),
        # A period counted from the due date, or about default interest, is no term.
        ("In Verzug, wenn nicht innerhalb von 30 Tagen nach Fälligkeit bezahlt", []),
        ("Verzugszinsen ab 30 Tagen", []),
        # Money, not a term.
        ("Net 30.00 CHF", []),
        # Payable at once: zero days.
        ("Rechnungsbetrag zahlbar ohne Abzug sofort nach Erhalt.", [0]),
        ("Payment due upon receipt", [0]),
        ("Pagamento: rimessa diretta", [0]),
    ],
)
def test_term_days(text: str, days: list[int]) -> None:
    assert [d for d, _printed in find_term_days(text)] == days


# --- issue and due dates on a page ---------------------------------------------------------


def _fields(reading: Reading, language: str = "en") -> Extraction:
    cls = Classification(doc_type=DocType.SUPPLIER_INVOICE, confidence=0.9, language=language)
    return extract_fields(reading, cls)


def test_us_dates_month_first_when_another_date_settles_it() -> None:
    ex = _fields(
        page_reading(
            [
                (60, [(40, "Acme Plumbing"), (350, "INVOICE")]),
                (100, [(350, "Invoice Date:"), (450, "1/2/22")]),
                (115, [(350, "Due Date:"), (450, "03/15/22")]),
            ]
        )
    )
    assert ex.issue_date == date(2022, 1, 2)
    assert ex.due_date == date(2022, 3, 15)
    assert ex.conf("issue_date") >= CONFIDENT


def test_us_address_suggests_month_first_but_stays_unsure() -> None:
    ex = _fields(
        page_reading(
            [
                (60, [(40, "Acme Plumbing, 12 Main St, Springfield, IL 62704")]),
                (100, [(350, "Invoice Date:"), (450, "6/10/2019")]),
            ]
        )
    )
    assert ex.issue_date == date(2019, 6, 10)
    assert ex.conf("issue_date") < CONFIDENT


@pytest.mark.parametrize(("language", "sure"), [("fr", True), ("en", False)])
def test_ambiguous_date_sure_only_where_the_language_settles_it(language: str, sure: bool) -> None:
    label = "Date de facture :" if language == "fr" else "Invoice date:"
    ex = _fields(page_reading([(100, [(350, label), (470, "03/04/2026")])]), language)
    assert ex.issue_date == date(2026, 4, 3)
    assert (ex.conf("issue_date") >= CONFIDENT) is sure


def test_issue_date_label_wins_over_other_dates() -> None:
    ex = _fields(
        page_reading(
            [
                (100, [(350, "Order date:"), (460, "01.02.2026")]),
                (115, [(350, "Date of delivery"), (460, "03.02.2026")]),
                (130, [(350, "Invoice date:"), (460, "05.02.2026")]),
                (300, [(40, "Date"), (120, "Description"), (400, "Amount")]),
                (315, [(40, "28.01.2026"), (120, "Repair"), (400, "100.00")]),
            ]
        )
    )
    assert ex.issue_date == date(2026, 2, 5)


def test_specific_label_wins_over_a_plain_date_label() -> None:
    ex = _fields(
        page_reading(
            [
                (100, [(40, "Datum"), (120, "02.03.2026")]),
                (115, [(40, "Factuurdatum:"), (140, "01.03.2026")]),
            ]
        ),
        "nl",
    )
    assert ex.issue_date == date(2026, 3, 1)


def test_joined_delivery_and_invoice_date_is_the_issue_date() -> None:
    ex = _fields(
        page_reading(
            [
                (100, [(40, "Rechnungsnummer: 2014-03"), (250, "Liefer- und Rechnungsdatum:")]),
                (100, [(420, "11. Juli 2014")]),
            ]
        ),
        "de",
    )
    assert ex.issue_date == date(2014, 7, 11)
    assert ex.conf("issue_date") >= CONFIDENT  # by its label, not a guess


def test_a_column_of_item_dates_is_no_sure_issue_date() -> None:
    ex = _fields(
        page_reading(
            [
                (300, [(40, "Date"), (120, "Description"), (400, "Amount")]),
                (315, [(40, "28.01.2026"), (120, "Repair"), (400, "100.00")]),
                (330, [(40, "29.01.2026"), (120, "Parts"), (400, "50.00")]),
            ]
        )
    )
    assert ex.issue_date == date(2026, 1, 28)
    assert ex.conf("issue_date") < CONFIDENT


def test_place_and_date_win_over_a_column_of_item_dates() -> None:
    ex = _fields(
        page_reading(
            [
                (100, [(350, "Bern, 02.02.2026")]),
                (300, [(40, "Datum"), (120, "Leistung"), (400, "Betrag")]),
                (315, [(40, "28.01.2026"), (120, "Reparatur"), (400, "100.00")]),
                (330, [(40, "29.01.2026"), (120, "Material"), (400, "50.00")]),
            ]
        ),
        "de",
    )
    assert ex.issue_date == date(2026, 2, 2)
    assert ex.conf("issue_date") >= CONFIDENT


def test_date_after_the_invoice_number() -> None:
    ex = _fields(page_reading([(100, [(40, "Rechnung # RE-2017/505 vom 09.05.2017")])]), "de")
    assert ex.invoice_number == "RE-2017/505"
    assert ex.issue_date == date(2017, 5, 9)


def test_clean_scan_date_beside_its_label_is_confident() -> None:
    # The address column beside the label is badly read; the label and its date are not.
    ex = _fields(
        page_reading(
            [
                (100, [(40, "Mvster GmbH", 31.0), (350, "Rechnungsdatum:"), (450, "12.03.2026")]),
                (115, [(40, "Bahnhofstr. 1", 40.0), (350, "Rechnung Nr."), (450, "2026-17")]),
            ],
            conf=92.0,
        ),
        "de",
    )
    assert ex.issue_date == date(2026, 3, 12)
    assert ex.conf("issue_date") >= CONFIDENT


def test_garbled_scan_date_stays_unsure() -> None:
    ex = _fields(
        page_reading(
            [(100, [(350, "Rechnungsdatum:", 90.0), (450, "12.03.2026", 30.0)])], conf=90.0
        ),
        "de",
    )
    assert ex.issue_date == date(2026, 3, 12)
    assert ex.conf("issue_date") < CONFIDENT


@pytest.mark.parametrize(
    "printed",
    ["Biel/Bienne, 22.10.2026", "8001 Zürich, 22.10.2026", "La Chaux-de-Fonds, le 22.10.2026"],
)
def test_place_and_date(printed: str) -> None:
    ex = _fields(page_reading([(100, [(40, "Seestrasse 9"), (350, printed)])], conf=93.0), "de")
    assert ex.issue_date == date(2026, 10, 22)
    assert ex.conf("issue_date") >= CONFIDENT


@pytest.mark.parametrize(
    ("line", "language", "due"),
    [
        ("Please remit until 2020-12-12.", "en", date(2020, 12, 12)),
        ("DUE: 01/12/2020", "en", date(2020, 12, 1)),
        ("Vervaldatum: 03.04.2020", "nl", date(2020, 4, 3)),
        ("Fecha de vencimiento: 01/12/2020", "es", date(2020, 12, 1)),
        ("Zahlbar innert 30 Tagen netto, 2 % Skonto innert 10 Tagen", "de", date(2020, 12, 11)),
        ("Payment terms: 30 days from date of invoice", "en", date(2020, 12, 11)),
        ("Pagamento 50 GG DF", "it", date(2020, 12, 31)),
        ("Pagamento 30 gg DF FM", "it", date(2020, 12, 31)),  # to the end of the month
        ("Payment: 60 days end of month", "en", date(2021, 1, 31)),
        ("Terms: Net 45", "en", date(2020, 12, 26)),
        ("Zahlbar sofort ohne Abzug.", "de", date(2020, 11, 11)),
    ],
)
def test_due_date(line: str, language: str, due: date) -> None:
    ex = _fields(
        page_reading([(100, [(350, "Invoice date:"), (460, "11.11.2020")]), (500, [(40, line)])]),
        language,
    )
    assert ex.issue_date == date(2020, 11, 11)
    assert ex.due_date == due


def test_due_before_issue_is_unsure() -> None:
    ex = _fields(
        page_reading(
            [
                (100, [(350, "Invoice date:"), (460, "11.11.2020")]),
                (115, [(350, "Due date:"), (460, "11.10.2020")]),
            ]
        )
    )
    assert ex.due_date == date(2020, 10, 11)
    assert ex.conf("due_date") <= 0.5
