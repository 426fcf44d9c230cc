"""E-invoices with exact data: Factur-X/ZUGFeRD PDFs (CII XML embedded) and XRechnung UBL.

The XML is built from the same `InvoiceData` that the visible page is drawn from, so the
two always agree; both are checked against the official XSDs shipped with `factur-x`.
"""

from __future__ import annotations

import io
import random
import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import facturx
import facturx.facturx as facturx_impl
from lxml import etree
from PIL import ImageCms
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

from .drafts import build_pdf, safe_filename
from .identities import random_client_company, random_company
from .invoices import InvoiceData, build_invoice
from .model import Company, GeneratedDocument, Rng, resolve_rng
from .pdfkit import VERA

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
UBL = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
XRECHNUNG_ID = "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0"
PEPPOL_PROFILE = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"

_facturx_lock = threading.Lock()


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _vat_id(company: Company) -> str | None:
    if company.eu_vat:
        return company.eu_vat
    if company.uid and company.vat_registered:
        return "".join(ch for ch in company.uid if ch.isalnum()) + "MWST"  # CHE123456789MWST
    return None


def _category(rate: Decimal | None) -> str:
    return "O" if rate is None else "S"  # O: not subject to VAT (non-registered supplier)


# --- CII (Factur-X EN 16931) --------------------------------------------------


def _el(
    parent: etree._Element, ns: str, tag: str, text: str | None = None, **attrib: str
) -> etree._Element:
    node = etree.SubElement(parent, f"{{{ns}}}{tag}", {k: v for k, v in attrib.items()})
    if text is not None:
        node.text = text
    return node


def _cii_party(parent: etree._Element, tag: str, company: Company) -> None:
    party = _el(parent, RAM, tag)
    _el(party, RAM, "Name", company.name)
    address = _el(party, RAM, "PostalTradeAddress")
    _el(address, RAM, "PostcodeCode", company.postcode)
    _el(address, RAM, "LineOne", company.street_line)
    _el(address, RAM, "CityName", company.city)
    _el(address, RAM, "CountryID", company.country)
    if company.email:
        uri = _el(party, RAM, "URIUniversalCommunication")
        _el(uri, RAM, "URIID", company.email, schemeID="EM")
    vat_id = _vat_id(company)
    if vat_id:
        reg = _el(party, RAM, "SpecifiedTaxRegistration")
        _el(reg, RAM, "ID", vat_id, schemeID="VA")


