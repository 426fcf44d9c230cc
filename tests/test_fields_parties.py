"""Who issued the document: the supplier's name is the issuing party, never a heading, a
date, an address line or the addressee. All pages here are made up."""

from typing import Any

import pytest

from domain.enums import DocType
from extractors import classify, extract_fields
from extractors.fields.parties import find_parties, labelled_recipient, supplier_name
from extractors.fields.party_names import name_in, name_problem
from extractors.layout import Line, group_lines
from extractors.reading import PageText, Reading, Word

MM = 72 / 25.4
A4 = (595.0, 842.0)


def words(*rows: tuple[float, float, str, float], conf: float | None = None) -> list[Word]:
    """Words of (top in mm, left in mm, text, font size) rows; rows at the same height are
    columns of one line."""
    out = []
    for top_mm, x_mm, text, size in rows:
        x = x_mm * MM
        for token in text.split(" "):
            if not token:
                x += size * 0.3
                continue
            width = size * 0.5 * len(token)
            out.append(
                Word(
                    text=token,
                    page=1,
                    x0=x,
                    top=top_mm * MM,
                    x1=x + width,
                    bottom=top_mm * MM + size,
                    size=size,
                    conf=conf,
                )
            )
            x += width + size * 0.3
    return out


def lines_of(*rows: tuple[float, float, str, float], conf: float | None = None) -> list[Line]:
    return group_lines(words(*rows, conf=conf))


def supplier(lines: list[Line], receipt: bool = False) -> tuple[str | None, float]:
    parties = find_parties(lines, *A4)
    if receipt:
        parties.recipient = None
    found = supplier_name(lines, A4[1], parties, receipt)
    return (found.name, found.conf) if found else (None, 0.0)


def extracted(*rows: tuple[float, float, str, float]) -> Any:
    ws = words(*rows)
    text = "\n".join(line.text for line in group_lines(ws))
    page = PageText(number=1, width=A4[0], height=A4[1], text=text, words=ws)
    reading = Reading(pages=[page], page_count=1)
    return extract_fields(reading, classify(reading))


# --- what a name is not -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("RECHNUNG", "heading"),
        ("Facture", "heading"),
        ("Fattura", "heading"),
        ("Tax Invoice", "heading"),
        ("Factuur.", "heading"),
        ("Factura simplificada", "heading"),
        ("Factuuradres", "heading"),
        ("Sales receipts/bill", "heading"),
        ("Note de crédit NC-2031-77", "heading"),
        ("Invoice Number", "heading"),
        ("Seite 1 von 3", "heading"),
        ("Unit Price Excl.", "heading"),
        ("14. März 2031 Lieferung", "date"),
        ("Issued on November 4, 2031", "date"),
        ("Total amount due 1'250.40", "amount"),
        ("Telefon: siehe Rückseite", "contact"),
        ("kontakt@lindenhof-beispiel.ch", "contact"),
        ("www.lindenhof-beispiel.ch", "contact"),
        ("Lindenweg 14", "address"),
        ("742 Evergreen Terrace Road", "address"),
        ("8048 Zürich-Altstetten", "address"),
        ("Springfield, IL 62704", "address"),
        ("Postfach 120", "address"),
        ("Österreich", "address"),
        ("Blue] Moon Bar", "garbled"),
        ("B L U E  M O O N", "spaced letters"),
        ("ko NFETTI", "garbled"),
        ("Thank you for your order!", "sentence"),
        ("Vielen Dank für Ihren Einkauf", "sentence"),
    ],
)
def test_headings_dates_amounts_contacts_and_addresses_are_not_names(
    text: str, problem: str
) -> None:
    assert name_problem(text) == problem


@pytest.mark.parametrize(
    "text",
    ["2031-11-04", "07/30/2031", "CHF 1'250.40", "+41 61 555 12 34", "4051", "x{ 9] |_ 8r"],
)
def test_numbers_and_noise_are_not_names(text: str) -> None:
    assert name_problem(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Holzbau Meier GmbH",
        "Boulangerie du Lac",
        "Blue Yonder Bikes",
        "Fabrikam Ltd.",
        "Tuinhuis Groen B.V.",
        "Ferretería López S.L.",
        "Studio Rossi Sagl",
        "Northwind Traders",
        "Café de la Place SA",
        "3M Schweiz GmbH",
        "shopware.ch",
    ],
)
def test_company_and_shop_names_pass(text: str) -> None:
    assert name_problem(text) is None


def test_illegible_ocr_is_not_a_name() -> None:
    assert name_problem("Gartenbau Ost", ocr_conf=41) == "illegible"
    assert name_problem("Gartenbau Ost", ocr_conf=88) is None


