"""`parse_mail`: the documents in a mail, and nothing else — whatever the mail looks like."""

from __future__ import annotations

import base64
import io
import time
import tracemalloc
import zipfile
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from domain.enums import MediaType
from domain.filetype import sniff
from ingest.archives import ArchiveError, ArchiveLimits, ArchiveResult, open_zip
from ingest.mime import MimeLimits, ParsedMail, parse_mail
from tests.mime_corpus import (
    CASES,
    UBL,
    TortureCase,
    assert_parsed_mail_invariants,
    b64,
    mail,
    noisy_png,
    part,
    pdf,
    tiny_png,
    zip_bytes,
)

# --------------------------------------------------------------------------- helpers


def _message(subject: str = "Belege Juli") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Hans Müller <hans@muster.example>"
    message["To"] = "muster-7f3a9c@in.treuhand.example"
    message["Subject"] = subject
    message["Message-ID"] = "<20250701100000.1234@muster.example>"
    message["Date"] = "Tue, 01 Jul 2025 10:00:00 +0200"
    message.set_content("Guten Tag\n\nanbei die Belege.\n\nFreundliche Grüsse\nHans Müller\n")
    return message


def _parse(message: EmailMessage | bytes, limits: MimeLimits | None = None) -> ParsedMail:
    raw = message if isinstance(message, bytes) else message.as_bytes(policy=SMTP)
    parsed = parse_mail(raw) if limits is None else parse_mail(raw, limits)
    assert_parsed_mail_invariants(parsed)
    return parsed


def _names(parsed: ParsedMail) -> list[str]:
    return [a.filename for a in parsed.attachments]


def _reasons(parsed: ParsedMail) -> list[str]:
    return [s.reason for s in parsed.skipped]


# --------------------------------------------------------------------------- basics


AUTH_RESULTS = "mx.treuhand.example; spf=pass smtp.mailfrom=muster.example; dkim=pass"


def test_two_attachments_and_metadata() -> None:
    message = _message()
    message["Authentication-Results"] = AUTH_RESULTS
    message["Authentication-Results"] = "mx2.treuhand.example; dmarc=pass"
    message.add_attachment(pdf("a"), "application", "pdf", filename="Rechnung 1.pdf")
    message.add_attachment(noisy_png(), "image", "png", filename="Quittung.png")

    parsed = _parse(message)

    assert _names(parsed) == ["Rechnung 1.pdf", "Quittung.png"]
    assert [a.media_type for a in parsed.attachments] == [MediaType.PDF, MediaType.PNG]
    assert [a.declared_type for a in parsed.attachments] == ["application/pdf", "image/png"]
    assert [a.origin for a in parsed.attachments] == ["attachment", "attachment"]
    assert parsed.attachments[0].data == pdf("a")
    assert parsed.message_id == "<20250701100000.1234@muster.example>"
    assert parsed.sender == "Hans Müller <hans@muster.example>"
    assert parsed.subject == "Belege Juli"
    assert parsed.date == "2025-07-01T10:00:00+02:00"
    assert parsed.authentication_results == [
        AUTH_RESULTS,
        "mx2.treuhand.example; dmarc=pass",
    ]
    assert parsed.body_text.startswith("Guten Tag\n\nanbei die Belege.")
    assert parsed.skipped == []
    assert parsed.defects == []


def test_body_only_mail_has_no_attachments_but_its_text() -> None:
    parsed = _parse(_message())
    assert parsed.attachments == []
    assert parsed.skipped == []
    assert "anbei die Belege" in parsed.body_text


def test_html_only_body_becomes_text() -> None:
    message = _message()
    message.set_content(
        "<html><head><style>p{color:red}</style><script>alert(1)</script></head>"
        "<body><p>Gr&uuml;ezi</p><p>Beleg folgt</p></body></html>",
        subtype="html",
    )
    parsed = _parse(message)
    assert parsed.body_text == "Grüezi\nBeleg folgt"


def test_body_text_is_capped() -> None:
    message = _message()
    message.set_content("x" * 50_000)
    assert len(_parse(message).body_text) == 10_000


