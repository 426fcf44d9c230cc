"""Coverage-guided fuzz target for `ingest.mime.parse_mail` (atheris / libFuzzer).

Run it for as long as you like, with a corpus directory that grows as it learns:

    .venv/bin/python tests/fuzz/fuzz_mime.py -max_total_time=600 -max_len=65536 CORPUS_DIR

tests/test_fuzz_mime.py runs it briefly on every test run. A crash (an exception out of
`parse_mail`, or a broken invariant) makes libFuzzer stop, write the input to
`crash-<sha1>` and exit non-zero. The checks below restate the contract on their own,
without the test helpers, so the target also runs outside the test suite.
"""

from __future__ import annotations

import hashlib
import sys
import unicodedata

if __name__ == "__main__":
    import atheris

    # Instrument our code and the stdlib email package it drives (imported first here),
    # so that libFuzzer is guided by branch coverage inside the MIME parser too.
    with atheris.instrument_imports():
        from domain.enums import MediaType
        from domain.filetype import sniff
        from ingest.mime import MimeLimits, ParsedMail, parse_mail
else:
    from domain.enums import MediaType
    from domain.filetype import sniff
    from ingest.mime import MimeLimits, ParsedMail, parse_mail

LIMITS = MimeLimits()
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _check_name(name: str) -> None:
    assert isinstance(name, str) and name, repr(name)
    assert name not in (".", "..") and not name.startswith("."), repr(name)
    assert len(name) <= 150, repr(name)
    assert not any(c in name for c in "/\\:\x00"), repr(name)
    assert unicodedata.is_normalized("NFC", name), repr(name)
    assert not any(unicodedata.category(c) in _FORBIDDEN_CATEGORIES for c in name), repr(name)


def check_one_input(data: bytes) -> None:
    """The invariants of `parse_mail` on one input; raises AssertionError if one breaks."""
    parsed = parse_mail(data, LIMITS)
    assert isinstance(parsed, ParsedMail)
    seen: set[bytes] = set()
    for attachment in parsed.attachments:
        _check_name(attachment.filename)
        assert isinstance(attachment.media_type, MediaType)
        assert sniff(attachment.data) == attachment.media_type
        digest = hashlib.sha256(attachment.data).digest()
        assert digest not in seen, "the same bytes were kept twice"
        seen.add(digest)
        assert attachment.origin
    for skipped in parsed.skipped:
        if skipped.filename is not None:
            _check_name(skipped.filename)
        assert skipped.reason
    assert len(parsed.body_text) <= LIMITS.max_body_chars
    for value in (parsed.message_id, parsed.sender, parsed.subject, parsed.date):
        assert value is None or not any(c in value for c in "\r\n\x00"), repr(value)
    for value in parsed.authentication_results:
        assert not any(c in value for c in "\r\n\x00"), repr(value)
    assert all(isinstance(d, str) for d in parsed.defects)


def main() -> None:
    atheris.Setup(sys.argv, check_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
