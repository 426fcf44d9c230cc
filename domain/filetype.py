"""What a file is, decided by its bytes alone — never by its name or a declared type.

`sniff` answers one of the `MediaType`s fiduflow accepts, or None: intake answers 415,
the readers report the file as unsupported. One sniffer for both, here in `domain/`
(ingest and extractors never import each other), so a file intake accepted is one the
readers take for the same type — and what intake refuses, the readers refuse too.

Every function here is pure, never raises on any input, and does bounded work: the
magic-number checks look at a fixed prefix, the XML check stops at the root element, and
the PDF structure check reads the file's tail and one cross-reference section. No I/O:
the XML check parses the bytes in memory with lxml, no network, no DTD.

A PDF is a file that starts with `%PDF-`, or one whose header comes a little later (junk
from a scanner or gateway) *and* whose tail leads to a real cross-reference section and a
trailer naming the document catalog — which is what a PDF reader opens. An executable or
an HTML page that merely carries `%PDF-` in its first kilobyte (a polyglot) is not one.
"""

from __future__ import annotations

import re
import struct

from lxml import etree

from domain.bank import camt_message
from domain.enums import MediaType

# PDF readers (pdfium, pdf.js, Acrobat) accept the header anywhere in the first 1024 bytes,
# and real files from some scanners and mail gateways carry a few junk bytes before it.
# So does a polyglot (an .exe or .html with "%PDF-" in it): a late header counts only
# when the rest is built like a PDF (`_has_pdf_structure`). Not checked by opening the file
# with pdfium: pdfium is not thread-safe (extractors serialise it behind their own lock)
# and a hostile file can make it allocate without bound, so extractors only run it in
# memory-limited workers — neither fits an SMTP session or an upload request.
_PDF_MAGIC = b"%PDF-"
_PDF_WINDOW = 1024
# `startxref <offset> %%EOF` is in the last bytes of a PDF (readers look at the last 1 KiB;
# some writers pad after %%EOF, so a little more).
_PDF_TAIL = 4096
_STARTXREF = re.compile(rb"startxref\s+(\d{1,15})\s+%%EOF")
# At that offset: a classic table ("xref") or an xref stream object ("12 0 obj <<").
_XREF_TABLE = re.compile(rb"\s{0,8}xref\s")
_XREF_STREAM = re.compile(rb"\s{0,8}\d{1,10}\s+\d{1,5}\s+obj\s*<<")
_XREF_STREAM_TYPE = re.compile(rb"/Type\s*/XRef\b")
_ROOT = re.compile(rb"/Root\s+\d{1,10}\s+\d{1,5}\s+R\b")
_DICT_BYTES = 4096  # a trailer or an xref stream's dictionary is a few hundred bytes

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_JPEG_MAGIC = b"\xff\xd8\xff"
# Classic TIFF only ("II*\0" little-endian, "MM\0*" big-endian). BigTIFF ("+" instead of
# "*") is never produced by phones or office scanners and our readers do not promise it.
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*")

# ISO-BMFF `ftyp` brands of HEIF/HEIC images (ISO/IEC 23008-12). `mif1`/`msf1` are the
# generic HEIF brands; they count only as the *major* brand, because AVIF files list `mif1`
# among their compatible brands and are not HEIC.
_HEIF_BRANDS = frozenset(
    {b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}
)
_HEVC_BRANDS = _HEIF_BRANDS - {b"mif1", b"msf1"}
_FTYP_MAX_BRANDS = 64  # a real ftyp box lists a handful; do not walk a hostile giant one

# ZIP: local file header, empty archive, spanned-archive marker. Only at offset 0 — a
# self-extracting .exe with a ZIP appended is not something a client sends us.
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

# XML e-invoices: the root element decides (namespace + local name).
_UBL_INVOICE = "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
_UBL_CREDIT_NOTE = "{urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2}CreditNote"
_CII_INVOICE = "{urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100}CrossIndustryInvoice"
_ZUGFERD1_INVOICE = "{urn:ferd:CrossIndustryDocument:invoice:1p0}CrossIndustryDocument"
E_INVOICE_ROOTS = frozenset({_UBL_INVOICE, _UBL_CREDIT_NOTE, _CII_INVOICE, _ZUGFERD1_INVOICE})

# An e-invoice with embedded attachments (base64 PDFs inside the XML) reaches a few MB;
# anything beyond the mail size limit is not one. Only the prolog is parsed, and the root
# element must start within its first 64 KiB (XML declaration, comments, PIs).
MAX_XML_BYTES = 25 * 1024 * 1024
_XML_PROLOG_BYTES = 64 * 1024
_XML_FEED_CHUNK = 4096
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_UTF16_LT = (b"<\x00", b"\x00<")


def is_zip(data: bytes) -> bool:
    """True when the bytes start like a ZIP archive (what `archives.open_zip` opens)."""
    return bytes(data[:4]) in _ZIP_MAGICS


def sniff(data: bytes) -> MediaType | None:
    """The accepted media type of these bytes, or None. Never raises."""
    try:
        return _sniff(bytes(data))
    except Exception:
        # Defence in depth: every branch below is written not to raise, but a sniffer
        # that crashes the intake on a hostile file would be worse than answering 415.
        return None


