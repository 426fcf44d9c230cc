"""The test-document generator keeps its promises: valid identifiers, exact arithmetic,
ground truth that is really printed (and decodable), determinism, degraded copies."""

from __future__ import annotations

import io
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import facturx
import pdfplumber
import pypdfium2 as pdfium
import pytest
import zxingcpp
from lxml import etree
from PIL import Image, ImageOps
from pypdf import PdfReader
from stdnum import iban as std_iban
from stdnum import iso11649
from stdnum.at import uid as at_uid
from stdnum.ch import esr, ssn
from stdnum.ch import uid as ch_uid
from stdnum.de import vat as de_vat
from stdnum.fr import tva as fr_tva
from stdnum.it import iva as it_iva

from tests.docgen import (
    Company,
    GeneratedDocument,
    Truth,
    bank_statement,
    corpus,
    credit_note,
    customer_invoice,
    facturx_invoice,
    invoice_with_letter,
    letter,
    multi_receipt_pdf,
    payslip,
    photo,
    qr_iban,
    qrr_reference,
    random_client_company,
    random_company,
    receipt,
    reminder,
    scan,
    scor_reference,
    supplier_invoice,
    swiss_iban,
    swiss_uid,
    xrechnung_xml,
)
from tests.docgen.identities import ahv_number, eu_vat, foreign_iban, uid_check_digit
from tests.docgen.swiss_formats import SWISS_VAT_PERIODS, valid_rates

CENT = Decimal("0.01")


def pdf_text(data: bytes) -> str:
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        text = "\n".join(page.extract_text() or "" for page in pdf.pages)
    return re.sub(r"[ \t\u00a0]+", " ", text)


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def decode_qr(data: bytes, page: int = -1, dpi: int = 200) -> str:
    pdf = pdfium.PdfDocument(data)
    try:
        image = pdf[page % len(pdf)].render(scale=dpi / 72).to_pil()
    finally:
        pdf.close()
    results = zxingcpp.read_barcodes(image)
    assert results, "no QR code found"
    return results[0].text


# --- identifiers --------------------------------------------------------------


def test_identifiers_validate_with_stdnum() -> None:
    r = random.Random(7)
    for _ in range(300):
        uid = swiss_uid(r)
        assert re.fullmatch(r"CHE-\d{3}\.\d{3}\.\d{3}", uid)
        assert ch_uid.is_valid(uid)
        assert std_iban.is_valid(swiss_iban(r))
        qr = qr_iban(r)
        assert std_iban.is_valid(qr)
        assert 30000 <= int(qr[4:9]) <= 31999
        qrr = qrr_reference(r)
        assert len(qrr) == 27 and esr.is_valid(qrr)
        assert iso11649.is_valid(scor_reference(r))
        assert ssn.is_valid(ahv_number(r))
        for country in ("DE", "AT", "FR", "IT", "LI"):
            assert std_iban.is_valid(foreign_iban(r, country))
        assert de_vat.is_valid(eu_vat(r, "DE"))
        assert at_uid.is_valid(eu_vat(r, "AT"))
        assert fr_tva.is_valid(eu_vat(r, "FR"))
        assert it_iva.is_valid(eu_vat(r, "IT"))


def test_uid_check_digit_follows_the_published_example_and_never_issues_10() -> None:
    assert uid_check_digit("11628171") == 0  # CHE-116.281.710 (stdnum's example)
    assert ch_uid.is_valid("CHE-116.281.710")
    ten = next(
        f"{n:08d}" for n in range(10_000_000, 99_999_999) if uid_check_digit(f"{n:08d}") is None
    )
    weights = (5, 4, 3, 2, 7, 6, 5, 4)
    assert (11 - sum(int(d) * w for d, w in zip(ten, weights, strict=True)) % 11) % 11 == 10


def test_references_from_a_base_keep_it() -> None:
    assert qrr_reference(0, "12345")[-6:-1] == "12345"
    assert scor_reference(0, "539007547034") == "RF18539007547034"  # ISO 11649 example


