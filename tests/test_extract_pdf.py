"""Reading text PDFs end to end with hand-made files: QR-bill, Factur-X, XML, split."""

import pickle
from datetime import date
from decimal import Decimal

import pytest

from domain.enums import DocType, TextSource
from extractors import classify, extract, extract_fields, ocr, read
from extractors.split import split_pdf
from tests.extract_helpers import cii_xml, facturx_pdf, invoice_pdf, qr_payload

DESIGN_KEYS = [
    "doc_type",
    "language",
    "supplier_name",
    "supplier_uid",
    "supplier_iban",
    "invoice_number",
    "issue_date",
    "due_date",
    "currency",
    "total",
    "vat",
    "reference",
    "has_qr",
    "confidence",
    "text_source",
    "timings",
]


@pytest.fixture
def no_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("a PDF with a text layer must not be OCR'd")

    monkeypatch.setattr(ocr, "submit", refuse)
    monkeypatch.setattr(ocr, "_tesseract_words", refuse)


@pytest.mark.usefixtures("no_ocr")
def test_qr_invoice_fields_exact() -> None:
    ex = extract(invoice_pdf(qr=qr_payload()), "rechnung.pdf")
    assert ex.error is None
    assert ex.has_qr
    assert ex.supplier_iban == "CH4431999123000889012"
    assert ex.total == Decimal("1949.75")
    assert ex.currency == "CHF"
    assert ex.reference == "210000000003139471430009017"
    assert ex.invoice_number == "10201409"
    assert ex.issue_date == date(2020, 7, 1)
    assert ex.due_date == date(2020, 7, 31)
    assert ex.supplier_uid == "CHE-106.017.086"
    assert ex.supplier_name == "Robert Schneider AG"
    assert [(v.rate, v.base, v.amount) for v in ex.vat] == [
        (Decimal("7.7"), Decimal("1810.35"), Decimal("139.40"))
    ]
    assert ex.text_source is TextSource.QR
    assert ex.recipient is not None and ex.recipient.name == "Pia-Maria Rutschmann-Schnyder"
    # Confirmed by QR and printed total (and net + VAT = total): near certain.
    assert ex.conf("total") > 0.97
    assert ex.conf("supplier_iban") > 0.95
    assert "total" in ex.positions


@pytest.mark.usefixtures("no_ocr")
def test_public_json_is_the_design_schema() -> None:
    out = extract(invoice_pdf()).public_json()
    assert list(out)[: len(DESIGN_KEYS)] == DESIGN_KEYS
    assert "text" not in out
    assert out["total"] == "1949.75"
    assert out["issue_date"] == "2020-07-01"
    assert out["vat"] == [{"rate": "7.7", "base": "1810.35", "amount": "139.40"}]
    assert set(out["confidence"]) >= {"doc_type", "total", "invoice_number"}
    assert all(0 <= v <= 1 for v in out["confidence"].values())


@pytest.mark.usefixtures("no_ocr")
def test_steps_are_picklable_and_compose() -> None:
    reading = pickle.loads(pickle.dumps(read(invoice_pdf())))  # noqa: S301 - our own bytes
    cls = pickle.loads(pickle.dumps(classify(reading)))  # noqa: S301
    assert cls.doc_type is DocType.SUPPLIER_INVOICE
    assert cls.language == "de"
    ex = extract_fields(reading, cls)
    assert ex.total == Decimal("1949.75")
    assert {"read", "classify", "fields"} <= set(ex.timings)


@pytest.mark.usefixtures("no_ocr")
def test_printed_total_disagreeing_with_qr_loses_confidence() -> None:
    lines = ["Muster AG", "Rechnung Nr. 55", "Datum: 01.07.2025", "Total CHF 2'000.00"]
    ex = extract(invoice_pdf(lines, qr=qr_payload()))
    assert ex.total == Decimal("1949.75")  # the validated QR amount
    assert ex.conf("total") < 0.9


@pytest.mark.usefixtures("no_ocr")
def test_facturx_wins_over_page_text() -> None:
    ex = extract(facturx_pdf())
    assert ex.text_source is TextSource.XML
    assert ex.total == Decimal("1081.00")  # the page says 1'949.75
    assert ex.invoice_number == "FX-2025-001"
    assert ex.supplier_name == "XML Lieferant AG"
    assert ex.due_date == date(2025, 4, 9)
    assert [(v.rate, v.base, v.amount) for v in ex.vat] == [
        (Decimal("8.1"), Decimal("1000.00"), Decimal("81.00"))
    ]
    assert ex.conf("total") >= 0.9


def test_bare_xml_invoice_and_credit_note() -> None:
    ex = extract(cii_xml(), "xrechnung.xml")
    assert ex.error is None and ex.text_source is TextSource.XML
    assert ex.total == Decimal("1081.00") and ex.currency == "CHF"
    assert ex.supplier_uid == "CHE-106.017.086"
    assert ex.recipient is not None and ex.recipient.name == "Muster Bau AG"
    credit = extract(cii_xml(type_code="381"))
    assert credit.doc_type is DocType.CREDIT_NOTE
    assert credit.total == Decimal("-1081.00")


def test_split_pdf_copies_page_ranges() -> None:
    data = invoice_pdf(pages=3)
    parts = split_pdf(data, [(1, 1), (2, 3)])
    assert [read(p).page_count for p in parts] == [1, 2]
    with pytest.raises(ValueError, match="outside"):
        split_pdf(data, [(2, 4)])
