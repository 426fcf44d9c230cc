"""The stdlib mail parser, bounded: hostile headers and structure cost linear time.

Why the headers are read the way they are: CPython 3.11's `email._header_value_parser`
(behind `policy.default`'s header objects) is quadratic on hostile values — measured here,
32 KB of `"` in a From header takes 14 s, 32 KB of `;` in Content-Type 5 s, and the
feed parser fetches Content-Type several times per part. So the message is parsed with a
`policy.default`-derived policy whose header *fetch* returns the unfolded raw string, capped
(`max_header_chars`): the parser's own structural look-ups (type, boundary) then use the
linear compat32-style parameter parsing (ingest/mime/headers.py decodes the values we use).

The input is cut to the line and boundary-line limits before the parser sees it: the
parser builds an object per line and a part per boundary before any limit of ours acts.
"""

from __future__ import annotations

import re
from email import errors
from email.feedparser import BytesFeedParser
from email.message import EmailMessage
from email.policy import EmailPolicy

_LINE_BREAKS = re.compile(r"[\r\n]")


class _BoundedPolicy(EmailPolicy):
    """`policy.default`, except that fetching a header yields its unfolded raw string.

    Capped at `max_header_chars` (one policy per mail, carrying its limits). See the module
    docstring for why the parser must not build header objects; we build them ourselves
    where they help.
    """

    max_header_chars: int = 8 * 1024
    max_header_fields: int = 1_000

    def header_fetch_parse(self, name: str, value: str) -> str:
        if not isinstance(value, str):  # a header object set by code, not parsed
            return str(value)[: self.max_header_chars]
        return _LINE_BREAKS.sub("", value[: self.max_header_chars * 2])[: self.max_header_chars]


class TooManyHeaderFieldsDefect(errors.HeaderDefect):
    """More header fields than `max_header_fields` in one part; the rest were dropped."""


class _BoundedMessage(EmailMessage):
    """An EmailMessage that keeps at most `policy.max_header_fields` header fields.

    Every header look-up scans the whole list, and the parser looks up Content-Type
    several times per part: 200 000 junk fields made each look-up cost ~30 ms.
    A message created deeper than the nesting limit calls itself opaque, so that the
    parser reads it as a leaf instead of descending further.
    """

    _fiduflow_flat = False

    def get_content_type(self) -> str:
        if self._fiduflow_flat:
            return "application/octet-stream"
        return super().get_content_type()

    def set_raw(self, name: str, value: str) -> None:
        if len(self._headers) < getattr(self.policy, "max_header_fields", 1_000):
            super().set_raw(name, value)
        elif not getattr(self, "_fiduflow_dropped", False):
            self._fiduflow_dropped = True
            self.defects.append(TooManyHeaderFieldsDefect())


class _BoundedFeedParser(BytesFeedParser):
    """The stdlib feed parser, with messages beyond `max_nesting` levels made opaque."""

    def __init__(self, policy: EmailPolicy, max_nesting: int) -> None:
        super().__init__(policy=policy)
        self._max_nesting = max_nesting

    def _new_message(self) -> None:
        super()._new_message()
        # `_msgstack` holds the chain of open messages: its length is the current depth.
        if len(getattr(self, "_msgstack", ())) > self._max_nesting:
            self._cur._fiduflow_flat = True


_FEED_CHUNK = 64 * 1024


# --------------------------------------------------------------------------- cutting

_NEWLINE = re.compile(rb"\r\n|\r|\n")
_BOUNDARY_START = re.compile(rb"(?:\r\n|\r|\n)--")


def _too_many_lines(data: bytes, limit: int) -> bool:
    """More than `limit` lines (ended by LF, CR or CRLF)? The one-byte counts run at memory
    speed and settle most mails; counting CRLF, three times slower, only near the limit."""
    upper = data.count(b"\n") + data.count(b"\r")  # a CRLF counted twice
    return upper > limit and upper - data.count(b"\r\n") > limit


def _too_many_boundary_lines(data: bytes, limit: int) -> bool:
    """More than `limit` lines starting with `--`? Each has two dashes of its own, so half
    the dashes bound them: one fast pass for a mail of base64 (which has no dashes)."""
    if data.count(b"-") // 2 <= limit:
        return False
    return data.count(b"\n--") + data.count(b"\r--") > limit


def _nth_match_end(pattern: re.Pattern[bytes], data: bytes, n: int) -> int:
    """Where the n-th match of `pattern` ends (len(data) if there are fewer)."""
    end = len(data)
    for index, match in enumerate(pattern.finditer(data), start=1):
        if index >= n:
            return match.end()
    return end
