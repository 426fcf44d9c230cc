"""The intermediate result of reading a file: text with positions, before fields are parsed.

`read()` makes a `Reading`; `classify()` and `extract_fields()` turn it into an
`Extraction`. It is picklable so that readings can cross process boundaries.
"""

from typing import Any

from pydantic import BaseModel, Field

from domain.enums import DocType, MediaType, TextSource
from domain.extraction import Box, ReadError


class Word(BaseModel):
    text: str
    page: int  # 1-based
    x0: float
    top: float
    x1: float
    bottom: float
    size: float = 0.0  # font size in points (text layer) or word height (OCR)
    conf: float | None = None  # OCR confidence 0..100; None for the text layer


class PageText(BaseModel):
    number: int  # 1-based
    width: float
    height: float
    text: str
    words: list[Word] = Field(default_factory=list)
    source: TextSource = TextSource.TEXT_LAYER
    rotation: int = 0  # degrees the page image was turned before OCR
    ocr_confidence: float | None = None  # mean word confidence 0..100 of an OCR'd page


class QrCode(BaseModel):
    payload: str
    page: int
    box: Box | None = None


class Reading(BaseModel):
    pages: list[PageText] = Field(default_factory=list)
    text_source: TextSource | None = None
    qr_payloads: list[str] = Field(default_factory=list)  # raw Swiss QR-bill texts
    qr_codes: list[QrCode] = Field(default_factory=list)  # the same, with where they were
    xml_invoice: dict[str, Any] | None = None  # parsed e-invoice data, when present
    # A camt.053/054 file: what it is, in short (extractors.camt reads the entries).
    bank_statement: dict[str, Any] | None = None
    error: ReadError | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    media_type: MediaType | None = None
    filename: str | None = None
    page_count: int = 0

    @property
    def text(self) -> str:
        return "\n".join(p.text for p in self.pages)


class Classification(BaseModel):
    doc_type: DocType
    confidence: float
    language: str | None = None
    language_confidence: float = 0.0
    # Page ranges (1-based, inclusive) when the file holds several documents.
    parts: list[tuple[int, int]] = Field(default_factory=list)
    scores: dict[str, float] = Field(default_factory=dict)  # per document type
    ms: float = 0.0  # how long classifying took (copied into Extraction.timings)
