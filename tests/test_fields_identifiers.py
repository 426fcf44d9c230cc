"""IBAN (mod 97), UID (mod 11), QR reference (mod 10 recursive) and SCOR (ISO 11649)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import iban as std_iban
from stdnum import iso11649

from extractors.fields.iban import find_ibans, is_qr_iban, is_valid_iban
from extractors.fields.references import (
    find_references,
    is_valid_qrr,
    is_valid_scor,
    mod10_check_digit,
)
from extractors.fields.uid import find_uids, format_uid, parse_uid, uid_check_digit


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