def test_plain_text_is_preferred_over_html() -> None:
    message = _message()
    message.add_alternative("<p>HTML version</p>", subtype="html")
    parsed = _parse(message)
    assert "anbei die Belege" in parsed.body_text
    assert "HTML version" not in parsed.body_text


# --------------------------------------------------------------------------- names


def test_rfc2231_filename_with_umlauts() -> None:
    raw = mail(part(pdf(), disposition=b"attachment; filename*=UTF-8''Rechnung%20M%C3%BCller.pdf"))
    assert _names(_parse(raw)) == ["Rechnung Müller.pdf"]


def test_rfc2231_continuations_and_latin1() -> None:
    raw = mail(
        part(
            pdf(1),
            disposition=b"attachment; filename*0*=UTF-8''Rechnung%20M; filename*1*=%C3%BCller;"
            b" filename*2=.pdf",
        ),
        part(pdf(2), disposition=b"attachment; filename*=iso-8859-1''Quittung%20B%E4ckerei.pdf"),
    )
    assert _names(_parse(raw)) == ["Rechnung Müller.pdf", "Quittung Bäckerei.pdf"]


def test_rfc2231_name_wins_over_plain_name() -> None:
    raw = mail(
        part(
            pdf(),
            disposition=b'attachment; filename="Rechnung Muller.pdf";'
            b" filename*=UTF-8''Rechnung%20M%C3%BCller.pdf",
        )
    )
    assert _names(_parse(raw)) == ["Rechnung Müller.pdf"]


def test_python_generated_non_ascii_filename() -> None:
    message = _message()
    message.add_attachment(pdf(), "application", "pdf", filename="Rechnung Müller.pdf")
    assert _names(_parse(message)) == ["Rechnung Müller.pdf"]


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        (b'attachment; filename="=?UTF-8?B?UmVjaG51bmcgTcO8bGxlci5wZGY=?="', "Rechnung Müller.pdf"),
        (b'attachment; filename="=?ISO-8859-1?Q?Rechnung_M=FCller.pdf?="', "Rechnung Müller.pdf"),
        (b"attachment; filename==?utf-8?Q?Beleg_=C3=84rztin.pdf?=", "Beleg Ärztin.pdf"),
        (b'attachment; filename="=?windows-1252?Q?=80_Quittung.pdf?="', "€ Quittung.pdf"),
        # A multi-byte character split across two words (non-compliant, but common).
        (b'attachment; filename="=?UTF-8?Q?M=C3?= =?UTF-8?Q?=BCller.pdf?="', "Müller.pdf"),
    ],
)
def test_encoded_word_filenames(disposition: bytes, expected: str) -> None:
    assert _names(_parse(mail(part(pdf(), disposition=disposition)))) == [expected]


def test_name_parameter_of_content_type_is_the_fallback() -> None:
    raw = mail(
        part(
            pdf(),
            ctype=b'application/pdf; name="=?UTF-8?B?UXVpdHR1bmcgWsO8cmljaC5wZGY=?="',
            disposition=None,
        )
    )
    assert _names(_parse(raw)) == ["Quittung Zürich.pdf"]


def test_hostile_filename_is_cleaned() -> None:
    raw = mail(
        part(pdf(), disposition=b"attachment; filename*=UTF-8''..%2F..%2Fetc%2F%E2%80%AEfdp.exe")
    )
    assert _names(_parse(raw)) == ["fdp.exe.pdf"]  # a PDF: never served as an .exe


def test_nameless_pdf_gets_a_default_name() -> None:
    assert _names(_parse(mail(part(pdf(), disposition=b"attachment")))) == ["document.pdf"]


# --------------------------------------------------------------------------- inline parts


