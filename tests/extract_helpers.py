"""Small hand-made documents for the reading tests (independent of tests.docgen)."""

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from typing import Any

from qrbill import QRBill
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from domain.enums import DocType, TextSource
from domain.settings import get_settings
from extractors.config import ReaderConfig
from extractors.field_set import Doc, FieldSet
from extractors.layout import Line, group_lines
from extractors.readers import Readers
from extractors.reading import Classification, PageText, Reading, Word
from extractors.text_amounts import money as read_money

QR_IBAN = "CH44 3199 9123 0008 8901 2"
IBAN = "CH93 0076 2011 6238 5295 7"
QRR = "210000000003139471430009017"


def reader_config(**changes: Any) -> ReaderConfig:
    """A test's reader configuration: the settings' limits, OCR cached in memory only (a
    fresh cache: every page is OCR'd), and `changes` (field=value) on top."""
    return ReaderConfig.from_settings(get_settings()).replace(**{"ocr_cache_dir": None, **changes})


@contextmanager
def own_readers(**changes: Any) -> Iterator[Readers]:
    """Readers of a test's own, made from `reader_config(**changes)`; closed after."""
    readers = Readers(reader_config(**changes))
    try:
        yield readers
    finally:
        readers.close()


def qr_payload(
    *,
    account: str = QR_IBAN,
    amount: str | None = "1949.75",
    reference: str | None = QRR,
    billing: str = "//S1/10/10201409/11/200701/20/140.000-53/30/106017086/31/200630/32/7.7/40/0:30",
    debtor: bool = True,
    currency: str = "CHF",
) -> str:
    bill = QRBill(
        account=account,
        creditor={
            "name": "Robert Schneider AG",
            "street": "Rue du Lac",
            "house_num": "1268",
            "pcode": "2501",
            "city": "Biel",
        },
        amount=amount,
        currency=currency,
        reference_number=reference,
        debtor={
            "name": "Pia-Maria Rutschmann-Schnyder",
            "street": "Grosse Marktgasse",
            "house_num": "28",
            "pcode": "9400",
            "city": "Rorschach",
        }
        if debtor
        else None,
        additional_information="Auftrag vom 15.06.2020",
        billing_information=billing,
    )
    return bill.qr_data()


def draw_qr(c: canvas.Canvas, payload: str, x: float, y: float, size: float = 46 * mm) -> None:
    widget = QrCodeWidget(payload, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    d = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    d.add(widget)
    renderPDF.draw(d, c, x, y)


def invoice_pdf(
    lines: list[str] | None = None,
    *,
    qr: str | None = None,
    pages: int = 1,
    encrypt: object | None = None,
) -> bytes:
    """A plain German invoice; `qr` adds a payment part with that payload."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, encrypt=encrypt)
    _w, h = A4
    body = lines or [
        "Robert Schneider AG",
        "Rue du Lac 1268, 2501 Biel",
        "UID CHE-106.017.086 MWST",
        "",
        "Rechnung",
        "Rechnung Nr. 10201409",
        "Datum: 01.07.2020",
        "Total exkl. MWST  CHF 1'810.35",
        "MWST 7.7% auf CHF 1'810.35  CHF 139.40",
        "Total CHF 1'949.75",
        "Zahlbar innert 30 Tagen",
    ]
    for p in range(pages):
        y = h - 25 * mm
        c.setFont("Helvetica", 10)
        for line in body:
            c.drawString(20 * mm, y, line)
            y -= 6 * mm
        if qr and p == pages - 1:
            c.setFont("Helvetica-Bold", 11)
            c.drawString(5 * mm, 95 * mm, "Empfangsschein")
            c.drawString(67 * mm, 95 * mm, "Zahlteil")
            draw_qr(c, qr, 67 * mm, 42 * mm)
            c.setFont("Helvetica", 8)
            c.drawString(118 * mm, 95 * mm, "Konto / Zahlbar an")
            c.drawString(118 * mm, 91 * mm, "CH44 3199 9123 0008 8901 2")
        c.showPage()
    c.save()
    return buf.getvalue()


def money(text: str) -> Decimal:
    return Decimal(text)


# --- bad input ---------------------------------------------------------------------------


def _pdf(objects: list[bytes]) -> bytes:
    """A PDF from numbered object bodies (1-based), with a correct xref table."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def zero_page_pdf() -> bytes:
    return _pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


def _stream(data: bytes, compress: bool = True) -> bytes:
    import zlib

    if compress:
        data = zlib.compress(data, 9)
        return (
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data) + data + b"\nendstream"
        )
    return b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"