def test_companies_look_swiss_and_carry_valid_ids() -> None:
    r = random.Random(3)
    for _ in range(60):
        c = random_company(r)
        assert isinstance(c, Company) and c.country == "CH"
        assert re.fullmatch(r"\d{4}", c.postcode) and c.city
        assert ch_uid.is_valid(c.uid) and std_iban.is_valid(c.iban)
        assert c.qr_iban is None or std_iban.is_valid(c.qr_iban)
        assert "@" in c.email
        if c.legal_form in ("AG", "GmbH", "SA", "Sàrl", "Sagl"):
            assert c.name.endswith(c.legal_form)
    client = random_client_company(r)
    assert client.contact and client.vat_registered
    de = random_company(r, "DE", kind="elektro")
    assert de.uid is None and de_vat.is_valid(de.eu_vat) and de.iban.startswith("DE")


# --- determinism and speed ----------------------------------------------------

MAKERS = [
    supplier_invoice,
    credit_note,
    reminder,
    receipt,
    bank_statement,
    payslip,
    letter,
    customer_invoice,
    multi_receipt_pdf,
    invoice_with_letter,
    facturx_invoice,
    xrechnung_xml,
]


@pytest.mark.parametrize("maker", MAKERS, ids=lambda m: m.__name__)
def test_same_seed_same_bytes(maker) -> None:
    a, b = maker(1234), maker(1234)
    assert isinstance(a, GeneratedDocument)
    assert a.data == b.data and a.filename == b.filename
    assert a.truth.to_json() == b.truth.to_json()
    assert maker(1235).data != a.data
    json.dumps(a.truth.to_json())  # JSON-able


def test_random_instance_gives_a_reproducible_seed() -> None:
    doc = supplier_invoice(random.Random(99))
    assert supplier_invoice(doc.seed).data == doc.data


def test_one_page_text_pdf_is_fast() -> None:
    supplier_invoice(0)  # warm-up: font registration
    timings = []
    for seed in range(7):
        start = time.perf_counter()
        supplier_invoice(seed, with_qr=False, lines=5)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.1


# --- invoices: what the truth says is on the page -----------------------------


@pytest.mark.parametrize("layout", [0, 1, 2, 3])
@pytest.mark.parametrize("with_qr", [True, False])
def test_invoice_text_carries_the_truth(layout: int, with_qr: bool) -> None:
    doc = supplier_invoice(100 + layout, layout=layout, with_qr=with_qr)
    t = doc.truth
    text = pdf_text(doc.data)
    assert doc.media_type == "application/pdf" and doc.copy == "text"
    assert t.doc_type == "supplier_invoice" and t.has_qr is with_qr
    assert t.invoice_number in text
    assert t.printed["total"].replace("\u00a0", " ") in text
    assert t.supplier_name in text
    if t.supplier_uid:
        assert t.supplier_uid in text
    assert t.supplier_iban and t.supplier_iban in squash(text)
    assert t.recipient_name in text
    for line in t.recipient_address:
        assert line in text
    assert t.total == t.total.quantize(CENT) and t.total > 0


@pytest.mark.parametrize("seed", range(6))
def test_qr_bill_decodes_and_matches_the_truth(seed: int) -> None:
    doc = supplier_invoice(seed, with_qr=True, layout=seed % 4)
    t = doc.truth
    text = decode_qr(doc.data)
    assert text == t.extra["qr_payload"]  # exactly qrbill's QRBill.qr_data()
    fields = text.split("\r\n")
    assert fields[:3] == ["SPC", "0200", "1"]
    assert fields[3] == t.supplier_iban
    assert Decimal(fields[18]) == t.total and fields[19] == t.currency
    assert (fields[28] or None) == t.reference
    is_qr_iban = 30000 <= int(t.supplier_iban[4:9]) <= 31999
    assert fields[27] == ("QRR" if is_qr_iban else ("SCOR" if t.reference else "NON"))
    if len(fields) > 31 and fields[31]:
        s1 = fields[31]
        assert s1.startswith("//S1/10/" + t.invoice_number.replace("/", "\\/"))
        assert f"/11/{t.issue_date:%y%m%d}" in s1
        if t.supplier_uid and "/30/" in s1:
            assert "/30/" + re.sub(r"\D", "", t.supplier_uid) in s1
    pdf_words = pdf_text(doc.data)
    for heading in ("Zahlteil", "Section paiement", "Sezione pagamento", "Payment part"):
        if heading in pdf_words:
            break
    else:
        pytest.fail("payment part heading missing")