@pytest.mark.parametrize(
    ("printed", "name"),
    [
        ("Holzbau Meier GmbH · Lindenweg 14 · 4051 Basel", "Holzbau Meier GmbH"),
        ("Holzbau Meier GmbH - Lindenweg 14 - 4051 Basel", "Holzbau Meier GmbH"),
        ("Musée du Vélo, Place de la Gare", "Musée du Vélo"),
        ("Berger, Graf & Partner AG", "Berger, Graf & Partner AG"),
        ("NORTHWIND LTD.  INVOICE", "NORTHWIND LTD."),
        ("Rechnung 2031-77  Blue Yonder Bikes", "Blue Yonder Bikes"),
        ("Datum: 4.11.2031", None),
        ("Harbour House, 12th Floor, Quay Road", None),
        ("Springfield, IL 62704", None),
        ("November 4, 2031", None),
    ],
)
def test_the_name_a_printed_line_gives(printed: str, name: str | None) -> None:
    assert name_in(printed) == name


# --- who issued the page ------------------------------------------------------------


def test_a_date_at_the_top_is_not_the_supplier_the_letterhead_below_is() -> None:
    lines = lines_of(
        (14, 20, "2031-11-04", 10),
        (44, 150, "Holzbau Meier GmbH", 9),
        (49, 150, "Lindenweg 14", 7.5),
        (54, 150, "4051 Basel", 7.5),
        (59, 150, "Tel. 061 555 12 34", 7.5),
        (64, 150, "kontakt@holzbau-meier.ch", 7.5),
        (50, 25, "Holzbau Meier GmbH · Lindenweg 14 · 4051 Basel", 6),
        (58, 25, "Erika Beispiel", 10),
        (63, 25, "Rosenweg 3", 10),
        (68, 25, "3000 Bern", 10),
        (100, 20, "Rechnung Nr. 2031-77", 12),
    )
    name, conf = supplier(lines)
    assert name == "Holzbau Meier GmbH"
    assert conf >= 0.8  # a registered name, repeated in the window's return line
    parties = find_parties(lines, *A4)
    # The sender's column at window height (phone, e-mail) is not the addressee.
    assert parties.recipient is not None
    assert parties.recipient.lines[0] == "Erika Beispiel"


def test_a_big_title_is_not_the_supplier() -> None:
    lines = lines_of(
        (12, 130, "RECHNUNG", 22),
        (14, 20, "Velo Kurier Zürich", 12),
        (20, 20, "Hardstrasse 201", 8),
        (24, 20, "8005 Zürich", 8),
        (55, 120, "Muster Treuhand AG", 10),
        (60, 120, "Bahnhofstrasse 1", 10),
        (65, 120, "8001 Zürich", 10),
    )
    assert supplier(lines)[0] == "Velo Kurier Zürich"


def test_the_seller_label_names_the_supplier_and_the_addressee_is_never_it() -> None:
    lines = lines_of(
        (20, 140, "INVOICE", 24),
        (60, 20, "FROM: Northwind Traders", 10),
        (60, 110, "TO: Fabrikam Inc.", 10),
        (66, 20, "1 Harbor Street", 10),
        (66, 110, "77 Lake Avenue", 10),
        (72, 20, "Portland, OR 97201", 10),
        (72, 110, "Springfield, IL 62704", 10),
    )
    name, conf = supplier(lines)
    assert name == "Northwind Traders"
    assert conf >= 0.7


def test_a_registered_name_in_the_bill_to_block_loses_to_a_plain_letterhead() -> None:
    rows = (
        (15, 20, "Blue Yonder Bikes", 16),
        (22, 20, "12 Mill Lane", 9),
        (26, 20, "Leeds LS1 4AP", 9),
        (50, 20, "Bill To:", 9),
        (55, 20, "Fabrikam Ltd.", 10),
        (60, 20, "40 Quay Road", 10),
        (65, 20, "Bristol BS1 5TX", 10),
        (90, 20, "Invoice No. 2031-0415", 10),
    )
    name, conf = supplier(lines_of(*rows))
    assert name == "Blue Yonder Bikes"
    assert conf >= 0.5  # the addressee's registered name does not even compete
    ex = extracted(*rows)
    assert ex.supplier_name == "Blue Yonder Bikes"
    assert ex.recipient is not None and ex.recipient.name == "Fabrikam Ltd."


@pytest.mark.parametrize(
    ("label", "title"),
    [
        ("Factuuradres:", "FACTUUR"),
        ("Facturar a:", "FACTURA"),
        ("Rechnungsadresse:", "RECHNUNG"),
        ("Adresse de facturation :", "FACTURE"),
        ("Indirizzo di fatturazione:", "FATTURA"),
    ],
)
def test_the_labelled_addressee_block_is_never_the_supplier(label: str, title: str) -> None:
    lines = lines_of(
        (12, 20, "Tuinhuis Groen", 11),
        (12, 140, title, 18),
        (30, 20, label, 9),
        (35, 20, "Bakkerij Vos B.V.", 14),
        (40, 20, "Kerkstraat 8", 9),
        (45, 20, "1012 AB Amsterdam", 9),
    )
    assert supplier(lines)[0] == "Tuinhuis Groen"
    recipient = labelled_recipient(lines)
    assert recipient is not None and recipient.lines[0] == "Bakkerij Vos B.V."


