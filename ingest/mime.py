"""An inbound mail, as bytes, into the documents it carries — safe against any input.

`parse_mail` is pure: bytes in, a `ParsedMail` out, never an exception. Hostile or broken
input ends in a `ParsedMail` whose `defects` say what was wrong and whose `skipped` list
says which parts were not taken and why. The client is decided elsewhere (by the SMTP
envelope recipient); From/To are never looked at for routing, only reported.

What becomes an `Attachment`: every leaf part whose *bytes* are a document (PDF, JPEG,
PNG, TIFF, HEIC, XML e-invoice) — whatever its Content-Disposition says (phone mail apps
send PDFs `inline`) and whatever its declared Content-Type says — plus the documents inside
ZIP attachments and inside forwarded mails (`message/rfc822` parts and `.eml` files).

What does not (recorded in `skipped` with a reason):
- images referenced from an HTML body by `cid:` (logos, signatures, tracking pixels),
  unless at least `cid_image_document_bytes` large — a photo of a receipt pasted into
  the body of an iPhone mail is also a `cid:` image, and losing a document is worse than a
  review task for a large banner;
- tiny images (under `min_inline_image_bytes`) not explicitly attached — icons and
  spacers; no legible receipt fits in 2 KB;
- the second and later copies of identical bytes (same SHA-256): kept once, in the
  order of the mail, the first name wins;
- parts that are not documents, empty, over a size limit, or beyond a structural limit.

Why the headers are read the way they are: CPython 3.11's `email._header_value_parser`
(behind `policy.default`'s header objects) is quadratic on hostile values — measured here,
32 KB of `"` in a From header takes 14 s, 32 KB of `;` in Content-Type 5 s, and the
feed parser fetches Content-Type several times per part. So the message is parsed with a
`policy.default`-derived policy whose header *fetch* returns the unfolded raw string, capped
(`max_header_chars`): the parser's own structural look-ups (type, boundary) then use the
linear compat32-style parameter parsing. The metadata headers (From, Subject) are decoded
with `policy.default`'s header registry on a short, capped value, falling back to compat32
decoding (RFC 2047 words decoded by hand) when it raises. Filenames are taken with the
compat32 parameter parser plus RFC 2231/2047 decoding, because it is measurably more
tolerant of what real mailers send: unquoted names with spaces, encoded words inside
quotes or split across RFC 2231 continuations, unknown charsets, raw 8-bit names; and it
lets `filename*` win over `filename` (RFC 6266), which `policy.default` does not.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import hashlib
import html
import re
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field, replace
from email import errors
from email.feedparser import BytesFeedParser
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.policy import EmailPolicy
from email.policy import default as default_policy
from email.utils import parsedate_to_datetime

from domain.enums import MediaType
from ingest.archives import ArchiveLimits, open_zip
from ingest.filenames import safe_filename
from ingest.filetype import is_zip, looks_like_pdf, sniff

_MIB = 1024 * 1024
_IMAGE_TYPES = frozenset({MediaType.JPEG, MediaType.PNG, MediaType.TIFF, MediaType.HEIC})
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_STATUS_TYPES = frozenset(
    {"message/delivery-status", "message/disposition-notification", "message/feedback-report"}
)
_EML_TYPES = frozenset({"message/rfc822", "message/global", "application/eml", "application/x-eml"})
_IDENTITY_CTES = frozenset({"", "7bit", "8bit", "binary"})
_UU_CTES = frozenset({"x-uuencode", "uuencode", "uue", "x-uue"})


@dataclass(frozen=True)
class MimeLimits:
    """Bounds on the work one mail may cause. Defaults fit the 25 MB SMTP size limit."""

    # A backstop above the SMTP limit (Settings.max_message_bytes, 25 MiB): the SMTP
    # layer refuses larger mails with 552; callers may pass their own setting here.
    # Beyond it only the headers are read (metadata), nothing is extracted.
    max_message_bytes: int = 32 * _MIB
    # The stdlib parser costs ~1–6 µs and an object per line (header lines and parts
    # being the dear ones), so the input is cut after this many lines: ~1.5× the lines of
    # a 25 MB mail of base64 attachments (78 bytes a line). Parts before the cut are
    # read; the part the cut falls in is skipped, never taken half.
    max_lines: int = 500_000
    max_parts: int = 500  # MIME parts walked, all levels (containers included)
    # Input is likewise cut after this many lines that start with "--" (boundary
    # candidates): the parser builds a part for each, before our part limit can act.
    max_boundary_lines: int = 2_000
    max_header_fields: int = 1_000  # per part; later fields are dropped (Received: chains ~50)
    # Parser nesting (multiparts and messages inside each other). The stdlib parser
    # resumes one generator per level for every line it reads, so its cost is lines ×
    # depth (measured: 600 levels × 50 000 lines = 5.7 s), and ~1000 levels overflow
    # the stack. Parts deeper than this are read as flat, opaque leaves. Five
    # forwarded mails with alternative/related bodies need ~15.
    max_nesting: int = 30
    max_depth: int = 5  # forwarded mails inside forwarded mails
    max_part_bytes: int = 25 * _MIB  # one decoded part
    max_total_bytes: int = 64 * _MIB  # all decoded parts and unzipped members together
    min_inline_image_bytes: int = 2 * 1024
    cid_image_document_bytes: int = 256 * 1024
    max_body_chars: int = 10_000
    max_header_chars: int = 8 * 1024  # any header value is cut here before any parsing
    archive: ArchiveLimits = field(default_factory=ArchiveLimits)


DEFAULT_LIMITS = MimeLimits()


@dataclass(frozen=True)
class Attachment:
    filename: str  # safe_filename(...) of the decoded name
    data: bytes
    media_type: MediaType  # sniffed from the bytes
    # Content-Type as sent ("type/subtype", lower case; "text/plain" when missing or
    # invalid, as RFC 2045 says). Empty for a member taken out of a ZIP: nothing was
    # declared for it.
    declared_type: str
    # Where it came from: "attachment" / "inline" (its Content-Disposition), or
    # "zip:invoices.zip", each forwarded mail adding a "forwarded:N/" prefix
    # ("forwarded:1/attachment", "forwarded:1/zip:a.zip/zip:inner.zip").
    origin: str


@dataclass(frozen=True)
class SkippedPart:
    filename: str | None  # safe name, None when the part had none
    declared_type: str
    reason: str


@dataclass(frozen=True)
class ParsedMail:
    message_id: str | None
    sender: str | None  # the From header, decoded — metadata only, never used to route
    subject: str | None
    date: str | None  # ISO 8601 when the Date header parses, else the header as sent
    authentication_results: list[str]
    body_text: str  # first max_body_chars of the text body (plain preferred over HTML)
    attachments: list[Attachment]
    skipped: list[SkippedPart]
    defects: list[str]


def parse_mail(raw: bytes, limits: MimeLimits = DEFAULT_LIMITS) -> ParsedMail:
    """The documents and metadata of one RFC 5322 message. Never raises."""
    run = _Run(limits)
    try:
        run.parse(raw)
    except Exception as exc:  # RecursionError, MemoryError, a bug: contained, reported
        run.defect(f"internal error while parsing ({type(exc).__name__}); result may be partial")
    return run.result()


# --------------------------------------------------------------------------- policy


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


# --------------------------------------------------------------------------- the run


@dataclass
class _Leaf:
    part: Message
    depth: int  # forwarded-mail nesting
    prefix: str  # origin prefix, "" or "forwarded:1/" ...


class _Run:
    """State of one `parse_mail` call: what was found, what was skipped, the budgets."""

    def __init__(self, limits: MimeLimits) -> None:
        self.limits = limits
        self.policy = _BoundedPolicy(
            max_header_chars=max(256, limits.max_header_chars),
            max_header_fields=max(16, limits.max_header_fields),
            message_factory=_BoundedMessage,
        )
        self.meta: dict[str, str | None] = {}
        self.auth_results: list[str] = []
        self.attachments: list[Attachment] = []
        self.skipped: list[SkippedPart] = []
        self.defects: list[str] = []
        self._defect_set: set[str] = set()
        self.seen: set[str] = set()  # SHA-256 of attachments kept
        self.decoded_total = 0
        self.parts = 0
        self.recovered = 0
        self.truncated = False  # the input was cut at a structural limit
        self.last_leaf: Message | None = None  # last leaf visited, in document order
        self.cut_leaf: Message | None = None  # the leaf the cut fell into
        self.leaves: list[_Leaf] = []
        self.cids: set[str] = set()
        self.texts: list[tuple[int, int, str]] = []  # (depth, 0 plain / 1 html, text)
        self.forwards: Counter[str] = Counter()

    # ---------------------------------------------------------------- outcome

    def defect(self, text: str) -> None:
        if text in self._defect_set:
            return
        if len(self.defects) >= 100:
            if len(self.defects) == 100:
                self.defects.append("more defects not listed")
                self._defect_set.add("more defects not listed")
            return
        self._defect_set.add(text)
        self.defects.append(text)

    def skip(self, filename: str | None, declared: str, reason: str) -> None:
        self.skipped.append(SkippedPart(filename, declared, reason))

    def result(self) -> ParsedMail:
        return ParsedMail(
            message_id=self.meta.get("message_id"),
            sender=self.meta.get("sender"),
            subject=self.meta.get("subject"),
            date=self.meta.get("date"),
            authentication_results=list(self.auth_results),
            body_text=self._body_text(),
            attachments=list(self.attachments),
            skipped=list(self.skipped),
            defects=list(self.defects),
        )

    # ---------------------------------------------------------------- parse

    def parse(self, raw: bytes) -> None:
        data = _as_bytes(raw)
        if not data.strip():
            self.defect("empty message")
            return
        if len(data) > self.limits.max_message_bytes:
            self.defect(
                f"message over size limit ({len(data)} > {self.limits.max_message_bytes} "
                "bytes); only headers read"
            )
            self._metadata(self._parse_headers(data))
            return
        data = self._cut(data)
        root = self._parse_message(data, "message", within_limits=True)
        if root is None:
            self._metadata(self._parse_headers(data))
            return
        self._metadata(root)
        complete = self._collect(root)
        if self.truncated and complete:
            self.cut_leaf = self.last_leaf
        for leaf in self.leaves:
            try:
                self._take_leaf(leaf)
            except Exception as exc:  # one bad part must not cost the others
                self.defect(f"part could not be read ({type(exc).__name__})")

    def _cut(self, data: bytes) -> bytes:
        """The input up to the line and boundary-line limits (counted in C, cut rarely)."""
        limits = self.limits
        if _too_many_lines(data, limits.max_lines):
            data = data[: _nth_match_end(_NEWLINE, data, limits.max_lines)]
            self.truncated = True
            self.defect(f"more than {limits.max_lines} lines; the rest ignored")
        if _too_many_boundary_lines(data, limits.max_boundary_lines):
            cut = _nth_match_end(_BOUNDARY_START, data, limits.max_boundary_lines + 1)
            if cut < len(data):
                data = data[: cut - 2]
                self.truncated = True
                self.defect(
                    f"more than {limits.max_boundary_lines} boundary lines; the rest ignored"
                )
        return data

    def _parse_message(
        self, data: bytes, what: str, *, within_limits: bool = False
    ) -> Message | None:
        # The top-level input was cut to these bounds (`within_limits`); a nested mail (a
        # decoded .eml or base64 message/rfc822) that exceeds them is not parsed at all.
        limits = self.limits
        if not within_limits and (
            _too_many_lines(data, limits.max_lines)
            or _too_many_boundary_lines(data, limits.max_boundary_lines)
        ):
            self.defect(f"{what} too large to parse (lines or parts over the limits)")
            return None
        try:
            parser = _BoundedFeedParser(self.policy, max(2, self.limits.max_nesting))
            # Fed in chunks, like BytesParser does, so the line buffer stays small.
            for offset in range(0, len(data), _FEED_CHUNK):
                parser.feed(data[offset : offset + _FEED_CHUNK])
            return parser.close()
        except RecursionError:
            self.defect(f"{what}: MIME structure nested too deeply to parse")
        except Exception as exc:
            self.defect(f"{what} could not be parsed ({type(exc).__name__})")
        return None

    def _parse_headers(self, data: bytes) -> Message | None:
        head = data[: 256 * 1024]
        try:
            return BytesParser(policy=self.policy).parsebytes(head, headersonly=True)
        except Exception as exc:
            self.defect(f"headers could not be parsed ({type(exc).__name__})")
            return None

    # ---------------------------------------------------------------- metadata

    def _metadata(self, msg: Message | None) -> None:
        if msg is None:
            return
        self.meta["message_id"] = _clean_meta(_get(msg, "message-id"))
        self.meta["sender"] = _clean_meta(_decoded_header(msg, "from", 1024))
        self.meta["subject"] = _clean_meta(_decoded_header(msg, "subject", 4096))
        self.meta["date"] = _date(_get(msg, "date"))
        for value in _get_all(msg, "authentication-results")[:20]:
            cleaned = _clean_meta(value, 2000)
            if cleaned:
                self.auth_results.append(cleaned)

    # ---------------------------------------------------------------- pass 1: structure

    def _collect(self, root: Message) -> bool:
        """Walk the tree (iteratively: depth is attacker-chosen) into leaves to judge.

        Text bodies are read here, HTML scanned for `cid:` references, forwarded mails
        opened; documents are judged afterwards, once every `cid:` reference is known.
        True when every part was visited.
        """
        stack: list[_Leaf] = [_Leaf(root, 0, "")]
        while stack:
            leaf = stack.pop()
            if self.parts >= self.limits.max_parts:
                self.defect(f"more than {self.limits.max_parts} MIME parts; the rest ignored")
                return False
            self.parts += 1
            try:
                self._visit(leaf, stack)
            except Exception as exc:
                self.defect(f"part could not be read ({type(exc).__name__})")
        return True

    def _visit(self, leaf: _Leaf, stack: list[_Leaf]) -> None:
        part = leaf.part
        for defect in getattr(part, "defects", ())[:20]:
            self.defect(type(defect).__name__)
        if getattr(part, "_fiduflow_flat", False):
            self.defect(f"MIME structure nested deeper than {self.limits.max_nesting} levels")
            self.skip(None, "", "nested too deeply")
            return
        ctype = _content_type(part)
        payload = part._payload  # see _raw_payload for why the attribute, not the getter
        if isinstance(payload, list):
            children = [p for p in payload if isinstance(p, Message)]
            if ctype.startswith("message/"):
                if ctype not in _STATUS_TYPES and children:
                    self._enter_forwarded(leaf, children[0], _cte(part), stack)
                return
            stack.extend(_Leaf(child, leaf.depth, leaf.prefix) for child in reversed(children))
            return
        if ctype.startswith("multipart/"):
            recovered = self._recover_multipart(part)
            if recovered is not None:
                stack.append(_Leaf(recovered, leaf.depth, leaf.prefix))
                return
        self.last_leaf = part
        filename = _filename(part)
        disposition = _disposition(part)
        if ctype in _BODY_TYPES and filename is None and disposition != "attachment":
            self._read_body(leaf, ctype)
            return
        if ctype in _EML_TYPES or (filename or "").lower().endswith(".eml"):
            self._open_eml(leaf, ctype, filename, stack)
            return
        self.leaves.append(leaf)

    def _enter_forwarded(self, leaf: _Leaf, inner: Message, cte: str, stack: list[_Leaf]) -> None:
        if cte in ("base64", "quoted-printable"):
            # RFC 2046 forbids encoding message/rfc822, some mailers do it anyway; the
            # parser then read the encoded text as the body of a header-less message.
            encoded = inner._payload
            if isinstance(encoded, str):
                self.defect(f"message/rfc822 part with Content-Transfer-Encoding {cte}")
                decoded = self._decode(_text_bytes(encoded), cte)
                if not self._charge(len(decoded)):
                    self.skip(
                        _safe_or_none(_filename(leaf.part)), "message/rfc822", "over size limit"
                    )
                    return
                parsed = self._parse_message(decoded, "forwarded mail")
                if parsed is None:
                    return
                inner = parsed
        self._push_forwarded(leaf, inner, _filename(leaf.part), stack)

    def _push_forwarded(
        self, leaf: _Leaf, inner: Message, filename: str | None, stack: list[_Leaf]
    ) -> None:
        if leaf.depth + 1 > self.limits.max_depth:
            self.skip(
                _safe_or_none(filename),
                "message/rfc822",
                f"forwarded mail nested deeper than {self.limits.max_depth} levels",
            )
            self.defect("forwarded mails nested too deeply")
            return
        self.forwards[leaf.prefix] += 1
        prefix = f"{leaf.prefix}forwarded:{self.forwards[leaf.prefix]}/"
        stack.append(_Leaf(inner, leaf.depth + 1, prefix))

    def _open_eml(self, leaf: _Leaf, ctype: str, filename: str | None, stack: list[_Leaf]) -> None:
        data = self._decoded_payload(leaf.part, ctype, filename)
        if data is None:
            return
        if sniff(data) is not None or is_zip(data):  # a document merely named .eml
            self.leaves.append(leaf)
            return
        inner = self._parse_message(data, "attached mail")
        if inner is None or not inner.keys():
            self.skip(_safe_or_none(filename), ctype, "not a document type")
            return
        self._push_forwarded(leaf, inner, filename, stack)

    def _recover_multipart(self, part: Message) -> Message | None:
        """A multipart whose boundary is missing or wrong: try the one the body uses."""
        if self.recovered >= 10 or getattr(part, "_fiduflow_recovered", False):
            return None
        body = part._payload
        if not isinstance(body, str):
            return None
        match = _BOUNDARY_LINE.search(body, 0, 64 * 1024)
        if match is None:
            return None
        self.recovered += 1
        boundary = match.group(1)
        header = f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
        rebuilt = self._parse_message(_text_bytes(header + body), "multipart")
        if rebuilt is None or not isinstance(rebuilt._payload, list):
            return None
        rebuilt._fiduflow_recovered = True  # type: ignore[attr-defined]
        self.defect("multipart boundary missing or wrong; recovered from the body")
        return rebuilt

    def _read_body(self, leaf: _Leaf, ctype: str) -> None:
        data = self._decode(_raw_payload(leaf.part), _cte(leaf.part))
        if _starts_like_document(data):
            # A document sent as "text/plain" by a broken client: judge it as one.
            self.defect(f"document declared as {ctype}")
            self.leaves.append(leaf)
            return
        text = _decode_bytes(data[: 4 * _MIB], _charset(leaf.part))  # plenty for the body
        if ctype == "text/html":
            for ref in _CID_REF.findall(text, 0, 2 * _MIB):
                self.cids.add(_normalise_cid(urllib.parse.unquote(ref)))
            # Keep enough markup for max_body_chars of text, not whole newsletters.
            self.texts.append((leaf.depth, 1, text[: self.limits.max_body_chars * 20]))
        else:
            self.texts.append((leaf.depth, 0, text[: self.limits.max_body_chars * 2]))

    # ---------------------------------------------------------------- pass 2: documents

    def _take_leaf(self, leaf: _Leaf) -> None:
        part = leaf.part
        ctype = _content_type(part)
        filename = _filename(part)
        if part is self.cut_leaf:
            self.skip(_safe_or_none(filename), ctype, "cut off at a message limit")
            return
        data = self._decoded_payload(part, ctype, filename)
        if data is None:
            return
        if is_zip(data):
            self._take_zip(leaf, ctype, filename, data)
            return
        media_type = sniff(data)
        if media_type is None:
            self.skip(_safe_or_none(filename), ctype, _not_a_document(data))
            return
        disposition = _disposition(part)
        if media_type in _IMAGE_TYPES:
            cid = _content_id(part)
            if cid and cid in self.cids and len(data) < self.limits.cid_image_document_bytes:
                self.skip(
                    _safe_or_none(filename),
                    ctype,
                    "inline image referenced by cid: (logo/signature)",
                )
                return
            if disposition != "attachment" and len(data) < self.limits.min_inline_image_bytes:
                self.skip(_safe_or_none(filename), ctype, "tiny inline image (logo/signature)")
                return
        origin = leaf.prefix + ("attachment" if disposition == "attachment" else "inline")
        self._add(
            Attachment(
                safe_filename(filename, media_type=media_type), data, media_type, ctype, origin
            )
        )

    def _take_zip(self, leaf: _Leaf, ctype: str, filename: str | None, data: bytes) -> None:
        zip_name = safe_filename(filename) if filename else "archive.zip"
        remaining = max(0, self.limits.max_total_bytes - self.decoded_total)
        limits = replace(
            self.limits.archive,
            max_total_bytes=min(self.limits.archive.max_total_bytes, remaining),
        )
        result = open_zip(data, limits)
        self.decoded_total += result.bytes_read
        if result.error is not None:
            if result.error.kind == "not_an_archive":
                self.skip(zip_name, ctype, "not a document type (office document)")
            else:
                self.skip(zip_name, ctype, f"zip: {result.error.message}")
                self.defect(f"unreadable ZIP attachment ({result.error.kind})")
            return
        base = f"{leaf.prefix}zip:{zip_name}"
        for member in result.members:
            origin = base + "".join(f"/zip:{name}" for name in member.via)
            self._add(Attachment(member.name, member.data, member.media_type, "", origin))
        for entry in result.skipped:
            self.skip(entry.name, "", f"zip: {entry.reason}")

    def _add(self, attachment: Attachment) -> None:
        digest = hashlib.sha256(attachment.data).hexdigest()
        if digest in self.seen:
            self.skip(
                attachment.filename,
                attachment.declared_type,
                "duplicate of an attachment already in this mail",
            )
            return
        self.seen.add(digest)
        self.attachments.append(attachment)

    # ---------------------------------------------------------------- decoding

    def _charge(self, size: int) -> bool:
        """Count decoded bytes against the mail's budget; False when it is spent."""
        if self.decoded_total + size > self.limits.max_total_bytes:
            self.defect("total decoded size limit reached")
            return False
        self.decoded_total += size
        return True

    def _decoded_payload(self, part: Message, ctype: str, filename: str | None) -> bytes | None:
        """The part's content, transfer-decoded; None (and a skip record) when refused."""
        raw = _raw_payload(part)
        cte = _cte(part)
        # Decoding first is safe: it is linear and never larger than the raw part, which
        # the message size limit already bounds; the limits judge the decoded size.
        data = self._decode(raw, cte, part)
        if len(data) > self.limits.max_part_bytes:
            self.skip(_safe_or_none(filename), ctype, "over size limit")
            return None
        if not self._charge(len(data)):
            self.skip(_safe_or_none(filename), ctype, "over size limit")
            return None
        if len(data) <= 4096 and not data.strip():
            self.skip(_safe_or_none(filename), ctype, "empty")
            return None
        return data

    def _decode(self, raw: bytes, cte: str, part: Message | None = None) -> bytes:
        if cte == "base64":
            if _starts_like_document(raw):
                self.defect("Content-Transfer-Encoding base64 declared on raw binary content")
                return raw
            data, clean = _b64decode(raw)
            if not clean:
                self.defect("invalid base64 (decoded what could be decoded)")
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
            self.defect("undecodable uuencoded part")
            return raw
        else:
            if cte not in _IDENTITY_CTES:
                self.defect(f"unknown Content-Transfer-Encoding {cte[:40]!r}")
            data = raw
        # Base64 sent without saying so (or mislabelled, "base-64", quoted-printable):
        # judged by what it decodes to, so text that merely looks like base64 stays text.
        if not _starts_like_document(data) and _looks_like_base64(raw):
            decoded, _clean = _b64decode(raw)
            if _starts_like_document(decoded):
                self.defect("base64 content without Content-Transfer-Encoding: base64")
                return decoded
        return data

    # ---------------------------------------------------------------- body text

    def _body_text(self) -> str:
        if not self.texts:
            return ""
        # The shallowest mail that has text; its plain text, else its HTML made text.
        depth = min(d for d, _, _ in self.texts)
        plain = [t for d, kind, t in self.texts if d == depth and kind == 0 and t.strip()]
        if plain:
            text = "\n\n".join(plain)
        else:
            text = "\n\n".join(
                _html_to_text(t) for d, kind, t in self.texts if d == depth and kind == 1
            )
        return _clean_body(text, self.limits.max_body_chars)


