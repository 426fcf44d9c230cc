"""Reading + Classification -> Extraction: every field from every source, cross-checked.

Sources, best first: e-invoice XML (exact), the Swiss QR-bill (validated payload), then
the printed text. Each field keeps the value with the highest confidence; a value seen by
two sources gains, a value that fails a check (net + VAT != total, QR amount != printed
total) loses confidence instead of being replaced by a guess.

This module orchestrates: `field_set` (how values compete), `text_fields` and
`text_amounts` (the page text), `exact_fields` (QR-bill, e-invoice XML and its
self-checks), `cross_checks` (the page's values against each other).
"""

import re

from domain.enums import DocType, TextSource
from domain.extraction import SCALAR_PAGE_FIELDS, Extraction, VatLine
from extractors.cross_checks import cross_checks
from extractors.exact_fields import qr_bill, qr_fields, xml_checks, xml_fields
from extractors.field_set import Doc, FieldSet, norm_rate, page_sizes, set_source
from extractors.fields.labels import fold_text
from extractors.layout import group_lines
from extractors.reading import Classification, Reading
from extractors.text_fields import text_fields

# Fields a document type does not have, even when its page shows such a value: the IBAN
# on a payslip is the employee's, a reminder's VAT belongs to the old invoice, an offer's
# total is nothing to pay.
_PAYMENT_FIELDS = ("invoice_number", "due_date", "reference", "vat", "payment_terms")
NOT_FOR: dict[DocType, tuple[str, ...]] = {
    DocType.REMINDER: ("vat",),
    DocType.RECEIPT: ("due_date", "reference", "payment_terms"),
    DocType.BANK_STATEMENT: ("supplier_uid", "supplier_iban", *_PAYMENT_FIELDS),
    DocType.PAYSLIP: ("supplier_uid", "supplier_iban", *_PAYMENT_FIELDS),
    DocType.OTHER: ("total", "currency", *_PAYMENT_FIELDS),
}


def _doc(reading: Reading, part: tuple[int, int] | None) -> Doc:
    pages = [p for p in reading.pages if part is None or part[0] <= p.number <= part[1]]
    by_page = {p.number: group_lines(p.words) for p in pages}
    lines = [line for p in pages for line in by_page[p.number]]
    return Doc(pages, lines, by_page)


_QR_PART_RE = re.compile(
    r"zahlteil|section paiement|sezione pagamento|payment part|empfangsschein|r[eé]c[eé]piss[eé]"
)


def extract_fields(reading: Reading, classification: Classification) -> Extraction:
    ex = Extraction(
        doc_type=classification.doc_type,
        language=classification.language,
        text_source=reading.text_source,
        pages=reading.page_count or len(reading.pages),
        page_sizes=page_sizes(reading),
        text=reading.text,
        error=reading.error,
        timings=dict(reading.timings),
        parts=list(classification.parts) if len(classification.parts) > 1 else [],
    )
    confidence: dict[str, float] = {"doc_type": classification.confidence}
    if classification.language:
        confidence["language"] = classification.language_confidence
    part = classification.parts[0] if len(classification.parts) > 1 else None
    doc = _doc(reading, part)
    fs = FieldSet()
    qr, qr_box = qr_bill(reading, part)
    qr_pages = {p.number for p in doc.pages if _QR_PART_RE.search(fold_text(p.text))}
    qr_pages |= {c.page for c in reading.qr_codes}
    has_qr_part = bool(qr_pages)

    text_fields(fs, doc, classification, qr_pages)
    if qr is not None:
        qr_fields(fs, qr, qr_box, reminder=classification.doc_type is DocType.REMINDER)
    xml = reading.xml_invoice
    if xml:
        xml_fields(fs, xml)
    if xml and xml.total is not None:
        xml_checks(fs, xml, qr)
    else:
        cross_checks(fs, classification, qr)

    # Credit notes carry a negative total and VAT (printed either way).
    total = fs.get("total")
    is_credit = classification.doc_type is DocType.CREDIT_NOTE or bool(xml and xml.is_credit_note)
    if total is not None and is_credit and total > 0:
        fs.picks["total"].value = -total
    if fs.get("vat"):
        sign = -1 if is_credit else 1
        fs.picks["vat"].value = [
            VatLine(
                rate=norm_rate(v.rate),
                base=None if v.base is None else sign * abs(v.base),
                amount=None if v.amount is None else sign * abs(v.amount),
            )
            for v in fs.get("vat")
        ]
    for name in NOT_FOR.get(classification.doc_type, ()):
        if not xml:
            fs.picks.pop(name, None)

    for name in SCALAR_PAGE_FIELDS:
        pick = fs.picks.get(name)
        if pick is not None:
            setattr(ex, name, pick.value)
            confidence[name] = round(pick.conf, 3)
            set_source(ex, name, pick.source, reading.text_source)
            if pick.box:
                ex.positions[name] = pick.box
    if fs.get("vat"):
        ex.vat = fs.get("vat")
        confidence["vat"] = round(fs.conf("vat"), 3)
        set_source(ex, "vat", fs.picks["vat"].source, reading.text_source)
        if fs.picks["vat"].box:
            ex.positions["vat"] = fs.picks["vat"].box
    if fs.get("supplier_address"):
        ex.supplier_address = fs.get("supplier_address")
    if fs.get("recipient"):
        ex.recipient = fs.get("recipient")
        confidence["recipient"] = round(fs.conf("recipient"), 3)
    if fs.get("payment_terms"):
        ex.payment_terms = fs.get("payment_terms")
        confidence["payment_terms"] = round(fs.conf("payment_terms"), 3)
    ex.has_qr = qr is not None
    confidence["has_qr"] = 0.99 if qr is not None else (0.6 if has_qr_part else 0.95)
    if xml:
        ex.text_source = TextSource.XML
    elif qr is not None and any(
        fs.picks.get(n) and fs.picks[n].source == "qr"
        for n in ("total", "supplier_iban", "currency")
    ):
        ex.text_source = TextSource.QR
    ex.confidence = confidence
    return ex
