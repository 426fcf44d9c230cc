"""Fields read from the page text: supplier and recipient, invoice number, dates and
payment terms, amounts and VAT (`text_amounts`), IBAN, UID and payment reference. The
payment part of a QR-bill is left to its payload.
"""

import re
from datetime import date
from typing import Any

from domain.enums import DocType
from domain.extraction import Address, Recipient
from extractors.field_set import Doc, FieldSet, box_of, ocr_factor, span_box
from extractors.fields.dates import find_dates
from extractors.fields.iban import find_ibans
from extractors.fields.invoice_number import find_invoice_numbers
from extractors.fields.labelled import compile_labels, find_labelled
from extractors.fields.labels import ISSUE_DATE_LABELS, fold_text
from extractors.fields.parties import LEGAL_FORM_RE, address_from_block, find_parties
from extractors.fields.references import find_references
from extractors.fields.terms import DUE_RE, due_from_terms, find_due_dates, find_term_days
from extractors.fields.uid import find_uids
from extractors.layout import Line
from extractors.reading import Classification, PageText, Word
from extractors.text_amounts import money

ISSUE_RE = compile_labels(ISSUE_DATE_LABELS)
_RECIPIENT_UID = re.compile(
    r"(?<![a-z])(?:ihre|kunden|empfanger|votre|client|vostr[ao]|cliente|your|customer|buyer)"
)
_MM = 72 / 25.4


def _in_payment_part(line: Line, page: PageText, qr_pages: set[int]) -> bool:
    """The payment part (bottom 105 mm) repeats creditor, amount and reference in its own
    format: the text fields come from the rest of the page, the QR payload covers it."""
    return page.number in qr_pages and line.top > page.height - 106 * _MM


def text_fields(fs: FieldSet, doc: Doc, cls: Classification, qr_pages: set[int]) -> None:
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
    money(fs, doc, body_lines, issue, cls)
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
                    0.7 * ocr_factor(line.words),
                    box_of(line.words),
                    "text",
                )
                break
    if parties.sender is not None:
        addr = address_from_block(parties.sender)
        name = _clean_name(str(addr["name"])) if addr["name"] else None
        seg = parties.sender.segments[0]
        factor = ocr_factor(seg.words)
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
                "supplier_name", name, 0.45 * ocr_factor(best.words), box_of(best.words), "text"
            )
    if parties.recipient is not None and receipt:
        parties.recipient = None  # till receipts name no buyer: that block is the shop's
    if parties.recipient is not None:
        addr = address_from_block(parties.recipient)
        factor = ocr_factor(parties.recipient.segments[0].words)
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
    conf = (0.85 if agreeing == 1 else 0.9) * ocr_factor(hit.line.words_in(hit.start, hit.end))
    fs.offer("invoice_number", value, conf, span_box(hit.line, hit.start, hit.end), "text")


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
            box = span_box(hit.line, hit.start, hit.end)
            fs.offer("issue_date", dates[0].value, 0.85 * ocr_factor(hit.line.words), box, "text")
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
                    0.85 * ocr_factor(hit.line.words),
                    span_box(hit.line, hit.start, hit.end),
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
                        0.78 * ocr_factor(line.words),
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
                    "issue_date", issue, 0.45 * ocr_factor(line.words), box_of(line.words), "text"
                )
                break
    reminder = cls.doc_type is DocType.REMINDER
    for value, hit in find_due_dates(lines):
        # In a reminder the labelled dates are the old invoice's (its table row).
        conf = (0.45 if reminder else 0.85) * ocr_factor(hit.line.words)
        fs.offer("due_date", value, conf, span_box(hit.line, hit.start, hit.end), "text")
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
_PLACE_DATE = re.compile(
    r"^\s*[A-ZÀ-Ý][\w.'’-]+(?:[ -][A-Za-zÀ-ÿ][\w.'’-]*){0,3},\s*(?:le\s+|den\s+|il\s+|am\s+)?"
    r"(.+)$"
)


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
            fs.offer("supplier_iban", iban, 0.85 * ocr_factor(words), box_of(words), "text")
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
                (0.88 if is_vat else 0.82) * ocr_factor(words),
                box_of(words),
                "text",
            )
        if fs.get("supplier_uid"):
            break
    text = "\n".join(line.text for line in lines)
    for kind, ref, _s, _e in find_references(text):
        fs.offer("reference", ref, 0.8 if kind == "QRR" else 0.7, None, "text")
        break