def test_inline_logo_referenced_by_cid_is_skipped() -> None:
    message = _message()
    message.add_alternative(
        '<p>Gruss</p><img src="cid:logo.123@muster.example" alt="Muster AG">', subtype="html"
    )
    html = message.get_payload()[1]
    html.add_related(
        noisy_png(), "image", "png", cid="<logo.123@muster.example>", filename="logo.png"
    )
    message.add_attachment(pdf(), "application", "pdf", filename="Rechnung.pdf")

    parsed = _parse(message)

    assert _names(parsed) == ["Rechnung.pdf"]
    assert [(s.filename, s.declared_type, s.reason) for s in parsed.skipped] == [
        ("logo.png", "image/png", "inline image referenced by cid: (logo/signature)")
    ]


def test_large_photo_referenced_by_cid_is_still_a_document() -> None:
    # iPhone Mail puts a photographed receipt into the HTML body as a cid: image.
    message = _message()
    message.add_alternative('<img src="cid:photo@iphone">', subtype="html")
    photo = noisy_png(320, 320)
    assert len(photo) > MimeLimits().cid_image_document_bytes
    message.get_payload()[1].add_related(photo, "image", "png", cid="<photo@iphone>")
    parsed = _parse(message)
    assert [(a.filename, a.origin) for a in parsed.attachments] == [("document.png", "inline")]


def test_tiny_inline_image_is_skipped_but_an_attached_one_is_kept() -> None:
    raw = mail(
        part(tiny_png(), ctype=b"image/png", disposition=b"inline"),
        part(
            tiny_png() + b"\x00",
            ctype=b"image/png",
            disposition=b'attachment; filename="klein.png"',
        ),
    )
    parsed = _parse(raw)
    assert _names(parsed) == ["klein.png"]
    assert _reasons(parsed) == ["tiny inline image (logo/signature)"]


def test_inline_pdf_without_disposition_is_an_attachment() -> None:
    # Phone mail apps send PDFs inline, often with only a Content-Type name.
    raw = mail(part(pdf(), ctype=b'application/pdf; name="Scan.pdf"', disposition=None))
    parsed = _parse(raw)
    assert [(a.filename, a.origin) for a in parsed.attachments] == [("Scan.pdf", "inline")]


def test_type_is_decided_by_bytes_not_by_declaration() -> None:
    raw = mail(
        part(noisy_png(), ctype=b"application/pdf", disposition=b'attachment; filename="x.pdf"'),
        part(
            b"not a pdf at all",
            ctype=b"application/pdf",
            disposition=b'attachment; filename="y.pdf"',
        ),
    )
    parsed = _parse(raw)
    assert [(a.filename, a.media_type, a.declared_type) for a in parsed.attachments] == [
        ("x.pdf.png", MediaType.PNG, "application/pdf")  # named for what it is
    ]
    assert [(s.filename, s.reason) for s in parsed.skipped] == [("y.pdf", "not a document type")]


def test_xml_e_invoice_attachment_is_recognised() -> None:
    message = _message()
    message.add_attachment(UBL, "application", "xml", filename="R-1.xml")
    message.add_attachment(b"<note>not an invoice</note>", "application", "xml", filename="n.xml")
    parsed = _parse(message)
    assert [(a.filename, a.media_type) for a in parsed.attachments] == [("R-1.xml", MediaType.XML)]
    assert _reasons(parsed) == ["not a document type"]


def test_identical_attachments_are_kept_once() -> None:
    message = _message()
    message.add_attachment(pdf("same"), "application", "pdf", filename="a.pdf")
    message.add_attachment(pdf("same"), "application", "pdf", filename="b.pdf")
    message.add_attachment(pdf("other"), "application", "pdf", filename="c.pdf")
    parsed = _parse(message)
    assert _names(parsed) == ["a.pdf", "c.pdf"]
    assert [(s.filename, s.reason) for s in parsed.skipped] == [
        ("b.pdf", "duplicate of an attachment already in this mail")
    ]


# --------------------------------------------------------------------------- forwarded