# --------------------------------------------------------------------------- helpers


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


def _not_a_document(data: bytes) -> str:
    # The fiduciary reads it in the task: a disguised file is worth telling apart.
    if looks_like_pdf(data):
        return "not a readable PDF (a PDF header on another kind of file)"
    return "not a document type"


def _safe_or_none(name: str | None) -> str | None:
    return safe_filename(name) if name else None


# -- headers


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


_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _clean_body(text: str, cap: int) -> str:
    text = text[: cap * 4].replace("\r\n", "\n").replace("\r", "\n")
    text = _BODY_CONTROL.sub("", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()[:cap]


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


# -- HTML

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


_CID_REF = re.compile(r"""cid:([^\s"'<>()\\]{1,1000})""", re.IGNORECASE)
_TAG = re.compile(r"<\s*/?\s*([a-zA-Z0-9]*)[^<>]*>")
_BLOCK_TAGS = frozenset(
    {"p", "br", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6"}
    | {"blockquote", "pre", "hr", "title", "body", "html", "head"}
)


def _tag_to_space(match: re.Match[str]) -> str:
    return "\n" if match.group(1).lower() in _BLOCK_TAGS else " "


_BOUNDARY_LINE = re.compile(r"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", re.MULTILINE)


def _html_to_text(markup: str) -> str:
    """Rough text of an HTML body, for metadata: linear time, no HTML parser involved."""
    markup = markup[: 2 * _MIB]
    lower = markup.lower()
    kept: list[str] = []
    pos = 0
    while True:
        starts = [i for i in (lower.find("<script", pos), lower.find("<style", pos)) if i >= 0]
        if not starts:
            kept.append(markup[pos:])
            break
        start = min(starts)
        kept.append(markup[pos:start])
        tag = "</script" if lower.startswith("<script", start) else "</style"
        end = lower.find(tag, start)
        if end < 0:
            break
        close = lower.find(">", end)
        pos = len(markup) if close < 0 else close + 1
    text = _TAG.sub(_tag_to_space, "".join(kept))
    text = html.unescape(text)
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)
