"""Every e-invoice flavour is read exactly, embedded in a PDF or as a bare file.

The XML files are hand-made for fiduflow (`tests/data/einvoice/SOURCES.md` says which
specification each follows): ZUGFeRD 1.0 (BASIC, COMFORT, EXTENDED), ZUGFeRD 2.x /
Factur-X (MINIMUM, BASIC WL, BASIC, EN 16931, EXTENDED), XRechnung CII and UBL, a UBL
CreditNote, PEPPOL BIS Billing 3 and an Order-X purchase order; each is valid against its
official XSD (checked below). The PDFs are made here: a page drawn with reportlab, the XML
attached under the name its standard prescribes. The expected values are the ones written
into the files. They go through what `fiduflow extract --json` runs: `extractors.extract`,
then `public_json()`.
"""

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import facturx
import pypdfium2 as pdfium
import pytest
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from domain.enums import DocType, MediaType, TextSource
from domain.filetype import sniff
from extractors import classify, einvoice, extract, extract_fields, read
from extractors.reading import Reading
from tests.extract_helpers import invoice_pdf

DATA = Path(__file__).parent / "data" / "einvoice"
# Fields an e-invoice states exactly: they must say so (source xml, confidence 1.0).
EXACT_FIELDS = ("supplier_name", "invoice_number", "issue_date", "currency", "total")


# --- the PDFs, made from the XML files ----------------------------------------------------


@dataclass(frozen=True)
class Pdf:
    xml: str  # the file in DATA it carries
    page: tuple[str, ...]  # the visible page, line by line
    # The attachment's name; None: `facturx.generate_from_binary` embeds it as a PDF/A-3
    # with `factur-x.xml` or `order-x.xml`, metadata and XMP, as the standard says.
    attach_as: str | None = None
    others: tuple[tuple[str, bytes], ...] = ()  # attachments beside the e-invoice


# An XML beside the invoice that is no invoice (ZUGFeRD 1.0 allows additional data files).
DELIVERY_NOTE = b"""<?xml version="1.0" encoding="UTF-8"?>
<Lieferschein xmlns="urn:fiduflow:test:lieferschein">
  <Nummer>LS-3391</Nummer>
  <InvoiceReference>NE-R-2022-3391</InvoiceReference>
  <Kolli>4</Kolli>
</Lieferschein>
"""

