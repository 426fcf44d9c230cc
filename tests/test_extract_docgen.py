"""End to end on documents from tests.docgen: every field equals the truth.

Text PDFs in four languages, QR-bills, credit notes, reminders, receipts, statements,
payslips, letters, e-invoices, multi-document files; a few scans and photos (OCR).
"""

import random
from collections.abc import Iterator

import pytest

from bench.common import FIELDS, QR_FIELDS, applicable, ours_value, same, truth_value
from extractors import Readers, extract
from tests import docgen
from tests.extract_helpers import own_readers


def _misses(doc, ex) -> list[str]:
    out = []
    for field in FIELDS:
        ours, want = ours_value(ex, field), truth_value(doc.truth, field)
        if applicable(field, ours, want) and not same(field, ours, want):
            out.append(f"{field}: {ours!r} != {want!r}")
    return out


@pytest.fixture(scope="module")
def readers() -> Iterator[Readers]:
    """One set of readers for the module, its OCR cache in memory only."""
    with own_readers() as readers:
        yield readers


@pytest.mark.parametrize("language", ["de", "fr", "it", "en"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_invoice_fields_equal_truth(readers: Readers, language: str, seed: int) -> None:
    doc = docgen.supplier_invoice(seed, language=language)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.error is None
    assert _misses(doc, ex) == []


@pytest.mark.parametrize("seed", [4, 5, 6, 7])
def test_qr_bill_fields_exact(readers: Readers, seed: int) -> None:
    doc = docgen.supplier_invoice(seed, with_qr=True)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.has_qr
    for field in QR_FIELDS:
        want = truth_value(doc.truth, field)
        assert (
            ours_value(ex, field) == want
            if want is None
            else same(field, ours_value(ex, field), want)
        ), field
        if want is not None:
            assert ex.conf(field) >= 0.9, field


@pytest.mark.parametrize(
    "maker",
    [
        "credit_note",
        "reminder",
        "receipt",
        "bank_statement",
        "payslip",
        "letter",
        "customer_invoice",
    ],
)
def test_other_kinds_equal_truth(readers: Readers, maker: str) -> None:
    rng = random.Random(11)
    for _ in range(3):
        doc = getattr(docgen, maker)(rng)
        ex = extract(doc.data, doc.filename, readers=readers)
        assert _misses(doc, ex) == [], doc.filename


def test_facturx_wins_over_page(readers: Readers) -> None:
    doc = docgen.facturx_invoice(21)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.text_source.value == "xml"
    assert _misses(doc, ex) == []


def test_bare_xrechnung(readers: Readers) -> None:
    doc = docgen.xrechnung_xml(22)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.error is None and ex.text_source.value == "xml"
    assert ex.total == doc.truth.total and ex.invoice_number == doc.truth.invoice_number


@pytest.mark.parametrize("seed", [1, 2])
def test_multi_receipt_pdf_is_split(readers: Readers, seed: int) -> None:
    doc = docgen.multi_receipt_pdf(seed, n=3)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.parts == doc.truth.parts
    assert _misses(doc, ex) == []  # fields of the first receipt


def test_invoice_followed_by_letter_is_split(readers: Readers) -> None:
    doc = docgen.invoice_with_letter(3)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.parts == doc.truth.parts
    assert ex.total == doc.truth.total


def test_multi_page_invoice_is_one_document(readers: Readers) -> None:
    doc = docgen.supplier_invoice(8, lines=12, with_qr=True)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.pages >= 1 and ex.parts == []


@pytest.mark.ocr
def test_scanned_invoice(readers: Readers) -> None:
    rng = random.Random(5)
    doc = docgen.scan(docgen.supplier_invoice(rng, lines=2, with_qr=False), rng)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.text_source.value == "ocr"
    misses = _misses(doc, ex)
    assert len(misses) <= 1, misses


@pytest.mark.ocr
def test_photo_of_receipt(readers: Readers) -> None:
    rng = random.Random(6)
    doc = docgen.photo(docgen.receipt(rng, lines=2), rng)
    ex = extract(doc.data, doc.filename, readers=readers)
    assert ex.text_source.value == "ocr"
    assert ex.total == doc.truth.total