def test_the_block_with_the_vat_id_names_the_issuer_and_a_logo_supports_it() -> None:
    lines = lines_of(
        (12, 20, "NORDLICHT", 24),
        (60, 120, "Hafenbau Kiel GmbH", 10),
        (65, 120, "Kaistrasse 3", 10),
        (70, 120, "24103 Kiel", 10),
        (260, 20, "Nordlicht Energie GmbH", 7),
        (264, 20, "Sitz Hamburg, Amtsgericht Hamburg HRB 123456", 7),
        (268, 20, "USt-IdNr. DE123456788", 7),
    )
    name, conf = supplier(lines)
    assert name == "Nordlicht Energie GmbH"
    assert conf >= 0.8


def test_only_a_top_line_without_legal_form_or_identifier_is_a_weak_reading() -> None:
    weak = lines_of(
        (12, 20, "Atelier Sonnenblick", 14),
        (60, 120, "Muster Treuhand AG", 10),
        (65, 120, "Bahnhofstrasse 1", 10),
        (70, 120, "8001 Zürich", 10),
    )
    strong = lines_of(
        (12, 20, "Atelier Sonnenblick GmbH", 14),
        (17, 20, "Seestrasse 9", 8),
        (21, 20, "8800 Thalwil", 8),
        (25, 20, "MWST CHE-123.456.788", 8),
        (60, 120, "Muster Treuhand AG", 10),
        (65, 120, "Bahnhofstrasse 1", 10),
        (70, 120, "8001 Zürich", 10),
    )
    weak_name, weak_conf = supplier(weak)
    strong_name, strong_conf = supplier(strong)
    assert weak_name == "Atelier Sonnenblick" and weak_conf <= 0.55
    assert strong_name == "Atelier Sonnenblick GmbH" and strong_conf >= 0.8


def test_a_street_line_at_the_top_is_not_the_supplier() -> None:
    lines = lines_of(
        (10, 20, "Harbour House, 12th Floor, Quay Road", 14),
        (16, 20, "Kalimera Foods Ltd", 8),
        (60, 120, "Muster Treuhand AG", 10),
        (65, 120, "Bahnhofstrasse 1", 10),
        (70, 120, "8001 Zürich", 10),
    )
    assert supplier(lines)[0] == "Kalimera Foods Ltd"


def test_a_receipt_logo_read_as_noise_gives_way_to_the_shop_name() -> None:
    lines = lines_of(
        (10, 30, "le] Kaffeebar", 30),
        (25, 30, "Kaffeebar Sonne", 14),
        (31, 30, "Marktgasse 7", 9),
        (36, 30, "3011 Bern", 9),
        (50, 30, "Cappuccino  4.80", 9),
        conf=90,
    )
    assert supplier(lines, receipt=True)[0] == "Kaffeebar Sonne"


def test_nothing_legible_gives_no_supplier_rather_than_a_guess() -> None:
    lines = lines_of(
        (10, 30, "INVOICE", 20),
        (20, 30, "14.03.2031", 9),
        (25, 30, "Lindenweg 14", 9),
        (30, 30, "+41 61 555 12 34", 9),
    )
    assert supplier(lines) == (None, 0.0)


def test_an_extracted_invoice_reads_the_issuer_not_the_heading_or_the_date() -> None:
    ex = extracted(
        (12, 20, "2031-11-04", 12),
        (12, 140, "INVOICE", 20),
        (44, 140, "Kalimera Foods Ltd", 9),
        (49, 140, "3 Harbour Road", 8),
        (54, 140, "Leeds LS1 4AP", 8),
        (59, 140, "VAT Reg. No. GB 123 4567 89", 8),
        (60, 20, "Bill To:", 9),
        (65, 20, "Fabrikam Ltd.", 10),
        (70, 20, "40 Quay Road", 10),
        (75, 20, "Bristol BS1 5TX", 10),
        (100, 20, "Invoice No. 2031-0415", 10),
        (110, 20, "Total GBP 120.00", 10),
    )
    assert ex.doc_type is DocType.SUPPLIER_INVOICE
    assert ex.supplier_name == "Kalimera Foods Ltd"
    assert ex.recipient is not None and ex.recipient.name == "Fabrikam Ltd."
    assert ex.confidence["supplier_name"] < 0.9  # the page alone never makes it certain
