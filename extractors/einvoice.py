"""E-invoices with exact data, embedded in a PDF or as a bare XML file.

Three syntaxes carry every flavour, and the root element says which:

- UN/CEFACT CII D16B (`rsm:CrossIndustryInvoice`): ZUGFeRD 2.x and Factur-X in all profiles
  (MINIMUM, BASIC WL, BASIC, EN 16931, EXTENDED, XRECHNUNG) and XRechnung CII;
- its predecessor ZUGFeRD 1.0 (`rsm:CrossIndustryDocument`, namespace
  `urn:ferd:CrossIndustryDocument:invoice:1p0`; BASIC, COMFORT, EXTENDED);
- OASIS UBL 2.1 (`Invoice`, `CreditNote`): XRechnung UBL and PEPPOL BIS Billing 3.

Every profile puts the few business terms an Extraction needs (EN 16931 BT-1, -2, -3, -5,
-9, -20, -27, -31, -83, -84, -109 … -112, -115, BG-23) in the same place, so each syntax
is read with its own short paths — no profile detection, which real files get wrong
(misspelt guideline URNs, credit notes without a customization id).
"""

import logging
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from lxml import etree
from stdnum import iban as stdnum_iban

from domain.enums import ReadErrorKind
from domain.filetype import SAFE_XML
from extractors.errors import ReadFailure
from extractors.reading import EInvoice, EInvoiceParty, EInvoiceVat

log = logging.getLogger(__name__)

# Attachment names the standards prescribe, in the order they are preferred when a PDF
# carries more than one (a ZUGFeRD 1.0 XML kept beside a newer Factur-X one).
EMBEDDED_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")

_CII = "CrossIndustryInvoice"
_ZUGFERD1 = "CrossIndustryDocument"
_UBL_INVOICE = "Invoice"
_UBL_CREDIT_NOTE = "CreditNote"
_ROOTS = {
    ("urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100", _CII): "cii",
    ("urn:ferd:CrossIndustryDocument:invoice:1p0", _ZUGFERD1): "zugferd1",
    ("urn:oasis:names:specification:ubl:schema:xsd:Invoice-2", _UBL_INVOICE): "ubl-invoice",
    ("urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2", _UBL_CREDIT_NOTE): (
        "ubl-creditnote"
    ),
}
_ROOT_WORDS = (b"CrossIndustryInvoice", b"CrossIndustryDocument", b"Invoice", b"CreditNote")

# UNTDID 1001 document types that are credit notes (EN 16931's code list).
CREDIT_NOTE_CODES = frozenset(
    {"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"}
)

# The language a seller's invoices are written in when nothing else tells: the country's
# first language (Swiss and Belgian sellers write in any of theirs — the page, the
# declared language or the XML's own words decide before this does).
COUNTRY_LANGUAGE = {
    "CH": "de",
    "DE": "de",
    "AT": "de",
    "LI": "de",
    "FR": "fr",
    "MC": "fr",
    "LU": "fr",
    "BE": "fr",
    "IT": "it",
    "SM": "it",
    "NL": "nl",
    "ES": "es",
    "GB": "en",
    "IE": "en",
    "US": "en",
}

_IBAN_SHAPE = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{8,30}")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(**SAFE_XML)


def flavor_of(root: etree._Element) -> str | None:
    """cii | zugferd1 | ubl-invoice | ubl-creditnote for an e-invoice's root, else None."""
    if not isinstance(root.tag, str):
        return None
    qname = etree.QName(root)
    return _ROOTS.get((qname.namespace or "", qname.localname))


def pick_embedded(attachments: list[tuple[str, bytes]]) -> list[bytes]:
    """A PDF's attachments that may be its e-invoice, best first: the names the standards
    prescribe, then any other whose first bytes name a CII or UBL root — judged by content,
    not name; `parse_einvoice` decides."""
    rank = {name: i for i, name in enumerate(EMBEDDED_NAMES)}

    def order(item: tuple[int, tuple[str, bytes]]) -> tuple[int, int]:
        index, (name, _) = item
        return rank.get(_basename(name), len(rank)), index

    return [
        data
        for _, (name, data) in sorted(enumerate(attachments), key=order)
        if _basename(name) in rank or any(word in data[:65536] for word in _ROOT_WORDS)
    ]


def read_embedded(attachments: list[tuple[str, bytes]]) -> EInvoice | None:
    """The first of a PDF's attachments that reads as an e-invoice, or None."""
    for data in pick_embedded(attachments):
        try:
            return parse_einvoice(data)
        except ReadFailure as failure:
            log.info("embedded XML ignored: %s", failure.message)
    return None


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1].lower()


