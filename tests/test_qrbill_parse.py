"""Swiss QR-bill payloads (made with `qrbill`) and Swico S1 billing information."""

from datetime import date
from decimal import Decimal

import pytest

from extractors.qrbill import QrBillError, parse_qr_payload, parse_swico_s1
from tests.extract_helpers import IBAN, qr_payload


def test_full_payload() -> None:
    bill = parse_qr_payload(qr_payload())
    assert bill.iban == "CH4431999123000889012"
    assert bill.is_qr_iban
    assert bill.amount == Decimal("1949.75")
    assert bill.currency == "CHF"
    assert bill.reference_type == "QRR"
    assert bill.reference == "210000000003139471430009017"
    assert bill.creditor.name == "Robert Schneider AG"
    assert bill.creditor.postcode == "2501"
    assert bill.debtor is not None and bill.debtor.name == "Pia-Maria Rutschmann-Schnyder"
    assert bill.message == "Auftrag vom 15.06.2020"
    s1 = bill.s1
    assert s1 is not None
    assert s1.invoice_number == "10201409"
    assert s1.invoice_date == date(2020, 7, 1)
    assert s1.customer_reference == "140.000-53"
    assert s1.uid == "CHE-106.017.086"
    assert s1.vat_date == date(2020, 6, 30)
    assert [v.rate for v in s1.vat] == [Decimal("7.7")]
    assert s1.net_days == 30


@pytest.mark.parametrize("newline", ["\r\n", "\n"])
@pytest.mark.parametrize("trailing", ["", "\n", "\r\n"])
def test_line_endings(newline: str, trailing: str) -> None:
    text = qr_payload().replace("\r\n", "\n").replace("\n", newline) + trailing
    assert parse_qr_payload(text).amount == Decimal("1949.75")


def test_31_to_34_lines() -> None:
    lines = qr_payload(billing="").replace("\r\n", "\n").split("\n")
    base = lines[:31]
    assert len(base) == 31
    assert parse_qr_payload("\n".join(base)).s1 is None
    with_s1 = [*base[:31], "//S1/10/X1"]
    assert parse_qr_payload("\n".join(with_s1)).s1.invoice_number == "X1"  # type: ignore[union-attr]
    alt = [*with_s1, "eBill/B/billing@example.ch", "XY/abc"]
    bill = parse_qr_payload("\n".join(alt))
    assert bill.alternative_procedures == ["eBill/B/billing@example.ch", "XY/abc"]
    with pytest.raises(QrBillError):
        parse_qr_payload("\n".join([*alt, "too many"]))
    with pytest.raises(QrBillError):
        parse_qr_payload("\n".join(base[:29]))


def test_bad_qrr_check_digit_rejected() -> None:
    text = qr_payload().replace("210000000003139471430009017", "210000000003139471430009018")
    with pytest.raises(QrBillError, match="check digit"):
        parse_qr_payload(text)


def test_qrr_needs_qr_iban() -> None:
    text = qr_payload().replace("CH4431999123000889012", "CH9300762011623852957")
    with pytest.raises(QrBillError):
        parse_qr_payload(text)


def test_scor_and_no_amount() -> None:
    bill = parse_qr_payload(qr_payload(account=IBAN, reference="RF18539007547034", amount=None))
    assert bill.reference_type == "SCOR"
    assert bill.reference == "RF18539007547034"
    assert bill.amount is None
    assert not bill.is_qr_iban


def test_non_reference_and_eur() -> None:
    bill = parse_qr_payload(qr_payload(account=IBAN, reference=None, currency="EUR"))
    assert bill.reference_type == "NON" and bill.reference is None
    assert bill.currency == "EUR"


def test_bad_iban_rejected() -> None:
    text = qr_payload().replace("CH4431999123000889012", "CH4431999123000889013")
    with pytest.raises(QrBillError, match="IBAN"):
        parse_qr_payload(text)


def test_not_a_qr_bill() -> None:
    with pytest.raises(QrBillError):
        parse_qr_payload("https://example.ch")


def test_combined_address_type_k() -> None:
    lines = qr_payload().replace("\r\n", "\n").split("\n")
    lines[4:11] = ["K", "Muster AG", "Bahnhofstrasse 1", "8001 Zürich", "", "", "CH"]
    bill = parse_qr_payload("\n".join(lines))
    assert bill.creditor.address_type == "K"
    assert bill.creditor.town_from_combined() == ("8001", "Zürich")


def test_s1_escapes_and_lists() -> None:
    s1 = parse_swico_s1(
        r"//S1/10/2024\/0815/11/250301/30/106017086/32/8.1:1000;2.6:50/"
        r"40/2:10;0:30/99/unknown"
    )
    assert s1 is not None
    assert s1.invoice_number == "2024/0815"
    assert s1.invoice_date == date(2025, 3, 1)
    assert [(v.rate, v.net) for v in s1.vat] == [
        (Decimal("8.1"), Decimal("1000")),
        (Decimal("2.6"), Decimal("50")),
    ]
    assert [(t.discount_percent, t.days) for t in s1.terms] == [
        (Decimal("2"), 10),
        (Decimal("0"), 30),
    ]
    assert s1.net_days == 30


def test_s1_bad_uid_dropped() -> None:
    s1 = parse_swico_s1("//S1/30/106017087")
    assert s1 is not None and s1.uid is None


def test_s1_terms_with_odd_characters_are_skipped_not_raised() -> None:
    # Regression (found by tests/fuzz/fuzz_qrbill.py): "\x1e0" passed isdigit() after
    # strip() but int() refused it, and the whole reading failed with a ValueError.
    s1 = parse_swico_s1("//S1/40/0:\x1e0;2:\u00b2;3:15")
    assert s1 is not None
    assert [(t.discount_percent, t.days) for t in s1.terms] == [
        (Decimal("0"), 0),
        (Decimal("3"), 15),
    ]
