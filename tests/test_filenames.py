"""`safe_filename`: whatever a sender puts in a name, what we keep is a safe display name."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from domain.enums import MediaType
from ingest.filenames import MAX_FILENAME_CHARS, safe_filename

BIDI_CONTROLS = {chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}


def assert_safe(name: str) -> None:
    """The rules, checked independently of how safe_filename implements them."""
    assert isinstance(name, str)
    assert name
    assert name not in (".", "..")
    assert not name.startswith(".")
    assert len(name) <= MAX_FILENAME_CHARS
    assert "/" not in name
    assert "\\" not in name
    assert ":" not in name
    assert name == name.strip()
    assert "  " not in name
    assert unicodedata.is_normalized("NFC", name)
    for ch in name:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"), ch
        assert ch not in BIDI_CONTROLS


@pytest.mark.parametrize(
    ("raw", "media_type", "expected"),
    [
        ("Rechnung Müller.pdf", None, "Rechnung Müller.pdf"),
        ("Rechnung Mu\u0308ller.pdf", None, "Rechnung Müller.pdf"),  # NFD from macOS → NFC
        ("../../etc/passwd", None, "passwd"),
        ("..\\..\\Windows\\system32\\evil.pdf", None, "evil.pdf"),
        ("C:\\Users\\hans\\Rechnung.pdf", None, "Rechnung.pdf"),
        ("C:Rechnung.pdf", None, "Rechnung.pdf"),
        ("/absolute/path/scan.jpg", None, "scan.jpg"),
        ("invoice\x00.pdf.exe", None, "invoice .pdf.exe"),
        ("Rechnung\r\nBcc: x@y.pdf", None, "Rechnung Bcc_ x@y.pdf"),
        ("invoice\u202efdp.exe", None, "invoicefdp.exe"),  # RTL override removed
        ("\u2066Rechnung\u2069.pdf", None, "Rechnung.pdf"),
        ("zero\u200bwidth.pdf", None, "zerowidth.pdf"),
        ("  lots   of\tspace .pdf ", None, "lots of space.pdf"),
        ("Rechnung\u00a0Nr.\u20037.pdf", None, "Rechnung Nr. 7.pdf"),
        (".htaccess", None, "htaccess"),
        ("...pdf", MediaType.PDF, "pdf.pdf"),
        ("report.pdf.", None, "report.pdf"),
        ('a"b<c>d|e?f*.pdf', None, "a_b_c_d_e_f_.pdf"),
        ("Rechnung", MediaType.PDF, "Rechnung.pdf"),
        ("Rechnung vom 3. März", MediaType.PDF, "Rechnung vom 3. März.pdf"),
        ("Beleg.JPG", MediaType.JPEG, "Beleg.JPG"),
        ("", MediaType.PDF, "document.pdf"),
        (None, MediaType.JPEG, "document.jpg"),
        (None, MediaType.PNG, "document.png"),
        (None, MediaType.TIFF, "document.tif"),
        (None, MediaType.HEIC, "document.heic"),
        (None, MediaType.XML, "document.xml"),
        (None, None, "document"),
        (".", None, "document"),
        ("..", MediaType.PDF, "document.pdf"),
        ("../", MediaType.PDF, "document.pdf"),
        ("\x00\x01\x02", MediaType.PDF, "document.pdf"),
        ("\u202e\u202d", None, "document"),
        ("\udcfc.pdf", None, "pdf"),  # a lone surrogate (undecodable byte) is dropped
    ],
)
def test_safe_filename_examples(
    raw: str | None, media_type: MediaType | None, expected: str
) -> None:
    result = safe_filename(raw, media_type=media_type)
    assert result == expected
    assert_safe(result)


def test_long_names_are_capped_keeping_the_extension() -> None:
    result = safe_filename("Rechnung " + "x" * 400 + ".pdf")
    assert len(result) == MAX_FILENAME_CHARS
    assert result.endswith(".pdf")
    assert result.startswith("Rechnung xxx")


def test_long_name_of_decomposed_umlauts_is_capped_after_normalising() -> None:
    result = safe_filename("u\u0308" * 300 + ".pdf")
    assert result == "ü" * (MAX_FILENAME_CHARS - 4) + ".pdf"


def test_megabyte_name_is_cheap() -> None:
    result = safe_filename("a/" * 500_000 + "b" * 1_000_000 + ".pdf")
    assert result.endswith(".pdf")
    assert_safe(result)


def test_a_very_long_extension_is_not_an_extension() -> None:
    result = safe_filename("a." + "b" * 300)
    assert len(result) == MAX_FILENAME_CHARS
    assert_safe(result)


_HOSTILE = st.sampled_from(
    [
        "/",
        "\\",
        "..",
        ".",
        ":",
        "\x00",
        "\r\n",
        "\t",
        " ",
        "\u202e",
        "\u2066",
        "\u200b",
        "\ufeff",
        "\u0301",
        "\udcff",
        "C:",
        ".pdf",
        "ü",
        "u\u0308",
        "\u2028",
        "\x85",
        "\u3000",
    ]
)
_NAMES = st.one_of(
    st.none(),
    st.text(max_size=400),
    st.lists(st.one_of(_HOSTILE, st.text(max_size=8)), max_size=60).map("".join),
)


@settings(max_examples=500, deadline=None)
@given(_NAMES, st.sampled_from([None, *MediaType]))
@example("../" * 100, MediaType.PDF)
@example("." * 300, None)
@example("a" * 200 + "." + "b" * 9, None)
def test_any_input_gives_a_safe_name(raw: str | None, media_type: MediaType | None) -> None:
    result = safe_filename(raw, media_type=media_type)
    assert_safe(result)
    # Idempotent: a kept name passes through unchanged (intake may clean twice).
    assert safe_filename(result, media_type=media_type) == result


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=300), st.sampled_from(["pdf", "jpg", "heic", "xml"]))
def test_a_plain_extension_survives(stem: str, ext: str) -> None:
    result = safe_filename(f"{stem}.{ext}")
    assert_safe(result)
    assert result.endswith(f".{ext}") or result == ext