def _root(xml: bytes) -> etree._Element:
    try:
        root = etree.fromstring(xml, parser=_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ReadFailure(ReadErrorKind.CORRUPT, f"XML is not well-formed: {exc}") from exc
    if root is None:
        raise ReadFailure(ReadErrorKind.CORRUPT, "XML has no root element")
    return root


def parse_einvoice(xml: bytes) -> EInvoice:
    """E-invoice XML -> EInvoice. Raises ReadFailure (CORRUPT when the XML is broken,
    UNSUPPORTED when it is no e-invoice we know)."""
    root = _root(xml)
    flavor = flavor_of(root)
    if flavor is None:
        raise ReadFailure(
            ReadErrorKind.UNSUPPORTED,
            f"not an e-invoice (root element {etree.QName(root).localname})",
        )
    invoice = _read_ubl(root, flavor) if flavor.startswith("ubl") else _read_cii(root, flavor)
    if invoice.total is None and invoice.invoice_number is None:
        raise ReadFailure(ReadErrorKind.UNSUPPORTED, "e-invoice without number or total")
    return invoice


# --- small readers ----------------------------------------------------------------------


def _path(path: str) -> str:
    """`A/B` -> `{*}A/{*}B`: the standards fix the names, producers vary the prefixes."""
    return "/".join(part if part in (".", "..") else "{*}" + part for part in path.split("/"))


def _all(node: etree._Element | None, path: str) -> list[etree._Element]:
    return [] if node is None else list(node.iterfind(_path(path)))


def _one(node: etree._Element | None, path: str) -> etree._Element | None:
    return None if node is None else node.find(_path(path))


def _text(node: etree._Element | None, path: str) -> str | None:
    found = _one(node, path)
    if found is None or found.text is None:
        return None
    return " ".join(found.text.split()) or None


def _texts(node: etree._Element | None, path: str) -> list[str]:
    out = []
    for found in _all(node, path):
        value = " ".join((found.text or "").split())
        if value:
            out.append(value)
    return out


def _dec(value: str | None) -> Decimal | None:
    if not value:
        return None
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _amount(node: etree._Element | None, path: str, currency: str | None) -> Decimal | None:
    """An amount; where it is given in two currencies (invoice and tax currency, BT-110 /
    BT-111), the one in the invoice currency."""
    found = _all(node, path)
    if not found:
        return None
    preferred = [e for e in found if e.get("currencyID") in (None, currency)]
    return _dec((preferred or found)[0].text)


def _cii_date(node: etree._Element | None) -> date | None:
    """udt:DateTimeString, format 102 (CCYYMMDD); ISO dates from lenient producers too."""
    if node is None:
        return None
    string = node.find(_path("DateTimeString"))
    if string is None:
        string = node.find(_path("DateString"))
    raw = (string.text if string is not None else node.text) or ""
    return _iso_or_compact(raw.strip())


def _iso_or_compact(raw: str) -> date | None:
    try:
        if re.fullmatch(r"\d{8}", raw):
            return date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", raw):
            return date.fromisoformat(raw[:10])
    except ValueError:
        return None
    return None


def _iban(candidates: list[str]) -> tuple[str | None, bool]:
    """The first account that is shaped like an IBAN, preferring one whose check digits
    hold; (None, True) when there is none."""
    shaped = []
    for raw in candidates:
        compact = re.sub(r"[\s\-.]", "", raw).upper()
        if _IBAN_SHAPE.fullmatch(compact):
            shaped.append(compact)
    for compact in shaped:
        if stdnum_iban.is_valid(compact):
            return compact, True
    return (shaped[0], False) if shaped else (None, True)


def _credit(flavor: str, type_code: str, total: Decimal | None) -> bool:
    """A credit note by its type (or UBL root), turned the other way by a negative total:
    an invoice of -233.47 credits the buyer, a credit note of -50 charges them."""
    credit = type_code in CREDIT_NOTE_CODES or flavor == "ubl-creditnote"
    if total is not None and total < 0:
        credit = not credit
    return credit


def _rate(value: Decimal | None) -> Decimal:
    if value is None:
        return Decimal(0)  # exempt / outside the scope of VAT: no rate is given
    return Decimal(int(value)) if value == value.to_integral() else value.normalize()


def _language(value: str | None) -> str | None:
    if not value:
        return None
    code = value.strip().lower()[:2]
    return code if code.isalpha() and len(code) == 2 else None


def _words(*groups: list[str]) -> str:
    return "\n".join(text for group in groups for text in group)[:20000]


# --- CII: ZUGFeRD 2.x / Factur-X / XRechnung CII, and ZUGFeRD 1.0 ------------------------


def _read_cii(root: etree._Element, flavor: str) -> EInvoice:
    zf1 = flavor == "zugferd1"
    if zf1:
        context = "SpecifiedExchangedDocumentContext"
        doc = _one(root, "HeaderExchangedDocument")
        trade = _one(root, "SpecifiedSupplyChainTradeTransaction")
        agreement = _one(trade, "ApplicableSupplyChainTradeAgreement")
        settlement = _one(trade, "ApplicableSupplyChainTradeSettlement")
        totals = _one(settlement, "SpecifiedTradeSettlementMonetarySummation")
        percent = "ApplicablePercent"
    else:
        context = "ExchangedDocumentContext"
        doc = _one(root, "ExchangedDocument")
        trade = _one(root, "SupplyChainTradeTransaction")
        agreement = _one(trade, "ApplicableHeaderTradeAgreement")
        settlement = _one(trade, "ApplicableHeaderTradeSettlement")
        totals = _one(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
        percent = "RateApplicablePercent"
    currency = _text(settlement, "InvoiceCurrencyCode")
    type_code = _text(doc, "TypeCode") or ""
    total = _amount(totals, "GrandTotalAmount", currency)
    vat = []
    for tax in _all(settlement, "ApplicableTradeTax"):
        kind = _text(tax, "TypeCode")
        if kind and kind != "VAT":
            continue
        vat.append(
            EInvoiceVat(
                rate=_rate(_dec(_text(tax, percent))),
                base=_dec(_text(tax, "BasisAmount")),
                amount=_dec(_text(tax, "CalculatedAmount")),
                category=_text(tax, "CategoryCode"),
            )
        )
    terms = _all(settlement, "SpecifiedTradePaymentTerms")
    # With a cash discount or instalments there are several due dates: the net one is last.
    dues = [d for d in (_cii_date(_one(t, "DueDateDateTime")) for t in terms) if d]
    term_texts = [text for t in terms for text in _texts(t, "Description")]
    means = _all(settlement, "SpecifiedTradeSettlementPaymentMeans")
    accounts = [
        text
        for m in means
        for path in (
            "PayeePartyCreditorFinancialAccount/IBANID",
            "PayeePartyCreditorFinancialAccount/ProprietaryID",
        )
        for text in _texts(m, path)
    ]
    iban, iban_valid = _iban(accounts)
    notes = _texts(doc, "IncludedNote/Content")
    items = _texts(trade, "IncludedSupplyChainTradeLineItem/SpecifiedTradeProduct/Name")
    return EInvoice(
        flavor=flavor,
        profile=_text(root, f"{context}/GuidelineSpecifiedDocumentContextParameter/ID"),
        invoice_number=_text(doc, "ID"),
        issue_date=_cii_date(_one(doc, "IssueDateTime")),
        due_date=max(dues) if dues else None,
        type_code=type_code,
        is_credit_note=_credit(flavor, type_code, total),
        currency=currency,
        total=total,
        amount_due=_amount(totals, "DuePayableAmount", currency),
        net=_amount(totals, "TaxBasisTotalAmount", currency),
        vat_total=_amount(totals, "TaxTotalAmount", currency),
        vat=vat,
        seller=_cii_party(_one(agreement, "SellerTradeParty")),
        buyer=_cii_party(_one(agreement, "BuyerTradeParty")),
        iban=iban,
        iban_valid=iban_valid,
        remittance=next(iter(_texts(settlement, "PaymentReference")), None),
        payment_terms="\n".join(term_texts) or None,
        language=_language(_text(doc, "LanguageID")),
        text=_words(notes, items, term_texts),
    )


def _cii_party(party: etree._Element | None) -> EInvoiceParty:
    if party is None:
        return EInvoiceParty()
    vat_id = None
    others = []
    for reg in _all(party, "SpecifiedTaxRegistration/ID"):
        value = " ".join((reg.text or "").split())
        if not value:
            continue
        if reg.get("schemeID") == "VA" and vat_id is None:
            vat_id = value
        else:
            others.append(value)
    legal = _text(party, "SpecifiedLegalOrganization/ID")
    address = _one(party, "PostalTradeAddress")
    return EInvoiceParty(
        name=_text(party, "Name") or _text(party, "SpecifiedLegalOrganization/TradingBusinessName"),
        vat_id=vat_id,
        tax_ids=others + ([legal] if legal else []),
        legal_id=legal,
        street=_text(address, "LineOne"),
        postcode=_text(address, "PostcodeCode"),
        city=_text(address, "CityName"),
        country=_text(address, "CountryID"),
    )


# --- UBL 2.1: XRechnung UBL, PEPPOL BIS Billing 3 ----------------------------------------


def _read_ubl(root: etree._Element, flavor: str) -> EInvoice:
    credit_root = flavor == "ubl-creditnote"
    currency = _text(root, "DocumentCurrencyCode")
    type_code = _text(root, "CreditNoteTypeCode" if credit_root else "InvoiceTypeCode") or ""
    totals = _one(root, "LegalMonetaryTotal")
    total = _amount(totals, "TaxInclusiveAmount", currency)
    # BT-110 may repeat in the tax currency (BT-111), without a breakdown: the breakdown
    # is read from the tax total in the invoice currency only, so nothing counts twice.
    tax_totals = _all(root, "TaxTotal")
    in_currency = [t for t in tax_totals if _currency_of(_one(t, "TaxAmount")) in (None, currency)]
    with_breakdown = [t for t in in_currency or tax_totals if _one(t, "TaxSubtotal") is not None]
    vat = [
        EInvoiceVat(
            rate=_rate(_dec(_text(sub, "TaxCategory/Percent"))),
            base=_dec(_text(sub, "TaxableAmount")),
            amount=_dec(_text(sub, "TaxAmount")),
            category=_text(sub, "TaxCategory/ID"),
        )
        for sub in (_all(with_breakdown[0], "TaxSubtotal") if with_breakdown else [])
    ]
    means = _all(root, "PaymentMeans")
    dues = [_iso_or_compact(_text(root, "DueDate") or "")] + [
        _iso_or_compact(_text(m, "PaymentDueDate") or "") for m in means
    ]
    due = next((d for d in dues if d is not None), None)
    iban, iban_valid = _iban([t for m in means for t in _texts(m, "PayeeFinancialAccount/ID")])
    term_texts = _texts(root, "PaymentTerms/Note")
    line = "CreditNoteLine" if credit_root else "InvoiceLine"
    return EInvoice(
        flavor=flavor,
        profile=_text(root, "CustomizationID"),
        invoice_number=_text(root, "ID"),
        issue_date=_iso_or_compact(_text(root, "IssueDate") or ""),
        due_date=due,
        type_code=type_code,
        is_credit_note=_credit(flavor, type_code, total),
        currency=currency,
        total=total,
        amount_due=_amount(totals, "PayableAmount", currency),
        net=_amount(totals, "TaxExclusiveAmount", currency),
        vat_total=_amount(in_currency[0] if in_currency else None, "TaxAmount", currency),
        vat=vat,
        seller=_ubl_party(_one(root, "AccountingSupplierParty/Party")),
        buyer=_ubl_party(_one(root, "AccountingCustomerParty/Party")),
        iban=iban,
        iban_valid=iban_valid,
        remittance=next(iter(t for m in means for t in _texts(m, "PaymentID")), None),
        payment_terms="\n".join(term_texts) or None,
        text=_words(_texts(root, "Note"), _texts(root, f"{line}/Item/Name"), term_texts),
    )


def _currency_of(amount: etree._Element | None) -> str | None:
    return None if amount is None else amount.get("currencyID")


def _ubl_party(party: etree._Element | None) -> EInvoiceParty:
    if party is None:
        return EInvoiceParty()
    vat_id = None
    others = []
    for scheme in _all(party, "PartyTaxScheme"):
        value = _text(scheme, "CompanyID")
        if not value:
            continue
        if _text(scheme, "TaxScheme/ID") == "VAT" and vat_id is None:
            vat_id = value
        else:
            others.append(value)
    legal = _text(party, "PartyLegalEntity/CompanyID")
    address = _one(party, "PostalAddress")
    return EInvoiceParty(
        name=_text(party, "PartyLegalEntity/RegistrationName") or _text(party, "PartyName/Name"),
        vat_id=vat_id,
        tax_ids=others + ([legal] if legal else []),
        legal_id=legal,
        street=_text(address, "StreetName"),
        postcode=_text(address, "PostalZone"),
        city=_text(address, "CityName"),
        country=_text(address, "Country/IdentificationCode"),
    )
