"""A torture corpus for `ingest.mime.parse_mail`: broken, hostile and absurd mails.

Every case is built on demand (some are megabytes) and deterministic. A case may state
what a careful parser still gets out of it (`attachments`, `names`); every case must
parse without raising, within the time and memory bounds of tests/test_mime.py, and yield
only safe filenames. `assert_parsed_mail_invariants` holds for *any* input and is shared
by the corpus test; the fuzz target checks the same rules on its own.
"""

from __future__ import annotations

import base64
import hashlib
import io
import random
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

from PIL import Image

from domain.enums import MediaType
from domain.filetype import sniff
from ingest.filenames import MAX_FILENAME_CHARS
from ingest.mime import ParsedMail

CRLF = b"\r\n"

# A minimal PDF: header, one object, trailer. Readers need more, the sniffer does not.
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
UBL = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
    b"<ID>R-1</ID></Invoice>\n"
)


def pdf(tag: str | int = "") -> bytes:
    """A distinct minimal PDF (dedupe works on bytes)."""
    return PDF + f"% {tag}\n".encode()


def noisy_png(width: int = 48, height: int = 48, seed: int = 1) -> bytes:
    """A PNG above the tiny-image threshold (noise does not compress)."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), rng.randbytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def tiny_png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF)


def zip_bytes(members: dict[str, bytes], *, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def part(
    data: bytes = PDF,
    *,
    ctype: bytes = b"application/pdf",
    cte: bytes | None = b"base64",
    disposition: bytes | None = b'attachment; filename="Rechnung.pdf"',
    extra: bytes = b"",
) -> bytes:
    """One MIME part (headers, blank line, body) without the boundary line."""
    head = b"Content-Type: " + ctype + CRLF
    if cte is not None:
        head += b"Content-Transfer-Encoding: " + cte + CRLF
    if disposition is not None:
        head += b"Content-Disposition: " + disposition + CRLF
    body = b64(data) if cte is not None and cte.lower() == b"base64" else data
    return head + extra + CRLF + body


def mail(
    *parts: bytes,
    boundary: bytes = b"=_b0undary_1",
    ctype: bytes = b"multipart/mixed",
    top: bytes = b"",
    mime_version: bool = True,
    close: bool = True,
) -> bytes:
    head = (
        b"From: Hans Muster <hans@muster.example>\r\n"
        b"To: muster-7f3a9c@in.treuhand.example\r\n"
        b"Subject: Beleg\r\n"
        b"Message-ID: <torture@muster.example>\r\n"
        b"Date: Tue, 01 Jul 2025 10:00:00 +0200\r\n"
    )
    if mime_version:
        head += b"MIME-Version: 1.0\r\n"
    head += top
    head += b"Content-Type: " + ctype + b'; boundary="' + boundary + b'"\r\n\r\n'
    body = b"This is a multi-part message in MIME format.\r\n"
    for item in parts:
        body += b"--" + boundary + CRLF + item + CRLF
    if close:
        body += b"--" + boundary + b"--" + CRLF
    return head + body


TEXT_PART = part(
    b"Guten Tag\r\nanbei der Beleg.\r\n",
    ctype=b"text/plain; charset=utf-8",
    cte=b"7bit",
    disposition=None,
)


def rfc822(inner: bytes, *, cte: bytes | None = None) -> bytes:
    head = b"Content-Type: message/rfc822\r\n"
    if cte is not None:
        head += b"Content-Transfer-Encoding: " + cte + CRLF
        inner = b64(inner) if cte == b"base64" else inner
    return head + CRLF + inner


@dataclass(frozen=True)
class TortureCase:
    name: str
    build: Callable[[], bytes]
    attachments: int | None = None  # exact number a careful parser still finds
    names: tuple[str, ...] = ()  # attachment filenames expected, in order
    defect: bool = False  # at least one defect must be reported


CASES: list[TortureCase] = []


def add(
    name: str,
    build: Callable[[], bytes],
    attachments: int | None = None,
    names: tuple[str, ...] = (),
    *,
    defect: bool = False,
) -> None:
    CASES.append(TortureCase(name, build, attachments, names, defect))


# --------------------------------------------------------------------------- baseline

add(
    "baseline_two_pdfs",
    lambda: mail(
        TEXT_PART, part(pdf(1)), part(pdf(2), disposition=b'attachment; filename="b.pdf"')
    ),
    2,
)
add(
    "baseline_body_only", lambda: b"From: a@b\r\nSubject: hi\r\n\r\nJust text, no documents.\r\n", 0
)

# --------------------------------------------------------------------------- boundaries

add(
    "boundary_param_missing",
    lambda: mail(part(pdf()), ctype=b"multipart/mixed").replace(b'; boundary="=_b0undary_1"', b""),
    1,
    defect=True,
)
add(
    "boundary_param_wrong",
    lambda: mail(part(pdf())).replace(b'boundary="=_b0undary_1"', b'boundary="other"'),
    1,
    defect=True,
)
add("boundary_never_closed", lambda: mail(TEXT_PART, part(pdf()), close=False), 1, defect=True)
add(
    "boundary_unquoted_with_specials",
    lambda: mail(part(pdf()), boundary=b"a'()+_,-./:=?b").replace(
        b'"a\'()+_,-./:=?b"', b"a'()+_,-./:=?b"
    ),
    None,
)
add("boundary_empty", lambda: mail(part(pdf()), boundary=b""), None)
add("boundary_200_chars", lambda: mail(part(pdf()), boundary=b"b" * 200), None)
add(
    "boundary_line_in_text_body",
    lambda: mail(
        part(
            b"--=_b0undary_1 is how it looks\r\n--=_b0undary_1x\r\n",
            ctype=b"text/plain",
            cte=b"7bit",
            disposition=None,
        ),
        part(pdf()),
    ),
    None,
)
add(
    "boundary_prefix_of_other",
    lambda: mail(
        part(pdf(1)),
        part(
            b"", ctype=b'multipart/mixed; boundary="=_b0undary_1_inner"', cte=None, disposition=None
        )
        + b"--=_b0undary_1_inner\r\n"
        + part(pdf(2))
        + b"\r\n--=_b0undary_1_inner--",
    ),
    None,
)
add(
    "boundary_same_nested",
    lambda: mail(
        b'Content-Type: multipart/mixed; boundary="=_b0undary_1"\r\n\r\n--=_b0undary_1\r\n'
        + part(pdf())
    ),
    None,
)
add(
    "boundary_huge_preamble",
    lambda: mail(part(pdf())).replace(
        b"This is a multi-part", b"x" * 300_000 + b"\r\nThis is a multi-part"
    ),
    1,
)
add("boundary_huge_epilogue", lambda: mail(part(pdf())) + b"epilogue\r\n" * 30_000, 1)
add("boundary_lf_only_line_endings", lambda: mail(TEXT_PART, part(pdf())).replace(CRLF, b"\n"), 1)
add(
    "boundary_cr_only_line_endings", lambda: mail(TEXT_PART, part(pdf())).replace(CRLF, b"\r"), None
)
add("boundary_no_parts_at_all", lambda: mail(), 0)
add(
    "boundary_whitespace_after",
    lambda: mail(part(pdf())).replace(b"--=_b0undary_1\r\n", b"--=_b0undary_1   \t\r\n"),
    1,
)

# --------------------------------------------------------------------------- nesting


def nested_multipart(levels: int) -> bytes:
    head = b""
    tail = b""
    for level in range(levels):
        head += b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
        tail = b"\r\n--n%d--\r\n" % level + tail
    return b"From: a@b\r\nMIME-Version: 1.0\r\n" + head + part(pdf("deep")) + tail


def nested_messages(levels: int, *, with_pdf: bool = True) -> bytes:
    inner = mail(part(pdf("innermost"))) if with_pdf else b"Subject: end\r\n\r\nend\r\n"
    for level in range(levels):
        inner = mail(TEXT_PART, rfc822(inner), boundary=b"fw%d" % level)
    return inner


add("nest_multipart_25", lambda: nested_multipart(25), 1)
add("nest_multipart_50", lambda: nested_multipart(50), 0, defect=True)
add("nest_multipart_200", lambda: nested_multipart(200), 0, defect=True)
add("nest_multipart_3000", lambda: nested_multipart(3000), None, defect=True)
add("nest_forwarded_4", lambda: nested_messages(4), 1)
add("nest_forwarded_10_over_depth", lambda: nested_messages(10), 0, defect=True)
add("nest_forwarded_60", lambda: nested_messages(60, with_pdf=False), 0)
add(
    "nest_rfc822_bare_3000",
    lambda: b"Content-Type: message/rfc822\r\n\r\n" * 3000 + b"Subject: x\r\n\r\nbody",
    None,
)
add("nest_alternating_100", lambda: nested_messages(100), 0)

# --------------------------------------------------------------------------- base64

add(
    "b64_invalid_characters",
    lambda: mail(
        part(b64(pdf()).replace(b"\r\n", b"!*\r\n"), cte=b"7bit").replace(
            b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: base64"
        )
    ),
    1,
    defect=True,
)
add(
    "b64_truncated_mid_quad",
    lambda: mail(part(b"", cte=b"7bit").replace(b"7bit", b"base64") + base64.b64encode(pdf())[:-3]),
    1,
    defect=True,
)
add(
    "b64_missing_padding",
    lambda: mail(
        part(b"", cte=b"7bit").replace(b"7bit", b"base64") + base64.b64encode(pdf("x")).rstrip(b"=")
    ),
    1,
)
add(
    "b64_padding_in_middle",
    lambda: mail(
        part(b"", cte=b"7bit").replace(b"7bit", b"base64")
        + base64.b64encode(PDF[:10])
        + CRLF
        + base64.b64encode(PDF[10:])
    ),
    1,
    defect=True,
)
add(
    "b64_only_junk",
    lambda: mail(part(b"", cte=b"7bit").replace(b"7bit", b"base64") + b"!!!! **** ~~~~"),
    0,
)
add("b64_empty", lambda: mail(part(b"", cte=b"7bit").replace(b"7bit", b"base64")), 0)
add(
    "b64_declared_on_raw_binary",
    lambda: mail(part(pdf(), cte=b"7bit").replace(b"7bit", b"base64")),
    1,
    defect=True,
)
add("b64_without_cte_header", lambda: mail(part(b64(pdf()), cte=None)), 1, defect=True)
add(
    "b64_cte_uppercase_and_comment",
    lambda: mail(part(b"", cte=b"7bit").replace(b"7bit", b"BASE64 (sic)") + b64(pdf())),
    1,
)
add(
    "b64_cte_misspelled",
    lambda: mail(part(b"", cte=b"7bit").replace(b"7bit", b"base-64") + b64(pdf())),
    1,
    defect=True,
)
add(
    "b64_very_long_single_line",
    lambda: mail(
        part(b"", cte=b"7bit").replace(b"7bit", b"base64")
        + base64.b64encode(pdf() + b"x" * 500_000)
    ),
    1,
)
add(
    "b64_all_equals",
    lambda: mail(part(b"", cte=b"7bit").replace(b"7bit", b"base64") + b"=" * 10_000),
    0,
)
add(
    "b64_with_nul_bytes",
    lambda: mail(
        part(b"", cte=b"7bit").replace(b"7bit", b"base64")
        + b64(pdf()).replace(b"\r\n", b"\x00\r\n")
    ),
    1,
    defect=True,
)

# --------------------------------------------------------------------------- quoted-printable


def qp(data: bytes) -> bytes:
    import quopri

    return quopri.encodestring(data).replace(b"\n", CRLF)


add(
    "qp_soft_breaks_in_pdf",
    lambda: mail(part(b"", cte=b"quoted-printable") + qp(pdf() + b"\xff\xfe" * 200)),
    1,
)
add(
    "qp_invalid_escapes",
    lambda: mail(
        part(
            b"Gr=FCezi =ZZ =\r\n=4",
            ctype=b"text/plain; charset=iso-8859-1",
            cte=b"quoted-printable",
            disposition=None,
        )
    ),
    0,
)
add("qp_trailing_equals", lambda: mail(part(b"", cte=b"quoted-printable") + qp(pdf()) + b"="), 1)
add(
    "qp_long_lines",
    lambda: mail(
        part(b"a" * 200_000, ctype=b"text/plain", cte=b"quoted-printable", disposition=None)
    ),
    0,
)
add(
    "qp_body_soft_breaks",
    lambda: mail(
        part(
            b"Sehr geehrte Da=\r\nmen und Her=\r\nren, Gr=C3=BCezi",
            ctype=b"text/plain; charset=utf-8",
            cte=b"quoted-printable",
            disposition=None,
        )
    ),
    0,
)

# --------------------------------------------------------------------------- charsets

add(
    "charset_unknown_body",
    lambda: mail(
        part(
            "Grüezi".encode("latin-1"),
            ctype=b"text/plain; charset=x-klingon",
            cte=b"8bit",
            disposition=None,
        ),
        part(pdf()),
    ),
    1,
)
add(
    "charset_codec_not_text",
    lambda: mail(
        part(b"aGVsbG8=", ctype=b"text/plain; charset=base64", cte=b"7bit", disposition=None),
        part(pdf()),
    ),
    1,
)
add(
    "charset_rot13_and_idna",
    lambda: mail(
        part(b"xn--nxasmq6b", ctype=b"text/plain; charset=idna", cte=b"7bit", disposition=None),
        part(b"uryyb", ctype=b"text/plain; charset=rot13", cte=b"7bit", disposition=None),
    ),
    0,
)
add(
    "charset_utf16_odd_bytes",
    lambda: mail(
        part(b"\xff\xfeH\x00i", ctype=b"text/plain; charset=utf-16", cte=b"8bit", disposition=None)
    ),
    0,
)
add(
    "charset_raw_latin1_subject",
    lambda: b"From: a@b\r\nSubject: Rechnung M\xfcller\r\n\r\nbody\r\n",
    0,
)
add(
    "charset_raw_utf8_filename",
    lambda: mail(part(pdf(), disposition='attachment; filename="Rechnung Müller.pdf"'.encode())),
    1,
    ("Rechnung Müller.pdf",),
)
add(
    "charset_raw_latin1_filename",
    lambda: mail(
        part(pdf(), disposition='attachment; filename="Rechnung Müller.pdf"'.encode("latin-1"))
    ),
    1,
    ("Rechnung Müller.pdf",),
)
add(
    "charset_bogus_encoded_word",
    lambda: (
        b"From: =?x-bogus?Q?M=FCller?= <a@b>\r\n"
        b"Subject: =?utf-8?B?!!!?= =?utf-8?Q?=ZZ?=\r\n\r\nbody\r\n"
    ),
    0,
)
add(
    "charset_iso2022jp_subject",
    lambda: b"From: a@b\r\nSubject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\n\r\nbody\r\n",
    0,
)
add(
    "charset_utf7_body",
    lambda: mail(
        part(b"Gr+APw-ezi", ctype=b"text/plain; charset=utf-7", cte=b"7bit", disposition=None)
    ),
    0,
)
add(
    "charset_name_1000_chars",
    lambda: mail(
        part(b"x", ctype=b"text/plain; charset=" + b"a" * 1000, cte=b"7bit", disposition=None),
        part(pdf()),
    ),
    1,
)
add(
    "charset_8bit_in_7bit_part",
    lambda: mail(
        part("Grüezi €".encode("cp1252"), ctype=b"text/plain", cte=b"7bit", disposition=None),
        part(pdf()),
    ),
    1,
)

# --------------------------------------------------------------------------- filenames

HOSTILE_NAMES: list[str] = [
    "../../etc/passwd.pdf",
    "..\\..\\windows\\win.ini.pdf",
    "C:\\Users\\Public\\evil.pdf",
    "invoice\x00.pdf",
    "invoice\u202efdp.exe",
    "\u2066\u2067hidden\u2069.pdf",
    "R" * 320 + ".pdf",
    ".bashrc",
    "..",
    "Rechnung Müller.pdf",
    'quote"and;semi=colon.pdf',
    "tab\tand\nnewline.pdf",
]


def _rfc2231(name: str) -> bytes:
    from urllib.parse import quote

    return b"attachment; filename*=UTF-8''" + quote(name, safe="").encode()


def _rfc2047(name: str) -> bytes:
    return b'attachment; filename="=?UTF-8?B?' + base64.b64encode(name.encode()) + b'?="'


def _quoted(name: str) -> bytes:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")
    return b'attachment; filename="' + escaped.encode("utf-8", "surrogatepass") + b'"'


for _index, _name in enumerate(HOSTILE_NAMES):
    for _style, _encode in (("quoted", _quoted), ("rfc2231", _rfc2231), ("rfc2047", _rfc2047)):
        add(
            f"filename_{_style}_{_index}",
            lambda e=_encode, n=_name, i=_index: mail(part(pdf(i), disposition=e(n))),
            1,
        )

add(
    "filename_rfc2231_continuations",
    lambda: mail(
        part(
            pdf(),
            disposition=b"attachment; filename*0*=UTF-8''Rechnung%20M;"
            b" filename*1*=%C3%BCller; filename*2=.pdf",
        )
    ),
    1,
    ("Rechnung Müller.pdf",),
)
add(
    "filename_rfc2231_1000_continuations",
    lambda: mail(
        part(
            pdf(),
            disposition=b"attachment"
            + b"".join(b"; filename*%d*=%%C3%%BC" % i for i in range(1000)),
        )
    ),
    1,
)
add(
    "filename_encoded_word_split_multibyte",
    lambda: mail(
        part(
            pdf(),
            disposition=b'attachment; filename="=?UTF-8?Q?Rechnung_M=C3?= =?UTF-8?Q?=BCller.pdf?="',
        )
    ),
    1,
    ("Rechnung Müller.pdf",),
)
add(
    "filename_only_in_content_type",
    lambda: mail(
        part(
            pdf(),
            ctype=b'application/octet-stream; name="=?ISO-8859-1?Q?Quittung_B=E4ckerei.pdf?="',
            disposition=b"inline",
        )
    ),
    1,
    ("Quittung Bäckerei.pdf",),
)
add(
    "filename_unquoted_with_spaces",
    lambda: mail(part(pdf(), disposition=b"attachment; filename=Beleg vom Juli.pdf")),
    1,
    ("Beleg vom Juli.pdf",),
)
add(
    "filename_empty_value",
    lambda: mail(part(pdf(), disposition=b'attachment; filename=""')),
    1,
    ("document.pdf",),
)

# --------------------------------------------------------------------------- headers

add(
    "header_subject_1mb",
    lambda: b"From: a@b\r\nSubject: " + b"a" * (1 << 20) + b"\r\n\r\nbody\r\n",
    0,
)
add(
    "header_from_quotes_1mb",
    lambda: b"From: " + b'"' * (1 << 20) + b"\r\nSubject: x\r\n\r\nbody\r\n",
    0,
)
add("header_from_backslashes_1mb", lambda: b"From: " + b"\\" * (1 << 20) + b"\r\n\r\nbody\r\n", 0)
add("header_from_parens_1mb", lambda: b"From: " + b"(" * (1 << 20) + b"\r\n\r\nbody\r\n", 0)
add(
    "header_content_type_semicolons",
    lambda: mail(part(pdf(), ctype=b"application/pdf" + b";" * 200_000)),
    1,
)
add(
    "header_content_type_quotes",
    lambda: mail(part(pdf(), ctype=b"application/pdf; name=" + b'"' * 200_000)),
    1,
)
add(
    "header_disposition_quotes",
    lambda: mail(part(pdf(), disposition=b"attachment; filename=" + b'";' * 100_000)),
    1,
)
add(
    "header_folded_forever",
    lambda: b"From: a@b\r\nSubject: start" + b"\r\n \t" * 50_000 + b"end\r\n\r\nbody\r\n",
    0,
)
add("header_20000_lines", lambda: b"X-Spam: 1\r\n" * 20_000 + b"From: a@b\r\n\r\nbody\r\n", 0)
add("header_without_colon", lambda: b"This is not a header\r\nFrom: a@b\r\n\r\nbody\r\n", 0)
add("header_with_nul", lambda: b"From: a\x00b@c\r\nSubject: \x00\x01\x02\r\n\r\nbody\r\n", 0)
add(
    "header_crlf_injection_encoded",
    lambda: b"From: a@b\r\nSubject: =?utf-8?Q?x=0D=0ABcc:_victim@example.com?=\r\n\r\nbody\r\n",
    0,
)
add(
    "header_bare_cr_injection",
    lambda: b"From: a@b\r\nSubject: hi\rBcc: victim@example.com\r\n\r\nbody\r\n",
    0,
)
add(
    "header_duplicate_content_type",
    lambda: mail(part(pdf(), extra=b"Content-Type: text/plain\r\n")),
    1,
)
add(
    "header_message_id_controls",
    lambda: b"Message-ID: <a\x1b[31m@b>\r\nDate: garbage\r\n\r\nbody\r\n",
    0,
)
add(
    "header_auth_results_1000",
    lambda: b"Authentication-Results: mx; spf=pass\r\n" * 1000 + b"\r\nbody\r\n",
    0,
)
add(
    "header_date_out_of_range",
    lambda: b"Date: Mon, 99 Foo 99999999 99:99:99 +9999\r\n\r\nbody\r\n",
    0,
)
add(
    "header_encoded_words_10000",
    lambda: b"Subject: " + b"=?utf-8?q?a?= " * 10_000 + b"\r\n\r\nbody\r\n",
    0,
)
add("header_only_no_body", lambda: b"From: a@b\r\nSubject: nothing\r\n", 0)

# --------------------------------------------------------------------------- many parts

add(
    "parts_10000_tiny",
    lambda: mail(*[part(b"x", ctype=b"text/plain", cte=b"7bit", disposition=None)] * 10_000),
    0,
    defect=True,
)
add("parts_300_identical_pdfs", lambda: mail(*[part(pdf("same"))] * 300), 1)
add(
    "parts_600_distinct_pdfs_over_limit",
    lambda: mail(*[part(pdf(i)) for i in range(600)]),
    None,
    defect=True,
)
add("parts_200_empty", lambda: mail(*[part(b"", cte=b"7bit")] * 200), 0)
add("parts_only_headers", lambda: mail(*[b"Content-Type: application/pdf"] * 50), 0)

# --------------------------------------------------------------------------- garbage

add("garbage_empty", lambda: b"", 0, defect=True)
add("garbage_whitespace", lambda: b" \r\n\t\r\n", 0)
add("garbage_random_64k", lambda: random.Random(64).randbytes(64 * 1024), 0)
add("garbage_random_1m", lambda: random.Random(1).randbytes(1 << 20), 0)
add("garbage_nul_bytes", lambda: b"\x00" * 100_000, 0)
add("garbage_newlines_500k", lambda: b"\n" * 500_000, 0)
add("garbage_crlf_pairs_and_colons", lambda: b":\r\n" * 50_000, 0)
add(
    "garbage_mbox_from_line",
    lambda: b"From hans@example.ch Tue Jul  1 10:00:00 2025\r\n" + mail(part(pdf())),
    1,
)
add("garbage_no_headers_pdf_body", lambda: b"\r\n" + pdf(), 1)
add("garbage_pdf_as_whole_mail", lambda: pdf(), None)
add(
    "garbage_binary_in_headers",
    lambda: random.Random(7).randbytes(5000).replace(b"\n", b"") + b"\r\n\r\nbody",
    0,
)

# --------------------------------------------------------------------------- transfer encodings

add("cte_7bit_with_binary_pdf", lambda: mail(part(pdf() + bytes(range(256)), cte=b"7bit")), 1)
add("cte_binary_pdf", lambda: mail(part(pdf() + b"\r\n\x00\xff\r\r\n\n", cte=b"binary")), 1)
add("cte_unknown_x_foo", lambda: mail(part(pdf(), cte=b"x-foo")), 1, defect=True)
add(
    "cte_qp_declared_base64_content",
    lambda: mail(part(b"", cte=b"quoted-printable") + b64(pdf())),
    1,
    defect=True,
)
add(
    "cte_uuencode",
    lambda: mail(
        part(
            b"begin 644 a.pdf\r\n"
            + b"".join(
                __import__("binascii").b2a_uu(pdf()[i : i + 45]) for i in range(0, len(pdf()), 45)
            )
            + b"`\r\nend\r\n",
            cte=b"x-uuencode",
        )
    ),
    1,
)
add("cte_1000_chars", lambda: mail(part(pdf(), cte=b"b" * 1000)), 1)

# --------------------------------------------------------------------------- content types

add("ctype_missing_mime_version", lambda: mail(TEXT_PART, part(pdf()), mime_version=False), 1)
add("ctype_octet_stream_pdf", lambda: mail(part(pdf(), ctype=b"application/octet-stream")), 1)
add("ctype_no_subtype", lambda: mail(part(pdf(), ctype=b"application")), 1)
add(
    "ctype_text_plain_pdf_inline",
    lambda: mail(part(pdf(), ctype=b"text/plain", cte=b"8bit", disposition=None)),
    1,
    defect=True,
)
add("ctype_image_declared_pdf", lambda: mail(part(noisy_png(), ctype=b"application/pdf")), 1)
add(
    "ctype_pdf_declared_zip_bytes",
    lambda: mail(
        part(zip_bytes({"a.pdf": pdf("z")}), disposition=b'attachment; filename="scan.pdf"')
    ),
    1,
)
add("ctype_inline_pdf_no_disposition", lambda: mail(TEXT_PART, part(pdf(), disposition=None)), 1)
add(
    "ctype_xml_einvoice",
    lambda: mail(part(UBL, ctype=b"text/xml", disposition=b'attachment; filename="invoice.xml"')),
    1,
)
add(
    "ctype_multipart_digest",
    lambda: mail(
        b"\r\n"
        + b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + b64(pdf()),
        ctype=b"multipart/digest",
    ),
    None,
)
add(
    "ctype_delivery_status",
    lambda: mail(
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
        b"Final-Recipient: rfc822; a@b\r\n",
        ctype=b"multipart/report",
    ),
    0,
)

# --------------------------------------------------------------------------- forwarded

add(
    "fwd_rfc822_base64_encoded",
    lambda: mail(rfc822(mail(part(pdf("fw"))), cte=b"base64")),
    1,
    defect=True,
)
add(
    "fwd_eml_octet_stream",
    lambda: mail(
        part(
            mail(part(pdf("eml"))),
            ctype=b"application/octet-stream",
            disposition=b'attachment; filename="Weiterleitung.eml"',
        )
    ),
    1,
)
add("fwd_rfc822_empty", lambda: mail(b"Content-Type: message/rfc822\r\n\r\n"), 0)
add(
    "fwd_rfc822_garbage",
    lambda: mail(b"Content-Type: message/rfc822\r\n\r\n" + random.Random(3).randbytes(20_000)),
    0,
)
add(
    "fwd_eml_garbage",
    lambda: mail(
        part(
            random.Random(4).randbytes(5000),
            ctype=b"message/rfc822",
            disposition=b'attachment; filename="x.eml"',
        )
    ),
    0,
)

# --------------------------------------------------------------------------- images

add(
    "image_cid_logo",
    lambda: mail(
        part(b'<img src="cid:logo@x">', ctype=b"text/html", cte=b"7bit", disposition=None),
        part(
            noisy_png(),
            ctype=b"image/png",
            disposition=b"inline",
            extra=b"Content-ID: <logo@x>\r\n",
        ),
    ),
    0,
)
add(
    "image_tiny_inline",
    lambda: mail(part(tiny_png(), ctype=b"image/png", disposition=b"inline")),
    0,
)
add(
    "image_inline_photo_kept",
    lambda: mail(
        part(noisy_png(seed=9), ctype=b"image/png", disposition=b'inline; filename="IMG_0001.png"')
    ),
    1,
)

# --------------------------------------------------------------------------- archives


def _bomb() -> bytes:
    return zip_bytes({"bomb.pdf": PDF + b"\x00" * (30 * 1024 * 1024)})


def _nested_zip(levels: int) -> bytes:
    data = zip_bytes({"deep.pdf": pdf("deep")})
    for level in range(levels):
        data = zip_bytes({f"level{level}.zip": data})
    return data


def _encrypted_zip() -> bytes:
    data = bytearray(zip_bytes({"secret.pdf": pdf("secret")}, method=zipfile.ZIP_STORED))
    # Set the "encrypted" flag bit in the local and the central header: zipfile must
    # then refuse to read it without a password, and we must skip it with a reason.
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 0x01
    return bytes(data)


add(
    "zip_bomb_high_ratio",
    lambda: mail(
        part(_bomb(), ctype=b"application/zip", disposition=b'attachment; filename="b.zip"')
    ),
    0,
)
add("zip_nested_one_level", lambda: mail(part(_nested_zip(1), ctype=b"application/zip")), 1)
add("zip_nested_three_levels", lambda: mail(part(_nested_zip(3), ctype=b"application/zip")), 0)
add(
    "zip_1000_members",
    lambda: mail(
        part(zip_bytes({f"f{i}.pdf": pdf(i) for i in range(1000)}), ctype=b"application/zip")
    ),
    200,
)
add("zip_encrypted_member", lambda: mail(part(_encrypted_zip(), ctype=b"application/zip")), 0)
add(
    "zip_truncated",
    lambda: mail(part(zip_bytes({"a.pdf": pdf()})[:60], ctype=b"application/zip")),
    0,
)
add(
    "zip_office_docx",
    lambda: mail(
        part(
            zip_bytes({"[Content_Types].xml": b"<Types/>", "word/media/image1.png": noisy_png()}),
            ctype=b"application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        )
    ),
    0,
)
add(
    "zip_traversal_names",
    lambda: mail(
        part(
            zip_bytes({"../../evil.pdf": pdf("e"), "/abs/x.pdf": pdf("a"), "C:\\w.pdf": pdf("w")}),
            ctype=b"application/zip",
        )
    ),
    3,
)


# --------------------------------------------------------------------------- invariants


def assert_safe_filename(name: str) -> None:
    assert isinstance(name, str) and name, name
    assert name not in (".", "..") and not name.startswith("."), name
    assert len(name) <= MAX_FILENAME_CHARS, name
    assert not any(c in name for c in "/\\:\x00"), name
    assert unicodedata.is_normalized("NFC", name), name
    for ch in name:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"), name


def assert_parsed_mail_invariants(parsed: ParsedMail) -> None:
    """What must hold for every input whatsoever."""
    assert isinstance(parsed, ParsedMail)
    digests = set()
    for attachment in parsed.attachments:
        assert_safe_filename(attachment.filename)
        assert isinstance(attachment.media_type, MediaType)
        assert sniff(attachment.data) == attachment.media_type
        assert isinstance(attachment.declared_type, str)
        assert isinstance(attachment.origin, str) and attachment.origin
        digest = hashlib.sha256(attachment.data).digest()
        assert digest not in digests, "duplicate attachment kept"
        digests.add(digest)
    for skipped in parsed.skipped:
        if skipped.filename is not None:
            assert_safe_filename(skipped.filename)
        assert isinstance(skipped.reason, str) and skipped.reason
    assert isinstance(parsed.body_text, str) and len(parsed.body_text) <= 10_000
    assert all(isinstance(d, str) for d in parsed.defects)
    for value in (parsed.message_id, parsed.sender, parsed.subject, parsed.date):
        assert value is None or ("\r" not in value and "\n" not in value and "\x00" not in value)
    assert all("\n" not in v and "\r" not in v for v in parsed.authentication_results)
