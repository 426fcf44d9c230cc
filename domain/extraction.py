"""What reading a document produced: the `Extraction` that `fiduflow extract --json` prints.

Every field has a value and, in `confidence`, how sure the reader is (0..1); `positions`
says where on the page it was found and `page_sizes` how big each page is, so a reviewer
can be shown the spot (`domain.field_boxes` turns the two into fractions of the page).
"""

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from domain.enums import DocType, ReadErrorKind, TextSource
from domain.money import Money, Rate


class Box(BaseModel):
    """A rectangle on a page, in PDF points from the top-left corner; pages count from 1."""

    page: int
    x0: float
    top: float
    x1: float
    bottom: float


class VatLine(BaseModel):
    rate: Rate
    base: Money | None = None
    amount: Money | None = None


class Address(BaseModel):
    name: str | None = None
    street: str | None = None
    postcode: str | None = None
    city: str | None = None
    country: str | None = None
    lines: list[str] = Field(default_factory=list)  # as printed, for combined addresses


class Recipient(BaseModel):
    """Whom the document is addressed to (invoice control); from the window or QR debtor."""

    name: str | None = None
    address: Address | None = None
    uid: str | None = None


class ReadError(BaseModel):
    kind: ReadErrorKind
    message: str


class Extraction(BaseModel):
    model_config = ConfigDict(use_enum_values=False)

    # The fields DESIGN.md names, in its order.
    doc_type: DocType = DocType.OTHER
    language: str | None = None
    supplier_name: str | None = None
    supplier_uid: str | None = None
    supplier_iban: str | None = None
    invoice_number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: str | None = None
    total: Money | None = None  # negative for credit notes
    vat: list[VatLine] = Field(default_factory=list)
    reference: str | None = None
    has_qr: bool = False
    confidence: dict[str, float] = Field(default_factory=dict)
    text_source: TextSource | None = None
    timings: dict[str, float] = Field(default_factory=dict)  # milliseconds per step

    # What routing needs beyond the printed schema.
    supplier_address: Address | None = None
    recipient: Recipient | None = None
    payment_terms: str | None = None
    positions: dict[str, Box] = Field(default_factory=dict)
    # Where each field's value came from: qr | xml | text_layer | ocr (the task page shows it).
    sources: dict[str, TextSource] = Field(default_factory=dict)
    pages: int = 0
    # Each page's size (width, height) by page number, in the units of `positions`: PDF
    # points; an image's pixels scaled to an A4 width in points (the reader's scale, so
    # a box over its page is the same fraction as on the image). (0, 0) for a page that
    # was not read. Empty in readings stored before sizes were kept.
    page_sizes: list[tuple[float, float]] = Field(default_factory=list)
    error: ReadError | None = None
    # Page ranges (1-based, inclusive) when one file holds several documents.
    parts: list[tuple[int, int]] = Field(default_factory=list)
    # The text as read; kept out of printed JSON and logs (it is the client's data).
    text: str = Field(default="", exclude=True, repr=False)

    def conf(self, field: str) -> float:
        return self.confidence.get(field, 0.0)

    def public_json(self) -> dict:
        """The JSON object `fiduflow extract --json` prints and the API returns."""
        return self.model_dump(mode="json")


def _fields_between(first: str, last: str) -> tuple[str, ...]:
    names = list(Extraction.model_fields)
    return tuple(names[names.index(first) : names.index(last) + 1])


# The fields read from a document (DESIGN.md's `fiduflow extract`, in its order), taken
# from the model so a new field is never forgotten in one of the lists made from them.
PAGE_FIELDS = _fields_between("supplier_name", "reference")
# Those with one value each (`vat` is a list of lines).
SCALAR_PAGE_FIELDS = tuple(f for f in PAGE_FIELDS if f != "vat")