PDFS = {
    "zugferd1_basic.pdf": Pdf(
        "zugferd1_basic.xml",
        (
            "Holzwerkstatt Brandl GmbH · Innstraße 12 · 94032 Passau",
            "USt-IdNr. DE298104736",
            "Gasthof Seewirt OHG, Seestraße 3, 83209 Prien am Chiemsee",
            "RECHNUNG",
            "Rechnungsnummer: HB-2023-0147",
            "Rechnungsdatum: 18.09.2023   Lieferdatum: 15.09.2023",
            "4 Stück Eichentisch massiv, geölt, 180 x 90 cm, je 310,00 EUR   1.240,00 EUR",
            "Nettobetrag   1.240,00 EUR",
            "zuzüglich 19 % Umsatzsteuer   235,60 EUR",
            "Rechnungsbetrag   1.475,60 EUR",
            "Zahlbar innerhalb von 14 Tagen netto.",
        ),
        attach_as="ZUGFeRD-invoice.xml",
    ),
    "zugferd1_extended_with_additional_xml.pdf": Pdf(
        "zugferd1_extended.xml",
        (
            "Nordlicht Elektrotechnik GmbH · Hafenstraße 31 · 24103 Kiel",
            "USt-IdNr. DE281736450",
            "Fischkonserven Lütt GmbH, Am Kai 5, 24340 Eckernförde",
            "WARENRECHNUNG",
            "Beleg-Nr.: NE-R-2022-3391   Beleg-Datum: 30.06.2022",
            "Ihre Bestellung B-77120 vom 01.06.2022, Lieferschein LS-3391 vom 28.06.2022",
            "Montage der Beleuchtung im Lager Halle 2.",
            "8 LED-Hallenleuchte 150 W   je 80,00   640,00   19 %",
            "10 Fachbuch Lichtplanung im Gewerbebau   je 5,50   55,00   7 %",
            "Summe netto 695,00 EUR   Umsatzsteuer 125,45 EUR",
            "Rechnungsbetrag 820,45 EUR",
            "Bei Zahlung innerhalb von 8 Tagen gewähren wir 2 % Skonto.",
        ),
        attach_as="ZUGFeRD-invoice.xml",
        others=(("lieferschein.xml", DELIVERY_NOTE),),
    ),
    "facturx_minimum.pdf": Pdf(
        "facturx_minimum.xml",
        (
            "Atelier Lumière SARL",
            "SIREN 812 345 676 - N° TVA FR19812345676",
            "FACTURE N° AL-2024-0031",
            "Date : 08/04/2024",
            "Client : Librairie du Vieux Port",
            "Votre commande : BC-0412",
            "Restauration de trois lampes de bureau en laiton   220,00 €",
            "Total HT   220,00 €",
            "TVA 20 %   44,00 €",
            "Total TTC   264,00 €",
            "Date d'échéance : 08/05/2024",
        ),
    ),
    "facturx_basicwl_credit_typed_380.pdf": Pdf(
        "facturx_basicwl_credit_typed_380.xml",
        (
            "Fromagerie des Aravis SAS",
            "12 route du Col, 74220 La Clusaz - N° TVA FR62523188464",
            "Client : Épicerie Fine Berthier, 4 place Saint-Léger, 73000 Chambéry",
            "AVOIR N° AV-2023-0012",
            "Date : 05/10/2023",
            "Avoir pour marchandise retournée, facture F-2023-0871 du 12/09/2023",
            "Tomme de Savoie   -120,00 €   TVA 5,5 %",
            "Plateau à fromage en noyer   -45,00 €   TVA 20 %",
            "Total HT   -165,00 €",
            "TVA   -15,60 €",
            "Total TTC   -180,60 €",
        ),
    ),
    "zugferd2_en16931.pdf": Pdf(
        "zugferd2_en16931.xml",
        (
            "Bergmann Gartenbau GmbH · Gärtnerweg 14 · 79098 Freiburg im Breisgau",
            "USt-IdNr. DE287459130",
            "Wohnbau Dreisam eG, Schwarzwaldstraße 50, 79102 Freiburg im Breisgau",
            "Rechnung Nr. BG-2025-0042",
            "Rechnungsdatum: 03.03.2025   Leistungsdatum: 28.02.2025",
            "3 Obstbaum Hochstamm, Apfel Boskoop, je 60,00   180,00 EUR   7 %",
            "8 Std. Pflanzarbeiten Gärtner, je 52,50   420,00 EUR   19 %",
            "Nettobetrag 600,00 EUR   Umsatzsteuer 92,40 EUR",
            "Gesamtbetrag 692,40 EUR",
            "Zahlbar innerhalb 30 Tagen netto bis 02.04.2025, 2% Skonto innerhalb 10 Tagen",
        ),
    ),
    "zugferd2_extended_foreign_currency.pdf": Pdf(
        "zugferd2_extended_foreign_currency.xml",
        (
            "Weber Präzisionsmaschinen GmbH · Industriestraße 22 · 70565 Stuttgart · Germany",
            "VAT ID DE249301857",
            "Lakeside Robotics GmbH, Landsberger Straße 110, 80339 München",
            "INVOICE",
            "Invoice number: WP-2025-1185   Invoice date: 15 October 2025",
            "Overhaul of CNC milling spindle, type HS-40   USD 2,450.00",
            "VAT 19 %   USD 465.50 (EUR 400.33 at the rate of 0.86)",
            "Invoice total   USD 2,915.50",
            "Less the advance payment received on 1 October 2025   USD 1,000.00",
            "Amount due   USD 1,915.50",
            "Net 30 days: payable without deduction by 14 November 2025.",
            "2% discount if paid by 25 October 2025.",
            "Please transfer to IBAN DE34 2004 1177 0002 3690 15.",
        ),
    ),
    "zugferd20_extended.pdf": Pdf(
        "zugferd20_extended.xml",
        (
            "Ostwind Fahrzeugleasing GmbH · Alsterdorfer Markt 6 · 22297 Hamburg",
            "Pflegedienst Elbufer GmbH, Große Elbstraße 140, 22765 Hamburg",
            "Rechnung",
            "Rechnungsnummer: 2025-LR-004417   Hamburg, den 01.05.2025",
            "Leasingvertrag LV-88120, Fahrzeug HH-OW 4417",
            "Leasingrate vom 01.05.2025 bis 31.05.2025   512,61 EUR",
            "19 % MwSt.   97,40 EUR",
            "Summe gesamt   610,01 EUR",
            "Rechnungsbetrag zahlbar ohne Abzug sofort nach Erhalt der Rechnung.",
            "Wird nicht innerhalb von 30 Tagen nach Fälligkeit gezahlt, fallen Verzugszinsen an.",
            "IBAN DE60 6905 0150 0004 3188 22",
        ),
        attach_as="zugferd-invoice.xml",
    ),
    "xrechnung_cii_in_pdf.pdf": Pdf(
        "xrechnung_cii_in_pdf.xml",
        (
            "Schreinerei Holzapfel e.K. · Mainkai 4 · 97070 Würzburg",
            "USt-IdNr. DE317042596",
            "Staatliches Schulamt Mainfranken, Zeller Straße 9, 97082 Würzburg",
            "Leitweg-ID 09663000-07711-28",
            "Rechnung SH-2024-0815 vom 19.08.2024",
            "Einbauschrank Buche nach Maß, Montage inklusive   900,00 EUR   19 %",
            "2 Ratgeber Holzpflege (Buch), je 20,00   40,00 EUR   7 %",
            "Netto 940,00 EUR   Umsatzsteuer 173,80 EUR   Brutto 1.113,80 EUR",
            "Zahlbar innerhalb von 21 Tagen ohne Abzug.",
        ),
        attach_as="xrechnung.xml",
    ),
    "orderx_comfort_not_an_invoice.pdf": Pdf(
        "orderx_comfort.xml",
        (
            "Hotel Seeblick Konstanz GmbH · Seestraße 21 · 78462 Konstanz",
            "An: Kaffeerösterei Albrecht KG, Speicherweg 7, 28195 Bremen",
            "BESTELLUNG",
            "Bestellnummer: BST-2025-0219",
            "Bestelldatum: 19.02.2025",
            "Gewünschter Liefertermin: 05.03.2025",
            "20 kg Röstkaffee Hausmischung, ganze Bohne, je 25,00 EUR   500,00 EUR",
            "Bestellwert netto 500,00 EUR",
            "Wir bitten um eine Auftragsbestätigung.",
        ),
    ),
}


