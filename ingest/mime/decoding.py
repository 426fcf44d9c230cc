"""Bytes of a part: its raw payload, transfer encodings undone (also broken and
undeclared ones), text in its charset (also a wrong or unknown one)."""

from __future__ import annotations

import binascii
import codecs
import contextlib
import re
from collections.abc import Callable
from email.message import Message

from domain.enums import MediaType
from domain.filetype import is_zip, sniff

_IDENTITY_CTES = frozenset({"", "7bit", "8bit", "binary"})
_UU_CTES = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


def _as_bytes(raw: object) -> bytes:
    if isinstance(raw, bytes):
        return raw
    if isinstance(raw, bytearray | memoryview):
        return bytes(raw)
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return b""


def _text_bytes(text: str) -> bytes:
    """Bytes back from the parser's str (ASCII plus surrogate-escaped 8-bit bytes)."""
    try:
        return text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape")


def _raw_payload(part: Message) -> bytes:
    """The part's body exactly as it was on the wire.

    `Message.get_payload()` re-decodes 8-bit bytes with the declared charset and
    `errors="replace"` — destroying binary content sent as 8bit/binary — and
    `get_payload(decode=True)` knows fewer broken encodings than `_decode` below; so the
    raw payload the parser stored is read directly.
    """
    payload = part._payload
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, str):
        return _text_bytes(payload)
    return b""


# -- charsets

# Codecs that are not character sets, or decode hostile input slowly or surprisingly.
_REFUSED_CODECS = frozenset(
    {"idna", "punycode", "raw_unicode_escape", "unicode_escape", "undefined", "mbcs"}
)
_CHARSET_ALIASES = {"iso-8859-8-i": "iso8859_8", "x-mac-roman": "mac_roman", "unknown-8bit": ""}


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    key = name.strip().strip("\"'").lower()[:40]
    key = _CHARSET_ALIASES.get(key, key)
    if not key:
        return None
    try:
        info = codecs.lookup(key)
    except (LookupError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED_CODECS:
        return None
    return info.name


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Text in its declared charset; if that is unknown or wrong, UTF-8, then Windows-1252."""
    codec = _codec(charset)
    if codec is not None:
        # A wrong declaration (UTF-8 bytes labelled us-ascii, say) is common: fall through.
        with contextlib.suppress(Exception):
            return data.decode(codec)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(data) - 4:  # only a sequence cut off at the end: still UTF-8
            return data.decode("utf-8", "replace")
    return data.decode("cp1252", "replace")


# -- transfer encodings

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NOT_B64 = bytes(b for b in range(256) if b not in _B64_ALPHABET + b"=")
_B64_OR_SPACE = _B64_ALPHABET + b"= \t\r\n"
_PADDING = re.compile(rb"=+")


def _b64decode(raw: bytes) -> tuple[bytes, bool]:
    """Decode base64 as far as it goes: (bytes, clean).

    Junk characters are dropped, missing padding is supplied, a dangling sixth bit is
    discarded, and padding in the middle (two encodings concatenated) restarts decoding.
    """
    clean = not raw.translate(None, _B64_OR_SPACE)
    alphabet = raw.translate(None, _NOT_B64)
    padding = alphabet.find(b"=")
    if padding == -1:
        segments = [alphabet]
    elif not alphabet[padding:].strip(b"="):  # padding only at the end: no regex pass
        segments = [alphabet[:padding]]
    else:
        segments = _PADDING.split(alphabet)
    segments = [s for s in segments if s]
    if len(segments) > 1:
        clean = False
    out = bytearray()
    for segment in segments:
        remainder = len(segment) % 4
        if remainder == 1:
            segment = segment[:-1]
            clean = False
        elif remainder:
            segment += b"=" * (4 - remainder)
        try:
            out += binascii.a2b_base64(segment)
        except (binascii.Error, ValueError):
            clean = False
    return bytes(out), clean


def _looks_like_base64(raw: bytes) -> bool:
    head = raw[:4096]
    stripped = head.strip()
    return len(stripped) >= 16 and not stripped.translate(None, _B64_OR_SPACE)


def _starts_like_document(data: bytes) -> bool:
    head = data[:2048]
    return is_zip(head) or (sniff(head) not in (None, MediaType.XML))


def _decode_transfer(
    raw: bytes, cte: str, part: Message | None, defect: Callable[[str], None]
) -> bytes:
    """The part's bytes with their transfer encoding undone, as far as it goes; what was
    wrong with the encoding goes to `defect`."""
    if cte == "base64":
        if _starts_like_document(raw):
            defect("Content-Transfer-Encoding base64 declared on raw binary content")
            return raw
        data, clean = _b64decode(raw)
        if not clean:
            defect("invalid base64 (decoded what could be decoded)")
        return data
    if cte == "quoted-printable":
        data = binascii.a2b_qp(raw)
    elif cte in _UU_CTES and part is not None:
        try:
            decoded = part.get_payload(decode=True)
        except Exception:
            decoded = None
        if isinstance(decoded, bytes):
            return decoded
        defect("undecodable uuencoded part")
        return raw
    else:
        if cte not in _IDENTITY_CTES:
            defect(f"unknown Content-Transfer-Encoding {cte[:40]!r}")
        data = raw
    # Base64 sent without saying so (or mislabelled, "base-64", quoted-printable):
    # judged by what it decodes to, so text that merely looks like base64 stays text.
    if not _starts_like_document(data) and _looks_like_base64(raw):
        decoded, _clean = _b64decode(raw)
        if _starts_like_document(decoded):
            defect("base64 content without Content-Transfer-Encoding: base64")
            return decoded
    return data
