"""Bad input ends in bounded time with a named error kind, never a hang or a crash."""

import time

from domain.enums import ReadErrorKind
from extractors import extract, read
from tests.extract_helpers import (
    circular_pages_pdf,
    encrypted_pdf,
    heavy_content_pdf,
    huge_png,
    invoice_pdf,
    own_readers,
    zero_page_pdf,
)


def _kind(data: bytes) -> ReadErrorKind | None:
    ex = extract(data, "x")
    return ex.error.kind if ex.error else None


def test_user_password_is_encrypted() -> None:
    assert _kind(encrypted_pdf("secret")) is ReadErrorKind.ENCRYPTED


def test_owner_password_only_is_read() -> None:
    ex = extract(encrypted_pdf(""))
    assert ex.error is None
    assert ex.invoice_number == "10201409"


def test_truncated_is_corrupt() -> None:
    data = invoice_pdf()
    assert _kind(data[: len(data) // 2]) is ReadErrorKind.CORRUPT


def test_zero_pages_is_empty() -> None:
    assert _kind(zero_page_pdf()) is ReadErrorKind.EMPTY


def test_empty_and_unknown_files() -> None:
    assert _kind(b"") is ReadErrorKind.EMPTY
    assert _kind(b"PK\x03\x04 a zip file") is ReadErrorKind.UNSUPPORTED
    assert _kind(b"<html><body>no invoice</body></html>") is ReadErrorKind.UNSUPPORTED


def test_decompression_bomb_refused_fast() -> None:
    started = time.perf_counter()
    reading = read(huge_png(30_000, 30_000))
    assert reading.error is not None and reading.error.kind is ReadErrorKind.TOO_LARGE
    assert time.perf_counter() - started < 2


def test_broken_image_is_corrupt() -> None:
    png = huge_png(100, 100)
    assert _kind(png[:40]) in (ReadErrorKind.CORRUPT, ReadErrorKind.UNREADABLE)


def test_circular_page_tree_is_corrupt() -> None:
    assert _kind(circular_pages_pdf()) is ReadErrorKind.CORRUPT


def test_self_drawing_form_is_read_in_bounded_time() -> None:
    started = time.perf_counter()
    ex = extract(circular_pages_pdf(circular_tree=False))
    assert time.perf_counter() - started < 10
    assert ex.error is None or ex.error.kind in (ReadErrorKind.CORRUPT, ReadErrorKind.TIMEOUT)


def test_parser_that_crawls_times_out_and_pool_recovers() -> None:
    # The parse time limit is the readers' configuration: passed in, no setting changed.
    with own_readers(parse_timeout_s=2.0) as readers:
        started = time.perf_counter()
        ex = extract(heavy_content_pdf(3_000_000), readers=readers)
        elapsed = time.perf_counter() - started
        assert ex.error is not None and ex.error.kind is ReadErrorKind.TIMEOUT
        assert "took longer than 2 s" in ex.error.message
        assert elapsed < 15
        # The killed worker is replaced: the next document reads normally.
        assert extract(invoice_pdf(), readers=readers).invoice_number == "10201409"