def test_forwarded_mail_with_attachment_inside() -> None:
    inner = _message("Rechnung")
    inner.add_attachment(pdf("inner"), "application", "pdf", filename="Rechnung Gloor.pdf")
    outer = _message("WG: Rechnung")
    outer.add_attachment(pdf("outer"), "application", "pdf", filename="Beleg.pdf")
    outer.add_attachment(inner)

    parsed = _parse(outer)

    assert [(a.filename, a.origin) for a in parsed.attachments] == [
        ("Beleg.pdf", "attachment"),
        ("Rechnung Gloor.pdf", "forwarded:1/attachment"),
    ]
    assert parsed.subject == "WG: Rechnung"  # metadata is the outer mail's


def test_forwarded_mails_are_numbered_and_nested() -> None:
    deepest = _message()
    deepest.add_attachment(pdf(3), "application", "pdf", filename="c.pdf")
    middle = _message()
    middle.add_attachment(deepest)
    first = _message()
    first.add_attachment(pdf(1), "application", "pdf", filename="a.pdf")
    outer = _message()
    outer.add_attachment(first)
    outer.add_attachment(middle)
    parsed = _parse(outer)
    assert [(a.filename, a.origin) for a in parsed.attachments] == [
        ("a.pdf", "forwarded:1/attachment"),
        ("c.pdf", "forwarded:2/forwarded:1/attachment"),
    ]


def test_eml_file_attachment_is_opened() -> None:
    inner = _message()
    inner.add_attachment(pdf("eml"), "application", "pdf", filename="Rechnung.pdf")
    outer = _message()
    outer.add_attachment(inner.as_bytes(), "application", "octet-stream", filename="Fwd.eml")
    parsed = _parse(outer)
    assert [(a.filename, a.origin) for a in parsed.attachments] == [
        ("Rechnung.pdf", "forwarded:1/attachment")
    ]


def test_forwarding_depth_is_limited() -> None:
    message = _message()
    message.add_attachment(pdf("deep"), "application", "pdf", filename="deep.pdf")
    for _ in range(3):
        outer = _message()
        outer.add_attachment(message)
        message = outer
    assert _names(_parse(message, MimeLimits(max_depth=3))) == ["deep.pdf"]
    parsed = _parse(message, MimeLimits(max_depth=2))
    assert parsed.attachments == []
    assert _reasons(parsed) == ["forwarded mail nested deeper than 2 levels"]


# --------------------------------------------------------------------------- ZIP


def test_zip_with_two_pdfs_and_a_traversal_name() -> None:
    archive = zip_bytes(
        {"Juli/a.pdf": pdf("a"), "b.pdf": pdf("b"), "../evil.pdf": pdf("evil"), "notes.txt": b"hi"}
    )
    message = _message()
    message.add_attachment(archive, "application", "zip", filename="invoices.zip")

    parsed = _parse(message)

    assert [(a.filename, a.origin, a.declared_type) for a in parsed.attachments] == [
        ("a.pdf", "zip:invoices.zip", ""),
        ("b.pdf", "zip:invoices.zip", ""),
        ("evil.pdf", "zip:invoices.zip", ""),  # content kept, path gone
    ]
    assert parsed.attachments[2].data == pdf("evil")
    assert [(s.filename, s.reason) for s in parsed.skipped] == [
        ("notes.txt", "zip: not a document type")
    ]


def test_pdf_name_on_zip_bytes_is_treated_as_a_zip() -> None:
    message = _message()
    archive = zip_bytes({"inside.pdf": pdf("inside")})
    message.add_attachment(archive, "application", "pdf", filename="Rechnung.pdf")
    parsed = _parse(message)
    assert [(a.filename, a.origin) for a in parsed.attachments] == [
        ("inside.pdf", "zip:Rechnung.pdf")
    ]