def _page(lines: Sequence[str]) -> bytes:
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4)
    y = A4[1] - 25 * mm
    c.setFont("Helvetica", 10)
    for line in lines:
        c.drawString(20 * mm, y, line)
        y -= 6 * mm
    c.showPage()
    c.save()
    return buf.getvalue()


def _attach(pdf: bytes, files: Sequence[tuple[str, bytes]]) -> bytes:
    doc = pdfium.PdfDocument(pdf)
    for name, data in files:
        doc.new_attachment(name).set_data(data)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


@cache
def _bytes(name: str) -> bytes:
    """A file of DATA, or a PDF made from one."""
    if not name.endswith(".pdf"):
        return (DATA / name).read_bytes()
    spec = PDFS[name]
    xml = (DATA / spec.xml).read_bytes()
    if spec.attach_as is None:
        return facturx.generate_from_binary(_page(spec.page), xml, check_xsd=True)
    return _attach(_page(spec.page), [*spec.others, (spec.attach_as, xml)])


# --- what each file says --------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    file: str
    flavor: str  # the XML's syntax: cii | zugferd1 | ubl-invoice | ubl-creditnote
    doc_type: str
    supplier_name: str
    invoice_number: str
    issue_date: str
    currency: str
    total: str  # gross (BT-112), negative for credit notes
    vat: list[dict[str, str]]  # BG-23, signed like the total
    iban: str | None  # BT-84, compact
    due_date: str | None  # BT-9 as the XML states it
    # No BT-9: the XML's issue date plus the net term of its own payment terms.
    derived_due: str | None = None
    language: str = "de"
    uid: str | None = None  # a Swiss seller's UID
    reference: str | None = None  # BT-83 when it is a QR or creditor reference


def _vat(*lines: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"rate": r, "base": b, "amount": a} for r, b, a in lines]