def test_qr_with_umlauts_and_slash_in_invoice_number() -> None:
    supplier = random_company(random.Random(5), "CH", language="de")
    supplier = Company(**{**supplier.__dict__, "name": "Bäckerei Müller & Söhne AG"})
    doc = supplier_invoice(5, supplier=supplier, with_qr=True, invoice_number="F2026/0815")
    assert decode_qr(doc.data) == doc.truth.extra["qr_payload"]


def vat_ok(t: Truth) -> None:
    assert sum((v["base"] + v["amount"] for v in t.vat), Decimal(0)) == t.total
    for v in t.vat:
        assert v["base"] == v["base"].quantize(CENT) and v["amount"] == v["amount"].quantize(CENT)
        if not t.extra.get("vat_included") and t.doc_type != "receipt":
            expected = (abs(v["base"]) * v["rate"] / 100).quantize(CENT, ROUND_HALF_UP)
            assert abs(v["amount"]) == expected


@pytest.mark.parametrize("seed", range(25))
def test_vat_adds_up_and_rates_fit_the_date(seed: int) -> None:
    doc = supplier_invoice(seed)
    t = doc.truth
    if t.vat:
        vat_ok(t)
        country = "CH" if t.supplier_uid or t.currency == "CHF" else t.supplier_iban[:2]
        assert {v["rate"] for v in t.vat} <= valid_rates(country, t.issue_date)
    else:
        assert t.total > 0


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2023, 6, 1), {Decimal("7.7"), Decimal("2.5"), Decimal("3.7")}),
        (date(2024, 2, 1), {Decimal("8.1"), Decimal("2.6"), Decimal("3.8")}),
    ],
)
def test_rates_change_with_the_date(day: date, expected: set[Decimal]) -> None:
    seen: set[Decimal] = set()
    for seed in range(12):
        doc = supplier_invoice(seed, issue_date=day, supplier=random_company(seed, kind="hotel"))
        seen |= {v["rate"] for v in doc.truth.vat}
    assert seen and seen <= expected
    assert SWISS_VAT_PERIODS[0].start == date(2024, 1, 1)


def test_overrides_are_honoured() -> None:
    supplier = random_company(11, kind="informatik")
    recipient = random_client_company(12)
    doc = supplier_invoice(
        1,
        supplier=supplier,
        recipient=recipient,
        language="fr",
        currency="CHF",
        vat_rates=(Decimal("8.1"), Decimal("2.6")),
        with_qr=True,
        layout=2,
        issue_date=date(2026, 2, 1),
        lines=6,
        total=Decimal("1234.55"),
        invoice_number="2026-0142",
    )
    t = doc.truth
    assert t.supplier_name == supplier.name and t.recipient_name == recipient.name
    assert t.language == "fr" and t.currency == "CHF" and t.issue_date == date(2026, 2, 1)
    assert t.total == Decimal("1234.55") and t.invoice_number == "2026-0142"
    assert {v["rate"] for v in t.vat} == {Decimal("8.1"), Decimal("2.6")}
    vat_ok(t)
    text = pdf_text(doc.data)
    assert "Facture" in text and "2026-0142" in text


def test_forced_totals_are_exact() -> None:
    for seed in range(12):
        for total in ("0.95", "17.00", "99.95", "1234.55", "20000.00"):
            t = supplier_invoice(seed, total=Decimal(total), with_qr=False).truth
            assert t.total == Decimal(total)
            if t.vat:
                vat_ok(t)