def test_zip_bomb_is_refused_within_limits() -> None:
    bomb = zip_bytes({"bomb.pdf": PDF_HEAD + b"\x00" * (50 * 1024 * 1024), "ok.pdf": pdf("ok")})
    assert len(bomb) < 100_000
    message = _message()
    message.add_attachment(bomb, "application", "zip", filename="bomb.zip")
    raw = message.as_bytes()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        parsed = _parse(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 20 * 1024 * 1024  # stopped after ~1 MiB of output, not 50 MiB
    assert _names(parsed) == ["ok.pdf"]
    assert ("bomb.pdf", "zip: compression ratio too high (zip bomb?)") in [
        (s.filename, s.reason) for s in parsed.skipped
    ]


PDF_HEAD = b"%PDF-1.4\n"


def test_zip_member_over_size_limit_is_stopped_while_reading() -> None:
    archive = zip_bytes({"big.pdf": PDF_HEAD + b"\x00" * (3 * 1024 * 1024)})
    limits = MimeLimits(archive=ArchiveLimits(max_member_bytes=1024 * 1024, max_ratio=1e9))
    message = _message()
    message.add_attachment(archive, "application", "zip", filename="big.zip")
    parsed = _parse(message, limits)
    assert parsed.attachments == []
    assert _reasons(parsed) == ["zip: over size limit"]


def test_encrypted_zip_member_is_skipped() -> None:
    data = bytearray(zip_bytes({"secret.pdf": pdf("s")}, method=zipfile.ZIP_STORED))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # general-purpose flag
        data[data.find(signature) + offset] |= 0x01
    message = _message()
    message.add_attachment(bytes(data), "application", "zip", filename="secret.zip")
    parsed = _parse(message)
    assert parsed.attachments == []
    assert [(s.filename, s.declared_type, s.reason) for s in parsed.skipped] == [
        ("secret.pdf", "", "zip: encrypted member")
    ]


def test_broken_zip_is_reported_not_raised() -> None:
    message = _message()
    message.add_attachment(b"PK\x03\x04garbage", "application", "zip", filename="broken.zip")
    parsed = _parse(message)
    assert parsed.attachments == []
    assert parsed.skipped[0].filename == "broken.zip"
    assert parsed.skipped[0].reason.startswith("zip: broken ZIP archive")
    assert "unreadable ZIP attachment (corrupt)" in parsed.defects


def test_office_document_is_not_opened_as_an_archive() -> None:
    docx = zip_bytes({"[Content_Types].xml": b"<Types/>", "word/media/image1.png": noisy_png()})
    message = _message()
    message.add_attachment(docx, "application", "octet-stream", filename="Brief.docx")
    parsed = _parse(message)
    assert parsed.attachments == []
    assert _reasons(parsed) == ["not a document type (office document)"]


def test_zip_members_from_the_mac_are_noise() -> None:
    archive = zip_bytes(
        {
            "Belege/": b"",
            "Belege/a.pdf": pdf("a"),
            "__MACOSX/Belege/._a.pdf": b"\x00\x05\x16\x07",
            ".DS_Store": b"x",
        }
    )
    message = _message()
    message.add_attachment(archive, "application", "zip", filename="Belege.zip")
    parsed = _parse(message)
    assert _names(parsed) == ["a.pdf"]
    assert parsed.skipped == []


# --------------------------------------------------------------------------- damage and limits


def test_invalid_base64_is_decoded_as_far_as_it_goes() -> None:
    encoded = b64(pdf("damaged")).replace(b"\r\n", b"\r\n*!", 2)
    raw = mail(part(b"", cte=b"base64") + encoded)
    parsed = _parse(raw)
    assert [a.data for a in parsed.attachments] == [pdf("damaged")]
    assert "invalid base64 (decoded what could be decoded)" in parsed.defects


def test_missing_boundary_is_recovered() -> None:
    raw = mail(part(pdf())).replace(b'; boundary="=_b0undary_1"', b"")
    parsed = _parse(raw)
    assert _names(parsed) == ["Rechnung.pdf"]
    assert "multipart boundary missing or wrong; recovered from the body" in parsed.defects


def test_part_limit() -> None:
    raw = mail(
        *[part(pdf(i), disposition=f'attachment; filename="{i}.pdf"'.encode()) for i in range(10)]
    )
    parsed = _parse(raw, MimeLimits(max_parts=5))
    assert _names(parsed) == ["0.pdf", "1.pdf", "2.pdf", "3.pdf"]  # the root is a part too
    assert "more than 5 MIME parts; the rest ignored" in parsed.defects


def test_total_decoded_size_limit() -> None:
    big = [pdf(i) + b"\x00" * 40_000 for i in range(3)]
    raw = mail(
        *[
            part(data, disposition=f'attachment; filename="{i}.pdf"'.encode())
            for i, data in enumerate(big)
        ]
    )
    parsed = _parse(raw, MimeLimits(max_total_bytes=100_000))
    assert _names(parsed) == ["0.pdf", "1.pdf"]
    assert [(s.filename, s.reason) for s in parsed.skipped] == [("2.pdf", "over size limit")]
    assert "total decoded size limit reached" in parsed.defects


def test_part_size_limit() -> None:
    raw = mail(part(pdf() + b"\x00" * 5000))
    parsed = _parse(raw, MimeLimits(max_part_bytes=4096))
    assert parsed.attachments == []
    assert _reasons(parsed) == ["over size limit"]


def test_a_part_cut_by_the_line_limit_is_skipped_not_taken_half() -> None:
    first = part(pdf("first"), disposition=b'attachment; filename="first.pdf"')
    long_pdf = pdf("long") + b"\x00" * 100_000  # ~1800 base64 lines
    raw = mail(first, part(long_pdf, disposition=b'attachment; filename="long.pdf"'))
    parsed = _parse(raw, MimeLimits(max_lines=1000))
    assert _names(parsed) == ["first.pdf"]
    assert ("long.pdf", "cut off at a message limit") in [
        (s.filename, s.reason) for s in parsed.skipped
    ]
    assert "more than 1000 lines; the rest ignored" in parsed.defects


def test_parts_beyond_the_boundary_line_limit_are_ignored() -> None:
    parts = [part(pdf(n), disposition=b'attachment; filename="%d.pdf"' % n) for n in range(6)]
    parsed = _parse(mail(*parts), MimeLimits(max_boundary_lines=3))
    assert _names(parsed) == ["0.pdf", "1.pdf"]  # the third part was cut with its boundary
    assert "more than 3 boundary lines; the rest ignored" in parsed.defects
    assert _names(_parse(mail(*parts), MimeLimits(max_boundary_lines=7))) == [
        f"{n}.pdf" for n in range(6)
    ]


@pytest.mark.parametrize(
    ("inside", "limits"),
    [
        (b"x\r\n" * 2000, MimeLimits(max_lines=1000)),  # 2000 lines, 100 when encoded
        (b"--b\r\n" * 50, MimeLimits(max_boundary_lines=20)),
    ],
)
def test_a_forwarded_mail_over_the_limits_is_not_parsed(inside: bytes, limits) -> None:
    inner = _message().as_bytes() + inside
    outer = _message()
    outer.add_attachment(pdf("outer"), "application", "pdf", filename="Beleg.pdf")
    outer.add_attachment(inner, "application", "octet-stream", filename="Fwd.eml")
    parsed = _parse(outer, limits)
    assert _names(parsed) == ["Beleg.pdf"]
    assert any(
        d.endswith("too large to parse (lines or parts over the limits)") for d in parsed.defects
    )


@pytest.mark.parametrize(
    ("data", "limit", "over"),
    [
        (b"a\r\n" * 10, 10, False),  # CRLF is one line end, not two
        (b"a\r\n" * 11, 10, True),
        (b"a\r" * 6 + b"b\n" * 5, 10, True),  # CR alone and LF alone end lines too
        (b"a\n" * 10 + b"tail", 10, False),
    ],
)
def test_line_limit_counts_every_line_end_once(data: bytes, limit: int, over: bool) -> None:
    from ingest.mime.parser import _too_many_lines

    assert _too_many_lines(data, limit) is over


@pytest.mark.parametrize(
    ("data", "limit", "over"),
    [
        (b"\r\n--x" * 10, 10, False),
        (b"\r\n--x" * 11, 10, True),
        (b"\r--x" * 6 + b"\n--y" * 5, 10, True),
        (b"a---b" * 100, 10, False),  # dashes, but no line starts with them
    ],
)
def test_boundary_line_limit(data: bytes, limit: int, over: bool) -> None:
    from ingest.mime.parser import _too_many_boundary_lines

    assert _too_many_boundary_lines(data, limit) is over


def test_message_over_size_limit_keeps_only_metadata() -> None:
    message = _message()
    message.add_attachment(pdf() + b"\x00" * 10_000, "application", "pdf", filename="a.pdf")
    parsed = _parse(message, MimeLimits(max_message_bytes=5_000))
    assert parsed.attachments == []
    assert parsed.subject == "Belege Juli"
    assert parsed.defects[0].startswith("message over size limit")


def test_header_injection_is_not_carried_into_metadata() -> None:
    raw = (
        b"From: a@b\r\nSubject: =?utf-8?Q?Rechnung=0D=0ABcc:_x@y?=\r\n"
        b"Message-ID: <id\x00@x>\r\n\r\nbody\r\n"
    )
    parsed = _parse(raw)
    assert parsed.subject == "Rechnung Bcc: x@y"
    assert parsed.message_id == "<id @x>"


def test_unparseable_date_is_kept_as_sent() -> None:
    parsed = _parse(b"Date: gestern Abend\r\n\r\nbody")
    assert parsed.date == "gestern Abend"


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00", b"\r\n\r\n", b"From:", b"Content-Type: multipart/mixed\r\n\r\n--", b"\xff" * 10],
)
def test_never_raises_on_nonsense(raw: bytes) -> None:
    _parse(raw)