CASES = [
    # ZUGFeRD 1.0 BASIC, bare and in a PDF: "Zahlbar innerhalb von 14 Tagen netto".
    *(
        Expected(
            name,
            "zugferd1",
            "supplier_invoice",
            "Holzwerkstatt Brandl GmbH",
            "HB-2023-0147",
            "2023-09-18",
            "EUR",
            "1475.60",
            _vat(("19", "1240.00", "235.60")),
            iban=None,
            due_date=None,
            derived_due="2023-10-02",
        )
        for name in ("zugferd1_basic.xml", "zugferd1_basic.pdf")
    ),
    # ZUGFeRD 1.0 COMFORT, bare: BT-9 in the terms, an IBAN, two VAT rates.
    Expected(
        "zugferd1_comfort.xml",
        "zugferd1",
        "supplier_invoice",
        "Kaffeerösterei Albrecht KG",
        "KA-58213",
        "2024-02-12",
        "EUR",
        "437.20",
        _vat(("7", "312.50", "21.88"), ("19", "86.40", "16.42")),
        iban="DE72250105000011427300",
        due_date="2024-03-13",
    ),
    # ZUGFeRD 1.0 EXTENDED behind another XML attachment; only a cash discount term.
    Expected(
        "zugferd1_extended_with_additional_xml.pdf",
        "zugferd1",
        "supplier_invoice",
        "Nordlicht Elektrotechnik GmbH",
        "NE-R-2022-3391",
        "2022-06-30",
        "EUR",
        "820.45",
        _vat(("19", "640.00", "121.60"), ("7", "55.00", "3.85")),
        iban=None,
        due_date=None,
    ),
    # Factur-X MINIMUM: no VAT breakdown, no IBAN, no due date in the XML.
    Expected(
        "facturx_minimum.pdf",
        "cii",
        "supplier_invoice",
        "Atelier Lumière SARL",
        "AL-2024-0031",
        "2024-04-08",
        "EUR",
        "264.00",
        [],
        iban=None,
        due_date=None,
        language="fr",
    ),
    # Factur-X BASIC WL: an "avoir" typed 380 with negative amounts is a credit note.
    Expected(
        "facturx_basicwl_credit_typed_380.pdf",
        "cii",
        "credit_note",
        "Fromagerie des Aravis SAS",
        "AV-2023-0012",
        "2023-10-05",
        "EUR",
        "-180.60",
        _vat(("20", "-45.00", "-9.00"), ("5.5", "-120.00", "-6.60")),
        iban=None,
        due_date="2023-10-05",
        language="fr",
    ),
    # Factur-X BASIC, bare: BT-9 (07.12.) wins over the terms' "bis 17.12.2024".
    Expected(
        "facturx_basic.xml",
        "cii",
        "supplier_invoice",
        "Druckerei Wendt GmbH",
        "DW-24-1107",
        "2024-11-07",
        "EUR",
        "416.50",
        _vat(("19", "350.00", "66.50")),
        iban=None,
        due_date="2024-12-07",
    ),
    # ZUGFeRD 2.x EN 16931: no BT-9; "Zahlbar innerhalb 30 Tagen netto bis 02.04.2025, 2%
    # Skonto innerhalb 10 Tagen" -> 30 days, not the discount's 10.
    Expected(
        "zugferd2_en16931.pdf",
        "cii",
        "supplier_invoice",
        "Bergmann Gartenbau GmbH",
        "BG-2025-0042",
        "2025-03-03",
        "EUR",
        "692.40",
        _vat(("7", "180.00", "12.60"), ("19", "420.00", "79.80")),
        iban=None,
        due_date=None,
        derived_due="2025-04-02",
    ),
    # EXTENDED in USD with EUR as tax currency (the VAT total is stated in both, EUR
    # first), 1000 prepaid (due payable 1915.50), two terms (net until 14.11. stated first,
    # discount until 25.10.): the gross total and the net due date; declared language en.
    Expected(
        "zugferd2_extended_foreign_currency.pdf",
        "cii",
        "supplier_invoice",
        "Weber Präzisionsmaschinen GmbH",
        "WP-2025-1185",
        "2025-10-15",
        "USD",
        "2915.50",
        _vat(("19", "2450.00", "465.50")),
        iban="DE34200411770002369015",
        due_date="2025-11-14",
        language="en",
    ),
    # ZUGFeRD 2.0 EXTENDED, attachment `zugferd-invoice.xml`: "zahlbar ... sofort".
    Expected(
        "zugferd20_extended.pdf",
        "cii",
        "supplier_invoice",
        "Ostwind Fahrzeugleasing GmbH",
        "2025-LR-004417",
        "2025-05-01",
        "EUR",
        "610.01",
        _vat(("19", "512.61", "97.40")),
        iban="DE60690501500004318822",
        due_date=None,
        derived_due="2025-05-01",
    ),
    # CII credit note (381) with positive amounts, a misspelt guideline URN, a wrong
    # currencyID on the gross total and a net total 1.14 off: the breakdown adds up.
    Expected(
        "cii_credit_note_381.xml",
        "cii",
        "credit_note",
        "Möbelhaus Kranich GmbH",
        "GS-2025-0093",
        "2025-01-20",
        "EUR",
        "-264.10",
        _vat(("7", "-80.00", "-5.60"), ("19", "-150.00", "-28.50")),
        iban="DE11701500120004455660",
        due_date="2025-02-03",
    ),
    # XRechnung 3.0 CII and UBL: the same invoice; "Zahlbar sofort ohne Abzug."
    Expected(
        "xrechnung_cii.xml",
        "cii",
        "supplier_invoice",
        "Ingenieurbüro Falk & Partner mbB",
        "IFP-2025-0310",
        "2025-06-12",
        "EUR",
        "2201.50",
        _vat(("19", "1850.00", "351.50")),
        iban="DE35210500170008234567",
        due_date=None,
        derived_due="2025-06-12",
    ),
    Expected(
        "xrechnung_ubl.xml",
        "ubl-invoice",
        "supplier_invoice",
        "Ingenieurbüro Falk & Partner mbB",  # BT-27 RegistrationName, not PartyName
        "IFP-2025-0310",
        "2025-06-12",
        "EUR",
        "2201.50",
        _vat(("19", "1850.00", "351.50")),
        iban="DE35210500170008234567",
        due_date=None,
        derived_due="2025-06-12",
    ),
    # XRechnung 2.3 CII embedded as `xrechnung.xml`: "innerhalb von 21 Tagen".
    Expected(
        "xrechnung_cii_in_pdf.pdf",
        "cii",
        "supplier_invoice",
        "Schreinerei Holzapfel e.K.",
        "SH-2024-0815",
        "2024-08-19",
        "EUR",
        "1113.80",
        _vat(("19", "900.00", "171.00"), ("7", "40.00", "2.80")),
        iban="DE62600501780000087123",
        due_date=None,
        derived_due="2024-09-09",
    ),
    # UBL CreditNote without CustomizationID; its second TaxTotal (no breakdown) must not
    # count twice, and BT-27 is the RegistrationName, not the trading name "Sommer Büro".
    Expected(
        "ubl_creditnote.xml",
        "ubl-creditnote",
        "credit_note",
        "Bürobedarf Sommer GmbH",
        "GS-7781",
        "2025-02-28",
        "EUR",
        "-1785.00",
        _vat(("19", "-1500.00", "-285.00")),
        iban="DE69500105260003301944",
        due_date=None,
    ),
    # PEPPOL BIS Billing 3.0 from Austria: IBAN written with spaces, amounts like "240" and
    # "11.1", cbc:DueDate.
    Expected(
        "peppol_bis3_invoice.xml",
        "ubl-invoice",
        "supplier_invoice",
        "Tiroler Bergkäserei Gruber GmbH",
        "TBG-25-0701",
        "2025-07-01",
        "EUR",
        "330.60",
        _vat(("10", "240.00", "24.00"), ("20", "55.50", "11.10")),
        iban="AT253600000012345678",
        due_date="2025-07-31",
    ),
    # A Swiss seller: CHF, 8.1 %, its UID as VAT number, a QR-IBAN and a spaced QR
    # reference as BT-83.
    Expected(
        "facturx_en16931_swiss.xml",
        "cii",
        "supplier_invoice",
        "Sägerei Gantenbein AG",
        "SG-25-0388",
        "2025-08-31",
        "CHF",
        "1297.20",
        _vat(("8.1", "1200.00", "97.20")),
        iban="CH6630808001234567890",
        due_date="2025-09-30",
        uid="CHE-123.456.788",
        reference="000000000000025083100004711",
    ),
]


