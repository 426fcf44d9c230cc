"""Header values of a part, read safely: metadata (From, Subject, Date), the structural
fields (type, disposition, transfer encoding, charset, Content-ID) and attachment names.

The metadata headers (From, Subject) are decoded with `policy.default`'s header registry
on a short, capped value, falling back to compat32 decoding (RFC 2047 words decoded by
hand) when it raises. Filenames are taken with the compat32 parameter parser plus RFC
2231/2047 decoding, because it is measurably more tolerant of what real mailers send:
unquoted names with spaces, encoded words inside quotes or split across RFC 2231
continuations, unknown charsets, raw 8-bit names; and it lets `filename*` win over
`filename` (RFC 6266), which `policy.default` does not.
"""

from __future__ import annotations

import binascii
import re
from email.message import Message
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime

from ingest.filenames import safe_filename
from ingest.mime.decoding import _b64decode, _decode_bytes


def _get(msg: Message, name: str) -> str | None:
    try:
        value = msg.get(name)
    except Exception:
        return None
    return None if value is None else str(value)


def _get_all(msg: Message, name: str) -> list[str]:
    try:
        return [str(v) for v in (msg.get_all(name) or [])]
    except Exception:
        return []


def _content_type(part: Message) -> str:
    try:
        ctype = part.get_content_type()
    except Exception:
        return "application/octet-stream"
    return ctype[:100] if isinstance(ctype, str) else "application/octet-stream"


def _disposition(part: Message) -> str | None:
    value = _get(part, "content-disposition")
    if value is None:
        return None
    return value.split(";", 1)[0].strip().lower()[:40] or None


def _cte(part: Message) -> str:
    value = _get(part, "content-transfer-encoding")
    if not value:
        return ""
    # First token: tolerates quotes, comments and trailing junk ("base64 (sic)", "BASE64;").
    token = next((t for t in _CTE_SPLIT.split(value.lower()) if t), "")
    return token[:60]


_CTE_SPLIT = re.compile(r'[\s;()"]+')


def _charset(part: Message) -> str | None:
    try:
        charset = part.get_content_charset()
    except Exception:
        return None
    return charset if isinstance(charset, str) else None


def _content_id(part: Message) -> str | None:
    value = _get(part, "content-id")
    return _normalise_cid(value) if value else None


def _normalise_cid(value: str) -> str:
    return value.strip().strip("<>").strip().lower()[:1000]


def _safe_or_none(name: str | None) -> str | None:
    return safe_filename(name) if name else None


def _decoded_header(msg: Message, name: str, cap: int) -> str | None:
    """A header decoded by policy.default's registry; compat32-style decoding if it raises."""
    value = _get(msg, name)
    if value is None:
        return None
    value = _fix_8bit(value[:cap])
    try:
        return str(default_policy.header_factory(name, value))
    except Exception:
        return _decode_words(value)


def _date(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return parsedate_to_datetime(value).isoformat()
    except Exception:
        return _clean_meta(value, 200)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _clean_meta(value: str | None, cap: int = 1000) -> str | None:
    """One line, no control or bidi characters (these go to logs, tables and web pages)."""
    if value is None:
        return None
    text = " ".join(_CONTROL.sub(" ", value[: cap * 2]).split())[:cap]
    return text or None


def _filename(part: Message) -> str | None:
    """The part's filename, decoded: RFC 2231 (`filename*`, continuations) over RFC 2047
    words over plain; Content-Disposition `filename` first, Content-Type `name` second."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        value = _get(part, header)
        if value:
            name = _header_param(value, param)
            if name:
                return name
    return None


def _header_param(value: str, param: str) -> str | None:
    holder = Message()  # compat32: the tolerant, linear parameter parser
    holder["x"] = _fix_8bit(value)
    try:
        params = holder.get_params(header="x") or []
    except Exception:
        return None
    plain: str | None = None
    for key, val in params[1:]:
        if key.strip().lower() != param:
            continue
        if isinstance(val, tuple) and len(val) == 3:
            charset, _lang, text = val
            raw = text.encode("latin-1", "surrogateescape") if _is_latin1(text) else text.encode()
            decoded = _decode_bytes(raw, charset)
            return _decode_words(decoded).strip() or None  # RFC 6266: filename* wins
        if plain is None and isinstance(val, str):
            plain = val
    if plain is None:
        return None
    return _decode_words(plain).strip() or None


def _is_latin1(text: str) -> bool:
    try:
        text.encode("latin-1", "surrogateescape")
    except UnicodeEncodeError:
        return False
    return True


def _fix_8bit(text: str) -> str:
    """Raw 8-bit header bytes (surrogate-escaped by the parser): UTF-8, else Windows-1252."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = text.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace")


_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,75})\?([bBqQ])\?([^?]*)\?=")


def _decode_words(text: str) -> str:
    """RFC 2047 encoded words anywhere in `text` (also inside quotes, where mailers put them).

    Adjacent words of one charset are joined as bytes before decoding, because mailers
    split multi-byte characters across words; whitespace between words is dropped.
    """
    if "=?" not in text:
        return text
    out: list[str] = []
    run = bytearray()
    run_charset: str | None = None
    pos = 0
    for match in _ENCODED_WORD.finditer(text):
        gap = text[pos : match.start()]
        charset = match.group(1).split("*", 1)[0].lower()
        adjacent = run_charset is not None and not gap.strip()
        if not adjacent or charset != run_charset:
            if run_charset is not None:
                out.append(_decode_bytes(bytes(run), run_charset))
                run.clear()
            if not adjacent:
                out.append(gap)
        run_charset = charset
        encoded = match.group(3).encode("utf-8", "surrogateescape")
        if match.group(2) in "bB":
            run += _b64decode(encoded)[0]
        else:
            run += binascii.a2b_qp(encoded, header=True)
        pos = match.end()
    if run_charset is not None:
        out.append(_decode_bytes(bytes(run), run_charset))
    out.append(text[pos:])
    return "".join(out)
