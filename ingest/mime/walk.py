"""One `parse_mail` call: the walk over a mail's MIME parts, and the judging of each.

Pass 1 walks the tree (iteratively: depth is attacker-chosen), reads text bodies, notes
the `cid:` references of HTML bodies and opens forwarded mails; pass 2 judges each leaf
once every reference is known: a document (by its bytes), a ZIP to open, or a part to
skip with a reason. Budgets (parts, decoded bytes, depth) are counted as it goes.
"""

from __future__ import annotations

import hashlib
import re
import urllib.parse
from collections import Counter
from dataclasses import dataclass, replace
from email.message import Message
from email.parser import BytesParser

from domain.enums import MediaType
from domain.filetype import is_zip, looks_like_pdf, sniff
from ingest.archives import open_zip
from ingest.filenames import safe_filename
from ingest.mime.body import _CID_REF, _body_text
from ingest.mime.decoding import (
    _as_bytes,
    _decode_bytes,
    _decode_transfer,
    _raw_payload,
    _starts_like_document,
    _text_bytes,
)
from ingest.mime.headers import (
    _charset,
    _clean_meta,
    _content_id,
    _content_type,
    _cte,
    _date,
    _decoded_header,
    _disposition,
    _filename,
    _get,
    _get_all,
    _normalise_cid,
    _safe_or_none,
)
from ingest.mime.model import _MIB, Attachment, MimeLimits, ParsedMail, SkippedPart
from ingest.mime.parser import (
    _BOUNDARY_START,
    _FEED_CHUNK,
    _NEWLINE,
    _BoundedFeedParser,
    _BoundedMessage,
    _BoundedPolicy,
    _nth_match_end,
    _too_many_boundary_lines,
    _too_many_lines,
)

_IMAGE_TYPES = frozenset({MediaType.JPEG, MediaType.PNG, MediaType.TIFF, MediaType.HEIC})
_BODY_TYPES = frozenset({"text/plain", "text/html"})
_STATUS_TYPES = frozenset(
    {"message/delivery-status", "message/disposition-notification", "message/feedback-report"}
)
_EML_TYPES = frozenset({"message/rfc822", "message/global", "application/eml", "application/x-eml"})
_BOUNDARY_LINE = re.compile(r"^--([0-9A-Za-z'()+_,./:=?-]{1,70})[ \t]*\r?$", re.MULTILINE)


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
        return _decode_transfer(raw, cte, part, self.defect)

    # ---------------------------------------------------------------- body text

    def _body_text(self) -> str:
        return _body_text(self.texts, self.limits.max_body_chars)


def _not_a_document(data: bytes) -> str:
    # The fiduciary reads it in the task: a disguised file is worth telling apart.
    if looks_like_pdf(data):
        return "not a readable PDF (a PDF header on another kind of file)"
    return "not a document type"
