"""Document type from title words, layout and the fields found, with a confidence.

Title words count most when they are big or near the top of the first page; body hints
(AHV/Bruttolohn, Saldo/Valuta, Rückgeld/TWINT, überfällig) and facts (a QR-bill, a narrow
till-receipt page, many dated amount lines) add to the score. `customer_invoice` is left
to routing: only it knows whose invoice this is.
"""

import re
from dataclasses import dataclass

from domain.enums import DocType, TextSource
from extractors.einvoice import COUNTRY_LANGUAGE
from extractors.fields.labels import HINTS, TITLES, fold_text
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
_DATE_LINE = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.(?:\d{2}|\d{4})\b")
_QR_PART = re.compile(r"zahlteil|section paiement|sezione pagamento|payment part")


@dataclass
class PageFeatures:
    scores: dict[str, float]
    title_kind: str | None  # a type named in the page's title area


def _title_lines(page: PageText, lines: list[Line]) -> list[Line]:
    """Lines in the top 45 % of the page, or in a font bigger than the body."""
    sizes = sorted(w.size for w in page.words if w.size)
    body = sizes[len(sizes) // 2] if sizes else 0.0
    out = []
    for line in lines:
        if line.top < page.height * 0.45 or (body and line.size >= body * 1.3):
            out.append(line)
    return out


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
        for kind, rx in _TITLE_RE.items():
            for m in rx.finditer(folded):
                # The title is big and short; a table header or a sentence naming
                # "the invoice" counts for little. Size is that of the title word itself:
                # a title can share its row with the address in the window.
                matched = line.words_in(m.start(), m.end())
                size = max((w.size for w in matched), default=line.size)
                big = bool(body and size >= body * 1.25)
                weight = 0.5
                if big:
                    weight += 3.5
                if short:
                    weight += 0.7
                if m.start() <= 4:
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
    if _QR_PART.search(text):
        scores["invoice"] += 1.0
    date_lines = sum(1 for line in lines if _DATE_LINE.match(line.text))
    if date_lines >= 6:
        scores["bank_statement"] += 1.5
    if page.width and page.width < 320 and page.height > page.width:
        scores["receipt"] += 3.0  # a till roll: 80 mm wide
    elif page.source is TextSource.OCR and _narrow_text(page):
        scores["receipt"] += 2.0  # a photo of a till roll: the text is a narrow column
    return PageFeatures(scores=scores, title_kind=title_kind)


def _narrow_text(page: PageText) -> bool:
    """Text confined to a narrow column of the image (a receipt photographed on a desk)."""
    if len(page.words) < 15 or not page.width:
        return False
    x0s = sorted(w.x0 for w in page.words)
    x1s = sorted(w.x1 for w in page.words)
    span = x1s[int(len(x1s) * 0.9)] - x0s[int(len(x0s) * 0.1)]
    return span < page.width * 0.5


def classify_pages(pages: list[PageText]) -> tuple[str, float, dict[str, float]]:
    """Sum of page scores, the first page weighted most."""
    total = dict.fromkeys(_TYPE, 0.0)
    for i, page in enumerate(pages[:6]):
        feats = page_features(page)
        weight = 1.0 if i == 0 else 0.4
        for kind, value in feats.scores.items():
            total[kind] += value * weight
    ranked = sorted(total.items(), key=lambda kv: kv[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top < 1.0:
        return "other", 0.4, total
    confidence = 0.55 + 0.44 * min(1.0, (top - second) / max(top, 1e-9) + 0.15 * min(top, 3) / 3)
    return best, round(min(confidence, 0.99), 3), total


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
    kind, confidence, scores = classify_pages(pages if pages is not None else reading.pages)
    doc_type = _TYPE[kind]
    if reading.qr_payloads and doc_type in (DocType.OTHER, DocType.RECEIPT):
        # A QR-bill asks for payment: it is an invoice whatever the title says.
        doc_type, confidence = DocType.SUPPLIER_INVOICE, max(confidence, 0.8)
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
