"""Fields read from the page text: supplier and recipient, invoice number, dates and
payment terms, amounts and VAT (`text_amounts`), IBAN, UID and payment reference. The
payment part of a QR-bill is left to its payload.
"""

import re
from collections.abc import Callable
from datetime import date

from domain.enums import DocType
from domain.extraction import Address, Recipient
from extractors.field_set import Doc, FieldSet, box_of, ocr_factor, span_box
from extractors.fields.dates import DateMatch, DateOrder, date_order, find_dates
from extractors.fields.iban import find_ibans
from extractors.fields.invoice_number import BARE_LABEL, find_invoice_numbers, fix_ocr_number
from extractors.fields.labelled import Hit, compile_labels, find_labelled
from extractors.fields.labels import ISSUE_DATE_GENERIC, ISSUE_DATE_LABELS, fold_text
from extractors.fields.parties import (
    address_from_block,
    find_parties,
    labelled_recipient,
    supplier_name,
)
from extractors.fields.party_names import name_key
from extractors.fields.references import find_references
from extractors.fields.terms import (
    DUE_RE,
    due_from_terms,
    end_of_month,
    find_due_dates,
    find_term_days,
)
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
    payment_lines = [
        line
        for p in doc.pages
        for line in doc.lines_by_page[p.number]
        if _in_payment_part(line, p, qr_pages)
    ]
    number = _numbers(fs, body_lines, cls, payment_lines)
    issue = _dates(fs, body_lines, first_lines, cls, number)
    money(fs, doc, body_lines, issue, cls)
    _identifiers(fs, doc, body_lines)


def _parties(
    fs: FieldSet, page: PageText, lines: list[Line], qr_pages: set[int], receipt: bool = False
) -> None:
    lines = [line for line in lines if not _in_payment_part(line, page, qr_pages)]
    parties = find_parties(lines, page.width, page.height)
    if receipt:
        parties.recipient = None  # till receipts name no buyer: that block is the shop's
    found = supplier_name(lines, page.height, parties, receipt)
    if found is not None:
        conf = found.conf * ocr_factor(found.words)
        fs.offer("supplier_name", found.name, conf, box_of(found.words), "text")
        block = found.block
        if block is None and parties.sender is not None:
            sender_name = address_from_block(parties.sender)["name"]
            if sender_name and name_key(str(sender_name)) == name_key(found.name):
                block = parties.sender
        if block is not None:
            addr = address_from_block(block)
            fs.offer(
                "supplier_address",
                Address(
                    name=found.name,
                    street=addr["street"],
                    postcode=addr["postcode"],
                    city=addr["city"],
                    lines=addr["lines"],
                ),
                conf,
                None,
                "text",
            )
    recipient_conf = 0.7
    if parties.recipient is None and not receipt:
        # Layouts without a window name the addressee under a label ("Bill to").
        parties.recipient = labelled_recipient(lines)
        recipient_conf = 0.6
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
            recipient_conf * factor,
            None,
            "text",
        )
        fs.recipient_block = parties.recipient


_CREDIT_WORDS = ("gutschrift", "credit", "avoir", "abono", "rectificativa")
# A number named as another document's: "Riferimento: fattura n. 17", "zu Rechnung Nr. 17",
# "concerne facture n° 17", "original invoice no. 17" (a credit note's or a receipt's).
_REFERENCE_CONTEXT = re.compile(
    r"(?<![a-z])(?:riferimento|rif|bezug|betreff\w*|betr|concerne|r[eé]f[eé]rence|ref|re|"
    r"regarding|original\w*|ursprungl\w*|initiale?|zu|pour|per|for|of|to|auf|sur|su|"
    r"storno|annul\w*|korrektur|correction|rectifica\w*)\W{0,3}$"
)


