"""IBAN (mod 97), UID (mod 11), QR reference (mod 10 recursive) and SCOR (ISO 11649); the
invoice number by its label, in a table cell, after `#` / `No.` / `Nr.` / `N°`, and read
through OCR's letter-for-digit slips (small made-up pages)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum import iso11649

from domain.enums import DocType
from domain.extraction import Extraction
from extractors import extract_fields
from extractors.fields.iban import find_ibans, is_qr_iban, is_valid_iban
from extractors.fields.invoice_number import fix_ocr_number
from extractors.fields.references import (
    find_references,
    is_valid_qrr,
    is_valid_scor,
    mod10_check_digit,
)
from extractors.fields.uid import find_uids, format_uid, parse_uid, uid_check_digit
from extractors.reading import Classification, Reading
from tests.extract_helpers import Cell, page_reading


def test_iban_in_text() -> None:
    text = "Bank: UBS, IBAN CH93 0076 2011 6238 5295 7, BIC UBSWCHZH80A"
    assert find_ibans(text)[0][0] == "CH9300762011623852957"


def test_iban_wrong_check_digits_rejected() -> None:
    assert find_ibans("IBAN CH94 0076 2011 6238 5295 7") == []
    assert not is_valid_iban("CH9400762011623852957")


def test_iban_ocr_slip_fixed_when_it_checks() -> None:
    # OCR read a zero as the letter O in the bank code; mod 97 confirms the fix.
    assert find_ibans("IBAN CH93 OO76 2011 6238 5295 7")[0][0] == "CH9300762011623852957"


def test_german_iban_followed_by_words() -> None:
    assert find_ibans("DE89 3704 0044 0532 0130 00 Commerzbank")[0][0] == "DE89370400440532013000"


def test_qr_iban() -> None:
    assert is_qr_iban("CH44 3199 9123 0008 8901 2")
    assert not is_qr_iban("CH9300762011623852957")


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_iban_round_trip(bban_digits: str) -> None:
    bban = bban_digits[:5] + bban_digits[5:]
    check = std_iban.calc_check_digits("CH00" + bban)
    iban = f"CH{check}{bban}"
    spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    assert find_ibans(f"Konto: {spaced} danke")[0][0] == iban


@pytest.mark.parametrize(
    ("text", "uid"),
    [
        ("CHE-106.017.086 MWST", "CHE-106.017.086"),
        ("UID: CHE106017086", "CHE-106.017.086"),
        ("CHE 106 017 086 TVA", "CHE-106.017.086"),
        ("CHE-1O6.017.086", "CHE-106.017.086"),
    ],
)
def test_uid(text: str, uid: str) -> None:
    assert parse_uid(text) == uid


def test_uid_bad_check_digit() -> None:
    assert parse_uid("CHE-106.017.087") is None
    assert find_uids("MWST-Nr. CHE-106.017.087 MWST") == []


@given(st.text(alphabet="0123456789", min_size=8, max_size=8))
def test_uid_round_trip(first8: str) -> None:
    check = uid_check_digit(first8)
    uid = format_uid(first8 + str(check % 10))
    found = find_uids(f"Nr. {uid} MWST")
    if check == 10:  # never issued
        assert found == []
    else:
        assert found[0][0] == uid
        assert found[0][3] is True


def test_qrr() -> None:
    assert is_valid_qrr("210000000003139471430009017")
    assert is_valid_qrr("21 00000 00003 13947 14300 09017")
    assert not is_valid_qrr("210000000003139471430009018")


@given(st.text(alphabet="0123456789", min_size=26, max_size=26))
def test_qrr_round_trip(body: str) -> None:
    ref = body + str(mod10_check_digit(body))
    assert is_valid_qrr(ref)
    wrong = body + str((mod10_check_digit(body) + 1) % 10)
    assert not is_valid_qrr(wrong)
    printed = ref[:2] + " " + " ".join(ref[i : i + 5] for i in range(2, 27, 5))
    assert find_references(f"Referenz {printed}")[0][:2] == ("QRR", ref)


def test_scor() -> None:
    ref = iso11649.format("RF18539007547034").replace(" ", "")
    assert is_valid_scor(ref)
    assert find_references("Referenz RF18 5390 0754 7034")[0][:2] == ("SCOR", "RF18539007547034")
    assert not is_valid_scor("RF19539007547034")


# --- invoice numbers -----------------------------------------------------------------------


def _number(reading: Reading, doc_type: DocType = DocType.SUPPLIER_INVOICE) -> Extraction:
    cls = Classification(doc_type=doc_type, confidence=0.9, language="en")
    return extract_fields(reading, cls)


@pytest.mark.parametrize(
    ("line", "number"),
    [
        ("Rechnung # RE-2017/505 von 09.05.2017", "RE-2017/505"),
        ("Invoice #1234", "1234"),
        ("Invoice No: #INV0815", "INV0815"),
        ("INVOICE: INV-100", "INV-100"),
        ("INVOICE: NO. 001", "001"),
        ("FACTUURNUMMER: 1234567890", "1234567890"),
        ("Factura nº 2021-77", "2021-77"),
        ("Número de factura: F-9", "F-9"),
        ("Fatura nº FT2026/15", "FT2026/15"),
        ("Inv. No. 8812", "8812"),
        ("Fattura n. 54321 del 10/02/2022", "54321"),
        ("Invoice No.  GT\\5153  Dated 27-Feb-2019", "GT\\5153"),
        ("INVOICE NUMBER | 20517440 |", "20517440"),
    ],
)
def test_invoice_number_labels(line: str, number: str) -> None:
    ex = _number(page_reading([(100, [(40, line)])]))
    assert ex.invoice_number == number
    assert ex.conf("invoice_number") >= 0.8


@pytest.mark.parametrize("line", ["No. 4711", "Nr. 4711", "N° 4711", "NUMBER: 4711", "# 4711"])
def test_bare_number_label_at_the_start_of_a_column(line: str) -> None:
    ex = _number(page_reading([(60, [(350, "INVOICE")]), (100, [(40, "Acme Ltd"), (350, line)])]))
    assert ex.invoice_number == "4711"
    assert ex.conf("invoice_number") < 0.75  # no document word: trusted less


def test_number_label_inside_other_words_is_not_the_invoice_number() -> None:
    ex = _number(page_reading([(100, [(40, "Kunden-Nr. 1234 Tel. Nr. 0441234567")])]))
    assert ex.invoice_number is None


def test_labelled_number_wins_over_a_bare_one() -> None:
    ex = _number(
        page_reading(
            [(100, [(40, "No. 77")]), (115, [(350, "Invoice number:"), (450, "A-2026-9")])]
        )
    )
    assert ex.invoice_number == "A-2026-9"


def test_invoice_number_in_the_cell_under_its_label() -> None:
    ex = _number(
        page_reading(
            [
                (100, [(40, "Invoice No."), (150, "Date"), (250, "Customer")]),
                (114, [(40, "INV-5512"), (150, "01.03.2026"), (250, "C-77")]),
            ]
        )
    )
    assert ex.invoice_number == "INV-5512"


def test_credit_note_number_not_the_invoice_it_refers_to() -> None:
    ex = _number(
        page_reading(
            [
                (100, [(40, "Riferimento: fattura n. R17 del 18/05/2026")]),
                (115, [(40, "Nr. CN-5")]),
            ]
        ),
        DocType.CREDIT_NOTE,
    )
    assert ex.invoice_number == "CN-5"


def test_invoice_number_from_the_qr_payment_part_when_the_page_has_none() -> None:
    ex = _number(
        page_reading(
            [
                (100, [(40, "Thank you for your order")]),
                (560, [(14, "Receipt"), (180, "Payment part")]),
                (660, [(180, "Additional information")]),
                (670, [(180, "Invoice 48390, 10 % off")]),
            ]
        )
    )
    assert ex.invoice_number == "48390"
    assert ex.conf("invoice_number") < 0.75


@pytest.mark.parametrize(
    ("read", "fixed"),
    [
        ("INVO3051", "INV03051"),
        ("2O26-0O1", "2026-001"),
        ("12l45", "12145"),
        ("PO12345", "PO12345"),
    ],
)
def test_ocr_letters_in_numbers(read: str, fixed: str) -> None:
    assert fix_ocr_number(read) == fixed


def test_ocr_number_fix_only_for_ocr_and_less_sure() -> None:
    rows: list[tuple[float, list[Cell]]] = [(100, [(40, "Invoice No:"), (150, "INVO3051")])]
    scanned = _number(page_reading(rows, conf=93.0))
    assert scanned.invoice_number == "INV03051"
    assert scanned.conf("invoice_number") < 0.75
    typed = _number(page_reading(rows))  # a text layer means what it says
    assert typed.invoice_number == "INVO3051"