def cii_xml(data: InvoiceData) -> bytes:
    """Factur-X EN 16931 (UN/CEFACT CII D16B) for an invoice with net line prices."""
    if data.vat_included:
        raise ValueError("EN 16931 XML needs net line prices")
    nsmap = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=nsmap)
    context = _el(root, RSM, "ExchangedDocumentContext")
    guideline = _el(context, RAM, "GuidelineSpecifiedDocumentContextParameter")
    _el(guideline, RAM, "ID", "urn:cen.eu:en16931:2017")
    header = _el(root, RSM, "ExchangedDocument")
    _el(header, RAM, "ID", data.number)
    _el(header, RAM, "TypeCode", "380")
    issue = _el(header, RAM, "IssueDateTime")
    _el(issue, UDT, "DateTimeString", data.issue_date.strftime("%Y%m%d"), format="102")
    if data.terms_text:
        note = _el(header, RAM, "IncludedNote")
        _el(note, RAM, "Content", data.terms_text)

    trade = _el(root, RSM, "SupplyChainTradeTransaction")
    for i, line in enumerate(data.lines, start=1):
        item = _el(trade, RAM, "IncludedSupplyChainTradeLineItem")
        _el(_el(item, RAM, "AssociatedDocumentLineDocument"), RAM, "LineID", str(i))
        _el(_el(item, RAM, "SpecifiedTradeProduct"), RAM, "Name", line.description)
        agreement = _el(item, RAM, "SpecifiedLineTradeAgreement")
        price = _el(agreement, RAM, "NetPriceProductTradePrice")
        _el(price, RAM, "ChargeAmount", f"{line.unit_price:.{line.price_places}f}")
        delivery = _el(item, RAM, "SpecifiedLineTradeDelivery")
        _el(delivery, RAM, "BilledQuantity", _num(line.qty), unitCode=line.unit_code)
        settlement = _el(item, RAM, "SpecifiedLineTradeSettlement")
        tax = _el(settlement, RAM, "ApplicableTradeTax")
        _el(tax, RAM, "TypeCode", "VAT")
        _el(tax, RAM, "CategoryCode", _category(line.rate))
        if line.rate is not None:
            _el(tax, RAM, "RateApplicablePercent", _num(line.rate))
        summation = _el(settlement, RAM, "SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, RAM, "LineTotalAmount", _amount(line.amount))

    agreement = _el(trade, RAM, "ApplicableHeaderTradeAgreement")
    if data.buyer_reference:
        _el(agreement, RAM, "BuyerReference", data.buyer_reference)
    _cii_party(agreement, "SellerTradeParty", data.supplier)
    _cii_party(agreement, "BuyerTradeParty", data.recipient)
    delivery = _el(trade, RAM, "ApplicableHeaderTradeDelivery")
    if data.delivery_date:
        event = _el(delivery, RAM, "ActualDeliverySupplyChainEvent")
        occurrence = _el(event, RAM, "OccurrenceDateTime")
        _el(occurrence, UDT, "DateTimeString", data.delivery_date.strftime("%Y%m%d"), format="102")
    settlement = _el(trade, RAM, "ApplicableHeaderTradeSettlement")
    _el(settlement, RAM, "PaymentReference", data.reference or data.number)
    _el(settlement, RAM, "InvoiceCurrencyCode", data.currency)
    means = _el(settlement, RAM, "SpecifiedTradeSettlementPaymentMeans")
    _el(means, RAM, "TypeCode", "58" if data.supplier.country != "CH" else "30")
    if data.account or data.supplier.iban:
        account = _el(means, RAM, "PayeePartyCreditorFinancialAccount")
        _el(account, RAM, "IBANID", data.account or data.supplier.iban)
    if data.vat:
        for v in data.vat:
            tax = _el(settlement, RAM, "ApplicableTradeTax")
            _el(tax, RAM, "CalculatedAmount", _amount(v["amount"]))
            _el(tax, RAM, "TypeCode", "VAT")
            _el(tax, RAM, "BasisAmount", _amount(v["base"]))
            _el(tax, RAM, "CategoryCode", "S")
            _el(tax, RAM, "RateApplicablePercent", _num(v["rate"]))
    else:
        tax = _el(settlement, RAM, "ApplicableTradeTax")
        _el(tax, RAM, "CalculatedAmount", "0.00")
        _el(tax, RAM, "TypeCode", "VAT")
        _el(tax, RAM, "ExemptionReason", "Not subject to VAT")
        _el(tax, RAM, "BasisAmount", _amount(data.net_total))
        _el(tax, RAM, "CategoryCode", "O")
    terms = _el(settlement, RAM, "SpecifiedTradePaymentTerms")
    if data.terms_text:
        _el(terms, RAM, "Description", data.terms_text)
    if data.due_date:
        due = _el(terms, RAM, "DueDateDateTime")
        _el(due, UDT, "DateTimeString", data.due_date.strftime("%Y%m%d"), format="102")
    sums = _el(settlement, RAM, "SpecifiedTradeSettlementHeaderMonetarySummation")
    vat_total = sum((v["amount"] for v in data.vat), Decimal("0.00"))
    _el(sums, RAM, "LineTotalAmount", _amount(data.net_total))
    _el(sums, RAM, "TaxBasisTotalAmount", _amount(data.net_total))
    _el(sums, RAM, "TaxTotalAmount", _amount(vat_total), currencyID=data.currency)
    _el(sums, RAM, "GrandTotalAmount", _amount(data.total))
    _el(sums, RAM, "DuePayableAmount", _amount(data.total))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- UBL (XRechnung) ----------------------------------------------------------


def _ubl_party(parent: etree._Element, tag: str, company: Company, contact: bool) -> None:
    party = _el(_el(parent, CAC, tag), CAC, "Party")
    _el(party, CBC, "EndpointID", company.email or "invoice@example.invalid", schemeID="EM")
    _el(_el(party, CAC, "PartyName"), CBC, "Name", company.name)
    address = _el(party, CAC, "PostalAddress")
    _el(address, CBC, "StreetName", company.street_line)
    _el(address, CBC, "CityName", company.city)
    _el(address, CBC, "PostalZone", company.postcode)
    _el(_el(address, CAC, "Country"), CBC, "IdentificationCode", company.country)
    vat_id = _vat_id(company)
    if vat_id:
        scheme = _el(party, CAC, "PartyTaxScheme")
        _el(scheme, CBC, "CompanyID", vat_id)
        _el(_el(scheme, CAC, "TaxScheme"), CBC, "ID", "VAT")
    _el(_el(party, CAC, "PartyLegalEntity"), CBC, "RegistrationName", company.name)
    if contact:
        person = _el(party, CAC, "Contact")
        _el(person, CBC, "Name", "Buchhaltung")
        _el(person, CBC, "Telephone", company.phone)
        _el(person, CBC, "ElectronicMail", company.email)


def _ubl_tax_category(parent: etree._Element, tag: str, rate: Decimal | None) -> None:
    cat = _el(parent, CAC, tag)
    _el(cat, CBC, "ID", _category(rate))
    if rate is not None:
        _el(cat, CBC, "Percent", _num(rate))
    elif tag == "TaxCategory":
        _el(cat, CBC, "TaxExemptionReason", "Not subject to VAT")
    _el(_el(cat, CAC, "TaxScheme"), CBC, "ID", "VAT")


def ubl_xml(data: InvoiceData) -> bytes:
    """XRechnung 3.0 (UBL 2.1 Invoice) for an invoice with net line prices."""
    if data.vat_included:
        raise ValueError("EN 16931 XML needs net line prices")
    cur = {"currencyID": data.currency}
    root = etree.Element(f"{{{UBL}}}Invoice", nsmap={None: UBL, "cac": CAC, "cbc": CBC})
    _el(root, CBC, "CustomizationID", XRECHNUNG_ID)
    _el(root, CBC, "ProfileID", PEPPOL_PROFILE)
    _el(root, CBC, "ID", data.number)
    _el(root, CBC, "IssueDate", data.issue_date.isoformat())
    if data.due_date:
        _el(root, CBC, "DueDate", data.due_date.isoformat())
    _el(root, CBC, "InvoiceTypeCode", "380")
    if data.terms_text:
        _el(root, CBC, "Note", data.terms_text)
    _el(root, CBC, "DocumentCurrencyCode", data.currency)
    _el(root, CBC, "BuyerReference", data.buyer_reference or data.customer_no or data.number)
    _ubl_party(root, "AccountingSupplierParty", data.supplier, contact=True)
    _ubl_party(root, "AccountingCustomerParty", data.recipient, contact=False)
    if data.delivery_date:
        _el(_el(root, CAC, "Delivery"), CBC, "ActualDeliveryDate", data.delivery_date.isoformat())
    means = _el(root, CAC, "PaymentMeans")
    _el(means, CBC, "PaymentMeansCode", "58")
    _el(means, CBC, "PaymentID", data.reference or data.number)
    if data.account or data.supplier.iban:
        _el(_el(means, CAC, "PayeeFinancialAccount"), CBC, "ID", data.account or data.supplier.iban)
    if data.terms_text:
        _el(_el(root, CAC, "PaymentTerms"), CBC, "Note", data.terms_text)
    vat_total = sum((v["amount"] for v in data.vat), Decimal("0.00"))
    tax_total = _el(root, CAC, "TaxTotal")
    _el(tax_total, CBC, "TaxAmount", _amount(vat_total), **cur)
    subtotals = data.vat or [{"rate": None, "base": data.net_total, "amount": Decimal("0.00")}]
    for v in subtotals:
        sub = _el(tax_total, CAC, "TaxSubtotal")
        _el(sub, CBC, "TaxableAmount", _amount(v["base"]), **cur)
        _el(sub, CBC, "TaxAmount", _amount(v["amount"]), **cur)
        _ubl_tax_category(sub, "TaxCategory", v["rate"])
    sums = _el(root, CAC, "LegalMonetaryTotal")
    _el(sums, CBC, "LineExtensionAmount", _amount(data.net_total), **cur)
    _el(sums, CBC, "TaxExclusiveAmount", _amount(data.net_total), **cur)
    _el(sums, CBC, "TaxInclusiveAmount", _amount(data.total), **cur)
    _el(sums, CBC, "PayableAmount", _amount(data.total), **cur)
    for i, line in enumerate(data.lines, start=1):
        node = _el(root, CAC, "InvoiceLine")
        _el(node, CBC, "ID", str(i))
        _el(node, CBC, "InvoicedQuantity", _num(line.qty), unitCode=line.unit_code)
        _el(node, CBC, "LineExtensionAmount", _amount(line.amount), **cur)
        item = _el(node, CAC, "Item")
        _el(item, CBC, "Name", line.description)
        _ubl_tax_category(item, "ClassifiedTaxCategory", line.rate)
        price = _el(node, CAC, "Price")
        _el(price, CBC, "PriceAmount", f"{line.unit_price:.{line.price_places}f}", **cur)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- PDF/A-3 plumbing ---------------------------------------------------------


def _srgb_profile() -> bytes:
    """An sRGB ICC profile made by LittleCMS, with its creation date zeroed (determinism)."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    data[24:36] = bytes(12)  # dateTimeNumber in the ICC header
    data[84:100] = bytes(16)  # profile ID (MD5) = 0: "not computed", valid per ICC.1
    return bytes(data)


def _add_output_intent(pdf: bytes) -> bytes:
    """PDF/A needs an output intent; reportlab does not write one."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    icc = DecodedStreamObject()
    icc.set_data(_srgb_profile())
    icc[NameObject("/N")] = NumberObject(3)
    icc_ref = writer._add_object(icc)
    intent = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/OutputIntent"),
            NameObject("/S"): NameObject("/GTS_PDFA1"),
            NameObject("/OutputConditionIdentifier"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/Info"): TextStringObject("sRGB IEC61966-2.1"),
            NameObject("/DestOutputProfile"): icc_ref,
        }
    )
    writer._root_object[NameObject("/OutputIntents")] = ArrayObject([writer._add_object(intent)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _embed_facturx(pdf: bytes, xml: bytes, when: datetime, data: InvoiceData) -> bytes:
    """`facturx.generate_from_binary` with its clock pinned to the invoice date, so the
    same seed gives the same bytes (the library stamps /ModDate and XMP with now())."""
    stamp = when.replace(tzinfo=UTC)
    pdf_date = stamp.strftime("D:%Y%m%d%H%M%S+00'00'")
    xmp_date = stamp.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    metadata = {
        "author": data.supplier.name,
        "keywords": "Factur-X, Invoice",
        "title": f"{data.supplier.name}: Invoice {data.number}",
        "subject": f"Factur-X invoice {data.number} dated {data.issue_date.isoformat()} "
        f"issued by {data.supplier.name}",
    }
    with (
        _facturx_lock,
        mock.patch.object(facturx_impl, "_get_pdf_timestamp", return_value=pdf_date),
        mock.patch.object(facturx_impl, "_get_metadata_timestamp", return_value=xmp_date),
    ):
        return facturx.generate_from_binary(
            pdf,
            xml,
            flavor="factur-x",
            level="en16931",
            check_xsd=True,
            pdf_metadata=metadata,
            lang={"de": "de-CH", "fr": "fr-CH", "it": "it-CH"}.get(data.language, "en"),
        )


# --- public makers ------------------------------------------------------------


def _einvoice_supplier(r: random.Random, supplier: Company | None) -> Company:
    if supplier is not None:
        return supplier
    country = r.choices(("DE", "CH", "FR", "AT"), weights=(55, 25, 12, 8))[0]
    return random_company(r, country)


def facturx_invoice(
    rng: Rng,
    *,
    supplier: Company | None = None,
    recipient: Company | None = None,
    language: str | None = None,
    currency: str | None = None,
    vat_rates: tuple[Decimal, ...] | None = None,
    with_qr: bool | None = None,
    layout: int | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    total: Decimal | None = None,
    invoice_number: str | None = None,
) -> GeneratedDocument:
    """A Factur-X (EN 16931, CII) PDF/A-3 invoice: the visible page and the embedded
    `factur-x.xml` come from the same data. Fonts are embedded (Vera), an sRGB output
    intent is added and `factur-x` writes the PDF/A-3 XMP metadata.
    Truth as for `supplier_invoice`; `extra["xml"]` names the attachment.
    """
    r, seed = resolve_rng(rng)
    supplier = _einvoice_supplier(r, supplier)
    if with_qr is None:
        with_qr = supplier.country == "CH" and bool(supplier.iban) and r.random() < 0.4
    built = build_invoice(
        r,
        supplier=supplier,
        recipient=recipient or random_client_company(r),
        language=language,
        currency=currency,
        vat_rates=vat_rates,
        with_qr=with_qr,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
        invoice_number=invoice_number,
        fonts=VERA,
        net_prices=True,
    )
    built.doc.pdfa = True
    built.draft.initial_font = "Vera"
    data = built.data
    data.buyer_reference = data.customer_no
    xml = cii_xml(data)
    pdf, _ = build_pdf([built.draft], seed)
    pdf = _add_output_intent(pdf)
    pdf = _embed_facturx(pdf, xml, built.draft.when, data)
    truth = built.draft.truth
    # The embedded XML states the account and VAT number even where the page does not.
    truth.supplier_iban = data.account or data.supplier.iban
    if data.supplier.country == "CH" and data.supplier.vat_registered:
        truth.supplier_uid = data.supplier.uid
    truth.extra["xml"] = "factur-x.xml"
    truth.extra["profile"] = "EN 16931"
    name = built.draft.filename.removesuffix(".pdf") + "_facturx.pdf"
    return GeneratedDocument(pdf, name, "application/pdf", truth, "text", seed)


def xrechnung_xml(
    rng: Rng,
    *,
    supplier: Company | None = None,
    recipient: Company | None = None,
    language: str | None = None,
    currency: str | None = None,
    vat_rates: tuple[Decimal, ...] | None = None,
    with_qr: bool | None = None,
    layout: int | None = None,
    issue_date: date | None = None,
    lines: int | None = None,
    total: Decimal | None = None,
    invoice_number: str | None = None,
) -> GeneratedDocument:
    """A bare XRechnung 3.0 (UBL Invoice) XML file, valid against the UBL 2.1 XSD.

    Truth as for `supplier_invoice` (copy "xml", pages 0, nothing printed); `with_qr`
    and `layout` are ignored.
    """
    del with_qr
    r, seed = resolve_rng(rng)
    supplier = supplier or random_company(r, r.choice(("DE", "DE", "DE", "AT")))
    built = build_invoice(
        r,
        supplier=supplier,
        recipient=recipient or random_client_company(r),
        language=language or "de",
        currency=currency,
        vat_rates=vat_rates,
        with_qr=False,
        layout=layout,
        issue_date=issue_date,
        lines=lines,
        total=total,
        invoice_number=invoice_number,
        net_prices=True,
    )
    data = built.data
    data.buyer_reference = (
        f"{r.randint(10, 99)}{r.randint(100, 999)}-{r.randint(10000, 99999)}-{r.randint(10, 99)}"
    )
    xml = ubl_xml(data)
    truth = built.draft.truth
    truth.pages = 0
    truth.printed = {"total": _amount(data.total), "invoice_number": data.number}
    truth.supplier_iban = data.account or data.supplier.iban
    truth.supplier_uid = (
        data.supplier.uid
        if data.supplier.country == "CH" and data.supplier.vat_registered
        else None
    )
    truth.payment_terms = data.terms_text
    truth.recipient_address = data.recipient.address_lines(abroad_from=data.supplier.country)
    truth.supplier_address = [
        data.supplier.name,
        data.supplier.street_line,
        data.supplier.town_line,
    ]
    truth.extra = {"buyer_reference": data.buyer_reference, "profile": "XRechnung 3.0"}
    name = safe_filename(f"xrechnung_{data.number}") + ".xml"
    return GeneratedDocument(xml, name, "application/xml", truth, "xml", seed)