def test_eur_invoice_from_germany_uses_eu_formats() -> None:
    supplier = random_company(8, "DE", kind="garage")
    doc = supplier_invoice(8, supplier=supplier, with_qr=False)
    t = doc.truth
    assert t.currency == "EUR" and t.supplier_uid is None
    assert {v["rate"] for v in t.vat} <= {Decimal("19"), Decimal("7")}
    assert re.search(r"\d,\d\d", t.printed["total"])
    text = pdf_text(doc.data)
    assert supplier.eu_vat in text and "CHE-" not in text
    with pytest.raises(ValueError, match="QR-bill"):
        supplier_invoice(8, supplier=supplier, with_qr=True)


def test_layouts_put_the_window_left_or_right() -> None:
    positions = {}
    for layout in range(4):
        doc = supplier_invoice(21, layout=layout, with_qr=False)
        name = doc.truth.recipient_address[0]
        with pdfplumber.open(io.BytesIO(doc.data)) as pdf:
            page = pdf.pages[0]
            hits = page.search(re.escape(name))
            assert hits
            positions[layout] = hits[0]["x0"] / 72 * 25.4  # mm from the left edge
    assert positions[0] > 110 and positions[2] > 110  # SN 010130 window right
    assert positions[1] < 30 and positions[3] < 30  # window left


def test_long_invoice_runs_over_pages_with_page_numbers() -> None:
    doc = supplier_invoice(7, lines=45, with_qr=True)
    assert doc.truth.pages >= 2
    text = pdf_text(doc.data)
    assert re.search(r"(Seite|Page|Pagina) 2", text)
    assert decode_qr(doc.data) == doc.truth.extra["qr_payload"]


def test_credit_note_is_negative() -> None:
    for seed in range(8):
        doc = credit_note(seed)
        t = doc.truth
        assert t.doc_type == "credit_note" and t.total < 0 and not t.has_qr
        assert all(v["base"] <= 0 and v["amount"] <= 0 for v in t.vat)
        if t.vat:
            vat_ok(t)
        text = pdf_text(doc.data)
        assert t.invoice_number in text and t.extra["original_invoice"] in text
        assert t.printed["total"].replace("\u00a0", " ") in text
        assert any(
            w in text
            for w in (
                "Gutschrift",
                "Rechnungskorrektur",
                "Note de crédit",
                "Avoir",
                "Nota di credito",
                "Credit",
            )
        )
        assert t.to_json()["total"].startswith("-")


def test_reminder_points_at_the_original_invoice() -> None:
    for seed in range(4):
        doc = reminder(seed)
        t = doc.truth
        assert t.doc_type == "reminder" and t.vat == []
        assert t.total == t.extra["original_total"] + t.extra["fee"]
        assert t.issue_date > t.extra["original_issue_date"]
        text = pdf_text(doc.data)
        assert t.invoice_number in text and t.printed["total"].replace("\u00a0", " ") in text
        if t.has_qr:
            fields = decode_qr(doc.data).split("\r\n")
            assert Decimal(fields[18]) == t.total


def test_customer_invoice_is_issued_by_the_client() -> None:
    client = random_client_company(4)
    doc = customer_invoice(4, supplier=client)
    assert doc.truth.doc_type == "customer_invoice"
    assert doc.truth.supplier_name == client.name
    assert client.name in pdf_text(doc.data)


# --- receipts, statements, payslips, letters ----------------------------------


def test_receipts_are_narrow_slips_with_cash_rounding() -> None:
    for seed in range(10):
        doc = receipt(seed)
        t = doc.truth
        with pdfplumber.open(io.BytesIO(doc.data)) as pdf:
            width_mm = pdf.pages[0].width / 72 * 25.4
            text = pdf.pages[0].extract_text()
        assert abs(width_mm - 80) < 0.5
        assert t.doc_type == "receipt" and t.recipient_name is None and not t.has_qr
        assert t.printed["total"] in text and t.supplier_name in text
        if t.extra["payment"] == "cash":
            assert t.total % Decimal("0.05") == 0
        if t.vat:
            vat_ok(t)
            assert "MWST" in text or "TVA" in text or "IVA" in text