def _numbers(
    fs: FieldSet, lines: list[Line], cls: Classification, payment_lines: list[Line] | None = None
) -> tuple[str, Hit] | None:
    """The invoice number; returns it as printed, and where, when it is the document's own
    (not another document's named as a reference). Only when the page names none does the
    QR-bill's additional information count ("Facture 48390"), trusted less."""
    found = find_invoice_numbers(lines, bare=True)
    in_payment_part = not found and bool(payment_lines)
    if in_payment_part:
        lines = payment_lines or []
        found = find_invoice_numbers(lines)
    if not found:
        return None
    position = {id(line): i for i, line in enumerate(lines)}
    prefer_credit = cls.doc_type is DocType.CREDIT_NOTE
    reminder = cls.doc_type is DocType.REMINDER

    def reference(hit: Hit) -> bool:
        # In a reminder the old invoice's number is the one it is about.
        before = fold_text((hit.label_line or hit.line).text[: hit.label_start])
        same_column = before.split("  ")[-1][-30:]
        return not reminder and bool(_REFERENCE_CONTEXT.search(same_column))

    def rank(item: tuple[str, Hit]) -> tuple[bool, bool, bool, int]:
        _value, hit = item
        is_credit_label = any(w in hit.label for w in _CREDIT_WORDS)
        return (
            not reference(hit),
            is_credit_label == prefer_credit,
            hit.label != BARE_LABEL,
            -position.get(id(hit.line), 0),
        )

    value, hit = max(found, key=rank)
    printed = value
    words = hit.line.words_in(hit.start, hit.end)
    conf = 0.85
    if any(w.conf is not None for w in words):
        fixed = fix_ocr_number(value)
        if fixed != value:
            value, conf = fixed, conf * 0.85  # a letter read as a digit: a guess
    agreeing = {id(h.line) for v, h in found if v == value or fix_ocr_number(v) == value}
    if len(agreeing) > 1:
        conf += 0.05
    if hit.label == BARE_LABEL:
        conf = min(conf, 0.65)
    own = not reference(hit)
    if not own:
        conf = min(conf, 0.5)
    if in_payment_part:
        conf, own = min(conf, 0.7), False
    at = hit.line.text.find(printed, hit.start)
    value_words = hit.line.words_in(at, at + len(printed)) if at >= 0 else words
    fs.offer("invoice_number", value, conf * ocr_factor(value_words), box_of(value_words), "text")
    return (printed, hit) if own else None


# Dates that carry an issue-date label word but are another date: "Lieferdatum",
# "Date de livraison", "Order date", "Fecha de vencimiento".
_NOT_ISSUE = re.compile(
    r"liefer|leistung|livraison|consegna|delivery|levering|entrega|periode|period|valuta|"
    r"druck|print|geburt|naissance|nascita|birth|service|prestation|prestazione|echeance|"
    r"scadenza|due|fallig|payable|pagabile|zahlbar|vencimiento|verval|order|commande|ordine|"
    r"pedido|bestel|auftrag|ship|versand|spedizione|gultig|valable|valid|expir|ablauf"
)
# "Liefer- und Rechnungsdatum": the delivery word names the same date.
_JOINED = re.compile(r"(?<![a-z])(?:und|and|et|e|y|en|&|/)\s*$")
_GENERIC_ISSUE = re.compile("|".join(ISSUE_DATE_GENERIC))
# "Rechnung Nr. 17 vom 3.3.2026", "facture n° 17 du ...", "invoice no. 17 dated ...".
_NUMBER_DATE = re.compile(r"[\s,]*(?:vom|von|du|del|dell'|of|dated|from|de)\s+", re.IGNORECASE)


def _label_words(hit: Hit) -> list[Word]:
    line = hit.label_line or hit.line
    return line.words_in(hit.label_start, hit.label_start + len(hit.label))


def _date_words(hit: Hit, found: DateMatch) -> list[Word]:
    return hit.line.words_in(hit.start + found.start, hit.start + found.end)