@cache
def _extract(name: str) -> tuple[Reading, dict[str, Any]]:
    """read -> classify -> extract_fields, and the JSON `fiduflow extract --json` prints."""
    reading = read(_bytes(name), name)
    return reading, extract_fields(reading, classify(reading)).public_json()


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_flavour_is_read_exactly(case: Expected) -> None:
    reading, out = _extract(case.file)
    assert out["error"] is None
    assert reading.xml_invoice is not None and reading.xml_invoice.flavor == case.flavor
    assert out["text_source"] == "xml"
    got = {
        "doc_type": out["doc_type"],
        "supplier_name": out["supplier_name"],
        "invoice_number": out["invoice_number"],
        "issue_date": out["issue_date"],
        "currency": out["currency"],
        "total": out["total"],
        "vat": out["vat"] if case.vat else [],
        "language": out["language"],
        "reference": out["reference"],
        "supplier_uid": out["supplier_uid"],
    }
    assert got == {
        "doc_type": case.doc_type,
        "supplier_name": case.supplier_name,
        "invoice_number": case.invoice_number,
        "issue_date": case.issue_date,
        "currency": case.currency,
        "total": case.total,
        "vat": case.vat,
        "language": case.language,
        # Free remittance text ("KA-58213") is no structured reference.
        "reference": case.reference,
        # Only a Swiss UID goes into supplier_uid, never a German or Austrian VAT number.
        "supplier_uid": case.uid,
    }
    conf, sources = out["confidence"], out["sources"]
    assert conf["doc_type"] == 1.0
    exact = EXACT_FIELDS + (("vat",) if case.vat else ())
    exact += ("reference",) if case.reference else ()
    exact += ("supplier_uid",) if case.uid else ()
    for name in exact:
        assert (conf[name], sources[name]) == (1.0, "xml"), name
    if not case.vat:
        assert sources.get("vat") != "xml"  # MINIMUM has no breakdown: never invented


