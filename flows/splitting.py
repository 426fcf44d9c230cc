"""One PDF, several documents: cutting a scanned pile into its documents when staff ask.

The paper an offline client brings in is scanned at the firm, often many documents in one
PDF. Staff ask for it to be split at intake (`meta["split"]`: the web upload's checkbox,
the API's `split` field, `fiduflow process --split`); nothing is ever split unasked, since
the reader's page ranges (`Extraction.parts`) are a guess a person vouches for.

When the reading of such a PDF finds more than one part, each part is taken in through
the intake as a document of its own (`parent_id` → the pile, same client, channel and
submitter, "<name> (Teil k von n).pdf"), recorded `received` so that it is processed
like any new document (a feeder or the `process-inbox` sweep claims it). The pile
itself is routed with rule `split`: no booking, no task, its routing names the children.

Idempotent: the children already taken in for a pile are looked up by `parent_id` and
part number first, and `split_pdf` cuts the same bytes every time (the intake's content
hash per client would record a repeat as a duplicate). A retry after a crash between
two parts takes in only the parts still missing.
"""

from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from domain.enums import Channel, DocType, MediaType, Party, RoutingRule
from domain.extraction import Extraction
from domain.records import Decision
from extractors.classify import classify_reading
from extractors.reading import Classification, Reading
from extractors.split import split_pdf
from ingest.intake import Submission, intake
from storage import documents as documents_repo
from storage.db import Database
from storage.objects import ObjectStore
from storage.tables import DocumentRow

SPLIT_RULE = RoutingRule.SPLIT
ONE_DOCUMENT = "asked to split; one document found"
NOT_A_PDF = "asked to split; only a PDF is cut into documents, so this file is read as one"


def split_requested(meta: dict[str, Any] | None) -> bool:
    return bool((meta or {}).get("split"))


def can_split(parts: list[tuple[int, int]], media_type: str | None) -> bool:
    return len(parts) > 1 and media_type == MediaType.PDF.value


def unsplit_reason(parts: list[tuple[int, int]], media_type: str | None) -> str:
    """Why a document staff asked to split is processed as one."""
    return NOT_A_PDF if len(parts) > 1 and media_type != MediaType.PDF.value else ONE_DOCUMENT


def noting_unsplit(
    decision: Decision, parts: list[tuple[int, int]], media_type: str | None
) -> Decision:
    """The decision, its reasons saying that a split was asked for and why none was made."""
    return decision.model_copy(
        update={"reasons": [*decision.reasons, unsplit_reason(parts, media_type)]}
    )


def part_filename(filename: str, k: int, n: int) -> str:
    """'Belege März.pdf', part 2 of 3 → 'Belege März (Teil 2 von 3).pdf'."""
    stem = PurePath(filename).stem if filename.lower().endswith(".pdf") else filename
    return f"{stem or 'Dokument'} (Teil {k} von {n}).pdf"


class Pile(BaseModel):
    """What the children inherit from the document that is split."""

    id: int
    client_id: str
    channel: Channel
    filename: str
    sender: str | None = None
    submitted_by: str | None = None
    message_id: str | None = None
    message_row_id: int | None = None
    note: str | None = None

    @classmethod
    def of(cls, row: DocumentRow) -> "Pile":
        return cls(
            id=row.id,
            client_id=row.client_id,
            channel=Channel(row.channel),
            filename=row.filename,
            sender=row.sender,
            submitted_by=row.submitted_by,
            message_id=row.message_id,
            message_row_id=row.message_row_id,
            note=row.note,
        )


def part_submission(pile: Pile, data: bytes, k: int, pages: tuple[int, int], n: int) -> Submission:
    """Part `k` of `n` as a new document of the pile's client. The document class and
    payment method chosen for the pile are not passed on: a pile is mostly mixed
    (invoices, receipts, letters), and each part is typed by its own content."""
    return Submission(
        client_id=pile.client_id,
        channel=pile.channel,
        data=data,
        filename=part_filename(pile.filename, k, n),
        media_type=MediaType.PDF,
        sender=pile.sender,
        submitted_by=pile.submitted_by,
        message_id=pile.message_id,
        message_row_id=pile.message_row_id,
        note=pile.note,
        parent_id=pile.id,
        meta={"split_of": pile.id, "part": k, "parts": n, "pages": list(pages)},
    )


def children_by_part(session: Session, pile: Pile) -> dict[int, int]:
    """The documents already taken in for this pile: part number → document id."""
    found: dict[int, int] = {}
    for document_id, meta in documents_repo.children_of(session, pile.client_id, pile.id):
        part = (meta or {}).get("part")
        if isinstance(part, int) and (meta or {}).get("split_of") == pile.id:
            found.setdefault(part, document_id)
    return found


def take_in_parts(
    db: Database,
    store: ObjectStore,
    pile_id: int,
    data: bytes,
    parts: list[tuple[int, int]],
    *,
    max_bytes: int,
) -> list[int]:
    """Each part's document id, in page order; parts taken in before are not again."""
    with db.session() as session:
        row = session.get(DocumentRow, pile_id)
        if row is None:
            raise LookupError(f"no document {pile_id}")
        pile = Pile.of(row)
        done = children_by_part(session, pile)
    n = len(parts)
    missing = [k for k in range(1, n + 1) if k not in done]
    if missing:
        pieces = split_pdf(data, parts)
        for k in missing:
            submission = part_submission(pile, pieces[k - 1], k, parts[k - 1], n)
            # A part is never larger than the pile, which intake already accepted.
            recorded = intake(db, store, submission, max_bytes=max(max_bytes, len(data)))
            done[k] = recorded.document_id
    return [done[k] for k in range(1, n + 1)]


def part_types(reading: Reading, parts: list[tuple[int, int]]) -> list[DocType]:
    """What each part reads as (its pages alone): only used to keep payslips private."""
    types = []
    for first, last in parts:
        pages = [p for p in reading.pages if first <= p.number <= last]
        types.append(classify_reading(reading, pages).doc_type)
    return types


def pile_doc_type(types: list[DocType]) -> DocType | None:
    """The pile is no document of its own (None), except that a pile holding a payslip
    counts as one: its original shows the payslip, so whoever may not see payslips
    (a company user where `payroll_visible` is off) must not see the pile either."""
    return DocType.PAYSLIP if DocType.PAYSLIP in types else None


def pile_extraction(reading: Reading, classification: Classification) -> Extraction:
    """What is kept of the pile's reading: its pages, parts, language and text; its fields
    belong to the children, each read on its own."""
    return Extraction(
        language=classification.language,
        text_source=reading.text_source,
        pages=reading.page_count or len(reading.pages),
        text=reading.text,
        timings=dict(reading.timings),
        parts=list(classification.parts),
    )


def split_routing(
    children: list[int], parts: list[tuple[int, int]], doc_type: DocType | None
) -> dict[str, Any]:
    """The pile's routing record: rule `split`, its children in page order."""
    ids = ", ".join(str(i) for i in children)
    return {
        "rule": SPLIT_RULE,
        "reasons": [f"split into documents {ids}"],
        "responsible": Party.FIDUCIARY.value,
        "post": False,
        "doc_type": doc_type.value if doc_type else None,
        "issues": [],
        "links": {},
        "children": list(children),
        "parts": [
            {"document_id": child, "pages": [first, last]}
            for child, (first, last) in zip(children, parts, strict=True)
        ],
    }