def _not_issue(hit: Hit) -> bool:
    """Whether the label names another date than the issue date."""
    line = hit.label_line or hit.line
    folded = fold_text(line.text)
    at, end = hit.label_start, hit.label_start + len(hit.label)
    for due in DUE_RE.finditer(folded):
        # The label is part of a due-date label, or follows one in the same column.
        if due.start() <= at < due.end() or (
            due.end() <= at and "  " not in folded[due.end() : at] and at - due.end() < 4
        ):
            return True
    gap = folded.rfind("  ", 0, at)
    before = folded[max(gap + 2 if gap >= 0 else 0, at - 25) : at]
    after = re.split(r"[:\d]|\s\s", folded[end : end + 20])[0]
    if _NOT_ISSUE.search(after):
        return True
    return not _JOINED.search(before) and bool(_NOT_ISSUE.search(before))


def _column_of_dates(lines: list[Line], hit: Hit, order: DateOrder) -> bool:
    """Whether more dates stand under this one in its column: a table's date column (line
    items, deliveries), not the document's date."""
    words = hit.line.words_in(hit.start, hit.end)
    if not words:
        return False
    x0, x1 = words[0].x0, words[-1].x1
    index = next((i for i, line in enumerate(lines) if line is hit.line), len(lines))
    for below in lines[index + 1 : index + 4]:
        if below.page != hit.line.page:
            break
        for found in find_dates(below.text, order):
            ws = below.words_in(found.start, found.end)
            if ws and ws[0].x0 < x1 and ws[-1].x1 > x0:
                return True
    return False


def _labelled_issue(
    lines: list[Line], cls: Classification, order: DateOrder
) -> tuple[int, Hit, DateMatch] | None:
    """The best labelled issue date: (tier, hit, date). Tier 0 a label naming the issue
    date (Rechnungsdatum, Invoice date, Factuurdatum, Fecha de emisión), 1 a plain "Date",
    2 the head of a column of dates. Reminders and credit notes name the old invoice's
    date too: there the first labelled date counts, as printed."""
    by_order = cls.doc_type in (DocType.REMINDER, DocType.CREDIT_NOTE)
    best: tuple[int, int, Hit, DateMatch] | None = None
    for n, hit in enumerate(find_labelled(lines, ISSUE_RE)):
        if _not_issue(hit):
            continue
        dates = find_dates(hit.text, order)
        if not dates:
            continue
        if hit.below and _column_of_dates(lines, hit, order):
            tier = 2
        elif by_order or not _GENERIC_ISSUE.fullmatch(hit.label):
            tier = 0
        else:
            tier = 1
        if best is None or (tier, n) < best[:2]:
            best = (tier, n, hit, dates[0])
        if by_order and tier < 2:
            break
    return None if best is None else (best[0], best[2], best[3])