def heavy_content_pdf(operations: int = 3_000_000) -> bytes:
    """One page with real text and millions of path operators: pdfminer crawls through it."""
    text = b"BT /F1 12 Tf 72 720 Td (Rechnung Nr. 4711 Total CHF 100.00 Muster AG Zuerich) Tj ET\n"
    content = text + b"0 0 m 1 1 l S\n" * operations
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> >> >>",
            _stream(content),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
    )


def circular_pages_pdf(circular_tree: bool = True) -> bytes:
    """A page tree whose /Kids points back at itself, and a form XObject drawing itself."""
    text = b"BT /F1 12 Tf 72 720 Td (Rechnung Nr. 4711 Total CHF 100.00 Muster AG Zuerich) Tj ET\n"
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R 2 0 R] /Count 2 /Parent 2 0 R >>"
            if circular_tree
            else b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
            b"/Resources << /Font << /F1 5 0 R >> /XObject << /X 6 0 R >> >> >>",
            _stream(text + b"/X Do\n", compress=False),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
            b"<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] "
            b"/Resources << /XObject << /X 6 0 R >> >> /Length 6 >>\nstream\n/X Do\nendstream",
        ]
    )


def huge_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A PNG header that claims width x height pixels, with a token of (broken) data."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1000)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def encrypted_pdf(user_password: str, owner_password: str = "owner") -> bytes:  # noqa: S107
    from reportlab.lib.pdfencrypt import StandardEncryption

    enc = StandardEncryption(user_password, owner_password, canPrint=0, canModify=0)
    return invoice_pdf(encrypt=enc)


def cii_xml(number: str = "FX-2025-001", total: str = "1081.00", type_code: str = "380") -> bytes:
    """A minimal EN 16931 CII invoice (what Factur-X embeds)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
 xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
 <rsm:ExchangedDocumentContext><ram:GuidelineSpecifiedDocumentContextParameter>
  <ram:ID>urn:cen.eu:en16931:2017</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
 </rsm:ExchangedDocumentContext>
 <rsm:ExchangedDocument><ram:ID>{number}</ram:ID><ram:TypeCode>{type_code}</ram:TypeCode>
  <ram:IssueDateTime><udt:DateTimeString format="102">20250310</udt:DateTimeString>
   </ram:IssueDateTime>
 </rsm:ExchangedDocument>
 <rsm:SupplyChainTradeTransaction>
  <ram:ApplicableHeaderTradeAgreement>
   <ram:SellerTradeParty><ram:Name>XML Lieferant AG</ram:Name>
    <ram:PostalTradeAddress><ram:PostcodeCode>8001</ram:PostcodeCode>
     <ram:LineOne>Bahnhofstrasse 1</ram:LineOne>
     <ram:CityName>Zürich</ram:CityName><ram:CountryID>CH</ram:CountryID></ram:PostalTradeAddress>
    <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">CHE-106.017.086 MWST</ram:ID>
     </ram:SpecifiedTaxRegistration>
   </ram:SellerTradeParty>
   <ram:BuyerTradeParty><ram:Name>Muster Bau AG</ram:Name>
    <ram:PostalTradeAddress><ram:PostcodeCode>3000</ram:PostcodeCode>
     <ram:CityName>Bern</ram:CityName>
     <ram:CountryID>CH</ram:CountryID></ram:PostalTradeAddress></ram:BuyerTradeParty>
  </ram:ApplicableHeaderTradeAgreement>
  <ram:ApplicableHeaderTradeDelivery/>
  <ram:ApplicableHeaderTradeSettlement>
   <ram:InvoiceCurrencyCode>CHF</ram:InvoiceCurrencyCode>
   <ram:SpecifiedTradeSettlementPaymentMeans><ram:TypeCode>58</ram:TypeCode>
    <ram:PayeePartyCreditorFinancialAccount><ram:IBANID>CH9300762011623852957</ram:IBANID>
    </ram:PayeePartyCreditorFinancialAccount></ram:SpecifiedTradeSettlementPaymentMeans>
   <ram:ApplicableTradeTax><ram:CalculatedAmount>81.00</ram:CalculatedAmount>
    <ram:TypeCode>VAT</ram:TypeCode>
    <ram:BasisAmount>1000.00</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
    <ram:RateApplicablePercent>8.1</ram:RateApplicablePercent></ram:ApplicableTradeTax>
   <ram:SpecifiedTradePaymentTerms><ram:DueDateDateTime>
    <udt:DateTimeString format="102">20250409</udt:DateTimeString>
    </ram:DueDateDateTime></ram:SpecifiedTradePaymentTerms>
   <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    <ram:LineTotalAmount>1000.00</ram:LineTotalAmount>
     <ram:TaxBasisTotalAmount>1000.00</ram:TaxBasisTotalAmount>
    <ram:TaxTotalAmount currencyID="CHF">81.00</ram:TaxTotalAmount>
     <ram:GrandTotalAmount>{total}</ram:GrandTotalAmount>
    <ram:DuePayableAmount>{total}</ram:DuePayableAmount>
   </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
  </ram:ApplicableHeaderTradeSettlement>
 </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>""".encode()


