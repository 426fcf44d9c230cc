"""Document type from title words, layout and the labels found, with a confidence.

Title words count most when they are big or near the top of the first page; body hints
(AHV/Bruttolohn, Saldo/Valuta, Rückgeld/TWINT, überfällig) and facts (a narrow till
roll, a time of day, many dated amount lines) add to the score. What asks for payment
(an invoice number label, a due date or terms, bank details, a billing address, a
QR-bill) tells an invoice from a receipt in any language; a reminder or credit note
shares that evidence with the invoice, so their own words decide between them.

The confidence follows the evidence: the lead of the best type over the second and how
much was found. A type decided by a single weak sign, or against strong signs of another
type, is not reported as sure. `customer_invoice` is left to routing: only it knows whose
invoice this is.
"""

import math
import re
from dataclasses import dataclass

from domain.enums import DocType, TextSource
from extractors.einvoice import COUNTRY_LANGUAGE
from extractors.fields.labels import HINTS, PAYMENT_REQUEST, TITLES, fold_text
from extractors.language import detect_language
from extractors.layout import Line, group_lines
from extractors.reading import Classification, EInvoice, PageText, Reading

_TYPE = {
    "invoice": DocType.SUPPLIER_INVOICE,
    "receipt": DocType.RECEIPT,
    "credit_note": DocType.CREDIT_NOTE,
    "reminder": DocType.REMINDER,
    "payslip": DocType.PAYSLIP,
    "bank_statement": DocType.BANK_STATEMENT,
    "other": DocType.OTHER,
}


def _pattern(words: list[str]) -> re.Pattern[str]:
    alts = sorted((re.escape(w) for w in words), key=len, reverse=True)
    return re.compile(rf"(?<![a-z])(?:{'|'.join(alts)})(?![a-z])")


_TITLE_RE = {kind: _pattern(words) for kind, words in TITLES.items()}
_HINT_RE = {kind: _pattern([h.strip() for h in words]) for kind, words in HINTS.items()}
_PAYMENT_RE = {
    group: re.compile(rf"(?<![a-z])(?:{'|'.join(rxs)})(?![a-z])")
    for group, rxs in PAYMENT_REQUEST.items()
}
# How much each kind of payment request weighs: an invoice number label or a due date is
# printed on invoices and hardly ever on till receipts; bank details and customer numbers
# also appear on letters, statements and order papers.
_PAYMENT_WEIGHT = {"number": 1.2, "due": 1.0, "bank": 0.5, "bill_to": 0.7}
_QR_PART_WEIGHT = 1.0  # the payment part's headings printed on the page
_QR_PAYLOAD_WEIGHT = 4.0  # a decoded Swiss QR-bill: payment asked for, whatever the title
# Kinds that ask for payment like an invoice: they share its payment evidence once their
# own words name them.
_INVOICE_LIKE = ("reminder", "credit_note")
_DATE_LINE = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.(?:\d{2}|\d{4})\b")
_QR_PART = re.compile(r"zahlteil|section paiement|sezione pagamento|payment part")
# A till prints the time of the sale; invoices rarely carry one.
_TIME_OF_DAY = re.compile(r"(?<![\d:.,])(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?![\d:])")
_TIME_WEIGHT = 0.8
# A doc type's lead over the runner-up at which its confidence is 0.5 + 0.49 * 63 %.
_MARGIN_SCALE = 3.0
_CONFLICT = 0.3  # how much a strong runner-up takes off, at equal scores


@dataclass
class PageFeatures:
    scores: dict[str, float]
    title_kind: str | None  # a type named in the page's title area
    payable: float = 0.0  # evidence that the page asks for payment (see PAYMENT_REQUEST)