def test_multi_receipt_pdf_has_parts_with_page_ranges() -> None:
    doc = multi_receipt_pdf(3, n=4)
    assert len(doc.parts) == 4 and doc.page_ranges == [(1, 1), (2, 2), (3, 3), (4, 4)]
    assert doc.truth.parts == doc.page_ranges and doc.truth.pages == 4
    with pdfplumber.open(io.BytesIO(doc.data)) as pdf:
        assert len(pdf.pages) == 4
        for page, part in zip(pdf.pages, doc.parts, strict=True):
            assert part.printed["total"] in page.extract_text()


def test_invoice_with_letter() -> None:
    doc = invoice_with_letter(9)
    invoice, other = doc.parts
    assert invoice.doc_type == "supplier_invoice" and other.doc_type == "other"
    assert doc.truth.pages == doc.page_ranges[-1][1] and len(doc.page_ranges) == 2
    assert invoice.supplier_name != other.supplier_name


def test_bank_statement_balances() -> None:
    doc = bank_statement(5, lines=30)
    t = doc.truth
    txs = t.extra["transactions"]
    assert t.total == t.extra["closing_balance"]
    assert t.extra["opening_balance"] + sum(tx["amount"] for tx in txs) == t.total
    assert t.doc_type == "bank_statement" and t.vat == []
    text = pdf_text(doc.data)
    assert t.printed["total"].replace("\u00a0", " ") in text
    assert t.extra["account_iban"] in squash(text)
    assert bank_statement(5, total=Decimal("-150.25")).truth.total == Decimal("-150.25")


def test_payslip_adds_up() -> None:
    for seed in range(5):
        t = payslip(seed).truth
        deductions = sum(d["amount"] for d in t.extra["deductions"])
        assert t.extra["gross"] - deductions == t.extra["net"]
        assert t.extra["net"] + t.extra["expenses"] == t.total
        assert ssn.is_valid(t.extra["ahv_number"]) and t.doc_type == "payslip"


@pytest.mark.parametrize("kind", ["letter", "offer", "order_confirmation", "delivery_note"])
def test_letters_are_not_invoices(kind: str) -> None:
    doc = letter(3, kind=kind)
    t = doc.truth
    assert t.doc_type == "other" and t.total is None and t.invoice_number is None
    text = pdf_text(doc.data)
    for word in (
        "zahlbar",
        "Zahlbar",
        "payable",
        "Payable",
        "pagabile",
        "Pagabile",
        "Zahlteil",
        "Section paiement",
    ):
        assert word not in text
    assert t.printed["title"] in text


# --- e-invoices ---------------------------------------------------------------