def _dates(
    fs: FieldSet,
    lines: list[Line],
    first_lines: list[Line],
    cls: Classification,
    number: tuple[str, Hit] | None = None,
) -> date | None:
    text = "\n".join(line.text for line in lines)
    order, settled = date_order(text, cls.language)

    def unsure(found: DateMatch) -> float:
        # 3/4/2026 on a document that does not settle which comes first.
        return 0.8 if found.ambiguous and not settled else 1.0

    def offer_labelled(hit: Hit, found: DateMatch, conf: float) -> date:
        words = _label_words(hit) + _date_words(hit, found)
        box = box_of(_date_words(hit, found)) or span_box(hit.line, hit.start, hit.end)
        fs.offer("issue_date", found.value, conf * ocr_factor(words) * unsure(found), box, "text")
        return found.value

    issue = None
    labelled = _labelled_issue(lines, cls, order)
    column = None  # the head of a table's date column: only when nothing better names it
    if labelled is not None:
        tier, hit, found = labelled
        if tier == 2:
            column = (hit, found)
        else:
            issue = offer_labelled(hit, found, 0.85)
    if cls.doc_type is DocType.BANK_STATEMENT:
        # A statement is dated by the end of its period ("Periode 01.03. – 31.03.2026").
        for hit in find_labelled(lines, _PERIOD_RE):
            dates = find_dates(hit.text, order)
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
        # "Zürich, 15. März 2026" in the header.
        for line in first_lines:
            if line.top > 0.45 * 842:
                break
            at = 0
            for seg in re.split(r"(\s{2,})", line.text):
                m = _PLACE_DATE.match(seg)
                dates = find_dates(m.group(1), order) if m else []
                if m and dates:
                    start = at + m.start(1) + dates[0].start
                    words = line.words_in(at, at + len(seg))
                    issue = dates[0].value
                    fs.offer(
                        "issue_date",
                        issue,
                        0.78 * ocr_factor(words) * unsure(dates[0]),
                        span_box(line, start, start + dates[0].end - dates[0].start),
                        "text",
                    )
                    break
                at += len(seg)
            if issue is not None:
                break
    if issue is None and number is not None and cls.doc_type is not DocType.REMINDER:
        issue = _date_after_number(fs, number, order, unsure)
    if issue is None and column is not None:
        issue = offer_labelled(*column, 0.5)
    if issue is None:
        for line in first_lines:
            folded = fold_text(line.text)
            if DUE_RE.search(folded):
                continue
            dates = find_dates(line.text, order)
            if dates:
                issue = dates[0].value
                words = line.words_in(dates[0].start, dates[0].end)
                fs.offer(
                    "issue_date",
                    issue,
                    0.45 * ocr_factor(words or line.words) * unsure(dates[0]),
                    box_of(words or line.words),
                    "text",
                )
                break
    reminder = cls.doc_type is DocType.REMINDER
    for found, hit in find_due_dates(lines, order):
        # In a reminder the labelled dates are the old invoice's (its table row).
        words = hit.line.words_in(hit.start + found.start, hit.start + found.end)
        conf = (0.45 if reminder else 0.85) * ocr_factor(_label_words(hit) + words)
        fs.offer("due_date", found.value, conf * unsure(found), box_of(words), "text")
        break
    terms = find_term_days(text) if cls.doc_type is not DocType.RECEIPT else []
    if terms:
        # The net term is the longest one (cash-discount periods are left out already).
        days, printed = max(terms, key=lambda t: t[0])
        fs.offer("payment_terms", printed, 0.8, None, "text")
        fs.term_days = days
        due = due_from_terms(fs.get("issue_date"), days, month_end=end_of_month(printed))
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
    issued, due_date = fs.get("issue_date"), fs.get("due_date")
    if issued is not None and due_date is not None and due_date < issued and not reminder:
        # Due before issued: one of the two is misread (or day and month swapped).
        fs.adjust("due_date", min(fs.conf("due_date"), 0.5))
    return fs.get("issue_date")


def _date_after_number(
    fs: FieldSet,
    number: tuple[str, Hit],
    order: DateOrder,
    unsure: Callable[[DateMatch], float],
) -> date | None:
    """The date printed right after the invoice number: "Rechnung Nr. 17 vom 3.3.2026"."""
    value, hit = number
    at = hit.line.text.find(value, hit.start)
    if at < 0:
        return None
    m = _NUMBER_DATE.match(hit.line.text, at + len(value))
    if not m:
        return None
    dates = find_dates(hit.line.text[m.end() :], order)
    if not dates or dates[0].start != 0:
        return None
    start, end = m.end(), m.end() + dates[0].end
    words = hit.line.words_in(start, end)
    conf = 0.8 * ocr_factor(words) * unsure(dates[0])
    fs.offer("issue_date", dates[0].value, conf, box_of(words), "text")
    return dates[0].value


_PERIOD_RE = compile_labels([r"periode", r"period", r"periodo", r"zeitraum"])
_PLACE_DATE = re.compile(
    r"^\s*(?:\d{4,5}\s+)?[A-ZÀ-Ý][\w.'’/-]+(?:[ -][A-Za-zÀ-ÿ][\w.'’/-]*){0,3},\s*"
    r"(?:le\s+|den\s+|il\s+|am\s+)?"
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