def test_encoded_message_rfc822_is_opened() -> None:
    inner = _message()
    inner.add_attachment(pdf("inner"), "application", "pdf", filename="i.pdf")
    raw = mail(
        b"Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(inner.as_bytes())
    )
    parsed = _parse(raw)
    assert [(a.filename, a.origin) for a in parsed.attachments] == [
        ("i.pdf", "forwarded:1/attachment")
    ]


def test_heic_and_tiff_attachments() -> None:
    tiff = io.BytesIO()
    Image.frombytes("L", (64, 64), bytes(range(256)) * 16).save(tiff, "TIFF")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 4096
    message = _message()
    message.add_attachment(tiff.getvalue(), "image", "tiff", filename="scan.tif")
    message.add_attachment(heic, "image", "heic", filename="IMG_0001.HEIC")
    parsed = _parse(message)
    assert [(a.filename, a.media_type) for a in parsed.attachments] == [
        ("scan.tif", MediaType.TIFF),
        ("IMG_0001.HEIC", MediaType.HEIC),
    ]


# --------------------------------------------------------------------------- torture corpus

TIME_BOUND_S = 2.0
MEMORY_BOUND_BYTES = 100 * 1024 * 1024


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 100
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_torture_corpus(case: TortureCase) -> None:
    raw = case.build()

    started = time.perf_counter()
    parsed = parse_mail(raw)
    elapsed = time.perf_counter() - started

    # Memory is measured on a second run: tracemalloc slows allocation-heavy code 2–3×,
    # which would distort the time bound.
    tracemalloc.start()
    try:
        parse_mail(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert elapsed < TIME_BOUND_S, f"{case.name}: {elapsed:.2f} s"
    assert peak < MEMORY_BOUND_BYTES, f"{case.name}: peak {peak / 1e6:.0f} MB"
    assert_parsed_mail_invariants(parsed)
    if case.attachments is not None:
        assert len(parsed.attachments) == case.attachments, (
            case.name,
            _names(parsed),
            parsed.defects,
        )
    if case.names:
        assert tuple(_names(parsed)) == case.names
    if case.defect:
        assert parsed.defects, case.name


def test_deep_nesting_is_flattened_not_followed() -> None:
    head = b""
    tail = b""
    for level in range(300):
        head += b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
        tail = b"\r\n--n%d--\r\n" % level + tail
    raw = (
        b"From: a@b\r\n"
        + head
        + b"Content-Type: text/plain\r\n\r\n"
        + b"line\r\n" * 20_000
        + tail
        + b"\r\n--n0\r\n"
        + part(pdf("shallow"))
        + b"\r\n--n0--\r\n"
    )
    started = time.perf_counter()
    parsed = _parse(raw)
    assert time.perf_counter() - started < 1.0  # lines × depth, with depth capped at 30
    assert "MIME structure nested deeper than 30 levels" in parsed.defects
    assert "nested too deeply" in _reasons(parsed)


# --------------------------------------------------------------------------- open_zip itself


def test_open_zip_reports_errors_as_objects() -> None:
    assert open_zip(b"not a zip").error == ArchiveError("not_a_zip", "not a ZIP archive")
    broken = open_zip(b"PK\x03\x04" + b"\x00" * 100)
    assert broken.error is not None and broken.error.kind == "corrupt"
    assert not broken.ok and broken.members == []


def test_open_zip_member_names_in_cp437_and_utf8() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("BXckerei.pdf", pdf("cp437"))
        archive.writestr("ZXXrich.pdf", pdf("mac"))
        archive.writestr("Müller.pdf", pdf("utf8"))  # zipfile sets the UTF-8 flag
    data = out.getvalue()
    # Windows Explorer: OEM code page, no UTF-8 flag (0x84 is "ä" in CP437 and CP850).
    data = data.replace(b"BXckerei", b"B\x84ckerei")
    # macOS: UTF-8 bytes, no flag either.
    data = data.replace(b"ZXXrich", "Zürich".encode())
    result = open_zip(data)
    assert [m.name for m in result.members] == ["Bäckerei.pdf", "Zürich.pdf", "Müller.pdf"]


def test_open_zip_nesting_and_member_limits() -> None:
    inner = zip_bytes({"in.pdf": pdf("in"), "readme.txt": b"x"})
    outer = zip_bytes({"inner.zip": inner, "out.pdf": pdf("out")})
    result = open_zip(outer)
    assert [(m.name, m.via) for m in result.members] == [
        ("in.pdf", ("inner.zip",)),
        ("out.pdf", ()),
    ]
    assert [(s.name, s.reason, s.via) for s in result.skipped] == [
        ("readme.txt", "not a document type", ("inner.zip",))
    ]
    assert [(s.name, s.reason) for s in open_zip(outer, ArchiveLimits(max_nesting=0)).skipped] == [
        ("inner.zip", "nested archive too deep")
    ]
    many = open_zip(
        zip_bytes({f"{i}.pdf": pdf(i) for i in range(10)}), ArchiveLimits(max_members=3)
    )
    assert len(many.members) == 3
    assert [s.reason for s in many.skipped] == ["too many members (limit 3); 7 not read"]


def test_open_zip_total_limit_counts_decompressed_bytes() -> None:
    data = zip_bytes({f"{i}.pdf": pdf(i) + b"\x00" * 50_000 for i in range(4)})
    result = open_zip(data, ArchiveLimits(max_total_bytes=120_000))
    assert len(result.members) == 2
    assert [s.reason for s in result.skipped] == [
        "over size limit (archive total)",
        "over size limit (archive total)",
    ]
    assert result.bytes_read <= 120_000 + 64 * 1024


def test_open_zip_refuses_a_giant_central_directory_up_front() -> None:
    data = bytearray(zip_bytes({"a.pdf": pdf()}))
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 10 : eocd + 12] = (60_000).to_bytes(2, "little")  # total entries claimed
    result = open_zip(bytes(data))
    assert result.error is not None and result.error.kind == "too_large"


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2048))
def test_open_zip_never_raises(tail: bytes) -> None:
    result = open_zip(b"PK\x03\x04" + tail)
    assert isinstance(result, ArchiveResult)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_open_zip_never_raises_on_damaged_archives(data: st.DataObject) -> None:
    archive = bytearray(zip_bytes({"a.pdf": pdf("a"), "b/c.pdf": pdf("c") * 20}))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(archive) - 1))
        archive[position] = data.draw(st.integers(0, 255))
    result = open_zip(bytes(archive))
    assert isinstance(result, ArchiveResult)
    for member in result.members:
        assert sniff(member.data) == member.media_type
