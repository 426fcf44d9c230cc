"""Reading + Classification -> Extraction: every field from every source, cross-checked.

Sources, best first: e-invoice XML (exact), the Swiss QR-bill (validated payload), then
the printed text. Each field keeps the value with the highest confidence; a value seen by
two sources gains, a value that fails a check (net + VAT != total, QR amount != printed
total) loses confidence instead of being replaced by a guess.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from domain.enums import DocType, TextSource
from domain.extraction import Address, Box, Extraction, Recipient, VatLine
from domain.money import to_money
from extractors.fields.amounts import find_amounts, find_currencies
from extractors.fields.dates import find_dates
from extractors.fields.iban import find_ibans
from extractors.fields.invoice_number import find_invoice_numbers
from extractors.fields.labelled import compile_labels, find_labelled
from extractors.fields.labels import (
    ISSUE_DATE_LABELS,
    NET_LABELS,
    TOTAL_LABELS,
    VAT_WORDS_RE,
    fold_text,
)
from extractors.fields.parties import LEGAL_FORM_RE, address_from_block, find_parties
from extractors.fields.references import find_references
from extractors.fields.terms import DUE_RE, due_from_terms, find_due_dates, find_term_days
from extractors.fields.uid import find_uids
from extractors.fields.vat import (
    find_vat_lines,
    find_vat_table,
    split_by_items,
    split_included,
    vat_matches,
)
from extractors.layout import Line, group_lines
from extractors.qrbill import QrBill, QrBillError, parse_qr_payload
from extractors.reading import Classification, EInvoice, PageText, Reading, Word

ISSUE_RE = compile_labels(ISSUE_DATE_LABELS)
NET_RE = compile_labels(NET_LABELS)
_TOTAL_STRONG = re.compile(
    r"(?<![a-z])(?:gesamttotal|gesamtbetrag|rechnungsbetrag|endbetrag|zu\s+bezahlen|zahlbetrag|"
    r"total\s+(?:chf|eur|fr\.?|sfr\.?|inkl|incl|ttc|a\s+payer|da\s+pagare|due|gutschrift|offen)|"
    r"montant\s+total|total\s+[aà]\s+payer|[aà]\s+payer|importo\s+(?:totale|da\s+pagare)|"
    r"da\s+pagare|amount\s+due|total\s+due|grand\s+total|totale\s+(?:fattura|chf|eur)|"
    r"totale?\s+(?:mwst|tva|iva|vat)\s+(?:inkl|incl|inclus[ea]?|compris[e]?)|"
    r"total(?:e|betrag)?\s+(?:inkl|incl|inclus[ea]?)|zu\s+ihren\s+gunsten|credit\s+amount|"
    r"summe\s+brutto|totalbetrag|a\s+vostro\s+favore|en\s+votre\s+faveur|"
    r"offener\s+betrag|total\s+offen|montant\s+d[uû]|importo\s+dovuto|amount\s+outstanding|"
    r"betrag\s+zu\s+ihren\s+gunsten|gutschriftsbetrag|montant\s+(?:de\s+l'avoir|cr[eé]dit[eé])|"
    r"importo\s+accreditato|credit\s+amount|total\s+credit|nettolohn|salaire\s+net|"
    r"salario\s+netto|net\s+(?:pay|salary)|auszahlung|versement|neuer\s+saldo|nouveau\s+solde|"
    r"saldo\s+finale|closing\s+balance)(?![a-z])"
)
TOTAL_RE = compile_labels(TOTAL_LABELS)
_NOT_TOTAL = re.compile(
    r"(?<![a-z])(?:zwischen|sub|sous|exkl|excl|ohne|netto(?!lohn)|ht(?![a-z])|imponibile|"
    r"mwst|mwst\.|tva|iva|vat|ust|rabatt|remise|sconto|discount|skonto|porto|versand|"
    r"net(?![a-z])|total\s+(?:positionen|lignes)|anzahl|quantit|menge)"
)
_RECIPIENT_UID = re.compile(
    r"(?<![a-z])(?:ihre|kunden|empfanger|votre|client|vostr[ao]|cliente|your|customer|buyer)"
)
_MM = 72 / 25.4


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


@dataclass
class Pick:
    value: Any
    conf: float
    box: Box | None = None
    source: str = ""


class FieldSet:
    """The best value per field so far, with confidence and position."""

    def __init__(self) -> None:
        self.picks: dict[str, Pick] = {}
        # Facts kept for the cross-checks, not fields themselves.
        self.net: Decimal | None = None
        self.recipient_block: Any = None
        self.term_days: int | None = None

    def offer(
        self, name: str, value: Any, conf: float, box: Box | None = None, source: str = ""
    ) -> None:
        if value is None or value == "":
            return
        old = self.picks.get(name)
        if old is None:
            self.picks[name] = Pick(value, conf, box, source)
        elif old.value == value:
            if old.source != source:
                # Two independent sources agree: combine as independent evidence.
                old.conf = min(0.995, 1 - (1 - old.conf) * (1 - conf))
            else:
                old.conf = max(old.conf, conf)
            old.box = old.box or box
        elif conf > old.conf:
            # A contradiction costs the winner some confidence.
            self.picks[name] = Pick(
                value, max(0.05, conf - 0.25 * old.conf), box or old.box, source
            )
        else:
            old.conf = max(0.05, old.conf - 0.25 * conf)

    def override(
        self,
        name: str,
        value: Any,
        conf: float,
        box: Box | None = None,
        source: str = "",
        conflict_conf: float = 0.9,
    ) -> None:
        """An exact source (e-invoice XML) wins; a page that says otherwise costs a little."""
        if value is None or value == "":
            return
        old = self.picks.get(name)
        if old is not None and old.value != value:
            conf = min(conf, conflict_conf)
        self.picks[name] = Pick(value, conf, box or (old.box if old else None), source)

    def set(
        self, name: str, value: Any, conf: float, box: Box | None = None, source: str = ""
    ) -> None:
        self.picks[name] = Pick(value, conf, box, source)

    def get(self, name: str) -> Any:
        pick = self.picks.get(name)
        return pick.value if pick else None

    def conf(self, name: str) -> float:
        pick = self.picks.get(name)
        return pick.conf if pick else 0.0

    def adjust(self, name: str, conf: float) -> None:
        if name in self.picks:
            self.picks[name].conf = max(0.02, min(0.995, conf))


def norm_rate(rate: Decimal) -> Decimal:
    """8.10 -> 8.1, 20.0 -> 20 (never 2E+1)."""
    if rate == rate.to_integral():
        return Decimal(int(rate))
    return rate.normalize()


def _set_source(ex: Extraction, name: str, source: str, page_source: TextSource | None) -> None:
    """The field's source as people are shown it: the QR-bill or the e-invoice XML when
    the value came from there, else how the page was read (text layer or OCR)."""
    exact = {"qr": TextSource.QR, "xml": TextSource.XML}.get(source)
    if exact is not None:
        ex.sources[name] = exact
    elif page_source is not None:
        ex.sources[name] = page_source


def page_sizes(reading: Reading) -> list[tuple[float, float]]:
    """Every page's (width, height) by number, in the units its words' positions use;
    (0, 0) for a page that was not read (OCR limit, a failed page): its size is unknown
    and no field lies on it."""
    known = {p.number: (round(p.width, 2), round(p.height, 2)) for p in reading.pages}
    count = max(reading.page_count, max(known, default=0))
    return [known.get(number, (0.0, 0.0)) for number in range(1, count + 1)]


def box_of(words: list[Word]) -> Box | None:
    if not words:
        return None
    return Box(
        page=words[0].page,
        x0=min(w.x0 for w in words),
        top=min(w.top for w in words),
        x1=max(w.x1 for w in words),
        bottom=max(w.bottom for w in words),
    )


def _span_box(line: Line, start: int, end: int) -> Box | None:
    return box_of(line.words_in(start, end))


def _ocr_factor(words: list[Word]) -> float:
    """Confidence multiplier for values read by OCR: 1.0 for the text layer."""
    confs = [w.conf for w in words if w.conf is not None]
    if not confs:
        return 1.0
    return 0.55 + 0.45 * min(1.0, (sum(confs) / len(confs)) / 95)


@dataclass
class Doc:
    """The pages and lines the fields are taken from (the first part of a split file)."""

    pages: list[PageText]
    lines: list[Line]
    lines_by_page: dict[int, list[Line]]


def _doc(reading: Reading, part: tuple[int, int] | None) -> Doc:
    pages = [p for p in reading.pages if part is None or part[0] <= p.number <= part[1]]
    by_page = {p.number: group_lines(p.words) for p in pages}
    lines = [line for p in pages for line in by_page[p.number]]
    return Doc(pages, lines, by_page)


def _qr_bill(reading: Reading, part: tuple[int, int] | None) -> tuple[QrBill | None, Box | None]:
    for code in reading.qr_codes:
        if part and not part[0] <= code.page <= part[1]:
            continue
        try:
            return parse_qr_payload(code.payload), code.box
        except QrBillError:
            continue
    if not reading.qr_codes:
        for payload in reading.qr_payloads:
            try:
                return parse_qr_payload(payload), None
            except QrBillError:
                continue
    return None, None


_QR_PART_RE = re.compile(
    r"zahlteil|section paiement|sezione pagamento|payment part|empfangsschein|r[eé]c[eé]piss[eé]"
)


def _in_payment_part(line: Line, page: PageText, qr_pages: set[int]) -> bool:
    """The payment part (bottom 105 mm) repeats creditor, amount and reference in its own
    format: the text fields come from the rest of the page, the QR payload covers it."""
    return page.number in qr_pages and line.top > page.height - 106 * _MM


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
    qr, qr_box = _qr_bill(reading, part)
    qr_pages = {p.number for p in doc.pages if _QR_PART_RE.search(fold_text(p.text))}
    qr_pages |= {c.page for c in reading.qr_codes}
    has_qr_part = bool(qr_pages)

    _text_fields(fs, doc, classification, qr_pages)
    if qr is not None:
        _qr_fields(fs, qr, qr_box, reminder=classification.doc_type is DocType.REMINDER)
    xml = reading.xml_invoice
    if xml:
        _xml_fields(fs, xml)
    if xml and xml.total is not None:
        _xml_checks(fs, xml, qr)
    else:
        _cross_checks(fs, classification, qr)

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

    for name in (
        "supplier_name",
        "supplier_uid",
        "supplier_iban",
        "invoice_number",
        "issue_date",
        "due_date",
        "currency",
        "total",
        "reference",
    ):
        pick = fs.picks.get(name)
        if pick is not None:
            setattr(ex, name, pick.value)
            confidence[name] = round(pick.conf, 3)
            _set_source(ex, name, pick.source, reading.text_source)
            if pick.box:
                ex.positions[name] = pick.box
    if fs.get("vat"):
        ex.vat = fs.get("vat")
        confidence["vat"] = round(fs.conf("vat"), 3)
        _set_source(ex, "vat", fs.picks["vat"].source, reading.text_source)
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


# --- text ------------------------------------------------------------------------------


def _text_fields(fs: FieldSet, doc: Doc, cls: Classification, qr_pages: set[int]) -> None:
    if not doc.pages:
        return
    first = doc.pages[0]
    first_lines = doc.lines_by_page[first.number]
    body_lines = [
        line
        for p in doc.pages
        for line in doc.lines_by_page[p.number]
        if not _in_payment_part(line, p, qr_pages)
    ]
    _parties(fs, first, first_lines, qr_pages, cls.doc_type is DocType.RECEIPT)
    _numbers(fs, body_lines, cls)
    issue = _dates(fs, body_lines, first_lines, cls)
    _money(fs, doc, body_lines, issue, cls)
    _identifiers(fs, doc, body_lines)


def _clean_name(name: str) -> str:
    """OCR puts quotes, bars and dots around a letterhead: keep the name itself."""
    return re.sub(r"^[^\wÀ-ÿ&(]+|[^\wÀ-ÿ.)&]+$", "", name).strip() or name


def _parties(
    fs: FieldSet, page: PageText, lines: list[Line], qr_pages: set[int], receipt: bool = False
) -> None:
    lines = [line for line in lines if not _in_payment_part(line, page, qr_pages)]
    parties = find_parties(lines, page.width, page.height)
    if receipt and lines:
        # A till receipt starts with the shop's name; OCR'd letter heights are too noisy
        # to pick it by size.
        for line in lines[:4]:
            text = re.split(r"\s{2,}", line.text)[0].strip()
            confs = [w.conf for w in line.words if w.conf is not None]
            if confs and sum(confs) / len(confs) < 60:
                continue  # the desk's texture read as letters
            if sum(ch.isalpha() for ch in text) >= 4 and not re.search(r"\d{2}[.:]\d{2}", text):
                fs.offer(
                    "supplier_name",
                    _clean_name(text),
                    0.7 * _ocr_factor(line.words),
                    box_of(line.words),
                    "text",
                )
                break
    if parties.sender is not None:
        addr = address_from_block(parties.sender)
        name = _clean_name(str(addr["name"])) if addr["name"] else None
        seg = parties.sender.segments[0]
        factor = _ocr_factor(seg.words)
        conf = (0.8 if LEGAL_FORM_RE.search(str(name or "")) else 0.6) * factor
        fs.offer("supplier_name", name, conf, box_of(seg.words), "text")
        fs.offer(
            "supplier_address",
            Address(
                name=addr["name"],
                street=addr["street"],
                postcode=addr["postcode"],
                city=addr["city"],
                lines=addr["lines"],
            ),
            conf,
            None,
            "text",
        )
    elif lines:
        # No address block: the biggest line near the top is the letterhead.
        top = [line for line in lines if line.top < page.height * 0.25]
        if top:
            best = max(top, key=lambda line: (line.size, -line.top))
            name = re.split(r"\s{2,}", best.text)[0]
            fs.offer(
                "supplier_name", name, 0.45 * _ocr_factor(best.words), box_of(best.words), "text"
            )
    if parties.recipient is not None and receipt:
        parties.recipient = None  # till receipts name no buyer: that block is the shop's
    if parties.recipient is not None:
        addr = address_from_block(parties.recipient)
        factor = _ocr_factor(parties.recipient.segments[0].words)
        fs.offer(
            "recipient",
            Recipient(
                name=addr["name"],
                address=Address(
                    name=addr["name"],
                    street=addr["street"],
                    postcode=addr["postcode"],
                    city=addr["city"],
                    lines=addr["lines"],
                ),
            ),
            0.7 * factor,
            None,
            "text",
        )
        fs.recipient_block = parties.recipient


def _numbers(fs: FieldSet, lines: list[Line], cls: Classification) -> None:
    found = find_invoice_numbers(lines)
    if not found:
        return
    credit_words = ("gutschrift", "credit", "avoir", "credito")
    prefer_credit = cls.doc_type is DocType.CREDIT_NOTE

    def rank(item: tuple[str, Any]) -> tuple[int, int]:
        _value, hit = item
        label = hit.label
        is_credit_label = any(w in label for w in credit_words)
        return (int(is_credit_label == prefer_credit), -lines.index(hit.line))

    value, hit = max(found, key=rank)
    agreeing = sum(1 for v, _ in found if v == value)
    conf = (0.85 if agreeing == 1 else 0.9) * _ocr_factor(hit.line.words_in(hit.start, hit.end))
    fs.offer("invoice_number", value, conf, _span_box(hit.line, hit.start, hit.end), "text")


def _dates(
    fs: FieldSet, lines: list[Line], first_lines: list[Line], cls: Classification
) -> date | None:
    issue = None
    for hit in find_labelled(lines, ISSUE_RE):
        label_line = hit.label_line or hit.line
        folded = fold_text(label_line.text)
        label_at = hit.label_start
        due = DUE_RE.search(folded)
        if due and due.start() <= label_at:
            continue
        # Other dates carry the same label word: "Lieferdatum", "Date de livraison".
        context = folded[max(0, label_at - 25) : label_at + len(hit.label) + 18]
        if re.search(
            r"liefer|leistung|livraison|consegna|delivery|periode|period|valuta|"
            r"druck|print|geburt|naissance|nascita|birth|service|prestation|"
            r"prestazione|echeance|scadenza|due|fallig|payable|pagabile|zahlbar",
            context,
        ):
            continue
        dates = find_dates(hit.text)
        if dates:
            box = _span_box(hit.line, hit.start, hit.end)
            fs.offer("issue_date", dates[0].value, 0.85 * _ocr_factor(hit.line.words), box, "text")
            issue = issue or dates[0].value
            break
    if cls.doc_type is DocType.BANK_STATEMENT:
        # A statement is dated by the end of its period ("Periode 01.03. – 31.03.2026").
        for hit in find_labelled(lines, _PERIOD_RE):
            dates = find_dates(hit.text)
            if len(dates) >= 2:
                fs.set(
                    "issue_date",
                    dates[1].value,
                    0.85 * _ocr_factor(hit.line.words),
                    _span_box(hit.line, hit.start, hit.end),
                    "text",
                )
                issue = dates[1].value
                break
    if issue is None:
        # "Zürich, 15. März 2026" in the header, else the first date on the first page.
        for line in first_lines:
            if line.top > 0.45 * 842:
                break
            for seg in re.split(r"\s{2,}", line.text):
                m = _PLACE_DATE.match(seg)
                dates = find_dates(m.group(1)) if m else []
                if dates:
                    issue = dates[0].value
                    fs.offer(
                        "issue_date",
                        issue,
                        0.78 * _ocr_factor(line.words),
                        box_of(line.words),
                        "text",
                    )
                    break
            if issue is not None:
                break
    if issue is None:
        for line in first_lines:
            folded = fold_text(line.text)
            if DUE_RE.search(folded):
                continue
            dates = find_dates(line.text)
            if dates:
                issue = dates[0].value
                fs.offer(
                    "issue_date", issue, 0.45 * _ocr_factor(line.words), box_of(line.words), "text"
                )
                break
    reminder = cls.doc_type is DocType.REMINDER
    for value, hit in find_due_dates(lines):
        # In a reminder the labelled dates are the old invoice's (its table row).
        conf = (0.45 if reminder else 0.85) * _ocr_factor(hit.line.words)
        fs.offer("due_date", value, conf, _span_box(hit.line, hit.start, hit.end), "text")
        break
    text = "\n".join(line.text for line in lines)
    terms = find_term_days(text) if cls.doc_type is not DocType.RECEIPT else []
    if terms:
        # With a cash discount the net term is the longest one.
        days, printed = max(terms, key=lambda t: t[0])
        fs.offer("payment_terms", printed, 0.8, None, "text")
        fs.term_days = days
        due = due_from_terms(fs.get("issue_date"), days)
        if due is not None:
            if fs.get("due_date") == due:
                fs.adjust("due_date", 0.97)
            elif fs.get("due_date") is None or reminder:
                fs.offer(
                    "due_date",
                    due,
                    (0.85 if reminder else 0.7) * min(1.0, fs.conf("issue_date") + 0.1),
                    None,
                    "terms",
                )
    return fs.get("issue_date")


_PERIOD_RE = compile_labels([r"periode", r"period", r"periodo", r"zeitraum"])
_PAYOUT_RE = re.compile(
    r"(?<![a-z])(?:auszahlung|versement|pagamento|payout|nettolohn|salaire\s+net|salario\s+netto|"
    r"net\s+salary)(?![a-z])"
)
_CLOSING_RE = re.compile(
    r"(?<![a-z])(?:schlusssaldo|neuer\s+saldo|solde\s+final|nouveau\s+solde|saldo\s+finale|"
    r"closing\s+balance)(?![a-z])"
)
_PLACE_DATE = re.compile(
    r"^\s*[A-ZÀ-Ý][\w.'’-]+(?:[ -][A-Za-zÀ-ÿ][\w.'’-]*){0,3},\s*(?:le\s+|den\s+|il\s+|am\s+)?"
    r"(.+)$"
)


def _line_amounts(line: Line) -> list[tuple[Decimal, str | None, int, int]]:
    return [(a.value, a.currency, a.start, a.end) for a in find_amounts(line.text)]


def _money(
    fs: FieldSet, doc: Doc, lines: list[Line], issue: date | None, cls: Classification
) -> None:
    candidates: list[tuple[float, Decimal, str | None, Line, int, int]] = []
    special = {DocType.PAYSLIP: _PAYOUT_RE, DocType.BANK_STATEMENT: _CLOSING_RE}.get(cls.doc_type)
    for i, line in enumerate(lines):
        folded = fold_text(line.text)
        if special is not None:
            m = special.search(folded)
            amounts = [a for a in _line_amounts(line) if m and a[2] >= m.start()]
            if m and amounts:
                value, cur, start, end = amounts[-1]
                # The payout row comes after the net salary; the bold closing row last.
                candidates.append((3.0 + 0.001 * i, value, cur, line, start, end))
            continue
        strong = _TOTAL_STRONG.search(folded)
        weak = TOTAL_RE.search(folded)
        if not strong and not weak:
            continue
        label = strong or weak
        assert label is not None
        if _NOT_TOTAL.search(folded[: label.end() + 12]) and not strong:
            continue
        amounts = [a for a in _line_amounts(line) if a[2] >= label.start()]
        if not amounts and i + 1 < len(lines) and lines[i + 1].page == line.page:
            below = lines[i + 1]
            amounts = _line_amounts(below)
            if amounts:
                # A column header ("Total CHF") over the first item row: a weak guess.
                value, cur, start, end = amounts[-1]
                candidates.append((0.5 + 0.001 * i, value, cur, below, start, end))
            continue
        if not amounts:
            continue
        value, cur, start, end = amounts[-1]
        score = (
            (2.0 if strong else 1.0)
            + 0.001 * i
            + (0.3 if line.size and _is_big(line, lines) else 0)
        )
        candidates.append((score, value, cur, line, start, end))
    currency_counts = find_currencies("\n".join(line.text for line in lines))
    if candidates:
        score, value, cur, line, start, end = max(candidates, key=lambda c: (c[0], abs(c[1])))
        agree = sum(1 for c in candidates if c[1] == value)
        conf = (0.8 if score >= 2 else 0.65) + (0.08 if agree > 1 else 0.0)
        conf *= _ocr_factor(line.words_in(start, end))
        fs.offer(
            "total",
            abs(value) if cls.doc_type is DocType.CREDIT_NOTE else value,
            conf,
            _span_box(line, start, end),
            "text",
        )
        currency = (
            cur
            or _currency_near(line)
            or (max(set(currency_counts), key=currency_counts.count) if currency_counts else None)
        )
        if currency:
            fs.offer(
                "currency", currency, 0.85 if cur or _currency_near(line) else 0.7, None, "text"
            )
    elif currency_counts:
        fs.offer(
            "currency", max(set(currency_counts), key=currency_counts.count), 0.6, None, "text"
        )
    # Net amount, for the net + VAT = total check.
    for line in lines:
        folded = fold_text(line.text)
        m = NET_RE.search(folded)
        if m and not re.search(r"mwst|tva|iva|vat|ust", folded[: m.start()]):
            amounts = [a for a in _line_amounts(line) if a[2] >= m.start()]
            if amounts:
                fs.net = amounts[-1][0]
                break
    found = find_vat_table(lines, issue) or find_vat_lines(
        lines, issue, included=cls.doc_type is DocType.RECEIPT
    )
    if found:
        # Per rate the most convincing line: one whose arithmetic checks, else the last
        # (VAT lines follow the items, and an item may be called "MWST-Abrechnung").
        by_rate: dict[Decimal, Any] = {}
        for v in found:
            old = by_rate.get(v.rate)
            if old is None or v.checked or not old.checked:
                by_rate[v.rate] = v
        vat_lines = []
        ok = True
        gross_total = fs.get("total")
        included = [v for v in by_rate.values() if v.included and v.base is None and v.amount]
        if len(included) > 1 and gross_total is not None and len(included) == len(by_rate):
            pairs = [(v.rate, abs(v.amount)) for v in included]
            grosses = split_by_items(abs(gross_total), pairs, _item_amounts(lines, gross_total))
            grosses = grosses or split_included(abs(gross_total), pairs)
            if grosses:
                for v, gross in zip(included, grosses, strict=True):
                    v.base = to_money(gross - abs(v.amount))
        for v in by_rate.values():
            base = v.base
            if base is None and v.included:
                gross = fs.get("total")
                if gross is not None and len(by_rate) == 1:
                    base = to_money(gross - v.amount)
                elif gross is not None:
                    base = None
            if base is None and not v.included and len(by_rate) == 1:
                net = fs.net
                if net is not None:
                    base = net
            if base is not None and v.amount is not None:
                ok = ok and vat_matches(base, v.rate, v.amount)
            vat_lines.append(VatLine(rate=v.rate, base=base, amount=v.amount))
        if any(v.base is None for v in vat_lines):
            sums = _rate_sums(lines)
            for v in vat_lines:
                total_at_rate = sums.get(v.rate)
                if v.base is None and total_at_rate is not None and v.amount is not None:
                    amount = abs(v.amount)
                    for base in (total_at_rate, to_money(total_at_rate - amount)):
                        if vat_matches(base, v.rate, amount):
                            v.base = base
                            break
        ok = ok and all(v.base is not None for v in vat_lines)
        conf = (0.85 if ok else 0.5) * _ocr_factor(found[0].line.words)
        fs.offer("vat", vat_lines, conf, box_of(found[0].line.words), "text")


def _item_amounts(lines: list[Line], total: Decimal) -> list[Decimal]:
    """Amounts of the item lines of a receipt: right-hand amounts above the total line."""
    out: list[Decimal] = []
    for line in lines:
        folded = fold_text(line.text)
        if _TOTAL_STRONG.search(folded) or TOTAL_RE.search(folded):
            if out and sum(out) == abs(total):
                return out
            if out:
                break
            continue
        amounts = find_amounts(line.text)
        if (
            amounts
            and amounts[-1].end >= len(line.text.rstrip()) - 1
            and not VAT_WORDS_RE.search(folded)
        ):
            out.append(abs(amounts[-1].value))
    return out if sum(out, Decimal(0)) == abs(total) else []


_ROW_RATE = re.compile(r"(?<![\d.,])(\d{1,2}(?:[.,]\d{1,2})?)\s?%")


def _rate_sums(lines: list[Line]) -> dict[Decimal, Decimal]:
    """Per VAT rate, the sum of the item rows that name it (a rate column in the table)."""
    sums: dict[Decimal, Decimal] = {}
    for line in lines:
        if VAT_WORDS_RE.search(fold_text(line.text)):
            continue
        rates = _ROW_RATE.findall(line.text)
        if len(rates) != 1:
            continue
        amounts = find_amounts(line.text)
        if not amounts:
            continue
        rate = Decimal(rates[0].replace(",", "."))
        rate = rate.normalize() if rate == rate.to_integral() else rate
        sums[rate] = sums.get(rate, Decimal(0)) + abs(amounts[-1].value)
    return sums


def _is_big(line: Line, lines: list[Line]) -> bool:
    sizes = sorted(line_.size for line_ in lines if line_.size)
    return bool(sizes) and line.size > sizes[len(sizes) // 2] * 1.15


def _currency_near(line: Line) -> str | None:
    found = find_currencies(line.text)
    return found[-1] if found else None


def _label_above(lines: list[Line], line: Line, words: list[Word]) -> str:
    """The folded text printed right above `words` (a label over its value in a grid)."""
    if not words:
        return ""
    index = next((i for i, candidate in enumerate(lines) if candidate is line), 0)
    if index == 0 or lines[index - 1].page != line.page:
        return ""
    above = lines[index - 1]
    if line.top - above.bottom > (line.bottom - line.top) * 2.5:
        return ""
    x0, x1 = words[0].x0, words[-1].x1
    return fold_text(" ".join(w.text for w in above.words if w.x1 > x0 - 5 and w.x0 < x1 + 5))


def _identifiers(fs: FieldSet, doc: Doc, lines: list[Line]) -> None:
    recipient_block = fs.recipient_block
    recipient_tops = {s.top for s in recipient_block.segments} if recipient_block else set()
    for i, line in enumerate(lines):
        # An IBAN in running text may wrap onto the next line.
        text = line.text
        if i + 1 < len(lines) and lines[i + 1].page == line.page:
            text = f"{line.text} {lines[i + 1].text}"
        for iban, start, _end in find_ibans(text):
            if start >= len(line.text):
                continue
            folded = fold_text(line.text[:start])
            if _RECIPIENT_UID.search(folded):
                continue
            words = line.words_in(start, start + len(iban))
            fs.offer("supplier_iban", iban, 0.85 * _ocr_factor(words), box_of(words), "text")
            break
        if fs.get("supplier_iban"):
            break
    for line in lines:
        for uid, start, end, is_vat in find_uids(line.text):
            folded = fold_text(line.text[:start])
            words = line.words_in(start, end)
            in_window = any(abs(w.top - t) < 1 for w in words for t in recipient_tops)
            above = _label_above(lines, line, words)
            if _RECIPIENT_UID.search(folded[-25:]) or _RECIPIENT_UID.search(above) or in_window:
                rec = fs.get("recipient")
                if rec is not None and rec.uid is None:
                    rec.uid = uid
                continue
            fs.offer(
                "supplier_uid",
                uid,
                (0.88 if is_vat else 0.82) * _ocr_factor(words),
                box_of(words),
                "text",
            )
        if fs.get("supplier_uid"):
            break
    text = "\n".join(line.text for line in lines)
    for kind, ref, _s, _e in find_references(text):
        fs.offer("reference", ref, 0.8 if kind == "QRR" else 0.7, None, "text")
        break


# --- QR-bill and XML -------------------------------------------------------------------


def _qr_fields(fs: FieldSet, qr: QrBill, box: Box | None, reminder: bool = False) -> None:
    fs.offer("supplier_iban", qr.iban, 0.98, box, "qr")
    if qr.amount is not None:
        fs.offer("total", qr.amount, 0.97, box, "qr")
    fs.offer("currency", qr.currency, 0.98, box, "qr")
    if qr.reference:
        fs.offer("reference", qr.reference, 0.98, box, "qr")
    fs.offer("supplier_name", qr.creditor.name, 0.93, box, "qr")
    postcode, city = qr.creditor.town_from_combined()
    addr = Address(
        name=qr.creditor.name,
        street=" ".join(x for x in (qr.creditor.street, qr.creditor.house_no) if x) or None
        if qr.creditor.address_type == "S"
        else qr.creditor.street,
        postcode=postcode,
        city=city,
        country=qr.creditor.country,
        lines=qr.creditor.lines,
    )
    fs.set("supplier_address", addr, 0.95, box, "qr")
    if qr.debtor is not None:
        d_post, d_city = qr.debtor.town_from_combined()
        old = fs.get("recipient")
        rec = Recipient(
            name=qr.debtor.name,
            address=Address(
                name=qr.debtor.name,
                street=" ".join(x for x in (qr.debtor.street, qr.debtor.house_no) if x) or None
                if qr.debtor.address_type == "S"
                else qr.debtor.street,
                postcode=d_post,
                city=d_city,
                country=qr.debtor.country,
                lines=qr.debtor.lines,
            ),
            uid=old.uid if old is not None else None,
        )
        fs.set("recipient", rec, 0.95, box, "qr")
    s1 = qr.s1
    if s1 is None:
        return
    if s1.invoice_number:
        fs.offer("invoice_number", s1.invoice_number, 0.95, box, "qr")
    if reminder:
        return  # S1 describes the invoice being reminded of: its date and terms are old
    if s1.invoice_date:
        fs.offer("issue_date", s1.invoice_date, 0.95, box, "qr")
    if s1.uid:
        fs.offer("supplier_uid", s1.uid, 0.95, box, "qr")
    if s1.net_days is not None:
        fs.offer(
            "payment_terms",
            f"{s1.net_days} days net"
            if len(s1.terms) <= 1
            else ";".join(f"{t.discount_percent}%:{t.days}" for t in s1.terms),
            0.95,
            box,
            "qr",
        )
        issue = s1.invoice_date or fs.get("issue_date")
        due = due_from_terms(issue, s1.net_days)
        if due is not None:
            fs.offer("due_date", due, 0.9, box, "qr")
    if s1.vat:
        text_vat = {v.rate: v for v in fs.get("vat") or []}
        lines = []
        for v in s1.vat:
            printed = text_vat.get(v.rate)
            base = to_money(v.net) if v.net is not None else (printed.base if printed else None)
            amount = printed.amount if printed else None
            if amount is None and base is not None:
                amount = to_money(base * v.rate / 100)
            lines.append(VatLine(rate=v.rate, base=base, amount=amount))
        checked = all(
            lv.base is not None
            and lv.amount is not None
            and vat_matches(lv.base, lv.rate, lv.amount)
            for lv in lines
        )
        same_rates = set(text_vat) == {v.rate for v in s1.vat}
        if same_rates and checked:
            # The QR confirms the rates; the printed amounts check out arithmetically.
            fs.set("vat", lines, max(fs.conf("vat"), 0.93), fs.picks["vat"].box, "qr")
        elif len(s1.vat) > 1 or text_vat or all(v.net is not None for v in s1.vat):
            fs.set("vat", lines, 0.75 if checked else 0.45, box, "qr")


EXACT = 1.0  # a value the e-invoice XML states
_DERIVED = 0.85  # computed from the XML's own facts (issue date + its payment terms)


def _exact(fs: FieldSet, name: str, value: Any, conf: float = EXACT) -> None:
    """The XML's value wins over the page's; where the page shows the same value, the
    box where it stands is kept so a reviewer is shown the spot."""
    if value is None or value == "":
        return
    old = fs.picks.get(name)
    same = old is not None and (
        old.value == value
        or (name == "total" and isinstance(old.value, Decimal) and abs(old.value) == value)
    )
    fs.set(name, value, conf, old.box if same and old else None, "xml")


def _xml_fields(fs: FieldSet, xml: EInvoice) -> None:
    seller = xml.seller
    _exact(fs, "supplier_name", seller.name)
    # Only a Swiss UID goes into `supplier_uid`: routing reads any nine digits there as
    # one, and a German VAT number has nine.
    for candidate in (seller.vat_id, *seller.tax_ids, seller.legal_id):
        uids = find_uids(str(candidate or ""))
        if uids:
            _exact(fs, "supplier_uid", uids[0][0])
            break
    if xml.iban and xml.iban_valid:
        _exact(fs, "supplier_iban", xml.iban)
    elif xml.iban:
        # Check digits that do not hold: the page may show the right one.
        fs.offer("supplier_iban", xml.iban, 0.5, None, "xml")
    _exact(fs, "invoice_number", xml.invoice_number)
    _exact(fs, "issue_date", xml.issue_date)
    _exact(fs, "due_date", xml.due_date)
    if xml.due_date is None and xml.issue_date is not None:
        _due_from_xml_terms(fs, xml)
    _exact(fs, "currency", xml.currency)
    if xml.total is not None:
        # The sign follows the document type (credit notes negative), set by the caller.
        _exact(fs, "total", to_money(abs(xml.total)))
    if xml.vat:
        _exact(
            fs,
            "vat",
            [
                VatLine(
                    rate=v.rate,
                    base=to_money(v.base) if v.base is not None else None,
                    amount=to_money(v.amount) if v.amount is not None else None,
                )
                for v in xml.vat
            ],
        )
    _exact(fs, "payment_terms", xml.payment_terms)
    if seller.name or seller.city:
        _exact(
            fs,
            "supplier_address",
            Address(
                name=seller.name,
                street=seller.street,
                postcode=seller.postcode,
                city=seller.city,
                country=seller.country,
            ),
        )
    buyer = xml.buyer
    if buyer.name:
        buids = find_uids(" ".join(str(v or "") for v in (buyer.vat_id, *buyer.tax_ids)))
        _exact(
            fs,
            "recipient",
            Recipient(
                name=buyer.name,
                address=Address(
                    name=buyer.name,
                    street=buyer.street,
                    postcode=buyer.postcode,
                    city=buyer.city,
                    country=buyer.country,
                ),
                uid=buids[0][0] if buids else None,
            ),
        )
    if xml.remittance:
        # `reference` is a structured payment reference (QR reference or ISO 11649 creditor
        # reference); free remittance text ("Rechnung 4711") is not one.
        refs = find_references(xml.remittance)
        if refs:
            _exact(fs, "reference", refs[0][1])


# Terms that are no net term: a cash discount's period ("2% Skonto innerhalb 10 Tagen").
_DISCOUNT_TERMS = re.compile(r"skonto|escompte|sconto|discount|rabatt|%")
_IMMEDIATE_TERMS = re.compile(
    r"sofort|umgehend|immediate|upon\s+receipt|on\s+receipt|[aà]\s+r[eé]ception|"
    r"d[eè]s\s+r[eé]ception|immediatamente|a\s+vista"
)


def _net_term_days(terms: str) -> int | None:
    """The net payment term of an e-invoice's terms text, in days (0: at once)."""
    days = []
    for clause in re.split(r"[;\n]|,\s|\.\s", terms):
        if not _DISCOUNT_TERMS.search(clause.lower()):
            days.extend(d for d, _ in find_term_days(clause))
    if days:
        return max(days)
    return 0 if _IMMEDIATE_TERMS.search(terms.lower()) else None