def facturx_pdf() -> bytes:
    """The plain invoice PDF (page says 1'949.75) with a Factur-X XML saying 1081.00."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(invoice_pdf())
    att = doc.new_attachment("factur-x.xml")
    att.set_data(cii_xml())
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


# --- images for the OCR tests (small pages: each OCR run costs about a second) -----------


SMALL_LINES = [
    "Muster Elektro AG",
    "Rechnung Nr. 48213",
    "Datum: 12.03.2025",
    "Total CHF 1'081.00",
]


def small_page_image(lines: list[str] | None = None, dpi: int = 300):
    """A5-wide strip of large text, rendered like a scan (grayscale PIL image)."""
    import pypdfium2 as pdfium

    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(148 * mm, 70 * mm))
    y = 58 * mm
    c.setFont("Helvetica", 13)
    for line in lines or SMALL_LINES:
        c.drawString(12 * mm, y, line)
        y -= 12 * mm
    c.showPage()
    c.save()
    page = pdfium.PdfDocument(buf.getvalue())[0]
    return page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L")


def image_pdf(image, page_size_mm: tuple[float, float] = (148, 70)) -> bytes:
    """An image-only PDF (what a scanner makes): the JPEG drawn over the whole page."""
    from reportlab.lib.utils import ImageReader

    jpeg = io.BytesIO()
    image.save(jpeg, "JPEG", quality=85)
    jpeg.seek(0)
    buf = io.BytesIO()
    w, h = page_size_mm[0] * mm, page_size_mm[1] * mm
    c = canvas.Canvas(buf, pagesize=(w, h))
    c.drawImage(ImageReader(jpeg), 0, 0, w, h)
    c.showPage()
    c.save()
    return buf.getvalue()


def exif_rotated_jpeg(image) -> bytes:
    """The picture stored sideways with EXIF orientation 6, as phones do."""
    from PIL import Image

    sideways = image.transpose(Image.Transpose.ROTATE_90)  # counter-clockwise
    exif = Image.Exif()
    exif[0x0112] = 6  # viewer must turn it 90 degrees clockwise
    out = io.BytesIO()
    sideways.save(out, "JPEG", quality=85, exif=exif.tobytes())
    return out.getvalue()


Cell = tuple[float, str] | tuple[float, str, float]


def page_reading(rows: list[tuple[float, list[Cell]]], conf: float | None = None) -> Reading:
    """A one-page reading of words at the given (top, [(x, text[, OCR confidence])]), each
    word 5 pt a letter; OCR'd when `conf` is given (every word's confidence unless its cell
    says otherwise), else a text layer. For field tests that need a layout, not a PDF."""
    words = []
    for top, cells in rows:
        for cell in cells:
            x, text, *rest = cell
            word_conf = rest[0] if rest else conf
            for token in text.split():
                width = 5.0 * len(token)
                words.append(
                    Word(
                        text=token,
                        page=1,
                        x0=x,
                        top=top,
                        x1=x + width,
                        bottom=top + 9,
                        size=9,
                        conf=word_conf,
                    )
                )
                x += width + 3
    text = "\n".join(" ".join(c[1] for c in cells) for _top, cells in rows)
    source = TextSource.TEXT_LAYER if conf is None else TextSource.OCR
    page = PageText(number=1, width=595, height=842, text=text, words=words, source=source)
    return Reading(pages=[page], text_source=source, page_count=1)


def text_lines(*texts: str) -> list[Line]:
    """Lines of a text page: words one space apart, columns (two spaces) far apart."""
    words = []
    for row, text in enumerate(texts):
        x = 50.0
        for c, column in enumerate(text.split("  ")):
            if c:
                x += 40
            for token in column.split(" "):
                top = 100.0 + 14 * row
                words.append(
                    Word(
                        text=token,
                        page=1,
                        x0=x,
                        top=top,
                        x1=x + 6 * len(token),
                        bottom=top + 10,
                        size=10,
                    )
                )
                x += 6 * len(token) + 4
    return group_lines(words)


def money_of(*texts: str, doc_type: DocType = DocType.SUPPLIER_INVOICE) -> FieldSet:
    """Total, currency, net and VAT lines read from a text page of these lines."""
    lines = text_lines(*texts)
    fs = FieldSet()
    cls = Classification(doc_type=doc_type, confidence=0.9)
    read_money(fs, Doc([], lines, {1: lines}), lines, date(2025, 3, 1), cls)
    return fs