def _title_lines(page: PageText, lines: list[Line]) -> list[Line]:
    """Lines in the top 45 % of the page, or in a font bigger than the body."""
    sizes = sorted(w.size for w in page.words if w.size)
    body = sizes[len(sizes) // 2] if sizes else 0.0
    out = []
    for line in lines:
        if line.top < page.height * 0.45 or (body and line.size >= body * 1.3):
            out.append(line)
    return out


def _title_matches(folded: str) -> list[tuple[str, int, int]]:
    """(kind, start, end) of the title words in a line; of overlapping ones the longest:
    "factura rectificativa" is a credit note, not a "factura"."""
    found = [
        (kind, m.start(), m.end()) for kind, rx in _TITLE_RE.items() for m in rx.finditer(folded)
    ]
    found.sort(key=lambda f: (f[1] - f[2], f[1]))
    kept: list[tuple[str, int, int]] = []
    for kind, start, end in found:
        if all(end <= s or start >= e for _k, s, e in kept):
            kept.append((kind, start, end))
    return sorted(kept, key=lambda f: f[1])


def page_features(page: PageText, lines: list[Line] | None = None) -> PageFeatures:
    lines = lines if lines is not None else group_lines(page.words)
    scores = dict.fromkeys(_TYPE, 0.0)
    sizes = sorted(w.size for w in page.words if w.size)
    body = sizes[len(sizes) // 2] if sizes else 0.0
    title_kind = None
    best_title = 0.0
    for line in _title_lines(page, lines):
        folded = fold_text(line.text)
        # Field labels ("Rechnung Nr.", "Facture n°") repeat the title word; still a title.
        short = len(folded.split()) <= 6
        for kind, start, end in _title_matches(folded):
            # The title is big and short; a table header or a sentence naming
            # "the invoice" counts for little. Size is that of the title word itself:
            # a title can share its row with the address in the window.
            matched = line.words_in(start, end)
            size = max((w.size for w in matched), default=line.size)
            big = bool(body and size >= body * 1.25)
            weight = 0.5
            if big:
                weight += 3.5
            if short:
                weight += 0.7
            if start <= 4:
                weight += 0.5
            # A credit note or reminder names the invoice it refers to: the specific
            # word wins over "Rechnung" in the same title.
            if kind in ("credit_note", "reminder", "payslip", "bank_statement"):
                weight *= 1.3
            scores[kind] += weight
            if weight > best_title:
                best_title, title_kind = weight, kind
    if title_kind is not None:
        scores[title_kind] += 2.0  # the most prominent title word names the document
    text = fold_text(page.text)
    for kind, rx in _HINT_RE.items():
        hits = len(rx.findall(text))
        scores[kind] += min(hits, 6) * 0.6
    found = {group for group, rx in _PAYMENT_RE.items() if rx.search(text)}
    if not found & {"number", "due"}:
        # Bank details or a customer number alone: a letter or an order paper as well.
        found.clear()
    payable = sum(_PAYMENT_WEIGHT[group] for group in found)
    if _QR_PART.search(text):
        payable += _QR_PART_WEIGHT
    if _TIME_OF_DAY.search(text):
        scores["receipt"] += _TIME_WEIGHT
    date_lines = sum(1 for line in lines if _DATE_LINE.match(line.text))
    if date_lines >= 6:
        scores["bank_statement"] += 1.5
    if page.width and page.width < 320 and page.height > page.width:
        scores["receipt"] += 3.0  # a till roll: 80 mm wide
    elif page.source is TextSource.OCR and _narrow_text(page):
        # A photo of a till roll: a narrow, tall column of text. Weak on its own: a
        # screenshot or a phone capture of an invoice can look the same.
        scores["receipt"] += 1.5
    return PageFeatures(scores=scores, title_kind=title_kind, payable=payable)


def _narrow_text(page: PageText) -> bool:
    """Text confined to a narrow column of the image, at least twice as tall as wide (a
    receipt photographed on a desk; an invoice page framed by a wide image is not)."""
    if len(page.words) < 15 or not page.width:
        return False
    x0s = sorted(w.x0 for w in page.words)
    x1s = sorted(w.x1 for w in page.words)
    span = x1s[int(len(x1s) * 0.9)] - x0s[int(len(x0s) * 0.1)]
    tall = max(w.bottom for w in page.words) - min(w.top for w in page.words)
    return span < page.width * 0.6 and tall >= 2 * span


def classify_pages(
    pages: list[PageText], payable: float = 0.0
) -> tuple[str, float, dict[str, float]]:
    """Sum of page scores, the first page weighted most; `payable` is payment evidence
    from outside the page text (a decoded QR-bill)."""
    total = dict.fromkeys(_TYPE, 0.0)
    for i, page in enumerate(pages[:6]):
        feats = page_features(page)
        weight = 1.0 if i == 0 else 0.4
        for kind, value in feats.scores.items():
            total[kind] += value * weight
        payable += feats.payable * weight
    # Payment asked for: an invoice, unless the document's own words name a reminder or a
    # credit note, which ask (or refund) the same way.
    for kind in _INVOICE_LIKE:
        if total[kind] >= 1.0:
            total[kind] += payable
    total["invoice"] += payable
    ranked = sorted(total.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 1.0:
        return "other", 0.4, {k: round(v, 2) for k, v in total.items()}
    return best, type_confidence(top, second), {k: round(v, 2) for k, v in total.items()}


def type_confidence(top: float, second: float) -> float:
    """0.5 .. 0.99 from the best type's score and the runner-up's.

    The lead decides (a lead of 3 gives 0.81, of 6 gives 0.92, of 9 gives 0.97); a
    runner-up of similar strength takes off up to a third more: two strong, conflicting
    readings are not a sure one."""
    lead = 1.0 - math.exp(-max(top - second, 0.0) / _MARGIN_SCALE)
    conflict = 1.0 - _CONFLICT * (second / top if top > 0 else 0.0)
    return round(min(0.99, 0.5 + 0.49 * lead * conflict), 3)


def classify_reading(reading: Reading, pages: list[PageText] | None = None) -> Classification:
    text = "\n".join(p.text for p in pages) if pages is not None else reading.text
    language, lang_conf = detect_language(text)
    if reading.xml_invoice:
        # The XML's document type code is exact, whatever became of the page images.
        xml = reading.xml_invoice
        doc_type = DocType.CREDIT_NOTE if xml.is_credit_note else DocType.SUPPLIER_INVOICE
        language, lang_conf = _xml_language(xml, language, lang_conf)
        return Classification(
            doc_type=doc_type, confidence=1.0, language=language, language_confidence=lang_conf
        )
    if reading.error is not None and not reading.pages:
        return Classification(
            doc_type=DocType.OTHER, confidence=0.0, language=language, language_confidence=lang_conf
        )
    if reading.bank_statement:
        return Classification(doc_type=DocType.BANK_STATEMENT, confidence=0.99)
    qr = _QR_PAYLOAD_WEIGHT if reading.qr_payloads else 0.0
    kind, confidence, scores = classify_pages(
        pages if pages is not None else reading.pages, payable=qr
    )
    doc_type = _TYPE[kind]
    if reading.qr_payloads and doc_type in (DocType.OTHER, DocType.RECEIPT):
        # A QR-bill asks for payment: an invoice whatever the page says, but the page
        # said otherwise, so not a sure one.
        doc_type, confidence = DocType.SUPPLIER_INVOICE, 0.7
    return Classification(
        doc_type=doc_type,
        confidence=confidence,
        language=language,
        language_confidence=lang_conf,
        scores=scores,
    )


def _xml_language(
    xml: EInvoice, page_language: str | None, page_conf: float
) -> tuple[str | None, float]:
    """An e-invoice's language: declared in the XML (CII LanguageID), else the page's,
    else the XML's own words (notes, items, terms), else the seller's country."""
    if xml.language:
        return xml.language, 0.95
    if page_language:
        return page_language, page_conf
    words_language, words_conf = detect_language(xml.text)
    if words_language:
        return words_language, words_conf
    country = (xml.seller.country or "").upper()
    if country in COUNTRY_LANGUAGE:
        return COUNTRY_LANGUAGE[country], 0.5
    return "en", 0.3