def _due_from_xml_terms(fs: FieldSet, xml: EInvoice) -> None:
    """No due date in the XML: its issue date plus the net term of its payment terms
    ("30 Tage netto"); only an XML without terms borrows the term the page states. A due
    date the page computed from terms the XML does not state gives way."""
    if xml.payment_terms:
        days, source = _net_term_days(xml.payment_terms), "xml"
    else:
        days, source = fs.term_days, "terms"
    due = due_from_terms(xml.issue_date, days)
    old = fs.picks.get("due_date")
    if due is not None and (old is None or old.source in ("terms", "xml") or old.value == due):
        fs.set("due_date", due, _DERIVED, old.box if old and old.value == due else None, source)
    elif due is None and old is not None and old.source == "terms":
        fs.picks.pop("due_date")


def _xml_checks(fs: FieldSet, xml: EInvoice, qr: QrBill | None) -> None:
    """The e-invoice against itself: its VAT breakdown (or net + VAT) adds up to its gross
    total, and a QR-bill on its page asks for that total or the amount due. Exact values
    that contradict each other are still what the XML says, but not to be posted unseen."""
    total = xml.total
    if total is None:
        return
    checks = []
    bases = [v.base for v in xml.vat if v.base is not None]
    amounts = [v.amount for v in xml.vat if v.amount is not None]
    if xml.vat and len(bases) == len(amounts) == len(xml.vat):
        checks.append(abs(sum(bases) + sum(amounts) - total) <= Decimal("0.05"))
    elif xml.net is not None and xml.vat_total is not None:
        checks.append(abs(xml.net + xml.vat_total - total) <= Decimal("0.05"))
    if qr is not None and qr.amount is not None:
        asked = {abs(total)} | ({abs(xml.amount_due)} if xml.amount_due is not None else set())
        checks.append(qr.amount in asked)
    if all(checks):
        return
    for name in ("total", "vat"):
        pick = fs.picks.get(name)
        if pick is not None and pick.source == "xml":
            pick.conf = round(pick.conf * 0.6, 3)


# --- checks ----------------------------------------------------------------------------


def _cross_checks(fs: FieldSet, cls: Classification, qr: QrBill | None) -> None:
    total = fs.get("total")
    if total is None:
        return
    vat: list[VatLine] = fs.get("vat") or []
    net = fs.net
    amounts = [v.amount for v in vat if v.amount is not None]
    bases = [v.base for v in vat if v.base is not None]
    checks = []
    if vat and amounts:
        if bases and len(bases) == len(vat):
            checks.append(abs(sum(bases) + sum(amounts) - abs(total)) <= Decimal("0.05"))
        elif net is not None:
            checks.append(abs(net + sum(amounts) - abs(total)) <= Decimal("0.05"))
    if qr is not None and qr.amount is not None and fs.picks["total"].source != "qr":
        checks.append(qr.amount == abs(total))
    if not checks:
        return
    if all(checks):
        fs.adjust("total", max(fs.conf("total"), 0.97))
        if vat:
            fs.adjust("vat", max(fs.conf("vat"), 0.95))
    else:
        fs.adjust("total", fs.conf("total") * 0.6)
        if vat:
            fs.adjust("vat", fs.conf("vat") * 0.6)
