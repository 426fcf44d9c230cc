"""The intermediate result of reading a file: text with positions, before fields are parsed.

`read()` makes a `Reading`; `classify()` and `extract_fields()` turn it into an
`Extraction`. It is picklable so that readings can cross process boundaries.
"""

from datetime import date
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class EInvoiceParty(BaseModel):
    """Seller or buyer of an e-invoice, as its XML names them."""

    model_config = ConfigDict(extra="ignore")

    name: str | None = None  # the registered name (BT-27 / BT-44)
    vat_id: str | None = None  # BT-31 / BT-48, as written
    tax_ids: list[str] = Field(default_factory=list)  # other tax and legal registrations
    legal_id: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None  # ISO 3166 alpha-2


class EInvoiceVat(BaseModel):
    rate: Decimal
    base: Decimal | None = None
    amount: Decimal | None = None
    category: str | None = None  # S, Z, E, AE, K, G, O, L, M


class EInvoice(BaseModel):
    """What an e-invoice XML says, in the few EN 16931 business terms an Extraction needs.

    Amounts are as written (a credit note may carry them positive or negative);
    `is_credit_note` says which way the money goes. Plain JSON both ways: a reading is
    cached as JSON and must come back with its dates and decimals.
    """

    # Readings cached before this model existed held a looser dict: take what fits.
    model_config = ConfigDict(extra="ignore")

    flavor: str = ""  # cii | zugferd1 | ubl-invoice | ubl-creditnote
    profile: str | None = None  # guideline / customization id (BT-24)
    invoice_number: str | None = None  # BT-1
    issue_date: date | None = None  # BT-2
    due_date: date | None = None  # BT-9
    type_code: str = ""  # BT-3 (UNTDID 1001)
    is_credit_note: bool = False
    currency: str | None = None  # BT-5
    total: Decimal | None = None  # BT-112, gross
    amount_due: Decimal | None = None  # BT-115, after prepaid amounts
    net: Decimal | None = None  # BT-109
    vat_total: Decimal | None = None  # BT-110, in the invoice currency
    vat: list[EInvoiceVat] = Field(default_factory=list)  # BG-23
    seller: EInvoiceParty = Field(default_factory=EInvoiceParty)
    buyer: EInvoiceParty = Field(default_factory=EInvoiceParty)
    iban: str | None = None  # BT-84, compact
    iban_valid: bool = True  # its check digits hold
    remittance: str | None = None  # BT-83
    payment_terms: str | None = None  # BT-20
    language: str | None = None  # declared, where the profile has it (CII LanguageID)
    text: str = ""  # notes, item names and terms: the words the language is told from

    @field_validator("payment_terms", mode="before")
    @classmethod
    def _joined(cls, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(v) for v in value if v) or None
        return value


class Reading(BaseModel):
    pages: list[PageText] = Field(default_factory=list)
    text_source: TextSource | None = None
    qr_payloads: list[str] = Field(default_factory=list)  # raw Swiss QR-bill texts
    qr_codes: list[QrCode] = Field(default_factory=list)  # the same, with where they were
    xml_invoice: EInvoice | None = None  # the e-invoice XML's data, when there is one
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