@pytest.mark.parametrize("case", CASES, ids=[c.file for c in CASES])
def test_iban_and_due_date(case: Expected) -> None:
    _, out = _extract(case.file)
    conf, sources = out["confidence"], out["sources"]
    if case.iban is not None:
        assert out["supplier_iban"] == case.iban
        assert (conf["supplier_iban"], sources["supplier_iban"]) == (1.0, "xml")
    else:
        assert sources.get("supplier_iban") != "xml"
    if case.due_date is not None:
        assert out["due_date"] == case.due_date
        assert (conf["due_date"], sources["due_date"]) == (1.0, "xml")
    elif case.derived_due is not None:
        # Computed, not stated: the right date, but it does not claim to be exact.
        assert out["due_date"] == case.derived_due
        assert sources["due_date"] == "xml" and conf["due_date"] < 1.0
    else:
        assert sources.get("due_date") != "xml"


# Each hand-made XML against the official XSD of its flavour and profile (shipped with
# the factur-x library): the reader is tested on valid documents, not on look-alikes.
SCHEMAS = {
    "zugferd1_basic.xml": ("zugferd", None),
    "zugferd1_comfort.xml": ("zugferd", None),
    "zugferd1_extended.xml": ("zugferd", None),
    "facturx_minimum.xml": ("factur-x", "minimum"),
    "facturx_basicwl_credit_typed_380.xml": ("factur-x", "basicwl"),
    "facturx_basic.xml": ("factur-x", "basic"),
    "zugferd2_en16931.xml": ("factur-x", "en16931"),
    "facturx_en16931_swiss.xml": ("factur-x", "en16931"),
    "zugferd2_extended_foreign_currency.xml": ("factur-x", "extended"),
    "zugferd20_extended.xml": ("factur-x", "extended"),
    # The CII subset EN 16931 allows: XRechnung CII adds no elements of its own, and the
    # credit note's misspelt guideline URN would defeat the library's level detection.
    "cii_credit_note_381.xml": ("factur-x", "en16931"),
    "xrechnung_cii.xml": ("factur-x", "en16931"),
    "xrechnung_cii_in_pdf.xml": ("factur-x", "en16931"),
    "xrechnung_ubl.xml": ("ubl-2.1-invoice", None),
    "peppol_bis3_invoice.xml": ("ubl-2.1-invoice", None),
    "ubl_creditnote.xml": ("ubl-2.1-creditnote", None),
    "orderx_comfort.xml": ("order-x", "comfort"),
}


def test_every_data_file_is_checked_against_a_schema() -> None:
    assert {p.name for p in DATA.glob("*.xml")} == set(SCHEMAS)


@pytest.mark.parametrize(("name", "schema"), SCHEMAS.items(), ids=list(SCHEMAS))
def test_the_handmade_files_are_schema_valid(name: str, schema: tuple[str, str | None]) -> None:
    flavor, level = schema
    assert facturx.xml_check_xsd(_bytes(name), flavor=flavor, level=level or "autodetect")


