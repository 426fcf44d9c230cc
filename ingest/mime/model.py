"""What `parse_mail` is given and gives back: the limits on one mail's work, the
documents it found and the parts it skipped."""

from __future__ import annotations

from dataclasses import dataclass, field

from domain.enums import MediaType
from ingest.archives import ArchiveLimits

_MIB = 1024 * 1024


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