def test_facturx_embeds_consistent_xml() -> None:
    doc = facturx_invoice(2)
    name, xml = facturx.get_facturx_xml_from_pdf(doc.data, check_xsd=True)
    assert name == "factur-x.xml"
    root = etree.fromstring(xml)
    ns = {
        "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
        "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    }
    t = doc.truth
    assert root.findtext("rsm:ExchangedDocument/ram:ID", namespaces=ns) == t.invoice_number
    grand = root.findtext(".//ram:GrandTotalAmount", namespaces=ns)
    assert Decimal(grand) == t.total
    assert root.findtext(".//ram:IBANID", namespaces=ns) == t.supplier_iban
    assert t.invoice_number in pdf_text(doc.data)
    # PDF/A-3 essentials: output intent, XMP metadata, every font embedded.
    reader = PdfReader(io.BytesIO(doc.data))
    catalog = reader.trailer["/Root"]
    assert "/OutputIntents" in catalog and "/Metadata" in catalog
    assert b"pdfaid:part" in catalog["/Metadata"].get_object().get_data()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            if font["/Subtype"] == "/Type0":
                font = font["/DescendantFonts"][0].get_object()
            descriptor = font["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))


def test_xrechnung_is_valid_ubl() -> None:
    doc = xrechnung_xml(4)
    assert doc.media_type == "application/xml" and doc.copy == "xml"
    assert facturx.xml_check_xsd(doc.data, flavor="ubl-2.1-invoice")
    root = etree.fromstring(doc.data)
    cbc = "{urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2}"
    assert root.findtext(f"{cbc}ID") == doc.truth.invoice_number
    assert Decimal(root.findtext(f".//{cbc}PayableAmount")) == doc.truth.total


# --- degraded copies ----------------------------------------------------------


def test_scan_is_image_only_and_keeps_the_truth() -> None:
    doc = supplier_invoice(31, lines=30, with_qr=True)
    copy = scan(doc, 5, dpi=150)
    assert copy.copy == "scan" and copy.media_type == "application/pdf"
    assert copy.truth.invoice_number == doc.truth.invoice_number
    assert copy.truth is not doc.truth and "scan" in copy.truth.extra
    with pdfplumber.open(io.BytesIO(copy.data)) as pdf:
        assert len(pdf.pages) == doc.truth.pages
        for page in pdf.pages:
            assert page.chars == [] and len(page.images) == 1
    assert scan(doc, 5, dpi=150).data == copy.data
    # The QR-bill must survive a decent scan.
    single = supplier_invoice(32, with_qr=True, lines=2)
    text = decode_qr(scan(single, 6, dpi=200, rotation=0.7, noise=4).data)
    assert text == single.truth.extra["qr_payload"]


def test_scan_as_png() -> None:
    doc = receipt(2)
    png = scan(doc, 1, fmt="png")
    assert png.media_type == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"


def test_photo_is_a_plausible_jpeg() -> None:
    doc = supplier_invoice(12, with_qr=False)
    shot = photo(doc, 3, orientation=6)
    assert shot.media_type == "image/jpeg" and shot.data[:3] == b"\xff\xd8\xff"
    assert 100_000 < len(shot.data) < 4_000_000
    image = Image.open(io.BytesIO(shot.data))
    assert image.getexif()[0x0112] == 6
    assert image.width > image.height  # stored rotated ...
    upright = ImageOps.exif_transpose(image)
    assert upright.height > upright.width  # ... and upright once the tag is applied
    assert 1800 <= upright.height <= 2700
    assert shot.truth.total == doc.truth.total and shot.copy == "photo"
    assert photo(doc, 3, orientation=6).data == shot.data


# --- corpus -------------------------------------------------------------------


def test_corpus_is_reproducible_and_follows_the_mix() -> None:
    mix = {"receipt": 1, "supplier_invoice": 1, "letter": 1}
    docs = corpus(9, seed=4, mix=mix, copies={"text": 1})
    again = corpus(9, seed=4, mix=mix, copies={"text": 1})
    assert [d.data for d in docs] == [d.data for d in again]
    assert {d.truth.doc_type for d in docs} <= {"receipt", "supplier_invoice", "other"}
    assert all(d.copy == "text" for d in docs)
    with pytest.raises(ValueError, match="unknown"):
        corpus(1, mix={"nonsense": 1})


def test_default_corpus_mixes_kinds_and_copies() -> None:
    docs = corpus(8, seed=2, copies={"text": 3, "scan": 1})
    assert len({d.truth.doc_type for d in docs}) >= 2
    assert all(d.copy in ("text", "scan", "xml") for d in docs)


# --- OCR ----------------------------------------------------------------------


@pytest.mark.ocr
@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract not installed")
def test_tesseract_reads_the_total_from_a_300_dpi_scan() -> None:
    doc = receipt(3, language="de", layout=1)
    copy = scan(doc, 4, dpi=300, rotation=0.8, blur=0.6, noise=5)
    pdf = pdfium.PdfDocument(copy.data)
    image = pdf[0].render(scale=300 / 72).to_pil()
    pdf.close()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "page.png")
        image.save(path)
        out = subprocess.run(
            ["tesseract", path, "-", "-l", "deu", "--psm", "6"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        ).stdout
    assert doc.truth.printed["total"] in out