@pytest.mark.parametrize(
    ("name", "number", "total"),
    [
        ("zugferd1_basic.pdf", "HB-2023-0147", "1475.60"),
        ("cii_credit_note_381.xml", "GS-2025-0093", "-264.10"),
    ],
)
def test_the_command_line_prints_it(name: str, number: str, total: str, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import app

    path = tmp_path / name
    path.write_bytes(_bytes(name))
    result = CliRunner().invoke(app, ["extract", str(path), "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert (printed["text_source"], printed["invoice_number"], printed["total"]) == (
        "xml",
        number,
        total,
    )
    assert printed["confidence"]["total"] == 1.0 and printed["sources"]["total"] == "xml"


def test_minimum_profile_leaves_the_rest_to_the_page() -> None:
    """MINIMUM states no due date; the page prints "Date d'échéance : 08/05/2024"."""
    _, out = _extract("facturx_minimum.pdf")
    assert out["due_date"] == "2024-05-08"
    assert out["sources"]["due_date"] == "text_layer"
    assert out["confidence"]["due_date"] < 1.0


def test_a_term_the_xml_does_not_state_is_not_borrowed_from_the_page() -> None:
    """The page says "innerhalb von 30 Tagen nach Fälligkeit" about default interest; the
    XML says "zahlbar ohne Abzug sofort": due at once, not in 30 days."""
    _, out = _extract("zugferd20_extended.pdf")
    assert out["due_date"] == "2025-05-01"


def test_a_discount_period_is_no_due_date() -> None:
    """ZUGFeRD 1.0 EXTENDED: "Bei Zahlung innerhalb von 8 Tagen gewähren wir 2 % Skonto." —
    when the net term is unknown, so is the due date."""
    _, out = _extract("zugferd1_extended_with_additional_xml.pdf")
    assert out["due_date"] is None


def test_embedded_xml_is_found_by_content_whatever_its_name() -> None:
    """A PDF whose e-invoice is attached as `rechnung-4711.xml`, after another XML."""
    pdf = _attach(
        invoice_pdf(),
        [
            ("catalogue.xml", b"<?xml version='1.0'?><catalogue/>"),
            ("rechnung-4711.xml", _bytes("xrechnung_ubl.xml")),
        ],
    )
    ex = extract(pdf, "rechnung.pdf")
    assert ex.text_source is TextSource.XML
    assert (ex.invoice_number, ex.total) == ("IFP-2025-0310", Decimal("2201.50"))
    assert ex.conf("total") == 1.0


# A PDF that carries a ZUGFeRD 1.0 XML beside a Factur-X one (two invoices here, so the
# test can tell which was read): `factur-x.xml` is preferred whatever the order.
_TWO_XML_PAGE = ("Rechnung", "Die Rechnungsdaten liegen dieser PDF-Datei als XML bei.")


def test_facturx_is_preferred_to_zugferd1_in_the_same_pdf() -> None:
    pdf = _attach(
        _page(_TWO_XML_PAGE),
        [
            ("ZUGFeRD-invoice.xml", _bytes("zugferd1_comfort.xml")),
            ("factur-x.xml", _bytes("facturx_basic.xml")),
        ],
    )
    reading = read(pdf, "both.pdf")
    assert reading.xml_invoice is not None and reading.xml_invoice.flavor == "cii"
    ex = extract(pdf, "both.pdf")
    assert (ex.invoice_number, ex.total, ex.conf("total")) == (
        "DW-24-1107",
        Decimal("416.50"),
        1.0,
    )


def test_a_broken_facturx_does_not_hide_the_zugferd1_xml_beside_it() -> None:
    truncated = _bytes("facturx_basic.xml")[:1500]
    pdf = _attach(
        _page(_TWO_XML_PAGE),
        [("factur-x.xml", truncated), ("ZUGFeRD-invoice.xml", _bytes("zugferd1_comfort.xml"))],
    )
    reading = read(pdf, "both.pdf")
    assert reading.xml_invoice is not None and reading.xml_invoice.flavor == "zugferd1"
    ex = extract(pdf, "both.pdf")
    assert ex.text_source is TextSource.XML
    assert (ex.invoice_number, ex.total, ex.conf("total")) == ("KA-58213", Decimal("437.20"), 1.0)


def test_known_names_come_first_and_a_broken_one_does_not_hide_the_next() -> None:
    good = _bytes("zugferd1_comfort.xml")
    attachments = [
        ("notes.xml", b"<notes/>"),
        ("other.xml", good),
        ("factur-x.xml", b"<rsm:CrossIndustryInvoice"),  # truncated
    ]
    picked = einvoice.pick_embedded(attachments)
    assert picked == [b"<rsm:CrossIndustryInvoice", good]
    invoice = einvoice.read_embedded(attachments)
    assert invoice is not None and invoice.invoice_number == "KA-58213"


def test_an_order_is_not_an_invoice() -> None:
    """Order-X (`order-x.xml`) is a purchase order: nothing of it is read as an invoice."""
    reading, out = _extract("orderx_comfort_not_an_invoice.pdf")
    assert reading.xml_invoice is None
    assert out["text_source"] != "xml"
    assert out["doc_type"] not in ("supplier_invoice", "credit_note")
    # It was looked at and refused, not overlooked: its content names an invoicee.
    order = _bytes("orderx_comfort.xml")
    assert einvoice.pick_embedded([("order-x.xml", order)]) == [order]
    assert einvoice.read_embedded([("order-x.xml", order)]) is None


def test_structured_reference_is_read_from_the_payment_reference() -> None:
    """An XRechnung with an ISO 11649 creditor reference as its BT-83."""
    xml = _bytes("xrechnung_cii.xml")
    xml = xml.replace(
        b"<ram:InvoiceCurrencyCode>",
        b"<ram:PaymentReference>RF18 5390 0754 7034</ram:PaymentReference>"
        b"<ram:InvoiceCurrencyCode>",
        1,
    )
    ex = extract(xml, "rf.xml")
    assert ex.reference == "RF18539007547034"
    assert (ex.conf("reference"), ex.sources["reference"]) == (1.0, TextSource.XML)


def test_a_swiss_uid_in_the_xml_is_the_supplier_uid() -> None:
    xml = _bytes("xrechnung_cii.xml").replace(b">DE 295731864<", b">CHE-109.322.551 MWST<")
    ex = extract(xml, "ch.xml")
    assert ex.supplier_uid == "CHE-109.322.551"
    assert ex.conf("supplier_uid") == 1.0


def test_sums_that_disagree_are_exact_but_not_trusted() -> None:
    """The XML's own total contradicts its VAT breakdown: what it says is kept, but with
    a confidence that holds it for a person."""
    xml = _bytes("xrechnung_cii.xml")
    xml = xml.replace(b"<ram:GrandTotalAmount>2201.50<", b"<ram:GrandTotalAmount>2301.50<").replace(
        b"<ram:DuePayableAmount>2201.50<", b"<ram:DuePayableAmount>2301.50<"
    )
    ex = extract(xml, "off.xml")
    assert ex.total == Decimal("2301.50")
    assert ex.conf("total") < 0.9 and ex.conf("vat") < 0.9


def test_an_amount_stated_in_two_currencies_is_taken_in_the_invoice_currency() -> None:
    """The USD invoice states its VAT total in EUR (tax currency) first, then in USD."""
    reading, _ = _extract("zugferd2_extended_foreign_currency.pdf")
    xml = reading.xml_invoice
    assert xml is not None
    assert (xml.currency, xml.vat_total, xml.total, xml.amount_due) == (
        "USD",
        Decimal("465.50"),
        Decimal("2915.50"),
        Decimal("1915.50"),
    )


def test_a_cached_reading_gives_the_same_extraction() -> None:
    """Readings are cached as JSON by content hash: dates and amounts must come back as
    dates and amounts, not strings."""
    reading = read(_bytes("zugferd2_extended_foreign_currency.pdf"), "fx.pdf")
    again = Reading.model_validate(reading.model_dump(mode="json"))
    assert again.xml_invoice == reading.xml_invoice
    assert again.xml_invoice is not None
    assert again.xml_invoice.issue_date == date(2025, 10, 15)
    first = extract_fields(reading, classify(reading)).public_json()
    second = extract_fields(again, classify(again)).public_json()
    first.pop("timings"), second.pop("timings")
    assert first == second


def test_a_reading_cached_by_the_old_reader_still_loads() -> None:
    """Before, `xml_invoice` was a loose dict (payment terms could be a list)."""
    old = {
        "xml_invoice": {
            "flavor": "factur-x",
            "invoice_number": "F1",
            "issue_date": "2025-01-31",
            "is_credit_note": False,
            "currency": "EUR",
            "total": "110.00",
            "vat": [{"rate": "10", "base": "100.00", "amount": "10.00"}],
            "seller": {"name": "Atelier Lumière SARL", "vat_id": None, "country": "FR"},
            "buyer": {},
            "payment_terms": ["30 jours", "escompte 2%"],
            "remittance": None,
        },
        "text_source": "xml",
    }
    reading = Reading.model_validate(old)
    ex = extract_fields(reading, classify(reading))
    assert (ex.invoice_number, ex.total, ex.payment_terms) == (
        "F1",
        Decimal("110.00"),
        "30 jours\nescompte 2%",
    )


def test_bare_zugferd1_is_accepted_at_intake_and_read() -> None:
    data = _bytes("zugferd1_comfort.xml")
    assert sniff(data) is MediaType.XML
    ex = extract(data, "ZUGFeRD-invoice.xml")
    assert ex.doc_type is DocType.SUPPLIER_INVOICE and ex.text_source is TextSource.XML


def test_xml_that_is_no_invoice_is_refused_with_a_reason() -> None:
    ex = extract(b"<?xml version='1.0'?><catalogue><item/></catalogue>", "c.xml")
    assert ex.error is not None and ex.error.kind.value == "unsupported"
    assert "catalogue" in ex.error.message
    broken = extract(b"<?xml version='1.0'?><rsm:CrossIndustryInvoice", "b.xml")
    assert broken.error is not None and broken.error.kind.value == "corrupt"
    order = extract(_bytes("orderx_comfort.xml"), "order-x.xml")
    assert order.error is not None and order.error.kind.value == "unsupported"
