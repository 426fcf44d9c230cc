"""E-invoices with exact data: Factur-X / ZUGFeRD XML in a PDF, bare XRechnung (UBL / CII).

The `factur-x` package parses both flavours into EN 16931 business terms (BT-*/BG-*);
this module maps those onto the few fields an Extraction needs.
"""

import logging
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from domain.enums import ReadErrorKind
from domain.money import to_money
from extractors.errors import ReadFailure

logging.getLogger("factur-x").setLevel(logging.ERROR)

EMBEDDED_NAMES = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml", "order-x.xml")
CREDIT_NOTE_CODES = {"381", "261", "262", "396", "532"}


def pick_embedded(attachments: list[tuple[str, bytes]]) -> bytes | None:
    """The e-invoice among a PDF's XML attachments: known names first, then by root element."""
    for name, data in attachments:
        if name.lower() in EMBEDDED_NAMES:
            return data
    for _, data in attachments:
        if looks_like_einvoice(data):
            return data
    return None


def looks_like_einvoice(data: bytes) -> bool:
    head = data[:4096]
    return any(
        tag in head
        for tag in (
            b"CrossIndustryInvoice",
            b"<Invoice",
            b":Invoice",
            b"<CreditNote",
            b":CreditNote",
        )
    )


def _dec(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 8:
        try:
            return (
                date.fromisoformat(value[:10])
                if "-" in value
                else date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            )
        except ValueError:
            return None
    return None


def _party(raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        return {}
    vat_id = raw.get("vat_identifier")
    return {
        "name": raw.get("name") or raw.get("biz_name"),
        "vat_id": vat_id,
        "legal_id": raw.get("legal_identifier"),
        "street": raw.get("addr_l1"),
        "postcode": raw.get("postcode"),
        "city": raw.get("city"),
        "country": raw.get("country_code"),
    }


def parse_einvoice(xml: bytes) -> dict[str, Any]:
    """EN 16931 XML -> our e-invoice dict. Raises ReadFailure(CORRUPT) when it is not one."""
    import facturx

    # Parse ourselves with a hardened parser (no entities, no network), then hand the tree on.
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        tree = etree.fromstring(xml, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise ReadFailure(ReadErrorKind.CORRUPT, f"XML is not well-formed: {exc}") from exc
    try:
        data = facturx.parse_ubl_cii_xml(tree, check_xsd=False, float_as="string", date_as="date")
        flavor = facturx.get_flavor(tree)
    except Exception as exc:
        raise ReadFailure(ReadErrorKind.UNSUPPORTED, f"not an EN 16931 e-invoice: {exc}") from exc
    type_code = str(data.get("BT-3") or "")
    credit = type_code in CREDIT_NOTE_CODES or "creditnote" in str(flavor).lower()
    vat = []
    for line in data.get("BG-23") or []:
        rate = _dec(line.get("BT-119"))
        if rate is None:
            continue
        vat.append(
            {
                "rate": rate.normalize() if rate == rate.to_integral() else rate,
                "base": _dec(line.get("BT-116")),
                "amount": _dec(line.get("BT-117")),
            }
        )
    iban = data.get("BT-84")
    if isinstance(iban, list):
        iban = iban[0] if iban else None
    if isinstance(iban, dict):
        iban = iban.get("BT-84") or next(iter(iban.values()), None)
    total = _dec(data.get("BT-112"))
    due_amount = _dec(data.get("BT-115"))
    return {
        "flavor": str(flavor),
        "invoice_number": data.get("BT-1"),
        "issue_date": _date(data.get("BT-2")),
        "due_date": _date(data.get("BT-9")),
        "type_code": type_code,
        "is_credit_note": credit,
        "currency": data.get("BT-5"),
        "total": to_money(total) if total is not None else None,
        "amount_due": to_money(due_amount) if due_amount is not None else None,
        "net": _dec(data.get("BT-109")),
        "vat_total": _dec(data.get("BT-110")),
        "vat": vat,
        "seller": _party(data.get("BG-4")),
        "buyer": _party(data.get("BG-7")),
        "iban": str(iban).replace(" ", "").upper() if iban else None,
        "payment_terms": data.get("BT-20"),
        "remittance": data.get("BT-83"),
    }
