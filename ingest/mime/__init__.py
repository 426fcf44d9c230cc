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

The work is split by job: `model` (limits and results), `parser` (the stdlib parser made
safe against hostile structure and headers, and the input cut to the limits), `walk` (the
walk over the parts and the judging of each), `headers` (header values and attachment
names), `decoding` (transfer encodings and charsets), `body` (the text body). Their
`_`-prefixed helpers are shared inside this package only; callers import from here.
"""

from __future__ import annotations

from ingest.mime.model import DEFAULT_LIMITS, Attachment, MimeLimits, ParsedMail, SkippedPart
from ingest.mime.parser import TooManyHeaderFieldsDefect
from ingest.mime.walk import _Run

__all__ = [
    "DEFAULT_LIMITS",
    "Attachment",
    "MimeLimits",
    "ParsedMail",
    "SkippedPart",
    "TooManyHeaderFieldsDefect",
    "parse_mail",
]


def parse_mail(raw: bytes, limits: MimeLimits = DEFAULT_LIMITS) -> ParsedMail:
    """The documents and metadata of one RFC 5322 message. Never raises."""
    run = _Run(limits)
    try:
        run.parse(raw)
    except Exception as exc:  # RecursionError, MemoryError, a bug: contained, reported
        run.defect(f"internal error while parsing ({type(exc).__name__}); result may be partial")
    return run.result()