def _sniff(data: bytes) -> MediaType | None:
    if not data:
        return None
    if data.startswith(_PNG_MAGIC):
        return MediaType.PNG
    if data.startswith(_JPEG_MAGIC):
        return MediaType.JPEG
    if data.startswith(_TIFF_MAGICS):
        return MediaType.TIFF
    if _is_heif(data):
        return MediaType.HEIC
    if is_zip(data):
        # A ZIP whose first member is a stored PDF has "%PDF-" in its first KB: it is
        # still an archive, and its members are judged one by one by `open_zip`.
        return None
    if _is_pdf(data):
        return MediaType.PDF
    if _is_accepted_xml(data):
        return MediaType.XML
    return None


def _is_pdf(data: bytes) -> bool:
    header = data.find(_PDF_MAGIC, 0, _PDF_WINDOW)
    if header < 0:
        return False
    return header == 0 or _has_pdf_structure(data, header)


def looks_like_pdf(data: bytes) -> bool:
    """True when `%PDF-` is in the first KiB: what a refused polyglot still shows."""
    return _PDF_MAGIC in bytes(data[:_PDF_WINDOW])


def _has_pdf_structure(data: bytes, header: int) -> bool:
    """The tail's `startxref` leads to an xref section whose trailer names a /Root.

    Offsets in a PDF count from its header when junk was put in front later (what pdfium
    assumes), or from the file's first byte when the writer itself wrote the junk.
    """
    found = list(_STARTXREF.finditer(data, max(header, len(data) - _PDF_TAIL)))
    if not found:
        return False
    last = found[-1]  # an incrementally updated file has several; the last one counts
    offset = int(last[1])
    return any(_xref_at(data, base + offset, last.start()) for base in (header, 0))


def _xref_at(data: bytes, position: int, startxref: int) -> bool:
    if not 0 <= position < startxref:
        return False
    if _XREF_TABLE.match(data, position):
        # The trailer dictionary follows the table, just before `startxref`.
        trailer = data.rfind(b"trailer", position, startxref)
        return trailer >= 0 and _ROOT.search(data, trailer, trailer + _DICT_BYTES) is not None
    stream = _XREF_STREAM.match(data, position)
    if stream is None:
        return False
    head = data[stream.end() : stream.end() + _DICT_BYTES].split(b"stream", 1)[0]
    return _XREF_STREAM_TYPE.search(head) is not None and _ROOT.search(head) is not None


def _is_heif(data: bytes) -> bool:
    if len(data) < 16 or data[4:8] != b"ftyp":
        return False
    major = data[8:12]
    if major in _HEIF_BRANDS:
        return True
    (box_size,) = struct.unpack(">I", data[0:4])
    end = min(box_size, len(data), 16 + 4 * _FTYP_MAX_BRANDS)
    return any(data[i : i + 4] in _HEVC_BRANDS for i in range(16, end - 3, 4))


def _is_accepted_xml(data: bytes) -> bool:
    """An e-invoice (UBL/CII) or a camt.053/054 bank statement, by its root element."""
    root = xml_root(data)
    return root in E_INVOICE_ROOTS or camt_message(root) is not None


def e_invoice_root(data: bytes) -> str | None:
    """The Clark-notation root tag (`{ns}Invoice`) of a UBL/CII e-invoice, else None."""
    root = xml_root(data)
    return root if root in E_INVOICE_ROOTS else None


def looks_like_xml(data: bytes) -> bool:
    """True when the bytes start like XML: "<" after optional whitespace (ASCII or UTF-8,
    with or without its BOM), or UTF-16 (a BOM, or "<" next to a zero byte).

    A cheap gate, no parsing: `sniff` accepts such bytes only for their root element
    (`xml_root`); the readers use it to say why XML was refused, not just "no document".
    """
    head = bytes(data[: 3 + 256])
    if head.startswith(_BOMS[1:]):  # UTF-16 with its byte order mark
        return True
    body = head[3:] if head.startswith(_BOMS[0]) else head
    return body[:256].lstrip(b" \t\r\n").startswith(b"<") or body[:2] in _UTF16_LT


def xml_root(data: bytes) -> str | None:
    """The Clark-notation root tag (`{ns}Invoice`) of XML bytes; None when they are not
    XML, are broken before the root element, have a DOCTYPE, start their root element
    past the first 64 KiB or exceed `MAX_XML_BYTES`. Never raises.

    Parsed with lxml as a pull parser that stops at the root element: no DTD loading, no
    entity resolution, no network, libxml2's size/depth safety limits on (no huge_tree).
    A document with a DOCTYPE is refused outright — no e-invoice standard uses one, and
    that is where XXE and entity-expansion attacks live.
    """
    try:
        return _xml_root(bytes(data))
    except Exception:
        return None


# How every XML file from outside is parsed (here, camt, e-invoices): no entities, no DTD,
# no network, no huge trees — a document needs none of them, attacks (XXE, billion laughs)
# need them.
SAFE_XML: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "attribute_defaults": False,
    "huge_tree": False,
}


def _xml_root(data: bytes) -> str | None:
    if len(data) > MAX_XML_BYTES or not looks_like_xml(data):
        return None
    parser = etree.XMLPullParser(events=("start",), **SAFE_XML)
    limit = min(len(data), _XML_PROLOG_BYTES)
    for offset in range(0, limit, _XML_FEED_CHUNK):
        parser.feed(data[offset : offset + _XML_FEED_CHUNK])
        for _event, element in parser.read_events():
            docinfo = element.getroottree().docinfo
            if docinfo.doctype or docinfo.internalDTD is not None:
                return None
            tag = element.tag
            return tag if isinstance(tag, str) else None
    return None
