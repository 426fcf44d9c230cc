"""Files that hold several documents: find where one ends and the next begins; cut PDFs.

A page starts a new document only when it clearly does: it says "page 1 of N", or it has
its own title and letterhead and names another supplier (IBAN, UID, name) or another
invoice number than the pages before. Continuation pages (no title, "Seite 2") and a
payment-slip page of the same creditor stay with the document before them.

`split_pdf` cuts the same pages into the same bytes every time: a split that is done again
(a retried processing step) yields the same documents, which intake recognises by hash.
"""

import hashlib
import io
import itertools
import re
from dataclasses import dataclass, field

import pypdfium2 as pdfium

from domain.identifiers import normalize_company_name
from extractors.classify import page_features
from extractors.fields.iban import find_ibans
from extractors.fields.invoice_number import find_invoice_numbers
from extractors.fields.parties import address_from_block, find_parties
from extractors.fields.uid import find_uids
from extractors.layout import group_lines
from extractors.pdfdoc import PDFIUM_LOCK
from extractors.reading import PageText, Reading

_PAGE_OF = re.compile(
    r"(?:seite|page|pagina|blatt|s\.)\s*(\d{1,3})\s*(?:/|von|of|de|di|sur|su)\s*(\d{1,3})",
    re.IGNORECASE,
)
# "Seite 2" alone (OCR may lose the "/2"): a continuation page.
_PAGE_N = re.compile(r"(?:seite|page|pagina|blatt)\s*(\d{1,3})(?!\s*[/.,]?\d)", re.IGNORECASE)


@dataclass
class PageKey:
    number: int
    title: str | None
    ibans: set[str] = field(default_factory=set)
    uids: set[str] = field(default_factory=set)
    names: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    page_of: tuple[int, int] | None = None
    has_header: bool = False

    @property
    def identity(self) -> set[str]:
        return self.ibans | self.uids | self.names


def page_key(page: PageText) -> PageKey:
    lines = group_lines(page.words)
    feats = page_features(page, lines)
    key = PageKey(number=page.number, title=feats.title_kind)
    m = _PAGE_OF.search(page.text)
    if m:
        key.page_of = (int(m.group(1)), int(m.group(2)))
    elif (m := _PAGE_N.search(page.text[:400])) and int(m.group(1)) > 1:
        key.page_of = (int(m.group(1)), 0)
    key.ibans = {i for i, _s, _e in find_ibans(page.text)}
    key.uids = {u for u, _s, _e, _v in find_uids(page.text)}
    key.numbers = {v for v, _h in find_invoice_numbers(lines)}
    parties = find_parties(lines, page.width, page.height)
    if parties.sender is not None:
        name = address_from_block(parties.sender)["name"]
        if name:
            key.names.add("name:" + normalize_company_name(str(name)))
        key.has_header = True
    if parties.recipient is not None:
        key.has_header = True
    return key


def detect_parts(reading: Reading) -> list[tuple[int, int]]:
    """Page ranges, one per document; a single range when the file is one document."""
    pages = reading.pages
    if len(pages) <= 1:
        return [(1, max(1, reading.page_count))] if pages else []
    keys = [page_key(p) for p in pages]
    starts = [0]
    current = keys[0]
    current_ids = set(current.identity)
    current_numbers = set(current.numbers)
    for i in range(1, len(keys)):
        k = keys[i]
        new = False
        same_number = bool(k.numbers & current_numbers)
        if same_number:
            new = False  # the same invoice number: the same document
        elif k.page_of is not None:
            new = k.page_of[0] == 1
        elif (before := keys[i - 1].page_of) is not None and before[0] == before[1]:
            new = k.title is not None or k.has_header
        elif k.title is not None or k.has_header:
            different_party = (
                bool(k.identity) and bool(current_ids) and not (k.identity & current_ids)
            )
            different_number = (
                bool(k.numbers) and bool(current_numbers) and not (k.numbers & current_numbers)
            )
            both_receipts = k.title == "receipt" and current.title == "receipt"
            new = (
                different_party
                or different_number
                or (both_receipts and not (k.identity & current_ids))
            )
        if new:
            starts.append(i)
            current = k
            current_ids = set(k.identity)
            current_numbers = set(k.numbers)
        else:
            current_ids |= k.identity
            current_numbers |= k.numbers
    bounds = [*starts, len(keys)]
    return [(pages[a].number, pages[b - 1].number) for a, b in itertools.pairwise(bounds)]


# pdfium writes a random file identifier into each saved PDF's trailer.
_TRAILER_ID = re.compile(rb"/ID\s*\[\s*<([0-9A-Fa-f]{32})>\s*<([0-9A-Fa-f]{32})>\s*\]")


def _fixed_id(pdf: bytes, source: bytes, first: int, last: int) -> bytes:
    """The saved PDF with its trailer's random /ID replaced by one derived from the
    source and the page range: the same cut gives the same bytes, hence the same SHA-256.
    Same length, so the cross-reference offsets stay right."""
    matches = list(_TRAILER_ID.finditer(pdf))
    if not matches:
        return pdf
    m = matches[-1]
    seed = hashlib.sha256(source).digest() + f"{first}-{last}".encode()
    fixed = hashlib.sha256(seed).hexdigest()[:32].upper().encode()
    return pdf[: m.start(1)] + fixed + pdf[m.end(1) : m.start(2)] + fixed + pdf[m.end(2) :]


def split_pdf(data: bytes, parts: list[tuple[int, int]]) -> list[bytes]:
    """One new PDF per page range (1-based, inclusive), pages copied with pdfium.
    Deterministic: the same data and range give the same bytes."""
    out: list[bytes] = []
    with PDFIUM_LOCK:
        src = pdfium.PdfDocument(data)
        try:
            count = len(src)
            for first, last in parts:
                if not 1 <= first <= last <= count:
                    raise ValueError(f"page range {first}-{last} outside 1-{count}")
                dst = pdfium.PdfDocument.new()
                dst.import_pages(src, list(range(first - 1, last)))
                buf = io.BytesIO()
                dst.save(buf)
                dst.close()
                out.append(_fixed_id(buf.getvalue(), data, first, last))
        finally:
            src.close()
    return out
